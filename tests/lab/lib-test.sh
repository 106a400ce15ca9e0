#!/bin/sh
# Tests of the lab's shell library on made-up inputs, on this machine (no
# lab boot): mg_phases (tests/lab/lib/migrate.sh), which turns two QEMUs'
# trace files into the downtime phases that make bench prints, and
# mg_timeline, a destination's trace around the resume.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
tp_dir=$(mktemp -d)
trap 'rm -rf "$tp_dir"' EXIT
. "$top/tests/lab/lib/migrate.sh"

# A source and a destination trace as QEMU writes them (-msg
# timestamp=on: PID@SECONDS.MICROSECONDS:event args); $1 and $2 shift the
# fork's capture and restore stamps (us), to move them out of their phase.
traces() {
    cat >"$tp_dir/src.trace" <<EOF
100@1764446400.000000:vm_state_notify running 1 reason 9 (running)
100@1764446400.100000:vmstate_downtime_checkpoint src-downtime-start
100@1764446400.100000:migration_completion_vm_stop ret 0
100@1764446400.100400:vm_state_notify running 0 reason 7 (finish-migrate)
100@1764446400.$(printf %06d $((100500 + $1))):precise_tsc_capture vcpus 2 tsc_khz 2100000 kvm_pair 1 bracket_ns 90 took_ns 300000
100@1764446400.101000:kvmclock_vm_state_change running 0 took_ns 250000
100@1764446400.102000:vmstate_downtime_checkpoint src-vm-stopped
100@1764446400.103000:vmstate_downtime_checkpoint src-iterable-saved
100@1764446400.104000:vmstate_downtime_save type=non-iterable idstr=cpu instance_id=0 downtime=700
100@1764446400.104000:vmstate_downtime_save type=non-iterable idstr=cpu instance_id=1 downtime=600
100@1764446400.105000:vmstate_downtime_save type=non-iterable idstr=0000:00:01.3/piix4_pm instance_id=0 downtime=1200
100@1764446400.105000:vmstate_downtime_save type=non-iterable idstr=kvmclock instance_id=0 downtime=10
100@1764446400.105000:vmstate_downtime_save type=non-iterable idstr=apic instance_id=0 downtime=20
100@1764446400.110000:vmstate_downtime_checkpoint src-non-iterable-saved
100@1764446400.111000:vmstate_downtime_checkpoint src-downtime-end
EOF
    cat >"$tp_dir/dst.trace" <<EOF
200@1764446400.112000:vmstate_downtime_load type=iterable idstr=ram instance_id=0 downtime=9999
200@1764446400.112000:vmstate_downtime_load type=non-iterable idstr=0000:00:00.0/I440FX instance_id=0 downtime=4000
200@1764446400.113000:vmstate_downtime_load type=non-iterable idstr=cpu instance_id=0 downtime=500
200@1764446400.113500:qemu_loadvm_state_post_main 0
200@1764446400.115000:vmstate_downtime_checkpoint dst-precopy-loadvm-completed
200@1764446400.116000:vmstate_downtime_checkpoint dst-precopy-bh-enter
200@1764446400.116500:vmstate_downtime_checkpoint dst-precopy-bh-announced
200@1764446400.117000:vm_state_notify running 1 reason 9 (running)
200@1764446400.$(printf %06d $((117400 + $2))):precise_tsc_restore elapsed measured 17 ns applied 17 ns outcome 0 from_stream 1 took_ns 200000
200@1764446400.117600:kvmclock_vm_state_change running 1 took_ns 500000
200@1764446400.118000:vmstate_downtime_checkpoint dst-precopy-bh-vm-started
EOF
}

rc=0 n=0
is() {
    n=$((n + 1))
    _got=$(sed -n "s/^# x\.phase\.$1=//p" "$tp_dir/out")
    if [ "$_got" = "$2" ]; then
        echo "ok $n - mg_phases: $1 = $2"
    else
        echo "not ok $n - mg_phases: $1 = $2 (got '$_got')"
        rc=1
    fi
}

# same_out DESC WANT: the last output is exactly WANT.
same_out() {
    n=$((n + 1))
    if [ "$(cat "$tp_dir/out")" = "$2" ]; then
        echo "ok $n - $1"
    else
        echo "not ok $n - $1"
        sed 's/^/# got: /' "$tp_dir/out"
        rc=1
    fi
}

traces 0 0
n=$((n + 1))
if mg_phases src dst x >"$tp_dir/out"; then
    echo "ok $n - mg_phases: complete traces"
else
    echo "not ok $n - mg_phases: complete traces"; rc=1
fi
is src_stop_vcpus_and_handlers_ms 2.000
is src_pause_vcpus_ms 0.400
is src_stop_handlers_ms 1.600
is src_fork_capture_ms 0.300
is src_kvmclock_stop_handler_ms 0.250
is src_last_ram_pass_ms 1.000
is src_device_state_ms 7.000
is stream_end_to_dst_loaded_ms 5.000
is dst_post_load_ms 1.500
is dst_loaded_to_bh_ms 1.000
is dst_bh_to_vm_start_ms 1.000
is dst_start_handlers_and_resume_ms 1.000
is dst_kvmclock_start_handler_ms 0.500
is dst_fork_restore_ms 0.200
is qemu_downtime_ms 11.000
is total_ms 18.000
is fork_capture_within_stop yes
is fork_restore_within_start yes
# Non-iterable state only (RAM's iterable load is not device state),
# summed per device over instances, slowest first.
is src_device_save_sum_ms 2.530
is dst_device_load_sum_ms 4.500
is src_slowest_devices "cpu 1.300 0000:00:01.3/piix4_pm 1.200 apic 0.020"
is dst_slowest_devices "0000:00:00.0/I440FX 4.000 cpu 0.500"

# The capture ended after the source's stop; the restore began before
# the destination's start (a hook moved out of the downtime window).
traces 2500 -500
mg_phases src dst x >"$tp_dir/out"
is fork_capture_within_stop no
is fork_restore_within_start no

# Without kvmclock (a QEMU without hook 0019, a VM without the device):
# no figure, rather than a handler that took no time.
sed -i '/kvmclock_vm_state_change/d' "$tp_dir/src.trace" "$tp_dir/dst.trace"
mg_phases src dst x >"$tp_dir/out"
is src_kvmclock_stop_handler_ms ""
is dst_kvmclock_start_handler_ms ""

# A trace without a checkpoint (stock QEMU without these events, a
# migration that never ended): a failure, not zeros.
sed -i '/dst-precopy-bh-vm-started/d' "$tp_dir/dst.trace"
n=$((n + 1))
if mg_phases src dst x >"$tp_dir/out"; then
    echo "not ok $n - mg_phases: a missing checkpoint fails"; rc=1
else
    echo "ok $n - mg_phases: a missing checkpoint fails"
fi

# mg_timeline: from the stream's end to each vCPU's first KVM_RUN, in ms
# from the first; a second KVM_RUN of vCPU 0 is neither shown nor counted
# as vCPU 1's.
cat >"$tp_dir/tl.trace" <<EOF
300@1764446400.100000:kvm_vcpu_ioctl cpu_index 0, type 0xae80, arg (nil)
300@1764446400.200000:qemu_loadvm_state_post_main 0
300@1764446400.201500:vm_state_notify running 1 reason 9 (running)
300@1764446400.202000:kvm_vcpu_ioctl cpu_index 0, type 0xaead, arg (nil)
300@1764446400.203000:kvm_vcpu_ioctl cpu_index 0, type 0xae80, arg (nil)
300@1764446400.204000:kvm_vcpu_ioctl cpu_index 0, type 0xae80, arg (nil)
300@1764446400.205250:kvm_vcpu_ioctl cpu_index 1, type 0xae80, arg (nil)
300@1764446400.206000:kvm_vcpu_ioctl cpu_index 1, type 0xae80, arg (nil)
EOF
echo "300@1764446400.207000:monitor_protocol_event_emit event=40 data=0x1" >>"$tp_dir/tl.trace"
mg_timeline tl t 2 >"$tp_dir/out"
want="# t+0.000: qemu_loadvm_state_post_main 0
# t+1.500: vm_state_notify running 1 reason 9 (running)
# t+2.000: kvm_vcpu_ioctl cpu_index 0, type 0xaead, arg (nil)
# t+3.000: kvm_vcpu_ioctl cpu_index 0, type 0xae80, arg (nil)
# t+5.250: kvm_vcpu_ioctl cpu_index 1, type 0xae80, arg (nil)"
same_out "mg_timeline: load end to each vCPU's first KVM_RUN" "$want"
mg_timeline tl t 2 monitor_protocol_event_emit >"$tp_dir/out"
want="$want
# t+7.000: monitor_protocol_event_emit event=40 data=0x1"
same_out "mg_timeline: later lines of the events asked for" "$want"

# A vCPU that never ran: said, not waited for.
mg_timeline tl t 3 >"$tp_dir/out"
n=$((n + 1))
if tail -n 1 "$tp_dir/out" | grep -q "^# t: only 2 of 3 vCPUs ran"; then
    echo "ok $n - mg_timeline: says how many vCPUs ran"
else
    echo "not ok $n - mg_timeline: says how many vCPUs ran"
    sed 's/^/# got: /' "$tp_dir/out"
    rc=1
fi

# mg_window: from the last FROM to the first TO after it.
cat >"$tp_dir/w.trace" <<EOF
400@1764446400.050000:vmstate_downtime_checkpoint src-vm-stopped
400@1764446400.100000:vmstate_downtime_checkpoint src-downtime-start
400@1764446400.100250:kvm_vcpu_ioctl cpu_index 0, type 0xae80, arg (nil)
400@1764446400.102000:vmstate_downtime_checkpoint src-vm-stopped
400@1764446400.103000:vmstate_downtime_checkpoint src-iterable-saved
EOF
mg_window w s src-downtime-start src-vm-stopped >"$tp_dir/out"
want="# s+0.000: vmstate_downtime_checkpoint src-downtime-start
# s+0.250: kvm_vcpu_ioctl cpu_index 0, type 0xae80, arg (nil)
# s+2.000: vmstate_downtime_checkpoint src-vm-stopped"
same_out "mg_window: from FROM to the first TO after it" "$want"
echo "1..$n"
exit $rc

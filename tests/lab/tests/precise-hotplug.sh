#!/bin/sh
# A vCPU plugged in while a precise TSC sample is pending (issue 12): a
# 2-vCPU tscprobe (-smp 2,maxcpus=3) gets a third vCPU by device_add
#   stopcont: between stop and cont (the sample taken at stop is pending);
#   loaded:   on a destination paused after loading a saved file (the
#             stream's sample is pending and has no subsection for it);
#   source:   on the source between stop and a save to a file, restored
#             by a destination that has the vCPU on its command line, as
#             libvirt starts one (the stream must cover the new vCPU).
# Either way the sample must survive the plug and be restored at cont:
# "info precise-tsc" reports the restore, the new vCPU's KVM TSC offset is
# bit-identical to the others' (in phase with the VM's TSC), TSC and
# kvmclock step together on the running vCPUs, nothing steps back.
# Before the fix the plug's full register put dropped the stop-time sample
# (cont restored nothing, kvmclock stood still while the TSC ran on), and
# a loaded restore refused a VM with a vCPU the stream did not cover, and
# a source sent no state for a vCPU plugged in after its stop.
set -u
. /lab/tscprobe/lib.sh
. /lab/tscprobe/migrate.sh

SMP=2
mg_machine "$SMP,maxcpus=3,sockets=3,cores=1,threads=1"
MEM="-m 32"
TP_ACCEL=kvm,precise-tsc=on
export TP_ACCEL
PAUSE_S=1
PLUGGED="host-x86_64-cpu,id=plugged,socket-id=2,core-id=0,thread-id=0"
PLUG="device_add $PLUGGED"

tp_init /tmp/precise-hotplug
trap 'exec 3>&- 4>&-; tp_stop_all' EXIT

# after CASE FD NAME PID: what must hold once the VM runs again.
after() {
    c=$1 fd=$2 name=$3 pid=$4
    sleep 0.5
    tp_dump $fd $c.a
    sleep 0.5
    tp_dump $fd $c.b
    mg_info $fd $name
    sed "s/^/# $name: info precise-tsc: /" "$tp_dir/$name.info"
    off=$(mg_offsets $pid 3)
    fig $c.offsets "$off"
    errs=$(mg_hmp_text $name | grep -a 'precise-tsc:' | tr '\n' '|')
    fig $c.errors "$errs"
    khz=$(tp_kv $c.b tsc_khz)
    tsc_ms=$(calc "$(tp_kv $c.b cpu1.resume_tsc_step) / $khz")
    kvm_ms=$(calc "$(tp_kv $c.b cpu1.resume_kvmclock_step_ns) / 1000000")
    fig $c.cpu1.tsc_step_ms "$tsc_ms"
    fig $c.cpu1.kvmclock_step_ms "$kvm_ms"
    check "$c: the third vCPU exists (KVM debugfs vcpu2)" \
        test -n "$(tp_tsc_offset $pid 2)"
    check "$c: no precise-tsc error or warning" test -z "$errs"
    check "$c: info precise-tsc reports the restore ($5)" \
        grep -q "^last restore: advanced.*$5" "$tp_dir/$name.info"
    check "$c: TSC offsets of all three vCPUs bit-identical" mg_same $off
    check "$c: tscprobe runs on (loops advance on vCPUs 0 and 1)" test \
        "$(tp_kv $c.b cpu0.loops)" -gt "$(tp_kv $c.a cpu0.loops)" -a \
        "$(tp_kv $c.b cpu1.loops)" -gt "$(tp_kv $c.a cpu1.loops)"
    check "$c: no warp, no backward TSC or kvmclock step" test \
        "$(tp_sum $c.b kvmclock_back_count)$(tp_sum $c.b tsc_back_count)$(tp_sum $c.b warp_count)" = 000
    check "$c: cpu1 TSC and kvmclock steps agree within 5 ms" \
        awk "BEGIN { d = $tsc_ms - $kvm_ms; exit !(d < 5 && -d < 5) }"
}

# ---- stopcont: plugged between stop and cont -------------------------------
mg_boot sc 3
pid=$tp_pid
tp_hmp 3 stop
mg_wait_status 3 sc paused 10 || not_ok "stopcont: VM paused"
tp_hmp 3 "$PLUG"
sleep $PAUSE_S
tp_hmp 3 cont
mg_wait_status 3 sc running 10 || not_ok "stopcont: VM running again"
after stopcont 3 sc $pid "stop/cont"
tp_hmp 3 quit
exec 3>&-
tp_stop_all

# ---- loaded: plugged on a destination paused after the load ----------------
saved=$tp_dir/saved.state
mg_boot src 3
tp_hmp 3 stop
tp_hmp 3 "migrate \"file:$saved\""
mg_wait_mig 3 src 30 && [ "$mg_status" = completed ] ||
    { not_ok "loaded: save to file ($mg_status)"; exit 1; }
tp_hmp 3 quit
exec 3>&-
tp_stop_all
mg_boot dst 4 "-S -incoming defer"
pid=$tp_pid
mg_up 4 dst 30 || { not_ok "loaded: destination monitor"; exit 1; }
tp_hmp 4 "migrate_incoming \"file:$saved\""
mg_wait_status 4 dst paused 30 || not_ok "loaded: stream loads (VM paused)"
tp_hmp 4 "$PLUG"
sleep $PAUSE_S
tp_hmp 4 cont
mg_wait_status 4 dst running 10 || not_ok "loaded: VM running"
after loaded 4 dst $pid "from stream"
tp_hmp 4 quit
exec 4>&-
tp_stop_all

# ---- source: plugged on the source, restored with it on the command line ---
mg_boot src2 3
tp_hmp 3 stop
mg_wait_status 3 src2 paused 10 || not_ok "source: VM paused"
tp_hmp 3 "$PLUG"
sleep $PAUSE_S
tp_hmp 3 "migrate \"file:$saved\""
mg_wait_mig 3 src2 30 && [ "$mg_status" = completed ] ||
    { not_ok "source: save to file ($mg_status)"; exit 1; }
tp_hmp 3 quit
exec 3>&-
tp_stop_all
mg_boot dst2 4 "-S -incoming defer -device $PLUGGED"
pid=$tp_pid
mg_up 4 dst2 30 || { not_ok "source: destination monitor"; exit 1; }
tp_hmp 4 "migrate_incoming \"file:$saved\""
mg_wait_status 4 dst2 paused 30 || not_ok "source: stream loads (VM paused)"
tp_hmp 4 cont
mg_wait_status 4 dst2 running 10 || not_ok "source: VM running"
after source 4 dst2 $pid "from stream"
exit $rc

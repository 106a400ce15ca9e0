#!/bin/sh
# Cross-host migration in the two-host lab (tests/lab/run2), run on host A:
# a 4-vCPU tscprobe guest (docs/tscprobe.md) goes from A to B, live over
# TCP or saved on A, copied and restored on B, with the fork's precise TSC
# path on both sides. The hosts differ as run2 made them (TSC calibration,
# boot time, kernel) and as each case sets them here: their TAI offsets
# and B's wall clock against A's.
#
# CROSS_SRC and CROSS_DST (fork or stock, default fork) choose the QEMU on
# A and on B. stock is unpatched QEMU 10.0 (lab-qemu-stock). A pair with
# a stock side runs machine type pc-i440fx-10.0 on both (stock's "pc"):
# the fork keeps stock's stream on it by default (the migration
# contract, docs/precise-tsc.md), so a fork source needs no option; a
# fork destination asks for precise-tsc=on, to load stock's stream with
# its precise path ready (it falls back to the legacy values). Mixed pairs
# assert the migration and the guest's own checks (no warp, no backward
# step) and print the figures; the precise checks below are fork -> fork.
#
# Cases (CROSS_CASES, default all four), "MODE:TAI_A/TAI_B:SKEW_MS":
#   live:37/0:5       live, A knows TAI (37 s), B does not, B 5 ms ahead
#   file:0/37:1500    save/restore, B knows TAI, B 1.5 s ahead
#   live:37/37:-2000  live, both know TAI, B 2 s behind A
#   file:37/37:-4     save/restore, both know TAI, B 4 ms behind A
#
# Each case asserts, from KVM on both hosts (debugfs TSC offsets, the
# fork's trace of the host TSC at capture and restore) and from the guest:
#   - the destination's guest TSC = the saved guest TSC + the elapsed time
#     the fork applied, at the vCPUs' rate as KVM has it on B (to
#     CROSS_TSC_ERR_US), with the ratio KVM really applies (the lab's
#     emulated CPU has no TSC scaling: 1);
#   - all vCPUs' offsets bit-identical, master clock (kvmclock stable bit)
#     on every vCPU, no warp, no backward TSC or kvmclock step;
#   - the guest's TSC and kvmclock steps across the move agree;
#   - the fork's report: elapsed measured = B's clock at restore minus A's
#     at capture, in the time base both hosts can use (UTC unless both know
#     their TAI offset) - so within the round trip of the skew set here
#     plus the real gap; the policy applied (advanced, or nothing when B
#     is behind, reported with its size).
set -u
. /lab/tscprobe/lib.sh
. /lab/tscprobe/migrate.sh
. /lab/tscprobe/twohost.sh

SMP=4
MEM="-m 32"
CROSS_CASES=${CROSS_CASES:-live:37/0:5,file:0/37:1500,live:37/37:-2000,file:37/37:-4}
# KVM's offsets against the fork's claim: the same arithmetic on both
# hosts, so only the kHz rounding of the elapsed time remains.
CROSS_TSC_ERR_US=${CROSS_TSC_ERR_US:-1}
# TSC vs kvmclock step as the guest sees it (see precise-live4.sh).
CROSS_AGREE_MS=${CROSS_AGREE_MS:-5}
# The first TSC-deadline interrupt after the move, late beyond the TSC
# step (the deadline was pending across it): stock-restore's bound.
CROSS_LATE_MS=${CROSS_LATE_MS:-5}
# elapsed measured vs the two hosts' traces of stop and start (each a few
# ms from the fork's sample, more under the lab's nested scheduling).
CROSS_ELAPSED_MS=${CROSS_ELAPSED_MS:-50}
PORT=7010
CROSS_SRC=${CROSS_SRC:-fork}
CROSS_DST=${CROSS_DST:-fork}
precise=0
[ "$CROSS_SRC$CROSS_DST" = forkfork ] && precise=1
# A limit above any gap here: the policy's bound is precise-policy's.
FORK_ACCEL=kvm,precise-tsc=on,precise-tsc-advance-limit=60000
case "$CROSS_SRC.$CROSS_DST" in
fork.fork) SRC_ACCEL=$FORK_ACCEL ;;
*) SRC_ACCEL=kvm ;;
esac
MACHINE_TYPE=pc
[ $precise = 1 ] || MACHINE_TYPE=pc-i440fx-10.0
mg_machine $SMP $MACHINE_TYPE
DST_ACCEL=kvm
[ "$CROSS_DST" = fork ] && DST_ACCEL=$FORK_ACCEL
th_use_qemu "$CROSS_SRC"

tp_init /tmp/cross
th_init /tmp/cross-th
mkdir -p /tmp/xfer
trap 'exec 3>&- 5>&- 2>/dev/null; tp_stop_all; killall httpd 2>/dev/null' EXIT

th_wait_peer 60 || { not_ok "host B answers"; exit 1; }
th_open >/dev/null || { not_ok "session to host B"; exit 1; }
# B's shell: the same helpers, its own work directory.
th_run 20 ". /lab/tscprobe/lib.sh; . /lab/tscprobe/migrate.sh;" \
    ". /lab/tscprobe/twohost.sh; tp_init /tmp/cross; mg_machine $SMP $MACHINE_TYPE;" \
    "SMP=$SMP; th_use_qemu $CROSS_DST" ||
    { not_ok "host B's shell set up"; exit 1; }
th_serve_files /tmp/xfer
b_kernel=$(th_run 10 "uname -r")
# A host's calibrated TSC rate in MHz, as its kernel last said. The
# refined calibration comes a while after boot (seen missing on a B up 8
# s, when this test ran first in a boot): wait for it, up to 30 s, before
# taking the early one ("Detected ... MHz TSC", or "... processor" when
# the two agree and the kernel prints only that).
HOST_MHZ='i=0; while [ $i -lt 30 ] && ! dmesg | grep -q "tsc: Refined TSC clocksource calibration"; do sleep 1; i=$((i + 1)); done; dmesg | sed -n "s/.*kvm_amd.*//; s/.*tsc: Refined TSC clocksource calibration: \([0-9.]*\) MHz.*/\1/p; s/.*tsc: Detected \([0-9.]*\) MHz TSC.*/\1/p; s/.*tsc: Detected \([0-9.]*\) MHz processor.*/\1/p" | tail -n 1'
b_khz=$(th_run 40 "$HOST_MHZ")
a_khz=$(sh -c "$HOST_MHZ")
a_k=$(awk "BEGIN { printf \"%d\", $a_khz * 1000 }")
b_k=$(awk "BEGIN { printf \"%d\", $b_khz * 1000 }")
echo "# A: $(uname -r), TSC $a_khz MHz, up $(cut -d' ' -f1 /proc/uptime) s"
echo "# B: $b_kernel, TSC $b_khz MHz, up $(th_run 10 "cut -d' ' -f1 /proc/uptime") s"

# ratio_is_one PID: KVM applies no TSC scaling to the VM of PID (no
# tsc-scaling-ratio in debugfs: the host has none; or the default ratio).
ratio_note() {
    r=$(cat /sys/kernel/debug/kvm/"$1"-*/vcpu0/tsc-scaling-ratio 2>/dev/null)
    echo "${r:-none}"
}

# restore_fig TRACEFILE: "measured applied outcome" of the last restore.
restore_fig() {
    sed -n 's/.*precise_tsc_restore elapsed measured \([0-9-]*\) ns applied \([0-9]*\) ns outcome \([0-9]*\).*/\1 \2 \3/p' \
        "$1" | tail -n 1
}
instant() {
    sed -n "s/.*precise_tsc_$2_instant host_tsc \([0-9]*\) vcpu0_tsc \([0-9]*\).*/\1 \2/p" \
        "$1" | tail -n 1
}

# one_case MODE TAI_A TAI_B SKEW_MS
one_case() {
    mode=$1 tai_a=$2 tai_b=$3 skew_ms=$4
    c=$mode.$tai_a.$tai_b.$skew_ms
    c=$(echo "$c" | sed 's/-/m/g')
    echo "# ---- case $c: $mode, TAI offsets A $tai_a B $tai_b, B's clock" \
        "$skew_ms ms ahead of A's ----"
    labclock tai "$tai_a" >/dev/null
    th_run 10 "labclock tai $tai_b" >/dev/null
    th_set_skew $((skew_ms * 1000000)) ||
        { not_ok "$c: B's clock set"; return 1; }
    fig $c.skew_set_us "$(calc "$th_skew_ns / 1000")"
    fig $c.skew_uncertainty_us "$(calc "$th_skew_err_ns / 1000")"
    export TP_ACCEL=$SRC_ACCEL
    rm -f /tmp/xfer/s.bin "$tp_dir"/s.* "$tp_dir"/d.*
    th_run 10 "rm -f /tmp/cross/d.* /tmp/cross/s.bin" >/dev/null
    tp_start s 3 $MACHINE $MEM $(mg_trace s)
    spid=$tp_pid
    tp_wait 30 mg_all_looping 3 s.boot ||
        { not_ok "$c: source: $SMP vCPUs looping"; tp_stop_all; return 1; }
    sleep 1
    if [ $mode = live ]; then
        th_run 60 "export TP_ACCEL=$DST_ACCEL; tp_start d 4 \$MACHINE $MEM" \
            "\$(mg_trace d) -incoming tcp:0.0.0.0:$PORT; echo \$tp_pid >" \
            "/tmp/cross/dpid; mg_up 4 d 30 && tp_wait 30 sh -c" \
            "'netstat -ltn | grep -q :$PORT'" ||
            { not_ok "$c: destination listening on B"; tp_stop_all; return 1; }
        tp_hmp 3 "migrate -d tcp:$LAB_PEER_IP:$PORT"
        if mg_wait_mig 3 s 90 && [ "$mg_status" = completed ]; then
            ok "$c: live migration A -> B completed"
        else
            not_ok "$c: live migration A -> B completed (status: $mg_status)"
            mg_hmp_text s | tail -n 10 | sed 's/^/# src: /'
            tp_stop_all
            th_run 20 "tp_stop_all"
            return 1
        fi
    else
        tp_hmp 3 stop
        tp_hmp 3 "migrate file:/tmp/xfer/s.bin"
        mg_wait_mig 3 s 60 && [ "$mg_status" = completed ] ||
            { not_ok "$c: saved on A ($mg_status)"; tp_stop_all; return 1; }
        th_fetch s.bin /tmp/cross/s.bin ||
            { not_ok "$c: state file copied to B"; tp_stop_all; return 1; }
        th_run 60 "export TP_ACCEL=$DST_ACCEL; tp_start d 4 \$MACHINE $MEM" \
            "\$(mg_trace d) -S -incoming defer; echo \$tp_pid >" \
            "/tmp/cross/dpid; mg_up 4 d 30 && tp_hmp 4" \
            "'migrate_incoming file:/tmp/cross/s.bin' &&" \
            "mg_wait_status 4 d paused 60 && tp_hmp 4 cont" ||
            { not_ok "$c: restored on B"; tp_stop_all; return 1; }
        ok "$c: saved on A, copied, restored on B"
    fi
    tp_dump 3 s.saved
    soffs=$(mg_offsets $spid $SMP)
    : > "$tp_dir/s.info"
    if [ "$CROSS_SRC" = fork ]; then
        tp_hmp 3 "info precise-tsc"
        tp_sync 3 sinfo 5
        mg_hmp_text s | grep '^path:' | tail -n 1 > "$tp_dir/s.info"
    fi
    tp_hmp 3 quit
    exec 3>&-
    sr=$(tp_kv s.saved cpu0.resume_count)
    # B: dump until every vCPU saw the resume (10 s at most), then its
    # offsets, table and trace back to A.
    th_run 60 "give_up=\$((\$(cut -d. -f1 /proc/uptime) + 10));" \
        "all_resumed() { [ \$(cut -d. -f1 /proc/uptime) -lt \$give_up ] ||" \
        "return 0; tp_dump 4 d.post || return 1; i=0; while [ \$i -lt $SMP ];" \
        "do [ \"\$(tp_kv d.post cpu\$i.resume_count)\" -gt $sr ] || return 1;" \
        "i=\$((i + 1)); done; }; mg_wait_status 4 d running 20; tp_wait 15" \
        "all_resumed; tp_dump 4 d.post" >/dev/null
    dpid=$(th_run 5 "cat /tmp/cross/dpid")
    doffs=$(th_run 10 "mg_offsets $dpid $SMP")
    dratio=$(th_run 10 "cat /sys/kernel/debug/kvm/$dpid-*/vcpu0/tsc-scaling-ratio 2>/dev/null || echo none")
    th_run 10 "cat /tmp/cross/d.post.kv" > "$tp_dir/d.post.kv"
    th_run 10 "cat /tmp/cross/d.trace" > "$tp_dir/d.trace"
    th_run 10 "tp_hmp 4 'info precise-tsc'; tp_sync 4 q 5; mg_hmp_text d |" \
        "grep -E '^(path|last restore)' | tail -n 2" > "$tp_dir/d.report"
    # The guest's rate on B as KVM has it (KVM_GET_TSC_KHZ), which the
    # fork adds the elapsed time at. QEMU asks for the source's rate
    # (the guest's: A's, or whatever A ran it at) when it is within 250
    # ppm of B's, and KVM grants it 1:1 (its tolerance); beyond, with no
    # TSC scaling here, QEMU does not ask and the vCPU keeps B's rate.
    gkhz=$(sed -n 's/.*tsc_khz: \([0-9]*\).*/\1/p' "$tp_dir/s.info")
    dkhz=$(awk "BEGIN { g = ${gkhz:-0}; b = $b_k; d = g - b; if (d < 0) d = -d;
        printf \"%d\", d <= int(b * 250 / 1000000) ? g : b }")
    th_run 20 "tp_hmp 4 quit; exec 4>&-; tp_stop_all" >/dev/null
    tp_stop_all

    khz=$(tp_kv s.saved tsc_khz)
    t_stop=$(mg_t s 'vm_state_notify running 0')
    t_run=$(mg_t d 'vm_state_notify running 1')
    gap=$(awk "BEGIN { printf \"%.3f\", ($t_run - $t_stop) * 1000 }")
    set -- $(restore_fig "$tp_dir/d.trace")
    measured=${1:-x} applied=${2:-x} outcome=${3:-x}
    set -- $(instant "$tp_dir/s.trace" capture)
    cap_host=${1:-0}
    set -- $(instant "$tp_dir/d.trace" restore)
    res_host=${1:-0}
    so=${soffs%% *} do=${doffs%% *}
    fig $c.src_offsets "$soffs"
    fig $c.dst_offsets "$doffs"
    fig $c.dst_tsc_scaling_ratio "$dratio"
    fig $c.host_tsc_capture_A "$cap_host"
    fig $c.host_tsc_restore_B "$res_host"
    fig $c.clock_gap_B_minus_A_ms "$gap"
    fig $c.fork_elapsed_measured_applied_outcome "$measured $applied $outcome"
    fig $c.fork_report "$(grep 'last restore' "$tp_dir/d.report")"
    fig $c.dst_vcpu_tsc_khz "$dkhz"

    # Every pair: the guest's own checks, and its steps against the real
    # gap (B's clock minus A's, less the skew set: to the round trip).
    real_gap=$(awk "BEGIN { printf \"%.3f\", $gap - $th_skew_ns / 1e6 }")
    fig $c.real_gap_ms "$real_gap"
    check "$c: no warp" \
        test "$(tp_sum d.post warp_count)" = "$(tp_sum s.saved warp_count)"
    check "$c: no backward TSC step" \
        test "$(tp_sum d.post tsc_back_count)" = "$(tp_sum s.saved tsc_back_count)"
    check "$c: kvmclock never went backwards" \
        test "$(tp_sum d.post kvmclock_back_count)" = "$(tp_sum s.saved kvmclock_back_count)"
    i=1
    while [ $i -lt $SMP ]; do
        k=$(tp_kv d.post cpu$i.resume_kvmclock_step_ns)
        t=$(tp_kv d.post cpu$i.resume_tsc_step)
        fig $c.cpu$i.tsc_step_minus_real_gap_ms "$(calc "$t / $khz - $real_gap")"
        fig $c.cpu$i.kvmclock_step_minus_real_gap_ms "$(calc "$k / 1000000 - $real_gap")"
        fig $c.cpu$i.tsc_minus_kvmclock_step_ms "$(calc "$t / $khz - $k / 1000000")"
        l=$(tp_kv d.post cpu$i.resume_timer_late)
        fig $c.cpu$i.first_deadline_irq_late_beyond_step_ms "$(calc "($l - $t) / $khz")"
        eval "kst$i=\$k tst$i=\$t lat$i=\$l"
        i=$((i + 1))
    done
    [ $precise = 1 ] || return 0

    # KVM's truth: guest TSC = host TSC + offset (ratio 1 here).
    err_us=$(awk "BEGIN { saved = $cap_host + ($so); after = $res_host + ($do);
        printf \"%.3f\", (after - saved - $applied * $dkhz / 1e6) * 1000 / $dkhz }")
    fig $c.tsc_error_vs_applied_us "$err_us"
    check "$c: KVM applies no TSC scaling on B (debugfs ratio: $dratio)" \
        test "$dratio" = none
    check "$c: B's guest TSC = saved + applied elapsed (error $err_us us)" \
        awk "BEGIN { e = $err_us; exit !(e < $CROSS_TSC_ERR_US && -e < $CROSS_TSC_ERR_US) }"
    check "$c: all $SMP vCPUs' offsets bit-identical on B" mg_same $doffs
    i=0 flags=""
    while [ $i -lt $SMP ]; do
        flags="$flags$(( $(tp_kv d.post cpu$i.kvmclock_flags) & 1 ))"
        i=$((i + 1))
    done
    check "$c: master clock (kvmclock stable) on every vCPU on B ($flags)" \
        test "$flags" = 1111
    i=1
    while [ $i -lt $SMP ]; do
        eval "k=\$kst$i t=\$tst$i l=\$lat$i"
        check "$c: cpu$i TSC and kvmclock steps agree within $CROSS_AGREE_MS ms" \
            awk "BEGIN { d = $t / $khz - $k / 1000000;
                         exit !(d < $CROSS_AGREE_MS && -d < $CROSS_AGREE_MS) }"
        check "$c: cpu$i first TSC-deadline IRQ on B on time (< $CROSS_LATE_MS ms beyond the step)" \
            awk "BEGIN { exit !(($l - $t) / $khz < $CROSS_LATE_MS) }"
        i=$((i + 1))
    done
    # The report: what B's and A's clocks say passed, in the time base
    # both can use; never negative applied.
    check "$c: elapsed measured matches B's clock minus A's (${measured} ns vs $gap ms)" \
        awk "BEGIN { d = $measured / 1e6 - $gap;
                     exit !(d < $CROSS_ELAPSED_MS && -d < $CROSS_ELAPSED_MS) }"
    base=utc
    [ "$tai_a" != 0 ] && [ "$tai_b" != 0 ] && base=tai
    check "$c: report says time base $base, TAI offsets $tai_a and $tai_b" \
        grep -q "in $base (TAI offsets: source $tai_a s, here $tai_b s)" \
        "$tp_dir/d.report"
    if awk "BEGIN { exit !($gap < 0) }"; then
        check "$c: B behind: nothing applied, reported negative (outcome $outcome)" \
            test "$outcome" = 2 -a "$applied" = 0
    else
        check "$c: elapsed applied in full (outcome $outcome)" \
            test "$outcome" = 0 -a "$applied" = "${measured#-}"
    fi
}

echo "# ======== cross-host migration, $CROSS_SRC $(uname -r) ->" \
    "$CROSS_DST $b_kernel ========"
for cs in $(echo "$CROSS_CASES" | tr , " "); do
    IFS=: read -r m tais skew <<EOF
$cs
EOF
    one_case "$m" "${tais%/*}" "${tais#*/}" "$skew"
done
labclock tai 0 >/dev/null
th_run 10 "labclock tai 0" >/dev/null
th_close
exit $rc

#!/bin/sh
# The fork's elapsed-time policy (precise-tsc-advance-limit, ms): a pause
# up to the limit is added to the guest's TSC and kvmclock on restore;
# beyond it guest time is frozen (both continue from the saved values).
# tscprobe (docs/tscprobe.md), 2 vCPUs, on one lab host:
#
#   (a) advance: limit 10000, stop, save to a file, restore in a new QEMU
#       ~3 s after the stop: TSC and kvmclock advance by the downtime; the
#       destination's KVM TSC offsets equal the source's (same host: equal
#       offsets = continued by exactly the elapsed time).
#   (b) freeze: limit 1000, same with ~3 s: the guest's steps across the
#       stop are only its own run time around stop/cont; destination offset
#       - source offset = -(host TSC elapsed), the error is reported.
#   (c) stop 2 s / cont on one QEMU: precise (default limit): TSC and
#       kvmclock both advance ~2 s and agree; stock (precise-tsc=off):
#       kvmclock frozen while the TSC ran on; limit 1000: both frozen.
#
# Host times: QEMU's vm_state_notify trace (gettimeofday, -msg
# timestamp=on) at the stop and at the resume; the fork's own
# precise_tsc_restore trace gives its measured/applied elapsed time.
# Guest: resume_tsc_step / resume_kvmclock_step_ns of the AP (cpu1; the
# BSP's COM1 summary can stretch its own steps).
set -u
. /lab/tscprobe/lib.sh
. /lab/tscprobe/migrate.sh

SMP=2
mg_machine $SMP
MEM="-m 32"
PAUSE_FILE_MS=${PAUSE_FILE_MS:-3000}
PAUSE_STOP_MS=${PAUSE_STOP_MS:-2000}
# The guest's step minus the host's pause: its vCPU's run time between
# its last read and the stop (pause_all_vcpus waits for every vCPU
# thread), and between the resume and its first read (scheduling, nested
# page faults of a fresh destination): 0-90 ms on a quiet lab, 620 ms
# seen with other lab runs on the outer machine (docs/lab.md). So the
# steps only tell "advanced by the pause" from "frozen" (pauses of 2-3 s);
# the exact check is the KVM offsets'.
STEP_MARGIN_MS=${STEP_MARGIN_MS:-1000}
STEP_UNDER_MS=${STEP_UNDER_MS:-10}
AGREE_MS=${AGREE_MS:-5}
TSC_ERR_US=${TSC_ERR_US:-1}
# Freeze: offset change vs the host-timed elapsed time (trace points at
# the start of vm_state_notify; the fork samples inside it): 0.0-1.0 ms
# measured, but once -5.8 ms (2026-11-29, deb612-ours, clean-clone make
# check): the lab's single-threaded TCG runs the inner host's vCPUs
# round-robin, so between the trace point and the fork's sample the
# emulator may run the other vCPU for a time slice. The exact check is
# against the fork's own elapsed figure (FREEZE_FORK_ERR_US).
FREEZE_ERR_MS=${FREEZE_ERR_MS:-15}
# Offset change vs the elapsed time the fork measured and applied: the
# arithmetic leaves -1.3..+0.1 us (KVM_SET_TSC_STATE and offsets paths).
FREEZE_FORK_ERR_US=${FREEZE_FORK_ERR_US:-20}

tp_init /tmp/precise-policy
trap 'exec 3>&- 4>&-; tp_stop_all' EXIT

# boot NAME FD: tscprobe looping on every vCPU, then 0.5 s on.
boot() {
    tp_start $1 $2 $MACHINE $MEM $(mg_trace $1)
    tp_wait 30 mg_all_looping $2 $1.boot || {
        not_ok "$1: tscprobe boots"
        tail -n 20 "$tp_dir/$1.hmp" | sed 's/^/# qemu: /'
        exit 1
    }
    sleep 0.5
}
# steps TAG CASE: figures of the guest's last resume (cpu1), into
# tstep / kstep (ms).
steps() {
    khz=$(tp_kv $1 tsc_khz)
    tstep=$(calc "$(tp_kv $1 cpu1.resume_tsc_step) / $khz")
    kstep=$(calc "$(tp_kv $1 cpu1.resume_kvmclock_step_ns) / 1000000")
    fig $2.cpu1.tsc_step_ms "$tstep"
    fig $2.cpu1.kvmclock_step_ms "$kstep"
    fig $2.cpu0.tsc_step_ms \
        "$(calc "$(tp_kv $1 cpu0.resume_tsc_step) / $khz")"
    fig $2.cpu0.kvmclock_step_ms \
        "$(calc "$(tp_kv $1 cpu0.resume_kvmclock_step_ns) / 1000000")"
    fig $2.resumes "$(tp_kv $1 cpu0.resume_count) $(tp_kv $1 cpu1.resume_count)"
}
fork_restore() {
    sed -n 's/.*precise_tsc_restore elapsed measured \([0-9-]*\) ns applied \([0-9]*\) ns outcome \([0-9]*\).*/\1 \2 \3/p' \
        "$tp_dir/$1.trace" | tail -n 1
}

# ---- (a), (b): save to a file, restore in a new QEMU --------------------
# file_case CASE LIMIT: sets down (ms), so/do (cpu0 offsets), khz.
file_case() {
    c=$1 state=$tp_dir/$1.state
    TP_ACCEL=kvm,precise-tsc=on,precise-tsc-advance-limit=$2
    export TP_ACCEL
    boot $c.src 3
    spid=$tp_pid
    tp_hmp 3 stop
    tp_now
    t0=$tp_now_ms
    tp_hmp 3 "migrate \"file:$state\""
    mg_wait_mig 3 $c.src 30 && [ "$mg_status" = completed ] ||
        { not_ok "$c: save to file ($mg_status)"; exit 1; }
    soffs=$(mg_offsets $spid $SMP)
    tp_dump 3 $c.saved
    tp_hmp 3 quit
    exec 3>&-
    tp_start $c.dst 4 $MACHINE $MEM $(mg_trace $c.dst) -S -incoming defer
    dpid=$tp_pid
    mg_up 4 $c.dst 30 || { not_ok "$c: destination monitor"; exit 1; }
    tp_hmp 4 "migrate_incoming \"file:$state\""
    mg_wait_status 4 $c.dst paused 30 ||
        { not_ok "$c: state loaded"; exit 1; }
    wait_ms $t0 "$PAUSE_FILE_MS"
    tp_hmp 4 cont
    sleep 1
    tp_dump 4 $c.c1
    doffs=$(mg_offsets $dpid $SMP)
    check "$c: restored VM running" test "$(tp_status 4 $c.dst)" = running
    tp_hmp 4 quit
    exec 4>&-
    tp_stop_all
    t_stop=$(mg_t $c.src 'vm_state_notify running 0')
    t_run=$(mg_t $c.dst 'vm_state_notify running 1')
    down=$(awk "BEGIN { printf \"%.3f\", ($t_run - $t_stop) * 1000 }")
    khz=$(tp_kv $c.saved tsc_khz)
    so=${soffs%% *} do=${doffs%% *}
    fig $c.limit_ms "$2"
    fig $c.host_downtime_ms "$down"
    fig $c.fork_elapsed_measured_applied_outcome "$(fork_restore $c.dst)"
    fig $c.src_offsets "$soffs"
    fig $c.dst_offsets "$doffs"
    fig $c.dst_minus_src_offset_ms "$(calc "($do - ($so)) / $khz")"
    steps $c.c1 $c
    check "$c: TSC offsets bit-identical after restore" mg_same $doffs
    check "$c: cpu1 TSC and kvmclock steps agree within $AGREE_MS ms" \
        within "$tstep - $kstep" -$AGREE_MS $AGREE_MS
    check "$c: no backward kvmclock or TSC step, no warp" test \
        "$(tp_sum $c.c1 kvmclock_back_count)$(tp_sum $c.c1 tsc_back_count)$(tp_sum $c.c1 warp_count)" = 000
}

echo "# ======== elapsed-time policy on $(uname -r) ========"
fig kernel "$(uname -r)"

file_case advance 10000
err_us=$(awk "BEGIN { printf \"%.3f\", ($do - ($so)) * 1000 / $khz }")
fig advance.tsc_error_vs_elapsed_us "$err_us"
check "advance: TSC continued from the saved value plus the elapsed time (offsets equal, error $err_us us)" \
    within "$err_us" -$TSC_ERR_US $TSC_ERR_US
check "advance: fork applied the whole elapsed time (outcome 0)" \
    test "$(fork_restore advance.dst | cut -d' ' -f3)" = 0
check "advance: cpu1 TSC step = downtime (-$STEP_UNDER_MS/+$STEP_MARGIN_MS ms)" \
    within "$tstep - $down" -$STEP_UNDER_MS $STEP_MARGIN_MS
check "advance: cpu1 kvmclock step = downtime (-$STEP_UNDER_MS/+$STEP_MARGIN_MS ms)" \
    within "$kstep - $down" -$STEP_UNDER_MS $STEP_MARGIN_MS

file_case freeze 1000
# Frozen: guest TSC at the restore = saved TSC, so the offset moved back
# by the host TSC's elapsed cycles over the downtime.
ferr=$(calc "($do - ($so)) / $khz + $down")
fig freeze.offset_change_plus_host_downtime_ms "$ferr"
fe=$(fork_restore freeze.dst | cut -d' ' -f1)
feerr=$(awk "BEGIN { printf \"%.3f\", ($do - ($so)) * 1000 / $khz + $fe / 1000 }")
fig freeze.offset_change_plus_fork_elapsed_us "$feerr"
check "freeze: fork froze guest time (outcome 1)" \
    test "$(fork_restore freeze.dst | cut -d' ' -f3)" = 1
check "freeze: dest offset - source offset = -(fork's elapsed) within $FREEZE_FORK_ERR_US us ($feerr us)" \
    within "$feerr" -$FREEZE_FORK_ERR_US $FREEZE_FORK_ERR_US
check "freeze: dest offset - source offset = -(host elapsed) within $FREEZE_ERR_MS ms ($ferr ms)" \
    within "$ferr" -$FREEZE_ERR_MS $FREEZE_ERR_MS
check "freeze: cpu1 TSC step ~0 (0..$STEP_MARGIN_MS ms; downtime $down ms)" \
    within "$tstep" 0 $STEP_MARGIN_MS
check "freeze: cpu1 kvmclock step ~0 (-$AGREE_MS..$STEP_MARGIN_MS ms)" \
    within "$kstep" -$AGREE_MS $STEP_MARGIN_MS

# ---- (c): stop / cont on one QEMU ----------------------------------------
# stop_case CASE ACCEL: sets pause (host ms), tstep, kstep, so/do.
stop_case() {
    c=$1
    TP_ACCEL=$2
    export TP_ACCEL
    boot $c 3
    spid=$tp_pid
    tp_hmp 3 stop
    tp_now
    t0=$tp_now_ms
    tp_sync 3 $c.stopped
    soffs=$(mg_offsets $spid $SMP)
    wait_ms $t0 "$PAUSE_STOP_MS"
    tp_hmp 3 cont
    sleep 1
    tp_dump 3 $c.c1
    doffs=$(mg_offsets $spid $SMP)
    tp_hmp 3 quit
    exec 3>&-
    tp_stop_all
    t_stop=$(mg_t $c 'vm_state_notify running 0 reason [0-9]* (paused)')
    t_run=$(mg_t $c 'vm_state_notify running 1')
    pause=$(awk "BEGIN { printf \"%.3f\", ($t_run - $t_stop) * 1000 }")
    khz=$(tp_kv $c.c1 tsc_khz)
    so=${soffs%% *} do=${doffs%% *}
    fig $c.accel "$2"
    fig $c.host_pause_ms "$pause"
    fig $c.fork_elapsed_measured_applied_outcome "$(fork_restore $c)"
    fig $c.offsets_before_after "$soffs / $doffs"
    fig $c.offset_change_ms "$(calc "($do - ($so)) / $khz")"
    steps $c.c1 $c
    check "$c: no backward kvmclock or TSC step, no warp" test \
        "$(tp_sum $c.c1 kvmclock_back_count)$(tp_sum $c.c1 tsc_back_count)$(tp_sum $c.c1 warp_count)" = 000
}

stop_case stopcont kvm,precise-tsc=on
check "stopcont: cpu1 TSC step = pause (-$STEP_UNDER_MS/+$STEP_MARGIN_MS ms)" \
    within "$tstep - $pause" -$STEP_UNDER_MS $STEP_MARGIN_MS
check "stopcont: cpu1 kvmclock step = pause (-$STEP_UNDER_MS/+$STEP_MARGIN_MS ms)" \
    within "$kstep - $pause" -$STEP_UNDER_MS $STEP_MARGIN_MS
check "stopcont: cpu1 TSC and kvmclock steps agree within $AGREE_MS ms" \
    within "$tstep - $kstep" -$AGREE_MS $AGREE_MS
err_us=$(awk "BEGIN { printf \"%.3f\", ($do - ($so)) * 1000 / $khz }")
check "stopcont: TSC offsets unchanged by stop/cont (error $err_us us)" \
    within "$err_us" -$TSC_ERR_US $TSC_ERR_US

stop_case stopcont_stock kvm,precise-tsc=off
check "stopcont_stock: TSC ran on through the pause (cpu1 step >= pause - $STEP_UNDER_MS ms)" \
    within "$tstep - $pause" -$STEP_UNDER_MS 1000000
check "stopcont_stock: kvmclock frozen (cpu1 step < $STEP_MARGIN_MS ms)" \
    within "$kstep" -$AGREE_MS $STEP_MARGIN_MS

stop_case stopcont_freeze kvm,precise-tsc=on,precise-tsc-advance-limit=1000
check "stopcont_freeze: cpu1 TSC step ~0 (0..$STEP_MARGIN_MS ms; pause $pause ms)" \
    within "$tstep" 0 $STEP_MARGIN_MS
check "stopcont_freeze: cpu1 kvmclock step ~0 (-$AGREE_MS..$STEP_MARGIN_MS ms)" \
    within "$kstep" -$AGREE_MS $STEP_MARGIN_MS
fz=$(calc "($do - ($so)) / $khz + $pause")
fig stopcont_freeze.offset_change_plus_host_pause_ms "$fz"
check "stopcont_freeze: offset moved back by the host's elapsed time within $FREEZE_ERR_MS ms ($fz ms)" \
    within "$fz" -$FREEZE_ERR_MS $FREEZE_ERR_MS
echo "# ======== end of elapsed-time policy figures ========"
exit $rc

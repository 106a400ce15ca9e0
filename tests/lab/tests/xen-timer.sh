#!/bin/sh
# Xen emulated singleshot timers across a pause (issue 4: "Xen emulated
# singleshot timers converted after kvmclock is right").
#
# QEMU emulates Xen (-accel kvm,xen-version=...); tscprobe's vCPU 0 maps
# shared_info, binds VIRQ_TIMER and keeps a Xen singleshot timer armed
# 5 s of kvmclock ahead (docs/tscprobe.md). The deadline is absolute
# kvmclock time, but KVM runs the timer as a host hrtimer. Right after a
# fire (so the next deadline is ~5 s away) the VM is stopped for
# PAUSE_S, then continued; the guest times the first fire of the timer
# armed before the resume. Correct: it fires when the guest's kvmclock
# reaches the deadline, or at once if the kvmclock step across the pause
# already passed it: expected lateness = max(0, step - remaining).
#
# Modes: precise-tsc=off (QEMU 10.0: kvmclock does not count the pause
# but KVM's timer does, so the timer fires early by the pause; figures
# only), precise-tsc=on with the advance policy (kvmclock counts the
# pause) and with the freeze policy (limit below the pause: kvmclock
# does not count it; the fork parks the timer at stop and re-arms it
# after restoring kvmclock). Both "on" modes are asserted: the best of
# up to XEN_TRIALS pauses within the bound (the lab's noise makes a fire
# late at random, up to hundreds of ms when two lab hosts share the
# machine; a mis-armed timer is off by the same seconds every time),
# and no pause early.
#
# Save/restore and migration, the other path the fork handles (hook
# patch 0014), cannot be tested: QEMU 10.0 blocks migrating or saving a
# Xen-emulated VM ("non-migratable device: xen_xenstore").
set -u
. /lab/tscprobe/lib.sh
. /lab/tscprobe/migrate.sh

# Lateness includes the lab's scheduling noise (a few ms seen before any
# restore; docs/lab.md); a wrongly armed timer is off by seconds.
XEN_LATE_MS=${XEN_LATE_MS:-20}
# Xen's clock and KVM's hrtimer (CLOCK_MONOTONIC) may differ by a little.
XEN_EARLY_US=${XEN_EARLY_US:-100}
# Pauses per asserted mode at most (see run_mode).
XEN_TRIALS=${XEN_TRIALS:-3}
PAUSE_S=3
XEN="xen-version=0x4000a,kernel-irqchip=split"
SMP=1
mg_machine $SMP
MEM="-m 32"

tp_init /tmp/xen-timer
trap 'exec 3>&-; tp_stop_all' EXIT

# xen_ready FD NAME: dump as NAME; true once vCPU 0 set the timer up.
xen_ready() {
    tp_dump "$1" "$2" && [ "$(tp_kv "$2" xen_state)" != absent ]
}
# xen_fired FD NAME N: dump as NAME; true once the timer fired N times.
xen_fired() {
    tp_dump "$1" "$2" && [ "$(tp_kv "$2" xen_fires)" -ge "$3" ]
}
# resumed_fire NAME N: dump as NAME; true once N fires crossed a resume.
resumed_fire() {
    tp_dump 3 "$1" && [ "$(tp_kv "$1" xen_resume_fires)" -ge "$2" ]
}
# diag NAME: what QEMU NAME and its guest said (not the echoed commands).
diag() {
    mg_hmp_text "$1" | grep -v '^(qemu)' | tail -n 10 | sed 's/^/# qemu: /'
    tail -n 10 "$tp_dir/$1.serial" 2>/dev/null | sed 's/^/# serial: /'
}
# ns VALUE: ns as ms with 3 decimals.
ms() { awk "BEGIN { printf \"%.3f\", $1 / 1000000 }"; }

# pause_once N: right after a fire (the next deadline a full period
# away) stop for PAUSE_S, continue, and time the first fire of the timer
# armed before the pause: the guest's Nth fire across a resume. Sets
# err (ns, against the expected lateness) and prints figures.
pause_once() {
    tp_dump 3 a1 || { not_ok "$mode: dump before pause $1"; return 1; }
    fires=$(tp_kv a1 xen_fires)
    tp_wait 12 xen_fired 3 a1 $((fires + 1)) ||
        { not_ok "$mode: Xen timer fires again (pause $1)"; return 1; }
    tp_hmp 3 stop
    tp_dump 3 saved
    fig "${mode}_late_before_pause_ms" "$(ms "$(tp_kv saved \
        xen_late_min_ns)")..$(ms "$(tp_kv saved xen_late_max_ns)")"
    check "$mode: Xen timer never early before pause $1" \
        test "$(tp_kv saved xen_early_count)" -eq 0
    remaining=$(($(tp_kv saved xen_deadline_ns) - \
        $(tp_kv saved cpu0.last_kvmclock_ns)))
    sleep "$PAUSE_S"
    tp_hmp 3 cont
    # No polling until the timer is due: each poll dumps the guest's
    # table through the inner QEMU, keeping the inner host's other vCPU
    # busy, and the lab's single-threaded TCG then runs the guest's vCPU
    # up to ~100 ms late (lateness of 30-160 ms seen in 3 of 8 fires,
    # before any pause as well as after it; docs/lab.md).
    sleep $((remaining / 1000000000 + 1))
    if ! tp_wait 15 resumed_fire a2 "$1"; then
        not_ok "$mode: the timer armed before pause $1 fires after it" \
            "(fires $(tp_kv a2 xen_fires), state $(tp_status 3 a))"
        return 1
    fi
    step=$(tp_kv a2 cpu0.resume_kvmclock_step_ns)
    late=$(tp_kv a2 xen_resume_late_ns)
    expect=$((step > remaining ? step - remaining : 0))
    err=$((late - expect))
    fig "${mode}_pause${1}_remaining_ms" "$(ms $remaining)"
    fig "${mode}_pause${1}_kvmclock_step_ms" "$(ms "$step")"
    fig "${mode}_pause${1}_resume_late_ms" "$(ms "$late")"
}

# run_mode NAME ACCEL_OPTS
run_mode() {
    mode=$1
    TP_ACCEL="kvm,$XEN,$2"
    export TP_ACCEL
    rm -f "$tp_dir"/a.*

    tp_start a 3 $MACHINE $MEM
    if ! tp_wait 30 xen_ready 3 a0; then
        not_ok "$mode: tscprobe boots under Xen emulation"
        diag a
        return 1
    fi
    if [ "$(tp_kv a0 xen_state)" != armed ]; then
        not_ok "$mode: Xen timer armed (state $(tp_kv a0 xen_state)," \
            "step $(tp_kv a0 xen_error_step), error $(tp_kv a0 xen_error))"
        diag a
        return 1
    fi
    ok "$mode: Xen timer armed (event channel $(tp_kv a0 xen_port))"
    tp_wait 12 xen_fired 3 a1 1 ||
        { not_ok "$mode: Xen timer fires"; return 1; }
    # The fork's modes get up to XEN_TRIALS pauses: a wrongly armed
    # timer is wrong by the same amount every time, the lab's noise only
    # ever makes a fire late, and by a different amount each time.
    trials=1
    [ "$mode" = stock ] || trials=$XEN_TRIALS
    trial=0 best="" early=0 errs=""
    while [ "$trial" -lt "$trials" ]; do
        trial=$((trial + 1))
        pause_once "$trial" || return 1
        errs="$errs $(ms "$err")"
        [ "$err" -lt $((-XEN_EARLY_US * 1000)) ] && early=1
        if [ -z "$best" ] || [ "$err" -lt "$best" ]; then
            best=$err
        fi
        [ "$err" -le $((XEN_LATE_MS * 1000000)) ] && break
    done
    fig "${mode}_resume_error_ms" "$(ms "$best")"
    if [ "$mode" != stock ]; then
        bound="-$XEN_EARLY_US us..+$XEN_LATE_MS ms"
        fig "${mode}_resume_error_trials_ms" "$(echo $errs | tr ' ' ',')"
        check "$mode: the timer across the pause fires on guest time (best error of $trial pause(s) $(ms "$best") ms, bound $bound)" \
            test "$best" -ge $((-XEN_EARLY_US * 1000)) -a \
            "$best" -le $((XEN_LATE_MS * 1000000))
        check "$mode: no pause made the timer fire early (errors:$errs ms)" \
            test "$early" = 0
        check "$mode: no Xen timer fired early" \
            test "$(tp_kv a2 xen_early_count)" -eq 0
    fi
    tp_hmp 3 quit
    exec 3>&-
    tp_stop_all
}

rc=0
run_mode stock precise-tsc=off || { exec 3>&-; tp_stop_all; }
run_mode advance precise-tsc=on || { exec 3>&-; tp_stop_all; }
run_mode freeze precise-tsc=on,precise-tsc-advance-limit=1000 ||
    { exec 3>&-; tp_stop_all; }
exit $rc

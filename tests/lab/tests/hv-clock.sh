#!/bin/sh
# Hyper-V clocks (what Windows guests read) across save/restore and live
# migration: tscprobe (docs/tscprobe.md) with -cpu host,hv-time,
# hv-frequencies enables the reference TSC page and reads it on every
# vCPU, computing reference time and kvmclock from one TSC read each
# pass; vCPU 0 also checks the reference counter MSR against the page.
# For stock QEMU (precise-tsc=off), the fork (precise-tsc=on) and the
# fork's freeze policy (advance limit 1 s):
#
#   boot, run ~1 s, dump: the page is valid on every vCPU
#   stop, save to a file, restore in a new QEMU HV_PAUSE_MS after the
#   stop, cont; then live-migrate that VM to a third QEMU
#
# Asserted before and after each: reference time never went backwards
# on any vCPU; the page is valid again and read after the resume;
# kvmclock - 100 * reference time at one TSC value stays within what
# KVM's arithmetic allows (see tests/guests/tscprobe/hvclock.c); the
# MSR lies between the page's values at the TSC reads around it; the
# reference step across the resume equals the kvmclock step (same
# reads). The step itself follows the policy: the downtime with the
# fork's advance, ~0 for stock's file restore and for freeze.
set -u
. /lab/tscprobe/lib.sh
. /lab/tscprobe/migrate.sh

SMP=2
MEM="-m 32"
MACHINE="-M pc -cpu host,hv-time,hv-frequencies -smp $SMP"
[ -f /lab/qemu/share/qemu/qboot.rom ] &&
    MACHINE="$MACHINE -bios /lab/qemu/share/qemu/qboot.rom"
MG_PAUSE_MS=${HV_PAUSE_MS:-2500}
# kvmclock ns - 100 * reference at one TSC: (-101, 200) ns from the three
# truncations in KVM's scale/offset and the guest's own; 100 ns (one
# reference unit) of slack each side.
DEV_MIN_NS=-200
DEV_MAX_NS=300
# Both steps come from the same two reads: their difference is the
# difference of two deviations.
STEP_AGREE_NS=$((DEV_MAX_NS - DEV_MIN_NS))
# Reference (kvmclock) step vs TSC step across a resume with the fork: the
# few ms by which kvmclock and the TSC can disagree across a restore
# (precise-live4's bound; 0.0-0.1 ms measured here).
PRECISE_AGREE_MS=5
# Frequency MSR (Hz) against the probe's kHz from kvmclock's 32-bit scale.
KHZ_AGREE=2
# A step that counted the pause: at least the downtime less the few ms by
# which the traced stop precedes the fork's sample (docs/lab.md); one that
# did not: the vCPU's own run time around the stop, well under the pause.
STEP_UNDER_MS=10
STEP_MARGIN_MS=1000

tp_init /tmp/hv-clock
trap 'exec 3>&- 4>&- 5>&-; tp_stop_all' EXIT


# each_cpu TAG FIELD OP VALUE: FIELD of every vCPU of dump TAG.
each_cpu() {
    _i=0
    while [ $_i -lt $SMP ]; do
        _v=$(tp_kv "$1" "cpu$_i.$2")
        [ -n "$_v" ] && [ "$_v" "$3" "$4" ] ||
            { echo "# cpu$_i.$2=$_v" >&2; return 1; }
        _i=$((_i + 1))
    done
}
# dev_within TAG: every vCPU's deviation range inside the bounds.
dev_within() {
    each_cpu "$1" hv_dev_min_ns -ge $DEV_MIN_NS &&
        each_cpu "$1" hv_dev_max_ns -le $DEV_MAX_NS
}

# hv_checks TAG WHAT: the invariants on dump TAG, and its figures.
hv_checks() {
    check "$2: reference TSC page enabled" \
        test "$(tp_kv "$1" hv_state)" = enabled
    check "$2: page read valid on every vCPU" each_cpu "$1" hv_reads -gt 0
    check "$2: reference time never went backwards" \
        each_cpu "$1" hv_back_count = 0
    check "$2: kvmclock - 100 x reference within [$DEV_MIN_NS, $DEV_MAX_NS] ns at one TSC" \
        dev_within "$1"
    check "$2: reference counter MSR checked" \
        test "$(tp_kv "$1" cpu0.hv_msr_checks)" -gt 0
    check "$2: reference counter MSR between the page's values around it" \
        test "$(tp_kv "$1" cpu0.hv_msr_outside_count)" = 0
    _i=0
    while [ $_i -lt $SMP ]; do
        _p=cpu$_i
        fig "$2.$_p.hv" "reads=$(tp_kv "$1" $_p.hv_reads)\
 invalid=$(tp_kv "$1" $_p.hv_invalid_count)\
 seq=$(tp_kv "$1" $_p.hv_sequence)\
 seq_changes=$(tp_kv "$1" $_p.hv_sequence_changes)\
 dev_ns=$(tp_kv "$1" $_p.hv_dev_min_ns)..$(tp_kv "$1" $_p.hv_dev_max_ns)"
        _i=$((_i + 1))
    done
    fig "$2.msr" "checks=$(tp_kv "$1" cpu0.hv_msr_checks)\
 outside=$(tp_kv "$1" cpu0.hv_msr_outside_count)\
 max=$(tp_kv "$1" cpu0.hv_msr_outside_max)"
}

# cycle_resumed CASE SAVED FD NAME DOWN EXPECT (mg_cycle's hook): checks
# of the resumed VM NAME on FD against the state in dump SAVED; the pause
# the host measured is DOWN (ms); EXPECT says whether the reference step
# should count it (counts, frozen, or - for no assertion).
cycle_resumed() {
    c=$1
    check "$c: every vCPU saw the resume" mg_resumed "$3" "$c.r1" "$2"
    sleep 0.5
    check "$c: table dumped again" tp_dump "$3" "$c.r2"
    check "$c: VM running" test "$(tp_status "$3" "$4")" = running
    hv_checks "$c.r2" "$c"
    check "$c: page valid and read after the resume" mg_grew "$c.r1" "$c.r2" hv_reads
    khz=$(tp_kv "$c.r2" tsc_khz)
    i=0
    while [ $i -lt $SMP ]; do
        p=cpu$i
        r=$(tp_kv "$c.r2" $p.hv_resume_ref_step)
        k=$(tp_kv "$c.r2" $p.resume_kvmclock_step_ns)
        t=$(tp_kv "$c.r2" $p.resume_tsc_step)
        fig "$c.$p.steps_ms" "reference=$(calc "$r / 10000")\
 kvmclock=$(calc "$k / 1000000") tsc=$(calc "$t / $khz")"
        check "$c: $p reference step = kvmclock step within $STEP_AGREE_NS ns ($((r * 100 - k)) ns)" \
            within "$r * 100 - $k" -$STEP_AGREE_NS $STEP_AGREE_NS
        # Stock restores kvmclock and the TSC separately: Windows' clock
        # and its TSC disagree afterwards (figures only). The fork moves
        # both by one elapsed time.
        [ "${c%%.*}" = stock ] ||
        check "$c: $p reference step = TSC step within $PRECISE_AGREE_MS ms" \
            within "$r / 10000 - $t / $khz" -$PRECISE_AGREE_MS $PRECISE_AGREE_MS
        eval "rstep$i=\$r"
        i=$((i + 1))
    done
    fig "$c.host_downtime_ms" "$5"
    mg_info "$3" "$4"
    fig "$c.precise_tsc" "$(sed -n 's/^path: \([^,]*\),.*master clock: \([^,]*\).*/path \1, master clock \2/p' "$tp_dir/$4.info")"
    # cpu1: the BSP's serial summaries can stretch its own steps.
    rms=$(calc "$rstep1 / 10000")
    case $6 in
    counts)
        check "$c: reference step counted the downtime (cpu1 $rms ms, downtime $5 ms)" \
            within "$rms - $5" -$STEP_UNDER_MS $STEP_MARGIN_MS ;;
    frozen)
        check "$c: reference step did not count the downtime (cpu1 $rms ms, downtime $5 ms)" \
            within "$rms" 0 $STEP_MARGIN_MS ;;
    esac
}

# cycle_running MODE (mg_cycle's hook): the running VM's dump MODE.a.
cycle_running() {
    check "$1: Hyper-V CPUID leaves seen" \
        test $(( $(tp_kv $1.a features) & 128 )) = 128
    hv_checks $1.a "$1.running"
    hz=$(tp_kv $1.a hv_tsc_hz)
    khz=$(tp_kv $1.a tsc_khz)
    fig $1.hv_tsc_hz "$hz"
    fig $1.tsc_khz "$khz"
    check "$1: frequency MSR agrees with kvmclock's scale (within $KHZ_AGREE kHz)" \
        within "$hz / 1000 - $khz" -$KHZ_AGREE $KHZ_AGREE
}

echo "# ======== Hyper-V clocks on $(uname -r) ========"
fig kernel "$(uname -r)"
# Stock restores kvmclock (and so reference time) at the saved value; the
# fork's advance counts the pause, its freeze policy (limit 1 s) does not
# for the 2.5 s file restore. A live migration's downtime (~0.1 s) is too
# short to tell apart here (precise-live4 checks it for kvmclock): no
# assertion on its step, only the invariants.
mg_cycle stock kvm,precise-tsc=off frozen -
mg_cycle precise kvm,precise-tsc=on,precise-tsc-advance-limit=60000 counts counts
mg_cycle freeze kvm,precise-tsc=on,precise-tsc-advance-limit=1000 frozen -
echo "# ======== end of Hyper-V clock figures ========"
exit $rc

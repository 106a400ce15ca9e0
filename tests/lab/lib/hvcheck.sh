# Checks of the Hyper-V clocks tscprobe reads with -cpu ...,hv-time,
# hv-frequencies (tscprobe/hvclock.c), shared by tests/lab/tests/hv-clock.sh
# and nested.sh; on top of lib.sh and migrate.sh. busybox sh; sourced as
# /lab/tscprobe/hvcheck.sh (payload.d/40-tscprobe.sh puts it there).
#
#   hv_checks TAG WHAT          the invariants of dump TAG, and its figures
#   hv_running MODE             a running VM's dump MODE.a: CPUID, the
#                               invariants, the frequency MSR
#   hv_resumed CASE TAG DOWN EXPECT SAVED
#                               after a resume (dump TAG; SAVED the dump
#                               of the state that was migrated): the
#                               invariants, MSR checks after the resume,
#                               reference step = TSC step (unless CASE is
#                               stock.*), and EXPECT (counts, frozen, -)
#                               about the downtime DOWN

# kvmclock ns - 100 * reference at one TSC: [-101, 199] ns from the
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
HV_TSC_AGREE_MS=5
# Frequency MSR (Hz) against the probe's kHz from kvmclock's 32-bit scale.
KHZ_AGREE=2
# A step that counted the pause: at least the downtime less the few ms by
# which the traced stop precedes the fork's sample (docs/lab.md); one that
# did not: the vCPU's own run time around the stop, well under the pause.
HV_STEP_UNDER_MS=10
HV_STEP_MARGIN_MS=1000

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


hv_running() {
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

hv_resumed() {
    c=$1
    hv_checks "$2" "$c"
    check "$c: reference counter MSR checked after the resume" \
        test "$(tp_kv "$2" cpu0.hv_msr_checks)" -gt \
        "$(tp_kv "$5" cpu0.hv_msr_checks)"
    khz=$(tp_kv "$2" tsc_khz)
    i=0
    while [ $i -lt $SMP ]; do
        p=cpu$i
        r=$(tp_kv "$2" $p.hv_resume_ref_step)
        k=$(tp_kv "$2" $p.resume_kvmclock_step_ns)
        t=$(tp_kv "$2" $p.resume_tsc_step)
        fig "$c.$p.steps_ms" "reference=$(calc "$r / 10000")\
 kvmclock=$(calc "$k / 1000000") tsc=$(calc "$t / $khz")"
        # Reference step = kvmclock step within $STEP_AGREE_NS ns follows
        # from the deviation bound (the same reads): a figure only.
        fig "$c.$p.reference_minus_kvmclock_step_ns" "$((r * 100 - k))"
        # Stock restores kvmclock and the TSC separately: Windows' clock
        # and its TSC disagree afterwards (figures only). The fork moves
        # both by one elapsed time.
        [ "${c%%.*}" = stock ] ||
        check "$c: $p reference step = TSC step within $HV_TSC_AGREE_MS ms" \
            within "$r / 10000 - $t / $khz" -$HV_TSC_AGREE_MS $HV_TSC_AGREE_MS
        eval "rstep$i=\$r"
        i=$((i + 1))
    done
    # cpu1: the BSP's serial summaries can stretch its own steps.
    rms=$(calc "$rstep1 / 10000")
    case $4 in
    counts)
        check "$c: reference step counted the downtime (cpu1 $rms ms, downtime $3 ms)" \
            within "$rms - $3" -$HV_STEP_UNDER_MS $HV_STEP_MARGIN_MS ;;
    frozen)
        check "$c: reference step did not count the downtime (cpu1 $rms ms, downtime $3 ms)" \
            within "$rms" 0 $HV_STEP_MARGIN_MS ;;
    esac
}

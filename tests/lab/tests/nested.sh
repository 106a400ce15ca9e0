#!/bin/sh
# A guest hypervisor with its own guest running, across save/restore and
# live migration (seed 004): tscprobe's nested probe (docs/tscprobe.md;
# "-append nested") makes its last vCPU an AMD SVM hypervisor (L1) that
# runs an L2 guest nearly all the time, with a TSC offset of its own (L2's
# TSC starts near 0); L1 leaves L2 only for its own TSC-deadline timer
# interrupts (one per ms) and runs a pass of the probe on its own clocks
# each time. The inner host's kvm_amd has nested=1, and -cpu host gives
# the vCPUs SVM.
#
# For stock QEMU (precise-tsc=off), the fork (precise-tsc=on) and the
# fork's freeze policy (advance limit 1 s), one VM goes through a file
# save/restore (restored MG_PAUSE_MS after the stop) and then a live
# migration (tests/lab/lib/migrate.sh, mg_cycle). KVM's guest_mode count
# (debugfs) at each save says whether a vCPU was in L2 then.
#
# Asserted after each resume, within a bounded wait: every vCPU, the
# hypervisor's L1 included, saw the resume (so L1 got control back: its
# timer fired); L2 kept running and L1 kept re-entering it; no TSC went
# backwards at either level (L2's own samples, L1's at each exit, the
# ordinary probe on both vCPUs); at every transition L2's TSC kept
# exactly L1's TSC plus the offset (L2's last value before an exit not
# ahead of L1's after it, its first after an entry not behind L1's
# before it); no unexpected #VMEXIT. The hypervisor vCPU's own TSC step
# across the file restore follows the policy (the fork: the downtime;
# freeze: ~0); stock's figures beside them.
set -u
. /lab/tscprobe/lib.sh
. /lab/tscprobe/migrate.sh

SMP=2
NCPU=$((SMP - 1))
MEM="-m 32"
MACHINE="-M pc -cpu host -smp $SMP -append nested"
[ -f /lab/qemu/share/qemu/qboot.rom ] &&
    MACHINE="$MACHINE -bios /lab/qemu/share/qemu/qboot.rom"
MG_PAUSE_MS=${NESTED_PAUSE_MS:-2500}
STEP_UNDER_MS=10
STEP_MARGIN_MS=1000

tp_init /tmp/nested
trap 'exec 3>&- 4>&- 5>&-; tp_stop_all' EXIT

nv() { tp_kv "$1" "nested_$2"; }
# grew_n TAG1 TAG2 KEY: nested KEY larger in TAG2 than in TAG1.
grew_n() { [ "$(nv "$2" "$3")" -gt "$(nv "$1" "$3")" ]; }
ms() { calc "$1 / $(tp_kv "$2" tsc_khz)"; }

# nested_checks TAG WHAT: the invariants of dump TAG.
nested_checks() {
    check "$2: nested probe running on cpu$NCPU ($(nv "$1" state), exit $(nv "$1" exit_code) info $(nv "$1" exit_info1) $(nv "$1" exit_info2))" \
        test "$(nv "$1" state)" = running -a "$(nv "$1" cpu)" = $NCPU
    check "$2: no unexpected #VMEXIT" test "$(nv "$1" exits_other)" = 0
    check "$2: L2 TSC never went backwards ($(nv "$1" l2_back_max) max)" \
        test "$(nv "$1" l2_back_count)" = 0
    check "$2: L1 TSC at #VMEXITs never went backwards ($(nv "$1" l1_back_max) max)" \
        test "$(nv "$1" l1_back_count)" = 0
    check "$2: no vCPU's TSC went backwards (probe loop)" \
        test "$(tp_sum "$1" tsc_back_count)" = 0
    check "$2: L2 TSC never ahead of L1 TSC + offset at an exit ($(nv "$1" ahead_max) max)" \
        test "$(nv "$1" ahead_count)" = 0
    check "$2: L2 TSC never behind L1 TSC + offset after an entry ($(nv "$1" l2_behind_max) max)" \
        test "$(nv "$1" l2_behind_count)" = 0
    fig "$2.nested" "vmruns=$(nv "$1" vmruns) intr_exits=$(nv "$1" exits_intr)\
 l2_loops=$(nv "$1" l2_loops) l2_jumps=$(nv "$1" l2_jump_count)\
 l2_jump_max_ms=$(ms "$(nv "$1" l2_jump_max)" "$1")\
 exit_gap_max_us=$(calc "$(nv "$1" exit_gap_max) * 1000 / $(tp_kv "$1" tsc_khz)")\
 l1_timer_irqs=$(tp_kv "$1" cpu$NCPU.timer_irqs)"
}

# KVM's debugfs statistics of QEMU PID's VM (summed over its vCPUs).
kvm_stat() {
    for _d in /sys/kernel/debug/kvm/"$1"-*; do
        cat "$_d/$2" 2>/dev/null
        return 0
    done
}

cycle_running() {
    check "$1: kvm_amd nested enabled on this host" \
        grep -q '^[1Y]' /sys/module/kvm_amd/parameters/nested
    check "$1: L1 runs L2 and its timer fires" \
        test "$(nv $1.a vmruns)" -gt 0 -a "$(nv $1.a exits_intr)" -gt 0 \
        -a "$(nv $1.a l2_loops)" -gt 0
    nested_checks $1.a "$1.running"
    fig $1.l2_tsc_offset_ms "$(ms "$(nv $1.a l2_tsc_offset)" $1.a)"
}

# The file save waits for a stop with the hypervisor vCPU in L2 (KVM's
# guest_mode count), the state seed 004 is about; a live migration's
# last stop falls where it falls (figure).
in_guest_mode() { [ "$(kvm_stat "$1" guest_mode)" -gt 0 ] 2>/dev/null; }
MG_STOP_UNTIL=in_guest_mode

cycle_saved() {
    kvm_stat "$2" guest_mode | sed 's/^/# guest_mode_at_save=/' > "$tp_dir/$1.gm"
    fig "$1.saved_in_guest_mode" \
        "$(kvm_stat "$2" guest_mode) of $SMP vCPUs (KVM debugfs guest_mode)"
}

cycle_resumed() {
    c=$1
    check "$c: every vCPU saw the resume, L1's included (its timer fired)" \
        mg_resumed "$3" "$c.r1" "$2"
    sleep 1
    check "$c: table dumped again" tp_dump "$3" "$c.r2"
    check "$c: VM running" test "$(tp_status "$3" "$4")" = running
    case $c in
    *.file)
        check "$c: saved with the hypervisor vCPU in L2 (KVM guest_mode)" \
            test "$(sed -n 's/^# guest_mode_at_save=//p' "$tp_dir/$c.gm")" -gt 0 ;;
    esac
    nested_checks "$c.r2" "$c"
    check "$c: L2 kept running" grew_n "$2" "$c.r2" l2_loops
    check "$c: L2 still running a second later" grew_n "$c.r1" "$c.r2" l2_loops
    check "$c: L1 keeps re-entering L2 (VMRUNs)" grew_n "$c.r1" "$c.r2" vmruns
    check "$c: L1's TSC-deadline timer keeps firing" \
        test "$(tp_kv "$c.r2" cpu$NCPU.timer_irqs)" -gt \
        "$(tp_kv "$c.r1" cpu$NCPU.timer_irqs)"
    step=$(ms "$(tp_kv "$c.r2" cpu$NCPU.resume_tsc_step)" "$c.r2")
    fig "$c.l1_tsc_step_ms" "$step"
    fig "$c.l1_timer_late_after_resume_ms" \
        "$(ms "$(tp_kv "$c.r2" cpu$NCPU.resume_timer_late)" "$c.r2")"
    fig "$c.host_downtime_ms" "$5"
    case $6 in
    counts)
        check "$c: hypervisor vCPU's TSC step counted the downtime ($step ms, downtime $5 ms)" \
            within "$step - $5" -$STEP_UNDER_MS $STEP_MARGIN_MS ;;
    frozen)
        check "$c: hypervisor vCPU's TSC step did not count the downtime ($step ms, downtime $5 ms)" \
            within "$step" 0 $STEP_MARGIN_MS ;;
    esac
}

check "KVM's debugfs counts vCPUs in guest mode" \
    test -n "$(ls /sys/kernel/debug/kvm/*/guest_mode 2>/dev/null || \
    ls /sys/kernel/debug/kvm/guest_mode)"
echo "# ======== nested guest (L1 hypervisor + L2) on $(uname -r) ========"
fig kernel "$(uname -r)"
mg_cycle stock kvm,precise-tsc=off - -
mg_cycle precise kvm,precise-tsc=on,precise-tsc-advance-limit=60000 counts counts
mg_cycle freeze kvm,precise-tsc=on,precise-tsc-advance-limit=1000 frozen -
echo "# ======== end of nested guest figures ========"
exit $rc

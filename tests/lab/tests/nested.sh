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
# freeze: ~0); stock's figures beside them. Last, a positive control:
# seed 004 injected into stock's restore (kvm-fault.so); the same checks
# must see it.
set -u
. /lab/tscprobe/lib.sh
. /lab/tscprobe/migrate.sh
. /lab/tscprobe/hvcheck.sh

SMP=2
NCPU=$((SMP - 1))
MEM="-m 32"
# NESTED_HV=1: the hypervisor uses Hyper-V's clocks too (hv-time,
# hv-frequencies; the hv-clock test's checks, tests/lab/lib/hvcheck.sh),
# as Windows does with virtualization-based security: one VM for both.
CPU=host
[ "${NESTED_HV:-0}" = 1 ] && CPU=host,hv-time,hv-frequencies
MACHINE="-M pc -cpu $CPU -smp $SMP -append nested"
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
    check "$2: L2 TSC - offset never behind L1's kvmclock timestamp ($(nv "$1" l2_pvclock_behind_max) max)" \
        test "$(nv "$1" l2_pvclock_behind_count)" = 0
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

# L2 starts 3 s of guest TSC after the boot (tscprobe/nested.c).
l2_started() {
    tp_dump "$1" "$2" && [ "$(nv "$2" vmruns)" -gt 100 ] 2>/dev/null
}

cycle_running() {
    check "$1: kvm_amd nested enabled on this host" \
        grep -q '^[1Y]' /sys/module/kvm_amd/parameters/nested
    check "$1: L2 started (within 15 s)" tp_wait 15 l2_started 3 $1.a
    check "$1: L1 runs L2 and its timer fires" \
        test "$(nv $1.a vmruns)" -gt 0 -a "$(nv $1.a exits_intr)" -gt 0 \
        -a "$(nv $1.a l2_loops)" -gt 0
    nested_checks $1.a "$1.running"
    fig $1.l2_tsc_offset_ms "$(ms "$(nv $1.a l2_tsc_offset)" $1.a)"
    [ "${NESTED_HV:-0}" != 1 ] || hv_running $1
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
    if [ "${NESTED_HV:-0}" = 1 ]; then
        check "$c: Hyper-V page valid and read after the resume" \
            mg_grew "$c.r1" "$c.r2" hv_reads
        hv_resumed "$c" "$c.r2" "$5" "$6" "$2"
    fi
    fig "$c.host_downtime_ms" "$5"
    mg_info "$3" "$4"
    fig "$c.precise_tsc" "$(sed -n 's/^path: \([^,]*\),.*master clock: \([^,]*\).*/path \1, master clock \2/p' "$tp_dir/$4.info")"
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

# ---- positive control: can these checks see a broken restore? ---------
# inject_restore CASE ACCEL PAUSE_MS: boot with kvm-fault.so preloaded,
# stop with the hypervisor vCPU in L2, save, restore in a new QEMU where
# "arm_CASE" writes the shim's fault file before the load, cont PAUSE_MS
# after the stop; dumps CASE.saved and CASE.r2. Fails the test (and
# returns 1) if a step of its own fails; leaves no QEMU behind.
inject_restore() {
    m=$1
    fault=$tp_dir/fault
    TP_ACCEL=$2
    TP_ENV="LD_PRELOAD=/lab/progs/kvm-fault.so KVM_FAULT_FILE=$fault"
    export TP_ACCEL
    rm -f "$fault"
    inject_fail() {
        not_ok "$m: $1"
        exec 3>&- 4>&-
        tp_stop_all
        TP_ENV=""
        return 1
    }
    mg_cycle_boot $m.src 3
    spid=$tp_pid
    check "$m: L2 started (within 15 s)" tp_wait 15 l2_started 3 $m.a
    mg_stop_until 3 $m.src $spid in_guest_mode
    tp_now
    t0=$tp_now_ms
    tp_hmp 3 "migrate \"file:$tp_dir/$m.state\""
    mg_wait_mig 3 $m.src 30 && [ "$mg_status" = completed ] ||
        { inject_fail "save to file ($mg_status)"; return 1; }
    tp_dump 3 $m.saved
    check "$m: saved with the hypervisor vCPU in L2" in_guest_mode $spid
    tp_hmp 3 quit
    exec 3>&-
    mg_cycle_boot $m.dst 4 "-S -incoming defer"
    mg_up 4 $m.dst 30 && tp_sync 4 $m.up 10 ||
        { inject_fail "destination monitor"; return 1; }
    "arm_$m"
    tp_hmp 4 "migrate_incoming \"file:$tp_dir/$m.state\""
    mg_wait_status 4 $m.dst paused 30 ||
        { inject_fail "state loaded"; return 1; }
    check "$m: the shim changed the restore ($(cat "$fault"))" \
        grep -q "^[a-z0-9_]* 0 " "$fault"
    wait_ms $t0 "$3"
    tp_hmp 4 cont
    mg_resumed 4 $m.r1 $m.saved
    sleep 1
    check "$m: table dumped after the restore" tp_dump 4 $m.r2
    tp_hmp 4 quit
    exec 4>&-
    tp_stop_all
    TP_ENV=""
}

# inject_report CASE: after the assertions, the tables if one failed.
inject_report() {
    [ $rc = 0 ] || for t in saved r1 r2; do
        grep -E "^nested_|^cpu[0-9]+\.(tsc_back|resume|timer_irqs|loops|last_tsc)" \
            "$tp_dir/$1.$t.kv" | sed "s/^/# $1.$t: /"
    done
}

# seed004: seed 004 itself. Stock's restore writes IA32_TSC per vCPU
# (KVM_SET_MSRS); kvm-fault.so adds the nested guest's TSC offset to the
# hypervisor vCPU's write: the value a VMM restored as L1's before KVM
# fixed host reads of IA32_TSC in guest mode (2020). The restore writes
# vCPU 0's TSC, then vCPU $NCPU's (the hypervisor's): the second write.
arm_seed004() {
    echo "l2_tsc_as_l1 $SMP $(nv seed004.saved l2_tsc_offset)" > "$fault"
}
seed004() {
    inject_restore seed004 kvm,precise-tsc=off 0 || return 1
    m=seed004
    # L2's TSC moves back by the offset too: a step back, or, if L2 had
    # run for less than its offset, a wrap through 0: a forward "jump"
    # near 2^64 (over 10^18 cycles, years: nothing else makes one;
    # busybox awk clamps integer literals to 2^63 - 1).
    check "$m: the checks saw it: L2's TSC went backwards (back $(ms "$(nv $m.r2 l2_back_max)" $m.r2) ms) or wrapped through 0 (jump $(nv $m.r2 l2_jump_max))" \
        awk "BEGIN { exit !($(nv $m.r2 l2_back_count) > 0 ||
                            $(nv $m.r2 l2_jump_max) >= 1e18) }"
    check "$m: the checks saw it: the hypervisor's L1 TSC went backwards" \
        test "$(nv $m.r2 l1_back_count)" -gt 0 -o \
        "$(tp_kv $m.r2 cpu$NCPU.tsc_back_count)" -gt 0
    fig $m.l1_back_max_ms "$(ms "$(nv $m.r2 l1_back_max)" $m.r2)"
    fig $m.warps "$(tp_sum $m.r2 warp_count)"
    inject_report $m
}

echo "# ======== nested guest (L1 hypervisor + L2) on $(uname -r) ========"
fig kernel "$(uname -r)"
for c in $(echo "${NESTED_CASES:-stock,precise,freeze,seed004}" | tr , " "); do
    case $c in
    stock) mg_cycle stock kvm,precise-tsc=off - - ;;
    precise) mg_cycle precise \
        kvm,precise-tsc=on,precise-tsc-advance-limit=60000 counts counts ;;
    # Freeze differs from advance only past its limit: the file restore.
    freeze) mg_cycle freeze \
        kvm,precise-tsc=on,precise-tsc-advance-limit=1000 frozen skip ;;
    seed004) seed004 ;;
    esac
done
echo "# ======== end of nested guest figures ========"
exit $rc

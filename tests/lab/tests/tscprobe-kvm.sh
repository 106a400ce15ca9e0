#!/bin/sh
# tscprobe (docs/tscprobe.md) under real KVM: the inner QEMU runs the probe
# guest with -accel kvm -cpu host on 2 vCPUs, which gives it kvmclock and
# the TSC-deadline timer (neither exists under TCG, so this is where those
# paths of the guest run at all). After a few seconds the results table is
# dumped twice through HMP and checked: every vCPU up and running, kvmclock
# enabled and read, the timer in TSC-deadline mode with interrupts on every
# vCPU, no backward TSC or kvmclock step, no cross-vCPU TSC warp, heartbeat
# advancing.
set -u
. /lab/tscprobe/lib.sh

SMP=2
RUN_S=${TSCPROBE_KVM_RUN_S:-3}
rc=0
check() {
    desc=$1
    shift
    if "$@" 2>/dev/null; then
        echo "ok - $desc"
    else
        echo "not ok - $desc"
        rc=1
    fi
}

tp_init /tmp/tscprobe-kvm
trap 'exec 3>&-; tp_stop_all' EXIT

# One boot in ~150 lab runs (CI, deb61, 2026-11-29) printed nothing on
# COM1 in 30 s, with QEMU alive; 30 boots in a row in one lab boot did
# not repeat it. The firmware (SeaBIOS) and the probe's start-up precede
# any TSC work, so a silent boot is retried once, loudly, with where the
# vCPUs were; a second silent boot fails the test.
booted() { grep -q "tscprobe: cpus found" "$tp_dir/a.serial"; }
boot() {
    rm -f "$tp_dir"/a.*
    tp_start a 3 -M pc -cpu host -smp $SMP
    tp_wait 30 booted && return 0
    echo "# boot attempt $1: no start-up banner in 30 s"
    tp_hmp 3 "info cpus"
    tp_hmp 3 "info registers -a"
    tp_sync 3 regs 10
    tr -d '\r' < "$tp_dir/a.hmp" | grep -E 'CPU|RIP|RAX|CR0|HLT|EFL' |
        tail -n 20 | sed 's/^/# qemu: /'
    sed 's/^/# serial: /' "$tp_dir/a.serial" 2>/dev/null | tail -n 20
    tp_hmp 3 quit
    exec 3>&-
    tp_stop_all
    return 1
}
if boot 1; then
    echo "ok - tscprobe booted under KVM"
elif boot 2; then
    echo "ok - tscprobe booted under KVM (second boot: the first was silent)"
else
    echo "not ok - tscprobe booted under KVM (no start-up banner in 30 s, twice)"
    exit 1
fi
sleep "$RUN_S"
check "results table dumped (1)" tp_dump 3 a1
check "tscprobe-dump --check accepts the table" "$TP_DUMP" --check \
    "$tp_dir/a1.bin"
sleep 1
check "results table dumped (2)" tp_dump 3 a2
tp_hmp 3 quit
grep '^tscprobe:' "$tp_dir/a.serial" | tr -d '\r' | sed 's/^/# /'

k() { tp_kv a2 "$1"; }
# all_cpus KEY OP VALUE: test KEY of every vCPU record in dump a2.
all_cpus() {
    i=0
    while [ $i -lt $SMP ]; do
        v=$(tp_kv a2 "cpu$i.$1")
        [ "$v" "$2" "$3" ] || { echo "# cpu$i.$1=$v" >&2; return 1; }
        i=$((i + 1))
    done
}
# advanced KEY: KEY of every vCPU grew from a1 to a2.
advanced() {
    i=0
    while [ $i -lt $SMP ]; do
        [ "$(tp_kv a2 "cpu$i.$1")" -gt "$(tp_kv a1 "cpu$i.$1")" ] || return 1
        i=$((i + 1))
    done
}

khz=$(k tsc_khz)
echo "# tsc_khz=$khz source=$(k tsc_khz_source) features=$(k features)"
check "all $SMP vCPUs found and up ($(k cpus_found) found, $(k cpus_up) up)" \
    test "$(k cpus_found)" = $SMP -a "$(k cpus_up)" = $SMP
check "every vCPU record is running" all_cpus state = running
# QEMU offers KVM's frequency leaf (0x40000010) only with invtsc, which
# the lab's emulated CPU lacks: the probe takes the frequency from the
# kvmclock scale then, the one KVM itself uses.
check "TSC frequency from kvmclock's scale ($khz kHz, $(k tsc_khz_source))" \
    test "$(k tsc_khz_source)" = kvmclock -o \
    "$(k tsc_khz_source)" = kvm-cpuid
echo "# boot_tsc=$(k boot_tsc) ($(awk -v t="$(k boot_tsc)" -v k="$khz" \
    'BEGIN { printf "%.3f", t / k / 1000 }') s of guest TSC at probe start)"
check "kvmclock enabled on every vCPU" all_cpus kvmclock = enabled
check "kvmclock read on every vCPU (heartbeat ns > 0)" \
    all_cpus last_kvmclock_ns -gt 0
check "kvmclock advances on every vCPU" advanced last_kvmclock_ns
check "timer in TSC-deadline mode on every vCPU" \
    all_cpus timer_mode = tsc-deadline
check "timer interrupts on every vCPU ($(tp_sum a2 timer_irqs) total)" \
    all_cpus timer_irqs -gt 0
check "timer interrupts keep coming" advanced timer_irqs
# KVM delivers a TSC-deadline interrupt once the guest TSC reached the
# deadline. Under the lab's single-threaded TCG (tests/lab/run) about 1
# in 1000-7000 arrives early, with KVM's timer advance on or off (measured
# 2026-11-22: 1-7 per ~7000); with multi-threaded TCG none was seen. A lab
# artefact, bounded here: more than 1 in 250 would be something else.
early=$(tp_sum a2 timer_early_count)
irqs=$(tp_sum a2 timer_irqs)
echo "# timer_early_count=$early"
check "early timer interrupts rare ($early of $irqs, bound 1 in 250)" \
    test $((early * 250)) -le "$irqs"
check "heartbeat advances on every vCPU" advanced last_tsc
check "no backward TSC step ($(tp_sum a2 tsc_back_count))" \
    test "$(tp_sum a2 tsc_back_count)" = 0
check "no backward kvmclock step ($(tp_sum a2 kvmclock_back_count))" \
    test "$(tp_sum a2 kvmclock_back_count)" = 0
check "no cross-vCPU TSC warp ($(tp_sum a2 warp_count))" \
    test "$(tp_sum a2 warp_count)" = 0

# Figures: lateness in us, the largest gaps the vCPUs saw.
us() { awk -v t="$1" -v k="$khz" 'BEGIN { printf "%.0f", t * 1000 / k }'; }
echo "# timer: irqs=$(tp_sum a2 timer_irqs)" \
    "late_max_us=$(us "$(tp_max a2 timer_late_max)")" \
    "late_last_us(cpu0)=$(us "$(k cpu0.timer_late_last)")"
echo "# tsc_jumps=$(tp_sum a2 tsc_jump_count)" \
    "tsc_jump_max_us=$(us "$(tp_max a2 tsc_jump_max)")" \
    "kvmclock_jumps=$(tp_sum a2 kvmclock_jump_count)" \
    "kvmclock_jump_max_us=$(($(tp_max a2 kvmclock_jump_max_ns) / 1000))" \
    "kvmclock_flags=$(k cpu0.kvmclock_flags)"
echo "# warp_max=$(tp_max a2 warp_max) tsc_back_max=$(tp_max a2 tsc_back_max)" \
    "kvmclock_back_max_ns=$(tp_max a2 kvmclock_back_max_ns)"
if [ $rc != 0 ]; then
    sed 's/^/# a2: /' "$tp_dir/a2.kv"
fi
exit $rc

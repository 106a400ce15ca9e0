#!/bin/bash
# tscprobe under TCG: boot the probe guest on 4 vCPUs, read its results
# table through HMP pmemsave, then stop it, migrate it to a file, restore
# it in a new QEMU and check that it keeps measuring.  Prints TAP; exits
# non-zero on any failure.  Run from the repository root after
# "meson setup build/unit . && ninja -C build/unit".
#
#   QEMU=...            qemu-system-x86_64 (default build/qemu/...)
#   TSCPROBE_BUILD=...  meson build dir (default build/unit)
set -u

QEMU=${QEMU:-${QEMU_BUILD:-build/qemu}/qemu-system-x86_64}
bdir=${TSCPROBE_BUILD:-build/unit}/tests/guests/tscprobe
elf=$bdir/tscprobe.elf
dump_tool=$bdir/tscprobe-dump
SMP=4
TABLE_ADDR=0x100000
TABLE_SIZE=25344            # TSCPROBE_RESULTS_SIZE
STEP_TIMEOUT=20             # seconds for any single wait

failures=0
ok() { echo "ok - $*"; }
not_ok() { echo "not ok - $*"; failures=$((failures + 1)); }
check() {
    # check DESCRIPTION COMMAND...
    local desc=$1
    shift
    # stderr: only parse noise from missing dumps once something failed.
    if "$@" 2>/dev/null; then ok "$desc"; else not_ok "$desc"; fi
}

for f in "$QEMU" "$elf" "$dump_tool"; do
    if [ ! -x "$f" ]; then
        echo "not ok - $f missing (build QEMU / the tscprobe meson build)"
        exit 1
    fi
done

# A QEMU that died must fail the checks, not kill us through SIGPIPE.
trap '' PIPE

tmp=$(mktemp -d /tmp/tscprobe-test.XXXXXX)
pids=()
cleanup() {
    exec 3>&- 4>&- 5>&- 2>/dev/null
    for p in "${pids[@]}"; do
        kill "$p" 2>/dev/null
    done
    wait 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT

# start_qemu NAME FD [ARGS...]: QEMU with its HMP monitor on a FIFO that
# this shell keeps open as file descriptor FD.
start_qemu() {
    local name=$1 fd=$2
    shift 2
    mkfifo "$tmp/$name.mon"
    timeout 60 "$QEMU" -accel tcg -M pc -smp $SMP -m 256 \
        -kernel "$elf" -display none -nodefaults \
        -serial "file:$tmp/$name.serial" -monitor stdio "$@" \
        < "$tmp/$name.mon" > "$tmp/$name.hmp" 2>&1 &
    pids+=($!)
    qemu_pid=$!
    eval "exec $fd>\"$tmp/$name.mon\""
}

hmp() {
    # hmp FD COMMAND
    echo "$2" >&"$1" 2>/dev/null
}

wait_for() {
    # wait_for COMMAND...: poll until COMMAND succeeds, the current QEMU
    # exits or STEP_TIMEOUT passes.
    local i
    for ((i = 0; i < STEP_TIMEOUT * 10; i++)); do
        if "$@"; then
            return 0
        fi
        if ! kill -0 "$qemu_pid" 2>/dev/null; then
            echo "# QEMU exited"
            return 1
        fi
        sleep 0.1
    done
    return 1
}

# dump FD NAME: pmemsave the table to $tmp/NAME.bin.  HMP runs commands in
# order, so the marker file appearing means the dump before it is done.
# File names are quoted: unquoted, HMP would parse "/" as a division.
dump() {
    hmp "$1" "pmemsave $TABLE_ADDR $TABLE_SIZE \"$tmp/$2.bin\""
    hmp "$1" "pmemsave $TABLE_ADDR 1 \"$tmp/$2.done\""
    wait_for test -e "$tmp/$2.done" &&
        "$dump_tool" --kv "$tmp/$2.bin" > "$tmp/$2.kv"
}

# kv NAME KEY: one value from a decoded dump.
kv() {
    sed -n "s/^$2=//p" "$tmp/$1.kv" 2>/dev/null
}

# sum NAME FIELD: FIELD added up over all vCPUs.
sum() {
    awk -F= -v f="$2" \
        '$1 ~ "^cpu[0-9]+\\." f "$" { s += $2 } END { print s + 0 }' \
        "$tmp/$1.kv" 2>/dev/null
}

all_cpus() {
    # all_cpus DESCRIPTION TEST: TEST is called with the cpu index.
    local i
    for ((i = 0; i < SMP; i++)); do
        if ! "$2" "$i"; then
            echo "# cpu$i failed: $1"
            return 1
        fi
    done
}

serial_has() {
    grep -q "$2" "$tmp/$1.serial" 2>/dev/null
}

vm_status_is() {
    # vm_status_is FD NAME STATUS
    hmp "$1" "info status"
    sleep 0.2
    grep -q "VM status: $3" "$tmp/$2.hmp"
}

cpu_running() { [ "$(kv a1 "cpu$1.state")" = running ]; }
cpu_has_irqs() { [ "$(kv a2 "cpu$1.timer_irqs")" -gt 0 ]; }
# advanced BEFORE AFTER CPU: heartbeat TSC and loop count both grew.
advanced() {
    [ "$(kv "$2" "cpu$3.last_tsc")" -gt "$(kv "$1" "cpu$3.last_tsc")" ] &&
        [ "$(kv "$2" "cpu$3.loops")" -gt "$(kv "$1" "cpu$3.loops")" ]
}
advanced_a() { advanced a1 a2 "$1"; }
advanced_restore() { advanced a3 b1 "$1"; }
advanced_b() { advanced b1 b2 "$1"; }
irqs_after_restore() {
    [ "$(kv b2 "cpu$1.timer_irqs")" -gt "$(kv a3 "cpu$1.timer_irqs")" ]
}

echo "# QEMU: $QEMU"
start=$(date +%s)

# --- phase A: boot and measure -------------------------------------------
start_qemu a 3
check "guest prints its periodic summary" \
    wait_for serial_has a "tscprobe: #2 "
sleep 1
check "results table dumped (1)" dump 3 a1
check "tscprobe-dump --check accepts the table" \
    "$dump_tool" --check "$tmp/a1.bin"
check "all $SMP vCPUs found and up" \
    test "$(kv a1 cpus_found)" = $SMP -a "$(kv a1 cpus_up)" = $SMP
check "every vCPU record is running" all_cpus running cpu_running
check "TSC frequency known ($(kv a1 tsc_khz) kHz, $(kv a1 tsc_khz_source))" \
    test "$(kv a1 tsc_khz)" -gt 0
echo "# timer mode: $(kv a1 cpu0.timer_mode), kvmclock: $(kv a1 cpu0.kvmclock)"
sleep 2
check "results table dumped (2)" dump 3 a2
check "timer interrupts on every vCPU ($(sum a2 timer_irqs) total)" \
    all_cpus irqs cpu_has_irqs
check "no backward TSC steps" test "$(sum a2 tsc_back_count)" = 0
check "heartbeat advances on every vCPU" all_cpus heartbeat advanced_a
echo "# warps=$(sum a2 warp_count) tsc_jumps=$(sum a2 tsc_jump_count)" \
     "early_irqs=$(sum a2 timer_early_count)"

# --- stop, migrate to a file, quit ---------------------------------------
hmp 3 stop
check "stopped table dumped" dump 3 a3
hmp 3 "migrate file:$tmp/state"
hmp 3 "pmemsave $TABLE_ADDR 1 \"$tmp/migrated.done\""
check "migration to file completed" wait_for test -e "$tmp/migrated.done"
grep -q -i error "$tmp/a.hmp" && sed 's/^/# hmp: /' "$tmp/a.hmp" | tail -5
hmp 3 quit
exec 3>&-

# --- phase B: restore in a new QEMU and keep measuring -------------------
start_qemu b 4 -incoming "file:$tmp/state"
check "restore completed (VM paused)" wait_for vm_status_is 4 b paused
hmp 4 cont
sleep 2
check "restored table dumped (1)" dump 4 b1
check "tscprobe-dump --check accepts the restored table" \
    "$dump_tool" --check "$tmp/b1.bin"
check "heartbeat moved on after restore on every vCPU" \
    all_cpus heartbeat advanced_restore
sleep 1
check "restored table dumped (2)" dump 4 b2
check "heartbeat keeps advancing after restore on every vCPU" \
    all_cpus heartbeat advanced_b
check "timer interrupts continue after restore" \
    all_cpus irqs irqs_after_restore
check "no backward TSC steps after restore" \
    test "$(sum b2 tsc_back_count)" = 0
echo "# after restore: warps=$(sum b2 warp_count)" \
     "tsc_jumps=$(sum b2 tsc_jump_count)" \
     "late_after_jump_max=$(kv b2 cpu0.timer_late_after_jump_max)"
hmp 4 quit
exec 4>&-

# The nested probe under TCG's own SVM: the last vCPU runs L2 after 3 s
# of its TSC (docs/tscprobe.md); without "nested" the block says off.
check "without -append nested the nested probe is off" \
    test "$(kv b2 nested_state)" = off
l2_running() { dump 5 "$1" && [ "$(kv "$1" nested_vmruns)" -gt 50 ]; }
nested_clean() {
    [ "$(kv "$1" nested_state)" = running ] &&
        [ "$(kv "$1" nested_exits_other)" = 0 ] &&
        [ "$(kv "$1" nested_l2_back_count)" = 0 ] &&
        [ "$(kv "$1" nested_ahead_count)" = 0 ] &&
        [ "$(kv "$1" nested_l2_behind_count)" = 0 ] &&
        [ "$(kv "$1" nested_l1_back_count)" = 0 ]
}
start_qemu n 5 -cpu qemu64,+svm -append nested
check "nested probe: L1 runs L2 (50 VMRUNs within ${STEP_TIMEOUT} s)" \
    wait_for l2_running n1
sleep 1
check "nested probe: table dumped again" dump 5 n2
check "nested probe: L2 and L1 keep going" \
    test "$(kv n2 nested_l2_loops)" -gt "$(kv n1 nested_l2_loops)" \
    -a "$(kv n2 nested_vmruns)" -gt "$(kv n1 nested_vmruns)"
check "nested probe: no unexpected exit, no TSC step back, offset kept" \
    nested_clean n2
echo "# nested: cpu=$(kv n2 nested_cpu) vmruns=$(kv n2 nested_vmruns)" \
     "intr_exits=$(kv n2 nested_exits_intr) l2_loops=$(kv n2 nested_l2_loops)" \
     "exit_code=$(kv n2 nested_exit_code)"
hmp 5 quit
exec 5>&-

echo "# runtime $(($(date +%s) - start)) s"
if [ "$failures" != 0 ]; then
    echo "# serial log of the restored guest:"
    tail -n 5 "$tmp/b.serial" 2>/dev/null | sed 's/^/# /'
    exit 1
fi
exit 0

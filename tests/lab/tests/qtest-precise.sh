#!/bin/sh
# tests/qtest/precise-tsc-test (QEMU's qtest framework, libqtest + gtest)
# under the lab's real KVM: the same scenarios as precise-restore (with
# the stock baseline beside it), precise-live4 and precise-policy's
# stop/cont freeze and advance, driven through QMP and checked against
# KVM's debugfs offsets.
# Each case runs as its own process (-p), so a crash in one does not hide
# the others; its gtest TAP becomes the lab's: "ok - CASE", "not ok -
# CASE", figures as "# key=value" (g_test_message), skips as "# SKIP".
set -u

T=/lab/qtest/precise-tsc-test
CASES=${QTEST_PRECISE_CASES:-"restore-young restore-young-stock live-4vcpu policy-freeze policy-advance"}
export QTEST_QEMU_BINARY=/lab/qtest/qemu-system-x86_64
export TSCPROBE_ELF=/lab/tscprobe/tscprobe.elf
# qboot: a young guest (< 1 s at the save) is likely only with it.
fw=/lab/qemu/share/qemu/qboot.rom
[ -f "$fw" ] && export PRECISE_TSC_BIOS=$fw
# The fork's KVM (KVM_CAP_PRECISE_TSC) takes the kernel's path.
case "${LAB_HOST:-}" in
deb612-ours) export PRECISE_TSC_PATH=tsc-state ;;
esac

. /lab/tscprobe/lib.sh
# A case that hangs (seen once in a live migration) is killed after this
# long, with every QEMU's threads and wait channels, so the other cases
# still run and the log says where it stuck.
CASE_TIMEOUT=${QTEST_PRECISE_CASE_TIMEOUT:-100}

# run_case PATH: the case's TAP into $out/$c.tap; its exit status in st.
run_case() {
    "$T" --tap -p "$1" > "$out/$c.tap" 2> "$out/$c.err" &
    _pid=$!
    _n=0
    while tp_alive "$_pid" && [ $_n -lt $((CASE_TIMEOUT * 10)) ]; do
        sleep 0.1
        _n=$((_n + 1))
    done
    if tp_alive "$_pid"; then
        echo "not ok - $1: still running after $CASE_TIMEOUT s (hung)"
        for _q in /proc/[0-9]*; do
            read -r _comm < "$_q/comm" 2>/dev/null || continue
            case "$_comm" in
            qemu-system*)
                echo "# hung: QEMU ${_q#/proc/}: $(tr '\0' ' ' < "$_q/cmdline" | cut -c1-160)"
                tp_hung "${_q#/proc/}"
                kill -KILL "${_q#/proc/}" 2>/dev/null ;;
            esac
        done
        kill -KILL "$_pid" 2>/dev/null
    fi
    wait "$_pid"
    st=$?
}

rc=0
[ -x "$T" ] || { echo "not ok - qtest-precise: no $T in the payload"; exit 1; }
out=/tmp/qtest-precise
mkdir -p "$out"
for c in $CASES; do
    p=/x86_64/precise-tsc/$c
    run_case "$p"
    # gtest TAP -> lab TAP; anything else becomes a comment.
    awk '
        /^ok [0-9]+ /     { sub(/^ok [0-9]+ /, ""); print "ok - " $0; next }
        /^not ok [0-9]+ / { sub(/^not ok [0-9]+ /, "");
                            print "not ok - " $0; next }
        /^Bail out!/      { print "not ok - " $0; next }
        /^1\.\.[0-9]+$/   { next }
        /^#/              { print; next }
        { print "# " $0 }' "$out/$c.tap"
    results=$(grep -c -E '^(not )?ok ' "$out/$c.tap")
    if [ "$st" != 0 ] || grep -q -E '^(not ok|Bail out)' "$out/$c.tap"; then
        rc=1
        grep -q -E '^(not ok|Bail out)' "$out/$c.tap" ||
            echo "not ok - $p: exited with status $st"
        tail -n 30 "$out/$c.err" | sed 's/^/# stderr: /'
    elif [ "$results" = 0 ]; then
        rc=1
        echo "not ok - $p: reported no result"
    fi
done
exit $rc

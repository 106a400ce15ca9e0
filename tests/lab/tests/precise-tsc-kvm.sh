#!/bin/sh
# The fork's KVM precise TSC UAPI (kernel/kvm, docs/kernel.md), exercised
# by progs/precise-tsc-kvm (kernel/kvm/tests/precise_tsc_test.c), which
# prints TAP itself: KVM_GET/SET_TSC_STATE round trip, shared offsets keep
# the master clock, elapsed applied, bound refused, bad input rejected
# with nothing applied, KVM_CLOCK_TAI and KVM_SET_CLOCK_TAI.
# Only host deb612-ours loads the fork's modules; elsewhere the program
# must find the capability absent, which is checked instead.
set -u
prog=/lab/progs/precise-tsc-kvm
echo "# kernel $(uname -r) on ${LAB_HOST:-?}; clocksource" \
    "$(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)"
if [ ! -x "$prog" ]; then
    echo "not ok - precise-tsc-kvm: $prog not in the payload"
    exit 1
fi
out=$("$prog" 2>&1)
st=$?
case "${LAB_HOST:-}" in
deb612-ours)
    echo "$out" | grep -v '^1\.\.'
    if [ $st -ne 0 ] && ! echo "$out" | grep -q '^not ok'; then
        echo "not ok - precise-tsc-kvm exited with status $st"
    fi
    [ $st -eq 0 ]
    ;;
*)
    echo "$out" | sed 's/^/# /'
    if echo "$out" | grep -q '^not ok - KVM_CAP_PRECISE_TSC reports both features (0)'; then
        echo "ok - stock KVM on $LAB_HOST does not claim KVM_CAP_PRECISE_TSC"
    else
        echo "not ok - stock KVM on $LAB_HOST: unexpected answer to KVM_CAP_PRECISE_TSC"
        exit 1
    fi
    ;;
esac

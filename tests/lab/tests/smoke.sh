#!/bin/sh
# Smoke test of the inner host: KVM is there, on AMD with nested paging,
# and the kernel keeps time with the TSC (what the TSC tests rely on).

check() {
    desc=$1
    shift
    if "$@"; then echo "ok - $desc"; else echo "not ok - $desc"; fi
}

echo "# kernel $(uname -r) on $LAB_HOST"
echo "# cpu: $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -n 1)"

check "/dev/kvm exists" test -c /dev/kvm
check "kvm_amd is loaded" grep -q '^kvm_amd ' /proc/modules
npt=$(cat /sys/module/kvm_amd/parameters/npt 2>/dev/null)
check "kvm_amd uses nested paging (npt=$npt)" \
    sh -c "[ '$npt' = Y ] || [ '$npt' = 1 ]"
check "dmesg says Nested Paging enabled" \
    sh -c 'dmesg | grep -q "Nested Paging enabled"'
# Module taint shows replacement modules (deb612-ours): O out of tree, E
# unsigned.
echo "# module taint: kvm '$(cat /sys/module/kvm/taint 2>/dev/null)'," \
    "kvm_amd '$(cat /sys/module/kvm_amd/taint 2>/dev/null)';" \
    "kernel taint $(cat /proc/sys/kernel/tainted)"
cs=$(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)
check "clocksource is tsc (is $cs)" test "$cs" = tsc

# The kernel must be of the series the host name stands for.
case "$LAB_HOST" in
deb61) series=6.1. ;;
deb612*) series=6.12. ;;
deb510) series=5.10. ;;
deb73) series=7.3. ;;
*) series="" ;;
esac
case "$(uname -r)" in
"$series"*) echo "ok - kernel $(uname -r) is of series ${series:-any}" ;;
*) echo "not ok - kernel $(uname -r) is not of series $series" ;;
esac

#!/bin/sh
# The identifiers the fork allocates (docs/specs/fork-identifiers.rst) must
# not be QEMU 10.0's: each name or number is looked for in the pristine
# QEMU source the build uses, and must be absent there, while the fork's
# own files must define it (so a renamed identifier fails here instead of
# passing by absence).
set -u
. tests/lib.sh

src=$(qemu_src)
if [ -z "$src" ] || [ ! -d "$src/hw" ]; then
    tap_fail "the pristine QEMU tree (config.mak QEMU_SRC; run ./configure)"
    exit 1
fi

# absent_upstream DESC FIXED-STRING OURS-FILE: the string is in OURS-FILE
# and nowhere in QEMU's hw/, include/, migration/, qapi/, target/.
absent_upstream() {
    if ! grep -qF -- "$2" "$3"; then
        tap_fail "$1: '$2' not found in $3 (identifier renamed? update the test and docs/specs/fork-identifiers.rst)"
        return
    fi
    hits=$(grep -rlF -- "$2" "$src/hw" "$src/include" "$src/migration" \
        "$src/qapi" "$src/target" 2>/dev/null | head -n 3)
    if [ -n "$hits" ]; then
        tap_fail "$1: '$2' is also QEMU 10.0's: $(echo $hits)"
    else
        tap_ok "$1: '$2' is the fork's alone"
    fi
}

abi=include/hw/misc/qemu-nap-abi.h
absent_upstream "nap ACPI HID" '"QEMU0100"' $abi
absent_upstream "nap register block address" 0xfeffa000 include/hw/misc/nap.h
absent_upstream "nap GPE status name" ACPI_NAP_REQUEST_STATUS \
    patches/qemu/0007-hw-acpi-add-the-nap-GPE-status-bit.patch
absent_upstream "nap device type" '"nap"' include/hw/misc/nap.h
for name in x-query-nap x-nap-request x-nap-wake NAP_REQUESTED NAP_SETTLED \
    NAP_UNSETTLED NAP_WAKE; do
    absent_upstream "QMP name" "'$name'" qapi/nap.json
done
for name in x-query-precise-tsc PRECISE_TSC_RESTORED; do
    absent_upstream "QMP name" "'$name'" qapi/precise-tsc-target.json
done
absent_upstream "stream subsection" '"cpu/precise-tsc"' \
    target/i386/kvm/precise-tsc-stream.c
absent_upstream "machine type suffix" '"-precise"' \
    include/hw/i386/precise-machine.h
absent_upstream "accelerator property" '"precise-tsc-advance-limit"' \
    target/i386/kvm/precise-tsc-props.c
absent_upstream "ICH9 LPC property" '"x-keep-pm-block-on-wakeup"' \
    patches/qemu/0017-hw-isa-lpc_ich9-keep-the-PM-block-across-S3-resume-on-request.patch

# GPE bit: the fork's value is one bit, and none of QEMU's status bits.
acpi_if=$src/include/hw/acpi/acpi_dev_interface.h
used=0
for v in $(sed -n 's/^ *ACPI_[A-Z_]*_STATUS = \([0-9]*\),.*/\1/p' "$acpi_if"); do
    used=$((used | v))
done
ours=$(sed -n 's/^+ *ACPI_NAP_REQUEST_STATUS = \([0-9]*\),.*/\1/p' \
    patches/qemu/0007-hw-acpi-add-the-nap-GPE-status-bit.patch)
gpe=$(sed -n 's/^#define NAP_ACPI_GPE *\([0-9]*\).*/\1/p' $abi)
tap_check "GPE bit $gpe: ACPI_NAP_REQUEST_STATUS ($ours) is 1 << $gpe and none of QEMU's ($used)" \
    test "$used" -gt 0 -a "${ours:-0}" = $((1 << ${gpe:-0})) -a \
    $((used & ${ours:-0})) = 0

# KVM numbers (the fork's kernel series) against Linux's UAPI in QEMU's tree.
kvm_h=$src/linux-headers/linux/kvm.h
cap=$(sed -n 's/^#define KVM_CAP_PRECISE_TSC[^0-9]*\(0x[0-9a-f]*\).*/\1/p' \
    kernel/kvm/include/uapi/linux/kvm_precise_tsc.h)
maxcap=$(sed -n 's/^#define KVM_CAP_[A-Z0-9_]* *\([0-9][0-9]*\)$/\1/p' "$kvm_h" |
    sort -n | tail -n 1)
tap_check "KVM_CAP_PRECISE_TSC ($cap) above every upstream capability ($maxcap)" \
    test "$(printf '%d' "$cap")" -gt "$maxcap"
for nr in 0xf0 0xf1 0xf2; do
    grep -q "^#define KVM_.*KVMIO, *$nr" kernel/kvm/include/uapi/linux/kvm_precise_tsc.h ||
        { tap_fail "KVMIO $nr: not the fork's any more (update the test)"; continue; }
    tap_check "KVMIO $nr unused by upstream's kvm.h" \
        sh -c "! grep -q 'KVMIO, *$nr' '$kvm_h'"
done

# include/standard-headers holds headers imported from Linux
# (scripts/update-linux-headers.sh): the fork defines none there.
tap_check "the fork adds nothing under include/standard-headers" \
    sh -c "! find include/standard-headers -type f 2>/dev/null | grep -q ."

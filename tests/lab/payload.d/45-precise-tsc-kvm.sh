#!/bin/sh
# Put the test of the fork's KVM precise TSC UAPI into the lab payload:
#   $PAYLOAD/progs/precise-tsc-kvm   from kernel/kvm/tests/precise_tsc_test.c
# Static (the inner host has no libc); the UAPI header is the one
# canonical copy, kernel/kvm/include/uapi/linux/kvm_precise_tsc.h.
set -eu

: "${PAYLOAD:?}" "${REPO:?}"
CC=${CC:-gcc}
mkdir -p "$PAYLOAD/progs"
$CC -static -O2 -Wall -Wextra -Werror -I "$REPO/kernel/kvm/include/uapi" \
    -o "$PAYLOAD/progs/precise-tsc-kvm" \
    "$REPO/kernel/kvm/tests/precise_tsc_test.c" || {
    echo "45-precise-tsc-kvm.sh: building precise-tsc-kvm failed" >&2
    exit 1
}

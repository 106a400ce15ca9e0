#!/bin/sh
# Put the KVM ioctl fault injector into the lab payload:
#   $PAYLOAD/progs/kvm-fault.so   from tests/lab/progs/kvm-fault.c
# (LD_PRELOAD into the fork's QEMU; used by tests/lab/tests/
# precise-faults.sh). A shared object against this machine's libc, which
# the payload carries for QEMU (10-qemu.sh).
set -eu

: "${PAYLOAD:?}" "${REPO:?}"
CC=${CC:-gcc}
mkdir -p "$PAYLOAD/progs"
$CC -shared -fPIC -O2 -Wall -Wextra -I "$REPO/kernel/kvm/include/uapi" \
    -o "$PAYLOAD/progs/kvm-fault.so" "$REPO/tests/lab/progs/kvm-fault.c" \
    -ldl || {
    echo "36-kvm-fault.sh: building kvm-fault.so failed" >&2
    exit 1
}

#!/bin/sh
# Put the seed 000 reproducer into the lab payload:
#   $PAYLOAD/progs/seed000-kvm   from tests/lab/progs/seed000-kvm.c
# Linked statically: the inner host carries no libc for it.
set -eu

: "${PAYLOAD:?}" "${REPO:?}"
CC=${CC:-gcc}
mkdir -p "$PAYLOAD/progs"
$CC -static -O2 -Wall -Wextra -o "$PAYLOAD/progs/seed000-kvm" \
    "$REPO/tests/lab/progs/seed000-kvm.c" || {
    echo "30-seed000.sh: building seed000-kvm failed (libc6-dev gives the" \
        "static libc)" >&2
    exit 1
}

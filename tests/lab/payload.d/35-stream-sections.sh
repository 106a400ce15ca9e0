#!/bin/sh
# Put the migration stream lister into the lab payload:
#   $PAYLOAD/progs/qemu-stream-sections   from
#                                         tests/lab/progs/qemu-stream-sections.c
# (lists the sections of a stream saved with migrate "file:..."; used by
# tests/lab/tests/compat-stock.sh). Linked statically, like seed000-kvm.
set -eu

: "${PAYLOAD:?}" "${REPO:?}"
CC=${CC:-gcc}
mkdir -p "$PAYLOAD/progs"
$CC -static -O2 -Wall -Wextra -o "$PAYLOAD/progs/qemu-stream-sections" \
    "$REPO/tests/lab/progs/qemu-stream-sections.c" || {
    echo "35-stream-sections.sh: building qemu-stream-sections failed" \
        "(libc6-dev gives the static libc)" >&2
    exit 1
}

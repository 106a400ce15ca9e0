#!/bin/sh
# Put the migration stream editor into the lab payload:
#   $PAYLOAD/progs/stream-edit   from tests/lab/progs/stream-edit.c
# (reads and corrupts the fork's "precise-tsc" section in a saved stream;
# used by tests/lab/tests/precise-bad-stream.sh). Linked statically: the
# inner host carries no libc for it.
set -eu

: "${PAYLOAD:?}" "${REPO:?}"
CC=${CC:-gcc}
mkdir -p "$PAYLOAD/progs"
$CC -static -O2 -Wall -Wextra -o "$PAYLOAD/progs/stream-edit" \
    "$REPO/tests/lab/progs/stream-edit.c" || {
    echo "35-stream-edit.sh: building stream-edit failed (libc6-dev gives" \
        "the static libc)" >&2
    exit 1
}

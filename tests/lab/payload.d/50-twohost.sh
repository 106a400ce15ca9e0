#!/bin/sh
# The two-host lab's tools (tests/lab/run2, docs/lab.md "Two hosts"):
#   $PAYLOAD/bin/labclock          tests/lab/progs/labclock.c (static)
#   $PAYLOAD/tscprobe/twohost.sh   tests/lab/lib/twohost.sh
set -eu

: "${PAYLOAD:?}" "${REPO:?}"
CC=${CC:-gcc}
mkdir -p "$PAYLOAD/bin" "$PAYLOAD/tscprobe"
$CC -static -O2 -Wall -Wextra -o "$PAYLOAD/bin/labclock" \
    "$REPO/tests/lab/progs/labclock.c" || {
    echo "50-twohost.sh: building labclock failed" >&2
    exit 1
}
cp "$REPO/tests/lab/lib/twohost.sh" "$PAYLOAD/tscprobe/twohost.sh"

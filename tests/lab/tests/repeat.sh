#!/bin/sh
# Run one lab test REPEAT_N times in a row in one boot (a flakiness
# check, not in any suite): REPEAT_TEST (default precise-bad-stream) and
# REPEAT_N (default 20) come through the kernel command line, e.g.
#   LAB_TIMEOUT=1200 LAB_APPEND="REPEAT_TEST=precise-faults REPEAT_N=10" \
#       tests/lab/run deb612 repeat
# Each result line gets "runN: " after its "ok - " / "not ok - ".
n=0
while [ $n -lt "${REPEAT_N:-20}" ]; do
    n=$((n + 1))
    sh "/lab/tests/${REPEAT_TEST:-precise-bad-stream}.sh" |
        sed "s/^\(not ok\|ok\) - /\1 - run$n: /"
done

#!/bin/sh
# The fork's qtests (nap-test, precise-tsc-test) once more, against the
# fork built with clang, ASan and UBSan (make qemu-asan, build/qemu-asan):
# any sanitizer report makes QEMU or the test exit non-zero and the test
# fail. docs/fuzz.md says what runs where.
set -u
cd "$(dirname "$0")/.."
. tests/lib.sh
abuild=${QEMU_ASAN_BUILD:-build/qemu-asan}
if [ ! -x "$abuild/qemu-system-x86_64" ]; then
    tap_fail "$abuild/qemu-system-x86_64 is missing (run make qemu-asan)"
    exit 1
fi
# halt_on_error: the first report ends the process, so nothing is missed
# in a log nobody reads. Leaks are checked too (LSan, ASan's default),
# with full stacks (glib has no frame pointers) so that the suppressions
# of QEMU 10.0's own leaks (tests/lsan-qemu-10.0.supp) match by function.
export ASAN_OPTIONS="halt_on_error=1:exitcode=86:fast_unwind_on_malloc=0${ASAN_EXTRA:+:$ASAN_EXTRA}"
export LSAN_OPTIONS="suppressions=$PWD/tests/lsan-qemu-10.0.supp:print_suppressions=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:exitcode=87"
rc=0
for t in nap-qtest precise-qtest; do
    echo "# --- $t under ASan+UBSan"
    # A leak in the test program is reported when it exits, after its
    # last TAP line: its exit status says so.
    QEMU_BUILD=$abuild QTEST_TIMEOUT=900 tests/$t.sh
    st=$?
    tap_check "$t under ASan+UBSan: exit status $st, no sanitizer report" \
        [ "$st" = 0 ]
    [ "$st" = 0 ] || rc=1
done
exit $rc

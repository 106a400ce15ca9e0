#!/bin/sh
# A fast subset of QEMU's own migration qtests, run under TCG against the
# fork's qemu-system-x86_64: proof that the fork keeps upstream behaviour.
set -u
qbuild=${QEMU_BUILD:-build/qemu}
test_bin="$qbuild/tests/qtest/migration-test"
if [ ! -x "$test_bin" ] || [ ! -x "$qbuild/qemu-system-x86_64" ]; then
    echo "not ok - $test_bin or the QEMU binary is missing (run make)"
    exit 1
fi

# precopy over a unix socket, file: migration, a suspended guest.
TESTS="
/x86_64/migration/precopy/unix/plain
/x86_64/migration/precopy/file
/x86_64/migration/precopy/unix/suspend/notlive
/x86_64/migration/precopy/unix/suspend/live
"
args=""
for t in $TESTS; do
    args="$args -p $t"
done

. "$(dirname "$0")/lib.sh"
export QTEST_QEMU_BINARY="$qbuild/qemu-system-x86_64"
export QTEST_QEMU_IMG="$qbuild/qemu-img"
run="$test_bin --tap -k $args"

exec_without_kvm $run

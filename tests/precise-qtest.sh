#!/bin/sh
# The parts of the precise TSC qtest (tests/qtest/precise-tsc-test.c) that
# need no KVM, against the fork's qemu-system-x86_64 under the qtest
# accelerator: the machine types of the migration contract. The cases
# that need a KVM whose TSC offsets work run in the lab
# (tests/lab/tests/qtest-precise.sh).
set -u
qbuild=${QEMU_BUILD:-build/qemu}
test_bin="$qbuild/tests/qtest/precise-tsc-test"
if [ ! -x "$test_bin" ] || [ ! -x "$qbuild/qemu-system-x86_64" ]; then
    echo "not ok - $test_bin or the QEMU binary is missing (run make qemu)"
    exit 1
fi

. "$(dirname "$0")/lib.sh"
export QTEST_QEMU_BINARY="$qbuild/qemu-system-x86_64"
exec_without_kvm "timeout ${QTEST_TIMEOUT:-120} $test_bin --tap -k -p /x86_64/precise-tsc/machine-types"

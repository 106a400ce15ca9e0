#!/bin/sh
# The nap device's qtest (tests/qtest/nap-test.c) against the fork's
# qemu-system-x86_64, under the qtest accelerator: registers, guest access
# validation, host flow and events, time latch, ACPI tables, migration.
set -u
qbuild=${QEMU_BUILD:-build/qemu}
test_bin="$qbuild/tests/qtest/nap-test"
if [ ! -x "$test_bin" ] || [ ! -x "$qbuild/qemu-system-x86_64" ]; then
    echo "not ok - $test_bin or the QEMU binary is missing (run make qemu)"
    exit 1
fi

. "$(dirname "$0")/lib.sh"
export QTEST_QEMU_BINARY="$qbuild/qemu-system-x86_64"
# Unpatched QEMU 10.0 for /nap/migrate/to-stock (make stock-qemu builds it).
stock=${QEMU_STOCK_BUILD:-build/qemu-stock}/qemu-system-x86_64
if [ -x "$stock" ]; then
    export QTEST_QEMU_BINARY_STOCK="$stock"
fi
run="timeout ${QTEST_TIMEOUT:-280} $test_bin --tap -k"

exec_without_kvm $run

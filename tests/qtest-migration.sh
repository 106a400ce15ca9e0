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

export QTEST_QEMU_BINARY="$qbuild/qemu-system-x86_64"
export QTEST_QEMU_IMG="$qbuild/qemu-img"
run="$test_bin --tap -k $args"

# The harness picks -accel kvm whenever /dev/kvm opens. This machine's
# /dev/kvm (if any) is a paravirtual KVM that cannot run these guests
# faithfully: hide it so the tests run under TCG everywhere.
if [ -e /dev/kvm ]; then
    if [ "$(id -u)" != 0 ]; then
        echo "not ok - /dev/kvm present: need root to hide it (unshare -m)"
        exit 1
    fi
    # shellcheck disable=SC2086
    exec unshare -m sh -c "mount --bind /dev/null /dev/kvm && exec $run"
fi
# shellcheck disable=SC2086
exec $run

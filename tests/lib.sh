# Shared helpers for the shell test suites. Source it from the repo root.

# The pristine QEMU tree chosen by ./configure.
qemu_src() {
    sed -n 's/^QEMU_SRC := //p' config.mak 2>/dev/null
}

# TAP result lines.
tap_ok() { echo "ok - $*"; }
tap_fail() { echo "not ok - $*"; }
tap_check() {
    # tap_check DESCRIPTION COMMAND...: ok if COMMAND succeeds.
    desc=$1
    shift
    if "$@"; then tap_ok "$desc"; else tap_fail "$desc"; fi
}

# exec_without_kvm CMD...: run CMD (a qtest binary) with this machine's
# /dev/kvm hidden: the qtest harness picks -accel kvm whenever /dev/kvm
# opens, and this machine's is a paravirtual KVM that cannot run guests
# faithfully, so the tests run under TCG everywhere.
exec_without_kvm() {
    if [ -e /dev/kvm ]; then
        if [ "$(id -u)" != 0 ]; then
            echo "not ok - /dev/kvm present: need root to hide it (unshare -m)"
            exit 1
        fi
        exec unshare -m sh -c "mount --bind /dev/null /dev/kvm && exec $*"
    fi
    # shellcheck disable=SC2048,SC2086
    exec $*
}

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

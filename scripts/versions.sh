# The one place that pins what the fork is built from and tested on.
# Series are pinned, point releases are resolved from the archive at build
# time (Debian serves only the newest one of each suite).

DEBIAN_MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

# Upstream QEMU base: Debian's source package of the 10.0 series.
QEMU_SUITE=trixie
QEMU_SERIES=10.0

# Where fetched sources and pristine trees are kept (outside the repo).
FORK_CACHE=${FORK_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/qemu-tsc-fork}

# QEMU's build for the fork: what a lab and the qtests need, no more.
QEMU_CONFIGURE_FLAGS="--target-list=x86_64-softmmu --without-default-features
 --enable-kvm --enable-tcg --disable-docs --disable-download
 --disable-install-blobs --disable-werror"
# The unpatched build for the compatibility tests runs only under KVM in
# the lab: without TCG it builds in about two thirds of the time. The
# migration stream does not depend on the accelerators built in.
QEMU_STOCK_CONFIGURE_FLAGS=$(echo $QEMU_CONFIGURE_FLAGS |
    sed 's/--enable-tcg/--disable-tcg/')
# The fork built with clang, ASan and UBSan, and libFuzzer's fuzz targets
# (make qemu-asan, make fuzz): its qtests and fuzz targets run under the
# qtest accelerator, so it needs no TCG either.
QEMU_SANITIZE_CONFIGURE_FLAGS="$QEMU_STOCK_CONFIGURE_FLAGS --cc=clang-14
 --cxx=clang++-14 --enable-fuzzing --enable-asan --enable-ubsan"

# Kernel side (kernel/kvm): the linux-source series the KVM patch series is
# against and the out-of-tree modules are built for. The point release is
# the one lab host deb612-ours boots (tests/lab/hosts.sh resolves it), so
# kernel image, headers and source always agree.
KVM_LINUX_SERIES=6.12

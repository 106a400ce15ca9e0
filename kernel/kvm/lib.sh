# Shared by kernel/kvm/build and kernel/kvm/export-patches (POSIX sh,
# sourced with REPO set): which kernel the KVM series is for, and the
# pristine KVM sources of that kernel.
#
# The series is pinned once, KVM_LINUX_SERIES in scripts/versions.sh. The
# point release is the kernel lab host deb612-ours boots
# (tests/lab/hosts.sh resolves it from the apt lists), so the modules'
# vermagic matches that kernel, and headers and linux-source are taken at
# exactly that version. KVM_LINUX_VERSION=<debian version> overrides it.

. "$REPO/scripts/versions.sh"
. "$REPO/tests/lab/hosts.sh"

KVM_CACHE=$FORK_CACHE/kernel
# What of linux-source the series touches or the build needs.
KVM_PRISTINE_PATHS="arch/x86/kvm virt/kvm include/uapi/linux/kvm.h
 Documentation/virt/kvm/api.rst scripts/checkpatch.pl scripts/spelling.txt
 scripts/const_structs.checkpatch COPYING"

kvm_die() { echo "kernel/kvm: $*" >&2; exit 1; }

# kvm_resolve: set KVM_VER (Debian version), KVM_KREL (the kernel's
# uname -r), KVM_HEADERS (package) and KVM_SRC_PKG.
kvm_resolve() {
    lab_resolve deb612-ours || kvm_die "cannot resolve the lab kernel"
    KVM_VER=${KVM_LINUX_VERSION:-$KPKG_VER}
    KVM_KREL=${KPKG#linux-image-}
    case "$KVM_KREL" in
    "$KVM_LINUX_SERIES".*) ;;
    *) kvm_die "lab host deb612-ours runs $KVM_KREL, not series" \
        "$KVM_LINUX_SERIES (scripts/versions.sh)" ;;
    esac
    KVM_HEADERS=linux-headers-$KVM_KREL
    KVM_SRC_PKG=linux-source-$KVM_LINUX_SERIES
}

# kvm_headers: KVM_HDIR, Debian's headers of that kernel, unpacked into the
# cache by scripts/kernel-headers (installing the package would also
# install the kernel image on this machine).
kvm_headers() {
    set -- $("$REPO/scripts/kernel-headers" deb612-ours) ||
        kvm_die "no headers for $KVM_KREL (scripts/kernel-headers)"
    [ "${1:-}" = "$KVM_KREL" ] ||
        kvm_die "headers are for ${1:-nothing}, not $KVM_KREL"
    KVM_HDIR=$2
}

# kvm_pristine: KVM_PRISTINE, the pristine parts of linux-source at
# KVM_VER, extracted once into the cache (never into the repo).
kvm_pristine() {
    KVM_PRISTINE=$KVM_CACHE/kvm-pristine-$KVM_VER
    [ -e "$KVM_PRISTINE/.done" ] && return 0
    mkdir -p "$KVM_CACHE"
    deb=$KVM_CACHE/${KVM_SRC_PKG}_$(echo "$KVM_VER" | sed 's/:/%3a/')_all.deb
    if [ ! -f "$deb" ]; then
        (cd "$KVM_CACHE" && apt-get download -q "$KVM_SRC_PKG=$KVM_VER" >&2) ||
            kvm_die "apt-get download $KVM_SRC_PKG=$KVM_VER failed"
    fi
    rm -rf "$KVM_PRISTINE" "$KVM_PRISTINE.tmp"
    mkdir -p "$KVM_PRISTINE.tmp"
    top=$KVM_SRC_PKG
    # shellcheck disable=SC2086
    dpkg-deb --fsys-tarfile "$deb" | tar -xO "./usr/src/$top.tar.xz" |
        tar -xJ -C "$KVM_PRISTINE.tmp" --strip-components=1 \
            $(for p in $KVM_PRISTINE_PATHS; do echo "$top/$p"; done) ||
        kvm_die "extracting $deb failed"
    echo "$KVM_SRC_PKG $KVM_VER" > "$KVM_PRISTINE.tmp/.version"
    touch "$KVM_PRISTINE.tmp/.done"
    mv "$KVM_PRISTINE.tmp" "$KVM_PRISTINE"
}

# kvm_series: the patch names of kernel/kvm/patches/series, in order.
kvm_series() {
    sed -e 's/#.*//' "$REPO/kernel/kvm/patches/series" | awk 'NF { print $1 }'
}

# kvm_series_lines: "patch new-file..." lines of the series.
kvm_series_lines() {
    sed -e 's/#.*//' "$REPO/kernel/kvm/patches/series" | awk 'NF'
}

# kvm_new_files: our new files, as tree paths (arch/..., include/...).
kvm_new_files() {
    (cd "$REPO/kernel/kvm" && find arch include virt Documentation \
        -type f 2>/dev/null | LC_ALL=C sort)
}

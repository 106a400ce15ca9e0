#!/bin/sh
# Put KVM's own TSC/kvmclock selftests into the lab payload:
#   $PAYLOAD/kvm-selftests/<test>          from linux-source-6.12, static
#                                          (the inner host has no libc)
#   $PAYLOAD/kvm-selftests/VERSION         the linux-source version used
#   $PAYLOAD/kvm-selftests-6.1/...         the same from linux-source-6.1:
#                                          6.12's selftests only SKIP on a
#                                          6.1 kernel (they need
#                                          KVM_SET_USER_MEMORY_REGION2, 6.8+)
# The kernel source is never part of the repo: the .deb, the parts of its
# tarball the build needs and the built tests are cached in
# $FORK_CACHE/kernel, keyed by the package version, so only the first run
# per version pays for the build. LINUX_SOURCE_6_12_VERSION /
# LINUX_SOURCE_6_1_VERSION=<debian version> pin a version; by default the
# newest of the series the apt lists offer is used (Debian serves only the
# newest of each suite, so the series is pinned, not the point release).
set -eu

: "${PAYLOAD:?}"
cache=${FORK_CACHE:-$HOME/.cache/qemu-tsc-fork}/kernel
# Paths below tools/testing/selftests/kvm (6.1 and 6.12 say x86_64/).
tests="system_counter_offset_test x86_64/kvm_clock_test x86_64/tsc_msrs_test x86_64/hyperv_clock"

die() { echo "20-kvm-selftests.sh: $*" >&2; exit 1; }

# newest_version: of the version strings on stdin, print the newest.
newest_version() {
    best=""
    while read -r v; do
        if [ -z "$best" ] || dpkg --compare-versions "$v" gt "$best"; then
            best=$v
        fi
    done
    echo "$best"
}

# resolve SERIES: the version of linux-source-SERIES to use, in $ver.
resolve() {
    eval "ver=\${LINUX_SOURCE_$(echo "$1" | tr . _)_VERSION:-}"
    if [ -z "$ver" ]; then
        # Binary packages only: deb-src entries add "linux" source lines.
        ver=$(apt-cache madison "$pkg" 2>/dev/null |
            awk -F'|' -v p="$pkg" '{ gsub(/ /, "", $1); gsub(/ /, "", $2) }
                $1 == p && $3 ~ /Packages/ { print $2 }' | newest_version)
    fi
    [ -n "$ver" ] || die "no $pkg in the apt lists (apt-get update? a" \
        "bookworm-security entry?)"
}

# Fetch the .deb once (apt names it so, an epoch's ":" written "%3a").
fetch_deb() {
    deb=$cache/${pkg}_$(echo "$ver" | sed 's/:/%3a/')_all.deb
    [ -f "$deb" ] && return 0
    (cd "$cache" && apt-get download -q "$pkg=$ver" >&2) ||
        die "apt-get download $pkg=$ver failed"
    [ -f "$deb" ] || die "apt-get download gave no $deb"
}

# Extract once, and only what headers and the selftests need (about a
# tenth of the tree), into a temporary name first so an interrupted run
# leaves nothing that looks complete.
extract_src() {
    [ -e "$src/.done" ] && return 0
    fetch_deb
    rm -rf "$src" "$src.tmp"
    mkdir -p "$src.tmp"
    top=$pkg
    dpkg-deb --fsys-tarfile "$deb" |
        tar -xO "./usr/src/$top.tar.xz" |
        tar -xJ -C "$src.tmp" --strip-components=1 \
            "$top/Makefile" "$top/Kbuild" "$top/Kconfig" "$top/scripts" \
            "$top/include" "$top/arch/x86" "$top/tools" "$top/usr" ||
        die "extracting $deb failed"
    touch "$src.tmp/.done"
    mv "$src.tmp" "$src"
}

# Build the tests once per version, statically.
build_tests() {
    # Built before, with every test of the list (it may have grown).
    if [ -e "$out/.done" ]; then
        missing=""
        for t in $tests; do
            [ -e "$out/$(basename "$t")" ] || missing="$missing $t"
        done
        [ -z "$missing" ] && return 0
    fi
    extract_src
    t0=$(date +%s)
    # The selftests include the exported uapi headers from usr/include.
    make -C "$src" -s headers >&2 || die "make headers failed"
    rm -rf "$out" "$out.tmp"
    mkdir -p "$out.tmp/obj"
    targets=""
    for t in $tests; do
        targets="$targets $out.tmp/obj/$t"
    done
    # shellcheck disable=SC2086
    make -C "$src/tools/testing/selftests/kvm" -j"$(nproc)" \
        OUTPUT="$out.tmp/obj" USERLDFLAGS=-static $targets >&2 ||
        die "building the KVM selftests of $pkg $ver failed"
    for t in $tests; do
        cp "$out.tmp/obj/$t" "$out.tmp/$(basename "$t")"
    done
    rm -rf "$out.tmp/obj"
    echo "$pkg $ver" > "$out.tmp/VERSION"
    touch "$out.tmp/.done"
    mv "$out.tmp" "$out"
    echo "20-kvm-selftests.sh: built $pkg $ver in $(($(date +%s) - t0)) s" >&2
}

# selftests SERIES DIR: build (or take from the cache) the tests of
# linux-source-SERIES and put them into $PAYLOAD/DIR.
selftests() {
    pkg=linux-source-$1
    resolve "$1"
    echo "20-kvm-selftests.sh: $pkg $ver" >&2
    src=$cache/src-$ver
    out=$cache/selftests-$ver
    build_tests
    mkdir -p "$PAYLOAD/$2"
    for t in $tests; do
        b=$(basename "$t")
        # Stripped: a smaller initramfs; LAB_STRIP=0 keeps the debug info.
        if [ "${LAB_STRIP:-1}" = 1 ] && command -v strip >/dev/null; then
            strip -o "$PAYLOAD/$2/$b" "$out/$b"
        else
            cp "$out/$b" "$PAYLOAD/$2/$b"
        fi
        chmod 755 "$PAYLOAD/$2/$b"
    done
    cp "$out/VERSION" "$PAYLOAD/$2/VERSION"
    echo "20-kvm-selftests.sh: $(cat "$out/VERSION") -> $PAYLOAD/$2" >&2
}

mkdir -p "$cache"
selftests 6.12 kvm-selftests
selftests 6.1 kvm-selftests-6.1

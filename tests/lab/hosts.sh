# The one place that pins the lab's inner hosts. Sourced by the lab scripts
# (POSIX sh). A host is a Debian kernel series, pinned through a meta
# package; the point release is resolved from the archive at run time,
# because Debian serves only the newest one of each suite.
#
#   name          meta package            series  KVM modules from
#   deb61         linux-image-amd64       6.1.*   the image package
#   deb612        linux-image-6.12-amd64  6.12.*  the image package
#   deb612-ours   linux-image-6.12-amd64  6.12.*  $LAB_KVM_MODULES (kvm.ko,
#                                                 kvm-amd.ko built elsewhere)

LAB_HOSTS="deb61 deb612 deb612-ours"

# Fetched .debs and extracted kernels live outside the repo.
LAB_CACHE=${FORK_CACHE:-$HOME/.cache/qemu-tsc-fork}/lab

# Modules the lab loads, in addition to whatever they depend on.
LAB_MODULES="irqbypass ccp kvm kvm-amd"

# lab_host_spec HOST: set HOST_META, HOST_SERIES (a version glob) and
# HOST_KVM ("stock" or "env"); fail for an unknown host.
lab_host_spec() {
    case "$1" in
    deb61) HOST_META=linux-image-amd64 HOST_SERIES='6.1.*' HOST_KVM=stock ;;
    deb612) HOST_META=linux-image-6.12-amd64 HOST_SERIES='6.12.*'
        HOST_KVM=stock ;;
    deb612-ours) HOST_META=linux-image-6.12-amd64 HOST_SERIES='6.12.*'
        HOST_KVM=env ;;
    *)
        echo "lab: unknown host '$1' (known: $LAB_HOSTS)" >&2
        return 1 ;;
    esac
}

# lab_host_kvm_dir HOST: print the directory of replacement KVM modules,
# or nothing for stock modules; fail clearly when a host needs one.
lab_host_kvm_dir() {
    lab_host_spec "$1" || return 1
    [ "$HOST_KVM" = env ] || return 0
    if [ -z "${LAB_KVM_MODULES:-}" ]; then
        echo "lab: host $1 needs LAB_KVM_MODULES=<dir with kvm.ko and" \
            "kvm-amd.ko> (the fork's KVM modules); it is not set" >&2
        return 1
    fi
    for m in kvm kvm-amd; do
        if [ ! -f "$LAB_KVM_MODULES/$m.ko" ]; then
            echo "lab: host $1: no $m.ko in LAB_KVM_MODULES=$LAB_KVM_MODULES" >&2
            return 1
        fi
    done
    (cd "$LAB_KVM_MODULES" && pwd)
}

# lab_resolve HOST: set KPKG and KPKG_VER, the concrete image package the
# newest meta package version of the host's series depends on. Several
# suites may offer the meta package (bookworm's 6.1 and backports' 6.12 are
# both "linux-image-amd64"), so pick by series, not by apt's candidate.
lab_resolve() {
    lab_host_spec "$1" || return 1
    best=$(apt-cache show "$HOST_META" 2>/dev/null | awk '
        /^Version: / { v = $2 }
        /^Depends: / { print v, $2, $4 }' | tr -d '()' |
        while read -r v pkg pv; do
            # shellcheck disable=SC2254
            case "$v" in $HOST_SERIES) echo "$v $pkg $pv" ;; esac
        done | lab_newest)
    if [ -z "$best" ]; then
        echo "lab: no $HOST_META of series $HOST_SERIES in the apt lists" \
            "(run apt-get update; see scripts/install-deps)" >&2
        return 1
    fi
    set -- $best
    KPKG=$2 KPKG_VER=$3
}

# lab_newest: of lines "VERSION REST", print the one with the newest VERSION.
lab_newest() {
    best="" bestv=""
    while read -r v rest; do
        if [ -z "$bestv" ] || dpkg --compare-versions "$v" gt "$bestv"; then
            best="$v $rest" bestv=$v
        fi
    done
    [ -z "$best" ] || echo "$best"
}

# lab_fetch_kernel HOST: download and extract the host's kernel image
# package once; set KPKG, KPKG_VER, KDIR (extracted tree), KVER (the
# lib/modules name) and VMLINUZ.
lab_fetch_kernel() {
    lab_resolve "$1" || return 1
    KDIR=$LAB_CACHE/kernel/${KPKG}_$KPKG_VER
    if [ ! -e "$KDIR/.done" ]; then
        mkdir -p "$LAB_CACHE/deb"
        # apt-get download's file name, an epoch's ":" written "%3a".
        deb=$LAB_CACHE/deb/${KPKG}_$(echo "$KPKG_VER" | sed 's/:/%3a/')_amd64.deb
        if [ ! -f "$deb" ]; then
            echo "lab: downloading $KPKG=$KPKG_VER" >&2
            (cd "$LAB_CACHE/deb" && apt-get download -q "$KPKG=$KPKG_VER" \
                >&2) || return 1
        fi
        rm -rf "$KDIR"
        mkdir -p "$KDIR"
        dpkg-deb -x "$deb" "$KDIR" || return 1
        touch "$KDIR/.done"
    fi
    KVER=$(ls "$KDIR/lib/modules" | head -n 1)
    VMLINUZ=$KDIR/boot/vmlinuz-$KVER
    if [ ! -f "$VMLINUZ" ]; then
        echo "lab: no $VMLINUZ in $KPKG" >&2
        return 1
    fi
}

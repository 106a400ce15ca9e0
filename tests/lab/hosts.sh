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
#   deb510        linux-image-amd64       5.10.*  the image package, from
#                 (bullseye-security, private apt configuration below)
#   deb73         linux-image-amd64       7.3.*   the image package's split
#                 (trixie-backports, private apt configuration; the image
#                 package is a meta package: vmlinuz in linux-binary-*,
#                 modules in linux-modules-*, fetched beside it)
#
# deb510 is a kernel without KVM_VCPU_TSC_OFFSET (< 5.16), for the fork's
# legacy fallback (tests/lab/tests/legacy-fallback.sh).

LAB_HOSTS="deb61 deb612 deb612-ours deb510 deb73"

# Fetched .debs and extracted kernels live outside the repo.
LAB_CACHE=${FORK_CACHE:-$HOME/.cache/qemu-tsc-fork}/lab

# Modules the lab loads, in addition to whatever they depend on. e1000: the
# NIC of the two-host lab (tests/lab/run2); unused by one-host runs.
LAB_MODULES="irqbypass ccp kvm kvm-amd e1000"

# Private apt configuration, for hosts whose suite the machine's apt sources
# must not carry (bullseye on a bookworm machine): its own sources.list,
# lists and cache under $LAB_APT_DIR, so apt still checks the suite's
# signature (debian-archive-keyring has the bullseye keys) and the .deb's
# hash, and the machine's apt state is not touched.
LAB_APT_DIR=$LAB_CACHE/apt
LAB_APT_KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg

# lab_host_spec HOST: set HOST_META, HOST_SERIES (a version glob), HOST_KVM
# ("stock" or "env") and HOST_APT (empty: the machine's apt sources; else
# "URI SUITE COMPONENT" for the private configuration); fail for an
# unknown host.
lab_host_spec() {
    HOST_APT=""
    case "$1" in
    deb61) HOST_META=linux-image-amd64 HOST_SERIES='6.1.*' HOST_KVM=stock ;;
    deb612) HOST_META=linux-image-6.12-amd64 HOST_SERIES='6.12.*'
        HOST_KVM=stock ;;
    deb612-ours) HOST_META=linux-image-6.12-amd64 HOST_SERIES='6.12.*'
        HOST_KVM=env ;;
    deb510) HOST_META=linux-image-amd64 HOST_SERIES='5.10.*' HOST_KVM=stock
        HOST_APT='http://deb.debian.org/debian-security bullseye-security main'
        ;;
    deb73) HOST_META=linux-image-amd64 HOST_SERIES='7.3.*' HOST_KVM=stock
        HOST_APT='http://deb.debian.org/debian trixie-backports main'
        ;;
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

# lab_apt HOST: set LAB_APT_OPTS, the options apt-get and apt-cache need for
# HOST's packages: empty for the machine's own sources; for a private
# source, its configuration, whose lists are refreshed when missing or
# more than a day old (Debian replaces a suite's point release, and the
# old .deb with it). A failed refresh with older lists at hand warns and
# goes on with them.
lab_apt() {
    lab_host_spec "$1" || return 1
    LAB_APT_OPTS=""
    [ -n "$HOST_APT" ] || return 0
    _d=$LAB_APT_DIR
    LAB_APT_OPTS="-o Dir::Etc::SourceList=$_d/sources.list"
    LAB_APT_OPTS="$LAB_APT_OPTS -o Dir::Etc::SourceParts=/dev/null"
    LAB_APT_OPTS="$LAB_APT_OPTS -o Dir::State::Lists=$_d/lists"
    LAB_APT_OPTS="$LAB_APT_OPTS -o Dir::Cache=$_d/cache"
    if [ ! -r "$LAB_APT_KEYRING" ]; then
        echo "lab: $1: no $LAB_APT_KEYRING to check $HOST_APT against" \
            "(apt-get install debian-archive-keyring)" >&2
        return 1
    fi
    _line="deb [signed-by=$LAB_APT_KEYRING] $HOST_APT"
    mkdir -p "$_d/lists/partial" "$_d/cache/archives/partial" || return 1
    if [ "$(cat "$_d/sources.list" 2>/dev/null)" != "$_line" ]; then
        echo "$_line" > "$_d/sources.list" || return 1
        rm -f "$_d/updated"
    fi
    # The stamp, not the lists' mtimes: apt leaves an unchanged list alone.
    [ -z "$(find "$_d/updated" -mmin -1440 2>/dev/null)" ] || return 0
    echo "lab: $1: refreshing the private apt lists ($HOST_APT) in $_d" >&2
    # Error-Mode=any: a failed fetch is an error, not a warning with exit 0.
    # shellcheck disable=SC2086
    if apt-get $LAB_APT_OPTS -o APT::Update::Error-Mode=any -q update >&2
    then
        touch "$_d/updated"
    elif [ -e "$_d/updated" ]; then
        echo "lab: $1: WARNING: apt-get update of $HOST_APT failed; using" \
            "the lists of $(date -r "$_d/updated" '+%F %R')" >&2
    else
        echo "lab: $1: apt-get update of $HOST_APT failed (network, or a" \
            "signature $LAB_APT_KEYRING does not verify; apt's messages" \
            "above); private configuration: $_d" >&2
        return 1
    fi
}

# lab_resolve HOST: set KPKG and KPKG_VER, the concrete image package the
# newest meta package version of the host's series depends on. Several
# suites may offer the meta package (bookworm's 6.1 and backports' 6.12 are
# both "linux-image-amd64"), so pick by series, not by apt's candidate.
lab_resolve() {
    lab_apt "$1" || return 1
    # shellcheck disable=SC2086
    # The image package among the dependencies (7.x's meta package lists
    # linux-base-amd64 first).
    best=$(apt-cache $LAB_APT_OPTS show "$HOST_META" 2>/dev/null | awk '
        /^Version: / { v = $2 }
        /^Depends: / { sub(/^Depends: /, ""); n = split($0, d, ", ")
            for (i = 1; i <= n; i++) if (d[i] ~ /^linux-image-/) {
                split(d[i], w, " "); print v, w[1], w[3] } }' | tr -d '()' |
        while read -r v pkg pv; do
            # shellcheck disable=SC2254
            case "$v" in $HOST_SERIES) echo "$v $pkg $pv" ;; esac
        done | lab_newest)
    if [ -z "$best" ] && [ -n "$HOST_APT" ]; then
        echo "lab: no $HOST_META of series $HOST_SERIES in the private apt" \
            "lists of $HOST_APT ($LAB_APT_DIR; remove $LAB_APT_DIR/updated" \
            "to refresh them)" >&2
        return 1
    elif [ -z "$best" ]; then
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

# lab_fetch_deb HOST PKG VER DIR: download PKG=VER (once) and extract it
# into DIR.
lab_fetch_deb() {
    mkdir -p "$LAB_CACHE/deb"
    # apt-get download's file name, an epoch's ":" written "%3a".
    _deb=$LAB_CACHE/deb/${2}_$(echo "$3" | sed 's/:/%3a/')_amd64.deb
    if [ ! -f "$_deb" ]; then
        echo "lab: downloading $2=$3" >&2
        # shellcheck disable=SC2086
        if ! (cd "$LAB_CACHE/deb" &&
            apt-get $LAB_APT_OPTS download -q "$2=$3" >&2); then
            echo "lab: $1: downloading $2=$3 failed (apt's messages above;" \
                "from ${HOST_APT:-the system apt sources})" >&2
            return 1
        fi
    fi
    dpkg-deb -x "$_deb" "$4"
}

# lab_fetch_kernel HOST: download and extract the host's kernel image
# package once; set KPKG, KPKG_VER, KDIR (extracted tree), KVER (the
# lib/modules name), KMODROOT (its modules) and VMLINUZ.
lab_fetch_kernel() {
    lab_resolve "$1" || return 1
    KDIR=$LAB_CACHE/kernel/${KPKG}_$KPKG_VER
    if [ ! -e "$KDIR/.done" ]; then
        rm -rf "$KDIR"
        mkdir -p "$KDIR"
        lab_fetch_deb "$1" "$KPKG" "$KPKG_VER" "$KDIR" || return 1
        # Split packaging (7.x): vmlinuz and modules are dependencies of
        # the image package, of the same version.
        # shellcheck disable=SC2086
        for part in $(apt-cache $LAB_APT_OPTS show "$KPKG=$KPKG_VER" \
            2>/dev/null | sed -n 's/^Depends: //p' | head -n 1 | tr ',' '\n' |
            sed -n 's/^ *\(linux-\(binary\|modules\)-[^ ]*\).*/\1/p'); do
            lab_fetch_deb "$1" "$part" "$KPKG_VER" "$KDIR" || return 1
        done
        touch "$KDIR/.done"
    fi
    # Modules in lib/modules, or usr/lib/modules (usrmerge, 7.x).
    KMODDIR=$KDIR/lib/modules
    [ -d "$KMODDIR" ] || KMODDIR=$KDIR/usr/lib/modules
    KVER=$(ls "$KMODDIR" | head -n 1)
    KMODROOT=$KMODDIR/$KVER
    VMLINUZ=$KDIR/boot/vmlinuz-$KVER
    [ -f "$VMLINUZ" ] || VMLINUZ=$KMODROOT/vmlinuz
    if [ ! -f "$VMLINUZ" ]; then
        echo "lab: no $VMLINUZ in $KPKG" >&2
        return 1
    fi
}

#!/bin/sh
# Put the fork's qtests that need real KVM into the lab payload:
#   $PAYLOAD/qtest/precise-tsc-test     tests/qtest/precise-tsc-test.c,
#                                       built by 'make qemu' (stripped
#                                       unless LAB_STRIP=0)
#   $PAYLOAD/qtest/qemu-system-x86_64   wrapper for QTEST_QEMU_BINARY: the
#                                       lab's QEMU with -L for its firmware
#                                       (libqtest takes the target from the
#                                       name, so it must end in -x86_64)
#   $PAYLOAD/lib/                       any library ldd lists for them that
#                                       10-qemu.sh did not put there
# tests/lab/tests/qtest-precise.sh runs them.
set -eu

: "${PAYLOAD:?}" "${REPO:?}"
qemu=${LAB_QEMU:-$REPO/build/qemu/qemu-system-x86_64}
case "$qemu" in /*) ;; *) qemu=$REPO/$qemu ;; esac
qdir=$(dirname "$qemu")/tests/qtest
QTESTS="precise-tsc-test"

die() { echo "12-qtests.sh: $*" >&2; exit 1; }

mkdir -p "$PAYLOAD/qtest" "$PAYLOAD/lib"
for t in $QTESTS; do
    src=$qdir/$t
    [ -x "$src" ] || die "no $src (run 'make qemu')"
    if [ "${LAB_STRIP:-1}" = 1 ] && command -v strip >/dev/null; then
        strip -o "$PAYLOAD/qtest/$t" "$src"
    else
        cp "$src" "$PAYLOAD/qtest/$t"
    fi
    chmod 755 "$PAYLOAD/qtest/$t"
    ldd "$src" | awk '
        $2 == "=>" && $3 ~ /^\// { print $1, $3; next }
        $1 ~ /^\// { n = split($1, p, "/"); print p[n], $1 }' |
    while read -r name path; do
        [ -e "$PAYLOAD/lib/$name" ] || cp -L "$path" "$PAYLOAD/lib/$name"
    done
done
[ -f "$PAYLOAD/lib/ld-linux-x86-64.so.2" ] ||
    die "no /lib64/ld-linux-x86-64.so.2 in the payload"

cat > "$PAYLOAD/qtest/qemu-system-x86_64" <<'WRAP'
#!/bin/sh
# QTEST_QEMU_BINARY in the lab: the fork's QEMU with the lab's firmware.
exec /lab/qemu/bin/qemu-system-x86_64 -L /lab/qemu/share/qemu "$@"
WRAP
chmod 755 "$PAYLOAD/qtest/qemu-system-x86_64"
echo "12-qtests.sh: $QTESTS from $qdir" >&2

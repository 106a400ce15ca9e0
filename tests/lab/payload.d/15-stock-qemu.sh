#!/bin/sh
# Put an unpatched QEMU 10.0 ("stock", built from the same pristine tree with
# the same flags by scripts/build-stock-qemu) into the lab payload, for the
# compatibility tests (tests/lab/tests/compat-stock.sh):
#   $PAYLOAD/qemu-stock/bin/qemu-system-x86_64   the binary (stripped unless
#                                                LAB_STRIP=0)
#   $PAYLOAD/qemu-stock/VERSION
#   $PAYLOAD/lib/                                any library it needs that
#                                                10-qemu.sh did not already
#                                                put there (normally none:
#                                                same configure, same libs)
#   $PAYLOAD/bin/lab-qemu-stock                  wrapper with -L giving the
#                                                firmware 10-qemu.sh put in
#                                                /lab/qemu/share/qemu
# LAB_QEMU_STOCK overrides the binary (default build/qemu-stock/...).
set -eu

: "${PAYLOAD:?}" "${REPO:?}"
qemu=${LAB_QEMU_STOCK:-$REPO/build/qemu-stock/qemu-system-x86_64}
case "$qemu" in /*) ;; *) qemu=$REPO/$qemu ;; esac

die() { echo "15-stock-qemu.sh: $*" >&2; exit 1; }

[ -x "$qemu" ] ||
    die "no stock QEMU binary at $qemu: run scripts/build-stock-qemu" \
        "(or 'make stock-qemu'), or set LAB_QEMU_STOCK"
[ -f "$PAYLOAD/qemu/share/qemu/bios-256k.bin" ] ||
    die "no firmware in \$PAYLOAD/qemu/share/qemu (10-qemu.sh puts it there)"

mkdir -p "$PAYLOAD/qemu-stock/bin" "$PAYLOAD/lib" "$PAYLOAD/bin"
dst=$PAYLOAD/qemu-stock/bin/qemu-system-x86_64
if [ "${LAB_STRIP:-1}" = 1 ] && command -v strip >/dev/null; then
    strip -o "$dst" "$qemu"
else
    cp "$qemu" "$dst"
fi
chmod 755 "$dst"
"$qemu" --version | head -n 1 > "$PAYLOAD/qemu-stock/VERSION"

# Libraries by soname, shared with the fork's QEMU in /lab/lib.
ldd "$qemu" | awk '
    $2 == "=>" && $3 ~ /^\// { print $1, $3; next }
    $1 ~ /^\// { n = split($1, p, "/"); print p[n], $1 }' |
while read -r name path; do
    if [ ! -e "$PAYLOAD/lib/$name" ]; then
        cp -L "$path" "$PAYLOAD/lib/$name"
    elif ! cmp -s "$path" "$PAYLOAD/lib/$name"; then
        die "$name: $path differs from the one already in the payload"
    fi
done

cat > "$PAYLOAD/bin/lab-qemu-stock" <<'WRAP'
#!/bin/sh
# Unpatched QEMU 10.0 inside the lab, with the lab's firmware directory.
exec /lab/qemu-stock/bin/qemu-system-x86_64 -L /lab/qemu/share/qemu "$@"
WRAP
chmod 755 "$PAYLOAD/bin/lab-qemu-stock"
echo "15-stock-qemu.sh: $(cat "$PAYLOAD/qemu-stock/VERSION") from $qemu" >&2

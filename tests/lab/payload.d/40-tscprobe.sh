#!/bin/sh
# Put the tscprobe guest and its decoder into the lab payload:
#   $PAYLOAD/tscprobe/tscprobe.elf    the guest (PVH ELF, -kernel)
#   $PAYLOAD/tscprobe/tscprobe-dump   decodes a pmemsave of its table
#   $PAYLOAD/tscprobe/lib.sh          tests/lab/lib/tscprobe.sh, the sh
#                                     helpers the tests source
#   $PAYLOAD/tscprobe/hvcheck.sh      tests/lab/lib/hvcheck.sh, Hyper-V
#                                     clock checks
#   $PAYLOAD/tscprobe/migrate.sh      tests/lab/lib/migrate.sh, helpers
#                                     for the migration tests (on top of
#                                     lib.sh)
#   $PAYLOAD/lib/                     any library tscprobe-dump needs that
#                                     10-qemu.sh did not already put there
# Both come from the standalone meson build (docs/tscprobe.md),
# TSCPROBE_BUILD (default $REPO/build/unit); ninja brings the two targets
# up to date first, so a changed guest source reaches the lab.
# tscprobe-dump is linked dynamically (glib); the initramfs links the
# loader and the multiarch lib dir to /lab/lib, so it runs inside as long
# as its libraries are there.
set -eu

: "${PAYLOAD:?}" "${REPO:?}"
bdir=${TSCPROBE_BUILD:-$REPO/build/unit}
case "$bdir" in /*) ;; *) bdir=$REPO/$bdir ;; esac
sub=tests/guests/tscprobe

die() { echo "40-tscprobe.sh: $*" >&2; exit 1; }

[ -f "$bdir/build.ninja" ] ||
    die "no meson build at $bdir (run 'meson setup build/unit .' in $REPO)"
ninja -C "$bdir" "$sub/tscprobe.elf" "$sub/tscprobe-dump" >&2 ||
    die "ninja -C $bdir $sub/tscprobe.elf $sub/tscprobe-dump failed"
for f in tscprobe.elf tscprobe-dump; do
    [ -f "$bdir/$sub/$f" ] || die "ninja built no $bdir/$sub/$f"
done

mkdir -p "$PAYLOAD/tscprobe" "$PAYLOAD/lib"
cp "$bdir/$sub/tscprobe.elf" "$PAYLOAD/tscprobe/tscprobe.elf"
if [ "${LAB_STRIP:-1}" = 1 ] && command -v strip >/dev/null; then
    strip -o "$PAYLOAD/tscprobe/tscprobe-dump" "$bdir/$sub/tscprobe-dump"
else
    cp "$bdir/$sub/tscprobe-dump" "$PAYLOAD/tscprobe/tscprobe-dump"
fi
chmod 755 "$PAYLOAD/tscprobe/tscprobe-dump"
cp "$REPO/tests/lab/lib/tscprobe.sh" "$PAYLOAD/tscprobe/lib.sh"
cp "$REPO/tests/lab/lib/migrate.sh" "$PAYLOAD/tscprobe/migrate.sh"
cp "$REPO/tests/lab/lib/hvcheck.sh" "$PAYLOAD/tscprobe/hvcheck.sh"

# The libraries ldd resolves, by soname, unless already in the payload.
ldd "$bdir/$sub/tscprobe-dump" | awk '
    $2 == "=>" && $3 ~ /^\// { print $1, $3; next }
    $1 ~ /^\// { n = split($1, p, "/"); print p[n], $1 }' |
while read -r name path; do
    [ -e "$PAYLOAD/lib/$name" ] || cp -L "$path" "$PAYLOAD/lib/$name"
done
[ -f "$PAYLOAD/lib/ld-linux-x86-64.so.2" ] ||
    die "ldd listed no /lib64/ld-linux-x86-64.so.2 for tscprobe-dump"
echo "40-tscprobe.sh: tscprobe.elf, tscprobe-dump from $bdir/$sub" >&2

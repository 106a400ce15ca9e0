#!/bin/sh
# libvirt's own syntax-check rules (build-aux/syntax-check.mk) over the
# patched libvirt tree make libvirt built (build/libvirt/src: Debian's
# source, its patches, this project's series and libvirt/ files). The
# rules list files with git, so the tree is copied into a scratch git
# repository first, without debian/ and subprojects/ (neither is in an
# upstream libvirt checkout; Debian's files break several rules). meson
# runs the same rules as `meson test --suite syntax-check` in a git
# checkout. TAP out: one line per rule that fails, or one ok line.
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
src=build/libvirt/src
if [ ! -f "$src/build-aux/syntax-check.mk" ]; then
    tap_fail "libvirt syntax-check: no $src (make libvirt)"
    exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# A copy: the rules must not see build/libvirt/src's .pc/ (quilt) either.
(cd "$src" && tar --exclude=./debian --exclude=./subprojects \
    --exclude=./.pc -cf - .) | (mkdir "$tmp/src" && cd "$tmp/src" && tar xf -)
git -C "$tmp/src" init -q
git -C "$tmp/src" add -A -f
git -C "$tmp/src" -c user.name=check -c user.email=check@localhost \
    commit -q -m tree
mkdir "$tmp/sc"
sed -e "s|@top_srcdir@|$tmp/src|" \
    -e "s|@top_builddir@|$PWD/build/libvirt/build|" \
    -e 's|@flake8_path@||' -e 's|@black_path@||' \
    -e 's|@runutf8@|env LC_ALL=C.UTF-8|' \
    -e 's|@PYTHON3@|/usr/bin/python3|' -e 's|@GREP@|/usr/bin/grep|' \
    -e 's|@SED@|/usr/bin/sed|' -e 's|@AWK@|/usr/bin/awk|' \
    "$src/build-aux/Makefile.in" > "$tmp/sc/Makefile"
rules=$(sed -n 's/^sc_\([a-zA-Z0-9_-]*\):.*/\1/p' \
    "$src/build-aux/syntax-check.mk")
n=0 failed=0
for r in $rules; do
    n=$((n + 1))
    if ! out=$(make -s -C "$tmp/sc" "sc_$r" 2>&1); then
        failed=$((failed + 1))
        tap_fail "libvirt syntax-check: sc_$r"
        echo "$out" | sed "s|$tmp/src/||" | head -n 20 | sed 's/^/# /'
    fi
done
[ "$failed" = 0 ] &&
    tap_ok "libvirt syntax-check: $n rules pass on the patched tree"
[ "$failed" = 0 ]

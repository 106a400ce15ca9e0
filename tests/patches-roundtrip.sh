#!/bin/sh
# `make patches` round trip, the way a distribution consumes it: copy the
# pristine tree (Debian's patches already applied, .pc/ present), add the
# exported series to debian/patches, `quilt push -a`, and compare with the
# build tree the overlay produced.
set -u
. tests/lib.sh
src=$(qemu_src)
dist=${DIST:-dist}/patches
if [ ! -f "$dist/series" ] || [ ! -d build/src ]; then
    tap_fail "need $dist/series and build/src (run make patches)"
    exit 1
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/fork-roundtrip.XXXXXX")
trap 'rm -rf "$work"' EXIT
tree="$work/qemu"
cp -a "$src" "$tree" && chmod -R u+w "$tree"

cp -r "$dist"/qemu-tsc-fork "$tree/debian/patches/"
cat "$dist/series" >> "$tree/debian/patches/series"
if (cd "$tree" && QUILT_PATCHES=debian/patches quilt push -a -q --fuzz=0) \
        > "$work/quilt.log" 2>&1; then
    tap_ok "exported series applies with quilt on top of Debian's patches"
else
    sed 's/^/# /' "$work/quilt.log"
    tap_fail "exported series applies with quilt on top of Debian's patches"
    exit 1
fi

# Same result as the build tree, apart from quilt's bookkeeping.
if diff -r -q -x .pc -x patches "$tree" build/src > "$work/diff.log" 2>&1 &&
   diff -r -q "$tree/debian/patches/qemu-tsc-fork" "$dist/qemu-tsc-fork" \
        >> "$work/diff.log" 2>&1; then
    tap_ok "quilt result equals the overlay build tree"
else
    sed 's/^/# /' "$work/diff.log" | head -20
    tap_fail "quilt result equals the overlay build tree"
fi

n_ours=$(git ls-files | grep -c -E '^(accel|target|hw|migration|qapi|include|tests/qtest|docs/system)/')
# Plus the files laid over from elsewhere in the repo (the KVM UAPI header).
n_mapped=$(python3 -c 'import sys; sys.path.insert(0, "scripts")
import fork_files; print(len(fork_files.MAPPED_FILES))')
n_ours=$((n_ours + n_mapped))
n_added=$(grep -h -c '^new file mode' "$dist"/qemu-tsc-fork/*.patch |
          awk '{s += $1} END {print s}')
tap_check "series adds all $n_ours overlay files (found $n_added)" \
    test "$n_ours" = "$n_added"

# The libvirt series (dist/libvirt/patches) on Debian's libvirt source the
# same way, against the tree make libvirt built (build/libvirt/src).
# The tree build/libvirt/src was made from (not a newer one apt may know).
lvsrc=$(python3 -c 'import json; print(json.load(open(
    "build/libvirt/src.overlay-state.json"))["pristine"])' 2>/dev/null)
lvdist=${DIST:-dist}/libvirt/patches
if [ -z "$lvsrc" ] || [ ! -f "$lvdist/series" ] || [ ! -d build/libvirt/src ]; then
    tap_fail "need the libvirt source, $lvdist/series and build/libvirt/src" \
        "(make patches, make libvirt)"
    exit 1
fi
lvtree="$work/libvirt"
cp -a "$lvsrc" "$lvtree" && chmod -R u+w "$lvtree"
cp -r "$lvdist"/qemu-tsc-fork "$lvtree/debian/patches/"
cat "$lvdist/series" >> "$lvtree/debian/patches/series"
if (cd "$lvtree" && QUILT_PATCHES=debian/patches quilt push -a -q --fuzz=0) \
        > "$work/lvquilt.log" 2>&1; then
    tap_ok "exported libvirt series applies with quilt on top of Debian's patches"
else
    sed 's/^/# /' "$work/lvquilt.log"
    tap_fail "exported libvirt series applies with quilt on top of Debian's patches"
    exit 1
fi
if diff -r -q --no-dereference -x .pc -x patches "$lvtree" build/libvirt/src \
        > "$work/lvdiff.log" 2>&1; then
    tap_ok "libvirt: quilt result equals the overlay build tree"
else
    sed 's/^/# /' "$work/lvdiff.log" | head -20
    tap_fail "libvirt: quilt result equals the overlay build tree"
fi
n_lv=$(git ls-files --cached --others --exclude-standard libvirt | wc -l)
n_lv_added=$(grep -h -c '^new file mode' "$lvdist"/qemu-tsc-fork/*.patch |
             awk '{s += $1} END {print s}')
tap_check "libvirt series adds all $n_lv new files (found $n_lv_added)" \
    test "$n_lv" = "$n_lv_added"

#!/bin/sh
# QEMU's scripts/checkpatch.pl over the fork's own C files and hook patches.
# (Kernel code under kernel/ follows the kernel's style and its checkpatch;
# the libvirt series, libvirt/ and patches/libvirt/, follows libvirt's.)
set -u
. tests/lib.sh
src=$(qemu_src)
cp="$src/scripts/checkpatch.pl"
if [ ! -f "$cp" ]; then
    tap_fail "checkpatch.pl not found in '$src' (run ./configure)"
    exit 1
fi
for f in $(git ls-files '*.c' '*.h' | grep -v -e '^kernel/' -e '^libvirt/'); do
    if out=$(perl "$cp" --no-tree --terse -f "$f" 2>&1); then
        tap_ok "checkpatch $f"
    else
        tap_fail "checkpatch $f"
        echo "$out" | sed 's/^/# /'
    fi
done
for p in $(git ls-files 'patches/qemu/*.patch'); do
    if out=$(perl "$cp" --no-tree --terse "$p" 2>&1); then
        tap_ok "checkpatch $p"
    else
        tap_fail "checkpatch $p"
        echo "$out" | sed 's/^/# /'
    fi
done

#!/bin/sh
# The fork's KVM series (kernel/kvm) outside the lab:
#   - the modules build (kernel/kvm/build, incremental) and carry the
#     fork's ioctls;
#   - make kernel-patches' git format-patch series applies with git am to
#     the pristine linux-source and gives exactly the tree the modules
#     were built from;
#   - the kernel's checkpatch.pl passes on every exported patch and on
#     the new files;
#   - the one UAPI header compiles in userspace, matches struct
#     kvm_clock_data's layout, uses no number of Linux 6.12's <linux/kvm.h>,
#     and is what QEMU's build tree includes.
# The ioctls themselves are tested in the lab (precise-tsc-kvm on host
# deb612-ours).
set -u
. tests/lib.sh
REPO=$PWD
. kernel/kvm/lib.sh
rc=0
t=$(mktemp -d "${TMPDIR:-/tmp}/kernel-check.XXXXXX")
trap 'rm -rf "$t"' EXIT

fail() { tap_fail "$@"; rc=1; }
check() {
    desc=$1
    shift
    if "$@"; then tap_ok "$desc"; else fail "$desc"; fi
}

if kernel/kvm/build > "$t/build.log" 2>&1; then
    tap_ok "kernel/kvm/build: $(cat build/kernel/modules/VERSION)"
else
    fail "kernel/kvm/build failed"
    tail -n 20 "$t/build.log" | sed 's/^/# /'
    exit 1
fi
kvm_resolve
kvm_pristine
for m in kvm kvm-amd kvm-intel; do
    check "$m.ko built for $KVM_KREL" sh -c \
        "modinfo -F vermagic build/kernel/modules/$m.ko | grep -q '^$KVM_KREL '"
done
check "kvm.ko carries the fork's TSC state code" sh -c \
    "nm build/kernel/modules/kvm.ko | grep -q ' kvm_vm_ioctl_tsc_state$'"

# Export, then replay the export on the pristine files with git am.
if kernel/kvm/export-patches > "$t/export.log" 2>&1; then
    tap_ok "make kernel-patches: $(wc -l < dist/kernel/series) patches"
else
    fail "kernel/kvm/export-patches failed"
    sed 's/^/# /' "$t/export.log"
    exit 1
fi
check "one exported patch per series line" \
    test "$(wc -l < dist/kernel/series)" = "$(kvm_series | wc -l)"
mkdir -p "$t/am/arch/x86" "$t/am/virt" "$t/am/include/uapi/linux" \
    "$t/am/Documentation/virt/kvm"
cp -r "$KVM_PRISTINE/arch/x86/kvm" "$t/am/arch/x86/"
cp -r "$KVM_PRISTINE/virt/kvm" "$t/am/virt/"
cp "$KVM_PRISTINE/include/uapi/linux/kvm.h" "$t/am/include/uapi/linux/"
cp "$KVM_PRISTINE/Documentation/virt/kvm/api.rst" \
    "$t/am/Documentation/virt/kvm/"
(
    cd "$t/am" && git init -q && git add -A &&
        git -c user.name=t -c user.email=t@t commit -q -m base &&
        git -c user.name=t -c user.email=t@t am -q \
            "$REPO"/dist/kernel/*.patch
) > "$t/am.log" 2>&1
check "git am applies dist/kernel/*.patch to pristine $KVM_SRC_PKG $KVM_VER" \
    test -z "$(cd "$t/am" && git status --porcelain 2>&1)" -a -s "$t/am/arch/x86/kvm/precise_tsc.c"
rm -rf "$t/am/.git"
# The build's staged tree, less its out-of-tree shim.
check "the exported series gives exactly the tree the modules were built from" \
    diff -r -x Kbuild -x Makefile.oot "$t/am" build/kernel/kvm-stage

cp=$KVM_PRISTINE/scripts/checkpatch.pl
for p in dist/kernel/*.patch; do
    # New files are the point of the series; no MAINTAINERS in a fork.
    if out=$(perl "$cp" --no-tree --terse --ignore FILE_PATH_CHANGES "$p" 2>&1); then
        tap_ok "kernel checkpatch $(basename "$p")"
    else
        fail "kernel checkpatch $(basename "$p")"
        echo "$out" | sed 's/^/# /'
    fi
done

# The UAPI header, in userspace, against the layout it promises.
cat > "$t/uapi.c" <<'EOF'
#include <stddef.h>
#include <linux/kvm.h>
#include <linux/kvm_precise_tsc.h>
_Static_assert(sizeof(struct kvm_clock_tai) == sizeof(struct kvm_clock_data),
	       "kvm_clock_tai size");
_Static_assert(offsetof(struct kvm_clock_tai, tai) ==
	       offsetof(struct kvm_clock_data, pad), "tai in pad");
_Static_assert(sizeof(struct kvm_tsc_state) == 64, "kvm_tsc_state size");
_Static_assert(sizeof(struct kvm_tsc_state_vcpu) == 24, "vcpu entry size");
EOF
check "kvm_precise_tsc.h compiles in userspace; layouts as documented" \
    gcc -fsyntax-only -Wall -Werror -I kernel/kvm/include/uapi "$t/uapi.c"
# Fork-local numbers: no ioctl number or capability of upstream's kvm.h.
nums=$(sed -n 's/.*_IO[WR]*(KVMIO, *\(0x[0-9a-f]*\).*/\1/p' \
    kernel/kvm/include/uapi/linux/kvm_precise_tsc.h)
clash=""
for n in $nums; do
    grep -q "KVMIO, *$n[,)]" "$KVM_PRISTINE/include/uapi/linux/kvm.h" &&
        clash="$clash $n"
done
check "fork ioctl numbers ($(echo $nums)) unused in $KVM_SRC_PKG's kvm.h" \
    test -z "$clash"
cap=$(sed -n 's/^#define KVM_CAP_PRECISE_TSC[[:space:]]*//p' \
    kernel/kvm/include/uapi/linux/kvm_precise_tsc.h)
top=$(sed -n 's/^#define KVM_CAP_[A-Z0-9_]* *\([0-9][0-9]*\)$/\1/p' \
    "$KVM_PRISTINE/include/uapi/linux/kvm.h" | sort -n | tail -n 1)
check "KVM_CAP_PRECISE_TSC ($cap) beyond upstream's last capability ($top)" \
    test "$((cap))" -gt "$top"

# QEMU includes the same file, never a copy in the repo.
copies=$(git ls-files | grep 'kvm_precise_tsc\.h$' | grep -v '^kernel/kvm/')
check "the repo holds one kvm_precise_tsc.h" test -z "$copies"
if [ -f build/src/linux-headers/linux/kvm_precise_tsc.h ]; then
    check "QEMU's build tree has the canonical kvm_precise_tsc.h" \
        cmp -s build/src/linux-headers/linux/kvm_precise_tsc.h \
        kernel/kvm/include/uapi/linux/kvm_precise_tsc.h
else
    tap_ok "QEMU's build tree not made yet # SKIP run make qemu first"
fi
exit $rc

/*
 * kvm-fault.so: make chosen KVM ioctls of a QEMU fail, to test the fork's
 * precise TSC failure paths in the lab (tests/lab/tests/precise-faults.sh).
 *
 *   LD_PRELOAD=/lab/progs/kvm-fault.so KVM_FAULT_FILE=F qemu-system-x86_64 ...
 *
 * Each time QEMU makes one of the ioctls below, the shim reads F, a single
 * line "NAME COUNT". If NAME is that ioctl's and COUNT > 0, the ioctl fails
 * without reaching KVM (errno as listed) and F is rewritten with COUNT - 1,
 * so a test arms a fault by writing F and sees it consumed when F says 0.
 * No file, another name or COUNT 0: the ioctl goes to KVM.
 *
 *   tsc_adjust_read   KVM_GET_MSRS of IA32_TSC_ADJUST alone       EIO
 *   tsc_offset_set    KVM_SET_DEVICE_ATTR of KVM_VCPU_TSC_OFFSET  EIO
 *   tsc_state_get     KVM_GET_TSC_STATE (the fork's kernel)       EBUSY
 *   tsc_state_set     KVM_SET_TSC_STATE                           EBUSY
 *   tsc_state_set_eio KVM_SET_TSC_STATE                           EIO
 *
 * One armed line changes a value instead of failing an ioctl:
 *
 *   l2_tsc_as_l1 COUNT DELTA
 *                     each KVM_SET_MSRS that writes IA32_TSC counts COUNT
 *                     down; the one that takes it to 0 has DELTA added to
 *                     that TSC value. With DELTA = a nested guest's VMCB
 *                     TSC offset this is what a VMM did before KVM fixed
 *                     host reads of IA32_TSC in guest mode (seed 004): it
 *                     saved L2's TSC and restored it as L1's
 *                     (tests/lab/tests/nested.sh).
 *
 * QEMU reads IA32_TSC_ADJUST on its own only among many MSRs, so a single
 * MSR read is the fork's. The file is read and written with the BQL held
 * by the caller (every one of these ioctls is made under it; the
 * KVM_SET_MSRS the value change looks at is QEMU's own, when it loads a
 * state).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/kvm.h>
#include <linux/kvm_precise_tsc.h>

#define MSR_IA32_TSC        0x10
#define MSR_IA32_TSC_ADJUST 0x3b

typedef int (*ioctl_fn)(int fd, unsigned long request, ...);

/* The fault NAME this ioctl would take and its errno; NULL for none. */
static const char *fault_of(unsigned long request, void *arg, int *err)
{
    *err = EIO;
    if (request == KVM_GET_MSRS) {
        const struct kvm_msrs *msrs = arg;

        if (msrs->nmsrs == 1 && msrs->entries[0].index == MSR_IA32_TSC_ADJUST) {
            return "tsc_adjust_read";
        }
    } else if (request == KVM_SET_DEVICE_ATTR) {
        const struct kvm_device_attr *attr = arg;

        if (attr->group == KVM_VCPU_TSC_CTRL &&
            attr->attr == KVM_VCPU_TSC_OFFSET) {
            return "tsc_offset_set";
        }
    } else if (request == KVM_GET_TSC_STATE) {
        *err = EBUSY;
        return "tsc_state_get";
    } else if (request == KVM_SET_TSC_STATE) {
        *err = EBUSY;
        return "tsc_state_set";
    }
    return NULL;
}

/* Whether the armed fault is @name with a count left; consumes one. */
static int take_fault(const char *name)
{
    const char *path = getenv("KVM_FAULT_FILE");
    char armed[64];
    long count;
    FILE *f;
    int n;

    if (!path) {
        return 0;
    }
    f = fopen(path, "r");
    if (!f) {
        return 0;
    }
    n = fscanf(f, "%63s %ld", armed, &count);
    fclose(f);
    if (n != 2 || count <= 0 || strcmp(armed, name)) {
        return 0;
    }
    f = fopen(path, "w");
    if (f) {
        fprintf(f, "%s %ld\n", armed, count - 1);
        fclose(f);
    }
    return 1;
}

/*
 * A value change @name ("NAME COUNT DELTA"): count this call; true if it
 * is the one to change, with DELTA in *@delta.
 */
static int take_delta(const char *name, long long *delta)
{
    const char *path = getenv("KVM_FAULT_FILE");
    char armed[64];
    long count;
    FILE *f;
    int n;

    f = path ? fopen(path, "r") : NULL;
    if (!f) {
        return 0;
    }
    n = fscanf(f, "%63s %ld %lld", armed, &count, delta);
    fclose(f);
    if (n != 3 || count <= 0 || strcmp(armed, name)) {
        return 0;
    }
    f = fopen(path, "w");
    if (f) {
        fprintf(f, "%s %ld %lld\n", armed, count - 1, *delta);
        fclose(f);
    }
    return count == 1;
}

static void change_tsc_write(struct kvm_msrs *msrs)
{
    long long delta;

    for (unsigned i = 0; i < msrs->nmsrs; i++) {
        if (msrs->entries[i].index == MSR_IA32_TSC) {
            if (take_delta("l2_tsc_as_l1", &delta)) {
                msrs->entries[i].data += (unsigned long long)delta;
            }
            return;
        }
    }
}

int ioctl(int fd, unsigned long request, ...)
{
    static ioctl_fn real;
    const char *name;
    va_list ap;
    void *arg;
    int err;

    va_start(ap, request);
    arg = va_arg(ap, void *);
    va_end(ap);
    if (!real) {
        real = (ioctl_fn)dlsym(RTLD_NEXT, "ioctl");
    }
    if (request == KVM_SET_MSRS) {
        change_tsc_write(arg);
    }
    name = fault_of(request, arg, &err);
    if (name) {
        if (take_fault(name)) {
            errno = err;
            return -1;
        }
        /* The EIO variant of KVM_SET_TSC_STATE's fault. */
        if (request == KVM_SET_TSC_STATE && take_fault("tsc_state_set_eio")) {
            errno = EIO;
            return -1;
        }
    }
    return real(fd, request, arg);
}

/*
 * Precise guest TSC save/restore through the kernel's VM-wide TSC state
 *
 * With the fork's KVM series (kernel/kvm, docs/kernel.md) the kernel
 * reads every vCPU's TSC at one host instant (KVM_GET_TSC_STATE) and puts
 * them back from one host TSC read, advanced by the CLOCK_TAI time since
 * and bounded by the caller (KVM_SET_TSC_STATE); kvmclock follows with
 * KVM_SET_CLOCK_TAI for the same instant. The migrated state is the same
 * as on the offsets path.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/timer.h"
#include "system/kvm.h"
#include "hw/core/cpu.h"
#include "cpu.h"
#include "kvm_i386.h"
#include <linux/kvm.h>
#include <linux/kvm_precise_tsc.h>
#include "precise-tsc-int.h"
#include "trace.h"

#define NEEDED_CAPS (KVM_PRECISE_TSC_HAS_CLOCK_TAI | \
                     KVM_PRECISE_TSC_HAS_TSC_STATE)

/*
 * KVM_{GET,SET}_TSC_STATE fail with -EBUSY, changing nothing, while any
 * vCPU is inside an ioctl. QEMU calls them with the VM stopped and the
 * BQL held, so only a vCPU ioctl that does not take the BQL (a vCPU
 * thread on its way out of KVM_RUN, another process on the VM's fds) can
 * collide: retry for a bounded time, then fail to the legacy path.
 */
#define TSC_STATE_BUSY_RETRIES  100
#define TSC_STATE_BUSY_WAIT_US  1000

bool precise_tsc_kvm_state_supported(void)
{
    static int supported = -1;

    if (supported < 0) {
        int caps = kvm_vm_check_extension(kvm_state, KVM_CAP_PRECISE_TSC);

        supported = caps > 0 && (caps & NEEDED_CAPS) == NEEDED_CAPS;
    }
    return supported;
}

/* One of KVM_{GET,SET}_TSC_STATE, retried while the kernel is busy. */
static int tsc_state_ioctl(unsigned long type, struct kvm_tsc_state *ks)
{
    int ret, busy = 0;

    while ((ret = kvm_vm_ioctl(kvm_state, type, ks)) == -EBUSY &&
           busy < TSC_STATE_BUSY_RETRIES) {
        busy++;
        g_usleep(TSC_STATE_BUSY_WAIT_US);
    }
    if (busy) {
        trace_precise_tsc_state_busy(type == KVM_GET_TSC_STATE ? "get" : "set",
                                     busy, ret);
    }
    return ret;
}

static struct kvm_tsc_state *tsc_state_new(uint32_t nr_vcpus)
{
    struct kvm_tsc_state *ks = g_malloc0(sizeof(*ks) +
                                         nr_vcpus * sizeof(ks->vcpus[0]));

    ks->nr_vcpus = nr_vcpus;
    return ks;
}

static const struct kvm_tsc_state_vcpu *
tsc_state_vcpu(const struct kvm_tsc_state *ks, CPUState *cs)
{
    uint32_t id = kvm_arch_vcpu_id(cs);

    for (uint32_t i = 0; i < ks->nr_vcpus; i++) {
        if (ks->vcpus[i].vcpu_id == id) {
            return &ks->vcpus[i];
        }
    }
    return NULL;
}

/*
 * kvmclock at the TSC state's instant. It runs on while the VM is
 * stopped, so a later reading is taken back by the TAI time between.
 */
static bool kvmclock_at(int64_t ref_tai, uint64_t *clock_ns, Error **errp)
{
    struct kvm_clock_tai ct = { 0 };
    int ret = kvm_vm_ioctl(kvm_state, KVM_GET_CLOCK, &ct);

    if (ret < 0) {
        error_setg_errno(errp, -ret, "precise-tsc: KVM_GET_CLOCK failed");
        return false;
    }
    if (!(ct.flags & KVM_CLOCK_TAI)) {
        ct.tai = precise_tsc_tai_now();
    }
    *clock_ns = ct.clock - (ct.tai - ref_tai);
    return true;
}

bool precise_tsc_kvm_state_capture(PreciseTscState *st,
                                   PreciseTscHostSample *hs, Error **errp)
{
    g_autofree struct kvm_tsc_state *ks =
        tsc_state_new(precise_tsc_nr_vcpus());
    CPUState *cs;
    int ret = tsc_state_ioctl(KVM_GET_TSC_STATE, ks);

    if (ret < 0) {
        error_setg_errno(errp, -ret, "precise-tsc: KVM_GET_TSC_STATE failed");
        return false;
    }
    CPU_FOREACH(cs) {
        X86CPU *cpu = X86_CPU(cs);
        const struct kvm_tsc_state_vcpu *v = tsc_state_vcpu(ks, cs);
        int slot = cs->cpu_index;

        if (!v) {
            error_setg(errp, "precise-tsc: KVM_GET_TSC_STATE lacks vCPU %d",
                       slot);
            return false;
        }
        st->guest_tsc[slot] = v->tsc;
        st->tsc_adjust[slot] = v->tsc_adjust;
        st->sampled[slot] = true;
        /* The legacy per-CPU field, from the same instant. */
        cpu->env.tsc = v->tsc;
        cpu->env.tsc_valid = true;
    }
    st->tsc_khz = ks->tsc_khz;
    hs->host_tsc = ks->host_tsc;
    hs->tai_ns = ks->tai;
    hs->tai_offset_s = precise_tsc_host_tai_offset();
    hs->realtime_ns = 0;
    hs->bracket_ns = 0;
    hs->from_kvm = ks->flags & KVM_TSC_STATE_TAI_EXACT;
    return kvmclock_at(ks->tai, &hs->kvmclock_ns, errp);
}

static int set_tsc_state(struct kvm_tsc_state *ks)
{
    return tsc_state_ioctl(KVM_SET_TSC_STATE, ks);
}

/*
 * The policy's bound is the kernel's: past it, freeze (elapsed 0).
 * ref_tai_ns is the reference instant in this host's CLOCK_TAI.
 */
static int restore_tsc(const PreciseTscState *st, int64_t ref_tai_ns,
                       uint32_t tsc_khz, uint64_t limit_ns,
                       struct kvm_tsc_state *ks, PreciseTscReport *r)
{
    CPUState *cs;
    uint32_t i = 0;
    int ret;

    ks->flags = KVM_TSC_STATE_MAX_ELAPSED;
    /*
     * The rate KVM runs the vCPUs at here, which the kernel checks: the
     * stream's differs when this host cannot scale to it.
     */
    ks->tsc_khz = tsc_khz;
    ks->tai = ref_tai_ns;
    ks->max_elapsed = limit_ns;
    CPU_FOREACH(cs) {
        int slot = precise_tsc_sample_slot(cs);

        /* tsc_state_new() sized ks for every vCPU there is now. */
        assert(i < ks->nr_vcpus);
        ks->vcpus[i].vcpu_id = kvm_arch_vcpu_id(cs);
        ks->vcpus[i].tsc = st->guest_tsc[slot];
        /* A vCPU plugged in while stopped has its own, reset value. */
        ks->vcpus[i].tsc_adjust = slot == cs->cpu_index ?
                                  st->tsc_adjust[slot] : 0;
        i++;
    }
    ret = set_tsc_state(ks);
    if (ret == -ERANGE) {
        ks->flags = KVM_TSC_STATE_ELAPSED;
        ks->elapsed = 0;
        ks->max_elapsed = 0;
        ret = set_tsc_state(ks);
        /* Measured at the instant the frozen state was applied. */
        r->elapsed_measured_ns = ks->tai - ref_tai_ns;
        r->outcome = TSC_ELAPSED_FROZEN;
        return ret;
    }
    if (ret == 0 && (ks->flags & KVM_TSC_STATE_CLAMPED)) {
        r->elapsed_measured_ns = ks->tai - ref_tai_ns;
        r->outcome = TSC_ELAPSED_NEGATIVE;
    } else if (ret == 0) {
        r->elapsed_measured_ns = ks->elapsed;
        r->outcome = TSC_ELAPSED_ADVANCED;
    }
    return ret;
}

bool precise_tsc_kvm_state_restore(const PreciseTscState *st,
                                   int64_t ref_tai_ns, uint64_t limit_ns,
                                   PreciseTscReport *r, Error **errp)
{
    g_autofree struct kvm_tsc_state *ks =
        tsc_state_new(precise_tsc_nr_vcpus());
    struct kvm_clock_tai ct = { 0 };
    int khz = precise_tsc_vcpus_khz(errp);
    int ret;

    if (khz < 0) {
        return false;
    }
    ret = restore_tsc(st, ref_tai_ns, khz, limit_ns, ks, r);

    if (ret < 0) {
        error_setg_errno(errp, -ret, "precise-tsc: KVM_SET_TSC_STATE failed");
        return false;
    }
    r->elapsed_applied_ns = ks->elapsed;
    r->bracket_ns = st->bracket_ns;
    r->host_tsc = ks->host_tsc;
    r->vcpu0_tsc = st->guest_tsc[precise_tsc_sample_slot(first_cpu)] +
                   tsc_cycles_from_ns(ks->elapsed, ks->tsc_khz);
    /*
     * kvmclock for the instant the TSCs were set at; the kernel adds the
     * TAI time from then to this ioctl, so both stay on one line.
     */
    ct.clock = st->ref_kvmclock_ns + ks->elapsed;
    ct.flags = KVM_CLOCK_TAI;
    ct.tai = ks->tai;
    ret = kvm_vm_ioctl(kvm_state, KVM_SET_CLOCK_TAI, &ct);
    if (ret < 0) {
        error_setg_errno(errp, -ret, "precise-tsc: KVM_SET_CLOCK_TAI failed");
        return false;
    }
    return true;
}

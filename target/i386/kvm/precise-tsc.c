/*
 * Precise guest TSC and kvmclock save/restore with one VM-wide instant
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/timer.h"
#include "qemu/error-report.h"
#include "qemu/cutils.h"
#include "system/kvm.h"
#include "system/runstate.h"
#include "system/system.h"
#include "hw/boards.h"
#include "hw/core/cpu.h"
#include "cpu.h"
#include "kvm_i386.h"
#include "host-cpu.h"
#include <linux/kvm.h>
#include "precise-tsc.h"
#include "precise-tsc-int.h"
#include "trace.h"

/*
 * Runs after every other VM-start handler (kvmclock's included) and
 * before them at stop: the sample is taken while every device still
 * holds its stop-time state.
 */
#define PRECISE_TSC_HANDLER_PRIO 1000

/* Frac bits of KVM's TSC scaling ratio: VMX uses 48, SVM 32. */
#define VMX_TSC_RATIO_FRAC_BITS 48
#define SVM_TSC_RATIO_FRAC_BITS 32

/*
 * Off unless the machine type turns it on (the fork's pc-*-precise<N>
 * types, hw/i386/precise-machine.c) or -accel kvm,precise-tsc=on asks:
 * an upstream machine type keeps stock QEMU's stream and behaviour.
 */
PreciseTsc precise_tsc = {
    .enabled = false,
    .advance_limit_ms = 10 * 1000,
};

uint32_t precise_tsc_nr_vcpus(void)
{
    CPUState *cs;
    uint32_t n = 0;

    CPU_FOREACH(cs) {
        n++;
    }
    return n;
}

void precise_tsc_state_init(PreciseTscState *st, uint32_t nr_slots)
{
    st->nr_slots = nr_slots;
    st->sampled = g_new0(bool, nr_slots);
    st->present_at_load = g_new0(bool, nr_slots);
    st->guest_tsc = g_new0(uint64_t, nr_slots);
    st->tsc_adjust = g_new0(uint64_t, nr_slots);
    st->tsc_deadline = g_new0(uint64_t, nr_slots);
}

bool precise_tsc_slot_sampled(int slot)
{
    const PreciseTscState *st = &precise_tsc.state;

    return slot >= 0 && slot < st->nr_slots && st->sampled[slot];
}

/*
 * The slot whose sample vCPU @cs is saved or restored from: its own, or
 * for a vCPU plugged in after the sample (none of its own), the first
 * sampled vCPU's: KVM started it on the VM's TSC, which every vCPU of a
 * VM shares, and it must stay in phase with the others. Only called
 * while a sample is pending, which always has a sampled slot: a
 * capture samples every vCPU, a load its own, and a vCPU is unplugged
 * only when its guest ejects it, which it cannot while the VM is
 * stopped with a sample pending.
 */
int precise_tsc_sample_slot(CPUState *cs)
{
    const PreciseTscState *st = &precise_tsc.state;

    if (precise_tsc_slot_sampled(cs->cpu_index)) {
        return cs->cpu_index;
    }
    for (uint32_t slot = 0; slot < st->nr_slots; slot++) {
        if (st->sampled[slot]) {
            return slot;
        }
    }
    g_assert_not_reached();
}

/* Forget the pending sample (a reset or a load supersedes it). */
void precise_tsc_drop_sample(void)
{
    PreciseTscState *st = &precise_tsc.state;

    precise_tsc.pending = false;
    precise_tsc.loaded = false;
    st->flags = 0;
    if (st->sampled) {
        memset(st->sampled, 0, st->nr_slots * sizeof(bool));
        memset(st->present_at_load, 0, st->nr_slots * sizeof(bool));
        memset(st->tsc_deadline, 0, st->nr_slots * sizeof(uint64_t));
    }
}

/*
 * At the first vCPU subsection of a load: the vCPUs the stream must
 * cover, told apart from those plugged in after the load.
 */
void precise_tsc_note_vcpus_at_load(void)
{
    CPUState *cs;

    CPU_FOREACH(cs) {
        precise_tsc.state.present_at_load[cs->cpu_index] = true;
    }
}

int precise_tsc_vcpu_offset(CPUState *cs, unsigned long ioctl_nr,
                            uint64_t *offset)
{
    struct kvm_device_attr attr = {
        .group = KVM_VCPU_TSC_CTRL,
        .attr = KVM_VCPU_TSC_OFFSET,
        .addr = (uintptr_t)offset,
    };

    return kvm_vcpu_ioctl(cs, ioctl_nr, &attr);
}

static int vcpu_msr(CPUState *cs, unsigned long ioctl_nr, uint32_t index,
                    uint64_t *value)
{
    struct {
        struct kvm_msrs info;
        struct kvm_msr_entry entry;
    } msrs = {
        .info.nmsrs = 1,
        .entry.index = index,
        .entry.data = *value,
    };
    int ret = kvm_vcpu_ioctl(cs, ioctl_nr, &msrs);

    if (ret == 1) {
        *value = msrs.entry.data;
        return 0;
    }
    return ret < 0 ? ret : -EIO;
}

bool precise_tsc_kernel_supported(void)
{
    CPUState *cs = first_cpu;
    struct kvm_device_attr attr = {
        .group = KVM_VCPU_TSC_CTRL,
        .attr = KVM_VCPU_TSC_OFFSET,
    };

    if (precise_tsc.probed || !cs) {
        return precise_tsc.supported;
    }
    precise_tsc.probed = true;
    precise_tsc.supported =
        kvm_vcpu_ioctl(cs, KVM_HAS_DEVICE_ATTR, &attr) == 0;
    if (!precise_tsc.supported) {
        warn_report("precise-tsc: kernel lacks KVM_VCPU_TSC_OFFSET "
                    "(Linux >= 5.16); using legacy MSR_IA32_TSC save/restore");
    }
    return precise_tsc.supported;
}

/*
 * The one place that decides how the TSC is saved and restored: the
 * kernel's VM-wide state where the kernel has it, else the per-vCPU
 * offsets, else the legacy MSR. Capture, restore and the query ask here.
 */
PreciseTscKernelPath precise_tsc_kernel_path(void)
{
    if (!precise_tsc_kernel_supported()) {
        return PRECISE_TSC_KPATH_LEGACY;
    }
    return precise_tsc_kvm_state_supported() ? PRECISE_TSC_KPATH_TSC_STATE
                                             : PRECISE_TSC_KPATH_OFFSETS;
}

/* Whether KVM runs on SVM, whose TSC ratio has 32 fraction bits. */
static bool host_is_amd(void)
{
    char vendor[CPUID_VENDOR_SZ + 1];

    host_cpu_vendor_fms(vendor, NULL, NULL, NULL);
    return !strcmp(vendor, CPUID_VENDOR_AMD) ||
           !strcmp(vendor, CPUID_VENDOR_HYGON);
}

/*
 * kvm.tsc_tolerance_ppm (writable at run time, so read when used); false
 * if it cannot be read.
 */
static bool kvm_tsc_tolerance_ppm(unsigned int *ppm)
{
    g_autofree char *text = NULL;

    return g_file_get_contents("/sys/module/kvm/parameters/tsc_tolerance_ppm",
                               &text, NULL, NULL) &&
           qemu_strtoui(g_strstrip(text), NULL, 10, ppm) == 0;
}

/*
 * The scaling KVM applies to a vCPU that runs at vcpu_khz (its
 * KVM_GET_TSC_KHZ). That rate alone does not tell: on a host without
 * TSC scaling, or within kvm.tsc_tolerance_ppm of the host's rate, KVM
 * runs the vCPU 1:1 and still reports the requested rate, as after a
 * migration between two hosts whose calibrations differ by a few ppm.
 * Derived as kvm_set_tsc_khz() does (tsc-math.c); a kernel that cannot
 * tell the host's rate while it could scale fails the precise path.
 *
 * Limits, as KVM: the host rate is the VM's default (max_tsc_khz or
 * tsc_khz at VM creation), which equals the tsc_khz KVM compares against
 * on hosts with a constant TSC and without a VM-wide KVM_SET_TSC_KHZ; a
 * ratio KVM refused (0, or above its maximum) is reported as applied; a
 * vCPU faster than a host without scaling is in KVM's catch-up mode,
 * which QEMU 10.0 never requests (it asks only within 250 ppm).
 */
bool precise_tsc_kvm_scaling(uint32_t vcpu_khz, TscScaling *s, Error **errp)
{
    TscKvmRates r = {
        .vcpu_khz = vcpu_khz,
        .has_tsc_control = kvm_check_extension(kvm_state,
                                               KVM_CAP_TSC_CONTROL) > 0,
        .frac_bits = host_is_amd() ? SVM_TSC_RATIO_FRAC_BITS
                                   : VMX_TSC_RATIO_FRAC_BITS,
    };
    int host_khz;

    if (r.has_tsc_control) {
        host_khz = kvm_vm_check_extension(kvm_state,
                                          KVM_CAP_VM_TSC_CONTROL) > 0 ?
                   kvm_vm_ioctl(kvm_state, KVM_GET_TSC_KHZ) : -ENOTTY;
        if (host_khz <= 0) {
            error_setg(errp, "precise-tsc: the host can scale the TSC but "
                       "this kernel does not report its rate (the VM's "
                       "KVM_GET_TSC_KHZ, Linux >= 5.18): the scaling KVM "
                       "applies is unknown");
            return false;
        }
        r.host_khz = host_khz;
        if (r.host_khz != vcpu_khz &&
            !kvm_tsc_tolerance_ppm(&r.tolerance_ppm)) {
            error_setg(errp, "precise-tsc: cannot read "
                       "/sys/module/kvm/parameters/tsc_tolerance_ppm: the "
                       "scaling KVM applies to a %u kHz vCPU on this %u kHz "
                       "host is unknown", vcpu_khz, r.host_khz);
            return false;
        }
    }
    *s = tsc_kvm_scaling(&r);
    return true;
}

/* The vCPUs' rate as KVM has it; all must agree. */
int precise_tsc_vcpus_khz(Error **errp)
{
    CPUState *cs;
    int khz = kvm_vcpu_ioctl(first_cpu, KVM_GET_TSC_KHZ);

    if (khz <= 0) {
        error_setg_errno(errp, khz ? -khz : EINVAL,
                         "precise-tsc: KVM_GET_TSC_KHZ failed");
        return -EINVAL;
    }
    CPU_FOREACH(cs) {
        if (kvm_vcpu_ioctl(cs, KVM_GET_TSC_KHZ) != khz) {
            error_setg(errp, "precise-tsc: vCPUs run at different TSC "
                       "frequencies");
            return -EINVAL;
        }
    }
    return khz;
}

/* The scaling the vCPUs run with, kept for the query. */
static bool vcpus_scaling(int *khz, TscScaling *s, Error **errp)
{
    *khz = precise_tsc_vcpus_khz(errp);
    if (*khz < 0 || !precise_tsc_kvm_scaling(*khz, s, errp)) {
        return false;
    }
    precise_tsc.scaling = *s;
    precise_tsc.scaling_valid = true;
    return true;
}

static bool capture_vcpus(PreciseTscState *st, uint64_t host_tsc,
                          Error **errp)
{
    CPUState *cs;
    TscScaling scaling;
    int khz;

    if (!vcpus_scaling(&khz, &scaling, errp)) {
        return false;
    }
    st->tsc_khz = khz;

    CPU_FOREACH(cs) {
        X86CPU *cpu = X86_CPU(cs);
        int slot = cs->cpu_index;
        uint64_t offset, adjust = 0;
        int ret = precise_tsc_vcpu_offset(cs, KVM_GET_DEVICE_ATTR, &offset);

        if (ret < 0) {
            error_setg_errno(errp, -ret, "precise-tsc: reading vCPU %d's TSC "
                             "offset failed", slot);
            return false;
        }
        /* KVM emulates IA32_TSC_ADJUST on every host: a failure is real. */
        ret = vcpu_msr(cs, KVM_GET_MSRS, MSR_TSC_ADJUST, &adjust);
        if (ret < 0) {
            error_setg_errno(errp, -ret, "precise-tsc: reading vCPU %d's "
                             "IA32_TSC_ADJUST failed", slot);
            return false;
        }
        st->guest_tsc[slot] = tsc_guest_at(host_tsc, &scaling, offset);
        st->tsc_adjust[slot] = adjust;
        st->sampled[slot] = true;
        /* The legacy per-CPU field, from the same instant. */
        cpu->env.tsc = st->guest_tsc[slot];
        cpu->env.tsc_valid = true;
    }
    return true;
}

/*
 * KVM arms the deadline against the TSC, so it is restored after it.
 * KVM emulates the MSR on every host (0 without an in-kernel LAPIC).
 */
static bool capture_deadlines(PreciseTscState *st, Error **errp)
{
    CPUState *cs;

    CPU_FOREACH(cs) {
        uint64_t deadline = 0;
        int ret = vcpu_msr(cs, KVM_GET_MSRS, MSR_IA32_TSCDEADLINE, &deadline);

        if (ret < 0) {
            error_setg_errno(errp, -ret, "precise-tsc: reading vCPU %d's "
                             "TSC deadline failed", cs->cpu_index);
            return false;
        }
        st->tsc_deadline[cs->cpu_index] = deadline;
    }
    return true;
}

static bool capture_state(PreciseTscState *st, PreciseTscHostSample *hs,
                          Error **errp)
{
    if (precise_tsc_kernel_path() == PRECISE_TSC_KPATH_TSC_STATE) {
        if (!precise_tsc_kvm_state_capture(st, hs, errp)) {
            return false;
        }
    } else if (precise_tsc_host_sample(hs, errp) < 0 ||
               !capture_vcpus(st, hs->host_tsc, errp)) {
        return false;
    }
    return capture_deadlines(st, errp);
}

/* At VM stop: one sample for the whole VM. */
static void precise_tsc_capture(void)
{
    PreciseTscState *st = &precise_tsc.state;
    PreciseTscHostSample hs;
    Error *err = NULL;
    int64_t start = get_clock();

    if (!precise_tsc_kernel_supported()) {
        return;
    }
    precise_tsc_drop_sample();
    if (!capture_state(st, &hs, &err)) {
        warn_report_err(err);
        precise_tsc_drop_sample();
        return;
    }
    st->flags = PRECISE_TSC_F_VALID |
                (hs.from_kvm ? PRECISE_TSC_F_KVM_PAIR : 0);
    st->ref_tai_ns = hs.tai_ns;
    st->ref_tai_offset_s = hs.tai_offset_s;
    st->ref_kvmclock_ns = hs.kvmclock_ns;
    st->bracket_ns = hs.bracket_ns;
    st->ref_host_tsc = hs.host_tsc;
    precise_tsc.pending = true;
    precise_tsc.loaded = false;
    precise_tsc_park_xen_timers();
    /* What the precise path adds to a migration's downtime, at stop. */
    precise_tsc.capture_ns = get_clock() - start;
    trace_precise_tsc_capture_instant(hs.host_tsc,
                                      st->guest_tsc[first_cpu->cpu_index]);
    trace_precise_tsc_capture(precise_tsc_nr_vcpus(), st->tsc_khz, hs.from_kvm,
                              hs.bracket_ns, precise_tsc.capture_ns);
}

static int set_vcpu_offsets(const PreciseTscState *st, uint64_t host_tsc,
                            const TscScaling *scaling,
                            uint64_t advance_cycles, Error **errp)
{
    CPUState *cs;

    CPU_FOREACH(cs) {
        int slot = precise_tsc_sample_slot(cs);
        uint64_t target = st->guest_tsc[slot] + advance_cycles;
        uint64_t offset = tsc_offset_for(target, host_tsc, scaling);
        int ret = precise_tsc_vcpu_offset(cs, KVM_SET_DEVICE_ATTR, &offset);

        if (ret < 0) {
            error_setg_errno(errp, -ret, "precise-tsc: setting vCPU %d's TSC "
                             "offset failed", cs->cpu_index);
            return ret;
        }
    }
    return 0;
}

static int set_kvmclock(const PreciseTscHostSample *now, uint64_t clock_ns)
{
    /*
     * The target is for the instant of our host sample; KVM adds the
     * time from then to this ioctl (CLOCK_REALTIME, forward only), so
     * kvmclock and the TSC offsets agree to the same instant.
     */
    struct kvm_clock_data data = {
        .clock = clock_ns,
        .flags = KVM_CLOCK_REALTIME,
        .realtime = now->realtime_ns,
    };

    return kvm_vm_ioctl(kvm_state, KVM_SET_CLOCK, &data);
}

/* KVM arms the deadline against the TSC current at the write: redo it. */
static void rearm_tsc_deadlines(const PreciseTscState *st)
{
    CPUState *cs;

    CPU_FOREACH(cs) {
        uint64_t deadline = precise_tsc.loaded ?
                            X86_CPU(cs)->env.tsc_deadline :
                            st->tsc_deadline[cs->cpu_index];

        if (deadline &&
            vcpu_msr(cs, KVM_SET_MSRS, MSR_IA32_TSCDEADLINE, &deadline) < 0) {
            /* Not fatal: the guest re-arms on its next timer interrupt. */
            warn_report("precise-tsc: re-arming vCPU %d's TSC deadline "
                        "failed; its pending timer may fire late",
                        cs->cpu_index);
        }
    }
}

/*
 * The reference instant in this host's CLOCK_TAI, in the time base both
 * hosts share (tsc_ref_in_local_tai()); says which in the report.
 */
static int64_t ref_tai_here(const PreciseTscState *st, int32_t tai_offset_s,
                            PreciseTscReport *r)
{
    r->tai_offset_s = tai_offset_s;
    r->source_tai_offset_s = st->ref_tai_offset_s;
    return tsc_ref_in_local_tai(st->ref_tai_ns, st->ref_tai_offset_s,
                                tai_offset_s, &r->time_base);
}

/*
 * The offsets path: one host sample here, every vCPU's offset from it.
 * The rate and the scaling are the vCPUs' as KVM has them here, not the
 * stream's: QEMU asks for the source's rate when it is within 250 ppm of
 * this host's or the host can scale, which KVM grants 1:1 within its
 * tolerance; otherwise the vCPUs keep this host's rate. The elapsed time
 * is added at that rate, as the kernel's KVM_SET_TSC_STATE does.
 */
static bool restore_offsets(const PreciseTscState *st, PreciseTscReport *r,
                            Error **errp)
{
    PreciseTscHostSample now;
    TscScaling scaling;
    uint64_t cycles;
    int khz, ret;

    if (!vcpus_scaling(&khz, &scaling, errp) ||
        precise_tsc_host_sample(&now, errp) < 0) {
        return false;
    }
    r->elapsed_measured_ns = now.tai_ns -
                             ref_tai_here(st, now.tai_offset_s, r);
    r->elapsed_applied_ns = tsc_elapsed_to_apply(
        r->elapsed_measured_ns,
        precise_tsc.advance_limit_ms * SCALE_MS, &r->outcome);
    r->bracket_ns = MAX(st->bracket_ns, now.bracket_ns);
    cycles = tsc_cycles_from_ns(r->elapsed_applied_ns, khz);
    r->host_tsc = now.host_tsc;
    r->vcpu0_tsc = st->guest_tsc[precise_tsc_sample_slot(first_cpu)] + cycles;

    if (set_vcpu_offsets(st, now.host_tsc, &scaling, cycles, errp) < 0) {
        return false;
    }
    ret = set_kvmclock(&now, st->ref_kvmclock_ns + r->elapsed_applied_ns);
    if (ret < 0) {
        error_setg_errno(errp, -ret, "precise-tsc: setting kvmclock failed");
        return false;
    }
    return true;
}

/*
 * A precise restore that failed: what QEMU 10.0 would have done. A load
 * left its MSR_IA32_TSC write (the stream's legacy per-CPU values, from
 * the same instant) to the precise path, so write it now; the deadlines
 * were held back as well.
 */
static void restore_legacy(const PreciseTscState *st, Error *cause)
{
    CPUState *cs;

    precise_tsc.legacy_fallbacks++;
    if (precise_tsc.loaded) {
        CPU_FOREACH(cs) {
            uint64_t tsc = X86_CPU(cs)->env.tsc;
            int ret;

            if (!precise_tsc_slot_sampled(cs->cpu_index)) {
                continue;       /* written at load: precise_tsc_owns_tsc_msr */
            }
            ret = vcpu_msr(cs, KVM_SET_MSRS, MSR_IA32_TSC, &tsc);
            if (ret < 0) {
                error_report("precise-tsc: writing vCPU %d's MSR_IA32_TSC "
                             "failed: %s", cs->cpu_index, strerror(-ret));
            }
        }
    }
    rearm_tsc_deadlines(st);
    warn_report("%s; the guest TSC was restored as QEMU 10.0 would (%s)",
                error_get_pretty(cause),
                precise_tsc.loaded ? "the stream's MSR_IA32_TSC values" :
                "left running through the pause");
    precise_tsc.loaded = false;
}

/*
 * A loaded sample must cover every vCPU there was when the load began:
 * a vCPU without its subsection has no value for the source's instant.
 * A vCPU plugged in here after the load has none to have: it is put in
 * phase with the others (precise_tsc_sample_slot()).
 */
static bool stream_has_every_vcpu(Error **errp)
{
    CPUState *cs;

    CPU_FOREACH(cs) {
        if (!precise_tsc_slot_sampled(cs->cpu_index) &&
            precise_tsc.state.present_at_load[cs->cpu_index]) {
            error_setg(errp, "precise-tsc: the stream has no precise TSC "
                       "state for vCPU %d", cs->cpu_index);
            return false;
        }
    }
    return true;
}

static bool precise_tsc_restore(void)
{
    PreciseTscState *st = &precise_tsc.state;
    PreciseTscReport *r = &precise_tsc.last;
    Error *err = NULL;
    int64_t start = get_clock();
    bool ok;

    if (!precise_tsc.pending) {
        return false;
    }
    precise_tsc.pending = false;
    r->from_stream = precise_tsc.loaded;
    if (precise_tsc.loaded && !stream_has_every_vcpu(&err)) {
        ok = false;
    } else if (precise_tsc_kernel_path() == PRECISE_TSC_KPATH_TSC_STATE) {
        ok = precise_tsc_kvm_state_restore(
            st, ref_tai_here(st, precise_tsc_host_tai_offset(), r),
            precise_tsc.advance_limit_ms * SCALE_MS, r, &err);
    } else {
        ok = restore_offsets(st, r, &err);
    }
    if (!ok) {
        r->valid = false;
        restore_legacy(st, err);
        error_free(err);
        /* Not lost: armed as QEMU 10.0 would, before kvmclock is set. */
        precise_tsc_arm_xen_timers();
        return false;
    }
    rearm_tsc_deadlines(st);
    precise_tsc_arm_xen_timers();
    r->valid = true;
    r->restore_ns = get_clock() - start;
    r->capture_ns = precise_tsc.capture_ns;
    if (r->outcome == TSC_ELAPSED_NEGATIVE) {
        warn_report("precise-tsc: host clock is %" PRId64 " ns behind the "
                    "saved reference; guest time not moved back",
                    -r->elapsed_measured_ns);
    }
    trace_precise_tsc_restore_instant(r->host_tsc, r->vcpu0_tsc);
    trace_precise_tsc_restore(r->elapsed_measured_ns, r->elapsed_applied_ns,
                              r->outcome, r->from_stream, r->restore_ns);
    precise_tsc_emit_restored(r);
    precise_tsc.loaded = false;
    return true;
}

bool precise_tsc_restore_on_start(void)
{
    return precise_tsc_restore();
}

static void precise_tsc_vm_state_change(void *opaque, bool running,
                                        RunState state)
{
    if (running) {
        /* VMs without a kvmclock device: nobody restored it yet. */
        precise_tsc_restore();
    } else {
        /*
         * A PRECISE_TSC_RESTORED still queued from the last start goes
         * out before this stop's STOP (rare; then inside the downtime).
         */
        precise_tsc_flush_restored();
        precise_tsc_capture();
    }
}

bool precise_tsc_owns_tsc_msr(CPUState *cs, int level)
{
    if (!precise_tsc.pending) {
        return false;
    }
    if (!precise_tsc_slot_sampled(cs->cpu_index)) {
        /*
         * A vCPU plugged in after the sample (its first full put) or one
         * the stream did not cover: its legacy value now, and the
         * restore puts it in phase. The others' sample stays.
         */
        return false;
    }
    if (level == KVM_PUT_FULL_STATE && precise_tsc.loaded) {
        return true;
    }
    /* A reset: the legacy value is the truth now, the sample stale. */
    precise_tsc_drop_sample();
    return false;
}

bool precise_tsc_owns_tsc_deadline(void)
{
    return precise_tsc.pending;
}

/*
 * Probe once the vCPUs exist and before any monitor command runs. Probed
 * on first use instead, the legacy warning went to whichever HMP command
 * needed it first (stop, info precise-tsc) rather than to stderr, and a
 * first query while the vCPUs ran waited for vCPU 0 to leave KVM_RUN.
 */
static void precise_tsc_machine_done(Notifier *n, void *data)
{
    /*
     * Only now is KVM known to be the accelerator: kvm_arch_init() goes
     * on after precise_tsc_init(), and with "-accel kvm:tcg" a KVM that
     * failed there leaves TCG running.
     */
    if (!kvm_enabled()) {
        return;
    }
    precise_tsc_state_init(&precise_tsc.state, current_machine->smp.max_cpus);
    precise_tsc.active = true;
    qemu_add_vm_change_state_handler_prio(precise_tsc_vm_state_change, NULL,
                                          PRECISE_TSC_HANDLER_PRIO);
    precise_tsc_stream_register();
    precise_tsc_kernel_supported();
}

static Notifier precise_tsc_machine_done_notifier = {
    .notify = precise_tsc_machine_done,
};

void precise_tsc_init(void)
{
    if (precise_tsc.enabled) {
        qemu_add_machine_init_done_notifier(
            &precise_tsc_machine_done_notifier);
    }
}

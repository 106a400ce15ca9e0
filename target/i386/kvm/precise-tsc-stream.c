/*
 * Precise guest TSC save/restore: the migration stream
 *
 * The sample travels in a subsection of each vCPU's state,
 * "cpu/precise-tsc" (precise-tsc-vcpu.h): the vCPU's own TSC and
 * IA32_TSC_ADJUST at the reference instant, and the instant itself, the
 * same in every vCPU's. It is sent only when a sample is pending, which
 * only happens with precise TSC on; a machine type stock QEMU also has
 * keeps it off (hw/i386/precise-machine.c), so stock's stream is
 * untouched there.
 *
 * Every field is checked on load before anything is kept, and the
 * instant must be the same in every vCPU's subsection, so a bad stream
 * fails the load with the field and the vCPU named and applies nothing.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/error-report.h"
#include "qemu/timer.h"
#include "migration/vmstate.h"
#include "migration/register.h"
#include "system/kvm.h"
#include "hw/core/cpu.h"
#include "cpu.h"
#include "precise-tsc-int.h"

/*
 * Every vCPU's, while a sample is pending: a vCPU plugged in after the
 * stop carries the values it is restored with (in phase with the
 * others), so the destination, which has it from the start, finds its
 * subsection.
 */
static bool precise_tsc_vcpu_needed(void *opaque)
{
    return precise_tsc.pending;
}

/* Saving copies the vCPU's part of the pending sample into its buffer. */
static int precise_tsc_vcpu_pre_save(void *opaque)
{
    X86CPU *cpu = opaque;
    PreciseTscVcpuSample *v = &cpu->precise_tsc;
    const PreciseTscState *st = &precise_tsc.state;
    int slot = precise_tsc_sample_slot(CPU(cpu));

    v->flags = st->flags;
    v->tsc_khz = st->tsc_khz;
    v->ref_tai_ns = st->ref_tai_ns;
    v->ref_tai_offset_s = st->ref_tai_offset_s;
    v->ref_kvmclock_ns = st->ref_kvmclock_ns;
    v->bracket_ns = st->bracket_ns;
    v->guest_tsc = st->guest_tsc[slot];
    /* A vCPU plugged in after the sample has its own, reset value. */
    v->tsc_adjust = slot == CPU(cpu)->cpu_index ? st->tsc_adjust[slot] : 0;
    return 0;
}

static bool fields_valid(const PreciseTscVcpuSample *v, int cpu_index)
{
    int64_t now = precise_tsc_tai_now();

    if (v->flags & ~PRECISE_TSC_F_ALL || !(v->flags & PRECISE_TSC_F_VALID)) {
        error_report("precise-tsc: vCPU %d: stream field 'flags' is 0x%x, "
                     "expected the valid bit and no unknown bits",
                     cpu_index, v->flags);
        return false;
    }
    if (v->tsc_khz == 0 || v->tsc_khz > PRECISE_TSC_MAX_KHZ) {
        error_report("precise-tsc: vCPU %d: stream field 'tsc_khz' is %u, "
                     "outside 1..%u", cpu_index, v->tsc_khz,
                     PRECISE_TSC_MAX_KHZ);
        return false;
    }
    if (v->ref_tai_offset_s > PRECISE_TSC_MAX_TAI_OFFSET ||
        v->ref_tai_offset_s < -PRECISE_TSC_MAX_TAI_OFFSET) {
        error_report("precise-tsc: vCPU %d: stream field "
                     "'ref_tai_offset_s' is %d, outside -%d..%d", cpu_index,
                     v->ref_tai_offset_s, PRECISE_TSC_MAX_TAI_OFFSET,
                     PRECISE_TSC_MAX_TAI_OFFSET);
        return false;
    }
    if (v->ref_tai_ns > now + PRECISE_TSC_MAX_FUTURE_NS) {
        error_report("precise-tsc: vCPU %d: stream field 'ref_tai_ns' is "
                     "%" PRId64 " s in the future", cpu_index,
                     (int64_t)((v->ref_tai_ns - now) /
                               NANOSECONDS_PER_SECOND));
        return false;
    }
    return true;
}

/* Whether @v holds the instant already loaded into @st. */
static bool same_instant(const PreciseTscVcpuSample *v,
                         const PreciseTscState *st)
{
    return v->flags == st->flags && v->tsc_khz == st->tsc_khz &&
           v->ref_tai_ns == st->ref_tai_ns &&
           v->ref_tai_offset_s == st->ref_tai_offset_s &&
           v->ref_kvmclock_ns == st->ref_kvmclock_ns &&
           v->bracket_ns == st->bracket_ns;
}

/*
 * Each vCPU's subsection in turn. The first of a load supersedes the
 * pending sample, whether it was captured at the last stop or loaded
 * before: this holds without load_setup, which COLO's checkpoints do not
 * run. A later one must carry the same instant. A field that fails a
 * check drops what this load kept, so the load applies nothing.
 */
static int precise_tsc_vcpu_post_load(void *opaque, int version_id)
{
    X86CPU *cpu = opaque;
    CPUState *cs = CPU(cpu);
    PreciseTscVcpuSample *v = &cpu->precise_tsc;
    PreciseTscState *st = &precise_tsc.state;
    static bool warned_off;

    if (!precise_tsc.active) {
        /* Legacy semantics: env->tsc from the stream is written at load. */
        if (!warned_off) {
            warn_report("precise-tsc: the stream carries precise TSC state "
                        "but precise-tsc is off here; restoring the legacy "
                        "per-vCPU values");
            warned_off = true;
        }
        return 0;
    }
    if (!fields_valid(v, cs->cpu_index)) {
        goto fail;
    }
    if (cs->cpu_index >= st->nr_slots) {
        error_report("precise-tsc: vCPU %d is beyond this VM's %u vCPU "
                     "slots", cs->cpu_index, st->nr_slots);
        goto fail;
    }
    /*
     * Only a kernel with the precise path keeps a loaded sample; without
     * it the legacy per-vCPU values apply and the instants are not
     * compared.
     */
    if (precise_tsc.loaded && !same_instant(v, st)) {
        error_report("precise-tsc: vCPU %d's reference instant differs "
                     "from the other vCPUs'", cs->cpu_index);
        goto fail;
    }
    if (!precise_tsc_kernel_supported()) {
        return 0;
    }
    if (!precise_tsc.loaded) {
        precise_tsc_drop_sample();
        precise_tsc_note_vcpus_at_load();
        st->flags = v->flags;
        st->tsc_khz = v->tsc_khz;
        st->ref_tai_ns = v->ref_tai_ns;
        st->ref_tai_offset_s = v->ref_tai_offset_s;
        st->ref_kvmclock_ns = v->ref_kvmclock_ns;
        st->bracket_ns = v->bracket_ns;
        precise_tsc.pending = true;
        precise_tsc.loaded = true;
    }
    st->guest_tsc[cs->cpu_index] = v->guest_tsc;
    st->tsc_adjust[cs->cpu_index] = v->tsc_adjust;
    st->sampled[cs->cpu_index] = true;
    return 0;

fail:
    precise_tsc_drop_sample();
    return -EINVAL;
}

const VMStateDescription vmstate_precise_tsc_vcpu = {
    .name = "cpu/precise-tsc",
    .version_id = 1,
    .minimum_version_id = 1,
    .needed = precise_tsc_vcpu_needed,
    .pre_save = precise_tsc_vcpu_pre_save,
    .post_load = precise_tsc_vcpu_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT32(precise_tsc.flags, X86CPU),
        VMSTATE_UINT32(precise_tsc.tsc_khz, X86CPU),
        VMSTATE_INT64(precise_tsc.ref_tai_ns, X86CPU),
        VMSTATE_INT32(precise_tsc.ref_tai_offset_s, X86CPU),
        VMSTATE_UINT64(precise_tsc.ref_kvmclock_ns, X86CPU),
        VMSTATE_UINT64(precise_tsc.bracket_ns, X86CPU),
        VMSTATE_UINT64(precise_tsc.guest_tsc, X86CPU),
        VMSTATE_UINT64(precise_tsc.tsc_adjust, X86CPU),
        VMSTATE_END_OF_LIST()
    },
};

/*
 * At the start of a load (incoming migration, loadvm, a file): it
 * supersedes the pending sample even if it carries no subsection.
 */
static int precise_tsc_load_setup(QEMUFile *f, void *opaque, Error **errp)
{
    precise_tsc_drop_sample();
    /* Whatever the stream holds, KVM's rates may change with it. */
    precise_tsc.scaling_valid = false;
    return 0;
}

/*
 * The fork wrote its sample as a top-level section "precise-tsc" before
 * the per-vCPU subsection: such a stream is refused by name rather than
 * as an unknown section.
 */
static int precise_tsc_load_old_section(QEMUFile *f, void *opaque,
                                        int version_id)
{
    error_report("precise-tsc: the stream holds the top-level section "
                 "'precise-tsc' of a fork release before its migration "
                 "contract; it cannot be loaded here (docs/precise-tsc.md)");
    return -EINVAL;
}

static const SaveVMHandlers precise_tsc_load_handlers = {
    .load_setup = precise_tsc_load_setup,
    .load_state = precise_tsc_load_old_section,
};

void precise_tsc_stream_register(void)
{
    /* No save handler: nothing of this entry is ever sent. */
    register_savevm_live("precise-tsc", 0, 1, &precise_tsc_load_handlers,
                         NULL);
}

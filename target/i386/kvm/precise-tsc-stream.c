/*
 * Precise guest TSC save/restore: the VM-wide migration section
 *
 * One section for the whole VM, next to the legacy per-CPU fields (which
 * the capture fills from the same instant). Every field is checked on
 * load before anything is kept, so a bad stream fails the load with the
 * field named and applies nothing.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/error-report.h"
#include "qemu/timer.h"
#include "migration/vmstate.h"
#include "system/kvm.h"
#include "precise-tsc-int.h"

/*
 * The section's own buffer: a load lands here and post_load commits it
 * only when every field is valid, so a failed load leaves the pending
 * sample alone.
 */
static PreciseTscState section;

static bool nr_vcpus_valid(void *opaque, int version_id)
{
    PreciseTscState *st = opaque;
    uint32_t here = precise_tsc_nr_vcpus();

    if (st->nr_vcpus != here) {
        error_report("precise-tsc: stream field 'nr_vcpus' is %u, this VM "
                     "has %u vCPUs", st->nr_vcpus, here);
        return false;
    }
    return true;
}

/* Saving copies the pending sample into the section's buffer. */
static int precise_tsc_pre_save(void *opaque)
{
    PreciseTscState *keep = &precise_tsc.state;
    PreciseTscState *st = opaque;

    if (!precise_tsc.pending) {
        /* No sample at this stop: the destination uses the legacy path. */
        precise_tsc_state_resize(st, precise_tsc_nr_vcpus());
        memset(st->guest_tsc, 0, st->nr_vcpus * sizeof(uint64_t));
        memset(st->tsc_adjust, 0, st->nr_vcpus * sizeof(uint64_t));
        st->flags = 0;
        st->tsc_khz = 0;
        return 0;
    }
    precise_tsc_state_resize(st, keep->nr_vcpus);
    st->flags = keep->flags;
    st->tsc_khz = keep->tsc_khz;
    st->ref_tai_ns = keep->ref_tai_ns;
    st->ref_tai_offset_s = keep->ref_tai_offset_s;
    st->ref_kvmclock_ns = keep->ref_kvmclock_ns;
    st->bracket_ns = keep->bracket_ns;
    memcpy(st->guest_tsc, keep->guest_tsc, st->nr_vcpus * sizeof(uint64_t));
    memcpy(st->tsc_adjust, keep->tsc_adjust,
           st->nr_vcpus * sizeof(uint64_t));
    return 0;
}

static int precise_tsc_pre_load(void *opaque)
{
    PreciseTscState *st = opaque;

    g_clear_pointer(&st->guest_tsc, g_free);
    g_clear_pointer(&st->tsc_adjust, g_free);
    st->nr_vcpus = 0;
    /* A stream without the subsection: an earlier fork's. */
    st->ref_tai_offset_s = PRECISE_TSC_TAI_OFFSET_ABSENT;
    /* Whatever the stream holds, KVM's rates may change with it. */
    precise_tsc.scaling_valid = false;
    return 0;
}

static bool fields_valid(const PreciseTscState *st)
{
    int64_t now = precise_tsc_tai_now();

    if (st->flags & ~PRECISE_TSC_F_ALL) {
        error_report("precise-tsc: stream field 'flags' has unknown bits "
                     "0x%x", st->flags & ~PRECISE_TSC_F_ALL);
        return false;
    }
    if (!(st->flags & PRECISE_TSC_F_VALID)) {
        return true;
    }
    if (st->tsc_khz == 0 || st->tsc_khz > PRECISE_TSC_MAX_KHZ) {
        error_report("precise-tsc: stream field 'tsc_khz' is %u, outside "
                     "1..%u", st->tsc_khz, PRECISE_TSC_MAX_KHZ);
        return false;
    }
    if (st->ref_tai_offset_s != PRECISE_TSC_TAI_OFFSET_ABSENT &&
        (st->ref_tai_offset_s > PRECISE_TSC_MAX_TAI_OFFSET ||
         st->ref_tai_offset_s < -PRECISE_TSC_MAX_TAI_OFFSET)) {
        error_report("precise-tsc: stream field 'ref_tai_offset_s' is %d, "
                     "outside -%d..%d", st->ref_tai_offset_s,
                     PRECISE_TSC_MAX_TAI_OFFSET, PRECISE_TSC_MAX_TAI_OFFSET);
        return false;
    }
    if (st->ref_tai_ns > now + PRECISE_TSC_MAX_FUTURE_NS) {
        error_report("precise-tsc: stream field 'ref_tai_ns' is %" PRId64
                     " s in the future",
                     (int64_t)((st->ref_tai_ns - now) / NANOSECONDS_PER_SECOND));
        return false;
    }
    return true;
}

static int precise_tsc_post_load(void *opaque, int version_id)
{
    PreciseTscState *st = opaque;
    PreciseTscState *keep = &precise_tsc.state;

    if (!fields_valid(st)) {
        return -EINVAL;
    }
    if (!(st->flags & PRECISE_TSC_F_VALID) ||
        !precise_tsc_kernel_supported()) {
        /* Legacy semantics: env->tsc from the stream is written at load. */
        precise_tsc.pending = false;
        precise_tsc.loaded = false;
        return 0;
    }
    precise_tsc_state_resize(keep, st->nr_vcpus);
    keep->flags = st->flags;
    keep->tsc_khz = st->tsc_khz;
    keep->ref_tai_ns = st->ref_tai_ns;
    keep->ref_tai_offset_s = st->ref_tai_offset_s;
    keep->ref_kvmclock_ns = st->ref_kvmclock_ns;
    keep->bracket_ns = st->bracket_ns;
    memcpy(keep->guest_tsc, st->guest_tsc, st->nr_vcpus * sizeof(uint64_t));
    memcpy(keep->tsc_adjust, st->tsc_adjust,
           st->nr_vcpus * sizeof(uint64_t));
    precise_tsc.pending = true;
    precise_tsc.loaded = true;
    return 0;
}

static bool tai_offset_needed(void *opaque)
{
    PreciseTscState *st = opaque;

    return st->flags & PRECISE_TSC_F_VALID;
}

/*
 * The source host's TAI offset: ref_tai_ns minus it is the reference
 * instant in UTC, so that a destination whose TAI offset differs (one
 * host's NTP daemon sets it, the other's does not) measures the elapsed
 * time in a base both share (tsc_ref_in_local_tai()).
 */
static const VMStateDescription vmstate_precise_tsc_tai_offset = {
    .name = "precise-tsc/tai-offset",
    .version_id = 1,
    .minimum_version_id = 1,
    .needed = tai_offset_needed,
    .fields = (const VMStateField[]) {
        VMSTATE_INT32(ref_tai_offset_s, PreciseTscState),
        VMSTATE_END_OF_LIST()
    },
};

static const VMStateDescription vmstate_precise_tsc = {
    .name = "precise-tsc",
    .version_id = 1,
    .minimum_version_id = 1,
    .pre_save = precise_tsc_pre_save,
    .pre_load = precise_tsc_pre_load,
    .post_load = precise_tsc_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT32(flags, PreciseTscState),
        VMSTATE_UINT32(tsc_khz, PreciseTscState),
        VMSTATE_INT64(ref_tai_ns, PreciseTscState),
        VMSTATE_UINT64(ref_kvmclock_ns, PreciseTscState),
        VMSTATE_UINT64(bracket_ns, PreciseTscState),
        VMSTATE_UINT32(nr_vcpus, PreciseTscState),
        /* Before the arrays: never allocate for a bogus count. */
        VMSTATE_VALIDATE("nr_vcpus", nr_vcpus_valid),
        VMSTATE_VARRAY_UINT32_ALLOC(guest_tsc, PreciseTscState, nr_vcpus, 0,
                                    vmstate_info_uint64, uint64_t),
        VMSTATE_VARRAY_UINT32_ALLOC(tsc_adjust, PreciseTscState, nr_vcpus,
                                    0, vmstate_info_uint64, uint64_t),
        VMSTATE_END_OF_LIST()
    },
    .subsections = (const VMStateDescription * const []) {
        &vmstate_precise_tsc_tai_offset,
        NULL
    },
};

void precise_tsc_stream_register(void)
{
    vmstate_register(NULL, 0, &vmstate_precise_tsc, &section);
}

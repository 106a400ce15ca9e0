/*
 * Precise guest TSC save/restore: QMP query and event
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/timer.h"
#include "qemu/main-loop.h"
#include "system/kvm.h"
#include "hw/core/cpu.h"
#include "cpu.h"
#include <linux/kvm.h>
#include "qapi/qapi-commands-precise-tsc-target.h"
#include "qapi/qapi-events-precise-tsc-target.h"
#include "precise-tsc-int.h"

static const PreciseTscElapsedOutcome outcome_to_qapi[] = {
    [TSC_ELAPSED_ADVANCED] = PRECISE_TSC_ELAPSED_OUTCOME_ADVANCED,
    [TSC_ELAPSED_FROZEN] = PRECISE_TSC_ELAPSED_OUTCOME_FROZEN,
    [TSC_ELAPSED_NEGATIVE] = PRECISE_TSC_ELAPSED_OUTCOME_NEGATIVE,
};

static PreciseTscRestore *restore_to_qapi(const PreciseTscReport *r)
{
    PreciseTscRestore *q = g_new0(PreciseTscRestore, 1);

    q->elapsed_measured_ns = r->elapsed_measured_ns;
    q->elapsed_applied_ns = r->elapsed_applied_ns;
    q->outcome = outcome_to_qapi[r->outcome];
    q->time_base = r->time_base == TSC_TIME_BASE_TAI ?
                   PRECISE_TSC_TIME_BASE_TAI : PRECISE_TSC_TIME_BASE_UTC;
    /* Absent when unknown (the host's TAI offset was 0). */
    q->has_source_tai_offset_s = r->source_tai_offset_s != 0;
    q->source_tai_offset_s = r->source_tai_offset_s;
    q->has_tai_offset_s = r->tai_offset_s != 0;
    q->tai_offset_s = r->tai_offset_s;
    q->advance_limit_ms = precise_tsc.advance_limit_ms;
    q->bracket_ns = r->bracket_ns;
    q->from_stream = r->from_stream;
    q->restore_ns = r->restore_ns;
    q->has_capture_ns = !r->from_stream;
    q->capture_ns = r->capture_ns;
    return q;
}

/* Restores whose event is not sent yet, oldest first (under the BQL). */
static GQueue pending_restored = G_QUEUE_INIT;
static QEMUBH *restored_bh;

void precise_tsc_flush_restored(void)
{
    PreciseTscRestore *q;

    assert(bql_locked());
    while ((q = g_queue_pop_head(&pending_restored))) {
        qapi_event_send_precise_tsc_restored(q);
        qapi_free_PreciseTscRestore(q);
    }
}

static void send_restored(void *opaque)
{
    precise_tsc_flush_restored();
}

/*
 * The restore runs in a VM start handler, before the vCPUs resume, and
 * the event is for management software: it is queued there and built
 * and written to the QMP monitors from a bottom half, outside the
 * downtime. One bottom half and a queue keep the events in the order
 * the restores ran.
 */
void precise_tsc_emit_restored(const PreciseTscReport *r)
{
    assert(bql_locked());
    if (!restored_bh) {
        restored_bh = qemu_bh_new(send_restored, NULL);
    }
    g_queue_push_tail(&pending_restored, restore_to_qapi(r));
    qemu_bh_schedule(restored_bh);
}

/*
 * QEMU's copy, read from KVM at vCPU creation: asking the vCPU would wait
 * for it to leave KVM_RUN.
 */
static int guest_tsc_khz(void)
{
    return X86_CPU(first_cpu)->env.tsc_khz;
}

typedef struct OffsetRead {
    uint64_t offset;
    int ret;
} OffsetRead;

/* On the vCPU's thread: a vCPU ioctl would wait for KVM_RUN to return. */
static void read_offset_on_cpu(CPUState *cs, run_on_cpu_data data)
{
    OffsetRead *r = data.host_ptr;

    r->ret = precise_tsc_vcpu_offset(cs, KVM_GET_DEVICE_ATTR, &r->offset);
}

static PreciseTscVcpuList *vcpus_to_qapi(bool offsets)
{
    PreciseTscVcpuList *head = NULL, **tail = &head;
    PreciseTscHostSample hs;
    TscScaling scaling;
    bool have_sample = false;
    CPUState *cs;

    if (offsets) {
        /* What the last capture or restore found KVM applies. */
        int khz = guest_tsc_khz();

        if (precise_tsc.scaling_valid) {
            scaling = precise_tsc.scaling;
            have_sample = true;
        } else {
            have_sample = khz > 0 &&
                          precise_tsc_kvm_scaling(khz, &scaling, NULL);
        }
        have_sample = have_sample &&
                      precise_tsc_host_sample(&hs, NULL) == 0;
    }
    CPU_FOREACH(cs) {
        PreciseTscVcpu *v = g_new0(PreciseTscVcpu, 1);
        OffsetRead r = { .ret = -1 };

        v->cpu_index = cs->cpu_index;
        if (offsets) {
            run_on_cpu(cs, read_offset_on_cpu, RUN_ON_CPU_HOST_PTR(&r));
        }
        if (r.ret == 0) {
            v->has_tsc_offset = true;
            v->tsc_offset = r.offset;
            if (have_sample) {
                v->has_guest_tsc = true;
                v->guest_tsc = tsc_guest_at(hs.host_tsc, &scaling, r.offset);
            }
        }
        QAPI_LIST_APPEND(tail, v);
    }
    return head;
}

PreciseTscInfo *qmp_x_query_precise_tsc(Error **errp)
{
    PreciseTscInfo *info;
    struct kvm_clock_data clock = { 0 };
    bool offsets;
    int khz;

    if (!kvm_enabled() || !first_cpu) {
        error_setg(errp, "x-query-precise-tsc needs the KVM accelerator");
        return NULL;
    }
    offsets = precise_tsc.active && precise_tsc_kernel_supported();
    khz = guest_tsc_khz();

    info = g_new0(PreciseTscInfo, 1);
    info->path = !offsets ? PRECISE_TSC_PATH_LEGACY :
                 precise_tsc_kernel_path() == PRECISE_TSC_KPATH_TSC_STATE ?
                 PRECISE_TSC_PATH_TSC_STATE : PRECISE_TSC_PATH_OFFSETS;
    info->tsc_khz = khz > 0 ? khz : 0;
    if (kvm_vm_ioctl(kvm_state, KVM_GET_CLOCK, &clock) == 0) {
        info->master_clock = !!(clock.flags & KVM_CLOCK_TSC_STABLE);
    }
    info->vcpus = vcpus_to_qapi(offsets);
    if (precise_tsc.last.valid) {
        info->last_restore = restore_to_qapi(&precise_tsc.last);
    }
    info->legacy_fallbacks = precise_tsc.legacy_fallbacks;
    return info;
}

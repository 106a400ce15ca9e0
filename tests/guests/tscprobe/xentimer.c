/*
 * tscprobe: a Xen singleshot timer (VCPUOP_set_singleshot_timer) on
 * vCPU 0, when QEMU emulates Xen.  Its deadline is absolute Xen system
 * time, which under KVM is kvmclock: a save/restore that arms it
 * against the wrong kvmclock makes it fire early or late by the
 * difference, which this module measures.  The event channel stays
 * masked and the loop polls its pending bit, so no upcall vector or
 * interrupt handler is needed.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "xentimer.h"
#include "results.h"
#include "x86.h"

#define HYPERVISOR_memory_op            12
#define HYPERVISOR_vcpu_op              24
#define HYPERVISOR_event_channel_op     32
#define XENMEM_add_to_physmap           7
#define XENMAPSPACE_shared_info         0
#define DOMID_SELF                      0x7ff0u
#define EVTCHNOP_bind_virq              1
#define VIRQ_TIMER                      0
#define VCPUOP_set_singleshot_timer     8

/* shared_info on x86-64: 32 vcpu_info of 64 bytes, then the bitmaps. */
#define SHINFO_EVTCHN_PENDING   2048
#define SHINFO_EVTCHN_MASK      (2048 + 64 * 8)

#define XEN_TIMER_PERIOD_NS     5000000000ull

enum {
    STEP_HYPERCALL_PAGE = 1,
    STEP_SHARED_INFO = 2,
    STEP_BIND_VIRQ = 3,
    STEP_ARM = 4,
};

typedef struct XenAddToPhysmap {
    uint16_t domid;
    uint16_t size;
    uint32_t space;
    uint64_t idx;
    uint64_t gpfn;
} XenAddToPhysmap;

typedef struct XenBindVirq {
    uint32_t virq;
    uint32_t vcpu;
    uint32_t port;
} XenBindVirq;

typedef struct XenSingleshot {
    uint64_t timeout_abs_ns;
    uint32_t flags;
    uint32_t pad;
} XenSingleshot;

static uint8_t hypercall_page[4096] __attribute__((aligned(4096)));
/* Written by KVM (pending bits): read with __atomic_load_n. */
static uint64_t shared_info[512] __attribute__((aligned(4096)));
static uint32_t resumes_at_arm;

/* Each stub in the page KVM fills is 32 bytes: mov $nr,%eax; vmcall; ret */
static long hypercall3(unsigned int nr, uint64_t a1, uint64_t a2,
                       uint64_t a3)
{
    register uint64_t rdx asm("rdx") = a3;
    long ret;

    asm volatile("call *%[stub]"
                 : "=a"(ret), "+D"(a1), "+S"(a2), "+r"(rdx)
                 : [stub] "r"(hypercall_page + nr * 32)
                 : "memory", "rcx", "r8", "r9", "r10", "r11");
    return ret;
}

static bool failed(TscprobeHeader *h, uint32_t step, long ret)
{
    h->xen_error = (int32_t)ret;
    h->xen_error_step = step;
    h->xen_state = TSCPROBE_XEN_FAILED;
    return false;
}

static bool arm(TscprobeHeader *h, uint64_t deadline_ns, uint32_t resumes)
{
    XenSingleshot sst = { .timeout_abs_ns = deadline_ns };
    long ret = hypercall3(HYPERVISOR_vcpu_op, VCPUOP_set_singleshot_timer,
                          0, (uint64_t)(uintptr_t)&sst);

    if (ret) {
        return failed(h, STEP_ARM, ret);
    }
    h->xen_deadline_ns = deadline_ns;
    resumes_at_arm = resumes;
    return true;
}

static uint64_t clock_now(const PvclockTimeInfo *clock)
{
    uint8_t flags;
    uint64_t tsc;

    return kvmclock_read(clock, &flags, &tsc);
}

void xen_timer_setup(const CpuFeatures *f, const PvclockTimeInfo *clock)
{
    TscprobeHeader *h = &results_table()->header;
    uint32_t base = f->xen_base;
    XenAddToPhysmap xatp = {
        .domid = DOMID_SELF,
        .space = XENMAPSPACE_shared_info,
        .gpfn = (uint64_t)(uintptr_t)shared_info >> 12,
    };
    XenBindVirq bind = { .virq = VIRQ_TIMER, .vcpu = 0 };
    uint64_t *mask;
    long ret;

    if (!base) {
        return;
    }
    if (cpuid(base + 2, 0).eax < 1) {
        failed(h, STEP_HYPERCALL_PAGE, -1);
        return;
    }
    wrmsr(cpuid(base + 2, 0).ebx, (uint64_t)(uintptr_t)hypercall_page);
    ret = hypercall3(HYPERVISOR_memory_op, XENMEM_add_to_physmap,
                     (uint64_t)(uintptr_t)&xatp, 0);
    if (ret) {
        failed(h, STEP_SHARED_INFO, ret);
        return;
    }
    ret = hypercall3(HYPERVISOR_event_channel_op, EVTCHNOP_bind_virq,
                     (uint64_t)(uintptr_t)&bind, 0);
    if (ret) {
        failed(h, STEP_BIND_VIRQ, ret);
        return;
    }
    mask = &shared_info[SHINFO_EVTCHN_MASK / 8 + bind.port / 64];
    __atomic_fetch_or(mask, 1ull << (bind.port % 64), __ATOMIC_SEQ_CST);
    h->xen_port = bind.port;
    h->xen_period_ns = XEN_TIMER_PERIOD_NS;
    h->xen_late_min_ns = INT64_MAX;
    h->xen_late_max_ns = INT64_MIN;
    if (arm(h, clock_now(clock) + XEN_TIMER_PERIOD_NS, 0)) {
        h->xen_state = TSCPROBE_XEN_ARMED;
    }
}

static void record_fire(TscprobeHeader *h, int64_t late, uint32_t resumes)
{
    h->xen_fires++;
    h->xen_late_last_ns = late;
    if (late < 0) {
        h->xen_early_count++;
    }
    if (late < h->xen_late_min_ns) {
        h->xen_late_min_ns = late;
    }
    if (late > h->xen_late_max_ns) {
        h->xen_late_max_ns = late;
    }
    if (resumes != resumes_at_arm) {
        h->xen_resume_fires++;
        h->xen_resume_late_ns = late;
    }
}

void xen_timer_poll(const PvclockTimeInfo *clock, uint32_t resumes)
{
    TscprobeHeader *h = &results_table()->header;
    uint64_t *pending;
    uint64_t bit, now;

    if (h->xen_state != TSCPROBE_XEN_ARMED) {
        return;
    }
    pending = &shared_info[SHINFO_EVTCHN_PENDING / 8 + h->xen_port / 64];
    bit = 1ull << (h->xen_port % 64);
    if (!(__atomic_load_n(pending, __ATOMIC_ACQUIRE) & bit)) {
        return;
    }
    /* Read the clock after the bit: a fire in between is not "early". */
    now = clock_now(clock);
    __atomic_fetch_and(pending, ~bit, __ATOMIC_SEQ_CST);
    record_fire(h, (int64_t)(now - h->xen_deadline_ns), resumes);
    arm(h, now + XEN_TIMER_PERIOD_NS, resumes);
}

/*
 * tscprobe results table: the layout shared by the guest (which writes it)
 * and host-side tools (which read it from a guest memory dump).
 *
 * The table lives at guest-physical TSCPROBE_RESULTS_ADDR.  All fields are
 * little-endian, fixed width and naturally aligned with explicit padding,
 * so the layout is identical for the freestanding guest and any host
 * compiler.  A host reads TSCPROBE_RESULTS_SIZE bytes from that address
 * (e.g. HMP "pmemsave 0x100000 0x6300 file") and decodes it.
 *
 * Consistency: each per-vCPU record carries a sequence counter that is odd
 * while its vCPU is updating the record and is incremented on every
 * heartbeat, so two reads with different even values prove progress.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef TSCPROBE_RESULTS_H
#define TSCPROBE_RESULTS_H

#include <stdint.h>

#define TSCPROBE_RESULTS_ADDR       0x00100000u
#define TSCPROBE_MAGIC              0x45424f5250435354ull /* "TSCPROBE" */
#define TSCPROBE_VERSION            2u
#define TSCPROBE_MAX_CPUS           64u
#define TSCPROBE_HEADER_SIZE        256u
#define TSCPROBE_CPU_RECORD_SIZE    256u
#define TSCPROBE_HV_RECORD_SIZE     128u
#define TSCPROBE_NESTED_SIZE        512u
#define TSCPROBE_RESULTS_SIZE \
    (TSCPROBE_HEADER_SIZE + \
     TSCPROBE_MAX_CPUS * TSCPROBE_CPU_RECORD_SIZE + \
     TSCPROBE_MAX_CPUS * TSCPROBE_HV_RECORD_SIZE + \
     TSCPROBE_NESTED_SIZE)

/* TscprobeHeader.tsc_khz_source */
enum {
    TSCPROBE_KHZ_UNKNOWN = 0,
    TSCPROBE_KHZ_CPUID_15 = 1,      /* CPUID 0x15 crystal ratio */
    TSCPROBE_KHZ_CPUID_16 = 2,      /* CPUID 0x16 base frequency */
    TSCPROBE_KHZ_KVM_CPUID = 3,     /* CPUID 0x40000010 EAX */
    TSCPROBE_KHZ_PIT = 4,           /* calibrated against PIT channel 2 */
    TSCPROBE_KHZ_KVMCLOCK = 5,      /* from kvmclock's TSC-to-ns scale */
};

/* TscprobeHeader.features bits */
#define TSCPROBE_FEAT_HYPERVISOR    (1u << 0)   /* CPUID.1:ECX[31] */
#define TSCPROBE_FEAT_KVM           (1u << 1)   /* "KVMKVMKVM" signature */
#define TSCPROBE_FEAT_KVMCLOCK      (1u << 2)   /* KVM_FEATURE_CLOCKSOURCE2 */
#define TSCPROBE_FEAT_TSC_DEADLINE  (1u << 3)   /* CPUID.1:ECX[24] */
#define TSCPROBE_FEAT_INVARIANT_TSC (1u << 4)   /* CPUID.80000007:EDX[8] */
#define TSCPROBE_FEAT_KVMCLOCK_STABLE (1u << 5) /* KVM_FEATURE_..._STABLE */
#define TSCPROBE_FEAT_XEN           (1u << 6)   /* "XenVMMXenVMM" signature */
#define TSCPROBE_FEAT_HYPERV        (1u << 7)   /* "Microsoft Hv" signature */

/* TscprobeHeader.xen_state */
enum {
    TSCPROBE_XEN_ABSENT = 0,        /* no Xen CPUID signature */
    TSCPROBE_XEN_ARMED = 1,         /* singleshot timer running */
    TSCPROBE_XEN_FAILED = 2,        /* a set-up hypercall failed */
};

/* TscprobeHeader.hv_state */
enum {
    TSCPROBE_HV_ABSENT = 0,         /* no Hyper-V reference TSC page */
    TSCPROBE_HV_ENABLED = 1,        /* page enabled, every vCPU reads it */
};

/* TscprobeCpu.state */
enum {
    TSCPROBE_CPU_ABSENT = 0,        /* no such vCPU */
    TSCPROBE_CPU_STARTING = 1,      /* listed in the MADT, not up yet */
    TSCPROBE_CPU_RUNNING = 2,       /* in the measurement loop */
    TSCPROBE_CPU_FAILED = 3,        /* did not answer INIT/SIPI/SIPI */
};

/* TscprobeCpu.timer_mode */
enum {
    TSCPROBE_TIMER_NONE = 0,
    TSCPROBE_TIMER_TSC_DEADLINE = 1, /* LVT timer in TSC-deadline mode */
    TSCPROBE_TIMER_ONESHOT = 2,      /* fallback: one-shot APIC timer */
};

/* TscprobeCpu.kvmclock_state */
enum {
    TSCPROBE_KVMCLOCK_ABSENT = 0,
    TSCPROBE_KVMCLOCK_ENABLED = 1,
};

typedef struct TscprobeHeader {
    uint64_t magic;                 /* TSCPROBE_MAGIC */
    uint32_t version;               /* TSCPROBE_VERSION */
    uint32_t header_size;           /* TSCPROBE_HEADER_SIZE */
    uint32_t cpu_record_size;       /* TSCPROBE_CPU_RECORD_SIZE */
    uint32_t max_cpus;              /* TSCPROBE_MAX_CPUS */
    uint32_t cpus_found;            /* vCPUs listed in the ACPI MADT */
    uint32_t cpus_up;               /* vCPUs that reached the loop */
    uint64_t tsc_khz;
    uint32_t tsc_khz_source;        /* TSCPROBE_KHZ_* */
    uint32_t features;              /* TSCPROBE_FEAT_* */
    uint64_t jump_threshold_tsc;    /* forward step counted as a jump */
    uint64_t timer_period_tsc;      /* deadline timer period */
    uint64_t boot_tsc;              /* BSP TSC when the table was set up */
    uint32_t bsp_apic_id;
    uint32_t reserved0;
    uint64_t jump_threshold_ns;     /* same threshold for kvmclock */

    /*
     * Xen singleshot timer of vCPU 0, only under QEMU's Xen emulation
     * (-accel kvm,xen-version=...): armed xen_period_ns of
     * kvmclock ahead, re-armed when it fires; lateness is kvmclock at
     * the first pass that sees the event minus the deadline (signed:
     * negative is early).  A fire of a timer armed before the latest
     * resume is also recorded on its own: that is the one a save,
     * restore or migration may have got wrong.
     */
    uint32_t xen_state;             /* TSCPROBE_XEN_* */
    uint32_t xen_port;              /* VIRQ_TIMER event channel */
    uint64_t xen_period_ns;
    uint64_t xen_deadline_ns;       /* kvmclock ns the armed timer is due */
    uint64_t xen_fires;
    uint64_t xen_early_count;
    int64_t xen_late_last_ns;
    int64_t xen_late_min_ns;
    int64_t xen_late_max_ns;
    uint64_t xen_resume_fires;
    int64_t xen_resume_late_ns;     /* the latest fire across a resume */
    int32_t xen_error;              /* failed hypercall's return value */
    uint32_t xen_error_step;        /* which set-up step failed, from 1 */

    /*
     * Hyper-V clocks (-cpu ...,hv-time,hv-frequencies): the reference TSC
     * page every vCPU reads (TscprobeResults.hv) and the frequency MSR.
     */
    uint32_t hv_state;              /* TSCPROBE_HV_* */
    uint32_t hv_features;           /* CPUID 0x40000003 EAX */
    uint64_t hv_tsc_hz;             /* HV_X64_MSR_TSC_FREQUENCY, 0 if none */
    uint32_t hv_record_size;        /* TSCPROBE_HV_RECORD_SIZE */
    uint32_t nested_size;           /* TSCPROBE_NESTED_SIZE */
    uint8_t reserved[56];
} TscprobeHeader;

/*
 * One vCPU.  "at" fields hold the TSC (or kvmclock ns) value read when
 * the event was detected; "max" fields the largest size seen.
 */
typedef struct TscprobeCpu {
    uint32_t seq;                   /* odd while being updated */
    uint32_t state;                 /* TSCPROBE_CPU_* */
    uint32_t apic_id;
    uint32_t index;                 /* position in this table */
    uint64_t loops;                 /* measurement loop iterations */

    /* heartbeat */
    uint64_t last_tsc;
    uint64_t last_kvmclock_ns;

    /* rdtsc on this vCPU */
    uint64_t tsc_back_count;
    uint64_t tsc_back_max;
    uint64_t tsc_back_at;
    uint64_t tsc_jump_count;
    uint64_t tsc_jump_max;
    uint64_t tsc_jump_at;

    /* cross-vCPU warp: TSC below the last value any vCPU published */
    uint64_t warp_count;
    uint64_t warp_max;
    uint64_t warp_at;

    /* kvmclock on this vCPU */
    uint32_t kvmclock_state;        /* TSCPROBE_KVMCLOCK_* */
    uint32_t kvmclock_flags;        /* last pvclock flags byte */
    uint64_t kvmclock_back_count;
    uint64_t kvmclock_back_max_ns;
    uint64_t kvmclock_back_at_ns;
    uint64_t kvmclock_jump_count;
    uint64_t kvmclock_jump_max_ns;
    uint64_t kvmclock_jump_at_ns;

    /* local APIC timer: lateness = TSC at IRQ entry - deadline */
    uint32_t timer_mode;            /* TSCPROBE_TIMER_* */
    uint32_t resume_count;          /* resumes kvmclock reported, below */
    uint64_t timer_irqs;
    uint64_t timer_late_max;
    uint64_t timer_late_last;
    uint64_t timer_early_count;     /* IRQ before its deadline */
    uint64_t timer_after_jump_count; /* IRQs measured after a TSC jump */
    uint64_t timer_late_after_jump; /* lateness of the latest such IRQ */
    uint64_t timer_late_after_jump_max;

    /*
     * The latest resume: KVM sets PVCLOCK_GUEST_STOPPED in the kvmclock
     * page when the VMM resumes a stopped VM (KVM_KVMCLOCK_CTRL, which
     * QEMU issues on every "cont", restored VMs included).  The first
     * kvmclock read that sees it records the TSC and kvmclock steps from
     * the read before (signed: a clock may go back), and the lateness of
     * the first timer IRQ after the resume.
     */
    int64_t resume_tsc_step;
    int64_t resume_kvmclock_step_ns;
    uint64_t resume_timer_late;
} TscprobeCpu;

/*
 * One vCPU's view of the Hyper-V reference TSC page: reference time is
 * ((tsc * scale) >> 64) + offset, in 100 ns units, valid while the
 * page's sequence is not 0 (KVM fills it from kvmclock, only while its
 * master clock is on).  Each loop pass computes reference time and
 * kvmclock from one TSC read; their difference is pure rounding.
 */
typedef struct TscprobeHvCpu {
    uint64_t reads;                 /* valid reads */
    uint64_t invalid_count;         /* reads that found sequence 0 */
    uint32_t sequence;              /* latest sequence seen */
    uint32_t sequence_changes;
    uint64_t last_ref;              /* 100 ns units */
    uint64_t back_count;            /* reference time went backwards */
    uint64_t back_max;
    uint64_t jump_count;            /* forward steps over the threshold */
    uint64_t jump_max;
    int64_t dev_min_ns;             /* kvmclock ns - 100 * reference */
    int64_t dev_max_ns;
    int64_t resume_ref_step;        /* across the latest resume, 100 ns */

    /*
     * vCPU 0 only: HV_X64_MSR_TIME_REF_COUNT (a VM exit) against the page
     * evaluated at TSC reads just before and after it.
     */
    uint64_t msr_checks;
    uint64_t msr_outside_count;     /* MSR outside [before, after] */
    int64_t msr_outside_max;        /* 100 ns units beyond the window */
    uint64_t reserved[2];
} TscprobeHvCpu;

/* TscprobeNested.state */
enum {
    TSCPROBE_NESTED_OFF = 0,        /* not asked for ("nested" cmdline) */
    TSCPROBE_NESTED_RUNNING = 1,    /* the last vCPU runs L2 */
    TSCPROBE_NESTED_NO_SVM = 2,     /* the vCPU has no SVM */
    TSCPROBE_NESTED_FAILED = 3,     /* an unexpected #VMEXIT: exit_code */
};

/*
 * The nested probe: with "nested" on the command line the last vCPU is a
 * hypervisor (AMD SVM).  It runs an L2 guest that shares its page tables
 * and memory, with a TSC offset of its own (L2 TSC = L1 TSC + l2_tsc_offset)
 * and no interrupts of its own: L1's interrupts (its TSC-deadline timer)
 * make #VMEXITs, L1 takes them, runs one pass of the ordinary probe on
 * its own clocks and re-enters L2.  L2 watches its TSC; at each transition
 * L1's and L2's TSCs must keep exactly the offset: L2's last value before
 * an exit is not ahead of L1's TSC after it, and L2's first value after
 * an entry not behind L1's TSC before it.
 */
typedef struct TscprobeNested {
    uint32_t state;                 /* TSCPROBE_NESTED_* */
    uint32_t cpu;                   /* the hypervisor vCPU's index */
    int64_t l2_tsc_offset;          /* VMCB TSC offset L1 chose */
    uint64_t vmruns;
    uint64_t exits_intr;            /* L1's interrupts */
    uint64_t exits_other;           /* anything else: fatal */
    uint64_t exit_code;             /* the latest unexpected one */
    uint64_t exit_info1;
    uint64_t exit_info2;

    /* L2's own view, written by L2 */
    uint64_t l2_loops;
    uint64_t l2_last_tsc;
    uint64_t l2_back_count;
    uint64_t l2_back_max;
    uint64_t l2_jump_count;         /* gaps over the jump threshold */
    uint64_t l2_jump_max;
    uint64_t l2_behind_count;       /* behind L1's TSC at the entry */
    uint64_t l2_behind_max;

    /* written by L1 after each #VMEXIT */
    uint64_t l1_enter_tsc;          /* L1 TSC just before the latest VMRUN */
    uint64_t ahead_count;           /* L2's last TSC ahead of L1's after */
    uint64_t ahead_max;
    uint64_t exit_gap_max;          /* L1 TSC after - L2's last, largest */
    uint64_t l1_back_count;         /* L1 TSC at exits went backwards */
    uint64_t l1_back_max;
    uint64_t l1_last_tsc;

    /*
     * Written by L2: its TSC, shifted back by the offset to L1's time
     * base, below the tsc_timestamp of L1's kvmclock page (which KVM
     * stamps with L1's TSC, e.g. at every resume): L2's offset did not
     * follow L1's (a restore that moved L1 but not L2).
     */
    uint64_t l2_pvclock_behind_count;
    uint64_t l2_pvclock_behind_max;
    uint8_t reserved[312];
} TscprobeNested;

typedef struct TscprobeResults {
    TscprobeHeader header;
    TscprobeCpu cpu[TSCPROBE_MAX_CPUS];
    TscprobeHvCpu hv[TSCPROBE_MAX_CPUS];
    TscprobeNested nested;
} TscprobeResults;

_Static_assert(sizeof(TscprobeHeader) == TSCPROBE_HEADER_SIZE,
               "header size");
_Static_assert(sizeof(TscprobeCpu) == TSCPROBE_CPU_RECORD_SIZE,
               "cpu record size");
_Static_assert(sizeof(TscprobeHvCpu) == TSCPROBE_HV_RECORD_SIZE,
               "Hyper-V record size");
_Static_assert(sizeof(TscprobeNested) == TSCPROBE_NESTED_SIZE,
               "nested block size");
_Static_assert(sizeof(TscprobeResults) == TSCPROBE_RESULTS_SIZE,
               "table size");

#endif

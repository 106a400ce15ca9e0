/*
 * Precise guest TSC save/restore: state shared by its own files
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef TARGET_I386_KVM_PRECISE_TSC_INT_H
#define TARGET_I386_KVM_PRECISE_TSC_INT_H

#include "tsc-math.h"

/* Sample flags, as carried in the migration stream. */
#define PRECISE_TSC_F_VALID        (1u << 0) /* a sample was taken */
#define PRECISE_TSC_F_KVM_PAIR     (1u << 1) /* host TSC + time from KVM */
#define PRECISE_TSC_F_ALL          (PRECISE_TSC_F_VALID | \
                                    PRECISE_TSC_F_KVM_PAIR)

/* TAI - UTC is 37 s since 2017; anything this far off is bogus. */
#define PRECISE_TSC_MAX_TAI_OFFSET 3600

/* Sanity bounds for a sample read from a stream. */
#define PRECISE_TSC_MAX_KHZ        (20 * 1000 * 1000)   /* 20 GHz */
#define PRECISE_TSC_MAX_FUTURE_NS  (24 * 3600 * NANOSECONDS_PER_SECOND)

/* One instant on the host: its TSC and CLOCK_TAI, from one TSC read. */
typedef struct PreciseTscHostSample {
    uint64_t host_tsc;
    int64_t tai_ns;
    int64_t realtime_ns;        /* what KVM_SET_CLOCK wants */
    int32_t tai_offset_s;       /* the kernel's TAI - UTC, 0 if unset */
    uint64_t kvmclock_ns;       /* the VM's kvmclock at that instant */
    uint64_t bracket_ns;        /* 0 when KVM gave the pair */
    bool from_kvm;
} PreciseTscHostSample;

/*
 * The VM-wide TSC state at one reference instant. The per-vCPU arrays are
 * indexed by the vCPU's slot (cpu_index, its place among the machine's
 * possible CPUs), so a vCPU plugged or unplugged between capture and
 * restore never shifts another's sample; sampled[] says which slots have
 * one. What travels is precise-tsc-vcpu.h's, per vCPU.
 */
typedef struct PreciseTscState {
    uint32_t flags;
    uint32_t tsc_khz;
    int64_t ref_tai_ns;
    int32_t ref_tai_offset_s;   /* TAI - UTC where sampled, 0 if unknown */
    uint64_t ref_kvmclock_ns;
    uint64_t bracket_ns;
    uint32_t nr_slots;          /* the machine's max_cpus */
    bool *sampled;
    bool *present_at_load;      /* vCPUs there when the load began */
    uint64_t *guest_tsc;        /* at the reference instant */
    uint64_t *tsc_adjust;       /* IA32_TSC_ADJUST */
    /* Local only, never migrated. */
    uint64_t *tsc_deadline;     /* as KVM held it at capture */
    uint64_t ref_host_tsc;
} PreciseTscState;

typedef struct PreciseTscReport {
    bool valid;
    int64_t elapsed_measured_ns;
    uint64_t elapsed_applied_ns;
    TscElapsedOutcome outcome;
    TscTimeBase time_base;      /* how the elapsed time was measured */
    int32_t source_tai_offset_s;
    int32_t tai_offset_s;
    uint64_t bracket_ns;
    bool from_stream;
    int64_t capture_ns;         /* host time the capture took, if here */
    int64_t restore_ns;         /* host time this restore took */
    uint64_t host_tsc;          /* host TSC of the instant restored at */
    uint64_t vcpu0_tsc;         /* vCPU 0's guest TSC set for that instant */
} PreciseTscReport;

/* How this VM's TSC is saved and restored; precise_tsc_kernel_path(). */
typedef enum PreciseTscKernelPath {
    PRECISE_TSC_KPATH_LEGACY,       /* MSR_IA32_TSC, as QEMU 10.0 */
    PRECISE_TSC_KPATH_OFFSETS,      /* KVM_VCPU_TSC_OFFSET per vCPU */
    PRECISE_TSC_KPATH_TSC_STATE,    /* KVM_{GET,SET}_TSC_STATE, VM-wide */
} PreciseTscKernelPath;

typedef struct PreciseTsc {
    /* Policy (accelerator properties). */
    bool enabled;
    uint64_t advance_limit_ms;
    /*
     * Enabled, and KVM is the accelerator at machine init done (with
     * "-accel kvm:tcg" a failed KVM init leaves enabled set and no state).
     */
    bool active;
    /* Kernel support, probed on first use. */
    bool probed;
    bool supported;
    /* The pending sample: captured at stop or loaded from a stream. */
    bool pending;
    bool loaded;
    PreciseTscState state;
    /* What the last restore did. */
    PreciseTscReport last;
    /* Restores that failed and fell back to the legacy values. */
    uint32_t legacy_fallbacks;
    int64_t capture_ns;         /* host time the last capture took */
    /* The TSC scaling KVM applied at the last capture or restore. */
    bool scaling_valid;
    TscScaling scaling;
} PreciseTsc;

extern PreciseTsc precise_tsc;

int precise_tsc_host_sample(PreciseTscHostSample *hs, Error **errp);
int64_t precise_tsc_tai_now(void);
int32_t precise_tsc_host_tai_offset(void);
bool precise_tsc_kernel_supported(void);
PreciseTscKernelPath precise_tsc_kernel_path(void);
bool precise_tsc_kvm_state_supported(void);
bool precise_tsc_kvm_state_capture(PreciseTscState *st,
                                   PreciseTscHostSample *hs, Error **errp);
bool precise_tsc_kvm_state_restore(const PreciseTscState *st,
                                   int64_t ref_tai_ns, uint64_t limit_ns,
                                   PreciseTscReport *r, Error **errp);
/* One slot per possible vCPU (the machine's max_cpus), all clear. */
void precise_tsc_state_init(PreciseTscState *st, uint32_t nr_slots);
bool precise_tsc_slot_sampled(int slot);
int precise_tsc_sample_slot(CPUState *cs);
void precise_tsc_drop_sample(void);
void precise_tsc_note_vcpus_at_load(void);
uint32_t precise_tsc_nr_vcpus(void);
void precise_tsc_stream_register(void);
int precise_tsc_vcpu_offset(CPUState *cs, unsigned long ioctl_nr,
                            uint64_t *offset);
bool precise_tsc_kvm_scaling(uint32_t vcpu_khz, TscScaling *s, Error **errp);
int precise_tsc_vcpus_khz(Error **errp);
/*
 * PRECISE_TSC_RESTORED: queued by the restore, sent from a bottom half;
 * flushed sends the queued ones now. Callers hold the BQL.
 */
void precise_tsc_emit_restored(const PreciseTscReport *r);
void precise_tsc_flush_restored(void);
/* Xen singleshot timers across the pause (precise-tsc-xen.c). */
void precise_tsc_park_xen_timers(void);
void precise_tsc_arm_xen_timers(void);

#endif

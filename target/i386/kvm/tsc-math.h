/*
 * Guest TSC and kvmclock arithmetic for precise TSC save/restore
 *
 * Pure functions, no KVM or QEMU state: the same arithmetic KVM and the
 * guest use, so host-side tests can check it exhaustively.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef TARGET_I386_KVM_TSC_MATH_H
#define TARGET_I386_KVM_TSC_MATH_H

/*
 * KVM's TSC scaling: guest_tsc = ((host_tsc * ratio) >> frac_bits) + offset.
 * frac_bits is 48 on VMX and 32 on SVM; ratio == 1 << frac_bits means
 * no scaling.
 */
typedef struct TscScaling {
    uint64_t ratio;
    unsigned int frac_bits;
} TscScaling;

uint64_t tsc_scale(uint64_t host_tsc, const TscScaling *s);
uint64_t tsc_guest_at(uint64_t host_tsc, const TscScaling *s,
                      uint64_t offset);
uint64_t tsc_offset_for(uint64_t guest_tsc, uint64_t host_tsc,
                        const TscScaling *s);

/*
 * The scaling KVM applies to a vCPU, derived exactly as kvm_set_tsc_khz()
 * does: it scales only if the host can (KVM_CAP_TSC_CONTROL) and the
 * vCPU's rate is outside tsc_tolerance_ppm of the host's; otherwise the
 * vCPU runs at the host's rate, whatever KVM_GET_TSC_KHZ says for it.
 */
typedef struct TscKvmRates {
    uint32_t vcpu_khz;          /* the vCPU's KVM_GET_TSC_KHZ */
    uint32_t host_khz;          /* the VM's KVM_GET_TSC_KHZ (host rate) */
    bool has_tsc_control;       /* KVM_CAP_TSC_CONTROL */
    uint32_t tolerance_ppm;     /* kvm.tsc_tolerance_ppm */
    unsigned int frac_bits;     /* 32 (SVM) or 48 (VMX) */
} TscKvmRates;

TscScaling tsc_kvm_scaling(const TscKvmRates *r);

/* Conversions between nanoseconds and TSC cycles, exact to within 1. */
uint64_t tsc_cycles_from_ns(uint64_t ns, uint32_t tsc_khz);
uint64_t tsc_ns_from_cycles(uint64_t cycles, uint32_t tsc_khz);

/* What the elapsed-time policy did with a measured pause. */
typedef enum TscElapsedOutcome {
    TSC_ELAPSED_ADVANCED,       /* whole elapsed time applied */
    TSC_ELAPSED_FROZEN,         /* longer than the bound: nothing applied */
    TSC_ELAPSED_NEGATIVE,       /* hosts' clocks disagree: nothing applied */
} TscElapsedOutcome;

uint64_t tsc_elapsed_to_apply(int64_t measured_ns, uint64_t bound_ns,
                              TscElapsedOutcome *outcome);

/*
 * The time base two hosts share. Each knows UTC (CLOCK_REALTIME); TAI is
 * UTC plus the kernel's TAI offset, which is 0 unless an NTP daemon set
 * it (TAI - UTC has been 10 s or more since 1972, so 0 means "unknown").
 * TAI is used when both hosts know it (it has no leap seconds), else UTC.
 */
typedef enum TscTimeBase {
    TSC_TIME_BASE_UTC,
    TSC_TIME_BASE_TAI,
} TscTimeBase;

/*
 * The reference instant ref_tai_ns, taken on a host whose TAI offset was
 * ref_tai_offset_s, as this host's CLOCK_TAI (offset local_tai_offset_s)
 * reads it in the shared time base; *base says which one that is.
 */
int64_t tsc_ref_in_local_tai(int64_t ref_tai_ns, int32_t ref_tai_offset_s,
                             int32_t local_tai_offset_s, TscTimeBase *base);

/*
 * A pvclock (kvmclock) time info record, as the guest reads it, and the
 * guest's own computation of nanoseconds from one TSC read.
 */
typedef struct PvclockParams {
    uint64_t tsc_timestamp;
    uint64_t system_time;
    uint32_t tsc_to_system_mul;
    int8_t tsc_shift;
} PvclockParams;

uint64_t pvclock_ns_at(const PvclockParams *p, uint64_t guest_tsc);

#endif

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

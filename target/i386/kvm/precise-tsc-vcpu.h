/*
 * Precise guest TSC save/restore: what each vCPU carries in the migration
 * stream (the "cpu/precise-tsc" subsection of the CPU's state)
 *
 * Each vCPU's subsection holds its own TSC and IA32_TSC_ADJUST at the
 * VM-wide reference instant, and that instant (the same in every vCPU's):
 * a subsection of the CPU is matched to the vCPU by its identity (the
 * CPU's section instance), never by creation order, and exists in
 * upstream's CPU state without a new top-level section. It is sent only
 * when precise TSC is on (the fork's machine types, see
 * hw/i386/precise-machine.c) and a sample was taken.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef TARGET_I386_KVM_PRECISE_TSC_VCPU_H
#define TARGET_I386_KVM_PRECISE_TSC_VCPU_H

typedef struct PreciseTscVcpuSample {
    /* The VM-wide reference instant (same in every vCPU's subsection). */
    uint32_t flags;
    uint32_t tsc_khz;
    int64_t ref_tai_ns;
    int32_t ref_tai_offset_s;
    uint64_t ref_kvmclock_ns;
    uint64_t bracket_ns;
    /* This vCPU at that instant. */
    uint64_t guest_tsc;
    uint64_t tsc_adjust;
} PreciseTscVcpuSample;

extern const VMStateDescription vmstate_precise_tsc_vcpu;

#endif

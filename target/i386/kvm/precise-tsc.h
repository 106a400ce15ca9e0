/*
 * Precise guest TSC and kvmclock save/restore: hooks for kvm.c and clock.c
 *
 * At VM stop one VM-wide sample is taken (KVM_GET_CLOCK's host TSC and
 * wall time from one TSC read, every vCPU's KVM_VCPU_TSC_OFFSET); before
 * the VM runs again every vCPU's offset and kvmclock are set from one
 * host sample, advanced by the real elapsed time per policy. No
 * MSR_IA32_TSC write is involved, so KVM's 1 s "synchronisation" of
 * legacy writes cannot swallow the restore. See docs/precise-tsc.md.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef TARGET_I386_KVM_PRECISE_TSC_H
#define TARGET_I386_KVM_PRECISE_TSC_H

#include "qom/object.h"

/* Accelerator properties "precise-tsc" and "precise-tsc-advance-limit". */
void precise_tsc_accel_class_init(ObjectClass *oc);

/* Called once from kvm_arch_init(). */
void precise_tsc_init(void);

/*
 * Whether kvm_put_msrs() must leave vCPU @cs's MSR_IA32_TSC alone at
 * @level because the precise path restores the TSC before the VM runs.
 * Also drops a pending sample that a reset has superseded.
 */
bool precise_tsc_owns_tsc_msr(CPUState *cs, int level);

/* Whether the TSC-deadline MSR write must wait for the restore. */
bool precise_tsc_owns_tsc_deadline(void);

/*
 * Whether putting the Xen vCPU state must leave the singleshot timers
 * alone because the restore arms them once kvmclock is restored.
 */
bool precise_tsc_owns_xen_timers(void);

/*
 * From the kvmclock device's VM-start handler: restore TSC and kvmclock
 * now if a sample is pending. Returns true if kvmclock was set, so the
 * caller must not set it again from its own stale value.
 */
bool precise_tsc_restore_on_start(void);

#endif

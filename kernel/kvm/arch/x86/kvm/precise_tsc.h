/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * KVM x86: precise TSC state and CLOCK_TAI kvmclock, as used by x86.c.
 */
#ifndef ARCH_X86_KVM_PRECISE_TSC_H
#define ARCH_X86_KVM_PRECISE_TSC_H

#include <linux/kvm_host.h>
#include <linux/kvm_precise_tsc.h>

#ifdef CONFIG_X86_64
bool kvm_precise_host_sample(u64 *host_tsc, s64 *tai);
void kvm_clock_data_add_tai(struct kvm_clock_data *data);
int kvm_vm_ioctl_set_clock_tai(struct kvm *kvm, void __user *argp);
int kvm_vm_ioctl_tsc_state(struct kvm *kvm, unsigned int ioctl,
			   void __user *argp);
#else
/* Both need the master clock's exact host TSC + time pair: 64-bit only. */
static inline int kvm_vm_ioctl_set_clock_tai(struct kvm *kvm,
					     void __user *argp)
{
	return -ENOTTY;
}

static inline int kvm_vm_ioctl_tsc_state(struct kvm *kvm, unsigned int ioctl,
					 void __user *argp)
{
	return -ENOTTY;
}
#endif

#endif /* ARCH_X86_KVM_PRECISE_TSC_H */

// SPDX-License-Identifier: GPL-2.0-only
/*
 * KVM x86: CLOCK_TAI next to kvmclock.
 *
 * Migration measures the time a VM was away on the host's CLOCK_TAI:
 * unlike CLOCK_REALTIME it does not step at leap seconds. KVM_GET_CLOCK
 * reports it from the same TSC read as host_tsc; KVM_SET_CLOCK_TAI
 * advances kvmclock by the TAI elapsed since a saved instant and tells
 * the caller what it applied.
 */

#include <linux/kvm_host.h>
#include <linux/math64.h>
#include <linux/timekeeping.h>
#include <linux/uaccess.h>

#include "x86.h"
#include "hyperv.h"
#include "precise_tsc.h"

/*
 * CLOCK_TAI - CLOCK_REALTIME, which the timekeeper keeps at whole
 * seconds: rounding the difference of two reads gives it exactly, unless
 * the offset itself changes between them (a leap second).
 */
static s64 kvm_tai_offset_ns(void)
{
	s64 diff = ktime_get_clocktai_ns() - ktime_get_real_ns();

	return div_s64(diff + NSEC_PER_SEC / 2, NSEC_PER_SEC) * NSEC_PER_SEC;
}

/*
 * Host TSC and CLOCK_TAI ns of one instant. Exact (true) when the host
 * clocksource is the TSC: both come from one TSC read. Otherwise TAI is
 * read right after the TSC.
 */
bool kvm_precise_host_sample(u64 *host_tsc, s64 *tai)
{
	struct timespec64 ts;

	if (kvm_get_walltime_and_clockread(&ts, host_tsc)) {
		*tai = timespec64_to_ns(&ts) + kvm_tai_offset_ns();
		return true;
	}
	*host_tsc = rdtsc();
	*tai = ktime_get_clocktai_ns();
	return false;
}

/* KVM_GET_CLOCK, once realtime and host_tsc are from one TSC read. */
void kvm_clock_data_add_tai(struct kvm_clock_data *data)
{
	struct kvm_clock_tai *ct = (struct kvm_clock_tai *)data;

	BUILD_BUG_ON(sizeof(*ct) != sizeof(*data));
	BUILD_BUG_ON(offsetof(struct kvm_clock_tai, tai) !=
		     offsetof(struct kvm_clock_data, pad));

	ct->tai = data->realtime + kvm_tai_offset_ns();
	ct->flags |= KVM_CLOCK_TAI;
}

static int kvm_clock_tai_check(const struct kvm_clock_tai *ct)
{
	const u32 ignored = KVM_CLOCK_TSC_STABLE | KVM_CLOCK_REALTIME |
			    KVM_CLOCK_HOST_TSC;

	if (!(ct->flags & KVM_CLOCK_TAI) ||
	    (ct->flags & ~(ignored | KVM_CLOCK_TAI)))
		return -EINVAL;
	if (ct->pad0 || ct->elapsed || ct->tai <= 0)
		return -EINVAL;
	return 0;
}

/*
 * CLOCK_TAI at the master clock's snapshot (master_cycle_now), from an
 * exact sample taken just after it: kvmclock is set for that instant.
 */
static bool kvm_tai_at_master(struct kvm_arch *ka, s64 *tai)
{
	u64 tsc, delta;
	s64 now;

	if (!kvm_precise_host_sample(&tsc, &now))
		return false;
	delta = tsc - ka->master_cycle_now;
	if ((s64)delta < 0)
		delta = 0;
	*tai = now - mul_u64_u32_div(delta, NSEC_PER_MSEC, tsc_khz);
	return true;
}

int kvm_vm_ioctl_set_clock_tai(struct kvm *kvm, void __user *argp)
{
	struct kvm_arch *ka = &kvm->arch;
	struct kvm_clock_tai ct;
	s64 now_tai, base_ns;
	bool clamped;
	int r;

	if (copy_from_user(&ct, argp, sizeof(ct)))
		return -EFAULT;
	r = kvm_clock_tai_check(&ct);
	if (r)
		return r;

	kvm_hv_request_tsc_page_update(kvm);
	kvm_start_pvclock_update(kvm);
	pvclock_update_vm_gtod_copy(kvm);
	if (ka->use_master_clock && kvm_tai_at_master(ka, &now_tai)) {
		base_ns = ka->master_kernel_ns;
	} else {
		base_ns = get_kvmclock_base_ns();
		now_tai = ktime_get_clocktai_ns();
	}
	/* Computed once; a clock behind the saved instant is not stepped back. */
	ct.elapsed = now_tai - ct.tai;
	clamped = ct.elapsed < 0;
	if (clamped)
		ct.elapsed = 0;
	ka->kvmclock_offset = ct.clock + ct.elapsed - base_ns;
	kvm_end_pvclock_update(kvm);

	ct.flags = KVM_CLOCK_TAI | (clamped ? KVM_CLOCK_TAI_CLAMPED : 0);
	ct.tai = now_tai;
	if (copy_to_user(argp, &ct, sizeof(ct)))
		return -EFAULT;
	return 0;
}

// SPDX-License-Identifier: GPL-2.0-only
/*
 * KVM x86: the VM-wide precise TSC state.
 *
 * KVM_GET_TSC_STATE reads every vCPU's guest TSC at one host instant
 * (host TSC + CLOCK_TAI); KVM_SET_TSC_STATE puts every vCPU's TSC back at
 * the saved values plus the time elapsed since, with all offsets computed
 * from one host TSC read. Per-vCPU timestamps would let the vCPUs'
 * computations drift apart; one instant keeps vCPUs that shared an offset
 * bit-identical, so they stay in one TSC generation and the master clock
 * stays on.
 */

#include <linux/kvm_host.h>
#include <linux/math64.h>
#include <linux/bitmap.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "x86.h"
#include "precise_tsc.h"

#define KVM_TSC_STATE_IN_FLAGS	(KVM_TSC_STATE_TAI_EXACT | \
				 KVM_TSC_STATE_ELAPSED | \
				 KVM_TSC_STATE_MAX_ELAPSED)

/* What SET writes into one vCPU, computed for the one host instant. */
struct kvm_tsc_state_plan {
	struct kvm_vcpu *vcpu;
	u64 offset;
	u64 tsc;
	s64 tsc_adjust;
};

/*
 * The state is only consistent while no vCPU runs: take every vCPU's
 * mutex, without waiting for a vCPU in KVM_RUN. kvm->lock is held, so the
 * set of vCPUs cannot change meanwhile.
 */
static int kvm_tsc_state_lock_vcpus(struct kvm *kvm)
{
	struct kvm_vcpu *vcpu;
	unsigned long i, j;

	kvm_for_each_vcpu(i, vcpu, kvm) {
		if (!mutex_trylock(&vcpu->mutex))
			goto busy;
	}
	return 0;
busy:
	kvm_for_each_vcpu(j, vcpu, kvm) {
		if (j == i)
			break;
		mutex_unlock(&vcpu->mutex);
	}
	return -EBUSY;
}

static void kvm_tsc_state_unlock_vcpus(struct kvm *kvm)
{
	struct kvm_vcpu *vcpu;
	unsigned long i;

	kvm_for_each_vcpu(i, vcpu, kvm)
		mutex_unlock(&vcpu->mutex);
}

static int kvm_tsc_state_get(struct kvm *kvm, struct kvm_tsc_state *st,
			     struct kvm_tsc_state_vcpu *v)
{
	struct kvm_vcpu *vcpu;
	unsigned long flags, i;
	u32 khz = 0;

	kvm_for_each_vcpu(i, vcpu, kvm) {
		if (i && vcpu->arch.virtual_tsc_khz != khz)
			return -EOPNOTSUPP;
		khz = vcpu->arch.virtual_tsc_khz;
	}

	memset(st, 0, sizeof(*st));
	st->tsc_khz = khz;
	raw_spin_lock_irqsave(&kvm->arch.tsc_write_lock, flags);
	if (kvm_precise_host_sample(&st->host_tsc, &st->tai))
		st->flags |= KVM_TSC_STATE_TAI_EXACT;
	kvm_for_each_vcpu(i, vcpu, kvm) {
		v[i].vcpu_id = vcpu->vcpu_id;
		v[i].pad = 0;
		v[i].tsc = kvm_read_l1_tsc(vcpu, st->host_tsc);
		v[i].tsc_adjust = vcpu->arch.ia32_tsc_adjust_msr;
	}
	raw_spin_unlock_irqrestore(&kvm->arch.tsc_write_lock, flags);
	st->nr_vcpus = atomic_read(&kvm->online_vcpus);
	return 0;
}

/* The advance in TSC cycles must fit in 64 bits. */
static bool kvm_tsc_elapsed_fits(s64 elapsed, u32 tsc_khz)
{
	return div_u64(elapsed, NSEC_PER_MSEC) < div_u64(U64_MAX, tsc_khz);
}

static int kvm_tsc_state_check_header(const struct kvm_tsc_state *st)
{
	if (st->flags & ~KVM_TSC_STATE_IN_FLAGS)
		return -EINVAL;
	if (st->pad || st->reserved[0] || st->reserved[1])
		return -EINVAL;
	if (!st->tsc_khz)
		return -EINVAL;
	if (st->flags & KVM_TSC_STATE_ELAPSED) {
		if (st->elapsed < 0 ||
		    !kvm_tsc_elapsed_fits(st->elapsed, st->tsc_khz))
			return -EINVAL;
	} else if (st->elapsed || st->tai <= 0) {
		return -EINVAL;
	}
	if (!(st->flags & KVM_TSC_STATE_MAX_ELAPSED) && st->max_elapsed)
		return -EINVAL;
	return 0;
}

/* Every vCPU exactly once, each running at the state's frequency. */
static int kvm_tsc_state_check_vcpus(struct kvm *kvm,
				     const struct kvm_tsc_state *st,
				     const struct kvm_tsc_state_vcpu *v,
				     struct kvm_tsc_state_plan *plan)
{
	unsigned long *seen;
	u32 i;
	int r = 0;

	seen = bitmap_zalloc(st->nr_vcpus, GFP_KERNEL_ACCOUNT);
	if (!seen)
		return -ENOMEM;
	for (i = 0; i < st->nr_vcpus && !r; i++) {
		struct kvm_vcpu *vcpu = kvm_get_vcpu_by_id(kvm, v[i].vcpu_id);

		if (v[i].pad || !vcpu || test_bit(vcpu->vcpu_idx, seen) ||
		    vcpu->arch.virtual_tsc_khz != st->tsc_khz)
			r = -EINVAL;
		else
			__set_bit(vcpu->vcpu_idx, seen);
		plan[i].vcpu = vcpu;
		plan[i].tsc_adjust = v[i].tsc_adjust;
	}
	bitmap_free(seen);
	return r;
}

/*
 * One host instant for all vCPUs: the elapsed time to apply and every
 * vCPU's offset. Nothing is written to a vCPU here.
 */
static int kvm_tsc_state_plan(struct kvm *kvm, struct kvm_tsc_state *st,
			      const struct kvm_tsc_state_vcpu *v,
			      struct kvm_tsc_state_plan *plan, u64 *ns)
{
	unsigned long flags;
	u64 host_tsc, cycles;
	s64 now_tai, elapsed;
	bool exact;
	u32 i;

	raw_spin_lock_irqsave(&kvm->arch.tsc_write_lock, flags);
	exact = kvm_precise_host_sample(&host_tsc, &now_tai);
	*ns = get_kvmclock_base_ns();
	raw_spin_unlock_irqrestore(&kvm->arch.tsc_write_lock, flags);

	st->flags &= KVM_TSC_STATE_ELAPSED | KVM_TSC_STATE_MAX_ELAPSED;
	if (exact)
		st->flags |= KVM_TSC_STATE_TAI_EXACT;
	if (st->flags & KVM_TSC_STATE_ELAPSED) {
		elapsed = st->elapsed;
	} else {
		elapsed = now_tai - st->tai;
		if (elapsed < 0) {
			elapsed = 0;
			st->flags |= KVM_TSC_STATE_CLAMPED;
		}
	}
	/* Reported on -ERANGE too: the caller learns what it refused. */
	st->host_tsc = host_tsc;
	st->tai = now_tai;
	st->elapsed = elapsed;
	if ((st->flags & KVM_TSC_STATE_MAX_ELAPSED) &&
	    (u64)elapsed > st->max_elapsed)
		return -ERANGE;
	if (!kvm_tsc_elapsed_fits(elapsed, st->tsc_khz))
		return -ERANGE;

	cycles = mul_u64_u32_div(elapsed, st->tsc_khz, NSEC_PER_MSEC);
	for (i = 0; i < st->nr_vcpus; i++) {
		struct kvm_vcpu *vcpu = plan[i].vcpu;

		plan[i].tsc = v[i].tsc + cycles;
		plan[i].offset = plan[i].tsc -
			kvm_scale_tsc(host_tsc, vcpu->arch.l1_tsc_scaling_ratio);
	}
	return 0;
}

/*
 * Write the planned offsets. The first vCPU starts a TSC generation;
 * every vCPU with the generation's offset joins it, as KVM's own
 * synchronisation would have it.
 */
static void kvm_tsc_state_apply(struct kvm *kvm,
				const struct kvm_tsc_state_plan *plan,
				u32 nr_vcpus, u64 ns)
{
	struct kvm_arch *ka = &kvm->arch;
	unsigned long flags;
	u32 i;

	for (i = 0; i < nr_vcpus; i++) {
		struct kvm_vcpu *vcpu = plan[i].vcpu;
		bool matched;

		vcpu_load(vcpu);
		raw_spin_lock_irqsave(&ka->tsc_write_lock, flags);
		matched = i && ka->cur_tsc_offset == plan[i].offset &&
			  ka->last_tsc_khz == vcpu->arch.virtual_tsc_khz;
		ka->user_set_tsc = true;
		__kvm_synchronize_tsc(vcpu, plan[i].offset, plan[i].tsc, ns,
				      matched);
		vcpu->arch.ia32_tsc_adjust_msr = plan[i].tsc_adjust;
		raw_spin_unlock_irqrestore(&ka->tsc_write_lock, flags);
		vcpu_put(vcpu);
	}
	/* Let KVM_GET_CLOCK see the master clock before any vCPU runs. */
	kvm_update_masterclock(kvm);
}

static int kvm_tsc_state_set(struct kvm *kvm, struct kvm_tsc_state *st,
			     const struct kvm_tsc_state_vcpu *v)
{
	struct kvm_tsc_state_plan *plan;
	u64 ns;
	int r;

	r = kvm_tsc_state_check_header(st);
	if (r)
		return r;
	plan = kvcalloc(st->nr_vcpus, sizeof(*plan), GFP_KERNEL_ACCOUNT);
	if (!plan)
		return -ENOMEM;
	r = kvm_tsc_state_check_vcpus(kvm, st, v, plan);
	if (!r)
		r = kvm_tsc_state_plan(kvm, st, v, plan, &ns);
	if (!r)
		kvm_tsc_state_apply(kvm, plan, st->nr_vcpus, ns);
	kvfree(plan);
	return r;
}

static int kvm_tsc_state_ioctl(struct kvm *kvm, struct kvm_tsc_state __user *up,
			       bool set)
{
	struct kvm_tsc_state_vcpu *v = NULL;
	struct kvm_tsc_state st;
	u32 n;
	int r;

	if (copy_from_user(&st, up, sizeof(st)))
		return -EFAULT;

	mutex_lock(&kvm->lock);
	n = atomic_read(&kvm->online_vcpus);
	r = -EINVAL;
	if (set && st.nr_vcpus != n)
		goto out;
	r = -E2BIG;
	if (!set && st.nr_vcpus < n) {
		if (put_user(n, &up->nr_vcpus))
			r = -EFAULT;
		goto out;
	}
	r = -ENOMEM;
	v = kvcalloc(n, sizeof(*v), GFP_KERNEL_ACCOUNT);
	if (n && !v)
		goto out;
	r = -EFAULT;
	if (set && copy_from_user(v, up->vcpus, n * sizeof(*v)))
		goto out;

	r = kvm_tsc_state_lock_vcpus(kvm);
	if (r)
		goto out;
	r = set ? kvm_tsc_state_set(kvm, &st, v) : kvm_tsc_state_get(kvm, &st, v);
	kvm_tsc_state_unlock_vcpus(kvm);

	if ((!r || r == -ERANGE) && copy_to_user(up, &st, sizeof(st)))
		r = -EFAULT;
	else if (!r && !set && copy_to_user(up->vcpus, v, n * sizeof(*v)))
		r = -EFAULT;
out:
	mutex_unlock(&kvm->lock);
	kvfree(v);
	return r;
}

int kvm_vm_ioctl_tsc_state(struct kvm *kvm, unsigned int ioctl,
			   void __user *argp)
{
	return kvm_tsc_state_ioctl(kvm, argp, ioctl == KVM_SET_TSC_STATE);
}

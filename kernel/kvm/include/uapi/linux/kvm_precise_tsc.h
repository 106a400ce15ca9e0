/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * KVM x86: a VM-wide precise TSC state and CLOCK_TAI for kvmclock.
 *
 * Fork-local UAPI of qemu-tsc-fork (not in upstream Linux). The numbers
 * below were chosen not to collide with Linux 6.12's <linux/kvm.h>:
 * capabilities there end at 238, fork-local ones start at 0x10000; KVMIO
 * ioctl numbers there end at 0xe3, fork-local ones use 0xf0..0xf2.
 */
#ifndef _UAPI_LINUX_KVM_PRECISE_TSC_H
#define _UAPI_LINUX_KVM_PRECISE_TSC_H

#include <linux/types.h>
#include <linux/ioctl.h>
#include <linux/kvm.h>

/*
 * KVM_CHECK_EXTENSION (VM or system): a mask of KVM_PRECISE_TSC_HAS_*,
 * 0 on kernels without this support.
 */
#define KVM_CAP_PRECISE_TSC		0x10000
#define KVM_PRECISE_TSC_HAS_CLOCK_TAI	(1 << 0)
#define KVM_PRECISE_TSC_HAS_TSC_STATE	(1 << 1)

/*
 * KVM_GET_CLOCK sets KVM_CLOCK_TAI next to KVM_CLOCK_REALTIME and
 * KVM_CLOCK_HOST_TSC, and fills struct kvm_clock_tai's tai (the first
 * half of struct kvm_clock_data's pad) from the same TSC read as
 * host_tsc. KVM_SET_CLOCK accepts the flag and ignores it, so the result
 * of KVM_GET_CLOCK can be passed back as before.
 */
#define KVM_CLOCK_TAI			(1 << 4)
/* KVM_SET_CLOCK_TAI output: the TAI elapsed was negative, 0 was applied. */
#define KVM_CLOCK_TAI_CLAMPED		(1 << 5)

/* Same size and leading fields as struct kvm_clock_data. */
struct kvm_clock_tai {
	__u64 clock;		/* kvmclock ns */
	__u32 flags;		/* KVM_CLOCK_* */
	__u32 pad0;
	__u64 realtime;		/* CLOCK_REALTIME ns, with KVM_CLOCK_REALTIME */
	__u64 host_tsc;		/* with KVM_CLOCK_HOST_TSC */
	__s64 tai;		/* CLOCK_TAI ns, with KVM_CLOCK_TAI */
	__s64 elapsed;		/* KVM_SET_CLOCK_TAI output: ns applied */
};

/*
 * KVM_SET_CLOCK_TAI: set kvmclock to clock + (TAI now - tai). In: clock,
 * flags (must hold KVM_CLOCK_TAI; KVM_CLOCK_TSC_STABLE, _REALTIME and
 * _HOST_TSC are accepted and ignored), tai > 0; pad0 and elapsed 0.
 * Out: flags KVM_CLOCK_TAI [| KVM_CLOCK_TAI_CLAMPED], tai = the TAI used
 * (the instant kvmclock was set for), elapsed = the ns the clock was
 * advanced by (never negative: a clock behind tai is applied as 0 and
 * said so with KVM_CLOCK_TAI_CLAMPED).
 */
#define KVM_SET_CLOCK_TAI	_IOWR(KVMIO, 0xf0, struct kvm_clock_tai)

/* One vCPU of struct kvm_tsc_state. */
struct kvm_tsc_state_vcpu {
	__u32 vcpu_id;
	__u32 pad;		/* must be 0 */
	__u64 tsc;		/* guest (L1) TSC at the reference instant */
	__u64 tsc_adjust;	/* IA32_TSC_ADJUST */
};

/* host_tsc and tai come from one TSC read (host clocksource is TSC). */
#define KVM_TSC_STATE_TAI_EXACT		(1 << 0)
/* SET input: advance by elapsed instead of by TAI now - tai. */
#define KVM_TSC_STATE_ELAPSED		(1 << 1)
/* SET input: refuse (-ERANGE) an elapsed above max_elapsed. */
#define KVM_TSC_STATE_MAX_ELAPSED	(1 << 2)
/* SET output: TAI now was before tai; 0 was applied. */
#define KVM_TSC_STATE_CLAMPED		(1 << 3)

/*
 * The TSC state of the whole VM at one reference instant: the host TSC
 * and CLOCK_TAI there, the guest TSC frequency, per vCPU the guest TSC at
 * that instant and IA32_TSC_ADJUST.
 */
struct kvm_tsc_state {
	__u32 flags;		/* KVM_TSC_STATE_* */
	__u32 nr_vcpus;		/* entries in vcpus[] */
	__u32 tsc_khz;		/* guest TSC frequency, same for all vCPUs */
	__u32 pad;		/* must be 0 */
	__u64 host_tsc;		/* the reference instant: host TSC ... */
	__s64 tai;		/* ... and CLOCK_TAI ns */
	__s64 elapsed;		/* SET: ns to advance (in) / advanced (out) */
	__u64 max_elapsed;	/* SET input with KVM_TSC_STATE_MAX_ELAPSED */
	__u64 reserved[2];	/* must be 0 */
	struct kvm_tsc_state_vcpu vcpus[];
};

/*
 * KVM_GET_TSC_STATE: nr_vcpus in is the room in vcpus[]; -E2BIG with
 * nr_vcpus set to the VM's count if too small. The VM's vCPUs must not
 * be in an ioctl (-EBUSY), e.g. KVM_RUN.
 *
 * KVM_SET_TSC_STATE: every vCPU exactly once, tsc_khz as the vCPUs run.
 * All vCPUs' TSC offsets come from one host TSC read; vCPUs that had
 * equal TSCs at the reference instant get equal offsets, in one TSC
 * generation, so KVM's master clock stays on. Fields are checked before
 * anything is applied (-EINVAL); -ERANGE past max_elapsed, nothing
 * applied. Out: flags (TAI_EXACT, CLAMPED), host_tsc and tai of the read
 * used, elapsed applied; on -ERANGE the header is written back too, with
 * the elapsed time that was refused.
 */
#define KVM_GET_TSC_STATE	_IOWR(KVMIO, 0xf1, struct kvm_tsc_state)
#define KVM_SET_TSC_STATE	_IOWR(KVMIO, 0xf2, struct kvm_tsc_state)

#endif /* _UAPI_LINUX_KVM_PRECISE_TSC_H */

/*
 * Precise TSC: Xen emulated singleshot timers across a pause.
 *
 * A Xen singleshot timer's deadline is absolute Xen system time, i.e.
 * kvmclock, but KVM runs it as a host hrtimer (QEMU, on kernels without
 * EVTCHN_SEND, on QEMU_CLOCK_VIRTUAL). Whenever the precise restore gives
 * the guest a kvmclock other than the host's elapsed time would (freeze
 * policy, or a destination's new VM), the timer must be re-armed against
 * the restored kvmclock:
 *  - at stop, each deadline is read and KVM's timer stopped, so it cannot
 *    fire during the pause in host time;
 *  - when a stream is loaded, putting the vCPU state leaves the timer
 *    alone (hook patch 0014);
 *  - after the restore has set kvmclock, every timer is armed again.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/error-report.h"
#include "cpu.h"
#include "hw/xen/xen.h"
#include "system/kvm.h"
#include "system/hw_accel.h"
#include "precise-tsc.h"
#include "precise-tsc-int.h"

#include CONFIG_DEVICES

#ifdef CONFIG_XEN_EMU
#include "hw/xen/interface/xen.h"
#include "system/kvm_xen.h"
#include "xen-emu.h"
#endif

bool precise_tsc_owns_xen_timers(void)
{
    return precise_tsc.pending && precise_tsc.loaded;
}

#ifdef CONFIG_XEN_EMU
static void stop_kernel_timer(CPUState *cs)
{
    CPUX86State *env = &X86_CPU(cs)->env;
    struct kvm_xen_vcpu_attr va = {
        .type = KVM_XEN_VCPU_ATTR_TYPE_TIMER,
        .u.timer.port = env->xen_virq[VIRQ_TIMER],
        .u.timer.priority = KVM_IRQ_ROUTING_XEN_EVTCHN_PRIO_2LEVEL,
        .u.timer.expires_ns = 0,
    };
    int ret = kvm_vcpu_ioctl(cs, KVM_XEN_VCPU_SET_ATTR, &va);

    if (ret < 0) {
        warn_report("precise-tsc: stopping vCPU %d's Xen timer failed: %s",
                    cs->cpu_index, strerror(-ret));
    }
}
#endif

void precise_tsc_park_xen_timers(void)
{
#ifdef CONFIG_XEN_EMU
    CPUState *cs;

    if (xen_mode != XEN_EMULATE || !kvm_xen_has_cap(EVTCHN_SEND)) {
        return;
    }
    CPU_FOREACH(cs) {
        /* Reads the deadline into env (kvm_get_xen_state()). */
        cpu_synchronize_state(cs);
        if (X86_CPU(cs)->env.xen_virq[VIRQ_TIMER]) {
            stop_kernel_timer(cs);
        }
    }
#endif
}

void precise_tsc_arm_xen_timers(void)
{
#ifdef CONFIG_XEN_EMU
    CPUState *cs;

    if (xen_mode != XEN_EMULATE) {
        return;
    }
    CPU_FOREACH(cs) {
        int ret = kvm_xen_put_singleshot_timer(cs);

        if (ret < 0) {
            error_report("precise-tsc: arming vCPU %d's Xen timer failed: %s",
                         cs->cpu_index, strerror(-ret));
        }
    }
#endif
}

/*
 * tscprobe: a Xen singleshot timer, when QEMU emulates Xen.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef TSCPROBE_XENTIMER_H
#define TSCPROBE_XENTIMER_H

#include <stdint.h>

#include "cpufeatures.h"
#include "kvmclock.h"

/*
 * On vCPU 0, with kvmclock enabled: if @f found the Xen CPUID leaves,
 * map shared_info, bind VIRQ_TIMER (masked: the guest polls) and arm the
 * first timer.  Records the outcome in the results header.
 */
void xen_timer_setup(const CpuFeatures *f, const PvclockTimeInfo *clock);

/* Each loop pass of vCPU 0: time a fired timer and re-arm it. */
void xen_timer_poll(const PvclockTimeInfo *clock, uint32_t resumes);

#endif

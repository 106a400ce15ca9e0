/*
 * tscprobe: periodic local APIC timer whose lateness is measured in TSC.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef TSCPROBE_TIMER_H
#define TSCPROBE_TIMER_H

#include <stdint.h>

#include "cpufeatures.h"
#include "percpu.h"

/*
 * Choose TSC-deadline mode if CPUID has it, else a one-shot APIC timer
 * calibrated against the TSC (TCG has no TSC-deadline).  BSP only, with
 * its APIC enabled.  Returns the TSCPROBE_TIMER_* mode.
 */
uint32_t timer_setup(const CpuFeatures *f, uint64_t period_tsc);

/* Program the calling vCPU's LVT timer and arm the first deadline. */
void timer_start(PerCpu *cpu);

/* C part of the timer interrupt (called from isr.S). */
void timer_interrupt(void);

#endif

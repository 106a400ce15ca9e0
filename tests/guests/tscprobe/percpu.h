/*
 * tscprobe: per-vCPU state, reachable from interrupt handlers via %gs.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef TSCPROBE_PERCPU_H
#define TSCPROBE_PERCPU_H

#include <stdint.h>

#include "kvmclock.h"
#include "tscprobe-results.h"

typedef struct PerCpu {
    struct PerCpu *self;        /* must stay first: read as %gs:0 */
    uint32_t index;
    uint32_t apic_id;
    TscprobeCpu *rec;           /* this vCPU's slot in the results table */
    uint64_t timer_deadline;    /* TSC the armed timer should fire at */
    volatile uint32_t alive;    /* set by the AP once it runs C code */
    volatile uint32_t jump_pending; /* time the next IRQ after a jump */
    volatile uint32_t jump_irq_seen; /* the IRQ saw the gap before the loop */
    volatile uint64_t loop_tsc;     /* TSC of the loop's latest pass */
    volatile uint32_t resume_irq_pending; /* time the next IRQ: resumed */
    volatile uint32_t resume_irq_done; /* IRQ after the resume timed */
    PvclockTimeInfo pvclock;
} PerCpu;

PerCpu *percpu_get(uint32_t index);

/* Make @cpu the calling vCPU's this_cpu(). */
void percpu_activate(PerCpu *cpu);

static inline PerCpu *this_cpu(void)
{
    PerCpu *cpu;

    asm volatile("mov %%gs:0, %0" : "=r"(cpu));
    return cpu;
}

#endif

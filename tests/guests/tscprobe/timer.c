/*
 * tscprobe: the timer experiment.  Every period the handler notes how late
 * it runs relative to the TSC deadline it asked for, then re-arms one
 * period after its own entry.  In one-shot fallback mode the deadline is
 * converted to an APIC count, so small early firing is possible and
 * counted separately.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "idt.h"
#include "lapic.h"
#include "probe.h"
#include "results.h"
#include "timer.h"
#include "tscfreq.h"

#define CALIBRATION_US  10000

static uint32_t timer_mode = TSCPROBE_TIMER_NONE;
static uint64_t timer_period_tsc;
static uint64_t apic_per_tsc_q32;   /* APIC timer ticks per TSC tick */

static void calibrate_oneshot(void)
{
    uint64_t start_tsc, tsc_ticks;
    uint32_t apic_ticks;

    lapic_timer_mode_oneshot(TIMER_VECTOR);
    lapic_timer_start(UINT32_MAX);
    start_tsc = rdtsc_ordered();
    tsc_delay_us(CALIBRATION_US);
    apic_ticks = UINT32_MAX - lapic_timer_current();
    tsc_ticks = rdtsc_ordered() - start_tsc;
    lapic_timer_start(0);
    apic_per_tsc_q32 = ((uint64_t)apic_ticks << 32) / tsc_ticks;
}

uint32_t timer_setup(const CpuFeatures *f, uint64_t period_tsc)
{
    timer_period_tsc = period_tsc;
    if (f->tsc_deadline) {
        timer_mode = TSCPROBE_TIMER_TSC_DEADLINE;
    } else {
        calibrate_oneshot();
        timer_mode = apic_per_tsc_q32 ? TSCPROBE_TIMER_ONESHOT
                                      : TSCPROBE_TIMER_NONE;
    }
    return timer_mode;
}

static void timer_arm(PerCpu *cpu, uint64_t deadline)
{
    uint64_t now, count;

    cpu->timer_deadline = deadline;
    if (timer_mode == TSCPROBE_TIMER_TSC_DEADLINE) {
        wrmsr(MSR_IA32_TSC_DEADLINE, deadline);
        return;
    }
    now = rdtsc_ordered();
    count = deadline > now ?
        (uint64_t)(((unsigned __int128)(deadline - now) * apic_per_tsc_q32)
                   >> 32) : 0;
    if (count == 0) {
        count = 1;
    } else if (count > UINT32_MAX) {
        count = UINT32_MAX;
    }
    lapic_timer_start((uint32_t)count);
}

void timer_start(PerCpu *cpu)
{
    /* No gap to see before the loop's first pass: start from now. */
    cpu->loop_tsc = rdtsc_ordered();
    cpu->rec->timer_mode = timer_mode;
    if (timer_mode == TSCPROBE_TIMER_TSC_DEADLINE) {
        lapic_timer_mode_deadline(TIMER_VECTOR);
    } else if (timer_mode == TSCPROBE_TIMER_ONESHOT) {
        lapic_timer_mode_oneshot(TIMER_VECTOR);
    } else {
        return;
    }
    timer_arm(cpu, rdtsc_ordered() + timer_period_tsc);
}

/*
 * Is this the first IRQ after the vCPU did not run for a while (a jump)?
 * Either the loop has seen the jump, or the IRQ came first: a deadline
 * that passed while the vCPU was stopped fires as soon as it resumes,
 * before the loop's next pass, so compare with the loop's latest TSC too.
 */
static bool timer_after_jump(PerCpu *cpu, uint64_t now)
{
    uint64_t loop_tsc = cpu->loop_tsc;
    bool gap = now > loop_tsc &&
               now - loop_tsc > probe_config.jump_threshold_tsc;

    if (gap) {
        cpu->jump_irq_seen = 1;
    }
    if (cpu->jump_pending) {
        cpu->jump_pending = 0;
        return true;
    }
    return gap;
}

static void timer_record(PerCpu *cpu, uint64_t now)
{
    TscprobeCpu *rec = cpu->rec;
    uint64_t late = 0;

    if (now >= cpu->timer_deadline) {
        late = now - cpu->timer_deadline;
    } else {
        rec->timer_early_count++;
    }
    rec->timer_irqs++;
    rec->timer_late_last = late;
    if (late > rec->timer_late_max) {
        rec->timer_late_max = late;
    }
    /*
     * The first IRQ after a resume: KVM wrote the guest-stopped flag
     * before the vCPU ran again, and the loop has not cleared it yet (or
     * it has, and asked for the next IRQ instead).
     */
    if (((cpu->pvclock.flags & PVCLOCK_GUEST_STOPPED) &&
         !cpu->resume_irq_done) || cpu->resume_irq_pending) {
        cpu->resume_irq_done = !cpu->resume_irq_pending;
        cpu->resume_irq_pending = 0;
        rec->resume_timer_late = late;
    }
    if (timer_after_jump(cpu, now)) {
        rec->timer_after_jump_count++;
        rec->timer_late_after_jump = late;
        if (late > rec->timer_late_after_jump_max) {
            rec->timer_late_after_jump_max = late;
        }
    }
}

void timer_interrupt(void)
{
    uint64_t now = rdtsc_ordered();
    PerCpu *cpu = this_cpu();

    timer_record(cpu, now);
    lapic_eoi();
    timer_arm(cpu, now + timer_period_tsc);
}

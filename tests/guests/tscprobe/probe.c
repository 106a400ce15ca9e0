/*
 * tscprobe: the per-vCPU measurement loop.  Each pass reads the TSC once
 * (through the warp check) and kvmclock once, compares them with the
 * previous pass and publishes the heartbeat.  The loop never sleeps, so
 * any gap between passes is time the vCPU did not run (host scheduling,
 * a paused or migrating VM) or a clock that jumped.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "hvclock.h"
#include "probe.h"
#include "report.h"
#include "results.h"
#include "warp.h"
#include "xentimer.h"

ProbeConfig probe_config;

static void check_tsc_step(PerCpu *cpu, uint64_t prev, uint64_t now)
{
    TscprobeCpu *rec = cpu->rec;

    if (now < prev) {
        record_event(&rec->tsc_back_count, &rec->tsc_back_max,
                     &rec->tsc_back_at, prev - now, now);
    } else if (now - prev > probe_config.jump_threshold_tsc) {
        record_event(&rec->tsc_jump_count, &rec->tsc_jump_max,
                     &rec->tsc_jump_at, now - prev, now);
        /*
         * A deadline that passed during the gap fires as soon as the
         * vCPU runs again, usually before this pass sees the gap; the
         * handler then timed that IRQ as the first after the jump.
         */
        if (cpu->jump_irq_seen) {
            cpu->jump_irq_seen = 0;
        } else {
            cpu->jump_pending = 1;
        }
    }
}

static void check_kvmclock_step(TscprobeCpu *rec, uint64_t prev,
                                uint64_t now)
{
    if (now < prev) {
        record_event(&rec->kvmclock_back_count, &rec->kvmclock_back_max_ns,
                     &rec->kvmclock_back_at_ns, prev - now, now);
    } else if (now - prev > probe_config.jump_threshold_ns) {
        record_event(&rec->kvmclock_jump_count, &rec->kvmclock_jump_max_ns,
                     &rec->kvmclock_jump_at_ns, now - prev, now);
    }
}

/*
 * KVM flagged the kvmclock page: the VM was stopped and has just been
 * resumed.  Clear the flag (the guest owns it from now on, as Linux
 * does) and record the steps across the stop, both taken from kvmclock
 * reads: the vCPU may have stopped anywhere in the previous pass, but
 * the read that sees the flag used a TSC read after the resume and the
 * one before it a TSC read before the stop.  The timer handler times
 * the first IRQ that finds the flag; if none came yet, the next one.
 * With interrupts off, so that IRQ is either before or after all this.
 */
static void check_resume(PerCpu *cpu, uint64_t prev_tsc, uint64_t tsc,
                         uint64_t prev_ns, uint64_t ns)
{
    TscprobeCpu *rec = cpu->rec;
    uint64_t rflags;

    asm volatile("pushfq; popq %0; cli" : "=r"(rflags) : : "memory");
    __atomic_fetch_and(&cpu->pvclock.flags, (uint8_t)~PVCLOCK_GUEST_STOPPED,
                       __ATOMIC_RELAXED);
    rec->resume_count++;
    rec->resume_tsc_step = (int64_t)(tsc - prev_tsc);
    rec->resume_kvmclock_step_ns = (int64_t)(ns - prev_ns);
    cpu->resume_irq_pending = !cpu->resume_irq_done;
    cpu->resume_irq_done = 0;
    if (rflags & (1u << 9)) {
        irq_enable();
    }
}

static void check_warp(TscprobeCpu *rec, uint64_t behind, uint64_t now)
{
    if (behind) {
        record_event(&rec->warp_count, &rec->warp_max, &rec->warp_at,
                     behind, now);
    }
}

void probe_begin(PerCpu *cpu, ProbeState *st)
{
    uint64_t behind;
    uint8_t flags = 0;

    *st = (ProbeState) { .prev_tsc = warp_sample(&behind) };
    cpu->loop_tsc = st->prev_tsc;
    if (probe_config.kvmclock) {
        st->prev_ns = kvmclock_read(&cpu->pvclock, &flags, &st->prev_ns_tsc);
    }
}

void probe_pass(PerCpu *cpu, ProbeState *st)
{
    TscprobeCpu *rec = cpu->rec;
    TscprobeHvCpu *hv = &results_table()->hv[cpu->index];
    uint64_t behind;
    uint64_t now = warp_sample(&behind);
    uint64_t ns = 0;
    uint64_t ns_tsc = 0;
    uint64_t ref = 0;
    uint32_t seq = 0;
    uint8_t flags = 0;
    bool ref_valid = false;

    cpu->loop_tsc = now;

    if (probe_config.hv_clock) {
        ns = hv_clock_read(&cpu->pvclock, &flags, &ns_tsc, &ref, &seq);
        ref_valid = seq != 0;
    } else if (probe_config.kvmclock) {
        ns = kvmclock_read(&cpu->pvclock, &flags, &ns_tsc);
    }

    record_begin(rec);
    check_warp(rec, behind, now);
    check_tsc_step(cpu, st->prev_tsc, now);
    if (probe_config.hv_clock) {
        hv_clock_check(hv, ref_valid, ref, seq, ns);
    }
    if (probe_config.kvmclock) {
        check_kvmclock_step(rec, st->prev_ns, ns);
        if (flags & PVCLOCK_GUEST_STOPPED) {
            /* 0 unless both reads were valid: never a stale step. */
            hv->resume_ref_step = ref_valid && st->prev_ref ?
                                  (int64_t)(ref - st->prev_ref) : 0;
            check_resume(cpu, st->prev_ns_tsc, ns_tsc, st->prev_ns, ns);
        }
        rec->kvmclock_flags = flags;
        rec->last_kvmclock_ns = ns;
    }
    rec->last_tsc = now;
    rec->loops++;
    record_end(rec);

    st->prev_tsc = now;
    st->prev_ns = ns;
    st->prev_ns_tsc = ns_tsc;
    st->prev_ref = ref_valid ? ref : 0;
    if (cpu->index == 0) {
        xen_timer_poll(&cpu->pvclock, rec->resume_count);
        if (probe_config.hv_clock && now >= st->next_msr_check) {
            hv_clock_check_msr(hv);
            st->next_msr_check = now + probe_config.tsc_khz * 100;
        }
        report_tick(now);
    }
}

void probe_run(PerCpu *cpu)
{
    ProbeState st;

    probe_begin(cpu, &st);
    for (;;) {
        probe_pass(cpu, &st);
    }
}

/*
 * tscprobe: the per-vCPU measurement loop.  Each pass reads the TSC once
 * (through the warp check) and kvmclock once, compares them with the
 * previous pass and publishes the heartbeat.  The loop never sleeps, so
 * any gap between passes is time the vCPU did not run (host scheduling,
 * a paused or migrating VM) or a clock that jumped.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "probe.h"
#include "report.h"
#include "results.h"
#include "warp.h"

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
        cpu->jump_pending = 1;
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

static void check_warp(TscprobeCpu *rec, uint64_t behind, uint64_t now)
{
    if (behind) {
        record_event(&rec->warp_count, &rec->warp_max, &rec->warp_at,
                     behind, now);
    }
}

void probe_run(PerCpu *cpu)
{
    TscprobeCpu *rec = cpu->rec;
    uint64_t behind;
    uint64_t prev_tsc = warp_sample(&behind);
    uint64_t prev_ns = 0;
    uint8_t flags = 0;

    if (probe_config.kvmclock) {
        prev_ns = kvmclock_read(&cpu->pvclock, &flags);
    }
    for (;;) {
        uint64_t now = warp_sample(&behind);
        uint64_t ns = 0;

        if (probe_config.kvmclock) {
            ns = kvmclock_read(&cpu->pvclock, &flags);
        }

        record_begin(rec);
        check_warp(rec, behind, now);
        check_tsc_step(cpu, prev_tsc, now);
        if (probe_config.kvmclock) {
            check_kvmclock_step(rec, prev_ns, ns);
            rec->kvmclock_flags = flags;
            rec->last_kvmclock_ns = ns;
        }
        rec->last_tsc = now;
        rec->loops++;
        record_end(rec);

        prev_tsc = now;
        prev_ns = ns;
        if (cpu->index == 0) {
            report_tick(now);
        }
    }
}

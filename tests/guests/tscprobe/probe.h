/*
 * tscprobe: the measurement loop every vCPU runs, and its configuration.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef TSCPROBE_PROBE_H
#define TSCPROBE_PROBE_H

#include <stdbool.h>
#include <stdint.h>

#include "percpu.h"

/* Decided once by the BSP before the APs start; read-only afterwards. */
typedef struct ProbeConfig {
    uint64_t tsc_khz;
    uint64_t jump_threshold_tsc;
    uint64_t jump_threshold_ns;
    bool kvmclock;
    bool hv_clock;              /* every vCPU reads the reference TSC page */
    bool nested;                /* the last vCPU runs the nested probe */
    uint32_t nested_cpu;
} ProbeConfig;

extern ProbeConfig probe_config;

/* What one pass of the loop compares the next one with. */
typedef struct ProbeState {
    uint64_t prev_tsc;
    uint64_t prev_ns;
    uint64_t prev_ns_tsc;
    uint64_t prev_ref;          /* 0: no valid Hyper-V reading */
    uint64_t next_msr_check;
} ProbeState;

/* Start measuring on the calling vCPU. */
void probe_begin(PerCpu *cpu, ProbeState *st);

/* One pass of the loop (the nested probe's L1 runs one per #VMEXIT). */
void probe_pass(PerCpu *cpu, ProbeState *st);

/* Enter the loop on the calling vCPU; never returns. */
void probe_run(PerCpu *cpu) __attribute__((noreturn));

#endif

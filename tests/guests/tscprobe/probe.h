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
} ProbeConfig;

extern ProbeConfig probe_config;

/* Enter the loop on the calling vCPU; never returns. */
void probe_run(PerCpu *cpu) __attribute__((noreturn));

#endif

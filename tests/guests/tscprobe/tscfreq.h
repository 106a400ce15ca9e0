/*
 * tscprobe: TSC frequency and TSC-based delays.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef TSCPROBE_TSCFREQ_H
#define TSCPROBE_TSCFREQ_H

#include <stdint.h>

#include "cpufeatures.h"

typedef struct TscFreq {
    uint64_t khz;
    uint32_t source;            /* TSCPROBE_KHZ_* */
} TscFreq;

/* Determine the TSC frequency once; later calls to tsc_delay_us use it. */
TscFreq tsc_freq_detect(const CpuFeatures *f);

void tsc_delay_us(uint64_t us);

#endif

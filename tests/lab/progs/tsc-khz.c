/*
 * tsc-khz: this machine's TSC rate in kHz, measured against
 * CLOCK_MONOTONIC_RAW over 300 ms. Under TCG the lab's inner hosts count
 * this TSC, so tests/lab/run2 derives their forced calibrations from it.
 *
 * Copyright (c) 2026 qemu-tsc-fork contributors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include <x86intrin.h>

static int64_t raw_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(void)
{
    struct timespec pause = { .tv_nsec = 300 * 1000 * 1000 };
    int64_t n0 = raw_ns();
    uint64_t t0 = __rdtsc();
    int64_t n1;
    uint64_t t1;

    nanosleep(&pause, NULL);
    n1 = raw_ns();
    t1 = __rdtsc();
    printf("%.0f\n", (double)(t1 - t0) * 1e6 / (double)(n1 - n0));
    return 0;
}

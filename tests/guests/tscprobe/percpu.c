/*
 * tscprobe: per-vCPU state storage.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "percpu.h"
#include "x86.h"

#define MSR_GS_BASE 0xc0000101u

static PerCpu percpu[TSCPROBE_MAX_CPUS];

PerCpu *percpu_get(uint32_t index)
{
    return &percpu[index];
}

void percpu_activate(PerCpu *cpu)
{
    cpu->self = cpu;
    wrmsr(MSR_GS_BASE, (uint64_t)(uintptr_t)cpu);
}

/*
 * tscprobe: application processor start-up.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef TSCPROBE_SMP_H
#define TSCPROBE_SMP_H

#include <stdint.h>

#include "acpi.h"

typedef void (*ApEntry)(uint32_t index);

/*
 * Start every CPU of @cpus except the calling BSP, one at a time, with
 * INIT/SIPI/SIPI.  The BSP is index 0; APs get 1.. in MADT order and
 * call @entry(index) on their own stack.  Marks each table record
 * running-or-failed and returns how many APs answered.
 */
uint32_t smp_start_aps(const CpuList *cpus, uint32_t bsp_apic_id,
                       ApEntry entry);

#endif

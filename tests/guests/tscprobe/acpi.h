/*
 * tscprobe: find the vCPUs (local APIC IDs) in the ACPI MADT.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef TSCPROBE_ACPI_H
#define TSCPROBE_ACPI_H

#include <stdbool.h>
#include <stdint.h>

#include "tscprobe-results.h"

typedef struct CpuList {
    uint32_t count;
    uint32_t lapic_addr;
    uint8_t apic_id[TSCPROBE_MAX_CPUS];
} CpuList;

/*
 * Fill @cpus with the enabled processors of the MADT.  @rsdp_hint is the
 * RSDP address reported by the loader, or 0 to search the BIOS areas.
 * Returns false if no MADT was found.
 */
bool acpi_find_cpus(uint64_t rsdp_hint, CpuList *cpus);

#endif

/*
 * tscprobe: minimal ACPI walk, RSDP -> RSDT/XSDT -> MADT, just enough to
 * list the local APIC IDs QEMU created for -smp.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <stddef.h>

#include "acpi.h"

#define SDT_HEADER_SIZE         36
#define MADT_ENTRIES_OFFSET     44
#define MADT_LOCAL_APIC         0
#define MADT_LOCAL_X2APIC       9
#define MADT_CPU_ENABLED        1u
#define XAPIC_MAX_ID            0xfe    /* 0xff is broadcast */

static uint32_t read_le32(const uint8_t *p)
{
    return p[0] | (p[1] << 8) | (p[2] << 16) | ((uint32_t)p[3] << 24);
}

static uint64_t read_le64(const uint8_t *p)
{
    return read_le32(p) | ((uint64_t)read_le32(p + 4) << 32);
}

static bool checksum_ok(const uint8_t *p, uint32_t len)
{
    uint8_t sum = 0;

    for (uint32_t i = 0; i < len; i++) {
        sum += p[i];
    }
    return sum == 0;
}

static bool signature_is(const uint8_t *p, const char *sig, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (p[i] != (uint8_t)sig[i]) {
            return false;
        }
    }
    return true;
}

static const uint8_t *rsdp_valid(uintptr_t addr)
{
    const uint8_t *p = (const uint8_t *)addr;

    if (signature_is(p, "RSD PTR ", 8) && checksum_ok(p, 20)) {
        return p;
    }
    return NULL;
}

static const uint8_t *rsdp_search(uintptr_t start, uintptr_t end)
{
    for (uintptr_t addr = start; addr < end; addr += 16) {
        const uint8_t *p = rsdp_valid(addr);

        if (p) {
            return p;
        }
    }
    return NULL;
}

/* The ACPI spec's two places: first KiB of the EBDA, then the BIOS ROM. */
static const uint8_t *rsdp_find(uint64_t hint)
{
    const uint8_t *p = NULL;
    uintptr_t ebda = (uintptr_t)*(const uint16_t *)0x40e << 4;

    if (hint) {
        p = rsdp_valid((uintptr_t)hint);
    }
    if (!p && ebda) {
        p = rsdp_search(ebda, ebda + 1024);
    }
    if (!p) {
        p = rsdp_search(0xe0000, 0x100000);
    }
    return p;
}

static const uint8_t *madt_find(const uint8_t *rsdp)
{
    uint8_t revision = rsdp[15];
    uint64_t xsdt = revision >= 2 ? read_le64(rsdp + 24) : 0;
    const uint8_t *root = xsdt ? (const uint8_t *)(uintptr_t)xsdt
                               : (const uint8_t *)(uintptr_t)
                                 read_le32(rsdp + 16);
    unsigned entry_size = xsdt ? 8 : 4;
    uint32_t len = read_le32(root + 4);

    for (uint32_t off = SDT_HEADER_SIZE; off + entry_size <= len;
         off += entry_size) {
        uint64_t addr = xsdt ? read_le64(root + off) : read_le32(root + off);
        const uint8_t *table = (const uint8_t *)(uintptr_t)addr;

        if (signature_is(table, "APIC", 4) &&
            checksum_ok(table, read_le32(table + 4))) {
            return table;
        }
    }
    return NULL;
}

static void cpu_list_add(CpuList *cpus, uint32_t apic_id, uint32_t flags)
{
    if (!(flags & MADT_CPU_ENABLED) || apic_id > XAPIC_MAX_ID ||
        cpus->count >= TSCPROBE_MAX_CPUS) {
        return;
    }
    for (uint32_t i = 0; i < cpus->count; i++) {
        if (cpus->apic_id[i] == apic_id) {
            return;
        }
    }
    cpus->apic_id[cpus->count++] = (uint8_t)apic_id;
}

bool acpi_find_cpus(uint64_t rsdp_hint, CpuList *cpus)
{
    const uint8_t *rsdp = rsdp_find(rsdp_hint);
    const uint8_t *madt = rsdp ? madt_find(rsdp) : NULL;
    uint32_t len;

    cpus->count = 0;
    if (!madt) {
        return false;
    }
    cpus->lapic_addr = read_le32(madt + 36);
    len = read_le32(madt + 4);
    for (uint32_t off = MADT_ENTRIES_OFFSET; off + 2 <= len;) {
        const uint8_t *entry = madt + off;
        uint8_t type = entry[0];
        uint8_t entry_len = entry[1];

        if (entry_len < 2) {
            break;
        }
        if (type == MADT_LOCAL_APIC && entry_len >= 8) {
            cpu_list_add(cpus, entry[3], read_le32(entry + 4));
        } else if (type == MADT_LOCAL_X2APIC && entry_len >= 16) {
            cpu_list_add(cpus, read_le32(entry + 4), read_le32(entry + 8));
        }
        off += entry_len;
    }
    return cpus->count > 0;
}

/*
 * tscprobe: local APIC access.  QEMU always maps the xAPIC at its reset
 * address, but read the base MSR anyway so a relocated APIC still works.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "idt.h"
#include "lapic.h"
#include "x86.h"

#define APIC_ID             0x020
#define APIC_TPR            0x080
#define APIC_EOI            0x0b0
#define APIC_SVR            0x0f0
#define APIC_ICR_LOW        0x300
#define APIC_ICR_HIGH       0x310
#define APIC_LVT_TIMER      0x320
#define APIC_TIMER_INITIAL  0x380
#define APIC_TIMER_CURRENT  0x390
#define APIC_TIMER_DIVIDE   0x3e0

#define APIC_SVR_ENABLE     (1u << 8)
#define ICR_DELIVERY_INIT   (5u << 8)
#define ICR_DELIVERY_SIPI   (6u << 8)
#define ICR_PENDING         (1u << 12)
#define ICR_LEVEL_ASSERT    (1u << 14)
#define LVT_MASKED          (1u << 16)
#define LVT_TIMER_ONESHOT   (0u << 17)
#define LVT_TIMER_DEADLINE  (2u << 17)
#define TIMER_DIVIDE_BY_1   0xb

/*
 * Cached: under KVM every rdmsr of the base would be a VM exit, doubling
 * the cost of an EOI.  All vCPUs share one base, so racing fills agree.
 */
static uintptr_t lapic_base(void)
{
    static uintptr_t base;

    if (!base) {
        base = (uintptr_t)(rdmsr(MSR_IA32_APIC_BASE) & ~0xfffull);
    }
    return base;
}

static uint32_t lapic_read(uint32_t reg)
{
    return mmio_read32(lapic_base() + reg);
}

static void lapic_write(uint32_t reg, uint32_t value)
{
    mmio_write32(lapic_base() + reg, value);
}

void lapic_enable(void)
{
    lapic_write(APIC_TPR, 0);
    lapic_write(APIC_SVR, APIC_SVR_ENABLE | SPURIOUS_VECTOR);
}

uint32_t lapic_id(void)
{
    return lapic_read(APIC_ID) >> 24;
}

void lapic_eoi(void)
{
    lapic_write(APIC_EOI, 0);
}

static void lapic_send_ipi(uint32_t apic_id, uint32_t icr_low)
{
    lapic_write(APIC_ICR_HIGH, apic_id << 24);
    lapic_write(APIC_ICR_LOW, icr_low);
    while (lapic_read(APIC_ICR_LOW) & ICR_PENDING) {
        cpu_relax();
    }
}

void lapic_send_init(uint32_t apic_id)
{
    lapic_send_ipi(apic_id, ICR_DELIVERY_INIT | ICR_LEVEL_ASSERT);
}

void lapic_send_sipi(uint32_t apic_id, uint8_t vector_page)
{
    lapic_send_ipi(apic_id, ICR_DELIVERY_SIPI | vector_page);
}

void lapic_timer_disable(void)
{
    lapic_write(APIC_LVT_TIMER, LVT_MASKED);
    lapic_write(APIC_TIMER_INITIAL, 0);
}

void lapic_timer_mode_deadline(uint8_t vector)
{
    lapic_write(APIC_LVT_TIMER, LVT_TIMER_DEADLINE | vector);
    /* The SDM asks for the LVT write to be ordered before the MSR write. */
    asm volatile("mfence" : : : "memory");
}

void lapic_timer_mode_oneshot(uint8_t vector)
{
    lapic_write(APIC_TIMER_DIVIDE, TIMER_DIVIDE_BY_1);
    lapic_write(APIC_LVT_TIMER, LVT_TIMER_ONESHOT | vector);
}

void lapic_timer_start(uint32_t initial_count)
{
    lapic_write(APIC_TIMER_INITIAL, initial_count);
}

uint32_t lapic_timer_current(void)
{
    return lapic_read(APIC_TIMER_CURRENT);
}

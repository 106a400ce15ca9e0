/*
 * tscprobe: thin wrappers around the x86 instructions the probe needs.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef TSCPROBE_X86_H
#define TSCPROBE_X86_H

#include <stdbool.h>
#include <stdint.h>

#define MSR_IA32_APIC_BASE      0x1bu
#define MSR_IA32_TSC_DEADLINE   0x6e0u
#define MSR_EFER                0xc0000080u

typedef struct CpuidRegs {
    uint32_t eax, ebx, ecx, edx;
} CpuidRegs;

static inline CpuidRegs cpuid(uint32_t leaf, uint32_t subleaf)
{
    CpuidRegs r;

    asm volatile("cpuid"
                 : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx)
                 : "a"(leaf), "c"(subleaf));
    return r;
}

/* Unordered read: only used where the caller orders it. */
static inline uint64_t rdtsc_raw(void)
{
    uint32_t lo, hi;

    asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}

/*
 * lfence keeps rdtsc from executing before earlier loads, so a TSC read
 * after observing another vCPU's value is really later than that value.
 */
static inline uint64_t rdtsc_ordered(void)
{
    asm volatile("lfence" : : : "memory");
    return rdtsc_raw();
}

static inline uint64_t rdmsr(uint32_t msr)
{
    uint32_t lo, hi;

    asm volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return ((uint64_t)hi << 32) | lo;
}

static inline void wrmsr(uint32_t msr, uint64_t value)
{
    asm volatile("wrmsr"
                 : : "c"(msr), "a"((uint32_t)value),
                     "d"((uint32_t)(value >> 32))
                 : "memory");
}

static inline void outb(uint16_t port, uint8_t value)
{
    asm volatile("outb %0, %1" : : "a"(value), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
    uint8_t value;

    asm volatile("inb %1, %0" : "=a"(value) : "Nd"(port));
    return value;
}

static inline void cpu_relax(void)
{
    asm volatile("pause" : : : "memory");
}

static inline void compiler_barrier(void)
{
    asm volatile("" : : : "memory");
}

static inline void irq_enable(void)
{
    asm volatile("sti" : : : "memory");
}

static inline void irq_disable(void)
{
    asm volatile("cli" : : : "memory");
}

static inline void __attribute__((noreturn)) halt_forever(void)
{
    for (;;) {
        asm volatile("cli; hlt" : : : "memory");
    }
}

static inline uint32_t mmio_read32(uintptr_t addr)
{
    return *(volatile uint32_t *)addr;     /* a device register */
}

static inline void mmio_write32(uintptr_t addr, uint32_t value)
{
    *(volatile uint32_t *)addr = value;    /* a device register */
}

#endif

/*
 * tscprobe: one IDT shared by all vCPUs.  Exceptions print what happened
 * and stop the vCPU; a probe must never silently skip a fault.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <stdint.h>

#include "gdt.h"
#include "idt.h"
#include "isr.h"
#include "pic.h"
#include "serial.h"
#include "x86.h"

#define IDT_ENTRIES         256
#define GATE_INTERRUPT      0x8e    /* present, DPL 0, 64-bit int gate */

typedef struct IdtGate {
    uint16_t offset_low;
    uint16_t selector;
    uint8_t ist;
    uint8_t type_attr;
    uint16_t offset_mid;
    uint32_t offset_high;
    uint32_t reserved;
} IdtGate;

typedef struct __attribute__((packed)) IdtDescriptor {
    uint16_t limit;
    uint64_t base;
} IdtDescriptor;

static IdtGate idt[IDT_ENTRIES] __attribute__((aligned(16)));

static void idt_set_gate(unsigned vector, void (*handler)(void))
{
    uint64_t addr = (uint64_t)(uintptr_t)handler;

    idt[vector] = (IdtGate) {
        .offset_low = (uint16_t)addr,
        .selector = GDT_CODE64,
        .type_attr = GATE_INTERRUPT,
        .offset_mid = (uint16_t)(addr >> 16),
        .offset_high = (uint32_t)(addr >> 32),
    };
}

void idt_init(void)
{
    for (unsigned v = 0; v < 32; v++) {
        idt_set_gate(v, exception_stubs[v]);
    }
    /* Masked 8259 lines can still raise spurious IRQ 7 / 15. */
    for (unsigned v = PIC_VECTOR_BASE; v < PIC_VECTOR_BASE + 16; v++) {
        idt_set_gate(v, spurious_stub);
    }
    idt_set_gate(TIMER_VECTOR, timer_stub);
    idt_set_gate(SPURIOUS_VECTOR, spurious_stub);
}

void idt_load(void)
{
    IdtDescriptor desc = {
        .limit = sizeof(idt) - 1,
        .base = (uint64_t)(uintptr_t)idt,
    };

    asm volatile("lidt %0" : : "m"(desc));
}

void exception_report(const ExceptionFrame *frame)
{
    uint64_t cr2;

    asm volatile("mov %%cr2, %0" : "=r"(cr2));
    print("tscprobe: FATAL exception %lu error %lx rip %lx rsp %lx cr2 %lx\n",
          frame->vector, frame->error_code, frame->rip, frame->rsp, cr2);
    halt_forever();
}

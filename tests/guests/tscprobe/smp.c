/*
 * tscprobe: INIT/SIPI/SIPI start-up through the local APIC, using the
 * delays the MP start-up protocol asks for (10 ms after INIT, 200 us
 * between the SIPIs).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "lapic.h"
#include "libc.h"
#include "percpu.h"
#include "results.h"
#include "smp.h"
#include "trampoline.h"
#include "tscfreq.h"

#define AP_STACK_SIZE       16384
#define AP_ANSWER_TIMEOUT_US 200000

static uint8_t ap_stacks[TSCPROBE_MAX_CPUS][AP_STACK_SIZE]
    __attribute__((aligned(16)));

static TrampolineMailbox *trampoline_install(void)
{
    memcpy((void *)TRAMPOLINE_BASE, trampoline_start,
           trampoline_end - trampoline_start);
    return (TrampolineMailbox *)(uintptr_t)
        (TRAMPOLINE_BASE + (trampoline_mailbox - trampoline_start));
}

static void mailbox_fill(TrampolineMailbox *mb, uint32_t index,
                         ApEntry entry)
{
    struct __attribute__((packed)) {
        uint16_t limit;
        uint64_t base;
    } gdtr;
    uint64_t cr3;

    asm volatile("sgdt %0" : "=m"(gdtr));
    asm volatile("mov %%cr3, %0" : "=r"(cr3));
    mb->gdt_limit = gdtr.limit;
    mb->gdt_base = (uint32_t)gdtr.base;
    mb->cr3 = (uint32_t)cr3;
    mb->cpu_index = index;
    mb->stack_top = (uint64_t)(uintptr_t)&ap_stacks[index][AP_STACK_SIZE];
    mb->entry = (uint64_t)(uintptr_t)entry;
    compiler_barrier();
}

static bool wait_alive(PerCpu *cpu)
{
    for (uint32_t us = 0; us < AP_ANSWER_TIMEOUT_US; us += 100) {
        if (cpu->alive) {
            return true;
        }
        tsc_delay_us(100);
    }
    return cpu->alive;
}

static bool start_one(TrampolineMailbox *mb, uint32_t index,
                      uint32_t apic_id, ApEntry entry)
{
    PerCpu *cpu = percpu_get(index);

    cpu->index = index;
    cpu->apic_id = apic_id;
    cpu->rec = &results_table()->cpu[index];
    cpu->rec->apic_id = apic_id;
    cpu->rec->state = TSCPROBE_CPU_STARTING;
    mailbox_fill(mb, index, entry);

    lapic_send_init(apic_id);
    tsc_delay_us(10000);
    lapic_send_sipi(apic_id, TRAMPOLINE_BASE >> 12);
    tsc_delay_us(200);
    if (!cpu->alive) {
        lapic_send_sipi(apic_id, TRAMPOLINE_BASE >> 12);
    }
    if (!wait_alive(cpu)) {
        cpu->rec->state = TSCPROBE_CPU_FAILED;
        return false;
    }
    return true;
}

uint32_t smp_start_aps(const CpuList *cpus, uint32_t bsp_apic_id,
                       ApEntry entry)
{
    TrampolineMailbox *mb = trampoline_install();
    uint32_t index = 1;
    uint32_t started = 0;

    for (uint32_t i = 0; i < cpus->count; i++) {
        if (cpus->apic_id[i] == bsp_apic_id) {
            continue;
        }
        if (start_one(mb, index, cpus->apic_id[i], entry)) {
            started++;
        }
        index++;
    }
    return started;
}

/*
 * tscprobe: a freestanding x86 guest that measures guest time (TSC,
 * kvmclock, TSC-deadline timer) on every vCPU, forever, and publishes
 * the results at TSCPROBE_RESULTS_ADDR for the host to read while the VM
 * is stopped, saved, migrated and resumed.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "acpi.h"
#include "boot.h"
#include "cpufeatures.h"
#include "hvclock.h"
#include "idt.h"
#include "lapic.h"
#include "nested.h"
#include "pic.h"
#include "probe.h"
#include "report.h"
#include "results.h"
#include "serial.h"
#include "smp.h"
#include "timer.h"
#include "tscfreq.h"
#include "xentimer.h"

#define HVM_START_MAGIC         0x336ec578u
#define HVM_START_CMDLINE_OFFSET 24
#define HVM_START_RSDP_OFFSET   32
#define TIMER_PERIOD_US         1000
#define JUMP_THRESHOLD_US       1000

static CpuFeatures features;

/* The RSDP address from the PVH hvm_start_info, 0 if not provided. */
static uint64_t pvh_rsdp(uint32_t start_info)
{
    const uint32_t *info = (const uint32_t *)(uintptr_t)start_info;

    if (!start_info || info[0] != HVM_START_MAGIC) {
        return 0;
    }
    return *(const uint64_t *)(uintptr_t)(start_info + HVM_START_RSDP_OFFSET);
}

/*
 * The command line (-append) from the PVH hvm_start_info, "" if none: the
 * loader copies it below 4 GiB, which the boot page tables map 1:1.
 */
static const char *pvh_cmdline(uint32_t start_info)
{
    const uint32_t *info = (const uint32_t *)(uintptr_t)start_info;
    uint64_t paddr;

    if (!start_info || info[0] != HVM_START_MAGIC) {
        return "";
    }
    paddr = *(const uint64_t *)(uintptr_t)(start_info +
                                           HVM_START_CMDLINE_OFFSET);
    return paddr && paddr < (1ull << 32) ? (const char *)(uintptr_t)paddr : "";
}

/* Per-vCPU set-up shared by BSP and APs, then the loop. */
static void __attribute__((noreturn)) cpu_run(PerCpu *cpu)
{
    TscprobeCpu *rec = cpu->rec;

    percpu_activate(cpu);
    idt_load();
    lapic_enable();
    if (probe_config.kvmclock) {
        kvmclock_enable(&cpu->pvclock);
        rec->kvmclock_state = TSCPROBE_KVMCLOCK_ENABLED;
        if (cpu->index == 0) {
            xen_timer_setup(&features, &cpu->pvclock);
        }
    }
    timer_start(cpu);
    rec->state = TSCPROBE_CPU_RUNNING;
    __atomic_fetch_add(&results_table()->header.cpus_up, 1,
                       __ATOMIC_SEQ_CST);
    if (cpu->index == 0) {
        report_start();
    }
    irq_enable();
    if (probe_config.nested && cpu->index == probe_config.nested_cpu) {
        nested_run(cpu);
    }
    probe_run(cpu);
}

void ap_main(uint32_t index)
{
    PerCpu *cpu = percpu_get(index);

    cpu->alive = 1;
    cpu_run(cpu);
}

/* Let answering APs finish their set-up so the banner counts them. */
static void wait_cpus_up(uint32_t expected)
{
    const uint32_t *up = &results_table()->header.cpus_up;

    for (int i = 0; i < 1000 && __atomic_load_n(up, __ATOMIC_ACQUIRE) <
                                expected; i++) {
        tsc_delay_us(100);
    }
}

static void header_fill(TscprobeHeader *h, const TscFreq *freq,
                        const CpuList *cpus, uint32_t bsp_apic_id)
{
    h->tsc_khz = freq->khz;
    h->tsc_khz_source = freq->source;
    h->features = cpu_features_bits(&features);
    h->jump_threshold_tsc = probe_config.jump_threshold_tsc;
    h->jump_threshold_ns = probe_config.jump_threshold_ns;
    h->timer_period_tsc = freq->khz * TIMER_PERIOD_US / 1000;
    h->cpus_found = cpus->count;
    h->bsp_apic_id = bsp_apic_id;
    h->boot_tsc = rdtsc_ordered();
}

void bsp_main(uint32_t start_info)
{
    TscprobeHeader *h = &results_table()->header;
    PerCpu *bsp = percpu_get(0);
    CpuList cpus;
    TscFreq freq;
    uint32_t bsp_apic_id;
    uint32_t aps;

    serial_init();
    print("\ntscprobe: starting\n");
    results_init();
    cpu_features_detect(&features);
    freq = tsc_freq_detect(&features);
    if (!freq.khz) {
        print("tscprobe: FATAL cannot determine the TSC frequency\n");
        halt_forever();
    }
    probe_config.tsc_khz = freq.khz;
    probe_config.jump_threshold_tsc = freq.khz * JUMP_THRESHOLD_US / 1000;
    probe_config.jump_threshold_ns = JUMP_THRESHOLD_US * 1000ull;
    probe_config.kvmclock = features.kvmclock;
    probe_config.hv_clock = hv_clock_setup(&features);

    bsp_apic_id = lapic_id();
    if (!acpi_find_cpus(pvh_rsdp(start_info), &cpus)) {
        print("tscprobe: no ACPI MADT, running on the BSP only\n");
        cpus.count = 1;
        cpus.apic_id[0] = (uint8_t)bsp_apic_id;
    }
    header_fill(h, &freq, &cpus, bsp_apic_id);
    if (cpus.count > 1 && nested_wanted(pvh_cmdline(start_info))) {
        probe_config.nested = true;
        probe_config.nested_cpu = cpus.count - 1;
    }

    pic_disable();
    idt_init();
    idt_load();
    lapic_enable();
    timer_setup(&features, h->timer_period_tsc);

    bsp->index = 0;
    bsp->apic_id = bsp_apic_id;
    bsp->rec = &results_table()->cpu[0];
    bsp->rec->apic_id = bsp_apic_id;
    aps = smp_start_aps(&cpus, bsp_apic_id, ap_main);
    wait_cpus_up(aps);
    cpu_run(bsp);
}

/*
 * tscprobe: TSC frequency, best source first: the exact CPUID 0x15 ratio,
 * KVM's CPUID 0x40000010 (exact), kvmclock's TSC-to-ns scale (exact to
 * a part in 10^9), CPUID 0x16 (nominal base frequency), and as a last
 * resort a calibration against PIT channel 2.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "kvmclock.h"
#include "tscfreq.h"
#include "tscprobe-results.h"
#include "x86.h"

#define PIT_HZ              1193182u
#define PIT_CH2_DATA        0x42
#define PIT_MODE            0x43
#define PIT_CH2_MODE0       0xb0    /* channel 2, lo/hi byte, mode 0 */
#define PORT_B              0x61
#define PORT_B_GATE2        0x01
#define PORT_B_SPEAKER      0x02
#define PORT_B_OUT2         0x20
#define PIT_CAL_TICKS       11932u  /* 10 ms */
#define PIT_CAL_ROUNDS      5

static uint64_t delay_khz = 1000000;    /* until detected: assume 1 GHz */

static uint64_t khz_from_cpuid_15(const CpuFeatures *f)
{
    CpuidRegs r;

    if (f->max_leaf < 0x15) {
        return 0;
    }
    r = cpuid(0x15, 0);
    if (!r.eax || !r.ebx || !r.ecx) {
        return 0;
    }
    return (uint64_t)r.ecx * r.ebx / r.eax / 1000;
}

static uint64_t khz_from_cpuid_16(const CpuFeatures *f)
{
    if (f->max_leaf < 0x16) {
        return 0;
    }
    return (uint64_t)(cpuid(0x16, 0).eax & 0xffff) * 1000;
}

static uint64_t khz_from_kvm(const CpuFeatures *f)
{
    if (!f->kvm || f->kvm_max_leaf < f->kvm_base + 0x10) {
        return 0;
    }
    return cpuid(f->kvm_base + 0x10, 0).eax;
}

/*
 * KVM fills the kvmclock page before the vCPU runs again after the MSR
 * write that registers it, with the scale of the guest's TSC frequency.
 * Exact, where a PIT calibration in a nested guest can be off by 10 %.
 */
static uint64_t khz_from_kvmclock(const CpuFeatures *f)
{
    static PvclockTimeInfo info;
    uint64_t khz;

    if (!f->kvmclock) {
        return 0;
    }
    kvmclock_enable(&info);
    khz = kvmclock_tsc_khz(&info);
    kvmclock_disable();
    return khz;
}

/* TSC ticks while PIT channel 2 counts PIT_CAL_TICKS down in mode 0. */
static uint64_t pit_measure_once(void)
{
    uint64_t start, end;

    outb(PORT_B, (inb(PORT_B) & ~PORT_B_SPEAKER) | PORT_B_GATE2);
    outb(PIT_MODE, PIT_CH2_MODE0);
    outb(PIT_CH2_DATA, PIT_CAL_TICKS & 0xff);
    outb(PIT_CH2_DATA, PIT_CAL_TICKS >> 8);
    start = rdtsc_ordered();
    while (!(inb(PORT_B) & PORT_B_OUT2)) {
        cpu_relax();
    }
    end = rdtsc_ordered();
    return end - start;
}

/*
 * The median round: a vCPU preempted inside a round makes it too short
 * or too long, depending on where the preemption hits.
 */
static uint64_t khz_from_pit(const CpuFeatures *f)
{
    uint64_t ticks[PIT_CAL_ROUNDS];

    (void)f;
    for (int i = 0; i < PIT_CAL_ROUNDS; i++) {
        uint64_t t = pit_measure_once();
        int j = i;

        /* Insertion sort as we go. */
        for (; j > 0 && ticks[j - 1] > t; j--) {
            ticks[j] = ticks[j - 1];
        }
        ticks[j] = t;
    }
    return ticks[PIT_CAL_ROUNDS / 2] * PIT_HZ / PIT_CAL_TICKS / 1000;
}

static const struct {
    uint64_t (*khz)(const CpuFeatures *f);
    uint32_t source;
} freq_sources[] = {
    { khz_from_cpuid_15, TSCPROBE_KHZ_CPUID_15 },
    { khz_from_kvm, TSCPROBE_KHZ_KVM_CPUID },
    { khz_from_kvmclock, TSCPROBE_KHZ_KVMCLOCK },
    { khz_from_cpuid_16, TSCPROBE_KHZ_CPUID_16 },
    { khz_from_pit, TSCPROBE_KHZ_PIT },
};

TscFreq tsc_freq_detect(const CpuFeatures *f)
{
    for (unsigned i = 0; i < sizeof(freq_sources) / sizeof(freq_sources[0]);
         i++) {
        uint64_t khz = freq_sources[i].khz(f);

        if (khz) {
            delay_khz = khz;
            return (TscFreq) { khz, freq_sources[i].source };
        }
    }
    return (TscFreq) { 0, TSCPROBE_KHZ_UNKNOWN };
}

void tsc_delay_us(uint64_t us)
{
    uint64_t start = rdtsc_ordered();
    uint64_t ticks = us * delay_khz / 1000;

    while (rdtsc_ordered() - start < ticks) {
        cpu_relax();
    }
}

/*
 * tscprobe: serial summaries.  One line per guest second, totalled over
 * all vCPUs, so a log shows the probe is alive and what it has seen.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "probe.h"
#include "report.h"
#include "results.h"
#include "serial.h"

typedef struct Totals {
    uint64_t loops;
    uint64_t tsc_back, tsc_jumps, warps;
    uint64_t kvmclock_back, kvmclock_jumps;
    uint64_t irqs, late_max_tsc;
} Totals;

static uint64_t next_report_tsc;
static uint64_t reports;

static const char *khz_source_name(uint32_t source)
{
    static const char *const names[] = {
        [TSCPROBE_KHZ_UNKNOWN] = "unknown",
        [TSCPROBE_KHZ_CPUID_15] = "cpuid-0x15",
        [TSCPROBE_KHZ_CPUID_16] = "cpuid-0x16",
        [TSCPROBE_KHZ_KVM_CPUID] = "kvm-cpuid-0x40000010",
        [TSCPROBE_KHZ_PIT] = "pit-calibration",
        [TSCPROBE_KHZ_KVMCLOCK] = "kvmclock-scale",
    };

    return source < sizeof(names) / sizeof(names[0]) ? names[source] : "?";
}

static const char *timer_mode_name(uint32_t mode)
{
    switch (mode) {
    case TSCPROBE_TIMER_TSC_DEADLINE:
        return "tsc-deadline";
    case TSCPROBE_TIMER_ONESHOT:
        return "apic-oneshot";
    default:
        return "none";
    }
}

void report_start(void)
{
    const TscprobeHeader *h = &results_table()->header;
    uint32_t feat = h->features;

    print("tscprobe: results table at 0x%x, %u bytes, version %u\n",
          TSCPROBE_RESULTS_ADDR, (unsigned)TSCPROBE_RESULTS_SIZE,
          h->version);
    print("tscprobe: tsc_khz=%lu source=%s\n", h->tsc_khz,
          khz_source_name(h->tsc_khz_source));
    print("tscprobe: features hypervisor=%u kvm=%u kvmclock=%u "
          "kvmclock_stable=%u tsc_deadline=%u invariant_tsc=%u xen=%u "
          "hyperv=%u\n",
          !!(feat & TSCPROBE_FEAT_HYPERVISOR), !!(feat & TSCPROBE_FEAT_KVM),
          !!(feat & TSCPROBE_FEAT_KVMCLOCK),
          !!(feat & TSCPROBE_FEAT_KVMCLOCK_STABLE),
          !!(feat & TSCPROBE_FEAT_TSC_DEADLINE),
          !!(feat & TSCPROBE_FEAT_INVARIANT_TSC),
          !!(feat & TSCPROBE_FEAT_XEN), !!(feat & TSCPROBE_FEAT_HYPERV));
    if (feat & TSCPROBE_FEAT_HYPERV) {
        print("tscprobe: hyperv features=0x%x tsc_hz=%lu reference_page=%s\n",
              h->hv_features, h->hv_tsc_hz,
              h->hv_state == TSCPROBE_HV_ENABLED ? "enabled" : "absent");
    }
    print("tscprobe: timer=%s period_tsc=%lu jump_threshold_tsc=%lu\n",
          timer_mode_name(results_table()->cpu[0].timer_mode),
          h->timer_period_tsc, h->jump_threshold_tsc);
    if (probe_config.nested) {
        print("tscprobe: nested probe on cpu %u\n", probe_config.nested_cpu);
    }
    print("tscprobe: cpus found=%u up=%u bsp_apic_id=%u\n", h->cpus_found,
          h->cpus_up, h->bsp_apic_id);
}

static void add_cpu(Totals *t, const TscprobeCpu *c)
{
    t->loops += c->loops;
    t->tsc_back += c->tsc_back_count;
    t->tsc_jumps += c->tsc_jump_count;
    t->warps += c->warp_count;
    t->kvmclock_back += c->kvmclock_back_count;
    t->kvmclock_jumps += c->kvmclock_jump_count;
    t->irqs += c->timer_irqs;
    if (c->timer_late_max > t->late_max_tsc) {
        t->late_max_tsc = c->timer_late_max;
    }
}

void report_tick(uint64_t now_tsc)
{
    const TscprobeResults *res = results_table();
    uint64_t second = res->header.tsc_khz * 1000;
    Totals t = { 0 };

    if (now_tsc < next_report_tsc) {
        return;
    }
    next_report_tsc = now_tsc + second;
    reports++;
    for (uint32_t i = 0; i < res->header.cpus_found; i++) {
        add_cpu(&t, &res->cpu[i]);
    }
    print("tscprobe: #%lu up=%u loops=%lu tsc_back=%lu tsc_jumps=%lu "
          "warps=%lu kvmclock_back=%lu kvmclock_jumps=%lu irqs=%lu "
          "late_max_us=%lu\n",
          reports, res->header.cpus_up, t.loops, t.tsc_back, t.tsc_jumps,
          t.warps, t.kvmclock_back, t.kvmclock_jumps, t.irqs,
          t.late_max_tsc * 1000 / res->header.tsc_khz);
}

/*
 * tscprobe: the CPUID facts the probe depends on.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef TSCPROBE_CPUFEATURES_H
#define TSCPROBE_CPUFEATURES_H

#include <stdbool.h>
#include <stdint.h>

typedef struct CpuFeatures {
    uint32_t max_leaf;
    bool hypervisor;
    bool tsc_deadline;
    bool invariant_tsc;
    bool kvm;
    bool kvmclock;              /* KVM_FEATURE_CLOCKSOURCE2 */
    bool kvmclock_stable;       /* KVM_FEATURE_CLOCKSOURCE_STABLE_BIT */
    uint32_t kvm_base;          /* CPUID leaf holding "KVMKVMKVM" */
    uint32_t kvm_max_leaf;
    uint32_t xen_base;          /* CPUID leaf holding "XenVMMXenVMM", or 0 */
    bool hyperv;                /* "Microsoft Hv" at 0x40000000 */
    uint32_t hv_features;       /* CPUID 0x40000003 EAX */
} CpuFeatures;

void cpu_features_detect(CpuFeatures *f);

/* The TSCPROBE_FEAT_* bits for the results header. */
uint32_t cpu_features_bits(const CpuFeatures *f);

#endif

/*
 * tscprobe: CPUID feature detection.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "cpufeatures.h"
#include "tscprobe-results.h"
#include "x86.h"

#define CPUID1_ECX_TSC_DEADLINE     (1u << 24)
#define CPUID1_ECX_HYPERVISOR       (1u << 31)
#define CPUID_80000007_EDX_INVTSC   (1u << 8)
#define KVM_FEATURE_CLOCKSOURCE2    (1u << 3)
#define KVM_FEATURE_CLOCK_STABLE    (1u << 24)

/* "XenVMMXenVMM" as CPUID returns it in EBX, ECX, EDX. */
#define XEN_SIG_EBX 0x566e6558u
#define XEN_SIG_ECX 0x65584d4du
#define XEN_SIG_EDX 0x4d4d566eu

/* "Microsoft Hv" as CPUID returns it in EBX, ECX, EDX; "Hv#1" in EAX. */
#define HV_SIG_EBX 0x7263694du
#define HV_SIG_ECX 0x666f736fu
#define HV_SIG_EDX 0x76482074u
#define HV_INTERFACE_HV1 0x31237648u

/* "KVMKVMKVM\0\0\0" as CPUID returns it in EBX, ECX, EDX. */
#define KVM_SIG_EBX 0x4b4d564bu
#define KVM_SIG_ECX 0x564b4d56u
#define KVM_SIG_EDX 0x0000004du

/*
 * With Hyper-V enlightenments KVM moves its leaves up by 0x100, so look
 * at every 0x100 step of the hypervisor range.
 */
static void detect_kvm(CpuFeatures *f)
{
    for (uint32_t base = 0x40000000; base < 0x40010000; base += 0x100) {
        CpuidRegs r = cpuid(base, 0);

        if (r.ebx == XEN_SIG_EBX && r.ecx == XEN_SIG_ECX &&
            r.edx == XEN_SIG_EDX && !f->xen_base) {
            /*
             * QEMU's Xen emulation on KVM: it hides KVM's leaves, but KVM
             * still serves the kvmclock MSR, and Xen system time is that
             * same clock (one pvclock computation in KVM).
             */
            f->xen_base = base;
            f->kvmclock = true;
        }
        if (r.ebx == HV_SIG_EBX && r.ecx == HV_SIG_ECX &&
            r.edx == HV_SIG_EDX && base == 0x40000000 && r.eax >= base + 3 &&
            cpuid(base + 1, 0).eax == HV_INTERFACE_HV1) {
            /* Hyper-V's leaves come first; KVM's follow 0x100 higher. */
            f->hyperv = true;
            f->hv_features = cpuid(base + 3, 0).eax;
        }
        if (r.ebx == KVM_SIG_EBX && r.ecx == KVM_SIG_ECX &&
            r.edx == KVM_SIG_EDX) {
            CpuidRegs feat = cpuid(base + 1, 0);

            f->kvm = true;
            f->kvm_base = base;
            f->kvm_max_leaf = r.eax ? r.eax : base + 1;
            f->kvmclock = feat.eax & KVM_FEATURE_CLOCKSOURCE2;
            f->kvmclock_stable = feat.eax & KVM_FEATURE_CLOCK_STABLE;
            return;
        }
    }
}

void cpu_features_detect(CpuFeatures *f)
{
    CpuidRegs leaf1;

    *f = (CpuFeatures) { .max_leaf = cpuid(0, 0).eax };
    leaf1 = cpuid(1, 0);
    f->tsc_deadline = leaf1.ecx & CPUID1_ECX_TSC_DEADLINE;
    f->hypervisor = leaf1.ecx & CPUID1_ECX_HYPERVISOR;
    if (cpuid(0x80000000, 0).eax >= 0x80000007) {
        f->invariant_tsc = cpuid(0x80000007, 0).edx &
                           CPUID_80000007_EDX_INVTSC;
    }
    if (f->hypervisor) {
        detect_kvm(f);
    }
}

uint32_t cpu_features_bits(const CpuFeatures *f)
{
    return (f->hypervisor ? TSCPROBE_FEAT_HYPERVISOR : 0) |
           (f->kvm ? TSCPROBE_FEAT_KVM : 0) |
           (f->kvmclock ? TSCPROBE_FEAT_KVMCLOCK : 0) |
           (f->tsc_deadline ? TSCPROBE_FEAT_TSC_DEADLINE : 0) |
           (f->invariant_tsc ? TSCPROBE_FEAT_INVARIANT_TSC : 0) |
           (f->kvmclock_stable ? TSCPROBE_FEAT_KVMCLOCK_STABLE : 0) |
           (f->xen_base ? TSCPROBE_FEAT_XEN : 0) |
           (f->hyperv ? TSCPROBE_FEAT_HYPERV : 0);
}

/*
 * tscprobe: the nested probe.  Seed 004: reading MSR_IA32_TSC while L2
 * runs returns L2's TSC; a VMM that restored it as L1's sent L1's TSC
 * back by L2's offset and L1's TSC-deadline timer stopped firing.  Here
 * L2 runs nearly all the time (L1 leaves it only for its own timer
 * interrupts, one per ms), so a save or migration almost always catches
 * the vCPU in guest mode, and both levels check their TSCs.
 *
 * L2 shares L1's page tables (no nested paging in the VMCB), GDT and
 * IDT, runs at CPL 0 with interrupts off and is never given an event;
 * every exception and a shutdown exit to L1, which stops running L2.
 * The lab's emulated CPU lacks NRIP save, so KVM offers L1 no next_rip:
 * nothing here needs it (an INTR exit resumes at the interrupted
 * instruction; no instruction of L2 is intercepted).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "libc.h"
#include "nested.h"
#include "probe.h"
#include "results.h"
#include "x86.h"

#define CPUID_80000001_ECX_SVM  (1u << 2)
#define MSR_VM_HSAVE_PA         0xc0010117u
#define EFER_SVME               (1ull << 12)

/* VMCB control area offsets (AMD APM vol. 2, appendix B). */
#define VMCB_INTERCEPT_EXC      0x008
#define VMCB_INTERCEPT_MISC1    0x00c
#define VMCB_INTERCEPT_MISC2    0x010
#define VMCB_TSC_OFFSET         0x050
#define VMCB_ASID               0x058
#define VMCB_INT_CTL            0x060
#define VMCB_EXIT_CODE          0x070
#define VMCB_EXIT_INFO1         0x078
#define VMCB_EXIT_INFO2         0x080
/* State save area offsets. */
#define VMCB_ES                 0x400
#define VMCB_CS                 0x410
#define VMCB_SS                 0x420
#define VMCB_DS                 0x430
#define VMCB_GDTR               0x460
#define VMCB_IDTR               0x480
#define VMCB_CPL                0x4cb
#define VMCB_EFER               0x4d0
#define VMCB_CR4                0x548
#define VMCB_CR3                0x550
#define VMCB_CR0                0x558
#define VMCB_DR7                0x560
#define VMCB_DR6                0x568
#define VMCB_RFLAGS             0x570
#define VMCB_RIP                0x578
#define VMCB_RSP                0x5d8
#define VMCB_RAX                0x5f8
#define VMCB_G_PAT              0x668

#define INTERCEPT_INTR          (1u << 0)   /* misc1 */
#define INTERCEPT_HLT           (1u << 24)
#define INTERCEPT_SHUTDOWN      (1u << 31)
#define INTERCEPT_VMRUN         (1u << 0)   /* misc2 */
#define INTERCEPT_VMMCALL       (1u << 1)
#define V_INTR_MASKING          (1u << 24)

#define SVM_EXIT_INTR           0x60

/* Segment attributes as the VMCB packs them, for the boot GDT's entries. */
#define ATTR_CODE64             0x0a9b      /* P, S, code r/x acc., L, G */
#define ATTR_DATA               0x0c93      /* P, S, data r/w acc., D/B, G */
#define GDT_CODE64              0x08
#define GDT_DATA                0x10

#define L2_STACK_SIZE           4096
#define L2_START_MS             3000

static uint8_t vmcb[4096] __attribute__((aligned(4096)));
static uint8_t host_save[4096] __attribute__((aligned(4096)));
static uint8_t l2_stack[L2_STACK_SIZE] __attribute__((aligned(16)));
static SvmGuestRegs l2_regs;

static TscprobeNested *nested(void)
{
    return &results_table()->nested;
}

/* The VMCB is read by VMRUN and written by #VMEXIT, behind C's back. */
static void vmcb_w16(uint32_t off, uint16_t v)
{
    *(volatile uint16_t *)(vmcb + off) = v;     /* read by VMRUN */
}

static void vmcb_w32(uint32_t off, uint32_t v)
{
    *(volatile uint32_t *)(vmcb + off) = v;     /* read by VMRUN */
}

static void vmcb_w64(uint32_t off, uint64_t v)
{
    *(volatile uint64_t *)(vmcb + off) = v;     /* read by VMRUN */
}

static uint64_t vmcb_r64(uint32_t off)
{
    return *(volatile uint64_t *)(vmcb + off);  /* written by #VMEXIT */
}

/* A flat segment (base 0, limit 4 GiB) with attributes @attr. */
static void vmcb_seg(uint32_t off, uint16_t sel, uint16_t attr)
{
    vmcb_w16(off, sel);
    vmcb_w16(off + 2, attr);
    vmcb_w32(off + 4, 0xffffffffu);
    vmcb_w64(off + 8, 0);
}

typedef struct __attribute__((packed)) DescPtr {
    uint16_t limit;
    uint64_t base;
} DescPtr;

static void vmcb_table(uint32_t off, const DescPtr *p)
{
    vmcb_w32(off + 4, p->limit);
    vmcb_w64(off + 8, p->base);
}

static uint64_t read_cr(int n)
{
    uint64_t v = 0;

    switch (n) {
    case 0:
        asm volatile("mov %%cr0, %0" : "=r"(v));
        break;
    case 3:
        asm volatile("mov %%cr3, %0" : "=r"(v));
        break;
    case 4:
        asm volatile("mov %%cr4, %0" : "=r"(v));
        break;
    }
    return v;
}

/*
 * L2: sample the TSC forever.  Its first sample after each VMRUN must
 * not be behind L1's TSC just before it, shifted by the offset.
 */
static void __attribute__((noreturn)) l2_main(void)
{
    TscprobeNested *n = nested();
    /* L1's kvmclock page (L2 has L1's GS base, so this_cpu() is L1's). */
    const volatile uint64_t *l1_stamp =             /* KVM rewrites it */
        &this_cpu()->pvclock.tsc_timestamp;
    uint64_t jump = probe_config.jump_threshold_tsc;
    uint64_t prev = rdtsc_ordered();
    uint64_t seen_vmruns = 0;

    for (;;) {
        /*
         * The entry count and L1's TSC at that entry before our own TSC:
         * an exit anywhere in between only makes them older than the
         * TSC read after it, never newer (a TSC from before an exit
         * compared with the next entry's floor would be a false alarm).
         */
        uint64_t vmruns = __atomic_load_n(&n->vmruns, __ATOMIC_ACQUIRE);
        uint64_t floor = n->l1_enter_tsc + (uint64_t)n->l2_tsc_offset;
        uint64_t stamp = *l1_stamp;     /* likewise: older than now */
        uint64_t now = rdtsc_ordered();

        if (vmruns != seen_vmruns) {
            seen_vmruns = vmruns;
            if (now < floor) {
                n->l2_behind_count++;
                if (floor - now > n->l2_behind_max) {
                    n->l2_behind_max = floor - now;
                }
            }
        }
        if (probe_config.kvmclock) {
            uint64_t as_l1 = now - (uint64_t)n->l2_tsc_offset;

            if (as_l1 < stamp) {
                n->l2_pvclock_behind_count++;
                if (stamp - as_l1 > n->l2_pvclock_behind_max) {
                    n->l2_pvclock_behind_max = stamp - as_l1;
                }
            }
        }
        if (now < prev) {
            n->l2_back_count++;
            if (prev - now > n->l2_back_max) {
                n->l2_back_max = prev - now;
            }
        } else if (now - prev > jump) {
            n->l2_jump_count++;
            if (now - prev > n->l2_jump_max) {
                n->l2_jump_max = now - prev;
            }
        }
        n->l2_last_tsc = now;
        n->l2_loops++;
        prev = now;
    }
}

bool nested_wanted(const char *cmdline)
{
    const char *word = "nested";

    for (const char *p = cmdline; p && *p; p++) {
        size_t i = 0;

        if (p != cmdline && p[-1] != ' ') {
            continue;
        }
        while (word[i] && p[i] == word[i]) {
            i++;
        }
        if (!word[i] && (p[i] == ' ' || p[i] == '\0')) {
            return true;
        }
    }
    return false;
}

static void vmcb_setup(void)
{
    DescPtr gdt, idt;

    asm volatile("sgdt %0" : "=m"(gdt));
    asm volatile("sidt %0" : "=m"(idt));
    memset(vmcb, 0, sizeof(vmcb));

    vmcb_w32(VMCB_INTERCEPT_EXC, 0xffffffffu);
    vmcb_w32(VMCB_INTERCEPT_MISC1,
             INTERCEPT_INTR | INTERCEPT_HLT | INTERCEPT_SHUTDOWN);
    vmcb_w32(VMCB_INTERCEPT_MISC2, INTERCEPT_VMRUN | INTERCEPT_VMMCALL);
    vmcb_w64(VMCB_TSC_OFFSET, (uint64_t)nested()->l2_tsc_offset);
    vmcb_w32(VMCB_ASID, 1);
    vmcb_w32(VMCB_INT_CTL, V_INTR_MASKING);

    vmcb_seg(VMCB_CS, GDT_CODE64, ATTR_CODE64);
    vmcb_seg(VMCB_SS, GDT_DATA, ATTR_DATA);
    vmcb_seg(VMCB_DS, GDT_DATA, ATTR_DATA);
    vmcb_seg(VMCB_ES, GDT_DATA, ATTR_DATA);
    vmcb_table(VMCB_GDTR, &gdt);
    vmcb_table(VMCB_IDTR, &idt);
    /* CPL (VMCB_CPL) 0: left as memset() made it. */
    vmcb_w64(VMCB_EFER, rdmsr(MSR_EFER));
    vmcb_w64(VMCB_CR0, read_cr(0));
    vmcb_w64(VMCB_CR3, read_cr(3));
    vmcb_w64(VMCB_CR4, read_cr(4));
    vmcb_w64(VMCB_DR7, 0x400);
    vmcb_w64(VMCB_DR6, 0xffff0ff0);
    vmcb_w64(VMCB_RFLAGS, 0x2);             /* IF clear */
    vmcb_w64(VMCB_RIP, (uint64_t)(uintptr_t)l2_main);
    /* As if called: the ABI wants RSP + 8 16-byte aligned at entry. */
    vmcb_w64(VMCB_RSP, (uint64_t)(uintptr_t)&l2_stack[L2_STACK_SIZE - 8]);
    vmcb_w64(VMCB_RAX, 0);
    vmcb_w64(VMCB_G_PAT, 0x0007040600070406ull);
}

/* After a #VMEXIT: L2's last TSC against L1's, then L1's own step. */
static void check_exit(TscprobeNested *n, uint64_t l1_now)
{
    uint64_t l2_as_l1 = n->l2_last_tsc - (uint64_t)n->l2_tsc_offset;

    if (n->l2_loops) {
        if (l2_as_l1 > l1_now) {
            n->ahead_count++;
            if (l2_as_l1 - l1_now > n->ahead_max) {
                n->ahead_max = l2_as_l1 - l1_now;
            }
        } else if (l1_now - l2_as_l1 > n->exit_gap_max) {
            n->exit_gap_max = l1_now - l2_as_l1;
        }
    }
    if (n->l1_last_tsc && l1_now < n->l1_last_tsc) {
        n->l1_back_count++;
        if (n->l1_last_tsc - l1_now > n->l1_back_max) {
            n->l1_back_max = n->l1_last_tsc - l1_now;
        }
    }
    n->l1_last_tsc = l1_now;
}

void nested_run(PerCpu *cpu)
{
    TscprobeNested *n = nested();
    uint64_t vmcb_pa = (uint64_t)(uintptr_t)vmcb;
    ProbeState st;

    n->cpu = cpu->index;
    if (!(cpuid(0x80000001, 0).ecx & CPUID_80000001_ECX_SVM)) {
        n->state = TSCPROBE_NESTED_NO_SVM;
        probe_run(cpu);
    }
    wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SVME);
    wrmsr(MSR_VM_HSAVE_PA, (uint64_t)(uintptr_t)host_save);

    /*
     * L2 starts once L1 has run L2_START_MS, with its TSC near 0: behind
     * L1's by more than the 1 s within which KVM takes a host TSC write
     * for a vCPU as meant to match the others (a smaller difference
     * would hide seed 004's wrong write, as it hid seed 000's).
     */
    probe_begin(cpu, &st);
    while (rdtsc_ordered() < probe_config.tsc_khz * L2_START_MS) {
        probe_pass(cpu, &st);
    }
    n->l2_tsc_offset = -(int64_t)rdtsc_ordered();
    vmcb_setup();
    n->state = TSCPROBE_NESTED_RUNNING;

    for (;;) {
        uint64_t code, l1_now;

        n->l1_enter_tsc = rdtsc_ordered();
        __atomic_fetch_add(&n->vmruns, 1, __ATOMIC_RELEASE);
        svm_run(vmcb_pa, &l2_regs);
        l1_now = rdtsc_ordered();
        code = vmcb_r64(VMCB_EXIT_CODE);
        check_exit(n, l1_now);
        if (code == SVM_EXIT_INTR) {
            n->exits_intr++;
        } else {
            n->exits_other++;
            n->exit_code = code;
            n->exit_info1 = vmcb_r64(VMCB_EXIT_INFO1);
            n->exit_info2 = vmcb_r64(VMCB_EXIT_INFO2);
            n->state = TSCPROBE_NESTED_FAILED;
            probe_run(cpu);
        }
        probe_pass(cpu, &st);
    }
}

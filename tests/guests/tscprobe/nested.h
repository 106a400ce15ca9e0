/*
 * tscprobe: the nested probe, an L1 hypervisor (AMD SVM) on the last vCPU
 * running an L2 guest that watches its own TSC (docs/tscprobe.md).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef TSCPROBE_NESTED_H
#define TSCPROBE_NESTED_H

#include <stdbool.h>

#include "percpu.h"

/* L2's general registers that VMRUN does not switch (svm-run.S). */
typedef struct SvmGuestRegs {
    uint64_t rbx, rcx, rdx, rsi, rdi, rbp;
    uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
} SvmGuestRegs;

void svm_run(uint64_t vmcb_pa, SvmGuestRegs *regs);

/*
 * On the BSP before the APs start: whether @cmdline asks for the nested
 * probe (the word "nested").  nested_run() records what became of it.
 */
bool nested_wanted(const char *cmdline);

/*
 * On the hypervisor vCPU, in place of probe_run(): enable SVM, build the
 * VMCB and run L2 forever.  Falls back to probe_run() if SVM cannot be
 * used or L2 exits unexpectedly.
 */
void nested_run(PerCpu *cpu) __attribute__((noreturn));

#endif

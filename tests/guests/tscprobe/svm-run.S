/*
 * tscprobe: one round trip into the nested guest (AMD SVM).
 *
 *   void svm_run(uint64_t vmcb_pa, SvmGuestRegs *regs)
 *
 * VMRUN switches RAX, RSP, RIP, RFLAGS and the control registers through
 * the VMCB and the host save area; every other general register is
 * shared, so L2's are loaded from @regs before VMRUN and stored back
 * after the #VMEXIT, and L1's callee-saved ones are kept on the stack.
 * Interrupts: GIF is cleared and IF set, so VMRUN enters L2 with L1
 * interrupts deliverable (as #VMEXITs, V_INTR_MASKING); after the exit
 * GIF is 0 until STGI, which lets the pending interrupt reach L1's
 * handler right here.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#define REG_RBX 0x00
#define REG_RCX 0x08
#define REG_RDX 0x10
#define REG_RSI 0x18
#define REG_RDI 0x20
#define REG_RBP 0x28
#define REG_R8  0x30
#define REG_R9  0x38
#define REG_R10 0x40
#define REG_R11 0x48
#define REG_R12 0x50
#define REG_R13 0x58
#define REG_R14 0x60
#define REG_R15 0x68

        .text
        .code64
        .globl svm_run
svm_run:
        pushq %rbp
        pushq %rbx
        pushq %r12
        pushq %r13
        pushq %r14
        pushq %r15
        pushq %rsi                      /* @regs, for after the exit */
        movq %rdi, %rax                 /* VMCB physical address */
        movq REG_RBX(%rsi), %rbx
        movq REG_RCX(%rsi), %rcx
        movq REG_RDX(%rsi), %rdx
        movq REG_RDI(%rsi), %rdi
        movq REG_RBP(%rsi), %rbp
        movq REG_R8(%rsi), %r8
        movq REG_R9(%rsi), %r9
        movq REG_R10(%rsi), %r10
        movq REG_R11(%rsi), %r11
        movq REG_R12(%rsi), %r12
        movq REG_R13(%rsi), %r13
        movq REG_R14(%rsi), %r14
        movq REG_R15(%rsi), %r15
        movq REG_RSI(%rsi), %rsi
        clgi
        sti
        vmrun %rax
        /* #VMEXIT: RAX, RSP, RIP, RFLAGS are L1's again; the rest L2's. */
        xchgq %rsi, (%rsp)              /* @regs; L2's RSI on the stack */
        movq %rbx, REG_RBX(%rsi)
        movq %rcx, REG_RCX(%rsi)
        movq %rdx, REG_RDX(%rsi)
        movq %rdi, REG_RDI(%rsi)
        movq %rbp, REG_RBP(%rsi)
        movq %r8, REG_R8(%rsi)
        movq %r9, REG_R9(%rsi)
        movq %r10, REG_R10(%rsi)
        movq %r11, REG_R11(%rsi)
        movq %r12, REG_R12(%rsi)
        movq %r13, REG_R13(%rsi)
        movq %r14, REG_R14(%rsi)
        movq %r15, REG_R15(%rsi)
        popq %rax
        movq %rax, REG_RSI(%rsi)
        stgi
        popq %r15
        popq %r14
        popq %r13
        popq %r12
        popq %rbx
        popq %rbp
        ret

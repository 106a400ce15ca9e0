/*
 * tscprobe: AP start-up trampoline.  smp.c copies it to TRAMPOLINE_BASE
 * and fills the mailbox; a SIPI starts the AP here in real mode with
 * CS = TRAMPOLINE_BASE >> 4, IP = 0.  It goes through 32-bit protected
 * mode into long mode on the BSP's GDT and page tables, then calls
 * mailbox.entry(mailbox.cpu_index) on mailbox.stack_top.
 *
 * The code runs from the copy, so absolute addresses are computed with
 * COPY() and real-mode operands are offsets from trampoline_start.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "gdt.h"
#include "trampoline-layout.h"

#define OFFSET(sym)     ((sym) - trampoline_start)
#define COPY(sym)       (TRAMPOLINE_BASE + OFFSET(sym))
#define MAILBOX(field)  (COPY(trampoline_mailbox) + (field))

        .section .rodata.trampoline, "a"
        .code16
        .globl trampoline_start
trampoline_start:
        cli
        cld
        movw %cs, %ax
        movw %ax, %ds
        lgdtl OFFSET(trampoline_mailbox) + MAILBOX_GDTR
        movl %cr0, %eax
        orl $1, %eax                    /* CR0.PE */
        movl %eax, %cr0
        ljmpl $GDT_CODE32, $COPY(trampoline_32)

        .code32
trampoline_32:
        movw $GDT_DATA, %ax
        movw %ax, %ds
        movw %ax, %es
        movw %ax, %ss
        movl %cr4, %eax
        orl $0x20, %eax                 /* CR4.PAE */
        movl %eax, %cr4
        movl MAILBOX(MAILBOX_CR3), %eax
        movl %eax, %cr3
        movl $0xc0000080, %ecx          /* EFER.LME */
        rdmsr
        orl $0x100, %eax
        wrmsr
        movl %cr0, %eax
        andl $~0x60000000, %eax         /* INIT left caches off: CD, NW */
        orl $0x80000000, %eax           /* CR0.PG */
        movl %eax, %cr0
        ljmp $GDT_CODE64, $COPY(trampoline_64)

        .code64
trampoline_64:
        xorl %eax, %eax
        movw %ax, %fs
        movw %ax, %gs
        movq MAILBOX(MAILBOX_STACK_TOP), %rsp
        movl MAILBOX(MAILBOX_CPU_INDEX), %edi
        movq MAILBOX(MAILBOX_ENTRY), %rax
        call *%rax
1:      cli
        hlt
        jmp 1b

        .balign 8
        .globl trampoline_mailbox
trampoline_mailbox:
        .skip MAILBOX_SIZE
        .globl trampoline_end
trampoline_end:

        .section .note.GNU-stack, "", @progbits

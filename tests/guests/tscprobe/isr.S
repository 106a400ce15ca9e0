/*
 * tscprobe: interrupt entry stubs.  Exceptions are fatal and reported by
 * exception_report(); the timer vector calls timer_interrupt() with the
 * caller-saved registers preserved; the spurious vector just returns.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/* Exceptions without a CPU-pushed error code get a dummy one. */
.macro EXCEPTION_STUB vector
        .globl exception_stub_\vector
exception_stub_\vector:
        .if !(\vector == 8 || (\vector >= 10 && \vector <= 14) || \
              \vector == 17 || \vector == 21 || \vector == 29 || \
              \vector == 30)
        pushq $0
        .endif
        pushq $\vector
        jmp exception_common
.endm

        .text
        .code64
        .irp v, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, \
                16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31
        EXCEPTION_STUB \v
        .endr

/* Table of the 32 stub addresses, indexed by vector, for idt.c. */
        .section .rodata
        .balign 8
        .globl exception_stubs
exception_stubs:
        .irp v, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, \
                16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31
        .quad exception_stub_\v
        .endr

        .text
exception_common:
        /* Stack: vector, error code, RIP, CS, RFLAGS, RSP, SS. */
        movq %rsp, %rdi
        andq $-16, %rsp
        call exception_report
1:      cli
        hlt
        jmp 1b

        .globl timer_stub
timer_stub:
        /* 5 words pushed by the CPU + 9 here keep RSP 16-byte aligned. */
        pushq %rax
        pushq %rcx
        pushq %rdx
        pushq %rsi
        pushq %rdi
        pushq %r8
        pushq %r9
        pushq %r10
        pushq %r11
        cld
        call timer_interrupt
        popq %r11
        popq %r10
        popq %r9
        popq %r8
        popq %rdi
        popq %rsi
        popq %rdx
        popq %rcx
        popq %rax
        iretq

        .globl spurious_stub
spurious_stub:
        iretq

        .section .note.GNU-stack, "", @progbits

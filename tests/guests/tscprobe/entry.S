/*
 * tscprobe: PVH entry.  QEMU's PVH option ROM enters pvh_entry32 in flat
 * 32-bit protected mode, paging off, with EBX = hvm_start_info.  We map
 * the low 4 GiB 1:1 with 2 MiB pages, switch to long mode and call
 * bsp_main(start_info).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "gdt.h"

#define CR0_PE          0x00000001
#define CR0_PG          0x80000000
#define CR4_PAE         0x00000020
#define MSR_EFER        0xc0000080
#define EFER_LME        0x00000100
#define PTE_PRESENT_RW  0x003
#define PTE_LARGE       0x080
#define PTE_UNCACHED    0x018           /* PCD | PWT, for MMIO above 3G */
#define BSP_STACK_SIZE  16384

/* ELF note XEN_ELFNOTE_PHYS32_ENTRY: tells QEMU this is a PVH kernel. */
        .section .note.pvh, "a", @note
        .balign 4
        .long 4                         /* name size: "Xen\0" */
        .long 8                         /* descriptor size */
        .long 18                        /* XEN_ELFNOTE_PHYS32_ENTRY */
        .asciz "Xen"
        .quad pvh_entry32

        .section .text.entry, "ax"
        .code32
        .globl pvh_entry32
pvh_entry32:
        cli
        cld
        movl %ebx, pvh_start_info

        /* The loader zero-fills .bss, but do not depend on it. */
        movl $__bss_start, %edi
        movl $__bss_end, %ecx
        subl %edi, %ecx
        xorl %eax, %eax
        rep stosb

        /* PML4[0] -> PDPT; PDPT[0..3] -> four page directories. */
        movl $pdpt + PTE_PRESENT_RW, pml4
        movl $page_dirs + PTE_PRESENT_RW, %eax
        xorl %ecx, %ecx
1:      movl %eax, pdpt(, %ecx, 8)
        addl $4096, %eax
        incl %ecx
        cmpl $4, %ecx
        jb 1b

        /* 2048 large pages cover 4 GiB; the top GiB is MMIO (APIC). */
        xorl %ecx, %ecx
2:      movl %ecx, %eax
        shll $21, %eax
        orl $PTE_PRESENT_RW + PTE_LARGE, %eax
        cmpl $1536, %ecx
        jb 3f
        orl $PTE_UNCACHED, %eax
3:      movl %eax, page_dirs(, %ecx, 8)
        incl %ecx
        cmpl $2048, %ecx
        jb 2b

        movl %cr4, %eax
        orl $CR4_PAE, %eax
        movl %eax, %cr4
        movl $pml4, %eax
        movl %eax, %cr3
        movl $MSR_EFER, %ecx
        rdmsr
        orl $EFER_LME, %eax
        wrmsr
        movl %cr0, %eax
        orl $CR0_PG + CR0_PE, %eax
        movl %eax, %cr0

        lgdt gdt_descriptor
        ljmp $GDT_CODE64, $long_mode_entry

        .code64
long_mode_entry:
        movw $GDT_DATA, %ax
        movw %ax, %ds
        movw %ax, %es
        movw %ax, %ss
        xorl %eax, %eax
        movw %ax, %fs
        movw %ax, %gs
        movq $bsp_stack + BSP_STACK_SIZE, %rsp
        movl pvh_start_info, %edi
        call bsp_main
4:      cli
        hlt
        jmp 4b

        .section .data
        .balign 8
pvh_start_info:
        .quad 0

        .balign 16
gdt:
        .quad 0                         /* null */
        .quad 0x00af9a000000ffff        /* GDT_CODE64 */
        .quad 0x00cf92000000ffff        /* GDT_DATA */
        .quad 0x00cf9a000000ffff        /* GDT_CODE32 */
gdt_end:

        .balign 8
gdt_descriptor:
        .word gdt_end - gdt - 1
        .quad gdt

        .section .bss
        .balign 4096
pml4:
        .skip 4096
pdpt:
        .skip 4096
page_dirs:
        .skip 4 * 4096
        .balign 16
bsp_stack:
        .skip BSP_STACK_SIZE

        .section .note.GNU-stack, "", @progbits

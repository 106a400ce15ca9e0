/*
 * tscprobe: the real-mode AP trampoline and the mailbox through which
 * the BSP hands each AP its GDT, page tables, stack and entry point.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef TSCPROBE_TRAMPOLINE_H
#define TSCPROBE_TRAMPOLINE_H

#include <stdint.h>

#include "trampoline-layout.h"

typedef struct __attribute__((packed)) TrampolineMailbox {
    uint16_t gdt_limit;         /* lgdt operand: limit then 32-bit base */
    uint32_t gdt_base;
    uint16_t pad;
    uint32_t cr3;
    uint32_t cpu_index;
    uint64_t stack_top;
    uint64_t entry;
} TrampolineMailbox;

_Static_assert(sizeof(TrampolineMailbox) == MAILBOX_SIZE, "mailbox size");
_Static_assert(__builtin_offsetof(TrampolineMailbox, cr3) == MAILBOX_CR3,
               "mailbox cr3");
_Static_assert(__builtin_offsetof(TrampolineMailbox, cpu_index) ==
               MAILBOX_CPU_INDEX, "mailbox cpu_index");
_Static_assert(__builtin_offsetof(TrampolineMailbox, stack_top) ==
               MAILBOX_STACK_TOP, "mailbox stack_top");
_Static_assert(__builtin_offsetof(TrampolineMailbox, entry) ==
               MAILBOX_ENTRY, "mailbox entry");

/* Symbols of trampoline.S: the code to copy and its mailbox inside it. */
extern const char trampoline_start[];
extern const char trampoline_mailbox[];
extern const char trampoline_end[];

#endif

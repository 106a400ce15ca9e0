/*
 * tscprobe: where the AP trampoline runs and the layout of its mailbox,
 * as plain constants shared with the assembly side.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef TSCPROBE_TRAMPOLINE_LAYOUT_H
#define TSCPROBE_TRAMPOLINE_LAYOUT_H

/* Below 1 MiB and page aligned: the SIPI vector is its page number. */
#define TRAMPOLINE_BASE         0x8000

/* Offsets inside the mailbox. */
#define MAILBOX_GDTR            0
#define MAILBOX_CR3             8
#define MAILBOX_CPU_INDEX       12
#define MAILBOX_STACK_TOP       16
#define MAILBOX_ENTRY           24
#define MAILBOX_SIZE            32

#endif

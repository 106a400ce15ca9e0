/*
 * tscprobe: interrupt descriptor table.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef TSCPROBE_IDT_H
#define TSCPROBE_IDT_H

#define TIMER_VECTOR    0x40
#define SPURIOUS_VECTOR 0xff

/* Fill the shared IDT once, on the BSP. */
void idt_init(void);

/* Load the shared IDT on the calling vCPU. */
void idt_load(void);

#endif

/*
 * tscprobe: silence the 8259 PICs.  The BIOS leaves them on vectors 8-15,
 * where a stray PIT tick would look like a double fault, so re-initialise
 * them onto PIC_VECTOR_BASE and mask everything; the probe only uses the
 * local APIC.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "pic.h"
#include "x86.h"

#define PIC1_CMD        0x20
#define PIC1_DATA       0x21
#define PIC2_CMD        0xa0
#define PIC2_DATA       0xa1
#define ICW1_INIT_ICW4  0x11
#define ICW4_8086       0x01
#define MASK_ALL        0xff

void pic_disable(void)
{
    outb(PIC1_CMD, ICW1_INIT_ICW4);
    outb(PIC2_CMD, ICW1_INIT_ICW4);
    outb(PIC1_DATA, PIC_VECTOR_BASE);
    outb(PIC2_DATA, PIC_VECTOR_BASE + 8);
    outb(PIC1_DATA, 1 << 2);            /* slave on IRQ2 */
    outb(PIC2_DATA, 2);                 /* slave identity */
    outb(PIC1_DATA, ICW4_8086);
    outb(PIC2_DATA, ICW4_8086);
    outb(PIC1_DATA, MASK_ALL);
    outb(PIC2_DATA, MASK_ALL);
}

/*
 * tscprobe: the legacy 8259 interrupt controllers.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef TSCPROBE_PIC_H
#define TSCPROBE_PIC_H

#define PIC_VECTOR_BASE 0x20    /* 16 vectors, all routed to a no-op */

/* Move the PICs off the exception vectors and mask every line. */
void pic_disable(void);

#endif

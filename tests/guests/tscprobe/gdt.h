/*
 * tscprobe: GDT selectors, shared by the boot and trampoline assembly.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef TSCPROBE_GDT_H
#define TSCPROBE_GDT_H

#define GDT_CODE64  0x08
#define GDT_DATA    0x10
#define GDT_CODE32  0x18

#endif

/*
 * tscprobe: C entry points reached from assembly (entry.S for the BSP,
 * the AP trampoline through smp.c's mailbox).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef TSCPROBE_BOOT_H
#define TSCPROBE_BOOT_H

#include <stdint.h>

void bsp_main(uint32_t start_info) __attribute__((noreturn));
void ap_main(uint32_t index) __attribute__((noreturn));

#endif

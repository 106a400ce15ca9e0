/*
 * tscprobe: the few C library functions the guest provides itself.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef TSCPROBE_LIBC_H
#define TSCPROBE_LIBC_H

#include <stddef.h>

void *memset(void *dst, int c, size_t n);
void *memcpy(void *dst, const void *src, size_t n);

#endif

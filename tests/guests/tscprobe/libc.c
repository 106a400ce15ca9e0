/*
 * tscprobe: the memory functions the compiler may call even in a
 * freestanding build (for struct copies and zeroing).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "libc.h"

void *memset(void *dst, int c, size_t n)
{
    unsigned char *d = dst;

    while (n--) {
        *d++ = (unsigned char)c;
    }
    return dst;
}

void *memcpy(void *dst, const void *src, size_t n)
{
    unsigned char *d = dst;
    const unsigned char *s = src;

    while (n--) {
        *d++ = *s++;
    }
    return dst;
}

/*
 * tscprobe: the shared last-value warp test.  Reads are serialised by a
 * lock, so a value smaller than the last one published can only come
 * from TSCs that disagree between vCPUs (or go backwards).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "spinlock.h"
#include "warp.h"
#include "x86.h"

static Spinlock warp_lock;
static uint64_t warp_last;

uint64_t warp_sample(uint64_t *behind)
{
    uint64_t rflags;
    uint64_t now;

    /* No interrupt while holding the lock: keeps other vCPUs' wait short. */
    asm volatile("pushfq; popq %0; cli" : "=r"(rflags) : : "memory");
    spin_lock(&warp_lock);
    now = rdtsc_ordered();
    if (now < warp_last) {
        *behind = warp_last - now;
    } else {
        *behind = 0;
        warp_last = now;
    }
    spin_unlock(&warp_lock);
    if (rflags & (1u << 9)) {
        irq_enable();
    }
    return now;
}

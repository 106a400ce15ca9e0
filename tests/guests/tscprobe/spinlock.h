/*
 * tscprobe: a minimal test-and-set spinlock.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef TSCPROBE_SPINLOCK_H
#define TSCPROBE_SPINLOCK_H

#include "x86.h"

typedef struct Spinlock {
    uint32_t locked;
} Spinlock;

static inline void spin_lock(Spinlock *lock)
{
    while (__atomic_exchange_n(&lock->locked, 1, __ATOMIC_ACQUIRE)) {
        while (__atomic_load_n(&lock->locked, __ATOMIC_RELAXED)) {
            cpu_relax();
        }
    }
}

static inline void spin_unlock(Spinlock *lock)
{
    __atomic_store_n(&lock->locked, 0, __ATOMIC_RELEASE);
}

#endif

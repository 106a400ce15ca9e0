/*
 * tscprobe: guest-side access to the results table.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef TSCPROBE_RESULTS_GUEST_H
#define TSCPROBE_RESULTS_GUEST_H

#include "tscprobe-results.h"
#include "x86.h"

static inline TscprobeResults *results_table(void)
{
    return (TscprobeResults *)(uintptr_t)TSCPROBE_RESULTS_ADDR;
}

/* Zero the table and fill the constant part of the header. */
void results_init(void);

/*
 * Bracket writes to a record so a reader can tell a torn record (odd
 * seq) and progress (a different even seq).
 */
static inline void record_begin(TscprobeCpu *rec)
{
    __atomic_store_n(&rec->seq, rec->seq + 1, __ATOMIC_RELAXED);
    compiler_barrier();
}

static inline void record_end(TscprobeCpu *rec)
{
    __atomic_store_n(&rec->seq, rec->seq + 1, __ATOMIC_RELEASE);
}

/* Count @size as one more event: keep the largest and when it happened. */
static inline void record_event(uint64_t *count, uint64_t *max, uint64_t *at,
                                uint64_t size, uint64_t when)
{
    (*count)++;
    if (size > *max) {
        *max = size;
    }
    *at = when;
}

#endif

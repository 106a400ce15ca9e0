/*
 * Guest TSC and kvmclock arithmetic for precise TSC save/restore
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "tsc-math.h"

#define NSEC_PER_MSEC 1000000ULL

uint64_t tsc_scale(uint64_t host_tsc, const TscScaling *s)
{
    return (uint64_t)(((unsigned __int128)host_tsc * s->ratio) >>
                      s->frac_bits);
}

uint64_t tsc_guest_at(uint64_t host_tsc, const TscScaling *s,
                      uint64_t offset)
{
    /* The TSC wraps modulo 2^64, as the hardware adder does. */
    return tsc_scale(host_tsc, s) + offset;
}

uint64_t tsc_offset_for(uint64_t guest_tsc, uint64_t host_tsc,
                        const TscScaling *s)
{
    return guest_tsc - tsc_scale(host_tsc, s);
}

uint64_t tsc_cycles_from_ns(uint64_t ns, uint32_t tsc_khz)
{
    return (uint64_t)((unsigned __int128)ns * tsc_khz / NSEC_PER_MSEC);
}

uint64_t tsc_ns_from_cycles(uint64_t cycles, uint32_t tsc_khz)
{
    if (!tsc_khz) {
        return 0;
    }
    return (uint64_t)((unsigned __int128)cycles * NSEC_PER_MSEC / tsc_khz);
}

uint64_t tsc_elapsed_to_apply(int64_t measured_ns, uint64_t bound_ns,
                              TscElapsedOutcome *outcome)
{
    if (measured_ns < 0) {
        *outcome = TSC_ELAPSED_NEGATIVE;
        return 0;
    }
    if ((uint64_t)measured_ns > bound_ns) {
        *outcome = TSC_ELAPSED_FROZEN;
        return 0;
    }
    *outcome = TSC_ELAPSED_ADVANCED;
    return measured_ns;
}

uint64_t pvclock_ns_at(const PvclockParams *p, uint64_t guest_tsc)
{
    uint64_t delta = guest_tsc - p->tsc_timestamp;

    /* Same order of operations as the guest's pvclock_scale_delta(). */
    if (p->tsc_shift < 0) {
        delta >>= -p->tsc_shift;
    } else {
        delta <<= p->tsc_shift;
    }
    return p->system_time +
           (uint64_t)(((unsigned __int128)delta * p->tsc_to_system_mul) >> 32);
}

/*
 * Guest TSC and kvmclock arithmetic for precise TSC save/restore
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "tsc-math.h"

#define NSEC_PER_MSEC 1000000ULL
#define NSEC_PER_SEC 1000000000LL
#define PPM 1000000ULL

/* KVM's adjust_tsc_khz(): khz scaled by (10^6 + ppm) / 10^6, truncated. */
static uint32_t adjust_khz(uint32_t khz, int64_t ppm)
{
    return (uint64_t)khz * (uint64_t)(PPM + ppm) / PPM;
}

TscScaling tsc_kvm_scaling(const TscKvmRates *r)
{
    TscScaling s = {
        .ratio = 1ULL << r->frac_bits,
        .frac_bits = r->frac_bits,
    };
    uint32_t lo, hi;

    if (!r->has_tsc_control || !r->host_khz || r->vcpu_khz == r->host_khz) {
        return s;
    }
    lo = adjust_khz(r->host_khz, -(int64_t)r->tolerance_ppm);
    hi = adjust_khz(r->host_khz, r->tolerance_ppm);
    if (r->vcpu_khz >= lo && r->vcpu_khz <= hi) {
        return s;
    }
    /* mul_u64_u32_div(1ULL << frac_bits, user_tsc_khz, tsc_khz) */
    s.ratio = (uint64_t)(((unsigned __int128)1 << r->frac_bits) *
                         r->vcpu_khz / r->host_khz);
    return s;
}

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

int64_t tsc_ref_in_local_tai(int64_t ref_tai_ns, int32_t ref_tai_offset_s,
                             int32_t local_tai_offset_s, TscTimeBase *base)
{
    if (ref_tai_offset_s && local_tai_offset_s) {
        *base = TSC_TIME_BASE_TAI;
        return ref_tai_ns;
    }
    /* UTC there, then this host's TAI offset on top of it. */
    *base = TSC_TIME_BASE_UTC;
    return ref_tai_ns - ref_tai_offset_s * NSEC_PER_SEC +
           local_tai_offset_s * NSEC_PER_SEC;
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

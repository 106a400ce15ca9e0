/*
 * tscprobe: kvmclock.  KVM publishes (tsc_timestamp, system_time, scale)
 * per vCPU; the guest extrapolates from its own TSC.  A read is retried
 * while the version is odd or changes underneath it.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "kvmclock.h"
#include "x86.h"

#define MSR_KVM_SYSTEM_TIME_NEW 0x4b564d01u
#define KVM_SYSTEM_TIME_ENABLE  1u

void kvmclock_enable(PvclockTimeInfo *info)
{
    wrmsr(MSR_KVM_SYSTEM_TIME_NEW,
          (uint64_t)(uintptr_t)info | KVM_SYSTEM_TIME_ENABLE);
}

static uint64_t scale_delta(uint64_t delta, uint32_t mul, int8_t shift)
{
    if (shift < 0) {
        delta >>= -shift;
    } else {
        delta <<= shift;
    }
    return (uint64_t)(((unsigned __int128)delta * mul) >> 32);
}

uint64_t kvmclock_read(const PvclockTimeInfo *info, uint8_t *flags)
{
    const volatile PvclockTimeInfo *v = info;  /* KVM rewrites it */
    uint32_t version;
    uint64_t tsc, tsc_timestamp, system_time;
    uint32_t mul;
    int8_t shift;

    do {
        version = v->version;
        compiler_barrier();
        tsc = rdtsc_ordered();
        tsc_timestamp = v->tsc_timestamp;
        system_time = v->system_time;
        mul = v->tsc_to_system_mul;
        shift = v->tsc_shift;
        *flags = v->flags;
        compiler_barrier();
    } while ((version & 1) || version != v->version);

    /*
     * A TSC behind the timestamp is a bug worth seeing: extrapolate
     * backwards instead of letting the unsigned delta wrap.
     */
    if (tsc < tsc_timestamp) {
        return system_time - scale_delta(tsc_timestamp - tsc, mul, shift);
    }
    return system_time + scale_delta(tsc - tsc_timestamp, mul, shift);
}

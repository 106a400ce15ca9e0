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

void kvmclock_disable(void)
{
    wrmsr(MSR_KVM_SYSTEM_TIME_NEW, 0);
}

/*
 * ns = (tsc << shift) * mul / 2^32, so one ms of TSC is
 * 10^6 * 2^32 / mul ticks before the shift is undone.
 */
uint64_t kvmclock_tsc_khz(const PvclockTimeInfo *info)
{
    const volatile PvclockTimeInfo *v = info;  /* KVM writes it */
    uint32_t version, mul;
    int8_t shift;
    uint64_t khz;

    do {
        version = v->version;
        compiler_barrier();
        mul = v->tsc_to_system_mul;
        shift = v->tsc_shift;
        compiler_barrier();
    } while ((version & 1) || version != v->version);

    if (!version || !mul) {
        return 0;
    }
    khz = (1000000ull << 32) / mul;
    return shift < 0 ? khz << -shift : khz >> shift;
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

uint64_t kvmclock_read(const PvclockTimeInfo *info, uint8_t *flags,
                       uint64_t *tsc_out)
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

    *tsc_out = tsc;
    /*
     * A TSC behind the timestamp is a bug worth seeing: extrapolate
     * backwards instead of letting the unsigned delta wrap.
     */
    if (tsc < tsc_timestamp) {
        return system_time - scale_delta(tsc_timestamp - tsc, mul, shift);
    }
    return system_time + scale_delta(tsc - tsc_timestamp, mul, shift);
}

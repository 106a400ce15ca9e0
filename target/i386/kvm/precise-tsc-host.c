/*
 * Precise guest TSC save/restore: sampling the host's TSC and clocks
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include <sys/timex.h>
#include "qapi/error.h"
#include "qemu/timer.h"
#include "system/kvm.h"
#include <linux/kvm.h>
#include "precise-tsc-int.h"

#define BRACKET_TRIES 8

static int64_t ns_of(const struct timespec *ts)
{
    return ts->tv_sec * NANOSECONDS_PER_SECOND + ts->tv_nsec;
}

/*
 * The kernel's TAI - UTC in whole seconds: 0 unless an NTP daemon set it
 * (chrony with leapsectz, ntpd with a leap file), which is why two hosts
 * may disagree by 37 s about what CLOCK_TAI is.
 */
int32_t precise_tsc_host_tai_offset(void)
{
    struct timex tx = { 0 };

    return adjtimex(&tx) < 0 ? 0 : tx.tai;
}

int64_t precise_tsc_tai_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_TAI, &ts);
    return ns_of(&ts);
}

/*
 * Without KVM's pair (master clock off), bracket CLOCK_TAI between two
 * TSC reads and keep the tightest of a few tries.
 */
static void bracketed_sample(PreciseTscHostSample *hs, uint32_t host_khz)
{
    uint64_t best = UINT64_MAX;

    for (int i = 0; i < BRACKET_TRIES; i++) {
        struct timespec ts;
        uint64_t t0, t1;

        t0 = __builtin_ia32_rdtsc();
        clock_gettime(CLOCK_TAI, &ts);
        t1 = __builtin_ia32_rdtsc();

        if (t1 - t0 < best) {
            best = t1 - t0;
            hs->host_tsc = t0 + (t1 - t0) / 2;
            hs->tai_ns = ns_of(&ts);
        }
    }
    hs->tai_offset_s = precise_tsc_host_tai_offset();
    hs->realtime_ns = hs->tai_ns - hs->tai_offset_s * NANOSECONDS_PER_SECOND;
    hs->bracket_ns = tsc_ns_from_cycles(best, host_khz);
    hs->from_kvm = false;
}

int precise_tsc_host_sample(PreciseTscHostSample *hs, Error **errp)
{
    struct kvm_clock_data data = { 0 };
    const uint32_t pair = KVM_CLOCK_REALTIME | KVM_CLOCK_HOST_TSC;
    int ret = kvm_vm_ioctl(kvm_state, KVM_GET_CLOCK, &data);

    if (ret < 0) {
        error_setg_errno(errp, -ret, "precise-tsc: KVM_GET_CLOCK failed");
        return ret;
    }
    hs->kvmclock_ns = data.clock;
    if ((data.flags & pair) == pair) {
        hs->host_tsc = data.host_tsc;
        hs->realtime_ns = data.realtime;
        hs->tai_offset_s = precise_tsc_host_tai_offset();
        hs->tai_ns = data.realtime + hs->tai_offset_s * NANOSECONDS_PER_SECOND;
        hs->bracket_ns = 0;
        hs->from_kvm = true;
        return 0;
    }
    ret = kvm_vm_ioctl(kvm_state, KVM_GET_TSC_KHZ);
    bracketed_sample(hs, ret > 0 ? ret : 1000000);
    return 0;
}

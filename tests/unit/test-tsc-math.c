/*
 * Unit tests for the guest TSC / kvmclock arithmetic
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "tsc-math.h"

static const TscScaling no_scaling_vmx = { 1ULL << 48, 48 };
static const TscScaling one_and_half_svm = { 3ULL << 31, 32 };

static void test_unscaled_is_identity(void)
{
    uint64_t v[] = { 0, 1, 2600000000ULL, 1ULL << 63, UINT64_MAX };

    for (size_t i = 0; i < G_N_ELEMENTS(v); i++) {
        g_assert_cmpuint(tsc_scale(v[i], &no_scaling_vmx), ==, v[i]);
    }
}

static void test_scaled_value(void)
{
    g_assert_cmpuint(tsc_scale(1000, &one_and_half_svm), ==, 1500);
    /* The intermediate product needs more than 64 bits. */
    g_assert_cmpuint(tsc_scale(1ULL << 62, &one_and_half_svm), ==,
                     (1ULL << 62) + (1ULL << 61));
}

static void test_offset_round_trip(void)
{
    GRand *r = g_rand_new_with_seed(42);

    for (int i = 0; i < 100000; i++) {
        uint64_t guest = ((uint64_t)g_rand_int(r) << 32) | g_rand_int(r);
        uint64_t host = ((uint64_t)g_rand_int(r) << 32) | g_rand_int(r);
        const TscScaling *s = (i & 1) ? &one_and_half_svm : &no_scaling_vmx;
        uint64_t off = tsc_offset_for(guest, host, s);

        g_assert_cmpuint(tsc_guest_at(host, s, off), ==, guest);
    }
    g_rand_free(r);
}

static void test_shared_offset_is_bit_identical(void)
{
    /*
     * Two vCPUs whose guest TSCs were equal at one host instant must get
     * the same offset when restored from one host TSC read.
     */
    uint64_t host_now = 987654321987ULL;

    g_assert_cmpuint(tsc_offset_for(5000000, host_now, &no_scaling_vmx), ==,
                     tsc_offset_for(5000000, host_now, &no_scaling_vmx));
}

static void test_cycles_from_ns(void)
{
    g_assert_cmpuint(tsc_cycles_from_ns(1000000000ULL, 2600000), ==,
                     2600000000ULL);
    g_assert_cmpuint(tsc_cycles_from_ns(1, 2600000), ==, 2);
    /* A year at 5 GHz needs more than 64 bits in the intermediate. */
    g_assert_cmpuint(tsc_cycles_from_ns(31536000000000000ULL, 5000000), ==,
                     157680000000000000ULL);
}

static void test_ns_cycles_round_trip(void)
{
    uint32_t khz[] = { 1000000, 2600000, 2893300, 3999999 };

    for (size_t k = 0; k < G_N_ELEMENTS(khz); k++) {
        for (uint64_t ns = 0; ns < 5000000000ULL; ns += 12345677) {
            uint64_t back = tsc_ns_from_cycles(tsc_cycles_from_ns(ns, khz[k]),
                                               khz[k]);
            g_assert_cmpuint(ns - back, <=, 1);
        }
    }
    g_assert_cmpuint(tsc_ns_from_cycles(100, 0), ==, 0);
}

static void test_elapsed_policy(void)
{
    TscElapsedOutcome o;
    uint64_t bound = 10ULL * 1000000000;

    g_assert_cmpuint(tsc_elapsed_to_apply(2500000000LL, bound, &o), ==,
                     2500000000ULL);
    g_assert_cmpint(o, ==, TSC_ELAPSED_ADVANCED);
    g_assert_cmpuint(tsc_elapsed_to_apply(bound, bound, &o), ==, bound);
    g_assert_cmpint(o, ==, TSC_ELAPSED_ADVANCED);
    g_assert_cmpuint(tsc_elapsed_to_apply(bound + 1, bound, &o), ==, 0);
    g_assert_cmpint(o, ==, TSC_ELAPSED_FROZEN);
    g_assert_cmpuint(tsc_elapsed_to_apply(-1, bound, &o), ==, 0);
    g_assert_cmpint(o, ==, TSC_ELAPSED_NEGATIVE);
}

static void test_pvclock_simple_scales(void)
{
    PvclockParams p = { .tsc_timestamp = 1000, .system_time = 7,
                        .tsc_to_system_mul = 1U << 31, .tsc_shift = 1 };

    /* shift 1, mul 0.5: one cycle is one nanosecond. */
    g_assert_cmpuint(pvclock_ns_at(&p, 1000), ==, 7);
    g_assert_cmpuint(pvclock_ns_at(&p, 2000), ==, 1007);
    p.tsc_shift = -1;
    g_assert_cmpuint(pvclock_ns_at(&p, 5000), ==, 7 + 1000);
}

static void test_pvclock_realistic(void)
{
    /* 2.6 GHz: shift -1, mul = 2^32 * 1e9 / 1.3e9. */
    PvclockParams p = { .tsc_timestamp = 1ULL << 40, .system_time = 5000,
                        .tsc_to_system_mul = 3303820997U, .tsc_shift = -1 };
    uint64_t one_second = 2600000000ULL;
    uint64_t ns = pvclock_ns_at(&p, p.tsc_timestamp + one_second) - 5000;

    g_assert_cmpuint(ns, >=, 999999990ULL);
    g_assert_cmpuint(ns, <=, 1000000010ULL);
}

/*
 * kvm_set_tsc_khz(): no scaling within tsc_tolerance_ppm of the host's
 * rate, nor without TSC scaling hardware; past the tolerance the ratio
 * is (1 << frac_bits) * vcpu / host, truncated.
 */
static void test_kvm_scaling(void)
{
    TscKvmRates r = { .vcpu_khz = 2600000, .host_khz = 2600000,
                      .has_tsc_control = true, .tolerance_ppm = 250,
                      .frac_bits = 48 };
    TscScaling s;

    /* Same rate. */
    s = tsc_kvm_scaling(&r);
    g_assert_cmpuint(s.ratio, ==, 1ULL << 48);
    /* 150 ppm apart: inside the tolerance, KVM does not scale. */
    r.vcpu_khz = 2600390;
    s = tsc_kvm_scaling(&r);
    g_assert_cmpuint(s.ratio, ==, 1ULL << 48);
    /* Exactly at both thresholds (2600000 * (1e6 +- 250) / 1e6). */
    r.vcpu_khz = 2600650;
    g_assert_cmpuint(tsc_kvm_scaling(&r).ratio, ==, 1ULL << 48);
    r.vcpu_khz = 2599350;
    g_assert_cmpuint(tsc_kvm_scaling(&r).ratio, ==, 1ULL << 48);
    /* One kHz past them: scaled, truncated like mul_u64_u32_div(). */
    r.vcpu_khz = 2600651;
    s = tsc_kvm_scaling(&r);
    g_assert_cmpuint(s.ratio, ==,
                     (uint64_t)(((unsigned __int128)1 << 48) * 2600651 /
                                2600000));
    g_assert_cmpuint(s.ratio, >, 1ULL << 48);
    r.vcpu_khz = 2599349;
    g_assert_cmpuint(tsc_kvm_scaling(&r).ratio, <, 1ULL << 48);
    /* SVM's 32 fraction bits: 1.5 GHz on a 1 GHz host is 3 << 31. */
    r = (TscKvmRates){ .vcpu_khz = 1500000, .host_khz = 1000000,
                       .has_tsc_control = true, .tolerance_ppm = 250,
                       .frac_bits = 32 };
    s = tsc_kvm_scaling(&r);
    g_assert_cmpuint(s.ratio, ==, 3ULL << 31);
    g_assert_cmpuint(s.frac_bits, ==, 32);
    /* A tolerance of 0 (kvm.tsc_tolerance_ppm=0): any difference scales. */
    r.vcpu_khz = 1000001;
    r.tolerance_ppm = 0;
    g_assert_cmpuint(tsc_kvm_scaling(&r).ratio, >, 1ULL << 32);
    /* No TSC scaling hardware: never scaled, whatever the rates. */
    r.has_tsc_control = false;
    r.vcpu_khz = 1500000;
    g_assert_cmpuint(tsc_kvm_scaling(&r).ratio, ==, 1ULL << 32);
}

/*
 * The regression of issue 11: a ratio from kHz alone, across hosts. QEMU
 * 10.0 asks a host without scaling for another rate only within 250 ppm
 * of its own, which KVM grants 1:1.
 */
static void test_kvm_scaling_cross_host_offset(void)
{
    /* Destination calibrated 150 ppm above the source; KVM runs 1:1. */
    TscKvmRates r = { .vcpu_khz = 2638997, .host_khz = 2639392,
                      .has_tsc_control = false, .tolerance_ppm = 250,
                      .frac_bits = 32 };
    TscScaling actual = tsc_kvm_scaling(&r);
    uint64_t host_tsc = 30ULL * 2639392000ULL;   /* host up 30 s */
    uint64_t target = 123456789012ULL;
    uint64_t off = tsc_offset_for(target, host_tsc, &actual);

    g_assert_cmpuint(tsc_guest_at(host_tsc, &actual, off), ==, target);
    /* With the host's tolerance and scaling hardware: still 1:1. */
    r.has_tsc_control = true;
    g_assert_cmpuint(tsc_kvm_scaling(&r).ratio, ==, 1ULL << 32);
}

/*
 * The shared time base: TAI when both hosts know their offset, else UTC;
 * the result is the reference instant in this host's CLOCK_TAI.
 */
static void test_time_base(void)
{
    const int64_t s = 1000000000LL;
    const int64_t utc0 = 1795000000LL * s;
    TscTimeBase base;

    /* Both know TAI (37): TAI; the same instant. */
    g_assert_cmpint(tsc_ref_in_local_tai(utc0 + 37 * s, 37, 37, &base), ==,
                    utc0 + 37 * s);
    g_assert_cmpint(base, ==, TSC_TIME_BASE_TAI);
    /* Source 37, here unknown (0): UTC; here CLOCK_TAI == UTC. */
    g_assert_cmpint(tsc_ref_in_local_tai(utc0 + 37 * s, 37, 0, &base), ==,
                    utc0);
    g_assert_cmpint(base, ==, TSC_TIME_BASE_UTC);
    /* Source unknown, here 37: UTC, seen through this host's TAI. */
    g_assert_cmpint(tsc_ref_in_local_tai(utc0, 0, 37, &base), ==,
                    utc0 + 37 * s);
    g_assert_cmpint(base, ==, TSC_TIME_BASE_UTC);
    /* Neither knows: UTC, as is. */
    g_assert_cmpint(tsc_ref_in_local_tai(utc0, 0, 0, &base), ==, utc0);
    g_assert_cmpint(base, ==, TSC_TIME_BASE_UTC);
}

/*
 * A leap second inserted between save and restore: 10 s of real time
 * pass, UTC shows 9 s, TAI 10 s. With both offsets known (37 then 38) the
 * elapsed time is right; with only UTC it is a second short.
 */
static void test_time_base_leap_second(void)
{
    const int64_t s = 1000000000LL;
    const int64_t utc_save = 1798761595LL * s;      /* 23:59:55 UTC */
    const int64_t utc_restore = utc_save + 9 * s;   /* 00:00:04, one leap */
    int64_t ref;
    TscTimeBase base;

    ref = tsc_ref_in_local_tai(utc_save + 37 * s, 37, 38, &base);
    g_assert_cmpint(base, ==, TSC_TIME_BASE_TAI);
    g_assert_cmpint((utc_restore + 38 * s) - ref, ==, 10 * s);
    /* The destination does not know TAI: UTC, 9 s. */
    ref = tsc_ref_in_local_tai(utc_save + 37 * s, 37, 0, &base);
    g_assert_cmpint(base, ==, TSC_TIME_BASE_UTC);
    g_assert_cmpint(utc_restore - ref, ==, 9 * s);
    /* The source did not: UTC, 9 s. */
    ref = tsc_ref_in_local_tai(utc_save, 0, 38, &base);
    g_assert_cmpint(base, ==, TSC_TIME_BASE_UTC);
    g_assert_cmpint((utc_restore + 38 * s) - ref, ==, 9 * s);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/tsc-math/unscaled-identity", test_unscaled_is_identity);
    g_test_add_func("/tsc-math/scaled-value", test_scaled_value);
    g_test_add_func("/tsc-math/offset-round-trip", test_offset_round_trip);
    g_test_add_func("/tsc-math/shared-offset",
                    test_shared_offset_is_bit_identical);
    g_test_add_func("/tsc-math/cycles-from-ns", test_cycles_from_ns);
    g_test_add_func("/tsc-math/ns-cycles-round-trip",
                    test_ns_cycles_round_trip);
    g_test_add_func("/tsc-math/elapsed-policy", test_elapsed_policy);
    g_test_add_func("/tsc-math/pvclock-simple", test_pvclock_simple_scales);
    g_test_add_func("/tsc-math/pvclock-realistic", test_pvclock_realistic);
    g_test_add_func("/tsc-math/kvm-scaling", test_kvm_scaling);
    g_test_add_func("/tsc-math/kvm-scaling-cross-host",
                    test_kvm_scaling_cross_host_offset);
    g_test_add_func("/tsc-math/time-base", test_time_base);
    g_test_add_func("/tsc-math/time-base-leap-second",
                    test_time_base_leap_second);
    return g_test_run();
}

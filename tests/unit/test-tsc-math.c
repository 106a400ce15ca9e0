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
    return g_test_run();
}

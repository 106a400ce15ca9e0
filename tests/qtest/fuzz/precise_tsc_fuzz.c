/*
 * Fuzz target "precise-tsc-stream": the loader of the precise TSC sample,
 * the per-vCPU subsection "cpu/precise-tsc" (target/i386/kvm/
 * precise-tsc-stream.c), fed with what a migration stream could hold.
 *
 * The harness runs under the qtest accelerator, so it sets up what KVM
 * would have given (precise TSC active, the kernel's offsets path, one
 * slot per possible vCPU) and loads the subsection straight through
 * QEMU's VMState code, as the CPU's state does on a real load.
 *
 * An input is a sequence of records: one control byte (bits 0-6 pick the
 * vCPU, bit 7 starts a new load, as a migration or loadvm does) and the
 * subsection's 52 bytes; a shorter last record is a truncated stream.
 * After every record what the loader kept is checked: a load that fails
 * its checks keeps nothing, a sample kept is one whose fields pass them,
 * and each vCPU's own values land in its own slot and nowhere else.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/bswap.h"
#include "hw/core/cpu.h"
#include "hw/boards.h"
#include "io/channel-buffer.h"
#include "migration/vmstate.h"
#include "../migration/qemu-file.h"
#include "../migration/savevm.h"
#include "target/i386/kvm/precise-tsc-int.h"
#include "target/i386/kvm/precise-tsc-vcpu.h"
#include "tests/qtest/libqtest.h"
#include "fuzz.h"

/* flags, khz, ref_tai_ns, tai_offset, kvmclock, bracket, tsc, adjust */
#define SUBSECTION_BYTES (4 + 4 + 8 + 4 + 8 + 8 + 8 + 8)
#define OFF_GUEST_TSC 36
#define OFF_TSC_ADJUST 44
#define CTL_NEW_LOAD 0x80
/* -smp 2,maxcpus=4: slots beyond the present vCPUs exist. */
#define PRECISE_TSC_FUZZ_SLOTS 4

/*
 * Loads one vCPU's subsection; returns vmstate_load_state()'s result.
 * A whole one is followed by a byte that is not QEMU_VM_SUBSECTION, as
 * the rest of a stream would be: at the end of the data the loader's
 * look for a nested subsection would fail the file.
 */
static int load_subsection(CPUState *cs, const uint8_t *buf, size_t len,
                           bool *truncated)
{
    const char next_section = QEMU_VM_EOF;
    QIOChannelBuffer *bioc = qio_channel_buffer_new(len + 1);
    QEMUFile *f;
    int ret;

    qio_channel_write_all(QIO_CHANNEL(bioc), (const char *)buf, len,
                          &error_abort);
    if (len == SUBSECTION_BYTES) {
        qio_channel_write_all(QIO_CHANNEL(bioc), &next_section, 1,
                              &error_abort);
    }
    qio_channel_io_seek(QIO_CHANNEL(bioc), 0, SEEK_SET, &error_abort);
    f = qemu_file_new_input(QIO_CHANNEL(bioc));
    object_unref(OBJECT(bioc));
    /*
     * The subsection's opaque is the X86CPU, whose first member is this
     * CPUState: the same pointer. (target/i386/cpu.h is not reachable
     * from the fuzz targets' build, which has no target include path.)
     */
    ret = vmstate_load_state(f, &vmstate_precise_tsc_vcpu, cs, 1);
    *truncated = qemu_file_get_error(f) != 0;
    qemu_fclose(f);
    return ret;
}

/* What this load should have kept, slot by slot (the fuzzer's model). */
static bool expect_sampled[PRECISE_TSC_FUZZ_SLOTS];
static uint64_t expect_tsc[PRECISE_TSC_FUZZ_SLOTS];
static uint64_t expect_adjust[PRECISE_TSC_FUZZ_SLOTS];

static void expect_nothing(void)
{
    memset(expect_sampled, 0, sizeof(expect_sampled));
}

static void check_kept(CPUState *cs, const uint8_t *buf, int ret,
                       bool truncated)
{
    const PreciseTscState *st = &precise_tsc.state;

    g_assert_cmpuint(st->nr_slots, ==, PRECISE_TSC_FUZZ_SLOTS);
    if (ret < 0 && !truncated) {
        /* Refused by its checks: nothing of this load stays. */
        g_assert_false(precise_tsc.pending);
        g_assert_false(precise_tsc.loaded);
        expect_nothing();
    } else if (ret == 0) {
        /* Taken: the sample is pending, with this record's instant. */
        g_assert_true(precise_tsc.pending && precise_tsc.loaded);
        g_assert_cmphex(st->flags, ==, ldl_be_p(buf));
        g_assert_cmpuint(st->tsc_khz, ==, ldl_be_p(buf + 4));
        g_assert_cmpint(st->ref_tai_ns, ==, (int64_t)ldq_be_p(buf + 8));
        g_assert_cmpint(st->ref_tai_offset_s, ==, (int32_t)ldl_be_p(buf + 16));
        expect_sampled[cs->cpu_index] = true;
        expect_tsc[cs->cpu_index] = ldq_be_p(buf + OFF_GUEST_TSC);
        expect_adjust[cs->cpu_index] = ldq_be_p(buf + OFF_TSC_ADJUST);
    }
    if (!precise_tsc.pending) {
        return;
    }
    g_assert_true(st->flags & PRECISE_TSC_F_VALID);
    g_assert_cmphex(st->flags & ~PRECISE_TSC_F_ALL, ==, 0);
    g_assert_cmpuint(st->tsc_khz, >=, 1);
    g_assert_cmpuint(st->tsc_khz, <=, PRECISE_TSC_MAX_KHZ);
    g_assert_cmpint(st->ref_tai_offset_s, <=, PRECISE_TSC_MAX_TAI_OFFSET);
    g_assert_cmpint(st->ref_tai_offset_s, >=, -PRECISE_TSC_MAX_TAI_OFFSET);
    /* Each vCPU's values in its own slot, and nowhere else. */
    for (int i = 0; i < PRECISE_TSC_FUZZ_SLOTS; i++) {
        g_assert_cmpint(st->sampled[i], ==, expect_sampled[i]);
        if (expect_sampled[i]) {
            g_assert_cmphex(st->guest_tsc[i], ==, expect_tsc[i]);
            g_assert_cmphex(st->tsc_adjust[i], ==, expect_adjust[i]);
        }
    }
}

static void precise_tsc_fuzz(QTestState *s, const unsigned char *data,
                             size_t size)
{
    int nr_cpus = precise_tsc_nr_vcpus();

    precise_tsc_drop_sample();
    expect_nothing();
    while (size > 0) {
        uint8_t ctl = data[0];
        size_t len = MIN(size - 1, SUBSECTION_BYTES);
        CPUState *cs = qemu_get_cpu((ctl & 0x7f) % nr_cpus);
        bool truncated;
        int ret;

        if (ctl & CTL_NEW_LOAD) {
            /* What the load's setup does (precise_tsc_load_setup()). */
            precise_tsc_drop_sample();
            expect_nothing();
        }
        ret = load_subsection(cs, data + 1, len, &truncated);
        check_kept(cs, data + 1, ret, truncated);
        data += 1 + len;
        size -= 1 + len;
    }
    precise_tsc_drop_sample();
}

/* flags, khz, ref_tai_ns, offset, kvmclock, bracket, tsc, adjust */
static void make_subsection(uint8_t *buf, int64_t ref_tai_ns)
{
    stl_be_p(buf, PRECISE_TSC_F_VALID | PRECISE_TSC_F_KVM_PAIR);
    stl_be_p(buf + 4, 2000000);
    stq_be_p(buf + 8, ref_tai_ns);
    stl_be_p(buf + 16, 37);
    stq_be_p(buf + 20, 1000000000);
    stq_be_p(buf + 28, 1000);
    stq_be_p(buf + OFF_GUEST_TSC, 5000000000ULL);
    stq_be_p(buf + OFF_TSC_ADJUST, 0);
}

static void precise_tsc_fuzz_setup(QTestState *s)
{
    uint8_t good[SUBSECTION_BYTES], other[SUBSECTION_BYTES];
    int64_t then = precise_tsc_tai_now() - NANOSECONDS_PER_SECOND;
    bool truncated;

    /* What machine-init-done and the probe set when KVM is there. */
    precise_tsc_state_init(&precise_tsc.state,
                           current_machine->smp.max_cpus);
    precise_tsc.active = true;
    precise_tsc.probed = true;
    precise_tsc.supported = true;

    /*
     * The harness proves it reaches what it checks: a good subsection is
     * kept, and one with another instant drops the whole load.
     */
    make_subsection(good, then);
    make_subsection(other, then + 1);
    g_assert_cmpint(load_subsection(qemu_get_cpu(0), good, sizeof(good),
                                    &truncated), ==, 0);
    g_assert_false(truncated);
    g_assert_true(precise_tsc.pending && precise_tsc_slot_sampled(0));
    g_assert_cmpint(load_subsection(qemu_get_cpu(1), other, sizeof(other),
                                    &truncated), <, 0);
    g_assert_false(truncated);
    g_assert_false(precise_tsc.pending);
    precise_tsc_drop_sample();
}

static GString *precise_tsc_fuzz_cmdline(FuzzTarget *t)
{
    GString *cmd = g_string_new(TARGET_NAME);

    /* Two vCPUs of four possible: slots beyond the present vCPUs exist. */
    g_string_append_printf(cmd, " -machine q35,accel=qtest -nodefaults"
                           " -m 16 -smp 2,maxcpus=%d",
                           PRECISE_TSC_FUZZ_SLOTS);
    return cmd;
}

static const FuzzTarget precise_tsc_fuzz_target = {
    .name = "precise-tsc-stream",
    .description = "The precise TSC sample's loader (cpu/precise-tsc)",
    .get_init_cmdline = precise_tsc_fuzz_cmdline,
    .pre_fuzz = precise_tsc_fuzz_setup,
    .fuzz = precise_tsc_fuzz,
};

static void register_precise_tsc_fuzz_targets(void)
{
    fuzz_add_target(&precise_tsc_fuzz_target);
}

fuzz_target_init(register_precise_tsc_fuzz_targets);

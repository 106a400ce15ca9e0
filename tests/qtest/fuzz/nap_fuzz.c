/*
 * Fuzz target "nap-regs": the nap device's register block (docs/nap.md),
 * the guest-facing side of the device, with the host's requests, wakes
 * and resets interleaved.
 *
 * An input is a sequence of 8-byte actions. Most are guest accesses: any
 * width at any offset of the 4 KiB block, or a 32-bit write of a chosen
 * value to a register that takes one (ACK with the current sequence
 * number or one near it, GUEST_STATE, GUEST_ERROR, TIME_LATCH). The
 * others are what the host does: x-nap-request in every mode,
 * x-nap-wake, a system reset, the machine's S3 wakeup (its reset of
 * type RESET_TYPE_WAKEUP). After every action the device's invariants are
 * checked against the ABI's rules, the bad-access counter to the exact
 * count; a broken one aborts, like a sanitizer report. Every input starts
 * from the same device state, so a finding reproduces alone.
 *
 * The guest entering S3 is not an action: QEMU processes a suspend
 * request in its main loop's exit check, which the fuzzing harness
 * does not run (nor could a guest reach the registers while it sleeps).
 * The napping state is the qtests' (tests/qtest/nap-test.c).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qapi/qapi-commands-nap.h"
#include "qapi/qapi-types-nap.h"
#include "hw/boards.h"
#include "hw/misc/nap.h"
#include "system/runstate.h"
#include "tests/qtest/libqtest.h"
#include "fuzz.h"
#include "hw/misc/qemu-nap-abi.h"

#define NAP_BASE NAP_MMIO_ADDR

enum NapFuzzOp {
    OP_READ,            /* any width, any offset */
    OP_WRITE,           /* any width, any offset, any value */
    OP_WRITE_REG,       /* 32-bit, a register that takes writes */
    OP_REQUEST,         /* x-nap-request */
    OP_WAKE,            /* x-nap-wake */
    OP_SYSTEM_RESET,
    OP_WAKEUP_RESET,    /* what an S3 resume does to the devices */
    OP_MAX
};

/* An action: op, width, offset (le16), value (le32). */
#define ACTION_BYTES 8

static const uint16_t writable_regs[] = {
    NAP_REG_ACK, NAP_REG_GUEST_STATE, NAP_REG_GUEST_ERROR,
    NAP_REG_TIME_LATCH,
};

static uint32_t reg(QTestState *s, uint32_t offset)
{
    return qtest_readl(s, NAP_BASE + offset);
}

static unsigned access_bytes(unsigned width)
{
    return 1 << (width % 4);
}

static void nap_read(QTestState *s, unsigned width, uint64_t addr)
{
    switch (width % 4) {
    case 0:
        qtest_readb(s, addr);
        break;
    case 1:
        qtest_readw(s, addr);
        break;
    case 2:
        qtest_readl(s, addr);
        break;
    default:
        qtest_readq(s, addr);
        break;
    }
}

static void nap_write(QTestState *s, unsigned width, uint64_t addr,
                      uint32_t value)
{
    switch (width % 4) {
    case 0:
        qtest_writeb(s, addr, value);
        break;
    case 1:
        qtest_writew(s, addr, value);
        break;
    case 2:
        qtest_writel(s, addr, value);
        break;
    default:
        qtest_writeq(s, addr, (uint64_t)value << 32 | value);
        break;
    }
}

static void host_request(uint32_t value)
{
    static const NapRequestMode modes[] = {
        NAP_REQUEST_MODE_AUTO, NAP_REQUEST_MODE_NAP,
        NAP_REQUEST_MODE_SLEEP_BUTTON,
    };
    bool has_mode = value & 4;
    /*
     * A long timeout: the device's timer runs on the host's clock, and
     * one that fires in the middle of an input would make the fuzzer
     * non-deterministic. A zero timeout is refused by the command.
     */
    uint32_t timeout_ms = value & 8 ? 0 : 600000;
    Error *err = NULL;

    qmp_x_nap_request(true, timeout_ms, has_mode, modes[value % 3], &err);
    error_free(err);
}

/* Whether a 32-bit access at @offset reaches a register (ABI rules). */
static bool access_ok(unsigned bytes, uint32_t offset)
{
    return bytes == 4 && !(offset & 3) && offset <= NAP_REG_BAD_ACCESSES;
}

/* Whether the device takes @v in register @r now (ABI rules). */
static bool write_taken(QTestState *s, uint32_t r, uint32_t v)
{
    uint32_t error = reg(s, NAP_REG_GUEST_ERROR);

    switch (r) {
    case NAP_REG_ACK:
        return v && v == reg(s, NAP_REG_REQUEST_SEQ);
    case NAP_REG_GUEST_STATE:
        return v <= NAP_GUEST_RESUMED &&
               (v != NAP_GUEST_REFUSED || (error >= 1 && error <= 4095));
    case NAP_REG_GUEST_ERROR:
        return v <= 4095;
    case NAP_REG_TIME_LATCH:
        return v == NAP_TIME_LATCH_NOW;
    }
    return false;
}

/* What must hold between any two actions. */
static void check_invariants(QTestState *s, uint32_t *bad_accesses)
{
    Error *err = NULL;
    NapInfo *info = qmp_x_query_nap(&err);
    uint32_t request = reg(s, NAP_REG_REQUEST);
    uint32_t seq = reg(s, NAP_REG_REQUEST_SEQ);

    g_assert_null(err);
    g_assert_cmphex(reg(s, NAP_REG_MAGIC), ==, NAP_MAGIC);
    g_assert_cmpuint(reg(s, NAP_REG_VERSION), ==, NAP_VERSION);
    /* Nothing here suspends the VM, so it never naps. */
    g_assert_cmpint(info->state, !=, NAP_HOST_STATE_NAPPING);
    g_assert_true(runstate_check(RUN_STATE_RUNNING));
    /* A request shows in the register exactly while it is pending. */
    g_assert_cmpint(info->state == NAP_HOST_STATE_REQUESTED, ==,
                    request != NAP_REQUEST_NONE);
    g_assert_cmpuint(request, <=, NAP_REQUEST_SLEEP_BUTTON);
    g_assert_cmpuint(info->seq, ==, seq);
    g_assert_cmpuint(reg(s, NAP_REG_GUEST_STATE), <=, NAP_GUEST_RESUMED);
    g_assert_cmpuint(reg(s, NAP_REG_GUEST_ERROR), <=, 4095);
    /* Exactly the accesses the ABI's rules refuse were counted. */
    g_assert_cmpuint(info->bad_accesses, ==, *bad_accesses);
    qapi_free_NapInfo(info);
}

/* The guest's registers, to compare across a reset. */
static void guest_regs(QTestState *s, uint32_t *r)
{
    r[0] = reg(s, NAP_REG_ACK);
    r[1] = reg(s, NAP_REG_GUEST_STATE);
    r[2] = reg(s, NAP_REG_GUEST_ERROR);
    r[3] = reg(s, NAP_REG_REQUEST);
}

/*
 * Every input starts from the same device: a system reset leaves what
 * survives resets on purpose (sequence numbers, time latches, the
 * counter), so those are cleared here, where only a fuzzer needs it.
 */
static void nap_fuzz_reset(QTestState *s)
{
    NapState *nap = nap_find();

    qemu_system_reset(SHUTDOWN_CAUSE_HOST_QMP_SYSTEM_RESET);
    flush_events(s);
    nap->request_seq = 0;
    nap->time_seq = 0;
    nap->tai_ns = nap->utc_ns = nap->wake_tai_ns = 0;
    nap->bad_accesses = 0;
}

static void nap_fuzz(QTestState *s, const unsigned char *data, size_t size)
{
    MachineClass *mc = MACHINE_GET_CLASS(current_machine);
    uint32_t bad_accesses = 0;
    uint32_t before[4], after[4];

    nap_fuzz_reset(s);
    for (; size >= ACTION_BYTES; data += ACTION_BYTES, size -= ACTION_BYTES) {
        uint8_t op = data[0], width = data[1];
        unsigned bytes = access_bytes(width);
        /*
         * Inside the block: QEMU's memory core splits an access that
         * crosses the region's end into pieces, each its own access.
         */
        uint16_t offset = lduw_le_p(data + 2) % (NAP_REGION_SIZE - bytes + 1);
        uint32_t value = ldl_le_p(data + 4);

        switch (op % OP_MAX) {
        case OP_READ:
            nap_read(s, width, NAP_BASE + offset);
            bad_accesses += !access_ok(bytes, offset);
            break;
        case OP_WRITE: {
            uint32_t before_bad = reg(s, NAP_REG_BAD_ACCESSES);
            bool taken = access_ok(bytes, offset) &&
                         write_taken(s, offset, value);

            /* The read above is a good access: it counts nothing. */
            g_assert_cmpuint(before_bad, ==, bad_accesses);
            nap_write(s, width, NAP_BASE + offset, value);
            bad_accesses += !taken;
            break;
        }
        case OP_WRITE_REG: {
            uint16_t r = writable_regs[offset % ARRAY_SIZE(writable_regs)];
            uint32_t v = value;

            /* Half the ACKs carry the right number, the rest one near it. */
            if (r == NAP_REG_ACK) {
                v = reg(s, NAP_REG_REQUEST_SEQ) +
                    (width & 1 ? 0 : (int8_t)value);
            }
            bad_accesses += !write_taken(s, r, v);
            qtest_writel(s, NAP_BASE + r, v);
            break;
        }
        case OP_REQUEST:
            host_request(value);
            break;
        case OP_WAKE: {
            Error *err = NULL;

            qmp_x_nap_wake(&err);
            error_free(err);
            break;
        }
        case OP_SYSTEM_RESET:
            qemu_system_reset(SHUTDOWN_CAUSE_HOST_QMP_SYSTEM_RESET);
            flush_events(s);
            /* The guest that wrote them is gone; no request survives. */
            guest_regs(s, after);
            g_assert_cmpuint(after[0] | after[1] | after[2] | after[3], ==,
                             0);
            break;
        case OP_WAKEUP_RESET:
            /* The S3 resume: the bound driver's registers stay. */
            guest_regs(s, before);
            mc->wakeup(current_machine);
            flush_events(s);
            guest_regs(s, after);
            g_assert_cmpmem(before, sizeof(before), after, sizeof(after));
            break;
        }
        flush_events(s);
        check_invariants(s, &bad_accesses);
    }
}

static GString *nap_fuzz_cmdline(FuzzTarget *t)
{
    GString *cmd = g_string_new(TARGET_NAME);

    g_string_append(cmd, " -machine pc,accel=qtest -nodefaults -m 16"
                    " -device nap,id=nap0");
    return cmd;
}

static const FuzzTarget nap_fuzz_target = {
    .name = "nap-regs",
    .description = "The nap device's registers, with host requests, "
                   "wakes and resets interleaved",
    .get_init_cmdline = nap_fuzz_cmdline,
    .fuzz = nap_fuzz,
};

static void register_nap_fuzz_targets(void)
{
    fuzz_add_target(&nap_fuzz_target);
}

fuzz_target_init(register_nap_fuzz_targets);

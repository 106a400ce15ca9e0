/*
 * qtest of the paravirtual nap device (docs/nap.md): registers, guest
 * access validation, the host flow (request, settle, timeout, wake),
 * the time latch, ACPI table presence and migration with nap enabled.
 * No guest code runs: "the guest" is this test writing registers and
 * the ACPI PM1 control register (S3) through qtest.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "libqtest.h"
#include "libqos/fw_cfg.h"
#include "qobject/qdict.h"
#include "qobject/qlist.h"
#include "qobject/qstring.h"
#include "hw/misc/qemu-nap-abi.h"

#define NAP_BASE 0xfeffa000ULL
/* PIIX4: GPE0 status at a fixed port; PM block placed by the "firmware" */
#define PIIX4_GPE0_STS 0xafe0
#define PIIX4_PM_BASE 0xb000
#define PIIX4_PM_DEVFN ((1 << 3) | 3)
/* ICH9 (q35): the LPC bridge holds the PM block's base */
#define ICH9_LPC_DEVFN (31 << 3)
#define ICH9_PM_BASE 0x600
#define PM1_CNT_S3 ((1 << 10) | (1 << 13))     /* SLP_TYP 1, SLP_EN */

#define MACHINE "-machine pc -nodefaults "

static uint32_t nap_rd(QTestState *qts, uint32_t reg)
{
    return qtest_readl(qts, NAP_BASE + reg);
}

static void nap_wr(QTestState *qts, uint32_t reg, uint32_t val)
{
    qtest_writel(qts, NAP_BASE + reg, val);
}

static uint64_t nap_rd64(QTestState *qts, uint32_t lo)
{
    uint64_t low = nap_rd(qts, lo);

    return low | (uint64_t)nap_rd(qts, lo + 4) << 32;
}

static uint64_t host_ns(clockid_t id)
{
    struct timespec ts;

    clock_gettime(id, &ts);
    return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static QDict *query_nap(QTestState *qts)
{
    return qtest_qmp_assert_success_ref(qts,
                                        "{'execute': 'x-query-nap'}");
}

static char *query_nap_str(QTestState *qts, const char *key)
{
    QDict *info = query_nap(qts);
    char *val = g_strdup(qdict_get_str(info, key));

    qobject_unref(info);
    return val;
}

static int64_t query_nap_int(QTestState *qts, const char *key)
{
    QDict *info = query_nap(qts);
    int64_t val = qdict_get_int(info, key);

    qobject_unref(info);
    return val;
}

static char *runstate(QTestState *qts)
{
    QDict *rsp = qtest_qmp_assert_success_ref(qts,
                                              "{'execute': 'query-status'}");
    char *st = g_strdup(qdict_get_str(rsp, "status"));

    qobject_unref(rsp);
    return st;
}

static void assert_runstate(QTestState *qts, const char *want)
{
    g_autofree char *st = runstate(qts);

    g_assert_cmpstr(st, ==, want);
}

/*
 * The event's data, for a caller that owns the returned event. Every
 * NAP_* event names its device: the tests' one nap device is the only
 * one, at "/machine/peripheral/<id>" or "/machine/peripheral-anon/...".
 */
static QDict *wait_event(QTestState *qts, const char *name, QDict **ev)
{
    QDict *data;

    *ev = qtest_qmp_eventwait_ref(qts, name);
    data = qdict_get_qdict(*ev, "data");
    g_assert(g_str_has_prefix(qdict_get_str(data, "qom-path"),
                              "/machine/peripheral"));
    return data;
}

static void wait_event_reason(QTestState *qts, const char *name,
                              const char *key, const char *want)
{
    QDict *ev;
    QDict *data = wait_event(qts, name, &ev);

    g_assert_cmpstr(qdict_get_str(data, key), ==, want);
    qobject_unref(ev);
}

static void pci_cfg_writel(QTestState *qts, int devfn, int reg, uint32_t v)
{
    qtest_outl(qts, 0xcf8, 0x80000000u | devfn << 8 | reg);
    qtest_outl(qts, 0xcfc, v);
}

/* What firmware does on PIIX4: place and enable the ACPI PM block. */
static void piix4_pm_enable(QTestState *qts)
{
    pci_cfg_writel(qts, PIIX4_PM_DEVFN, 0x40, PIIX4_PM_BASE | 1);
    pci_cfg_writel(qts, PIIX4_PM_DEVFN, 0x80, 1);
}

/* What a guest does to enter S3. */
static void guest_enter_s3(QTestState *qts)
{
    qtest_outw(qts, PIIX4_PM_BASE + 4, PM1_CNT_S3);
}

static void wait_runstate(QTestState *qts, const char *want)
{
    for (int i = 0; i < 500; i++) {
        g_autofree char *st = runstate(qts);

        if (!strcmp(st, want)) {
            return;
        }
        g_usleep(10 * 1000);
    }
    assert_runstate(qts, want);
}

static void test_identification(void)
{
    QTestState *qts = qtest_init(MACHINE "-device nap,id=nap0");
    g_autofree char *state = NULL;

    g_assert_cmphex(nap_rd(qts, NAP_REG_MAGIC), ==, NAP_MAGIC);
    g_assert_cmpuint(nap_rd(qts, NAP_REG_VERSION), ==, NAP_VERSION);
    g_assert_cmphex(nap_rd(qts, NAP_REG_FEATURES), ==, NAP_FEATURE_HOST_TIME);
    g_assert_cmpuint(nap_rd(qts, NAP_REG_REQUEST), ==, NAP_REQUEST_NONE);
    g_assert_cmpuint(nap_rd(qts, NAP_REG_REQUEST_SEQ), ==, 0);
    g_assert_cmpuint(nap_rd(qts, NAP_REG_GUEST_STATE), ==, NAP_GUEST_ABSENT);
    g_assert_cmpuint(nap_rd64(qts, NAP_REG_WAKE_TAI_NS_LO), ==, 0);
    g_assert_cmpuint(nap_rd(qts, NAP_REG_BAD_ACCESSES), ==, 0);

    state = query_nap_str(qts, "state");
    g_assert_cmpstr(state, ==, "idle");
    g_assert_cmpint(query_nap_int(qts, "timeout-ms"), ==, 10000);

    /* A second device is refused; a bad timeout is refused. */
    qobject_unref(qtest_qmp_assert_failure_ref(qts,
                  "{'execute': 'device_add', 'arguments': {'driver': 'nap'}}"));
    qobject_unref(qtest_qmp_assert_failure_ref(qts,
                  "{'execute': 'qom-set', 'arguments':"
                  " {'path': '/machine/peripheral/nap0',"
                  " 'property': 'timeout-ms', 'value': 0}}"));
    qtest_qmp_assert_success(qts, "{'execute': 'qom-set', 'arguments':"
                             " {'path': '/machine/peripheral/nap0',"
                             " 'property': 'timeout-ms', 'value': 1234}}");
    g_assert_cmpint(query_nap_int(qts, "timeout-ms"), ==, 1234);
    qtest_quit(qts);
}

static void test_bad_accesses(void)
{
    QTestState *qts = qtest_init(MACHINE "-device nap");
    uint32_t bad = 0;

    /* Wrong widths, misaligned, past the last register: read as 0. */
    g_assert_cmpuint(qtest_readb(qts, NAP_BASE + NAP_REG_MAGIC), ==, 0);
    bad++;
    g_assert_cmpuint(qtest_readw(qts, NAP_BASE + NAP_REG_MAGIC), ==, 0);
    bad++;
    g_assert_cmpuint(qtest_readq(qts, NAP_BASE + NAP_REG_MAGIC), ==, 0);
    bad++;
    g_assert_cmpuint(nap_rd(qts, NAP_REG_MAGIC + 2), ==, 0);
    bad++;
    g_assert_cmpuint(nap_rd(qts, 0x100), ==, 0);
    bad++;
    g_assert_cmpuint(nap_rd(qts, NAP_REGION_SIZE - 4), ==, 0);
    bad++;

    /* Writes a register does not take. */
    nap_wr(qts, NAP_REG_MAGIC, 0);
    nap_wr(qts, NAP_REG_REQUEST, NAP_REQUEST_NAP);
    nap_wr(qts, NAP_REG_REQUEST_SEQ, 7);
    nap_wr(qts, NAP_REG_ACK, 0);                 /* no request yet */
    nap_wr(qts, NAP_REG_ACK, 1);
    nap_wr(qts, NAP_REG_GUEST_STATE, 5);
    nap_wr(qts, NAP_REG_GUEST_STATE, 0xffffffff);
    nap_wr(qts, NAP_REG_GUEST_STATE, NAP_GUEST_REFUSED); /* no errno */
    nap_wr(qts, NAP_REG_GUEST_ERROR, 4096);
    nap_wr(qts, NAP_REG_TIME_LATCH, 2);
    nap_wr(qts, NAP_REG_WAKE_TAI_NS_LO, 1);
    nap_wr(qts, NAP_REG_BAD_ACCESSES, 0);
    qtest_writeb(qts, NAP_BASE + NAP_REG_GUEST_STATE, NAP_GUEST_READY);
    qtest_writeq(qts, NAP_BASE + NAP_REG_GUEST_STATE, NAP_GUEST_READY);
    bad += 14;

    g_assert_cmpuint(nap_rd(qts, NAP_REG_BAD_ACCESSES), ==, bad);
    g_assert_cmpint(query_nap_int(qts, "bad-accesses"), ==, bad);
    /* Nothing they tried took effect; the device and VM are fine. */
    g_assert_cmphex(nap_rd(qts, NAP_REG_MAGIC), ==, NAP_MAGIC);
    g_assert_cmpuint(nap_rd(qts, NAP_REG_REQUEST), ==, NAP_REQUEST_NONE);
    g_assert_cmpuint(nap_rd(qts, NAP_REG_REQUEST_SEQ), ==, 0);
    g_assert_cmpuint(nap_rd(qts, NAP_REG_GUEST_STATE), ==, NAP_GUEST_ABSENT);
    g_assert_cmpuint(nap_rd(qts, NAP_REG_GUEST_ERROR), ==, 0);
    g_assert_cmpuint(nap_rd(qts, NAP_REG_TIME_SEQ), ==, 0);
    assert_runstate(qts, "running");

    /* Valid writes still work. */
    nap_wr(qts, NAP_REG_GUEST_ERROR, 4095);
    nap_wr(qts, NAP_REG_GUEST_STATE, NAP_GUEST_REFUSED);
    g_assert_cmpuint(nap_rd(qts, NAP_REG_GUEST_STATE), ==, NAP_GUEST_REFUSED);
    g_assert_cmpuint(nap_rd(qts, NAP_REG_BAD_ACCESSES), ==, bad);
    qtest_quit(qts);
}

static void test_request_gpe(void)
{
    QTestState *qts = qtest_init(MACHINE "-device nap");
    QDict *ev, *data;

    g_assert_cmpuint(qtest_inb(qts, PIIX4_GPE0_STS) & 0x80, ==, 0);
    qtest_qmp_assert_success(qts, "{'execute': 'x-nap-request',"
                             " 'arguments': {'timeout-ms': 60000}}");
    data = wait_event(qts, "NAP_REQUESTED", &ev);
    g_assert_cmpint(qdict_get_int(data, "seq"), ==, 1);
    /* No driver reported ready: the sleep button is pressed instead. */
    g_assert_cmpstr(qdict_get_str(data, "mode"), ==, "sleep-button");
    g_assert_cmpstr(qdict_get_str(data, "trigger"), ==, "qmp");
    g_assert_cmpint(qdict_get_int(data, "timeout-ms"), ==, 60000);
    qobject_unref(ev);

    g_assert_cmpuint(qtest_inb(qts, PIIX4_GPE0_STS) & 0x80, ==, 0x80);
    g_assert_cmpuint(nap_rd(qts, NAP_REG_REQUEST), ==,
                     NAP_REQUEST_SLEEP_BUTTON);
    g_assert_cmpuint(nap_rd(qts, NAP_REG_REQUEST_SEQ), ==, 1);
    {
        g_autofree char *st = query_nap_str(qts, "state");
        g_assert_cmpstr(st, ==, "requested");
    }
    /* One request at a time. */
    qobject_unref(qtest_qmp_assert_failure_ref(qts,
                  "{'execute': 'x-nap-request'}"));

    /* x-nap-wake withdraws it. */
    qtest_qmp_assert_success(qts, "{'execute': 'x-nap-wake'}");
    wait_event_reason(qts, "NAP_UNSETTLED", "reason", "cancelled");
    g_assert_cmpuint(nap_rd(qts, NAP_REG_REQUEST), ==, NAP_REQUEST_NONE);
    /* Nothing left to wake. */
    qobject_unref(qtest_qmp_assert_failure_ref(qts,
                  "{'execute': 'x-nap-wake'}"));

    /* Explicit mode: the driver path, sequence grows. */
    qtest_outb(qts, PIIX4_GPE0_STS, 0x80);      /* guest clears status */
    g_assert_cmpuint(qtest_inb(qts, PIIX4_GPE0_STS) & 0x80, ==, 0);
    qtest_qmp_assert_success(qts, "{'execute': 'x-nap-request',"
                             " 'arguments': {'mode': 'nap'}}");
    wait_event_reason(qts, "NAP_REQUESTED", "mode", "nap");
    g_assert_cmpuint(nap_rd(qts, NAP_REG_REQUEST), ==, NAP_REQUEST_NAP);
    g_assert_cmpuint(nap_rd(qts, NAP_REG_REQUEST_SEQ), ==, 2);
    g_assert_cmpuint(qtest_inb(qts, PIIX4_GPE0_STS) & 0x80, ==, 0x80);
    qtest_quit(qts);
}

static void test_ack_and_refusal(void)
{
    QTestState *qts = qtest_init(MACHINE "-device nap");
    QDict *ev, *data;

    nap_wr(qts, NAP_REG_GUEST_STATE, NAP_GUEST_READY);
    qtest_qmp_assert_success(qts, "{'execute': 'x-nap-request',"
                             " 'arguments': {'timeout-ms': 60000}}");
    wait_event_reason(qts, "NAP_REQUESTED", "mode", "nap");
    g_assert_cmpuint(nap_rd(qts, NAP_REG_REQUEST), ==, NAP_REQUEST_NAP);

    nap_wr(qts, NAP_REG_ACK, 2);                /* not the current seq */
    g_assert_cmpuint(nap_rd(qts, NAP_REG_ACK), ==, 0);
    g_assert_cmpuint(nap_rd(qts, NAP_REG_BAD_ACCESSES), ==, 1);
    nap_wr(qts, NAP_REG_ACK, 1);
    g_assert_cmpuint(nap_rd(qts, NAP_REG_ACK), ==, 1);
    nap_wr(qts, NAP_REG_GUEST_STATE, NAP_GUEST_SUSPENDING);
    g_assert_cmpuint(nap_rd(qts, NAP_REG_GUEST_STATE), ==,
                     NAP_GUEST_SUSPENDING);

    /* The driver refuses: the host stops waiting at once. */
    nap_wr(qts, NAP_REG_GUEST_ERROR, 16);
    nap_wr(qts, NAP_REG_GUEST_STATE, NAP_GUEST_REFUSED);
    data = wait_event(qts, "NAP_UNSETTLED", &ev);
    g_assert_cmpstr(qdict_get_str(data, "reason"), ==, "refused");
    g_assert_cmpstr(qdict_get_str(data, "guest-state"), ==, "refused");
    g_assert_cmpint(qdict_get_int(data, "elapsed-ms"), <, 60000);
    qobject_unref(ev);
    g_assert_cmpuint(nap_rd(qts, NAP_REG_REQUEST), ==, NAP_REQUEST_NONE);
    g_assert_cmpint(query_nap_int(qts, "guest-error"), ==, 16);
    g_assert_cmpuint(nap_rd(qts, NAP_REG_BAD_ACCESSES), ==, 1);
    qtest_quit(qts);
}

static void test_timeout(void)
{
    QTestState *qts = qtest_init(MACHINE "-device nap");
    QDict *ev, *data;
    g_autofree char *st = NULL;

    qtest_qmp_assert_success(qts, "{'execute': 'x-nap-request',"
                             " 'arguments': {'timeout-ms': 300}}");
    data = wait_event(qts, "NAP_UNSETTLED", &ev);
    g_assert_cmpstr(qdict_get_str(data, "reason"), ==, "timeout");
    g_assert_cmpstr(qdict_get_str(data, "guest-state"), ==, "absent");
    g_assert_cmpint(qdict_get_int(data, "elapsed-ms"), >=, 300);
    g_assert_cmpint(qdict_get_int(data, "elapsed-ms"), <, 10000);
    qobject_unref(ev);
    g_assert_cmpuint(nap_rd(qts, NAP_REG_REQUEST), ==, NAP_REQUEST_NONE);
    st = query_nap_str(qts, "state");
    g_assert_cmpstr(st, ==, "idle");
    assert_runstate(qts, "running");
    qtest_quit(qts);
}

static void test_settle_and_wake(void)
{
    QTestState *qts = qtest_init(MACHINE "-device nap");
    QDict *ev, *data;
    uint64_t before, wake_tai;

    piix4_pm_enable(qts);
    nap_wr(qts, NAP_REG_GUEST_STATE, NAP_GUEST_READY);
    qtest_qmp_assert_success(qts, "{'execute': 'x-nap-request'}");
    wait_event_reason(qts, "NAP_REQUESTED", "mode", "nap");
    nap_wr(qts, NAP_REG_ACK, 1);
    nap_wr(qts, NAP_REG_GUEST_STATE, NAP_GUEST_SUSPENDING);
    guest_enter_s3(qts);
    data = wait_event(qts, "NAP_SETTLED", &ev);
    g_assert_cmpint(qdict_get_int(data, "seq"), ==, 1);
    qobject_unref(ev);
    wait_runstate(qts, "suspended");
    {
        g_autofree char *st = query_nap_str(qts, "state");
        g_assert_cmpstr(st, ==, "napping");
    }
    g_assert_cmpuint(nap_rd(qts, NAP_REG_REQUEST), ==, NAP_REQUEST_NONE);

    before = host_ns(CLOCK_TAI);
    qtest_qmp_assert_success(qts, "{'execute': 'x-nap-wake'}");
    data = wait_event(qts, "NAP_WAKE", &ev);
    wake_tai = qdict_get_int(data, "wake-tai-ns");
    qobject_unref(ev);
    wait_runstate(qts, "running");

    /* The latch holds host TAI of the wake, also in the registers. */
    g_assert_cmpuint(wake_tai, >=, before);
    g_assert_cmpuint(wake_tai, <, host_ns(CLOCK_TAI));
    g_assert_cmpuint(nap_rd64(qts, NAP_REG_WAKE_TAI_NS_LO), ==, wake_tai);
    /* The S3 resume reset kept what the driver wrote. */
    g_assert_cmpuint(nap_rd(qts, NAP_REG_GUEST_STATE), ==,
                     NAP_GUEST_SUSPENDING);
    g_assert_cmpuint(nap_rd(qts, NAP_REG_ACK), ==, 1);

    /* A plain system reset does not. */
    qtest_qmp_assert_success(qts, "{'execute': 'system_reset'}");
    qtest_qmp_eventwait(qts, "RESET");
    g_assert_cmpuint(nap_rd(qts, NAP_REG_GUEST_STATE), ==, NAP_GUEST_ABSENT);
    qtest_quit(qts);
}

/*
 * system_reset of a guest napping for the host: the reboot ends the nap.
 * The device is idle with no driver bound, a later request works, and a
 * reset while a request is pending withdraws it (reason cancelled).
 */
static void test_reset_while_napping(void)
{
    QTestState *qts = qtest_init(MACHINE "-device nap,id=nap0");
    g_autofree char *st = NULL, *guest = NULL, *rs = NULL;

    piix4_pm_enable(qts);
    nap_wr(qts, NAP_REG_GUEST_STATE, NAP_GUEST_READY);
    qtest_qmp_assert_success(qts, "{'execute': 'x-nap-request'}");
    qtest_qmp_eventwait(qts, "NAP_REQUESTED");
    nap_wr(qts, NAP_REG_ACK, 1);
    nap_wr(qts, NAP_REG_GUEST_STATE, NAP_GUEST_SUSPENDING);
    guest_enter_s3(qts);
    qtest_qmp_eventwait(qts, "NAP_SETTLED");
    wait_runstate(qts, "suspended");

    qtest_qmp_assert_success(qts, "{'execute': 'system_reset'}");
    qtest_qmp_eventwait(qts, "RESET");
    /* QEMU leaves a reset suspended VM in prelaunch. */
    rs = runstate(qts);
    if (strcmp(rs, "running")) {
        qtest_qmp_assert_success(qts, "{'execute': 'cont'}");
    }
    wait_runstate(qts, "running");
    st = query_nap_str(qts, "state");
    guest = query_nap_str(qts, "guest-state");
    g_assert_cmpstr(st, ==, "idle");
    g_assert_cmpstr(guest, ==, "absent");
    g_assert_cmpuint(nap_rd(qts, NAP_REG_GUEST_STATE), ==, NAP_GUEST_ABSENT);
    g_assert_cmpuint(nap_rd(qts, NAP_REG_ACK), ==, 0);

    /* The rebooted guest's driver binds again and a new request works. */
    nap_wr(qts, NAP_REG_GUEST_STATE, NAP_GUEST_READY);
    qtest_qmp_assert_success(qts, "{'execute': 'x-nap-request'}");
    wait_event_reason(qts, "NAP_REQUESTED", "mode", "nap");
    qtest_qmp_assert_success(qts, "{'execute': 'system_reset'}");
    wait_event_reason(qts, "NAP_UNSETTLED", "reason", "cancelled");
    qtest_qmp_eventwait(qts, "RESET");
    g_free(st);
    st = query_nap_str(qts, "state");
    g_assert_cmpstr(st, ==, "idle");
    qtest_quit(qts);
}

/*
 * q35: the S3 resume reset unmaps the ACPI PM block (ICH9 PMBASE), and
 * SeaBIOS does not map it again; with the nap device the LPC keeps it
 * (hook patch 0017), so a second nap reaches the guest (GPE) and the
 * guest can enter S3 again.
 */
static void test_q35_second_nap(void)
{
    QTestState *qts = qtest_init("-machine q35 -nodefaults -device nap");

    pci_cfg_writel(qts, ICH9_LPC_DEVFN, 0x40, ICH9_PM_BASE | 1);
    pci_cfg_writel(qts, ICH9_LPC_DEVFN, 0x44, 0x80);
    nap_wr(qts, NAP_REG_GUEST_STATE, NAP_GUEST_READY);
    for (int seq = 1; seq <= 2; seq++) {
        QDict *ev, *data;

        qtest_outb(qts, ICH9_PM_BASE + 0x20, 0xff);     /* clear status */
        qtest_qmp_assert_success(qts, "{'execute': 'x-nap-request',"
                                 " 'arguments': {'timeout-ms': 60000}}");
        data = wait_event(qts, "NAP_REQUESTED", &ev);
        g_assert_cmpint(qdict_get_int(data, "seq"), ==, seq);
        qobject_unref(ev);
        /* Exactly bit 7: an unmapped block would read 0xff. */
        g_assert_cmphex(qtest_inb(qts, ICH9_PM_BASE + 0x20), ==, 0x80);
        qtest_outw(qts, ICH9_PM_BASE + 4, PM1_CNT_S3);
        qtest_qmp_eventwait(qts, "NAP_SETTLED");
        wait_runstate(qts, "suspended");
        qtest_qmp_assert_success(qts, "{'execute': 'x-nap-wake'}");
        qtest_qmp_eventwait(qts, "NAP_WAKE");
        wait_runstate(qts, "running");
    }
    /* The LPC kept the block (patch 0017); a system reset does not. */
    qtest_outb(qts, ICH9_PM_BASE + 0x20, 0xff);
    g_assert_cmphex(qtest_inb(qts, ICH9_PM_BASE + 0x20), ==, 0x00);
    qtest_qmp_assert_success(qts, "{'execute': 'system_reset'}");
    qtest_qmp_eventwait(qts, "RESET");
    g_assert_cmphex(qtest_inb(qts, ICH9_PM_BASE + 0x20), ==, 0xff);
    qtest_quit(qts);
}

/*
 * Without the nap device the LPC resets its PM block on S3 resume as in
 * QEMU 10.0: a stock q35 guest sees stock behaviour.
 */
static void test_q35_stock_wakeup(void)
{
    QTestState *qts = qtest_init("-machine q35 -nodefaults");

    pci_cfg_writel(qts, ICH9_LPC_DEVFN, 0x40, ICH9_PM_BASE | 1);
    pci_cfg_writel(qts, ICH9_LPC_DEVFN, 0x44, 0x80);
    qtest_outb(qts, ICH9_PM_BASE + 0x20, 0xff);
    g_assert_cmphex(qtest_inb(qts, ICH9_PM_BASE + 0x20), ==, 0x00);
    qtest_outw(qts, ICH9_PM_BASE + 4, PM1_CNT_S3);
    wait_runstate(qts, "suspended");
    qtest_qmp_assert_success(qts, "{'execute': 'system_wakeup'}");
    /* RUNNING comes with the request; the wakeup reset, then WAKEUP. */
    qtest_qmp_eventwait(qts, "WAKEUP");
    wait_runstate(qts, "running");
    g_assert_cmphex(qtest_inb(qts, ICH9_PM_BASE + 0x20), ==, 0xff);
    qtest_quit(qts);
}

static void test_time_latch(void)
{
    QTestState *qts = qtest_init(MACHINE "-device nap");
    uint64_t tai_before, tai_after, utc_before, utc_after, tai, utc;

    tai_before = host_ns(CLOCK_TAI);
    utc_before = host_ns(CLOCK_REALTIME);
    nap_wr(qts, NAP_REG_TIME_LATCH, NAP_TIME_LATCH_NOW);
    tai_after = host_ns(CLOCK_TAI);
    utc_after = host_ns(CLOCK_REALTIME);
    g_assert_cmpuint(nap_rd(qts, NAP_REG_TIME_SEQ), ==, 1);
    tai = nap_rd64(qts, NAP_REG_TAI_NS_LO);
    utc = nap_rd64(qts, NAP_REG_UTC_NS_LO);
    g_test_message("latch: TAI %" PRIu64 " UTC %" PRIu64 " TAI-UTC %"
                   PRId64 " ns; round trip %" PRIu64 " ns", tai, utc,
                   (int64_t)(tai - utc), tai_after - tai_before);
    g_assert_cmpuint(tai, >=, tai_before);
    g_assert_cmpuint(tai, <=, tai_after);
    g_assert_cmpuint(utc, >=, utc_before);
    g_assert_cmpuint(utc, <=, utc_after);
    nap_wr(qts, NAP_REG_TIME_LATCH, NAP_TIME_LATCH_NOW);
    g_assert_cmpuint(nap_rd(qts, NAP_REG_TIME_SEQ), ==, 2);
    g_assert_cmpuint(nap_rd64(qts, NAP_REG_TAI_NS_LO), >, tai);
    qtest_quit(qts);
}

/*
 * The machine's ACPI tables (fw_cfg "etc/acpi/tables"), read once: fw_cfg
 * is read byte by byte through the qtest protocol, which is slow (under
 * ASan it took minutes for this test when every needle read the file).
 */
static GBytes *acpi_tables(QTestState *qts)
{
    QFWCFG *fw_cfg = pc_fw_cfg_init(qts);
    size_t len = qfw_cfg_get_file(fw_cfg, "etc/acpi/tables", NULL, 0);
    char *buf = g_malloc0(len);

    g_assert_cmpuint(len, >, 0);
    qfw_cfg_get_file(fw_cfg, "etc/acpi/tables", buf, len);
    pc_fw_cfg_uninit(fw_cfg);
    return g_bytes_new_take(buf, len);
}

static bool contains(GBytes *tables, const char *needle)
{
    size_t len;
    const void *data = g_bytes_get_data(tables, &len);

    return memmem(data, len, needle, strlen(needle)) != NULL;
}

static void test_acpi_tables(void)
{
    static const char *const machines[] = { "pc", "q35" };

    for (int i = 0; i < ARRAY_SIZE(machines); i++) {
        QTestState *with = qtest_initf("-machine %s -nodefaults -device nap",
                                       machines[i]);
        QTestState *without = qtest_initf("-machine %s -nodefaults",
                                          machines[i]);
        g_autoptr(GBytes) with_tables = acpi_tables(with);
        g_autoptr(GBytes) without_tables = acpi_tables(without);

        g_assert_true(contains(with_tables, "QEMUNAP"));
        g_assert_true(contains(with_tables, NAP_ACPI_HID));
        g_assert_true(contains(with_tables, "PNP0C0E"));
        g_assert_true(contains(with_tables, "_E07"));
        g_assert_false(contains(without_tables, "QEMUNAP"));
        g_assert_false(contains(without_tables, NAP_ACPI_HID));
        g_assert_false(contains(without_tables, "_E07"));
        qobject_unref(qtest_qmp_assert_failure_ref(without,
                      "{'execute': 'x-query-nap'}"));
        qtest_quit(with);
        qtest_quit(without);
    }
}

/*
 * The names of the regions of the flattened "memory" address space that
 * overlap the nap register block, space-separated ("" if none).
 */
static char *regions_over_nap_block(QTestState *qts)
{
    g_autofree char *out = qtest_hmp(qts, "info mtree -f");
    g_auto(GStrv) lines = g_strsplit(out, "\n", -1);
    GString *names = g_string_new("");
    bool in_memory = false;

    for (int i = 0; lines[i]; i++) {
        uint64_t lo, hi;
        const char *name;

        if (g_str_has_prefix(lines[i], "FlatView #")) {
            in_memory = false;
        } else if (strstr(lines[i], "AS \"memory\"")) {
            in_memory = true;
        } else if (in_memory &&
                   sscanf(lines[i], " %" SCNx64 "-%" SCNx64, &lo, &hi) == 2 &&
                   lo < NAP_BASE + NAP_REGION_SIZE && hi >= NAP_BASE) {
            name = strstr(lines[i], "): ");
            g_string_append_printf(names, "%s%s", names->len ? " " : "",
                                   name ? name + 3 : lines[i]);
        }
    }
    return g_string_free(names, false);
}

/*
 * The register block's address (docs/specs/fork-identifiers.rst) is
 * unassigned on pc and q35 without the device, with their default
 * devices; with it, the block is the nap device's alone.
 */
static void test_no_overlap(void)
{
    static const char *const machines[] = { "pc", "q35" };

    for (int i = 0; i < ARRAY_SIZE(machines); i++) {
        QTestState *without = qtest_initf("-machine %s", machines[i]);
        QTestState *with = qtest_initf("-machine %s -device nap",
                                       machines[i]);
        g_autofree char *there = regions_over_nap_block(without);
        g_autofree char *ours = regions_over_nap_block(with);

        g_test_message("%s: without nap '%s', with nap '%s'", machines[i],
                       there, ours);
        g_assert_cmpstr(there, ==, "");
        g_assert_nonnull(strstr(ours, "nap-regs"));
        g_assert_null(strchr(ours, ' '));
        qtest_quit(with);
        qtest_quit(without);
    }
}

static void migrate_start(QTestState *src, QTestState *dst, const char *uri)
{
    qtest_qmp_assert_success(dst, "{'execute': 'migrate-incoming',"
                             " 'arguments': {'uri': %s}}", uri);
    qtest_qmp_assert_success(src, "{'execute': 'migrate',"
                             " 'arguments': {'uri': %s}}", uri);
}

static char *migration_status(QTestState *qts)
{
    QDict *rsp = qtest_qmp_assert_success_ref(qts,
                                              "{'execute': 'query-migrate'}");
    char *st = g_strdup(qdict_haskey(rsp, "status") ?
                        qdict_get_str(rsp, "status") : "none");

    qobject_unref(rsp);
    return st;
}

static void wait_migration(QTestState *qts, const char *want)
{
    for (int i = 0; i < 6000; i++) {
        g_autofree char *st = migration_status(qts);

        if (!strcmp(st, want)) {
            return;
        }
        g_assert_cmpstr(st, !=, "failed");
        g_usleep(20 * 1000);
    }
    g_assert_not_reached();
}

/*
 * What a management layer does before a migration whose destination starts
 * later (docs/nap.md): ask for the nap; migrate itself never asks.
 */
static void request_nap(QTestState *qts, int timeout_ms)
{
    qtest_qmp_assert_success(qts, "{'execute': 'x-nap-request', 'arguments':"
                             " {'timeout-ms': %d, 'mode': 'nap'}}",
                             timeout_ms);
}

/* The guest (this test) answers request 1 and enters S3. */
static void settle_request(QTestState *qts)
{
    wait_event_reason(qts, "NAP_REQUESTED", "trigger", "qmp");
    nap_wr(qts, NAP_REG_ACK, 1);
    guest_enter_s3(qts);
    qtest_qmp_eventwait(qts, "NAP_SETTLED");
}

static void remove_tmp(const char *tmp)
{
    g_autofree char *state = g_strdup_printf("%s/state", tmp);
    g_autofree char *sock = g_strdup_printf("%s/sock", tmp);

    unlink(state);
    unlink(sock);
    rmdir(tmp);
}

/*
 * migrate does not ask the guest to nap; a request still pending when
 * the VM migrates travels and waits again on the destination.
 */
static void test_migrate_pending(gconstpointer uri_fmt)
{
    g_autofree char *tmp = g_dir_make_tmp("nap-test-XXXXXX", NULL);
    g_autofree char *uri = g_strdup_printf(uri_fmt, tmp);
    bool to_file = g_str_has_prefix(uri, "file:");
    QTestState *src = qtest_init(MACHINE "-device nap,id=nap0");
    QTestState *dst = qtest_init(MACHINE "-device nap,id=nap0"
                                 " -incoming defer");
    g_autofree char *state = NULL;
    QDict *ev, *data;

    request_nap(src, 30000);
    wait_event_reason(src, "NAP_REQUESTED", "trigger", "qmp");
    if (to_file) {
        qtest_qmp_assert_success(src, "{'execute': 'migrate',"
                                 " 'arguments': {'uri': %s}}", uri);
    } else {
        migrate_start(src, dst, uri);
    }
    wait_migration(src, "completed");
    /* No request of the migration's own: still the first one. */
    g_assert_cmpint(query_nap_int(src, "seq"), ==, 1);
    if (to_file) {
        qtest_qmp_assert_success(dst, "{'execute': 'migrate-incoming',"
                                 " 'arguments': {'uri': %s}}", uri);
    }
    qtest_qmp_eventwait(dst, "RESUME");
    wait_runstate(dst, "running");
    /* The device's state came along, the request waits here now. */
    state = query_nap_str(dst, "state");
    g_assert_cmpstr(state, ==, "requested");
    g_assert_cmpuint(nap_rd(dst, NAP_REG_REQUEST_SEQ), ==, 1);
    g_assert_cmpuint(nap_rd(dst, NAP_REG_REQUEST), ==, NAP_REQUEST_NAP);
    qtest_qmp_assert_success(dst, "{'execute': 'x-nap-wake'}");
    data = wait_event(dst, "NAP_UNSETTLED", &ev);
    g_assert_cmpstr(qdict_get_str(data, "reason"), ==, "cancelled");
    g_assert_cmpint(qdict_get_int(data, "seq"), ==, 1);
    qobject_unref(ev);
    g_assert_cmpuint(nap_rd(dst, NAP_REG_REQUEST), ==, NAP_REQUEST_NONE);
    qtest_quit(src);
    qtest_quit(dst);
    remove_tmp(tmp);
}

/*
 * The migration contract with stock QEMU 10.0 (docs/nap.md): a VM without
 * the nap device migrates to it (the fork adds nothing to its stream); a
 * VM with the device does not, and the source keeps running. The stock
 * binary comes from QTEST_QEMU_BINARY_STOCK (tests/nap-qtest.sh sets it to
 * build/qemu-stock). Both on pc-i440fx-10.0, a type stock also has.
 */
static void test_migrate_to_stock(void)
{
    static const bool with_nap[] = { false, true };

    if (!getenv("QTEST_QEMU_BINARY_STOCK")) {
        g_test_message("QTEST_QEMU_BINARY_STOCK is not set: no stock "
                       "QEMU 10.0 to migrate to (make stock-qemu)");
        g_test_fail();
        return;
    }
    for (int i = 0; i < ARRAY_SIZE(with_nap); i++) {
        g_autofree char *tmp = g_dir_make_tmp("nap-test-XXXXXX", NULL);
        g_autofree char *uri = g_strdup_printf("unix:%s/sock", tmp);
        QTestState *src = qtest_initf("-machine pc-i440fx-10.0 -nodefaults%s",
                                      with_nap[i] ? " -device nap,id=nap0"
                                                  : "");
        QTestState *dst = qtest_init_with_env("QTEST_QEMU_BINARY_STOCK",
                                              "-machine pc-i440fx-10.0"
                                              " -nodefaults -incoming defer",
                                              true);
        g_autofree char *st = NULL;

        /* With the return path the source learns of a failed load. */
        qtest_qmp_assert_success(src, "{'execute': "
                                 "'migrate-set-capabilities', 'arguments':"
                                 " {'capabilities': [{'capability':"
                                 " 'return-path', 'state': true}]}}");
        qtest_qmp_assert_success(dst, "{'execute': "
                                 "'migrate-set-capabilities', 'arguments':"
                                 " {'capabilities': [{'capability':"
                                 " 'return-path', 'state': true}]}}");
        migrate_start(src, dst, uri);
        for (int n = 0; n < 3000; n++) {
            g_free(st);
            st = migration_status(src);
            if (!strcmp(st, "completed") || !strcmp(st, "failed")) {
                break;
            }
            g_usleep(20 * 1000);
        }
        g_test_message("fork %s nap -> stock: %s", with_nap[i] ? "with" :
                       "without", st);
        if (with_nap[i]) {
            /* Stock's load fails on the unknown section and exits. */
            qtest_set_expected_status(dst, 1);
            g_assert_cmpstr(st, ==, "failed");
            /* FAILED is set before the source's VM is started again. */
            wait_runstate(src, "running");
        } else {
            g_assert_cmpstr(st, ==, "completed");
            qtest_qmp_eventwait(dst, "RESUME");
            wait_runstate(dst, "running");
        }
        qtest_quit(src);
        qtest_quit(dst);
        remove_tmp(tmp);
    }
}

/* The guest naps, then migrates; the destination wakes it when it starts. */
static void test_migrate_settle_wake(void)
{
    g_autofree char *tmp = g_dir_make_tmp("nap-test-XXXXXX", NULL);
    g_autofree char *uri = g_strdup_printf("unix:%s/sock", tmp);
    QTestState *src = qtest_init(MACHINE "-device nap,id=nap0");
    QTestState *dst = qtest_init(MACHINE "-device nap,id=nap0"
                                 " -incoming defer");
    QDict *ev, *data;

    piix4_pm_enable(src);
    nap_wr(src, NAP_REG_GUEST_STATE, NAP_GUEST_READY);
    request_nap(src, 30000);
    settle_request(src);
    migrate_start(src, dst, uri);
    wait_migration(src, "completed");

    data = wait_event(dst, "NAP_WAKE", &ev);
    g_assert_cmpint(qdict_get_int(data, "seq"), ==, 1);
    g_assert_cmpuint(qdict_get_int(data, "wake-tai-ns"), ==,
                     nap_rd64(dst, NAP_REG_WAKE_TAI_NS_LO));
    qobject_unref(ev);
    wait_runstate(dst, "running");
    g_assert_cmpuint(nap_rd(dst, NAP_REG_GUEST_STATE), ==, NAP_GUEST_READY);
    qtest_quit(src);
    qtest_quit(dst);
    remove_tmp(tmp);
}

/* Cancelled after the guest napped: the source wakes it. */
static void test_migrate_cancel_wakes(void)
{
    g_autofree char *tmp = g_dir_make_tmp("nap-test-XXXXXX", NULL);
    g_autofree char *uri = g_strdup_printf("unix:%s/sock", tmp);
    QTestState *src = qtest_init(MACHINE "-m 256 -device nap,id=nap0");
    QTestState *dst = qtest_init(MACHINE "-m 256 -device nap,id=nap0"
                                 " -incoming defer");

    piix4_pm_enable(src);
    nap_wr(src, NAP_REG_GUEST_STATE, NAP_GUEST_READY);
    request_nap(src, 30000);
    settle_request(src);
    /* Slow enough to still be running when cancelled. */
    qtest_qmp_assert_success(src, "{'execute': 'migrate-set-parameters',"
                             " 'arguments': {'max-bandwidth': 100000}}");
    migrate_start(src, dst, uri);
    wait_migration(src, "active");
    assert_runstate(src, "suspended");
    qtest_qmp_assert_success(src, "{'execute': 'migrate_cancel'}");
    qtest_qmp_eventwait(src, "NAP_WAKE");
    wait_runstate(src, "running");
    qtest_quit(src);
    /* The destination gives up on the cut stream. */
    qtest_set_expected_status(dst, 1);
    qtest_quit(dst);
    remove_tmp(tmp);
}

#define RETURN_PATH_ON "{'execute': 'migrate-set-capabilities'," \
    " 'arguments': {'capabilities': [{'capability': 'return-path'," \
    " 'state': true}]}}"

/*
 * The destination refuses the stream (it has no nap device, so the
 * section "nap" is unknown to it): with the return path the source's
 * migration fails, its VM goes on and the napping guest is woken (by
 * the migration notifier and by QEMU starting the stopped VM again).
 */
static void test_migrate_refused_wakes(void)
{
    g_autofree char *tmp = g_dir_make_tmp("nap-test-XXXXXX", NULL);
    g_autofree char *uri = g_strdup_printf("unix:%s/sock", tmp);
    QTestState *src = qtest_init(MACHINE "-device nap,id=nap0");
    QTestState *dst = qtest_init(MACHINE "-incoming defer");
    g_autofree char *state = NULL;
    g_autofree char *mig = NULL;

    piix4_pm_enable(src);
    nap_wr(src, NAP_REG_GUEST_STATE, NAP_GUEST_READY);
    request_nap(src, 30000);
    settle_request(src);
    qtest_qmp_assert_success(src, RETURN_PATH_ON);
    qtest_qmp_assert_success(dst, RETURN_PATH_ON);
    migrate_start(src, dst, uri);
    qtest_qmp_eventwait(src, "NAP_WAKE");
    /* FAILED is set before either wakes the guest. */
    mig = migration_status(src);
    g_assert_cmpstr(mig, ==, "failed");
    wait_runstate(src, "running");
    state = query_nap_str(src, "state");
    g_assert_cmpstr(state, ==, "idle");
    qtest_quit(src);
    qtest_set_expected_status(dst, 1);
    qtest_quit(dst);
    remove_tmp(tmp);
}

/*
 * Nobody listens on the socket: the migration fails in setup, before it
 * stopped the VM, so only the migration notifier can wake the guest.
 */
static void test_migrate_no_listener_wakes(void)
{
    g_autofree char *tmp = g_dir_make_tmp("nap-test-XXXXXX", NULL);
    g_autofree char *uri = g_strdup_printf("unix:%s/nobody", tmp);
    QTestState *src = qtest_init(MACHINE "-device nap,id=nap0");
    g_autofree char *state = NULL;
    g_autofree char *mig = NULL;

    piix4_pm_enable(src);
    nap_wr(src, NAP_REG_GUEST_STATE, NAP_GUEST_READY);
    request_nap(src, 30000);
    settle_request(src);
    qtest_qmp_assert_success(src, "{'execute': 'migrate',"
                             " 'arguments': {'uri': %s}}", uri);
    /* Bounded: without the wake the guest would stay suspended. */
    wait_runstate(src, "running");
    qtest_qmp_eventwait(src, "NAP_WAKE");
    mig = migration_status(src);
    g_assert_cmpstr(mig, ==, "failed");
    state = query_nap_str(src, "state");
    g_assert_cmpstr(state, ==, "idle");
    qtest_quit(src);
    rmdir(tmp);
}

/*
 * Waits (60 s at most) for job @id to conclude, dismisses it and returns
 * its error (NULL if none).
 */
static char *wait_job_end(QTestState *qts, const char *id)
{
    for (int i = 0; i < 3000; i++) {
        QDict *rsp = qtest_qmp(qts, "{'execute': 'query-jobs'}");
        QList *jobs = qdict_get_qlist(rsp, "return");
        bool done = false;
        char *error = NULL;

        for (const QListEntry *e = qlist_first(jobs); e;
             e = qlist_next(e)) {
            QDict *job = qobject_to(QDict, qlist_entry_obj(e));

            if (strcmp(qdict_get_str(job, "id"), id)) {
                continue;
            }
            if (!strcmp(qdict_get_str(job, "status"), "concluded")) {
                error = g_strdup(qdict_get_try_str(job, "error"));
                done = true;
            }
        }
        qobject_unref(rsp);
        if (done) {
            qtest_qmp_assert_success(qts, "{'execute': 'job-dismiss',"
                                     " 'arguments': {'id': %s}}", id);
            return error;
        }
        g_usleep(20 * 1000);
    }
    g_assert_not_reached();
}

/* Waits for job @id to conclude without error, then dismisses it. */
static void wait_job(QTestState *qts, const char *id)
{
    g_autofree char *error = wait_job_end(qts, id);

    g_assert_cmpstr(error, ==, NULL);
}

/* A small qcow2 image as node "d0", made through QMP (no qemu-img). */
static void add_qcow2_disk(QTestState *qts, const char *path)
{
    g_assert_true(g_file_set_contents(path, "", 0, NULL));
    qtest_qmp_assert_success(qts, "{'execute': 'blockdev-add', 'arguments':"
                             " {'driver': 'file', 'node-name': 'f0',"
                             " 'filename': %s}}", path);
    qtest_qmp_assert_success(qts, "{'execute': 'blockdev-create',"
                             " 'arguments': {'job-id': 'mk', 'options':"
                             " {'driver': 'qcow2', 'file': 'f0',"
                             " 'size': 16777216}}}");
    wait_job(qts, "mk");
    qtest_qmp_assert_success(qts, "{'execute': 'blockdev-add', 'arguments':"
                             " {'driver': 'qcow2', 'node-name': 'd0',"
                             " 'file': 'f0'}}");
}

/*
 * snapshot-save with nap-on-snapshot: the job waits for the nap, saves
 * the napping guest, and the source wakes it when the job restarts the
 * VM; snapshot-load of that state wakes the guest again.
 */
static void test_snapshot_settle_wake(void)
{
    g_autofree char *tmp = g_dir_make_tmp("nap-test-XXXXXX", NULL);
    g_autofree char *disk = g_strdup_printf("%s/disk.qcow2", tmp);
    QTestState *qts = qtest_init(MACHINE "-device nap,id=nap0,"
                                 "nap-on-snapshot=on,timeout-ms=30000");
    QDict *ev, *data;

    add_qcow2_disk(qts, disk);
    piix4_pm_enable(qts);
    nap_wr(qts, NAP_REG_GUEST_STATE, NAP_GUEST_READY);
    qtest_qmp_assert_success(qts, "{'execute': 'snapshot-save', 'arguments':"
                             " {'job-id': 'save', 'tag': 'nap',"
                             " 'vmstate': 'd0', 'devices': ['d0']}}");
    wait_event_reason(qts, "NAP_REQUESTED", "trigger", "snapshot");
    /* The job waits in its coroutine: QMP still answers. */
    assert_runstate(qts, "running");
    guest_enter_s3(qts);
    qtest_qmp_eventwait(qts, "NAP_SETTLED");
    wait_job(qts, "save");
    data = wait_event(qts, "NAP_WAKE", &ev);
    g_assert_cmpint(qdict_get_int(data, "seq"), ==, 1);
    qobject_unref(ev);
    wait_runstate(qts, "running");

    qtest_qmp_assert_success(qts, "{'execute': 'snapshot-load', 'arguments':"
                             " {'job-id': 'load', 'tag': 'nap',"
                             " 'vmstate': 'd0', 'devices': ['d0']}}");
    wait_job(qts, "load");
    data = wait_event(qts, "NAP_WAKE", &ev);
    g_assert_cmpint(qdict_get_int(data, "seq"), ==, 1);
    qobject_unref(ev);
    wait_runstate(qts, "running");
    qtest_quit(qts);
    unlink(disk);
    rmdir(tmp);
}

/*
 * A snapshot-save that fails after the guest napped for it (here: the tag
 * exists) never restarts the VM: the guest must be woken all the same.
 */
static void test_snapshot_fail_wakes(void)
{
    g_autofree char *tmp = g_dir_make_tmp("nap-test-XXXXXX", NULL);
    g_autofree char *disk = g_strdup_printf("%s/disk.qcow2", tmp);
    g_autofree char *error = NULL;
    QTestState *qts = qtest_init(MACHINE "-device nap,id=nap0,"
                                 "timeout-ms=30000");
    QDict *ev, *data;

    add_qcow2_disk(qts, disk);
    qtest_qmp_assert_success(qts, "{'execute': 'snapshot-save', 'arguments':"
                             " {'job-id': 'first', 'tag': 'taken',"
                             " 'vmstate': 'd0', 'devices': ['d0']}}");
    wait_job(qts, "first");
    qtest_qmp_assert_success(qts, "{'execute': 'qom-set', 'arguments':"
                             " {'path': '/machine/peripheral/nap0',"
                             " 'property': 'nap-on-snapshot',"
                             " 'value': true}}");
    piix4_pm_enable(qts);
    nap_wr(qts, NAP_REG_GUEST_STATE, NAP_GUEST_READY);
    qtest_qmp_assert_success(qts, "{'execute': 'snapshot-save', 'arguments':"
                             " {'job-id': 'again', 'tag': 'taken',"
                             " 'vmstate': 'd0', 'devices': ['d0']}}");
    wait_event_reason(qts, "NAP_REQUESTED", "trigger", "snapshot");
    guest_enter_s3(qts);
    qtest_qmp_eventwait(qts, "NAP_SETTLED");
    error = wait_job_end(qts, "again");
    g_assert_nonnull(error);
    g_assert_nonnull(strstr(error, "already exists"));
    /* Bounded: a guest left asleep fails here, not by hanging. */
    wait_runstate(qts, "running");
    data = wait_event(qts, "NAP_WAKE", &ev);
    g_assert_cmpint(qdict_get_int(data, "seq"), ==, 1);
    qobject_unref(ev);
    qtest_quit(qts);
    unlink(disk);
    rmdir(tmp);
}

/*
 * job-cancel while snapshot-save waits for the nap ends the wait at once
 * (NAP_UNSETTLED reason cancelled), not after the 30 s timeout, and the
 * job saves nothing.
 */
static void test_snapshot_cancel(void)
{
    g_autofree char *tmp = g_dir_make_tmp("nap-test-XXXXXX", NULL);
    g_autofree char *disk = g_strdup_printf("%s/disk.qcow2", tmp);
    g_autofree char *error = NULL;
    QTestState *qts = qtest_init(MACHINE "-device nap,id=nap0,"
                                 "nap-on-snapshot=on,timeout-ms=30000");
    QDict *ev, *data;
    int64_t start;

    add_qcow2_disk(qts, disk);
    nap_wr(qts, NAP_REG_GUEST_STATE, NAP_GUEST_READY);
    qtest_qmp_assert_success(qts, "{'execute': 'snapshot-save', 'arguments':"
                             " {'job-id': 'save', 'tag': 'nap',"
                             " 'vmstate': 'd0', 'devices': ['d0']}}");
    wait_event_reason(qts, "NAP_REQUESTED", "trigger", "snapshot");
    start = g_get_monotonic_time();
    qtest_qmp_assert_success(qts, "{'execute': 'job-cancel',"
                             " 'arguments': {'id': 'save'}}");
    data = wait_event(qts, "NAP_UNSETTLED", &ev);
    g_assert_cmpstr(qdict_get_str(data, "reason"), ==, "cancelled");
    qobject_unref(ev);
    g_assert_cmpint(g_get_monotonic_time() - start, <, 10 * G_USEC_PER_SEC);
    error = wait_job_end(qts, "save");
    g_test_message("cancelled snapshot-save: %s", error ? error : "no error");
    g_assert_nonnull(error);
    g_assert_nonnull(strstr(error, "anceled"));
    wait_runstate(qts, "running");
    /* Nothing was saved: the same tag is free. */
    qtest_qmp_assert_success(qts, "{'execute': 'qom-set', 'arguments':"
                             " {'path': '/machine/peripheral/nap0',"
                             " 'property': 'nap-on-snapshot',"
                             " 'value': false}}");
    qtest_qmp_assert_success(qts, "{'execute': 'snapshot-save', 'arguments':"
                             " {'job-id': 'again', 'tag': 'nap',"
                             " 'vmstate': 'd0', 'devices': ['d0']}}");
    wait_job(qts, "again");
    qtest_quit(qts);
    unlink(disk);
    rmdir(tmp);
}

/* The entry of query-qmp-schema named @name, NULL if there is none. */
static QDict *schema_entry(QList *schema, const char *name)
{
    QListEntry *e;

    QLIST_FOREACH_ENTRY(schema, e) {
        QDict *d = qobject_to(QDict, qlist_entry_obj(e));

        if (!strcmp(qdict_get_str(d, "name"), name)) {
            return d;
        }
    }
    return NULL;
}

static bool has_feature(QDict *entry, const char *feature)
{
    QList *features = qdict_get_qlist(entry, "features");
    QListEntry *e;

    if (!features) {
        return false;
    }
    QLIST_FOREACH_ENTRY(features, e) {
        if (!strcmp(qstring_get_str(qobject_to(QString, qlist_entry_obj(e))),
                    feature)) {
            return true;
        }
    }
    return false;
}

/* Member @member of the object type named @type, NULL if none. */
static QDict *type_member(QList *schema, const char *type, const char *member)
{
    QDict *object = schema_entry(schema, type);
    QListEntry *e;

    QLIST_FOREACH_ENTRY(qdict_get_qlist(object, "members"), e) {
        QDict *m = qobject_to(QDict, qlist_entry_obj(e));

        if (!strcmp(qdict_get_str(m, "name"), member)) {
            return m;
        }
    }
    return NULL;
}

static bool has_member(QList *schema, QDict *entry, const char *member)
{
    return type_member(schema, qdict_get_str(entry, "arg-type"), member);
}

/* Whether the enum type named @type has the value @value. */
static bool enum_has(QList *schema, const char *type, const char *value)
{
    QListEntry *e;

    QLIST_FOREACH_ENTRY(qdict_get_qlist(schema_entry(schema, type), "members"),
                        e) {
        QDict *m = qobject_to(QDict, qlist_entry_obj(e));

        if (!strcmp(qdict_get_str(m, "name"), value)) {
            return true;
        }
    }
    return false;
}

/*
 * The fork's QMP interface is experimental: every command and event of
 * it carries the "unstable" feature, and the nap events name their
 * device. QAPI introspection is what a management layer sees.
 */
static void test_schema(void)
{
    static const char *const unstable[] = {
        "x-query-nap", "x-nap-request", "x-nap-wake", "NAP_REQUESTED",
        "NAP_SETTLED", "NAP_UNSETTLED", "NAP_WAKE", "x-query-precise-tsc",
        "PRECISE_TSC_RESTORED",
    };
    static const char *const with_qom_path[] = {
        "NAP_REQUESTED", "NAP_SETTLED", "NAP_UNSETTLED", "NAP_WAKE",
    };
    QTestState *qts = qtest_init(MACHINE);
    QDict *resp = qtest_qmp(qts, "{'execute': 'query-qmp-schema'}");
    QList *schema = qdict_get_qlist(resp, "return");
    QDict *trigger;

    for (int i = 0; i < ARRAY_SIZE(unstable); i++) {
        QDict *entry = schema_entry(schema, unstable[i]);

        g_test_message("%s: %s", unstable[i],
                       !entry ? "absent" :
                       has_feature(entry, "unstable") ? "unstable" :
                       "no unstable feature");
        g_assert(entry && has_feature(entry, "unstable"));
    }
    for (int i = 0; i < ARRAY_SIZE(with_qom_path); i++) {
        QDict *entry = schema_entry(schema, with_qom_path[i]);

        g_assert(entry && has_member(schema, entry, "qom-path"));
    }
    g_assert_null(schema_entry(schema, "NAP_TIMEOUT"));
    /* migrate never naps the guest: no such trigger, no such knob. */
    trigger = type_member(schema, qdict_get_str(schema_entry(schema,
                          "NAP_REQUESTED"), "arg-type"), "trigger");
    g_assert_true(enum_has(schema, qdict_get_str(trigger, "type"), "qmp"));
    g_assert_false(enum_has(schema, qdict_get_str(trigger, "type"),
                            "migration"));
    g_assert_nonnull(type_member(schema, qdict_get_str(schema_entry(schema,
                     "x-query-nap"), "ret-type"), "nap-on-snapshot"));
    g_assert_null(type_member(schema, qdict_get_str(schema_entry(schema,
                  "x-query-nap"), "ret-type"), "nap-on-migrate"));
    qobject_unref(resp);
    qtest_quit(qts);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    qtest_add_func("/nap/schema", test_schema);
    qtest_add_func("/nap/identification", test_identification);
    qtest_add_func("/nap/bad-accesses", test_bad_accesses);
    qtest_add_func("/nap/request-gpe", test_request_gpe);
    qtest_add_func("/nap/ack-and-refusal", test_ack_and_refusal);
    qtest_add_func("/nap/timeout", test_timeout);
    qtest_add_func("/nap/settle-and-wake", test_settle_and_wake);
    qtest_add_func("/nap/reset-while-napping", test_reset_while_napping);
    qtest_add_func("/nap/q35-second-nap", test_q35_second_nap);
    qtest_add_func("/nap/q35-stock-wakeup", test_q35_stock_wakeup);
    qtest_add_func("/nap/time-latch", test_time_latch);
    qtest_add_func("/nap/acpi-tables", test_acpi_tables);
    qtest_add_func("/nap/no-overlap", test_no_overlap);
    qtest_add_data_func("/nap/migrate/unix/pending", "unix:%s/sock",
                        test_migrate_pending);
    qtest_add_data_func("/nap/migrate/file/pending", "file:%s/state",
                        test_migrate_pending);
    qtest_add_func("/nap/migrate/to-stock", test_migrate_to_stock);
    qtest_add_func("/nap/migrate/unix/settle-wake",
                   test_migrate_settle_wake);
    qtest_add_func("/nap/migrate/unix/cancel-wakes",
                   test_migrate_cancel_wakes);
    qtest_add_func("/nap/migrate/unix/refused-wakes",
                   test_migrate_refused_wakes);
    qtest_add_func("/nap/migrate/unix/no-listener-wakes",
                   test_migrate_no_listener_wakes);
    qtest_add_func("/nap/snapshot/settle-wake", test_snapshot_settle_wake);
    qtest_add_func("/nap/snapshot/fail-wakes", test_snapshot_fail_wakes);
    qtest_add_func("/nap/snapshot/cancel", test_snapshot_cancel);
    return g_test_run();
}

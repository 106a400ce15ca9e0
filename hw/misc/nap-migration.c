/*
 * Nap device and QEMU's save paths: migrate (any transport, file:
 * included) and the snapshot-save job nap the guest first when the
 * device's nap-on-migrate / nap-on-snapshot property is on.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/error-report.h"
#include "qemu/main-loop.h"
#include "qapi/error.h"
#include "hw/misc/nap.h"
#include "hw/misc/nap-hooks.h"
#include "migration/misc.h"
#include "system/runstate.h"

/* How often a waiter looks at the outcome; the guest takes far longer. */
#define NAP_POLL_MS 10
/* The waiter's own bound beyond the device's timer, should it not fire. */
#define NAP_WAIT_SLACK_MS 2000

static NapState *nap_start_for(NapTrigger trigger, uint32_t *timeout_ms)
{
    NapState *s = nap_find();
    Error *err = NULL;
    bool wanted;

    if (!s) {
        return NULL;
    }
    wanted = trigger == NAP_TRIGGER_MIGRATION ? s->nap_on_migrate
                                              : s->nap_on_snapshot;
    /* A stopped VM cannot nap, a suspended guest already does. */
    if (!wanted || !runstate_check(RUN_STATE_RUNNING)) {
        return NULL;
    }
    if (!nap_request(s, NAP_REQUEST_MODE_AUTO, trigger, s->timeout_ms,
                     &err)) {
        warn_report_err(err);
        return NULL;
    }
    *timeout_ms = s->timeout_ms;
    return s;
}

void nap_migration_wait(const MigrationStatus *migration_status)
{
    NapState *s;
    uint32_t timeout_ms = 0;
    int64_t deadline;

    bql_lock();
    s = nap_start_for(NAP_TRIGGER_MIGRATION, &timeout_ms);
    bql_unlock();
    if (!s) {
        return;
    }
    deadline = qemu_clock_get_ms(QEMU_CLOCK_REALTIME) + timeout_ms +
               NAP_WAIT_SLACK_MS;
    while (qatomic_read(&s->outcome) == NAP_OUTCOME_PENDING &&
           qatomic_read(migration_status) == MIGRATION_STATUS_SETUP &&
           qemu_clock_get_ms(QEMU_CLOCK_REALTIME) < deadline) {
        g_usleep(NAP_POLL_MS * 1000);
    }
    bql_lock();
    nap_withdraw(s, qatomic_read(migration_status) == MIGRATION_STATUS_SETUP
                    ? NAP_UNSETTLED_REASON_TIMEOUT
                    : NAP_UNSETTLED_REASON_CANCELLED);
    bql_unlock();
}

bool coroutine_fn nap_snapshot_wait(Job *job, uint32_t *seq)
{
    uint32_t timeout_ms = 0;
    NapState *s = nap_start_for(NAP_TRIGGER_SNAPSHOT, &timeout_ms);

    *seq = s ? s->request_seq : 0;
    /*
     * The device's timer ends the request; the main loop keeps running.
     * job_sleep_ns() is a pause point and returns early on cancel.
     */
    while (s && qatomic_read(&s->outcome) == NAP_OUTCOME_PENDING) {
        if (job_is_cancelled(job)) {
            break;
        }
        job_sleep_ns(job, NAP_POLL_MS * SCALE_MS);
    }
    if (!job_is_cancelled(job)) {
        return true;
    }
    if (s) {
        /* Withdrawn, or woken if it napped meanwhile: nothing is saved. */
        nap_withdraw(s, NAP_UNSETTLED_REASON_CANCELLED);
        nap_snapshot_done(*seq);
    }
    return false;
}

void nap_snapshot_done(uint32_t seq)
{
    NapState *s = nap_find();

    if (s && seq && s->request_seq == seq &&
        s->host_state == NAP_HOST_STATE_NAPPING &&
        runstate_check(RUN_STATE_SUSPENDED)) {
        qemu_system_wakeup_request(QEMU_WAKEUP_REASON_OTHER, NULL);
    }
}

/* A migration that failed or was cancelled gives the guest back. */
static int nap_migration_event(NotifierWithReturn *notifier,
                               MigrationEvent *e, Error **errp)
{
    NapState *s = container_of(notifier, NapState, migration_notifier);

    if (e->type != MIG_EVENT_PRECOPY_FAILED) {
        return 0;
    }
    nap_withdraw(s, NAP_UNSETTLED_REASON_CANCELLED);
    if (s->host_state == NAP_HOST_STATE_NAPPING &&
        runstate_check(RUN_STATE_SUSPENDED)) {
        nap_wake(s, NULL);
    }
    return 0;
}

void nap_migration_init(NapState *s)
{
    migration_add_notifier(&s->migration_notifier, nap_migration_event);
}

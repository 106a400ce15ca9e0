/*
 * Nap device and QEMU's save paths: the snapshot-save job naps the guest
 * first when the device's nap-on-snapshot property is on; a migration
 * that fails or is cancelled wakes a guest that napped for it.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/error-report.h"
#include "qapi/error.h"
#include "hw/misc/nap.h"
#include "hw/misc/nap-hooks.h"
#include "migration/misc.h"
#include "system/runstate.h"

/* How often a waiter looks at the outcome; the guest takes far longer. */
#define NAP_POLL_MS 10
/*
 * The snapshot-save job's own request, when nap-on-snapshot is on and the
 * guest runs. Migration has no such hook: a management layer that wants
 * the guest napped before a migration asks for it (x-nap-request, wait
 * for NAP_SETTLED or NAP_UNSETTLED) and then migrates (docs/nap.md).
 */
static NapState *nap_start_for_snapshot(void)
{
    NapState *s = nap_find();
    Error *err = NULL;

    /* A stopped VM cannot nap, a suspended guest already does. */
    if (!s || !s->nap_on_snapshot || !runstate_check(RUN_STATE_RUNNING)) {
        return NULL;
    }
    if (!nap_request(s, NAP_REQUEST_MODE_AUTO, NAP_TRIGGER_SNAPSHOT,
                     s->timeout_ms, &err)) {
        warn_report_err(err);
        return NULL;
    }
    return s;
}

bool coroutine_fn nap_snapshot_wait(Job *job, uint32_t *seq)
{
    NapState *s = nap_start_for_snapshot();

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

/*
 * A migration that failed or was cancelled gives the guest back: the pause
 * it napped for (or was asked to nap for) is not coming, the source runs
 * on.
 */
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

/*
 * qemu_nap.c: ask a guest to nap (enter S3) before libvirt pauses it
 *
 * With <pm><nap enabled='yes'/></pm> the domain gets the fork's nap
 * device. Before libvirt pauses a running guest for a save, a managed
 * save or a snapshot with memory, qemuNapAndStopCPUs() asks QEMU to nap
 * the guest (x-nap-request), waits for the outcome (NAP_SETTLED or
 * NAP_UNSETTLED) for at most the domain's timeout plus some slack, and
 * then stops the CPUs as before. The domain ends up PAUSED with the
 * usual reason either way, so every existing "it was running, resume it"
 * path (restore, start of a managed save, snapshot revert, a failed
 * save) sends 'cont', and QEMU wakes the guest with its clock corrected.
 * A guest that does not nap is paused running, as without the device.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <config.h>

#include "qemu_nap.h"
#include "qemu_domain.h"
#include "qemu_monitor.h"
#include "qemu_process.h"
#include "datatypes.h"
#include "virerror.h"
#include "virlog.h"
#include "virtime.h"

#define VIR_FROM_THIS VIR_FROM_QEMU

VIR_LOG_INIT("qemu.qemu_nap");

/* Without a timeout in the XML: the device's own default (10 s). */
#define QEMU_NAP_DEFAULT_TIMEOUT_SEC 10
/* The device accepts timeout-ms up to 600000. */
#define QEMU_NAP_MAX_TIMEOUT_SEC 600
/* NAP_UNSETTLED comes from a timer in QEMU when the guest does not nap
 * in time; the slack only covers a QEMU slow to run its main loop. */
#define QEMU_NAP_SLACK_MS 5000


static unsigned int
qemuNapTimeoutMs(const virDomainDef *def)
{
    unsigned int sec = def->pm.napTimeout;

    return (sec ? sec : QEMU_NAP_DEFAULT_TIMEOUT_SEC) * 1000;
}


int
qemuNapValidateDef(const virDomainDef *def,
                   virQEMUCaps *qemuCaps)
{
    if (def->pm.nap != VIR_TRISTATE_BOOL_YES) {
        if (def->pm.napTimeout) {
            virReportError(VIR_ERR_CONFIG_UNSUPPORTED, "%s",
                           _("nap timeout requires <nap enabled='yes'/>"));
            return -1;
        }
        return 0;
    }

    if (!virQEMUCapsGet(qemuCaps, QEMU_CAPS_DEVICE_NAP)) {
        virReportError(VIR_ERR_CONFIG_UNSUPPORTED, "%s",
                       _("nap is not supported by this QEMU binary (it has no 'nap' device)"));
        return -1;
    }

    if (!ARCH_IS_X86(def->os.arch) ||
        !(qemuDomainIsI440FX(def) || qemuDomainIsQ35(def))) {
        virReportError(VIR_ERR_CONFIG_UNSUPPORTED, "%s",
                       _("nap is only supported on x86 'pc' and 'q35' machines"));
        return -1;
    }

    if (def->features[VIR_DOMAIN_FEATURE_ACPI] != VIR_TRISTATE_SWITCH_ON) {
        virReportError(VIR_ERR_CONFIG_UNSUPPORTED, "%s",
                       _("nap requires ACPI (the guest is told through a GPE)"));
        return -1;
    }

    if (def->pm.s3 == VIR_TRISTATE_BOOL_NO) {
        virReportError(VIR_ERR_CONFIG_UNSUPPORTED, "%s",
                       _("nap requires suspend-to-mem not to be disabled"));
        return -1;
    }

    if (def->pm.napTimeout > QEMU_NAP_MAX_TIMEOUT_SEC) {
        virReportError(VIR_ERR_CONFIG_UNSUPPORTED,
                       _("nap timeout must be at most %1$u seconds"),
                       QEMU_NAP_MAX_TIMEOUT_SEC);
        return -1;
    }

    return 0;
}


int
qemuNapBuildDeviceProps(const virDomainDef *def,
                        virJSONValue **props)
{
    *props = NULL;

    if (def->pm.nap != VIR_TRISTATE_BOOL_YES)
        return 0;

    return virJSONValueObjectAdd(props,
                                 "s:driver", "nap",
                                 "s:id", "nap0",
                                 "u:timeout-ms", qemuNapTimeoutMs(def),
                                 NULL);
}


/* One line in the domain's log (/var/log/libvirt/qemu/NAME.log), where
 * an operator finds out why a save took longer or what the guest did. */
static void G_GNUC_PRINTF(3, 4)
qemuNapLog(virQEMUDriver *driver,
           virDomainObj *vm,
           const char *fmt,
           ...)
{
    g_autofree char *timestamp = virTimeStringNow();
    g_autofree char *msg = NULL;
    va_list ap;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);

    VIR_DEBUG("domain %s: nap: %s", vm->def->name, msg);
    if (timestamp &&
        qemuDomainLogAppendMessage(driver, vm, "%s: nap: %s\n",
                                   timestamp, msg) < 0)
        virResetLastError();
}


/* Called for every QMP event, with the vm locked (qemuProcessHandleEvent).
 * Only the outcome of a request libvirt itself made is recorded; the
 * NAP_* events also reach clients unchanged as QEMU monitor events. */
void
qemuNapProcessEvent(virDomainObj *vm,
                    const char *eventName,
                    const char *details)
{
    qemuDomainObjPrivate *priv = vm->privateData;
    g_autoptr(virJSONValue) data = NULL;
    qemuNapOutcome outcome;
    const char *reason;
    const char *guestState;

    if (!STRPREFIX(eventName, "NAP_"))
        return;

    if (details && !(data = virJSONValueFromString(details))) {
        virResetLastError();
        return;
    }

    if (STREQ(eventName, "NAP_WAKE")) {
        unsigned long long napped = 0;

        if (data)
            ignore_value(virJSONValueObjectGetNumberUlong(data, "napped-ms",
                                                          &napped));
        qemuNapLog(priv->driver, vm, "guest woken after a nap of %llu ms",
                   napped);
        return;
    }

    if (STREQ(eventName, "NAP_SETTLED"))
        outcome = QEMU_NAP_OUTCOME_SETTLED;
    else if (STREQ(eventName, "NAP_UNSETTLED"))
        outcome = QEMU_NAP_OUTCOME_UNSETTLED;
    else
        return;

    if (priv->nap.outcome != QEMU_NAP_OUTCOME_PENDING)
        return;

    priv->nap.outcome = outcome;
    priv->nap.elapsedMs = 0;
    g_clear_pointer(&priv->nap.reason, g_free);
    if (data) {
        ignore_value(virJSONValueObjectGetNumberUlong(data, "elapsed-ms",
                                                      &priv->nap.elapsedMs));
        reason = virJSONValueObjectGetString(data, "reason");
        guestState = virJSONValueObjectGetString(data, "guest-state");
        if (reason)
            priv->nap.reason = g_strdup_printf("%s, guest driver state %s",
                                               reason, NULLSTR(guestState));
    }
    virDomainObjBroadcast(vm);
}


/* Send a nap command. Returns -1 if the monitor failed or its reply
 * could not be parsed (an error is reported), 1 if QEMU answered with an
 * error (its description in *err), 0 on success. */
static int
qemuNapCommand(virDomainObj *vm,
               virDomainAsyncJob asyncJob,
               const char *cmd,
               char **err)
{
    qemuDomainObjPrivate *priv = vm->privateData;
    g_autofree char *reply = NULL;
    g_autoptr(virJSONValue) json = NULL;
    virJSONValue *error;
    int rc;

    if (qemuDomainObjEnterMonitorAsync(vm, asyncJob) < 0)
        return -1;
    /* x-nap-* are unstable QMP commands of the fork's QEMU; they have no
     * typed wrapper in qemu_monitor_json.c on purpose. */
    rc = qemuMonitorArbitraryCommand(priv->mon, cmd, -1, &reply, false);
    qemuDomainObjExitMonitor(vm);
    if (rc < 0)
        return -1;

    if (!(json = virJSONValueFromString(reply)))
        return -1;
    if ((error = virJSONValueObjectGetObject(json, "error"))) {
        *err = g_strdup(NULLSTR(virJSONValueObjectGetString(error, "desc")));
        return 1;
    }
    return 0;
}


/* x-nap-wake: withdraw a pending request and wake a napping guest.
 * Best effort, for paths that are failing already. */
static void
qemuNapWake(virDomainObj *vm,
            virDomainAsyncJob asyncJob)
{
    g_autofree char *err = NULL;
    virErrorPtr orig_err;

    virErrorPreserveLast(&orig_err);
    if (virDomainObjIsActive(vm) &&
        qemuNapCommand(vm, asyncJob, "{\"execute\": \"x-nap-wake\"}",
                       &err) != 0)
        VIR_WARN("domain %s: x-nap-wake failed: %s", vm->def->name,
                 NULLSTR(err));
    virErrorRestore(&orig_err);
}


/* Ask the guest to nap and wait for the outcome. Returns -1 if the
 * domain went away or the job was aborted (the request is withdrawn);
 * a guest that did not nap is not an error. *napped says whether it did. */
static int
qemuNapRequestAndWait(virQEMUDriver *driver,
                      virDomainObj *vm,
                      virDomainAsyncJob asyncJob,
                      bool *napped)
{
    qemuDomainObjPrivate *priv = vm->privateData;
    unsigned int timeoutMs = qemuNapTimeoutMs(vm->def);
    g_autofree char *cmd = NULL;
    g_autofree char *err = NULL;
    unsigned long long until;
    int rc;

    *napped = false;
    if (virTimeMillisNow(&until) < 0)
        return -1;
    until += timeoutMs + QEMU_NAP_SLACK_MS;

    /* Before the command: the vm lock is dropped while it runs, so the
     * outcome may be handled before the reply arrives. */
    priv->nap.outcome = QEMU_NAP_OUTCOME_PENDING;
    cmd = g_strdup_printf("{\"execute\": \"x-nap-request\", "
                          "\"arguments\": {\"timeout-ms\": %u}}", timeoutMs);
    rc = qemuNapCommand(vm, asyncJob, cmd, &err);
    if (rc != 0) {
        priv->nap.outcome = QEMU_NAP_OUTCOME_NONE;
        if (rc < 0)
            return -1;
        qemuNapLog(driver, vm, "QEMU refused the nap request (%s); "
                   "pausing the guest running", err);
        return 0;
    }

    while (priv->nap.outcome == QEMU_NAP_OUTCOME_PENDING) {
        rc = virDomainObjWaitUntil(vm, until);
        if (!virDomainObjIsActive(vm) || priv->beingDestroyed) {
            priv->nap.outcome = QEMU_NAP_OUTCOME_NONE;
            virReportError(VIR_ERR_OPERATION_FAILED, "%s",
                           _("domain quit while it was asked to nap"));
            return -1;
        }
        if (vm->job->abortJob) {
            /* domjobabort: the save does not happen; the guest must not
             * nap (or stay asleep) for it */
            priv->nap.outcome = QEMU_NAP_OUTCOME_NONE;
            qemuNapWake(vm, asyncJob);
            qemuNapLog(driver, vm, "nap request withdrawn: job aborted");
            virReportError(VIR_ERR_OPERATION_ABORTED, "%s",
                           _("canceled by client while the guest was asked to nap"));
            return -1;
        }
        if (rc < 0)
            virResetLastError();
        if (rc != 0)
            break;
    }

    switch (priv->nap.outcome) {
    case QEMU_NAP_OUTCOME_SETTLED:
        *napped = true;
        qemuNapLog(driver, vm, "guest napped in %llu ms",
                   priv->nap.elapsedMs);
        break;
    case QEMU_NAP_OUTCOME_UNSETTLED:
        VIR_WARN("domain %s did not nap (%s); pausing it running",
                 vm->def->name, NULLSTR(priv->nap.reason));
        qemuNapLog(driver, vm, "guest did not nap after %llu ms (%s); "
                   "pausing it running", priv->nap.elapsedMs,
                   NULLSTR(priv->nap.reason));
        break;
    case QEMU_NAP_OUTCOME_PENDING:
    case QEMU_NAP_OUTCOME_NONE:
        /* No answer from QEMU at all: withdraw the request so that a
         * late nap cannot start after the CPUs were stopped. */
        VIR_WARN("domain %s: no nap outcome within %u ms; withdrawing",
                 vm->def->name, timeoutMs + QEMU_NAP_SLACK_MS);
        priv->nap.outcome = QEMU_NAP_OUTCOME_NONE;
        qemuNapWake(vm, asyncJob);
        qemuNapLog(driver, vm, "no nap outcome from QEMU within %u ms; "
                   "request withdrawn, pausing the guest running",
                   timeoutMs + QEMU_NAP_SLACK_MS);
        break;
    }

    priv->nap.outcome = QEMU_NAP_OUTCOME_NONE;
    g_clear_pointer(&priv->nap.reason, g_free);
    return 0;
}


/**
 * qemuNapRecover:
 *
 * The daemon restarted while a save or snapshot job was asking the guest
 * to nap (qemuProcessRecoverJob): the job is gone, so no pause follows.
 * Withdraw a request still pending and wake a guest that napped for it
 * (QEMU's 'cont' alone leaves a suspended guest asleep). A paused guest
 * is left to the caller's resume, which wakes it; a guest that entered
 * S3 by itself is not the device's and is left alone.
 */
void
qemuNapRecover(virDomainObj *vm)
{
    qemuDomainObjPrivate *priv = vm->privateData;
    g_autofree char *reply = NULL;
    g_autoptr(virJSONValue) json = NULL;
    const char *state = NULL;
    virJSONValue *ret;
    int rc;

    if (vm->def->pm.nap != VIR_TRISTATE_BOOL_YES)
        return;

    qemuDomainObjEnterMonitor(vm);
    rc = qemuMonitorArbitraryCommand(priv->mon,
                                     "{\"execute\": \"x-query-nap\"}",
                                     -1, &reply, false);
    qemuDomainObjExitMonitor(vm);
    if (rc < 0 || !(json = virJSONValueFromString(reply))) {
        virResetLastError();
        return;
    }
    if ((ret = virJSONValueObjectGetObject(json, "return")))
        state = virJSONValueObjectGetString(ret, "state");
    if (!state || STREQ(state, "idle"))
        return;
    /* Stopped by the job after its nap: the caller's 'cont' wakes it */
    if (STREQ(state, "napping") &&
        virDomainObjGetState(vm, NULL) == VIR_DOMAIN_PAUSED)
        return;

    VIR_WARN("domain %s: nap '%s' left by an interrupted job; waking",
             vm->def->name, state);
    qemuNapWake(vm, VIR_ASYNC_JOB_NONE);
}


/* The guest reached S3 although the nap was given up (it suspended late,
 * e.g. a sleep-button policy slower than the timeout): QEMU's nap device
 * would not wake it after the restore. Wake it now, so that it is paused
 * and saved running like any guest that did not nap. */
static void
qemuNapWakeLateSleeper(virQEMUDriver *driver,
                       virDomainObj *vm,
                       virDomainAsyncJob asyncJob)
{
    unsigned long long until;

    qemuNapLog(driver, vm, "guest entered S3 after the nap was given up; "
               "waking it, pausing it running");
    qemuNapWake(vm, asyncJob);
    if (virTimeMillisNow(&until) < 0) {
        virResetLastError();
        return;
    }
    until += QEMU_NAP_SLACK_MS;
    /* WAKEUP moves the domain to RUNNING; the handler does not broadcast,
     * so look again every 100 ms. */
    while (virDomainObjIsActive(vm) &&
           virDomainObjGetState(vm, NULL) == VIR_DOMAIN_PMSUSPENDED) {
        unsigned long long now;

        if (virTimeMillisNow(&now) < 0 || now >= until) {
            virResetLastError();
            break;
        }
        if (virDomainObjWaitUntil(vm, MIN(until, now + 100)) < 0)
            virResetLastError();
    }
}


/**
 * qemuNapAndStopCPUs:
 *
 * qemuProcessStopCPUs() for a pause that may be long (save, managed save,
 * snapshot with memory): a running domain with <nap enabled='yes'/> is
 * first asked to nap. The domain ends PAUSED with @reason whether or not
 * the guest napped, so callers keep their "was running" bookkeeping and
 * resume it with qemuProcessStartCPUs(), which wakes a napping guest.
 */
int
qemuNapAndStopCPUs(virQEMUDriver *driver,
                   virDomainObj *vm,
                   virDomainPausedReason reason,
                   virDomainAsyncJob asyncJob)
{
    virObjectEvent *event;
    bool asked = false;
    bool napped = false;

    if (vm->def->pm.nap == VIR_TRISTATE_BOOL_YES &&
        virDomainObjGetState(vm, NULL) == VIR_DOMAIN_RUNNING) {
        asked = true;
        if (qemuNapRequestAndWait(driver, vm, asyncJob, &napped) < 0)
            return -1;
    }

    if (asked && !napped &&
        virDomainObjGetState(vm, NULL) == VIR_DOMAIN_PMSUSPENDED)
        qemuNapWakeLateSleeper(driver, vm, asyncJob);

    if (qemuProcessStopCPUs(driver, vm, reason, asyncJob) < 0) {
        /* The callers resume with 'cont', which leaves a suspended
         * guest asleep: wake it here. */
        if (napped)
            qemuNapWake(vm, asyncJob);
        return -1;
    }

    /* QEMU's 'stop' of a suspended guest does send STOP, but
     * qemuProcessHandleStop only acts on a RUNNING domain, so libvirt
     * still says PMSUSPENDED. QEMU itself is 'paused' and remembers that
     * the guest was suspended; 'cont' gets it back to suspended and the
     * nap device wakes it. */
    if (virDomainObjGetState(vm, NULL) != VIR_DOMAIN_PMSUSPENDED)
        return 0;
    if (!napped) {
        /* It went to S3 on its own while being paused: what upstream
         * libvirt does with such a guest, unchanged */
        VIR_WARN("domain %s entered S3 by itself while being paused",
                 vm->def->name);
        return 0;
    }

    virDomainObjSetState(vm, VIR_DOMAIN_PAUSED, reason);
    event = virDomainEventLifecycleNewFromObj(vm, VIR_DOMAIN_EVENT_SUSPENDED,
                qemuDomainPausedReasonToSuspendedEvent(reason));
    virObjectEventStateQueue(driver->domainEventState, event);
    qemuDomainSaveStatus(vm);
    return 0;
}


/*
 * virDomainDriverAutoShutdown() callback: libvirt pauses every running
 * guest before it managed-saves them at host shutdown. A guest with the
 * nap policy on must still be running when its managed save asks it to
 * nap (the save pauses it itself).
 */
bool
qemuNapKeepRunningForSave(virDomainPtr dom,
                          void *opaque)
{
    virQEMUDriver *driver = opaque;
    virDomainObj *vm = virDomainObjListFindByUUID(driver->domains,
                                                  dom->uuid);
    bool naps;

    if (!vm)
        return false;
    naps = vm->def->pm.nap == VIR_TRISTATE_BOOL_YES;
    virDomainObjEndAPI(&vm);
    return naps;
}

/*
 * Nap device, host side of the protocol: request, settle, timeout, wake.
 * Everything here runs with the BQL held, the snapshot job's wait too.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/main-loop.h"
#include "qapi/error.h"
#include "qapi/qapi-events-nap.h"
#include "hw/acpi/acpi_dev_interface.h"
#include "hw/misc/nap.h"
#include "system/runstate.h"
#include "hw/misc/qemu-nap-abi.h"

static uint64_t elapsed_ms(NapState *s)
{
    int64_t now = qemu_clock_get_ms(QEMU_CLOCK_REALTIME);

    return now > s->requested_ms ? now - s->requested_ms : 0;
}

NapGuestState nap_guest_state_enum(NapState *s)
{
    switch (s->guest_state) {
    case NAP_GUEST_READY:
        return NAP_GUEST_STATE_READY;
    case NAP_GUEST_SUSPENDING:
        return NAP_GUEST_STATE_SUSPENDING;
    case NAP_GUEST_REFUSED:
        return NAP_GUEST_STATE_REFUSED;
    case NAP_GUEST_RESUMED:
        return NAP_GUEST_STATE_RESUMED;
    }
    return NAP_GUEST_STATE_ABSENT;
}

static NapMode nap_pick_mode(NapState *s, NapRequestMode asked)
{
    switch (asked) {
    case NAP_REQUEST_MODE_NAP:
        return NAP_MODE_NAP;
    case NAP_REQUEST_MODE_SLEEP_BUTTON:
        return NAP_MODE_SLEEP_BUTTON;
    default:
        break;
    }
    switch (s->guest_state) {
    case NAP_GUEST_READY:
    case NAP_GUEST_SUSPENDING:
    case NAP_GUEST_RESUMED:
        return NAP_MODE_NAP;
    }
    return s->sleep_button ? NAP_MODE_SLEEP_BUTTON : NAP_MODE_NAP;
}

static void nap_raise_gpe(void)
{
    Object *acpi = object_resolve_path_type("", TYPE_ACPI_DEVICE_IF, NULL);

    if (acpi) {
        acpi_send_event(DEVICE(acpi), ACPI_NAP_REQUEST_STATUS);
    }
}

static void nap_set_outcome(NapState *s, NapOutcome outcome)
{
    qatomic_set(&s->outcome, outcome);
}

bool nap_request(NapState *s, NapRequestMode asked, NapTrigger trigger,
                 uint32_t timeout_ms, Error **errp)
{
    g_autofree char *path = NULL;
    NapMode mode;

    if (s->host_state != NAP_HOST_STATE_IDLE) {
        error_setg(errp, "a nap is already %s",
                   NapHostState_str(s->host_state));
        return false;
    }
    if (!runstate_check(RUN_STATE_RUNNING)) {
        error_setg(errp, "the VM is not running (%s): it cannot nap",
                   RunState_str(runstate_get()));
        return false;
    }
    mode = nap_pick_mode(s, asked);
    s->mode = mode;
    s->request_seq = s->request_seq + 1 ? s->request_seq + 1 : 1;
    s->request = mode == NAP_MODE_NAP ? NAP_REQUEST_NAP
                                      : NAP_REQUEST_SLEEP_BUTTON;
    s->host_state = NAP_HOST_STATE_REQUESTED;
    s->requested_ms = qemu_clock_get_ms(QEMU_CLOCK_REALTIME);
    nap_set_outcome(s, NAP_OUTCOME_PENDING);
    timer_mod(s->timeout_timer, s->requested_ms + timeout_ms);
    path = object_get_canonical_path(OBJECT(s));
    qapi_event_send_nap_requested(path, s->request_seq, mode,
                                  trigger, timeout_ms);
    nap_raise_gpe();
    return true;
}

/* The request ends without a nap; whoever waits proceeds. */
void nap_withdraw(NapState *s, NapUnsettledReason reason)
{
    g_autofree char *path = NULL;

    if (s->host_state != NAP_HOST_STATE_REQUESTED) {
        return;
    }
    timer_del(s->timeout_timer);
    s->request = NAP_REQUEST_NONE;
    s->host_state = NAP_HOST_STATE_IDLE;
    path = object_get_canonical_path(OBJECT(s));
    qapi_event_send_nap_unsettled(path, s->request_seq, s->mode,
                                  elapsed_ms(s), reason,
                                  nap_guest_state_enum(s));
    nap_set_outcome(s, NAP_OUTCOME_UNSETTLED);
}

static void nap_timeout_cb(void *opaque)
{
    nap_withdraw(opaque, NAP_UNSETTLED_REASON_TIMEOUT);
}

void nap_guest_state_changed(NapState *s)
{
    if (s->guest_state == NAP_GUEST_REFUSED) {
        nap_withdraw(s, NAP_UNSETTLED_REASON_REFUSED);
    }
}

/* vCPU thread, BQL held, just before the runstate becomes suspended. */
static void nap_guest_suspending(Notifier *n, void *data)
{
    NapState *s = container_of(n, NapState, suspend_notifier);
    g_autofree char *path = NULL;

    if (s->host_state != NAP_HOST_STATE_REQUESTED) {
        return;
    }
    timer_del(s->timeout_timer);
    s->request = NAP_REQUEST_NONE;
    s->host_state = NAP_HOST_STATE_NAPPING;
    s->napped_wall_ns = qemu_clock_get_ns(QEMU_CLOCK_HOST);
    path = object_get_canonical_path(OBJECT(s));
    qapi_event_send_nap_settled(path, s->request_seq, s->mode,
                                elapsed_ms(s));
    nap_set_outcome(s, NAP_OUTCOME_SETTLED);
}

/* Main loop, after the S3 resume reset, for any wake reason. */
static void nap_guest_woken(Notifier *n, void *data)
{
    NapState *s = container_of(n, NapState, wakeup_notifier);
    g_autofree char *path = NULL;
    int64_t now_ns;

    if (s->host_state != NAP_HOST_STATE_NAPPING) {
        return;
    }
    s->wake_tai_ns = nap_host_tai_ns();
    now_ns = qemu_clock_get_ns(QEMU_CLOCK_HOST);
    s->host_state = NAP_HOST_STATE_IDLE;
    nap_set_outcome(s, NAP_OUTCOME_NONE);
    path = object_get_canonical_path(OBJECT(s));
    qapi_event_send_nap_wake(path, s->request_seq, s->wake_tai_ns,
                             now_ns > s->napped_wall_ns ?
                             (now_ns - s->napped_wall_ns) / SCALE_MS : 0);
}

bool nap_wake(NapState *s, Error **errp)
{
    bool did = false;

    if (s->host_state == NAP_HOST_STATE_REQUESTED) {
        nap_withdraw(s, NAP_UNSETTLED_REASON_CANCELLED);
        did = true;
    }
    if (runstate_check(RUN_STATE_SUSPENDED)) {
        qemu_system_wakeup_request(QEMU_WAKEUP_REASON_OTHER, errp);
        return true;
    }
    if (!did) {
        error_setg(errp, "no nap is pending and the guest is not suspended"
                   " (runstate %s)", RunState_str(runstate_get()));
    }
    return did;
}

/* A started VM whose guest napped for us wakes (destination, cont, ...). */
static void nap_wake_bh(void *opaque)
{
    NapState *s = opaque;

    if (s->host_state == NAP_HOST_STATE_NAPPING &&
        runstate_check(RUN_STATE_SUSPENDED)) {
        qemu_system_wakeup_request(QEMU_WAKEUP_REASON_OTHER, NULL);
    }
}

static void nap_vm_state_change(void *opaque, bool running, RunState state)
{
    NapState *s = opaque;

    if (running && s->host_state == NAP_HOST_STATE_NAPPING) {
        qemu_bh_schedule(s->wake_bh);
    }
}

/* A request caught by the migration stream waits again on this host. */
void nap_host_post_load(NapState *s)
{
    if (s->host_state == NAP_HOST_STATE_REQUESTED) {
        s->requested_ms = qemu_clock_get_ms(QEMU_CLOCK_REALTIME);
        nap_set_outcome(s, NAP_OUTCOME_PENDING);
        timer_mod(s->timeout_timer, s->requested_ms + s->timeout_ms);
    }
}

/* A system reset: a pending request is withdrawn, a nap is over. */
void nap_host_reset(NapState *s)
{
    nap_withdraw(s, NAP_UNSETTLED_REASON_CANCELLED);
    if (s->host_state == NAP_HOST_STATE_NAPPING) {
        s->host_state = NAP_HOST_STATE_IDLE;
        nap_set_outcome(s, NAP_OUTCOME_NONE);
    }
}

void nap_host_init(NapState *s)
{
    s->timeout_timer = timer_new_ms(QEMU_CLOCK_REALTIME, nap_timeout_cb, s);
    s->wake_bh = qemu_bh_new(nap_wake_bh, s);
    s->suspend_notifier.notify = nap_guest_suspending;
    qemu_register_suspend_notifier(&s->suspend_notifier);
    s->wakeup_notifier.notify = nap_guest_woken;
    qemu_register_wakeup_notifier(&s->wakeup_notifier);
    s->vmstate_change = qemu_add_vm_change_state_handler(nap_vm_state_change,
                                                         s);
}

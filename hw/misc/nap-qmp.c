/*
 * Nap device, QMP commands: x-query-nap, x-nap-request, x-nap-wake.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qapi/qapi-commands-nap.h"
#include "hw/misc/nap.h"

static NapState *nap_find_or_error(Error **errp)
{
    NapState *s = nap_find();

    if (!s) {
        error_setg(errp, "no nap device (add -device %s)", TYPE_NAP);
    }
    return s;
}

NapInfo *qmp_x_query_nap(Error **errp)
{
    NapState *s = nap_find_or_error(errp);
    NapInfo *info;

    if (!s) {
        return NULL;
    }
    info = g_new0(NapInfo, 1);
    info->state = s->host_state;
    info->seq = s->request_seq;
    info->has_mode = s->request_seq != 0;
    info->mode = s->mode;
    info->guest_state = nap_guest_state_enum(s);
    info->guest_error = s->guest_error;
    info->bad_accesses = s->bad_accesses;
    info->nap_on_snapshot = s->nap_on_snapshot;
    info->timeout_ms = s->timeout_ms;
    info->wake_tai_ns = s->wake_tai_ns;
    return info;
}

void qmp_x_nap_request(bool has_timeout_ms, uint32_t timeout_ms,
                       bool has_mode, NapRequestMode mode, Error **errp)
{
    NapState *s = nap_find_or_error(errp);

    if (!s) {
        return;
    }
    if (!has_timeout_ms) {
        timeout_ms = s->timeout_ms;
    }
    if (timeout_ms < 1 || timeout_ms > NAP_TIMEOUT_MS_MAX) {
        error_setg(errp, "timeout-ms must be 1 to %u, not %" PRIu32,
                   NAP_TIMEOUT_MS_MAX, timeout_ms);
        return;
    }
    nap_request(s, has_mode ? mode : NAP_REQUEST_MODE_AUTO, NAP_TRIGGER_QMP,
                timeout_ms, errp);
}

void qmp_x_nap_wake(Error **errp)
{
    NapState *s = nap_find_or_error(errp);

    if (s) {
        nap_wake(s, errp);
    }
}

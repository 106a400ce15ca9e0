/*
 * Nap device stubs for machines without it (no PC): the QMP commands
 * say so, the snapshot hooks do nothing.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qapi/qapi-commands-nap.h"
#include "hw/misc/nap-hooks.h"

static void nap_unsupported(Error **errp)
{
    error_setg(errp, "this machine type has no nap device");
}

NapInfo *qmp_x_query_nap(Error **errp)
{
    nap_unsupported(errp);
    return NULL;
}

void qmp_x_nap_request(bool has_timeout_ms, uint32_t timeout_ms,
                       bool has_mode, NapRequestMode mode, Error **errp)
{
    nap_unsupported(errp);
}

void qmp_x_nap_wake(Error **errp)
{
    nap_unsupported(errp);
}

bool coroutine_fn nap_snapshot_wait(Job *job, uint32_t *seq)
{
    *seq = 0;
    return true;
}

void nap_snapshot_done(uint32_t seq)
{
}

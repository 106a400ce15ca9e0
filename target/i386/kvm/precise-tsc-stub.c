/*
 * Precise guest TSC save/restore: builds without KVM
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qapi/qapi-commands-precise-tsc-target.h"

PreciseTscInfo *qmp_x_query_precise_tsc(Error **errp)
{
    error_setg(errp, "x-query-precise-tsc needs the KVM accelerator");
    return NULL;
}

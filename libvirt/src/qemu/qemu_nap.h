/*
 * qemu_nap.h: ask a guest to nap (enter S3) before libvirt pauses it
 *
 * The nap device of the qemu-tsc-fork QEMU (docs/nap.md of that project)
 * tells the guest that a long pause is coming; the guest suspends to RAM
 * and, once QEMU starts it again, resumes with its wall clock corrected.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "qemu_conf.h"
#include "qemu_capabilities.h"
#include "virjson.h"

/* What became of the nap libvirt asked for (qemuDomainObjPrivate.nap). */
typedef enum {
    QEMU_NAP_OUTCOME_NONE = 0,  /* no request pending */
    QEMU_NAP_OUTCOME_PENDING,   /* x-nap-request sent, no answer yet */
    QEMU_NAP_OUTCOME_SETTLED,   /* NAP_SETTLED: the guest is in S3 */
    QEMU_NAP_OUTCOME_UNSETTLED, /* NAP_UNSETTLED: it did not nap */
} qemuNapOutcome;

int
qemuNapValidateDef(const virDomainDef *def,
                   virQEMUCaps *qemuCaps);

int
qemuNapBuildDeviceProps(const virDomainDef *def,
                        virJSONValue **props);

void
qemuNapProcessEvent(virDomainObj *vm,
                    const char *eventName,
                    const char *details);

int
qemuNapAndStopCPUs(virQEMUDriver *driver,
                   virDomainObj *vm,
                   virDomainPausedReason reason,
                   virDomainAsyncJob asyncJob);

void
qemuNapRecover(virDomainObj *vm);

bool
qemuNapKeepRunningForSave(virDomainPtr dom,
                          void *opaque);

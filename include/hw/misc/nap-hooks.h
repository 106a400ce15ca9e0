/*
 * Where QEMU's migration code calls the nap device (docs/nap.md).
 * Without the device (or without ACPI) these return at once.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef HW_MISC_NAP_HOOKS_H
#define HW_MISC_NAP_HOOKS_H

#include "qemu/coroutine.h"
#include "qapi/qapi-types-migration.h"

/*
 * Migration thread, without the BQL, before the setup phase: nap the
 * guest if nap-on-migrate is on, and wait until it is in S3, the request
 * times out or *migration_status leaves MIGRATION_STATUS_SETUP.
 */
void nap_migration_wait(const MigrationStatus *migration_status);

/* snapshot-save job, in its coroutine, before the VM is stopped. */
void coroutine_fn nap_snapshot_wait(void);

#endif

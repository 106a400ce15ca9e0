/*
 * Where QEMU's snapshot-save job calls the nap device (docs/nap.md).
 * Without the device (or without ACPI) these return at once.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef HW_MISC_NAP_HOOKS_H
#define HW_MISC_NAP_HOOKS_H

#include "qemu/coroutine.h"
#include "qemu/job.h"

/*
 * snapshot-save job, in its coroutine, before the VM is stopped: nap the
 * guest if nap-on-snapshot is on, and wait until it is in S3, the request
 * times out or @job is cancelled (the wait pauses with the job). *seq is
 * the request's sequence number (0: none). Returns false if the job was
 * cancelled: nothing must be saved.
 */
bool coroutine_fn nap_snapshot_wait(Job *job, uint32_t *seq);

/*
 * snapshot-save job, after the save succeeded or failed: the guest that
 * napped for request @seq of this job and is still asleep is woken (a
 * save that fails before it stops the VM, e.g. on an existing tag, never
 * starts it again).
 */
void nap_snapshot_done(uint32_t seq);

#endif

// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The nap itself: acknowledge the host's request, suspend to RAM through
 * pm_suspend() so timekeeping's own suspend/resume keeps CLOCK_MONOTONIC
 * continuous, and report the outcome in the register block.
 */
#include <linux/errno.h>
#include <linux/suspend.h>

#include "nap.h"

/* Called from the ACPI notify handler: must not sleep for long. */
void nap_handle_request(struct nap_dev *nap)
{
	u32 request = nap_read(nap, NAP_REG_REQUEST);
	u32 seq = nap_read(nap, NAP_REG_REQUEST_SEQ);

	if (request != NAP_REQUEST_NAP) {
		dev_info(nap->dev, "notify without a nap request (%u, seq %u)\n",
			 request, seq);
		return;
	}
	nap_write(nap, NAP_REG_ACK, seq);
	if (READ_ONCE(nap->napping)) {
		dev_info(nap->dev, "nap request seq %u: already napping\n", seq);
		return;
	}
	WRITE_ONCE(nap->napping, true);
	nap_write(nap, NAP_REG_GUEST_STATE, NAP_GUEST_SUSPENDING);
	dev_info(nap->dev, "nap request seq %u acked, suspending to RAM\n", seq);
	/*
	 * pm_suspend() flushes ACPI's notify queue, so it cannot run from
	 * here; the unbound queue is not frozen by the suspend it starts.
	 */
	queue_work(system_unbound_wq, &nap->sleep_work);
}

static void nap_report_refused(struct nap_dev *nap, int err)
{
	u32 code = err < 0 && err > -4096 ? -err : EIO;

	nap_write(nap, NAP_REG_GUEST_ERROR, code);
	nap_write(nap, NAP_REG_GUEST_STATE, NAP_GUEST_REFUSED);
	dev_warn(nap->dev, "nap refused: suspend failed (%d)\n", err);
}

void nap_sleep_work(struct work_struct *work)
{
	struct nap_dev *nap = container_of(work, struct nap_dev, sleep_work);
	int ret;

	ret = pm_suspend(PM_SUSPEND_MEM);
	if (ret) {
		nap_report_refused(nap, ret);
	} else {
		nap_write(nap, NAP_REG_GUEST_STATE, NAP_GUEST_RESUMED);
		dev_info(nap->dev, "resumed from nap\n");
	}
	WRITE_ONCE(nap->napping, false);
}

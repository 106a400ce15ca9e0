/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qemu_nap: guest driver for QEMU's paravirtual nap device (docs/nap.md).
 */
#ifndef QEMU_NAP_H
#define QEMU_NAP_H

#include <linux/device.h>
#include <linux/io.h>
#include <linux/workqueue.h>

#include "qemu-nap-abi.h"

struct nap_dev {
	struct device *dev;
	void __iomem *regs;
	struct work_struct sleep_work;
	/* Set from the ack until the nap's outcome is reported. */
	bool napping;
};

static inline u32 nap_read(struct nap_dev *nap, unsigned int reg)
{
	return ioread32(nap->regs + reg);
}

static inline void nap_write(struct nap_dev *nap, unsigned int reg, u32 val)
{
	iowrite32(val, nap->regs + reg);
}

/* nap_sleep.c */
void nap_sleep_work(struct work_struct *work);
void nap_handle_request(struct nap_dev *nap);

/* nap_time.c */
int nap_correct_realtime(struct nap_dev *nap);

#endif /* QEMU_NAP_H */

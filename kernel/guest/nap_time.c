// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * After a nap the kernel's persistent clock (the CMOS RTC) has put
 * CLOCK_REALTIME back within about a second. The device's time latch
 * gives the host's UTC to the nanosecond: step CLOCK_REALTIME onto it.
 * CLOCK_MONOTONIC is untouched.
 */
#include <linux/ktime.h>
#include <linux/timekeeping.h>

#include "nap.h"

#define NAP_LATCH_TRIES 4

struct nap_latch {
	s64 offset_ns;		/* host UTC minus guest CLOCK_REALTIME */
	s64 window_ns;		/* guest time spent around the latch write */
};

static u64 nap_read_u64(struct nap_dev *nap, unsigned int lo_reg)
{
	u32 lo = nap_read(nap, lo_reg);
	u32 hi = nap_read(nap, lo_reg + 4);

	return (u64)hi << 32 | lo;
}

/*
 * The host samples its clock somewhere between our two reads; taking the
 * midpoint bounds the error by half the window.
 */
static int nap_latch_once(struct nap_dev *nap, struct nap_latch *latch)
{
	u32 seq = nap_read(nap, NAP_REG_TIME_SEQ);
	ktime_t before, after;
	u64 utc_ns;

	before = ktime_get_real();
	nap_write(nap, NAP_REG_TIME_LATCH, NAP_TIME_LATCH_NOW);
	after = ktime_get_real();
	if (nap_read(nap, NAP_REG_TIME_SEQ) == seq)
		return -EIO;
	utc_ns = nap_read_u64(nap, NAP_REG_UTC_NS_LO);
	latch->window_ns = ktime_to_ns(ktime_sub(after, before));
	latch->offset_ns = (s64)utc_ns -
			   (ktime_to_ns(before) + latch->window_ns / 2);
	return 0;
}

/* Keep the narrowest of a few latches: one may have been interrupted. */
static int nap_latch_best(struct nap_dev *nap, struct nap_latch *best)
{
	struct nap_latch latch;
	int i, ret = -EIO;

	for (i = 0; i < NAP_LATCH_TRIES; i++) {
		if (nap_latch_once(nap, &latch))
			continue;
		if (ret || latch.window_ns < best->window_ns)
			*best = latch;
		ret = 0;
	}
	return ret;
}

int nap_correct_realtime(struct nap_dev *nap)
{
	struct nap_latch latch;
	struct timespec64 ts;
	int ret;

	if (!(nap_read(nap, NAP_REG_FEATURES) & NAP_FEATURE_HOST_TIME))
		return -EOPNOTSUPP;
	ret = nap_latch_best(nap, &latch);
	if (ret) {
		dev_warn(nap->dev, "host time latch did not answer\n");
		return ret;
	}
	ts = ktime_to_timespec64(ktime_add_ns(ktime_get_real(),
					      latch.offset_ns));
	ret = do_settimeofday64(&ts);
	if (ret) {
		dev_warn(nap->dev, "setting CLOCK_REALTIME failed (%d)\n", ret);
		return ret;
	}
	dev_info(nap->dev, "CLOCK_REALTIME corrected by %lld ns from host UTC (latch window %lld ns)\n",
		 latch.offset_ns, latch.window_ns);
	return 0;
}

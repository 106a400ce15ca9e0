/*
 * tscprobe: Hyper-V's reference TSC page and reference counter, the
 * clocks Windows guests use (QEMU -cpu ...,hv-time,hv-frequencies).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef TSCPROBE_HVCLOCK_H
#define TSCPROBE_HVCLOCK_H

#include <stdbool.h>
#include <stdint.h>

#include "cpufeatures.h"
#include "kvmclock.h"
#include "tscprobe-results.h"

/*
 * On the BSP, before the APs start: if @f offers the reference TSC page,
 * identify as a guest OS, enable the page and read the frequency MSR.
 * Fills the hv_* header fields; true if every vCPU should read the page.
 */
bool hv_clock_setup(const CpuFeatures *f);

/*
 * kvmclock and reference time from one TSC read: returns kvmclock ns as
 * kvmclock_read() does (@flags, @tsc likewise), stores the page's
 * sequence in @sequence and, unless it is 0 (the page is invalid), the
 * reference time (100 ns units) in @ref.
 */
uint64_t hv_clock_read(const PvclockTimeInfo *pv, uint8_t *flags, uint64_t *tsc,
                   uint64_t *ref, uint32_t *sequence);

/* Record one loop pass: steps, deviation from kvmclock @ns. */
void hv_clock_check(TscprobeHvCpu *rec, bool valid, uint64_t ref,
                    uint32_t sequence, uint64_t ns);

/*
 * vCPU 0, now and then: the reference counter MSR against the page at
 * TSC reads around it.
 */
void hv_clock_check_msr(TscprobeHvCpu *rec);

#endif

/*
 * tscprobe: cross-vCPU TSC warp check.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef TSCPROBE_WARP_H
#define TSCPROBE_WARP_H

#include <stdint.h>

/*
 * Read the TSC under the global lock and compare it with the newest value
 * any vCPU read before.  Returns the TSC; *behind is how far it was below
 * that value (0 when in order).
 */
uint64_t warp_sample(uint64_t *behind);

#endif

/*
 * tscprobe: human-readable progress on COM1.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef TSCPROBE_REPORT_H
#define TSCPROBE_REPORT_H

#include <stdint.h>

/* Print the start-up banner from the filled-in results header. */
void report_start(void);

/* Called by the BSP every pass; prints one line per guest second. */
void report_tick(uint64_t now_tsc);

#endif

/*
 * tscprobe: results table set-up.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "libc.h"
#include "results.h"

void results_init(void)
{
    TscprobeResults *res = results_table();
    memset(res, 0, sizeof(*res));
    res->header.version = TSCPROBE_VERSION;
    res->header.header_size = TSCPROBE_HEADER_SIZE;
    res->header.cpu_record_size = TSCPROBE_CPU_RECORD_SIZE;
    res->header.max_cpus = TSCPROBE_MAX_CPUS;
    res->header.hv_record_size = TSCPROBE_HV_RECORD_SIZE;
    res->header.nested_size = TSCPROBE_NESTED_SIZE;
    for (uint32_t i = 0; i < TSCPROBE_MAX_CPUS; i++) {
        res->cpu[i].index = i;
    }
    /* The magic last: a reader never sees it on a half-built table. */
    __atomic_store_n(&res->header.magic, TSCPROBE_MAGIC, __ATOMIC_RELEASE);
}

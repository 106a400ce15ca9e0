/*
 * Precise guest TSC save/restore: HMP "info precise-tsc"
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "monitor/monitor.h"
#include "monitor/hmp.h"
#include "monitor/hmp-target.h"
#include "qapi/qapi-commands-precise-tsc-target.h"

static void print_restore(Monitor *mon, const PreciseTscRestore *r)
{
    monitor_printf(mon, "last restore: %s, elapsed measured %" PRId64
                   " ns in %s (TAI offsets: source %" PRId64 " s, here %"
                   PRId64 " s), applied %" PRIu64 " ns (limit %" PRIu64
                   " ms), bracket %" PRIu64 " ns, %s, took %" PRId64 " ns\n",
                   PreciseTscElapsedOutcome_str(r->outcome),
                   r->elapsed_measured_ns,
                   PreciseTscTimeBase_str(r->time_base),
                   r->has_source_tai_offset_s ? r->source_tai_offset_s : 0,
                   r->has_tai_offset_s ? r->tai_offset_s : 0,
                   r->elapsed_applied_ns,
                   r->advance_limit_ms, r->bracket_ns,
                   r->from_stream ? "from stream" : "stop/cont",
                   r->restore_ns);
}

void hmp_info_precise_tsc(Monitor *mon, const QDict *qdict)
{
    Error *err = NULL;
    g_autoptr(PreciseTscInfo) info = qmp_x_query_precise_tsc(&err);
    PreciseTscVcpuList *v;

    if (hmp_handle_error(mon, err)) {
        return;
    }
    monitor_printf(mon, "path: %s, tsc_khz: %u, master clock: %s, "
                   "legacy fallbacks: %u\n",
                   PreciseTscPath_str(info->path), info->tsc_khz,
                   info->master_clock ? "on" : "off", info->legacy_fallbacks);
    for (v = info->vcpus; v; v = v->next) {
        monitor_printf(mon, "vcpu %" PRId64 ":", v->value->cpu_index);
        if (v->value->has_tsc_offset) {
            monitor_printf(mon, " offset 0x%016" PRIx64,
                           v->value->tsc_offset);
        }
        if (v->value->has_guest_tsc) {
            monitor_printf(mon, " tsc %" PRIu64, v->value->guest_tsc);
        }
        monitor_printf(mon, "\n");
    }
    if (info->last_restore) {
        print_restore(mon, info->last_restore);
    }
}

/*
 * tscprobe-dump: decode a tscprobe results table from a guest memory dump
 * (e.g. HMP "pmemsave 0x100000 0x6300 FILE") and print it as a readable
 * table and/or as key=value lines for scripts.
 *
 *   tscprobe-dump [--text] [--kv] [--check] [--offset N] FILE
 *
 * Without --text/--kv both forms are printed.  --check exits with status
 * 1 if the magic, version or layout sizes are wrong (and prints nothing
 * else unless --text/--kv is given too).  --offset skips N bytes first,
 * for dumps that start below the table.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <glib.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "tscprobe-results.h"

#if G_BYTE_ORDER != G_LITTLE_ENDIAN
#error "tscprobe-dump reads the little-endian table in place"
#endif

static gboolean opt_text;
static gboolean opt_kv;
static gboolean opt_check;
static gint64 opt_offset;

static const GOptionEntry options[] = {
    { "text", 0, 0, G_OPTION_ARG_NONE, &opt_text,
      "print the human-readable table", NULL },
    { "kv", 0, 0, G_OPTION_ARG_NONE, &opt_kv,
      "print key=value lines", NULL },
    { "check", 0, 0, G_OPTION_ARG_NONE, &opt_check,
      "exit non-zero unless magic, version and layout are right", NULL },
    { "offset", 0, 0, G_OPTION_ARG_INT64, &opt_offset,
      "byte offset of the table in FILE", "N" },
    { NULL }
};

static const char *cpu_state_name(uint32_t state)
{
    switch (state) {
    case TSCPROBE_CPU_ABSENT:
        return "absent";
    case TSCPROBE_CPU_STARTING:
        return "starting";
    case TSCPROBE_CPU_RUNNING:
        return "running";
    case TSCPROBE_CPU_FAILED:
        return "failed";
    default:
        return "invalid";
    }
}

static const char *khz_source_name(uint32_t source)
{
    switch (source) {
    case TSCPROBE_KHZ_CPUID_15:
        return "cpuid-0x15";
    case TSCPROBE_KHZ_CPUID_16:
        return "cpuid-0x16";
    case TSCPROBE_KHZ_KVM_CPUID:
        return "kvm-cpuid";
    case TSCPROBE_KHZ_PIT:
        return "pit";
    case TSCPROBE_KHZ_KVMCLOCK:
        return "kvmclock";
    default:
        return "unknown";
    }
}

static const char *timer_mode_name(uint32_t mode)
{
    switch (mode) {
    case TSCPROBE_TIMER_TSC_DEADLINE:
        return "tsc-deadline";
    case TSCPROBE_TIMER_ONESHOT:
        return "apic-oneshot";
    default:
        return "none";
    }
}

/* Returns NULL if the table is usable, else why not. */
static const char *table_problem(const TscprobeResults *res)
{
    const TscprobeHeader *h = &res->header;

    if (h->magic != TSCPROBE_MAGIC) {
        return "bad magic (not a tscprobe table, or not set up yet)";
    }
    if (h->version != TSCPROBE_VERSION) {
        return "unsupported version";
    }
    if (h->header_size != TSCPROBE_HEADER_SIZE ||
        h->cpu_record_size != TSCPROBE_CPU_RECORD_SIZE ||
        h->max_cpus != TSCPROBE_MAX_CPUS ||
        h->hv_record_size != TSCPROBE_HV_RECORD_SIZE ||
        h->nested_size != TSCPROBE_NESTED_SIZE) {
        return "layout sizes differ from this tool's header";
    }
    if (h->cpus_found > TSCPROBE_MAX_CPUS ||
        h->cpus_up > h->cpus_found) {
        return "inconsistent vCPU counts";
    }
    return NULL;
}

static uint64_t tsc_to_us(const TscprobeHeader *h, uint64_t tsc)
{
    return h->tsc_khz ? tsc * 1000 / h->tsc_khz : 0;
}

static void print_text(const TscprobeResults *res)
{
    const TscprobeHeader *h = &res->header;

    printf("tscprobe results v%" PRIu32 ": %" PRIu32 "/%" PRIu32
           " vCPUs up, TSC %" PRIu64 " kHz (%s), features 0x%" PRIx32 "\n",
           h->version, h->cpus_up, h->cpus_found, h->tsc_khz,
           khz_source_name(h->tsc_khz_source), h->features);
    printf("jump threshold %" PRIu64 " TSC, timer period %" PRIu64
           " TSC, boot TSC %" PRIu64 ", BSP APIC ID %" PRIu32 "\n",
           h->jump_threshold_tsc, h->timer_period_tsc, h->boot_tsc,
           h->bsp_apic_id);
    printf("%-4s %-8s %-4s %-10s %-20s %-9s %-9s %-9s %-9s %-8s %-10s"
           " %-12s\n", "cpu", "state", "apic", "seq", "last_tsc", "loops(k)",
           "tsc_back", "tsc_jump", "warps", "kvc_back", "irqs",
           "late_max_us");
    for (uint32_t i = 0; i < h->cpus_found; i++) {
        const TscprobeCpu *c = &res->cpu[i];

        printf("%-4" PRIu32 " %-8s %-4" PRIu32 " %-10" PRIu32 " %-20"
               PRIu64 " %-9" PRIu64 " %-9" PRIu64 " %-9" PRIu64 " %-9"
               PRIu64 " %-8" PRIu64 " %-10" PRIu64 " %-12" PRIu64 "\n",
               i, cpu_state_name(c->state), c->apic_id, c->seq, c->last_tsc,
               c->loops / 1000, c->tsc_back_count, c->tsc_jump_count,
               c->warp_count, c->kvmclock_back_count, c->timer_irqs,
               tsc_to_us(h, c->timer_late_max));
    }
}

#define KV(prefix, name, fmt, value) \
    printf("%s" name "=%" fmt "\n", prefix, value)

static const char *xen_state_name(uint32_t state)
{
    switch (state) {
    case TSCPROBE_XEN_ABSENT:
        return "absent";
    case TSCPROBE_XEN_ARMED:
        return "armed";
    case TSCPROBE_XEN_FAILED:
        return "failed";
    }
    return "?";
}

/* The Xen timer block; only its state when QEMU does not emulate Xen. */
static void print_kv_xen(const TscprobeHeader *h)
{
    KV("", "xen_state", "s", xen_state_name(h->xen_state));
    if (h->xen_state == TSCPROBE_XEN_ABSENT) {
        return;
    }
    KV("", "xen_port", PRIu32, h->xen_port);
    KV("", "xen_error", PRId32, h->xen_error);
    KV("", "xen_error_step", PRIu32, h->xen_error_step);
    KV("", "xen_period_ns", PRIu64, h->xen_period_ns);
    KV("", "xen_deadline_ns", PRIu64, h->xen_deadline_ns);
    KV("", "xen_fires", PRIu64, h->xen_fires);
    KV("", "xen_early_count", PRIu64, h->xen_early_count);
    KV("", "xen_late_last_ns", PRId64, h->xen_late_last_ns);
    KV("", "xen_late_min_ns", PRId64, h->xen_late_min_ns);
    KV("", "xen_late_max_ns", PRId64, h->xen_late_max_ns);
    KV("", "xen_resume_fires", PRIu64, h->xen_resume_fires);
    KV("", "xen_resume_late_ns", PRId64, h->xen_resume_late_ns);
}

/* Hyper-V header fields; absent unless the guest saw Hyper-V's leaves. */
static void print_kv_hv_header(const TscprobeHeader *h)
{
    KV("", "hv_state", "s",
       h->hv_state == TSCPROBE_HV_ENABLED ? "enabled" : "absent");
    if (!(h->features & TSCPROBE_FEAT_HYPERV)) {
        return;
    }
    KV("", "hv_features", PRIu32, h->hv_features);
    KV("", "hv_tsc_hz", PRIu64, h->hv_tsc_hz);
}

static void print_kv_hv_cpu(const char *p, const TscprobeHvCpu *c)
{
    KV(p, "hv_reads", PRIu64, c->reads);
    KV(p, "hv_invalid_count", PRIu64, c->invalid_count);
    KV(p, "hv_sequence", PRIu32, c->sequence);
    KV(p, "hv_sequence_changes", PRIu32, c->sequence_changes);
    KV(p, "hv_last_ref", PRIu64, c->last_ref);
    KV(p, "hv_back_count", PRIu64, c->back_count);
    KV(p, "hv_back_max", PRIu64, c->back_max);
    KV(p, "hv_jump_count", PRIu64, c->jump_count);
    KV(p, "hv_jump_max", PRIu64, c->jump_max);
    KV(p, "hv_dev_min_ns", PRId64, c->dev_min_ns);
    KV(p, "hv_dev_max_ns", PRId64, c->dev_max_ns);
    KV(p, "hv_resume_ref_step", PRId64, c->resume_ref_step);
    KV(p, "hv_msr_checks", PRIu64, c->msr_checks);
    KV(p, "hv_msr_outside_count", PRIu64, c->msr_outside_count);
    KV(p, "hv_msr_outside_max", PRId64, c->msr_outside_max);
}

static const char *nested_state_name(uint32_t state)
{
    switch (state) {
    case TSCPROBE_NESTED_OFF:
        return "off";
    case TSCPROBE_NESTED_RUNNING:
        return "running";
    case TSCPROBE_NESTED_NO_SVM:
        return "no-svm";
    case TSCPROBE_NESTED_FAILED:
        return "failed";
    }
    return "?";
}

/* The nested probe's block; only its state when it was not asked for. */
static void print_kv_nested(const TscprobeNested *n)
{
    KV("", "nested_state", "s", nested_state_name(n->state));
    if (n->state == TSCPROBE_NESTED_OFF) {
        return;
    }
    KV("", "nested_cpu", PRIu32, n->cpu);
    KV("", "nested_l2_tsc_offset", PRId64, n->l2_tsc_offset);
    KV("", "nested_vmruns", PRIu64, n->vmruns);
    KV("", "nested_exits_intr", PRIu64, n->exits_intr);
    KV("", "nested_exits_other", PRIu64, n->exits_other);
    KV("", "nested_exit_code", "#" PRIx64, n->exit_code);
    KV("", "nested_exit_info1", "#" PRIx64, n->exit_info1);
    KV("", "nested_exit_info2", "#" PRIx64, n->exit_info2);
    KV("", "nested_l2_loops", PRIu64, n->l2_loops);
    KV("", "nested_l2_last_tsc", PRIu64, n->l2_last_tsc);
    KV("", "nested_l2_back_count", PRIu64, n->l2_back_count);
    KV("", "nested_l2_back_max", PRIu64, n->l2_back_max);
    KV("", "nested_l2_jump_count", PRIu64, n->l2_jump_count);
    KV("", "nested_l2_jump_max", PRIu64, n->l2_jump_max);
    KV("", "nested_l2_behind_count", PRIu64, n->l2_behind_count);
    KV("", "nested_l2_behind_max", PRIu64, n->l2_behind_max);
    KV("", "nested_l1_enter_tsc", PRIu64, n->l1_enter_tsc);
    KV("", "nested_ahead_count", PRIu64, n->ahead_count);
    KV("", "nested_ahead_max", PRIu64, n->ahead_max);
    KV("", "nested_exit_gap_max", PRIu64, n->exit_gap_max);
    KV("", "nested_l1_back_count", PRIu64, n->l1_back_count);
    KV("", "nested_l1_back_max", PRIu64, n->l1_back_max);
    KV("", "nested_l1_last_tsc", PRIu64, n->l1_last_tsc);
    KV("", "nested_l2_pvclock_behind_count", PRIu64,
       n->l2_pvclock_behind_count);
    KV("", "nested_l2_pvclock_behind_max", PRIu64, n->l2_pvclock_behind_max);
}

static void print_kv_header(const TscprobeHeader *h)
{
    KV("", "version", PRIu32, h->version);
    KV("", "cpus_found", PRIu32, h->cpus_found);
    KV("", "cpus_up", PRIu32, h->cpus_up);
    KV("", "tsc_khz", PRIu64, h->tsc_khz);
    KV("", "tsc_khz_source", "s", khz_source_name(h->tsc_khz_source));
    KV("", "features", PRIu32, h->features);
    KV("", "jump_threshold_tsc", PRIu64, h->jump_threshold_tsc);
    KV("", "jump_threshold_ns", PRIu64, h->jump_threshold_ns);
    KV("", "timer_period_tsc", PRIu64, h->timer_period_tsc);
    KV("", "boot_tsc", PRIu64, h->boot_tsc);
    KV("", "bsp_apic_id", PRIu32, h->bsp_apic_id);
    print_kv_xen(h);
    print_kv_hv_header(h);
}

static void print_kv_cpu(const char *p, const TscprobeCpu *c)
{
    KV(p, "state", "s", cpu_state_name(c->state));
    KV(p, "apic_id", PRIu32, c->apic_id);
    KV(p, "seq", PRIu32, c->seq);
    KV(p, "loops", PRIu64, c->loops);
    KV(p, "last_tsc", PRIu64, c->last_tsc);
    KV(p, "last_kvmclock_ns", PRIu64, c->last_kvmclock_ns);
    KV(p, "tsc_back_count", PRIu64, c->tsc_back_count);
    KV(p, "tsc_back_max", PRIu64, c->tsc_back_max);
    KV(p, "tsc_back_at", PRIu64, c->tsc_back_at);
    KV(p, "tsc_jump_count", PRIu64, c->tsc_jump_count);
    KV(p, "tsc_jump_max", PRIu64, c->tsc_jump_max);
    KV(p, "tsc_jump_at", PRIu64, c->tsc_jump_at);
    KV(p, "warp_count", PRIu64, c->warp_count);
    KV(p, "warp_max", PRIu64, c->warp_max);
    KV(p, "warp_at", PRIu64, c->warp_at);
    KV(p, "kvmclock", "s",
       c->kvmclock_state == TSCPROBE_KVMCLOCK_ENABLED ? "enabled" : "absent");
    KV(p, "kvmclock_flags", PRIu32, c->kvmclock_flags);
    KV(p, "kvmclock_back_count", PRIu64, c->kvmclock_back_count);
    KV(p, "kvmclock_back_max_ns", PRIu64, c->kvmclock_back_max_ns);
    KV(p, "kvmclock_back_at_ns", PRIu64, c->kvmclock_back_at_ns);
    KV(p, "kvmclock_jump_count", PRIu64, c->kvmclock_jump_count);
    KV(p, "kvmclock_jump_max_ns", PRIu64, c->kvmclock_jump_max_ns);
    KV(p, "kvmclock_jump_at_ns", PRIu64, c->kvmclock_jump_at_ns);
    KV(p, "timer_mode", "s", timer_mode_name(c->timer_mode));
    KV(p, "timer_irqs", PRIu64, c->timer_irqs);
    KV(p, "timer_late_max", PRIu64, c->timer_late_max);
    KV(p, "timer_late_last", PRIu64, c->timer_late_last);
    KV(p, "timer_early_count", PRIu64, c->timer_early_count);
    KV(p, "timer_after_jump_count", PRIu64, c->timer_after_jump_count);
    KV(p, "timer_late_after_jump", PRIu64, c->timer_late_after_jump);
    KV(p, "timer_late_after_jump_max", PRIu64,
       c->timer_late_after_jump_max);
    KV(p, "resume_count", PRIu32, c->resume_count);
    KV(p, "resume_tsc_step", PRId64, c->resume_tsc_step);
    KV(p, "resume_kvmclock_step_ns", PRId64, c->resume_kvmclock_step_ns);
    KV(p, "resume_timer_late", PRIu64, c->resume_timer_late);
}

static void print_kv(const TscprobeResults *res)
{
    print_kv_header(&res->header);
    print_kv_nested(&res->nested);
    for (uint32_t i = 0; i < res->header.cpus_found; i++) {
        char prefix[16];

        snprintf(prefix, sizeof(prefix), "cpu%" PRIu32 ".", i);
        print_kv_cpu(prefix, &res->cpu[i]);
        if (res->header.hv_state == TSCPROBE_HV_ENABLED) {
            print_kv_hv_cpu(prefix, &res->hv[i]);
        }
    }
}

/* Copy the table out of the dump; short dumps are zero-padded. */
static bool load_table(const char *path, TscprobeResults *res)
{
    g_autofree char *data = NULL;
    g_autoptr(GError) err = NULL;
    gsize len;

    if (!g_file_get_contents(path, &data, &len, &err)) {
        fprintf(stderr, "tscprobe-dump: %s\n", err->message);
        return false;
    }
    if (opt_offset < 0 || (gsize)opt_offset + sizeof(TscprobeHeader) > len) {
        fprintf(stderr, "tscprobe-dump: %s: too short for the header\n",
                path);
        return false;
    }
    len -= opt_offset;
    memset(res, 0, sizeof(*res));
    memcpy(res, data + opt_offset, MIN(len, sizeof(*res)));
    return true;
}

int main(int argc, char **argv)
{
    g_autoptr(GOptionContext) ctx = g_option_context_new("FILE");
    g_autoptr(GError) err = NULL;
    static TscprobeResults res;
    const char *problem;

    g_option_context_add_main_entries(ctx, options, NULL);
    g_option_context_set_summary(ctx, "Decode a tscprobe results table "
                                 "dumped with pmemsave.");
    if (!g_option_context_parse(ctx, &argc, &argv, &err) || argc != 2) {
        fprintf(stderr, "tscprobe-dump: %s\n",
                err ? err->message : "expected exactly one FILE");
        return 2;
    }
    if (!load_table(argv[1], &res)) {
        return 2;
    }
    problem = table_problem(&res);
    if (problem) {
        fprintf(stderr, "tscprobe-dump: %s: %s\n", argv[1], problem);
        return 1;
    }
    if (!opt_text && !opt_kv && !opt_check) {
        opt_text = opt_kv = TRUE;
    }
    if (opt_text) {
        print_text(&res);
    }
    if (opt_kv) {
        print_kv(&res);
    }
    return 0;
}

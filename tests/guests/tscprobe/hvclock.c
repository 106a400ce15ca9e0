/*
 * tscprobe: Hyper-V clocks.  KVM derives the reference TSC page from its
 * master clock's kvmclock parameters:
 *
 *   scale  = 2^(32 + shift) * mul / 100
 *   offset = system_time / 100 - ((tsc_timestamp * scale) >> 64)
 *   ref    = ((tsc * scale) >> 64) + offset          (100 ns units)
 *
 * so at one TSC value, kvmclock ns - 100 * ref lies within [-101, 199] ns
 * (the truncations of both computations); anything outside means the two
 * clocks were set from different states, e.g. a restore that updated one
 * and not the other.  The page is valid only while KVM's master clock is
 * on.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "hvclock.h"
#include "results.h"
#include "x86.h"

#define HV_MSR_TIME_REF_COUNT_AVAILABLE (1u << 1)
#define HV_MSR_REFERENCE_TSC_AVAILABLE  (1u << 9)
#define HV_ACCESS_FREQUENCY_MSRS        (1u << 11)

#define HV_X64_MSR_GUEST_OS_ID          0x40000000u
#define HV_X64_MSR_TIME_REF_COUNT       0x40000020u
#define HV_X64_MSR_REFERENCE_TSC        0x40000021u
#define HV_X64_MSR_TSC_FREQUENCY        0x40000022u
#define HV_REFERENCE_TSC_ENABLE         1u

/*
 * Open-source guest OS ID (bit 63), the way Linux builds its own; KVM
 * only needs it non-zero before hypercalls, Windows always sets it.
 */
#define TSCPROBE_GUEST_OS_ID            ((1ull << 63) | 0x7473ull)

/* A forward step of reference time counted as a jump: 1 ms. */
#define HV_JUMP_UNITS                   10000u

typedef struct HvRefTscPage {
    uint32_t sequence;
    uint32_t reserved1;
    uint64_t scale;
    int64_t offset;
    uint8_t reserved2[4072];
} HvRefTscPage;

_Static_assert(sizeof(HvRefTscPage) == 4096, "reference TSC page size");

static HvRefTscPage ref_page __attribute__((aligned(4096)));

bool hv_clock_setup(const CpuFeatures *f)
{
    TscprobeHeader *h = &results_table()->header;
    const uint32_t need = HV_MSR_TIME_REF_COUNT_AVAILABLE |
                          HV_MSR_REFERENCE_TSC_AVAILABLE;

    if (!f->hyperv) {
        return false;
    }
    h->hv_features = f->hv_features;
    if (f->hv_features & HV_ACCESS_FREQUENCY_MSRS) {
        h->hv_tsc_hz = rdmsr(HV_X64_MSR_TSC_FREQUENCY);
    }
    if ((f->hv_features & need) != need || !f->kvmclock) {
        return false;
    }
    wrmsr(HV_X64_MSR_GUEST_OS_ID, TSCPROBE_GUEST_OS_ID);
    wrmsr(HV_X64_MSR_REFERENCE_TSC,
          (uint64_t)(uintptr_t)&ref_page | HV_REFERENCE_TSC_ENABLE);
    h->hv_state = TSCPROBE_HV_ENABLED;
    return true;
}

static uint64_t ref_at(uint64_t tsc, uint64_t scale, int64_t offset)
{
    return (uint64_t)(((unsigned __int128)tsc * scale) >> 64) + offset;
}

/* The page's parameters, consistent with each other; false if invalid. */
static bool page_params(uint64_t *scale, int64_t *offset, uint32_t *seq)
{
    const volatile HvRefTscPage *p = &ref_page;   /* KVM rewrites it */
    uint32_t s;

    do {
        s = p->sequence;
        compiler_barrier();
        *scale = p->scale;
        *offset = p->offset;
        compiler_barrier();
    } while (s != p->sequence);
    *seq = s;
    return s != 0;
}

uint64_t hv_clock_read(const PvclockTimeInfo *pv, uint8_t *flags, uint64_t *tsc,
                   uint64_t *ref, uint32_t *sequence)
{
    const volatile HvRefTscPage *p = &ref_page;    /* KVM rewrites it */
    uint64_t scale, ns;
    int64_t offset;
    uint32_t seq;

    /*
     * The page's parameters before and after the kvmclock read (which
     * reads the TSC inside its own retry loop): unchanged means they
     * held at that TSC value.
     */
    do {
        page_params(&scale, &offset, &seq);
        compiler_barrier();
        ns = kvmclock_read(pv, flags, tsc);
        compiler_barrier();
    } while (p->sequence != seq);

    *sequence = seq;
    if (seq) {
        *ref = ref_at(*tsc, scale, offset);
    }
    return ns;
}

void hv_clock_check(TscprobeHvCpu *rec, bool valid, uint64_t ref,
                    uint32_t sequence, uint64_t ns)
{
    int64_t dev;

    if (sequence != rec->sequence) {
        if (rec->reads || rec->invalid_count) {
            rec->sequence_changes++;
        }
        rec->sequence = sequence;
    }
    if (!valid) {
        rec->invalid_count++;
        return;
    }
    dev = (int64_t)(ns - ref * 100);
    if (!rec->reads || dev < rec->dev_min_ns) {
        rec->dev_min_ns = dev;
    }
    if (!rec->reads || dev > rec->dev_max_ns) {
        rec->dev_max_ns = dev;
    }
    if (rec->reads) {
        if (ref < rec->last_ref) {
            rec->back_count++;
            if (rec->last_ref - ref > rec->back_max) {
                rec->back_max = rec->last_ref - ref;
            }
        } else if (ref - rec->last_ref > HV_JUMP_UNITS) {
            rec->jump_count++;
            if (ref - rec->last_ref > rec->jump_max) {
                rec->jump_max = ref - rec->last_ref;
            }
        }
    }
    rec->last_ref = ref;
    rec->reads++;
}

void hv_clock_check_msr(TscprobeHvCpu *rec)
{
    uint64_t scale, before, after, msr;
    int64_t offset, outside = 0;
    uint32_t seq, seq2;

    if (!page_params(&scale, &offset, &seq)) {
        return;
    }
    before = rdtsc_ordered();
    msr = rdmsr(HV_X64_MSR_TIME_REF_COUNT);
    after = rdtsc_ordered();
    if (!page_params(&scale, &offset, &seq2) || seq2 != seq) {
        return;     /* KVM updated the page meanwhile: try next time */
    }
    before = ref_at(before, scale, offset);
    after = ref_at(after, scale, offset);
    if (msr < before) {
        outside = (int64_t)(before - msr);
    } else if (msr > after) {
        outside = (int64_t)(msr - after);
    }
    rec->msr_checks++;
    if (outside) {
        rec->msr_outside_count++;
        if (outside > rec->msr_outside_max) {
            rec->msr_outside_max = outside;
        }
    }
}

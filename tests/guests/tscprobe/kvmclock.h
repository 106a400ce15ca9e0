/*
 * tscprobe: kvmclock (pvclock) reader.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef TSCPROBE_KVMCLOCK_H
#define TSCPROBE_KVMCLOCK_H

#include <stdint.h>

/* PvclockTimeInfo.flags */
#define PVCLOCK_TSC_STABLE_BIT  (1u << 0)
#define PVCLOCK_GUEST_STOPPED   (1u << 1)   /* set by KVM_KVMCLOCK_CTRL */

/* The per-vCPU time information KVM keeps up to date (pvclock ABI). */
typedef struct PvclockTimeInfo {
    uint32_t version;           /* odd while KVM updates the fields */
    uint32_t pad0;
    uint64_t tsc_timestamp;
    uint64_t system_time;       /* ns at tsc_timestamp */
    uint32_t tsc_to_system_mul; /* 32.32 fixed point, after the shift */
    int8_t tsc_shift;
    uint8_t flags;
    uint8_t pad[2];
} __attribute__((aligned(64))) PvclockTimeInfo;

/* Point MSR_KVM_SYSTEM_TIME_NEW of the calling vCPU at @info. */
void kvmclock_enable(PvclockTimeInfo *info);

/*
 * Current kvmclock in ns; @flags receives the pvclock flags byte and
 * @tsc the TSC the value was computed from (read after the flags were
 * current, so a flag KVM set on resume comes with a TSC read after it).
 */
uint64_t kvmclock_read(const PvclockTimeInfo *info, uint8_t *flags,
                       uint64_t *tsc);

/*
 * The TSC frequency in kHz that KVM's scale in @info stands for, 0 if KVM
 * has not filled @info in.  Point the calling vCPU's kvmclock at @info
 * first, and away again (kvmclock_disable) when done with it.
 */
uint64_t kvmclock_tsc_khz(const PvclockTimeInfo *info);

/* Stop KVM from updating the calling vCPU's kvmclock page. */
void kvmclock_disable(void);

#endif

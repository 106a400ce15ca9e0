/*
 * tscprobe: kvmclock (pvclock) reader.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef TSCPROBE_KVMCLOCK_H
#define TSCPROBE_KVMCLOCK_H

#include <stdint.h>

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

/* Current kvmclock in ns; @flags receives the pvclock flags byte. */
uint64_t kvmclock_read(const PvclockTimeInfo *info, uint8_t *flags);

#endif

/*
 * Paravirtual nap device: the host asks the guest to suspend to RAM
 * before a long pause (docs/nap.md).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef HW_MISC_NAP_H
#define HW_MISC_NAP_H

#include "hw/qdev-core.h"
#include "hw/acpi/bios-linker-loader.h"
#include "exec/memory.h"
#include "qemu/notify.h"
#include "qemu/timer.h"
#include "system/runstate.h"
#include "qom/object.h"
#include "qapi/qapi-types-nap.h"

#define TYPE_NAP "nap"
OBJECT_DECLARE_SIMPLE_TYPE(NapState, NAP)

/* Guest-physical address of the register block (beside vmclock's page). */
#define NAP_MMIO_ADDR 0xfeffa000ULL

#define NAP_TIMEOUT_MS_DEFAULT 10000
#define NAP_TIMEOUT_MS_MAX 600000

struct NapState {
    DeviceState parent_obj;
    MemoryRegion mmio;

    /* Guest-visible registers (ABI: hw/misc/qemu-nap-abi.h) */
    uint32_t request;
    uint32_t request_seq;
    uint32_t ack;
    uint32_t guest_state;
    uint32_t guest_error;
    uint32_t time_seq;
    uint64_t tai_ns;
    uint64_t utc_ns;
    uint64_t wake_tai_ns;
    uint32_t bad_accesses;

    /* Host flow */
    uint32_t host_state;        /* NapHostState */
    uint32_t mode;              /* NapMode of the current/last request */
    int64_t requested_ms;       /* QEMU_CLOCK_REALTIME */
    int64_t napped_wall_ns;     /* host CLOCK_REALTIME when it reached S3 */
    QEMUTimer *timeout_timer;
    QEMUBH *wake_bh;
    int outcome;                /* NapOutcome, for the snapshot job's wait */

    /* Knobs */
    bool nap_on_snapshot;
    bool sleep_button;
    uint32_t timeout_ms;

    Notifier suspend_notifier;
    Notifier wakeup_notifier;
    VMChangeStateEntry *vmstate_change;
    NotifierWithReturn migration_notifier;
};

/* What the last request came to, for a waiter (atomic int). */
typedef enum NapOutcome {
    NAP_OUTCOME_NONE,           /* nothing asked, or still pending */
    NAP_OUTCOME_PENDING,
    NAP_OUTCOME_SETTLED,
    NAP_OUTCOME_UNSETTLED,      /* timeout, refusal or cancel */
} NapOutcome;

/* nap.c */
NapState *nap_find(void);
uint64_t nap_host_tai_ns(void);
void nap_latch_time(NapState *s);

/* nap-acpi.c */
void nap_build_acpi(GArray *table_data, BIOSLinker *linker,
                    const char *oem_id);

/* nap-host.c: the host flow; all with the BQL held. */
bool nap_request(NapState *s, NapRequestMode asked, NapTrigger trigger,
                 uint32_t timeout_ms, Error **errp);
void nap_withdraw(NapState *s, NapUnsettledReason reason);
bool nap_wake(NapState *s, Error **errp);
void nap_guest_state_changed(NapState *s);
NapGuestState nap_guest_state_enum(NapState *s);
void nap_host_init(NapState *s);
void nap_host_reset(NapState *s);
void nap_host_post_load(NapState *s);

/* nap-s3-pm.c */
void nap_keep_pm_block_on_wakeup(void);

/* nap-migration.c */
void nap_migration_init(NapState *s);

#endif

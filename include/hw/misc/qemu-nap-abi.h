/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Guest/host ABI of the paravirtual nap device (docs/nap.md).
 *
 * The host asks the guest to suspend to RAM before a long pause (savevm,
 * migration to a file, a host going to sleep) and, after the wake, offers
 * its wall clock so the guest can correct CLOCK_REALTIME more precisely
 * than the 1 s CMOS RTC allows.
 *
 * Shared, unchanged, by QEMU (hw/misc/nap*.c) and the guest driver
 * (kernel/guest/): constants only, so it needs no type definitions.
 *
 * ACPI: a device with _HID NAP_ACPI_HID whose _CRS is one Memory32Fixed
 * range of NAP_REGION_SIZE bytes (the register block below). The host
 * raises GPE NAP_ACPI_GPE; its _Exx method notifies the nap device with
 * NAP_NOTIFY_REQUEST, or, for guests without a driver, the control-method
 * sleep button (PNP0C0E) with 0x80, as selected by NAP_REG_REQUEST.
 *
 * Registers: little-endian, 32 bits wide, naturally aligned. Any other
 * access width or offset, and any write of a value a register does not
 * accept, is ignored (reads as 0) and counted in NAP_REG_BAD_ACCESSES.
 * 64-bit values are split into _LO and _HI words; read _LO first, both
 * come from the latch named with them.
 */
#ifndef QEMU_NAP_ABI_H
#define QEMU_NAP_ABI_H

#define NAP_ACPI_HID            "QEMU0100"
#define NAP_ACPI_GPE            7       /* GPE0 bit; method \_GPE._E07 */
#define NAP_NOTIFY_REQUEST      0x80    /* Notify(NAP0, 0x80): nap asked */

#define NAP_REGION_SIZE         0x1000
#define NAP_MAGIC               0x3150414eu     /* "NAP1" */
#define NAP_VERSION             1

/* Read-only identification. */
#define NAP_REG_MAGIC           0x00
#define NAP_REG_VERSION         0x04
#define NAP_REG_FEATURES        0x08
#define   NAP_FEATURE_HOST_TIME   (1u << 0)     /* time latch available */

/*
 * Read-only: what the host asks for now, and a sequence number that
 * grows by one with every request (never 0 once a request was made).
 */
#define NAP_REG_REQUEST         0x0c
#define   NAP_REQUEST_NONE        0
#define   NAP_REQUEST_NAP         1     /* driver: suspend to RAM now */
#define   NAP_REQUEST_SLEEP_BUTTON 2    /* no driver: sleep button pressed */
#define NAP_REG_REQUEST_SEQ     0x10

/*
 * Guest-written. NAP_REG_ACK takes only the current NAP_REG_REQUEST_SEQ.
 * NAP_REG_GUEST_STATE takes only the NAP_GUEST_* values; NAP_GUEST_REFUSED
 * comes with a positive errno in NAP_REG_GUEST_ERROR (1..4095).
 */
#define NAP_REG_ACK             0x14
#define NAP_REG_GUEST_STATE     0x18
#define   NAP_GUEST_ABSENT        0     /* no driver bound (reset value) */
#define   NAP_GUEST_READY         1     /* driver bound, can nap */
#define   NAP_GUEST_SUSPENDING    2     /* acked, entering S3 */
#define   NAP_GUEST_REFUSED       3     /* will not nap; see GUEST_ERROR */
#define   NAP_GUEST_RESUMED       4     /* back from S3, clock corrected */
#define NAP_REG_GUEST_ERROR     0x1c

/*
 * Host wall time. Writing NAP_TIME_LATCH_NOW to NAP_REG_TIME_LATCH makes
 * the host read CLOCK_TAI and CLOCK_REALTIME at one instant into the
 * fields below and bump NAP_REG_TIME_SEQ. The guest brackets the write
 * with its own clock reads to bound the error.
 */
#define NAP_REG_TIME_LATCH      0x20
#define   NAP_TIME_LATCH_NOW      1
#define NAP_REG_TIME_SEQ        0x24
#define NAP_REG_TAI_NS_LO       0x28
#define NAP_REG_TAI_NS_HI       0x2c
#define NAP_REG_UTC_NS_LO       0x30
#define NAP_REG_UTC_NS_HI       0x34

/* Host CLOCK_TAI when it last woke the guest from a nap; 0: never. */
#define NAP_REG_WAKE_TAI_NS_LO  0x38
#define NAP_REG_WAKE_TAI_NS_HI  0x3c

/* Read-only count of ignored accesses (diagnostics, saturates). */
#define NAP_REG_BAD_ACCESSES    0x40

#endif /* QEMU_NAP_ABI_H */

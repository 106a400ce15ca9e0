/*
 * Nap device: keep the q35 ACPI PM block across S3.
 *
 * The S3 resume reset puts the ICH9 LPC's PMBASE and ACPI_CTRL back to
 * their defaults, and SeaBIOS' resume path does not program them again
 * (firmware with an S3 boot script, like OVMF, does). Without them the
 * GPE and PM1 blocks are unmapped after the first wake, so a guest could
 * nap only once. The LPC keeps them across its wakeup reset when asked
 * (x-keep-pm-block-on-wakeup, hook patch 0017); the device asks at
 * realize. pc (PIIX4, fixed GPE0 port) does not need it.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "hw/misc/nap.h"
#include "hw/southbridge/ich9.h"

void nap_keep_pm_block_on_wakeup(void)
{
    Object *lpc = object_resolve_path_type("", TYPE_ICH9_LPC_DEVICE, NULL);

    /* Realized already: its qdev property is settable before only. */
    if (lpc) {
        ich9_lpc_keep_pm_block_on_wakeup(ICH9_LPC_DEVICE(lpc));
    }
}

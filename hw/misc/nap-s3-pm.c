/*
 * Nap device: keep the q35 ACPI PM block across S3.
 *
 * The S3 resume reset puts the ICH9 LPC's PMBASE and ACPI_CTRL back to
 * their defaults, and SeaBIOS' resume path does not program them again
 * (firmware with an S3 boot script, like OVMF, does). Without them the
 * GPE and PM1 blocks are unmapped after the first wake, so a guest could
 * nap only once. The device saves both at S3 entry and, after the resume
 * reset and before any vCPU runs, restores them if nobody did.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "hw/misc/nap.h"
#include "hw/pci/pci_device.h"
#include "hw/southbridge/ich9.h"

static PCIDevice *nap_ich9_lpc(void)
{
    Object *lpc = object_resolve_path_type("", TYPE_ICH9_LPC_DEVICE, NULL);

    return lpc ? PCI_DEVICE(lpc) : NULL;
}

void nap_pm_block_save(NapState *s)
{
    PCIDevice *lpc = nap_ich9_lpc();

    s->pm_block_saved = lpc != NULL;
    if (lpc) {
        s->lpc_pmbase = pci_get_long(lpc->config + ICH9_LPC_PMBASE);
        s->lpc_acpi_ctrl = pci_get_byte(lpc->config + ICH9_LPC_ACPI_CTRL);
    }
}

void nap_pm_block_restore(NapState *s)
{
    PCIDevice *lpc = nap_ich9_lpc();

    if (!lpc || !s->pm_block_saved) {
        return;
    }
    s->pm_block_saved = false;
    if (pci_get_long(lpc->config + ICH9_LPC_PMBASE) !=
        ICH9_LPC_PMBASE_DEFAULT) {
        return;     /* the firmware already placed it */
    }
    /* Through config_write, so the LPC remaps the block as for firmware. */
    lpc->config_write(lpc, ICH9_LPC_PMBASE, s->lpc_pmbase, 4);
    lpc->config_write(lpc, ICH9_LPC_ACPI_CTRL, s->lpc_acpi_ctrl, 1);
}

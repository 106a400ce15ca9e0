/*
 * Nap device, ACPI side: its own SSDT with the device, a control-method
 * sleep button and the GPE method that notifies one of them.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "hw/acpi/aml-build.h"
#include "hw/acpi/acpi_dev_interface.h"
#include "hw/misc/nap.h"
#include "hw/misc/qemu-nap-abi.h"

#define NAP_AML_GPE_METHOD "\\_GPE._E07"
#define NAP_AML_DEVICE "\\_SB.NAP0"
#define NAP_AML_SLEEP_BUTTON "\\_SB.SLPB"

QEMU_BUILD_BUG_ON(NAP_ACPI_GPE != 7);
/* The fork's GPE status bit is that GPE, and none of QEMU 10.0's. */
QEMU_BUILD_BUG_ON(ACPI_NAP_REQUEST_STATUS != 1 << NAP_ACPI_GPE);
QEMU_BUILD_BUG_ON(ACPI_NAP_REQUEST_STATUS &
                  (ACPI_PCI_HOTPLUG_STATUS | ACPI_CPU_HOTPLUG_STATUS |
                   ACPI_MEMORY_HOTPLUG_STATUS | ACPI_NVDIMM_HOTPLUG_STATUS |
                   ACPI_VMGENID_CHANGE_STATUS | ACPI_POWER_DOWN_STATUS));

static Aml *nap_aml_device(void)
{
    Aml *dev = aml_device("NAP0");
    Aml *crs = aml_resource_template();
    Aml *field;

    aml_append(dev, aml_name_decl("_HID", aml_string(NAP_ACPI_HID)));
    aml_append(dev, aml_name_decl("_UID", aml_int(0)));
    aml_append(dev, aml_name_decl("_STA", aml_int(0xf)));
    aml_append(crs, aml_memory32_fixed(NAP_MMIO_ADDR, NAP_REGION_SIZE,
                                       AML_READ_WRITE));
    aml_append(dev, aml_name_decl("_CRS", crs));

    /* The GPE method reads NAP_REG_REQUEST to pick whom to notify. */
    aml_append(dev, aml_operation_region("NAPR", AML_SYSTEM_MEMORY,
                                         aml_int(NAP_MMIO_ADDR +
                                                 NAP_REG_REQUEST), 4));
    field = aml_field("NAPR", AML_DWORD_ACC, AML_NOLOCK, AML_PRESERVE);
    aml_append(field, aml_named_field("RQST", 32));
    aml_append(dev, field);
    return dev;
}

static Aml *nap_aml_sleep_button(void)
{
    Aml *dev = aml_device("SLPB");

    aml_append(dev, aml_name_decl("_HID", aml_string("PNP0C0E")));
    aml_append(dev, aml_name_decl("_STA", aml_int(0xf)));
    return dev;
}

static Aml *nap_aml_gpe_method(void)
{
    Aml *method = aml_method(NAP_AML_GPE_METHOD, 0, AML_NOTSERIALIZED);
    Aml *button = aml_if(aml_equal(aml_name(NAP_AML_DEVICE ".RQST"),
                                   aml_int(NAP_REQUEST_SLEEP_BUTTON)));
    Aml *nap = aml_else();

    aml_append(button, aml_notify(aml_name(NAP_AML_SLEEP_BUTTON),
                                  aml_int(0x80)));
    aml_append(method, button);
    aml_append(nap, aml_notify(aml_name(NAP_AML_DEVICE),
                               aml_int(NAP_NOTIFY_REQUEST)));
    aml_append(method, nap);
    return method;
}

void nap_build_acpi(GArray *table_data, BIOSLinker *linker,
                    const char *oem_id)
{
    AcpiTable table = { .sig = "SSDT", .rev = 1, .oem_id = oem_id,
                        .oem_table_id = "QEMUNAP" };
    Aml *ssdt, *scope;

    acpi_table_begin(&table, table_data);
    ssdt = init_aml_allocator();
    scope = aml_scope("\\_SB");
    aml_append(scope, nap_aml_device());
    aml_append(scope, nap_aml_sleep_button());
    aml_append(ssdt, scope);
    aml_append(ssdt, nap_aml_gpe_method());
    g_array_append_vals(table_data, ssdt->buf->data, ssdt->buf->len);
    acpi_table_end(linker, &table);
    free_aml_allocator();
}

/*
 * The fork's machine types (include/hw/i386/precise-machine.h)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "hw/boards.h"
#include "hw/qdev-core.h"
#include "system/kvm.h"
#include "hw/i386/precise-machine.h"

/*
 * A compat property of the KVM accelerator object: the machine's compat
 * properties apply to it before the -accel options, so an explicit
 * "-accel kvm,precise-tsc=off" (or =on on an upstream type) still wins.
 */
static GlobalProperty precise_machine_compat[] = {
    /* Defensive: never an error on an accelerator without the property. */
    { TYPE_KVM_ACCEL, "precise-tsc", "on", .optional = true },
};

void precise_machine_options(MachineClass *mc)
{
    /* Upstream's desc is a string literal; this one lives as long as mc. */
    mc->desc = g_strdup_printf("%s, precise guest time", mc->desc);
    compat_props_add(mc->compat_props, precise_machine_compat,
                     G_N_ELEMENTS(precise_machine_compat));
}

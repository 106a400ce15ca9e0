/*
 * The fork's machine types: upstream's newest PC machine types with
 * precise guest time on (docs/precise-tsc.md, "Migration contract").
 *
 * A machine type that stock QEMU 10.0 also has (pc-q35-10.0,
 * pc-i440fx-10.0 and older) keeps stock's migration stream and stock's
 * guest-visible TSC behaviour, so a VM started on the fork with one of
 * them migrates to and from stock QEMU. The fork's own types, named as
 * distributions name theirs (<upstream type>-precise<N>), turn the
 * precise TSC path on through a compat property of the KVM accelerator,
 * and the "q35" and "pc" aliases point at them. N grows whenever the
 * fork changes what such a VM migrates or what its guest sees.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef HW_I386_PRECISE_MACHINE_H
#define HW_I386_PRECISE_MACHINE_H

#include "hw/boards.h"

/* What the fork's machine types add to the upstream type they extend. */
void precise_machine_options(MachineClass *mc);

/*
 * DEFINE_PRECISE_PC_MACHINE(pc_q35, "pc-q35", pc_q35_init, false, "q35",
 *                           10, 0, 1) defines "pc-q35-10.0-precise1":
 * pc_q35_machine_10_0_options() plus precise_machine_options(), with the
 * given default flag and alias (which the upstream type gives up).
 */
#define DEFINE_PRECISE_PC_MACHINE(namesym, namestr, initfn, isdefault,      \
                                  malias, major, minor, fork)               \
    static void namesym##_precise_##major##_##minor##_##fork##_class_init(  \
        ObjectClass *oc, void *data)                                        \
    {                                                                       \
        MachineClass *mc = MACHINE_CLASS(oc);                               \
        namesym##_machine_##major##_##minor##_options(mc);                  \
        precise_machine_options(mc);                                        \
        mc->init = initfn;                                                  \
        MACHINE_VER_DEPRECATION(major, minor);                              \
        mc->is_default = isdefault;                                         \
        mc->alias = malias;                                                 \
    }                                                                       \
    static const TypeInfo                                                   \
    namesym##_precise_##major##_##minor##_##fork##_info = {                 \
        .name = MACHINE_TYPE_NAME(namestr "-" stringify(major) "."          \
                                  stringify(minor) "-precise"               \
                                  stringify(fork)),                         \
        .parent = TYPE_PC_MACHINE,                                          \
        .class_init =                                                       \
            namesym##_precise_##major##_##minor##_##fork##_class_init,      \
    };                                                                      \
    static void namesym##_precise_##major##_##minor##_##fork##_register(    \
        void)                                                               \
    {                                                                       \
        /* Deprecated and deleted with the upstream type it extends. */     \
        MACHINE_VER_DELETION(major, minor);                                 \
        type_register_static(                                               \
            &namesym##_precise_##major##_##minor##_##fork##_info);          \
    }                                                                       \
    type_init(namesym##_precise_##major##_##minor##_##fork##_register)

#endif

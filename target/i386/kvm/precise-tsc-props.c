/*
 * Precise guest TSC save/restore: accelerator properties
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/timer.h"
#include "qapi/visitor.h"
#include "qom/object.h"
#include "precise-tsc.h"
#include "precise-tsc-int.h"

static bool get_enabled(Object *obj, Error **errp)
{
    return precise_tsc.enabled;
}

static void set_enabled(Object *obj, bool value, Error **errp)
{
    precise_tsc.enabled = value;
}

static void get_advance_limit(Object *obj, Visitor *v, const char *name,
                              void *opaque, Error **errp)
{
    uint64_t value = precise_tsc.advance_limit_ms;

    visit_type_uint64(v, name, &value, errp);
}

static void set_advance_limit(Object *obj, Visitor *v, const char *name,
                              void *opaque, Error **errp)
{
    uint64_t value;

    if (!visit_type_uint64(v, name, &value, errp)) {
        return;
    }
    if (value > UINT64_MAX / SCALE_MS) {
        error_setg(errp, "precise-tsc-advance-limit: %" PRIu64 " ms is too "
                   "large", value);
        return;
    }
    precise_tsc.advance_limit_ms = value;
}

void precise_tsc_accel_class_init(ObjectClass *oc)
{
    object_class_property_add_bool(oc, "precise-tsc", get_enabled,
                                   set_enabled);
    object_class_property_set_description(oc, "precise-tsc",
        "Save/restore guest TSC and kvmclock from one VM-wide instant "
        "through TSC offsets (default: on with the fork's machine types "
        "pc-*-precise<N>, off with upstream ones; off: stock QEMU "
        "behaviour and migration stream)");
    object_class_property_add(oc, "precise-tsc-advance-limit", "uint64",
                              get_advance_limit, set_advance_limit,
                              NULL, NULL);
    object_class_property_set_description(oc, "precise-tsc-advance-limit",
        "Longest pause, in ms, whose real elapsed time is added to the "
        "guest's TSC and kvmclock on restore; longer pauses freeze guest "
        "time (default 10000)");
}

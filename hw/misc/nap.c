/*
 * Paravirtual nap device: register block, properties, migration state.
 * The host flow is in nap-host.c, the ACPI table in nap-acpi.c.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/log.h"
#include "qapi/error.h"
#include "qapi/visitor.h"
#include "hw/misc/nap.h"
#include "hw/acpi/acpi_dev_interface.h"
#include "hw/i386/e820_memory_layout.h"
#include "migration/vmstate.h"
#include "exec/address-spaces.h"
#include "system/reset.h"
#include "hw/misc/qemu-nap-abi.h"

NapState *nap_find(void)
{
    return NAP(object_resolve_path_type("", TYPE_NAP, NULL));
}

static uint64_t clock_ns(clockid_t id)
{
    struct timespec ts;

    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * NANOSECONDS_PER_SECOND + ts.tv_nsec;
}

uint64_t nap_host_tai_ns(void)
{
    return clock_ns(CLOCK_TAI);
}

/* TAI and UTC of one instant: UTC is the midpoint of two reads around TAI */
void nap_latch_time(NapState *s)
{
    uint64_t utc_before = clock_ns(CLOCK_REALTIME);
    uint64_t tai = clock_ns(CLOCK_TAI);
    uint64_t utc_after = clock_ns(CLOCK_REALTIME);

    s->tai_ns = tai;
    s->utc_ns = utc_before + (utc_after - utc_before) / 2;
    s->time_seq++;
}

static void nap_bad_access(NapState *s, const char *what, hwaddr addr,
                           unsigned size)
{
    if (s->bad_accesses < UINT32_MAX) {
        s->bad_accesses++;
    }
    qemu_log_mask(LOG_GUEST_ERROR, "nap: ignored %s at 0x%" HWADDR_PRIx
                  " size %u\n", what, addr, size);
}

static bool nap_access_ok(hwaddr addr, unsigned size)
{
    return size == 4 && !(addr & 3) && addr <= NAP_REG_BAD_ACCESSES;
}

static uint64_t nap_reg_value(NapState *s, hwaddr addr, bool *known)
{
    *known = true;
    switch (addr) {
    case NAP_REG_MAGIC:
        return NAP_MAGIC;
    case NAP_REG_VERSION:
        return NAP_VERSION;
    case NAP_REG_FEATURES:
        return NAP_FEATURE_HOST_TIME;
    case NAP_REG_REQUEST:
        return s->request;
    case NAP_REG_REQUEST_SEQ:
        return s->request_seq;
    case NAP_REG_ACK:
        return s->ack;
    case NAP_REG_GUEST_STATE:
        return s->guest_state;
    case NAP_REG_GUEST_ERROR:
        return s->guest_error;
    case NAP_REG_TIME_LATCH:
        return 0;
    case NAP_REG_TIME_SEQ:
        return s->time_seq;
    case NAP_REG_TAI_NS_LO:
        return (uint32_t)s->tai_ns;
    case NAP_REG_TAI_NS_HI:
        return s->tai_ns >> 32;
    case NAP_REG_UTC_NS_LO:
        return (uint32_t)s->utc_ns;
    case NAP_REG_UTC_NS_HI:
        return s->utc_ns >> 32;
    case NAP_REG_WAKE_TAI_NS_LO:
        return (uint32_t)s->wake_tai_ns;
    case NAP_REG_WAKE_TAI_NS_HI:
        return s->wake_tai_ns >> 32;
    case NAP_REG_BAD_ACCESSES:
        return s->bad_accesses;
    }
    *known = false;
    return 0;
}

static uint64_t nap_mmio_read(void *opaque, hwaddr addr, unsigned size)
{
    NapState *s = opaque;
    bool known = false;
    uint64_t val = 0;

    if (nap_access_ok(addr, size)) {
        val = nap_reg_value(s, addr, &known);
    }
    if (!known) {
        nap_bad_access(s, "read", addr, size);
        return 0;
    }
    return val;
}

static bool nap_guest_state_ok(NapState *s, uint64_t val)
{
    switch (val) {
    case NAP_GUEST_ABSENT:
    case NAP_GUEST_READY:
    case NAP_GUEST_SUSPENDING:
    case NAP_GUEST_RESUMED:
        return true;
    case NAP_GUEST_REFUSED:
        return s->guest_error >= 1 && s->guest_error <= 4095;
    }
    return false;
}

/* Returns false for a write the register does not accept. */
static bool nap_reg_write(NapState *s, hwaddr addr, uint64_t val)
{
    switch (addr) {
    case NAP_REG_ACK:
        if (!s->request_seq || val != s->request_seq) {
            return false;
        }
        s->ack = val;
        return true;
    case NAP_REG_GUEST_STATE:
        if (!nap_guest_state_ok(s, val)) {
            return false;
        }
        s->guest_state = val;
        nap_guest_state_changed(s);
        return true;
    case NAP_REG_GUEST_ERROR:
        if (val > 4095) {
            return false;
        }
        s->guest_error = val;
        return true;
    case NAP_REG_TIME_LATCH:
        if (val != NAP_TIME_LATCH_NOW) {
            return false;
        }
        nap_latch_time(s);
        return true;
    }
    return false;
}

static void nap_mmio_write(void *opaque, hwaddr addr, uint64_t val,
                           unsigned size)
{
    NapState *s = opaque;

    if (!nap_access_ok(addr, size) || !nap_reg_write(s, addr, val)) {
        nap_bad_access(s, "write", addr, size);
    }
}

/* Every width and alignment reaches the handlers, so bad ones are counted */
static const MemoryRegionOps nap_mmio_ops = {
    .read = nap_mmio_read,
    .write = nap_mmio_write,
    .endianness = DEVICE_LITTLE_ENDIAN,
    .valid = { .min_access_size = 1, .max_access_size = 8, .unaligned = true },
    .impl = { .min_access_size = 1, .max_access_size = 8, .unaligned = true },
};

static int nap_post_load(void *opaque, int version_id)
{
    NapState *s = opaque;

    if (s->host_state > NAP_HOST_STATE_NAPPING || s->mode >= NAP_MODE__MAX) {
        return -EINVAL;
    }
    nap_host_post_load(s);
    return 0;
}

static const VMStateDescription vmstate_nap = {
    .name = TYPE_NAP,
    .version_id = 1,
    .minimum_version_id = 1,
    .post_load = nap_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT32(request, NapState),
        VMSTATE_UINT32(request_seq, NapState),
        VMSTATE_UINT32(ack, NapState),
        VMSTATE_UINT32(guest_state, NapState),
        VMSTATE_UINT32(guest_error, NapState),
        VMSTATE_UINT32(time_seq, NapState),
        VMSTATE_UINT64(tai_ns, NapState),
        VMSTATE_UINT64(utc_ns, NapState),
        VMSTATE_UINT64(wake_tai_ns, NapState),
        VMSTATE_UINT32(bad_accesses, NapState),
        VMSTATE_UINT32(host_state, NapState),
        VMSTATE_UINT32(mode, NapState),
        VMSTATE_INT64(napped_wall_ns, NapState),
        /*
         * The q35 PM block the device once kept across S3 itself (now
         * the LPC's, patch 0017): bool, bool, u32, u8.
         */
        VMSTATE_UNUSED(7),
        VMSTATE_END_OF_LIST()
    },
};

/*
 * QEMU's reset types tell an S3 resume (RESET_TYPE_WAKEUP: the bound
 * driver and the nap stay, nap_guest_woken() ends it) from a system
 * reset or snapshot load (the guest that napped is gone: its driver
 * state, the nap and the saved PM block go with it).
 */
static void nap_reset_hold(Object *obj, ResetType type)
{
    NapState *s = NAP(obj);

    if (type == RESET_TYPE_WAKEUP) {
        return;
    }
    s->ack = 0;
    s->guest_state = NAP_GUEST_ABSENT;
    s->guest_error = 0;
    nap_host_reset(s);
}

static void nap_realize(DeviceState *dev, Error **errp)
{
    NapState *s = NAP(dev);

    if (!nap_find()) {
        error_setg(errp, "at most one %s device is permitted", TYPE_NAP);
        return;
    }
    if (!object_resolve_path_type("", TYPE_ACPI_DEVICE_IF, NULL)) {
        error_setg(errp, "%s needs a machine with ACPI (pc or q35)",
                   TYPE_NAP);
        return;
    }
    memory_region_init_io(&s->mmio, OBJECT(dev), &nap_mmio_ops, s,
                          "nap-regs", NAP_REGION_SIZE);
    memory_region_add_subregion_overlap(get_system_memory(), NAP_MMIO_ADDR,
                                        &s->mmio, 1);
    e820_add_entry(NAP_MMIO_ADDR, NAP_REGION_SIZE, E820_RESERVED);
    nap_keep_pm_block_on_wakeup();
    /* Not on a bus: typed resets reach it through the root container. */
    qemu_register_resettable(OBJECT(dev));
    nap_host_init(s);
    nap_migration_init(s);
}

static bool nap_get_on_snapshot(Object *obj, Error **errp)
{
    return NAP(obj)->nap_on_snapshot;
}

static void nap_set_on_snapshot(Object *obj, bool value, Error **errp)
{
    NAP(obj)->nap_on_snapshot = value;
}

static bool nap_get_sleep_button(Object *obj, Error **errp)
{
    return NAP(obj)->sleep_button;
}

static void nap_set_sleep_button(Object *obj, bool value, Error **errp)
{
    NAP(obj)->sleep_button = value;
}

static void nap_get_timeout(Object *obj, Visitor *v, const char *name,
                            void *opaque, Error **errp)
{
    uint32_t val = NAP(obj)->timeout_ms;

    visit_type_uint32(v, name, &val, errp);
}

static void nap_set_timeout(Object *obj, Visitor *v, const char *name,
                            void *opaque, Error **errp)
{
    uint32_t val;

    if (!visit_type_uint32(v, name, &val, errp)) {
        return;
    }
    if (val < 1 || val > NAP_TIMEOUT_MS_MAX) {
        error_setg(errp, "%s must be 1 to %u (ms), not %" PRIu32, name,
                   NAP_TIMEOUT_MS_MAX, val);
        return;
    }
    NAP(obj)->timeout_ms = val;
}

static void nap_instance_init(Object *obj)
{
    NapState *s = NAP(obj);

    s->timeout_ms = NAP_TIMEOUT_MS_DEFAULT;
    s->sleep_button = true;
}

static void nap_class_init(ObjectClass *klass, void *data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);
    ResettableClass *rc = RESETTABLE_CLASS(klass);

    dc->vmsd = &vmstate_nap;
    rc->phases.hold = nap_reset_hold;
    dc->realize = nap_realize;
    dc->hotpluggable = false;
    dc->desc = "paravirtual nap (suspend the guest before a long pause)";
    set_bit(DEVICE_CATEGORY_MISC, dc->categories);

    /* Class properties, unlike qdev ones, can be set with qom-set later. */
    object_class_property_add_bool(klass, "nap-on-snapshot",
                                   nap_get_on_snapshot, nap_set_on_snapshot);
    object_class_property_add_bool(klass, "sleep-button",
                                   nap_get_sleep_button,
                                   nap_set_sleep_button);
    object_class_property_add(klass, "timeout-ms", "uint32",
                              nap_get_timeout, nap_set_timeout, NULL, NULL);
}

static const TypeInfo nap_info = {
    .name = TYPE_NAP,
    .parent = TYPE_DEVICE,
    .instance_size = sizeof(NapState),
    .instance_init = nap_instance_init,
    .class_init = nap_class_init,
};

static void nap_register_types(void)
{
    type_register_static(&nap_info);
}

type_init(nap_register_types)

/*
 * prepare-for-shutdown BUS-ADDRESS: on the D-Bus bus at BUS-ADDRESS, take
 * logind's name (org.freedesktop.login1) and emit its
 * Manager.PrepareForShutdown(true) signal, what systemd-logind sends when
 * the host begins to shut down. libvirt daemons subscribe to it on the
 * system bus and run their host-shutdown actions (qemu.conf
 * auto_shutdown_*). The signal must come from the name's owner: libvirt
 * subscribes with sender org.freedesktop.login1. For tests/libvirt only.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <gio/gio.h>
#include <stdio.h>

int main(int argc, char **argv)
{
    GError *err = NULL;
    GDBusConnection *bus;
    GVariant *reply;
    guint32 owned;

    if (argc != 2) {
        fprintf(stderr, "usage: prepare-for-shutdown BUS-ADDRESS\n");
        return 2;
    }
    bus = g_dbus_connection_new_for_address_sync(
        argv[1], G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
        G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION, NULL, NULL, &err);
    if (!bus) {
        fprintf(stderr, "prepare-for-shutdown: %s\n", err->message);
        return 1;
    }
    reply = g_dbus_connection_call_sync(
        bus, "org.freedesktop.DBus", "/org/freedesktop/DBus",
        "org.freedesktop.DBus", "RequestName",
        g_variant_new("(su)", "org.freedesktop.login1", 0),
        G_VARIANT_TYPE("(u)"), G_DBUS_CALL_FLAGS_NONE, -1, NULL, &err);
    if (!reply) {
        fprintf(stderr, "prepare-for-shutdown: RequestName: %s\n",
                err->message);
        return 1;
    }
    g_variant_get(reply, "(u)", &owned);
    g_variant_unref(reply);
    if (owned != 1) {   /* DBUS_REQUEST_NAME_REPLY_PRIMARY_OWNER */
        fprintf(stderr, "prepare-for-shutdown: not the owner of "
                "org.freedesktop.login1 (%u)\n", owned);
        return 1;
    }
    if (!g_dbus_connection_emit_signal(
            bus, NULL, "/org/freedesktop/login1",
            "org.freedesktop.login1.Manager", "PrepareForShutdown",
            g_variant_new("(b)", TRUE), &err) ||
        !g_dbus_connection_flush_sync(bus, NULL, &err)) {
        fprintf(stderr, "prepare-for-shutdown: %s\n", err->message);
        return 1;
    }
    return 0;
}

#!/usr/bin/python3
"""libvirt 11's own host shutdown path (qemu.conf auto_shutdown_try_save,
auto_shutdown_restore; the replacement for libvirt-guests) with the
fork's libvirt and <pm><nap enabled='yes'/>: when its session ends, the
daemon managed-saves its running guests; started again, it restores
them. Upstream pauses every guest before the saves, which would keep
the guest from napping: the series leaves nap guests running so the
managed save naps them (patches/libvirt, domain_driver.c).

The session's end is real: the daemon runs on a private D-Bus session
bus (dbus-daemon as nobody), and the bus going away is what a desktop
logout looks like to it. LV_AUTOSHUTDOWN_PAUSE (15) seconds away; after
the restore the guest runs, its CLOCK_REALTIME within 50 ms of the host,
CLOCK_MONOTONIC did not count the time away."""
import os
import subprocess
import time

from virtlib import (NS, as_nobody, boot_id, define_and_start, domain_log,
                     fmt_ms, run, wait_state)

PAUSE = int(os.environ.get("LV_AUTOSHUTDOWN_PAUSE", "15"))
MAX_ERR_NS = 50 * 1000000
DOM = "autosave"


def session_bus(w):
    """A private D-Bus session bus run by nobody: (process, address)."""
    path = os.path.join(w.subdir("dbus"), "bus")
    bus = subprocess.Popen(
        as_nobody(["dbus-daemon", "--session", "--nofork", "--nopidfile",
                   "--address=unix:path=" + path]),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 10
    while not os.path.exists(path) and time.time() < deadline:
        time.sleep(0.1)
    return bus, "unix:path=" + path


def main(tap, w):
    buses = []
    try:
        autoshutdown(tap, w, buses)
    finally:
        for bus in buses:
            if bus.poll() is None:
                bus.kill()
                bus.wait()


def autoshutdown(tap, w, buses):
    bus, address = session_bus(w)
    buses.append(bus)
    d = w.daemon("session", "fork",
                 qemu_conf={"auto_shutdown_try_save": '"persistent"',
                            "auto_shutdown_restore": "1"},
                 env={"DBUS_SESSION_BUS_ADDRESS": address,
                      "LIBVIRT_AUTOSTART": "1"})
    tap.note("libvirt: " + d.version())
    a = define_and_start(d, w, DOM, nap="<nap enabled='yes' timeout='20'/>")
    bid = boot_id(a)
    before = a.probe_best()
    a.close()

    # The session ends: the daemon saves its guests and exits.
    t0 = time.time()
    bus.terminate()
    bus.wait(10)
    try:
        d.proc.wait(180)
    except subprocess.TimeoutExpired:
        pass
    took = time.time() - t0
    tap.check(d.proc.returncode is not None,
              "session end: the daemon saved its guests and exited "
              "(%.1f s)" % took, d.stderr_text()[-1500:])
    d.out.close()
    log = domain_log(d, DOM)
    tap.check("guest napped in" in log,
              "session end: the guest napped before its managed save "
              "(domain log)", log[-1500:])

    time.sleep(PAUSE)
    bus, address = session_bus(w)
    buses.append(bus)
    d.env["DBUS_SESSION_BUS_ADDRESS"] = address
    d.start()
    st = wait_state(d, DOM, "running", 60)
    tap.check(st.startswith("running"),
              "restart: the daemon restored the guest, running (%s)" % st)
    a.wait_up(120)
    after = a.probe_best()
    err = after["err_ns"]
    tap.note("fig.libvirt.autoshutdown.realtime_error_ms.nap=%.3f"
             % (err / 1e6))
    tap.check(boot_id(a) == bid, "restart: the guest did not reboot")
    tap.check(abs(err) <= MAX_ERR_NS,
              "restart: guest CLOCK_REALTIME within 50 ms of the host after "
              "%d s away (%s)" % (PAUSE, fmt_ms(err)))
    host = after["host_mono"] - before["host_mono"]
    mono = after["mono"] - before["mono"]
    tap.check(0 < mono < host - (PAUSE - 5) * NS,
              "restart: guest CLOCK_MONOTONIC did not count the time away "
              "(%.1f s of %.1f s)" % (mono / NS, host / NS))
    a.close()
    # Not a second session end with a guest to save: destroy it first.
    d.virsh("destroy", DOM)


if __name__ == "__main__":
    run(main)

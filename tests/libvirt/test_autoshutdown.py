#!/usr/bin/python3
"""libvirt 11's own host-shutdown path (qemu.conf auto_shutdown_try_save,
auto_shutdown_restore; the successor of libvirt-guests) with the fork's
libvirt and <pm><nap enabled='yes'/>: when the host begins to shut down,
the daemon managed-saves its running guests; when it starts again after
the boot, it restores them. Upstream pauses every guest before the saves
("so save is quicker"), which would keep it from napping: the series
leaves nap guests running so their managed save naps them
(patches/libvirt, domain_driver.c).

The shutdown is what libvirt sees of a real one: the daemon's system bus
is a private dbus-daemon (run by nobody), on which
prepare-for-shutdown.c takes logind's name and sends
PrepareForShutdown(true). The boot: the daemon stops, its run directory
loses the "autostarted" mark (/run is empty after a boot), and it starts
again. LV_AUTOSHUTDOWN_PAUSE (15) seconds "powered off"; after the
restore the guest runs, its CLOCK_REALTIME within 50 ms of the host,
CLOCK_MONOTONIC did not count the time away."""
import glob
import os
import subprocess
import time

from virtlib import (NS, REPO, as_nobody, boot_id, define_and_start,
                     domain_log, fmt_ms, run, wait_state)

PAUSE = int(os.environ.get("LV_AUTOSHUTDOWN_PAUSE", "15"))
MAX_ERR_NS = 50 * 1000000
DOM = "autosave"
PREPARE = os.path.join(REPO, "build/libvirt/prepare-for-shutdown")


def private_bus(w):
    """A private D-Bus bus run by nobody: (process, address)."""
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
    bus, address = private_bus(w)
    d = w.daemon("host", "fork",
                 qemu_conf={"auto_shutdown_try_save": '"persistent"',
                            "auto_shutdown_restore": "1"},
                 env={"DBUS_SYSTEM_BUS_ADDRESS": address})
    try:
        host_shutdown(tap, w, d, address)
    finally:
        # The daemon (and its guest) before its bus.
        d.virsh("destroy", DOM, check=False)
        d.stop()
        bus.kill()
        bus.wait()


def host_shutdown(tap, w, d, address):
    tap.note("libvirt: " + d.version())
    a = define_and_start(d, w, DOM, nap="<nap enabled='yes' timeout='20'/>")
    bid = boot_id(a)
    before = a.probe_best()
    a.close()

    # The host begins to shut down: logind's signal.
    t0 = time.time()
    r = subprocess.run(as_nobody([PREPARE, address]), capture_output=True,
                       text=True)
    tap.check(r.returncode == 0, "logind's PrepareForShutdown sent on the "
              "daemon's system bus", r.stderr)
    st = wait_state(d, DOM, "shut off", 120)
    took = time.time() - t0
    info = d.virsh("dominfo", DOM)
    tap.check(st.startswith("shut off") and "Managed save:   yes" in info,
              "host shutdown: the daemon managed-saved the guest (%s, "
              "%.1f s)" % (st, took), info)
    log = domain_log(d, DOM)
    tap.check("guest napped in" in log,
              "host shutdown: the guest napped before its managed save "
              "(domain log)", log[-1500:])

    # Powered off, then booted: the daemon starts with an empty /run.
    d.stop()
    time.sleep(PAUSE)
    for mark in glob.glob(os.path.join(d.home, "run/libvirt/*/run/"
                                       "autostarted")):
        os.unlink(mark)
    d.start()
    st = wait_state(d, DOM, "running", 60)
    tap.check(st.startswith("running"),
              "boot: the daemon restored the guest, running (%s)" % st)
    a.wait_up(120)
    after = a.probe_best()
    err = after["err_ns"]
    tap.note("fig.libvirt.autoshutdown.realtime_error_ms.nap=%.3f"
             % (err / 1e6))
    tap.check(boot_id(a) == bid, "boot: the guest did not reboot")
    tap.check(abs(err) <= MAX_ERR_NS,
              "boot: guest CLOCK_REALTIME within 50 ms of the host after "
              "%d s away (%s)" % (PAUSE, fmt_ms(err)))
    host = after["host_mono"] - before["host_mono"]
    mono = after["mono"] - before["mono"]
    tap.check(0 < mono < host - (PAUSE - 5) * NS,
              "boot: guest CLOCK_MONOTONIC did not count the time away "
              "(%.1f s of %.1f s)" % (mono / NS, host / NS))
    a.close()


if __name__ == "__main__":
    run(main)

#!/usr/bin/python3
"""Debian 12's own libvirt (9.0, unpatched) drives the fork's QEMU: the
nap test guest, with the nap device passed through <qemu:commandline> as
docs/nap.md says, goes through libvirt's flows and keeps running (same
boot id, CLOCK_MONOTONIC went on, its agent answers):
  save/restore, managedsave + start, internal snapshot with memory +
  revert, live migration to a second daemon ("host"), the documented
  manual nap sequence (x-nap-request, pmsuspended, save --running,
  restore), dompmwakeup of a napping guest, dompmsuspend + dompmwakeup
  through the guest agent (plain S3, no nap), and domtime: read, --now
  and --sync set a guest clock put 10 s wrong (napagent's minimal guest
  agent, tests/nap/guest/napagent.c)."""
import time

from virtlib import (NS, boot_id, define_and_start, fmt_ms, qcow2,
                     query_nap, run, wait_state, write_xml, agent)

DOM = "unpatched"


def still_running(tap, d, a, what, bid, before):
    st = wait_state(d, DOM, "running", 60)
    tap.check(st.startswith("running"), "%s: domain running (%s)" % (what, st))
    now = a.wait_up(120)
    tap.check(boot_id(a) == bid, "%s: guest did not reboot (same boot id)"
              % what)
    tap.check(now["mono"] > before["mono"],
              "%s: guest CLOCK_MONOTONIC went on" % what)
    return now


def wait_guest_agent(d, dom, timeout=120):
    """Until libvirt reaches the guest agent (guest-ping); the last
    error, or None."""
    deadline = time.time() + timeout
    while True:
        r = d.virsh("qemu-agent-command", dom, '{"execute":"guest-ping"}',
                    check=False)
        if r.returncode == 0 or time.time() > deadline:
            return None if r.returncode == 0 else r.stderr.strip()
        time.sleep(0.5)


def domtime_checks(tap, d, a):
    """virsh domtime through the guest agent: read a guest clock put
    10 s behind, then set it from the host (--now) and from the guest's
    RTC (--sync)."""
    a.sh("date -s @%d" % (time.time() - 10))
    guest_s = int(d.virsh("domtime", DOM).split()[-1])
    host_s = time.time()
    tap.check(abs(guest_s - (host_s - 10)) < 2,
              "domtime: reads the guest's clock, put 10 s behind (%d s, "
              "host %.1f s)" % (guest_s, host_s))
    # Whole seconds both ways: virsh --now sends the host's time
    # truncated to a second; --sync has the guest read its RTC, whose
    # seconds also tick at their own phase (set once, at QEMU's start).
    for how, bound_ms in (("--now", 1500), ("--sync", 2500)):
        a.sh("date -s @%d" % (time.time() - 10))
        before = a.probe()["err_ns"]
        d.virsh("domtime", how, DOM)
        after = a.probe()["err_ns"]
        tap.check(before < -8 * NS and abs(after) < bound_ms * NS // 1000,
                  "domtime %s: a guest clock %s off is set to %s "
                  "(bound %d ms)" % (how, fmt_ms(before), fmt_ms(after),
                                     bound_ms))


def main(tap, w):
    d = w.daemon("debian-a", "debian")
    d2 = w.daemon("debian-b", "debian")
    tap.note("libvirt: " + d.version())
    disk = qcow2(w, DOM)
    a = define_and_start(d, w, DOM, nap="cmdline", disk=disk)
    q = query_nap(d, DOM)
    tap.check(q["state"] == "idle" and q["guest-state"] == "ready",
              "define + start with -device nap via <qemu:commandline>: "
              "device idle, guest driver ready", q)
    bid = boot_id(a)
    last = a.probe()

    # save / restore
    f = w.file("save.img")
    d.virsh("save", DOM, f)
    tap.check(d.state(DOM).startswith("shut off"), "save: domain shut off")
    d.virsh("restore", f)
    last = still_running(tap, d, a, "save/restore", bid, last)

    # managedsave / start
    d.virsh("managedsave", DOM)
    info = d.virsh("dominfo", DOM)
    tap.check("Managed save:   yes" in info, "managedsave: image kept",
              info)
    d.virsh("start", DOM)
    last = still_running(tap, d, a, "managedsave/start", bid, last)

    # internal snapshot with memory, changed guest, revert
    d.virsh("snapshot-create-as", DOM, "s1")
    rc, out = a.sh("mkdir -p /tmp && echo after-snapshot > /tmp/marker"
                   " && cat /tmp/marker")
    tap.check(rc == 0, "snapshot: the guest wrote a file after it", out)
    d.virsh("snapshot-revert", DOM, "s1")
    last = still_running(tap, d, a, "snapshot/revert", bid, last)
    rc, out = a.sh("cat /tmp/marker")
    tap.check(rc != 0, "snapshot/revert: the guest is back at the snapshot "
              "(its later file is gone)", out)
    d.virsh("snapshot-delete", DOM, "s1")

    # the manual nap sequence docs/libvirt.md gives for an unpatched libvirt
    d.virsh("qemu-monitor-command", DOM, '{"execute":"x-nap-request"}')
    st = wait_state(d, DOM, "pmsuspended", 60)
    tap.check(st.startswith("pmsuspended"),
              "manual nap: x-nap-request makes the domain pmsuspended (%s)"
              % st)
    d.virsh("save", "--running", DOM, f)
    d.virsh("restore", f)
    last = still_running(tap, d, a, "manual nap + save --running/restore",
                         bid, last)

    # dompmwakeup of a guest that napped
    d.virsh("qemu-monitor-command", DOM, '{"execute":"x-nap-request"}')
    st = wait_state(d, DOM, "pmsuspended", 60)
    tap.check(st.startswith("pmsuspended"), "nap again: pmsuspended (%s)" % st)
    d.virsh("dompmwakeup", DOM)
    last = still_running(tap, d, a, "dompmwakeup", bid, last)

    # dompmsuspend / dompmwakeup: libvirt asks the guest agent for S3
    err = wait_guest_agent(d, DOM)
    tap.check(err is None, "guest agent: libvirt reaches it (guest-ping)",
              err)
    err0 = a.probe_best()["err_ns"]
    d.virsh("dompmsuspend", DOM, "mem")
    st = wait_state(d, DOM, "pmsuspended", 60)
    tap.check(st.startswith("pmsuspended"),
              "dompmsuspend mem: domain pmsuspended (%s)" % st)
    q = query_nap(d, DOM)
    tap.check(q["state"] == "idle",
              "dompmsuspend mem: a plain S3, not a nap (device %s)"
              % q["state"], q)
    time.sleep(5)
    d.virsh("dompmwakeup", DOM)
    last = still_running(tap, d, a, "dompmsuspend + dompmwakeup", bid, last)
    # What 5 s of S3 added to the guest's CLOCK_REALTIME error.
    tap.note("fig.libvirt.dompmsuspend_5s.realtime_error_ms=%.3f"
             % ((a.probe_best()["err_ns"] - err0) / 1e6))
    domtime_checks(tap, d, a)

    # live migration to a second daemon: its own agent socket path, else
    # the same XML (libvirt's ABI check allows a chardev path change)
    destdir = w.subdir("dest")
    xml = d.virsh("dumpxml", "--migratable", DOM)
    for chardev in ("agent", "console", "qga"):
        xml = xml.replace("%s/%s.%s" % (w.path, DOM, chardev),
                          "%s/%s.%s" % (destdir, DOM, chardev))
    dest = write_xml(w, DOM + "-dest", xml)
    t0 = time.time()
    d.virsh("migrate", "--live", "--unsafe", "--xml", dest, DOM, d2.uri,
            "tcp://127.0.0.1", timeout=300)
    tap.note("live migration took %.1f s" % (time.time() - t0))
    tap.check(d2.state(DOM).startswith("running"),
              "migrate --live: running on the second daemon")
    tap.check(d.virsh("list", "--name") == "",
              "migrate --live: gone from the first daemon")
    a.close()
    a2 = agent(destdir, DOM)
    now = a2.wait_up(120)
    tap.check(boot_id(a2) == bid and now["mono"] > last["mono"],
              "migrate --live: same guest, CLOCK_MONOTONIC went on")
    a2.close()
    d2.virsh("destroy", DOM)


if __name__ == "__main__":
    run(main)

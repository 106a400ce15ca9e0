#!/usr/bin/python3
"""The fork's libvirt (patches/libvirt) with <pm><nap enabled='yes'/>:
save/restore, managedsave/start, snapshot/revert and the host shutdown
path (libvirt-guests stop with ON_SHUTDOWN=suspend, then start) each
with LV_PAUSE (30) seconds away. libvirt asks the guest to nap before it pauses it, and
after restore, start or revert the guest is running (not paused, not
asleep), its CLOCK_REALTIME within 50 ms of the host without domtime, and
its CLOCK_MONOTONIC did not count the time away. Beside it, in the same
run and with the same gap, Debian's unpatched libvirt 9.0 with the same
guest and no nap: the stock figure (about the gap behind).
Then a guest without the nap driver: saved after the domain's timeout,
the QEMU event NAP_UNSETTLED reaches a libvirt client and the domain log
says the guest did not nap. And the XML: round trip, validation."""
import os
import subprocess
import time

from virtlib import (NS, LibvirtGuests, as_nobody, boot_id,
                     define_and_start, domain_log, domain_xml, fmt_ms,
                     log_since, qcow2, query_nap, run, wait_nap_state,
                     wait_state, write_xml, VirshError)

PAUSE = int(os.environ.get("LV_PAUSE", "30"))
# LV_OPS="save": only these operations and nothing else (make demo)
ONLY_OPS = os.environ.get("LV_OPS", "").split()
assert not set(ONLY_OPS) - {"save", "managedsave", "snapshot",
                            "libvirt-guests"}, ONLY_OPS
MAX_ERR_NS = 50 * 1000000
NAP = "<nap enabled='yes' timeout='20'/>"

# (name, how the guest goes away, how it comes back); None: both guests
# at once through libvirt-guests.sh (stop, start)
OPS = [
    ("save", lambda d, dom, f: d.virsh("save", dom, f),
     lambda d, dom, f: d.virsh("restore", f)),
    ("managedsave", lambda d, dom, f: d.virsh("managedsave", dom),
     lambda d, dom, f: d.virsh("start", dom)),
    ("snapshot", lambda d, dom, f: d.virsh("snapshot-create-as", dom, f),
     lambda d, dom, f: d.virsh("snapshot-revert", dom, f)),
    ("libvirt-guests", None, None),
]


def host_shutdown_path(tap, lg, action):
    """libvirt-guests ACTION for all the test's guests at once."""
    r = lg.run(action)
    tap.check(r.returncode == 0, "libvirt-guests %s (ON_SHUTDOWN=suspend, "
              "ON_BOOT=start) succeeded" % action, r.stdout)


def check_xml(tap, fork, w):
    bad = domain_xml("bad", w.path, nap=NAP).replace(
        "<suspend-to-mem enabled='yes'/>", "<suspend-to-mem enabled='no'/>")
    try:
        fork.virsh("define", write_xml(w, "bad", bad))
        ok, err = False, "defined"
    except VirshError as e:
        ok, err = "suspend-to-mem" in str(e), str(e)
    tap.check(ok, "validation: nap with suspend-to-mem disabled is refused",
              err)
    try:
        fork.virsh("define", write_xml(w, "bad2", domain_xml(
            "bad2", w.path, nap="<nap enabled='yes' timeout='601'/>")))
        ok, err = False, "defined"
    except VirshError as e:
        ok, err = "timeout" in str(e), str(e)
    tap.check(ok, "validation: a nap timeout over 600 s is refused", err)


def main(tap, w):
    fork = w.daemon("fork", "fork")
    deb = w.daemon("debian", "debian")
    tap.note("patched: %s; stock: %s" % (fork.version(), deb.version()))
    if not ONLY_OPS:
        check_xml(tap, fork, w)

    guests = {
        "nap": (fork, define_and_start(fork, w, "nap", nap=NAP,
                                       disk=qcow2(w, "nap"))),
        "stock": (deb, define_and_start(deb, w, "stock",
                                        disk=qcow2(w, "stock"))),
    }
    xml = fork.virsh("dumpxml", "nap")
    tap.check(NAP in xml, "dumpxml keeps <nap enabled='yes' timeout='20'/>",
              xml)
    tap.check('"driver":"nap"' in domain_log(fork, "nap"),
              "the QEMU command line has the nap device",
              domain_log(fork, "nap")[-2000:])
    bids = {k: boot_id(a) for k, (d, a) in guests.items()}
    lg = LibvirtGuests(w, [fork, deb])

    for op, away, back in OPS:
        if ONLY_OPS and op not in ONLY_OPS:
            continue
        before = {k: a.probe_best() for k, (d, a) in guests.items()}
        log0 = domain_log(fork, "nap")
        for k, (d, a) in guests.items():
            a.close()
            if away:
                away(d, k, w.file("%s-%s.img" % (k, op)) if op != "snapshot"
                     else op)
        if not away:
            host_shutdown_path(tap, lg, "stop")
        if op != "snapshot":
            tap.check(fork.state("nap").startswith("shut off"),
                      "%s: nap domain saved" % op)
        gained = log_since(fork, "nap", log0)
        tap.check("guest napped in" in gained,
                  "%s: libvirt napped the guest first (domain log)" % op,
                  gained)
        time.sleep(PAUSE)
        log1 = domain_log(fork, "nap")
        for k, (d, a) in guests.items():
            if back:
                back(d, k, w.file("%s-%s.img" % (k, op)) if op != "snapshot"
                     else op)
        if not back:
            host_shutdown_path(tap, lg, "start")
        after = {}
        for k, (d, a) in guests.items():
            st = wait_state(d, k, "running", 30)
            tap.check(st.startswith("running"),
                      "%s: %s domain running after it came back (%s)"
                      % (op, k, st))
            a.wait_up(120)
            after[k] = a.probe_best()
            tap.check(boot_id(a) == bids[k], "%s: %s guest did not reboot"
                      % (op, k))
        err_nap = after["nap"]["err_ns"]
        # The stock guest's clock only ever falls further behind: what
        # this operation added to its error.
        err_stock = after["stock"]["err_ns"] - before["stock"]["err_ns"]
        tap.note("fig.libvirt.%s.realtime_error_ms.nap=%.3f"
                 % (op, err_nap / 1e6))
        tap.note("fig.libvirt.%s.realtime_error_ms.stock=%.3f"
                 % (op, err_stock / 1e6))
        tap.note("summary: %s, %d s away: guest CLOCK_REALTIME error: "
                 "Debian's libvirt (no nap) %s, fork's libvirt + nap %s"
                 % (op, PAUSE, fmt_ms(err_stock), fmt_ms(err_nap)))
        tap.check(abs(err_nap) <= MAX_ERR_NS,
                  "%s: nap guest CLOCK_REALTIME within 50 ms of the host "
                  "after %d s away (%s; stock libvirt %s)"
                  % (op, PAUSE, fmt_ms(err_nap), fmt_ms(err_stock)))
        tap.check(-(PAUSE + 60) * NS < err_stock < -(PAUSE - 5) * NS,
                  "%s: stock guest CLOCK_REALTIME fell about %d s behind "
                  "(%.2f s)" % (op, PAUSE, err_stock / NS))
        b, a = before["nap"], after["nap"]
        host = a["host_mono"] - b["host_mono"]
        mono = a["mono"] - b["mono"]
        tap.check(0 < mono < host - (PAUSE - 5) * NS,
                  "%s: nap guest CLOCK_MONOTONIC did not count the time away "
                  "(%.1f s of %.1f s)" % (op, mono / NS, host / NS))
        gained = log_since(fork, "nap", log1)
        tap.check("guest woken after a nap" in gained,
                  "%s: domain log says the guest was woken" % op, gained)
        if op == "snapshot":
            for k, (d, a) in guests.items():
                d.virsh("snapshot-delete", k, op)

    if ONLY_OPS:
        return

    # A guest without the driver (and no sleep-button policy) never naps.
    # The event listener registers while the guest boots, well before
    # the save.
    ev = subprocess.Popen(
        as_nobody([fork.bins["virsh"], "-c", fork.uri, "qemu-monitor-event",
                   "--event", "NAP_UNSETTLED", "--timeout", "240"]),
        env=fork.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True)
    mute_to = 3
    a = define_and_start(fork, w, "mute", append="nap.driver=0",
                         nap="<nap enabled='yes' timeout='%d'/>" % mute_to)
    a.close()
    t0 = time.time()
    fork.virsh("save", "mute", w.file("mute.img"))
    took = time.time() - t0
    try:
        out = ev.communicate(timeout=60)[0]
    except subprocess.TimeoutExpired:
        ev.kill()
        out = ev.communicate()[0] + " (no event 60 s after the save)"
    tap.note("no driver: save took %.1f s (timeout %d s)" % (took, mute_to))
    tap.check(fork.state("mute").startswith("shut off") and
              mute_to <= took < mute_to + 30,
              "no driver: saved anyway after the timeout (%.1f s)" % took)
    tap.check("NAP_UNSETTLED" in out and "mute" in out and "timeout" in out,
              "no driver: a libvirt client got NAP_UNSETTLED (reason "
              "timeout)", out)
    tap.check("guest did not nap" in domain_log(fork, "mute"),
              "no driver: the domain log says the guest did not nap",
              domain_log(fork, "mute")[-1500:])
    fork.virsh("restore", w.file("mute.img"))
    st = wait_state(fork, "mute", "running", 30)
    tap.check(st.startswith("running"), "no driver: restored and running")

    # virsh domjobabort while libvirt waits for a guest that never naps:
    # the save ends at once, failed, and the guest runs on un-napped.
    a = define_and_start(fork, w, "abort", append="nap.driver=0",
                         nap="<nap enabled='yes' timeout='120'/>")
    save = subprocess.Popen(
        as_nobody([fork.bins["virsh"], "-c", fork.uri, "save", "abort",
                   w.file("abort.img")]),
        env=fork.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True)
    q = wait_nap_state(fork, "abort", "requested")
    tap.check(q["state"] == "requested",
              "domjobabort: the save is waiting for the nap", q)
    t0 = time.time()
    fork.virsh("domjobabort", "abort")
    try:
        out = save.communicate(timeout=60)[0]
    except subprocess.TimeoutExpired:
        save.kill()
        out = save.communicate()[0] + " (still running 60 s after the abort)"
    took = time.time() - t0
    tap.check(save.returncode != 0 and took < 20,
              "domjobabort during the nap wait: the save fails at once "
              "(%.1f s)" % took, out)
    st = wait_state(fork, "abort", "running", 30)
    img = w.file("abort.img")
    tap.check(st.startswith("running") and
              (not os.path.exists(img) or os.path.getsize(img) == 0),
              "domjobabort: the domain runs on, no image (%s)" % st)
    q = query_nap(fork, "abort")
    tap.check(q["state"] == "idle",
              "domjobabort: the nap request was withdrawn (device idle)", q)
    a.wait_up(30)

    # The daemon dies while it waits for the nap: the restarted daemon
    # recovers the save job as cancelled, and the request it made must
    # not be left pending (nor the guest napping) with no save to come.
    save = subprocess.Popen(
        as_nobody([fork.bins["virsh"], "-c", fork.uri, "save", "abort",
                   w.file("abort.img")]),
        env=fork.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    q = wait_nap_state(fork, "abort", "requested")
    tap.check(q["state"] == "requested",
              "daemon crash: the save was waiting for the nap", q)
    fork.crash()
    save.wait(30)
    fork.start()
    st = wait_state(fork, "abort", "running", 30)
    q = query_nap(fork, "abort")
    tap.check(st.startswith("running") and q["state"] == "idle",
              "daemon crash: after the restart the domain runs and the "
              "request is withdrawn (%s)" % st, q)
    a.wait_up(30)
    for k, (d, a) in guests.items():
        a.close()


if __name__ == "__main__":
    run(main)

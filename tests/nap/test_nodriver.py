#!/usr/bin/python3
"""Guests without the nap driver, side by side, each asked to nap
(x-nap-request), migrated to a file and restored:
 - one with a userspace sleep-button policy: the host presses the ACPI
   sleep button, the guest suspends, the save proceeds after NAP_SETTLED;
 - one with no policy at all: nothing answers, the save proceeds when the
   timeout expires, and NAP_UNSETTLED says so.
Both migrations complete and both guests run afterwards."""
import os
import time

from naplib import settle, NS, boot, event, fmt_ms, guest_log, \
    request_nap, restore_from_file, run, wait_nap

TIMEOUT_MS = 3000


def main(tap, w):
    props = ",timeout-ms=%d" % TIMEOUT_MS
    btn = boot(w, "button", nap_props=props,
               append="nap.driver=0 nap.sleeppolicy=1")
    mute = boot(w, "mute", nap_props=props, append="nap.driver=0")
    rc, out = btn.agent.sh("grep -l 'Sleep Button' /sys/class/input/*/name")
    tap.check(rc == 0, "button guest: ACPI sleep button bound (no nap driver)",
              "\n".join(out))
    f_btn = os.path.join(w.path, "button.mig")
    f_mute = os.path.join(w.path, "mute.mig")
    t0 = time.time()
    # Both asked at once; the mute one answers only by the timeout.
    since_btn, since_mute = request_nap(btn), request_nap(mute)
    wait_nap(btn, since_btn)
    wait_nap(mute, since_mute)
    btn.qmp.cmd("migrate", uri="file:" + f_btn)
    mute.qmp.cmd("migrate", uri="file:" + f_mute)
    st_btn, st_mute = btn.wait_migration(120), mute.wait_migration(120)
    tap.check(st_btn == "completed", "button guest: save completed", st_btn)
    tap.check(st_mute == "completed", "mute guest: save completed", st_mute)

    req = event(btn, "NAP_REQUESTED")
    settled = event(btn, "NAP_SETTLED")
    tap.check(req is not None and req["data"]["mode"] == "sleep-button",
              "button guest: the host pressed the sleep button", req)
    tap.check(settled is not None and event(btn, "NAP_UNSETTLED") is None,
              "button guest: reached S3 through its own policy (NAP_SETTLED)",
              btn.qmp.events)

    timeout = event(mute, "NAP_UNSETTLED")
    tap.check(timeout is not None and
              timeout["data"]["reason"] == "timeout" and
              event(mute, "NAP_SETTLED") is None,
              "mute guest: NAP_UNSETTLED (reason timeout), saved anyway",
              mute.qmp.events)
    if timeout:
        ms = timeout["data"]["elapsed-ms"]
        tap.check(TIMEOUT_MS <= ms < TIMEOUT_MS + 2000,
                  "mute guest: the host waited the timeout, no longer (%d ms)"
                  % ms)
    btn.quit()
    mute.quit()
    time.sleep(5)

    btn2 = restore_from_file(w, "button-restored", f_btn, nap_props=props)
    mute2 = restore_from_file(w, "mute-restored", f_mute, nap_props=props)
    tap.check(event(btn2, "NAP_WAKE", 30) is not None,
              "button guest: woken after the restore (NAP_WAKE)",
              btn2.qmp.events)
    a_btn, a_mute = settle(btn2), settle(mute2)
    tap.note("CLOCK_REALTIME error after restore: button guest %s (CMOS"
             " RTC only), mute guest %s (never slept)"
             % (fmt_ms(a_btn["err_ns"]), fmt_ms(a_mute["err_ns"])))
    tap.check(abs(a_btn["err_ns"]) < 2.5 * NS,
              "button guest: clock back within the RTC's steps")
    log = guest_log(btn2, "PM: suspend (entry|exit)|S3")
    tap.check(any("suspend exit" in line for line in log),
              "button guest: its log shows the suspend and resume",
              "\n".join(log))
    tap.check(btn2.qmp.status() == "running" and
              mute2.qmp.status() == "running", "both restored guests run")
    tap.note("save, 5 s away and restore took %.1f s" % (time.time() - t0))


run(main)

#!/usr/bin/python3
"""Migrate to a file, stay away NAP_PAUSE seconds (30), restore: once with
the nap device (the guest napped first, as a management layer does:
x-nap-request, NAP_SETTLED, migrate) and once stock, side by side. With the nap
the guest's CLOCK_REALTIME is within 50 ms of the host after the restore,
CLOCK_MONOTONIC did not count the pause, and the guest log shows a clean
S3 suspend/resume; stock, the guest is about the pause behind."""
import os
import time

from naplib import (CLEAN_NAP_LOG, BAD_LOG, NS, boot, event, fmt_ms, settle,
                    guest_log, log_in_order, nap as nap_first,
                    restore_from_file, run)

PAUSE = int(os.environ.get("NAP_PAUSE", "30"))
MAX_ERR_NS = 50 * 1000000


def save(vm, path):
    vm.qmp.cmd("migrate", uri="file:" + path)
    return vm.wait_migration(120)


def main(tap, w):
    nap = boot(w, "nap")
    stock = boot(w, "stock", nap=False)
    before = {"nap": nap.agent.probe(), "stock": stock.agent.probe()}
    f_nap = os.path.join(w.path, "nap.mig")
    f_stock = os.path.join(w.path, "stock.mig")

    # The nap guest naps first; then both saves run at once.
    outcome = nap_first(nap)
    nap.qmp.cmd("migrate", uri="file:" + f_nap)
    stock.qmp.cmd("migrate", uri="file:" + f_stock)
    st_nap, st_stock = nap.wait_migration(120), stock.wait_migration(120)
    tap.check(st_nap == "completed" and st_stock == "completed",
              "both saves completed", "nap: %s, stock: %s" % (st_nap, st_stock))
    req = event(nap, "NAP_REQUESTED")
    settled = event(nap, "NAP_SETTLED")
    tap.check(req is not None and req["data"]["trigger"] == "qmp"
              and req["data"]["mode"] == "nap",
              "x-nap-request asked the guest to nap (NAP_REQUESTED, mode nap)",
              req)
    tap.check(outcome is not None and outcome["event"] == "NAP_SETTLED" and
              event(nap, "NAP_UNSETTLED") is None,
              "the guest reached S3 before the save (NAP_SETTLED)",
              nap.qmp.events)
    if settled:
        tap.note("time to settle: %d ms" % settled["data"]["elapsed-ms"])
        tap.note("fig.settle_ms=%d" % settled["data"]["elapsed-ms"])
    nap.quit()
    stock.quit()

    time.sleep(PAUSE)

    t0 = time.time()
    nap2 = restore_from_file(w, "nap-restored", f_nap)
    stock2 = restore_from_file(w, "stock-restored", f_stock, nap=False)
    wake = event(nap2, "NAP_WAKE", 30)
    after_nap = settle(nap2)
    t_wake = time.time() - t0
    after_stock = settle(stock2)
    tap.check(wake is not None, "the restored guest was woken (NAP_WAKE)",
              wake)
    tap.note("restore to guest answering: %.2f s" % t_wake)
    tap.note("fig.wake_ms=%.0f" % (t_wake * 1000))

    err_nap, err_stock = after_nap["err_ns"], after_stock["err_ns"]
    # Machine-readable, for make demo and make bench (scripts/demo_nap.py).
    tap.note("fig.realtime_error_ms.nap=%.3f" % (err_nap / 1e6))
    tap.note("fig.realtime_error_ms.stock=%.3f" % (err_stock / 1e6))
    tap.note("CLOCK_REALTIME error after %d s away: nap %s (probe rtt %s),"
             " stock %s" % (PAUSE, fmt_ms(err_nap),
                            fmt_ms(after_nap["rtt_ns"]), fmt_ms(err_stock)))
    tap.check(abs(err_nap) <= MAX_ERR_NS,
              "nap: guest CLOCK_REALTIME within 50 ms of the host (%s)"
              % fmt_ms(err_nap))
    tap.check(-(PAUSE + 60) * NS < err_stock < -(PAUSE - 5) * NS,
              "stock: guest CLOCK_REALTIME about %d s behind (%.2f s)"
              % (PAUSE, err_stock / NS))

    # MONOTONIC counts only the time the guest ran; BOOTTIME all of it.
    b, a = before["nap"], after_nap
    host = a["host_mono"] - b["host_mono"]
    mono, boot_ns = a["mono"] - b["mono"], a["boot"] - b["boot"]
    napped = wake["data"]["napped-ms"] * 1000000 if wake else 0
    tap.note("host %.2f s, guest MONOTONIC %.2f s, BOOTTIME %.2f s,"
             " napped %.2f s" % (host / NS, mono / NS, boot_ns / NS,
                                 napped / NS))
    tap.check(0 < mono < host - (PAUSE - 5) * NS,
              "nap: CLOCK_MONOTONIC did not jump over the pause")
    tap.check(abs(boot_ns - host) < 2 * NS,
              "nap: CLOCK_BOOTTIME moved forward by the time away")

    log = guest_log(nap2)
    missing = log_in_order(log, CLEAN_NAP_LOG)
    tap.check(missing is None, "nap: guest log shows a clean suspend/resume",
              "missing: %s\n%s" % (missing, "\n".join(log)) if missing
              else "\n".join(log))
    import re
    bad = [line for line in log if re.search(BAD_LOG, line)]
    tap.check(not bad, "nap: no suspend errors in the guest log",
              "\n".join(bad))
    q = nap2.qmp.cmd("x-query-nap")
    tap.check(q["guest-state"] == "resumed" and q["state"] == "idle",
              "nap: device idle, guest reports resumed", q)
    tap.check(nap2.qmp.status() == "running" and
              stock2.qmp.status() == "running", "both restored VMs run")


run(main)

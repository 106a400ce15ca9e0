#!/usr/bin/python3
"""Migration of a napping guest over a unix socket: the guest napped first
(x-nap-request, NAP_SETTLED), the destination wakes it when it starts, and
the guest's clock is right afterwards."""
import os

from naplib import settle, CLEAN_NAP_LOG, boot, event, fmt_ms, guest_log, \
    log_in_order, nap, run

MAX_ERR_NS = 50 * 1000000


def main(tap, w):
    src = boot(w, "src")
    dst = w.vm("dst", incoming=True)
    sock = os.path.join(w.path, "mig.sock")
    outcome = nap(src)
    dst.qmp.cmd("migrate-incoming", uri="unix:" + sock)
    src.qmp.cmd("migrate", uri="unix:" + sock)
    st_src = src.wait_migration(120)
    st_dst = dst.wait_migration(120)
    tap.check(st_src == "completed" and st_dst == "completed",
              "live migration over a unix socket completed",
              "source %s, destination %s" % (st_src, st_dst))
    tap.check(outcome is not None and outcome["event"] == "NAP_SETTLED",
              "the guest napped before the migration", src.qmp.events)
    wake = event(dst, "NAP_WAKE", 30)
    tap.check(wake is not None, "the destination woke the guest", wake)
    after = settle(dst)
    tap.note("CLOCK_REALTIME error after live migration: %s"
             % fmt_ms(after["err_ns"]))
    tap.check(abs(after["err_ns"]) <= MAX_ERR_NS,
              "guest CLOCK_REALTIME within 50 ms of the host (%s)"
              % fmt_ms(after["err_ns"]))
    log = guest_log(dst)
    missing = log_in_order(log, CLEAN_NAP_LOG)
    tap.check(missing is None, "guest log shows a clean suspend/resume",
              "missing %s\n%s" % (missing, "\n".join(log)) if missing else "")
    tap.check(src.qmp.status() == "postmigrate" and
              dst.qmp.status() == "running",
              "source stopped after migrating, destination runs")


run(main)

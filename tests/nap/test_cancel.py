#!/usr/bin/python3
"""Nap the guest, migrate, cancel the migration: the source wakes the guest,
which is healthy (answers, clock right, clean log) and can nap again."""
import os
import time

from naplib import settle, CLEAN_NAP_LOG, boot, event, fmt_ms, guest_log, \
    log_in_order, nap, run

MAX_ERR_NS = 50 * 1000000


def main(tap, w):
    vm = boot(w, "src")
    outcome = nap(vm)
    tap.check(outcome is not None and outcome["event"] == "NAP_SETTLED",
              "the guest napped before the migration", vm.qmp.events)
    # Slow enough that the migration is still running when we cancel.
    vm.qmp.cmd("migrate-set-parameters", max_bandwidth=64 * 1024)
    vm.qmp.cmd("migrate", uri="file:" + os.path.join(w.path, "slow.mig"))
    deadline = time.time() + 10
    while (vm.qmp.cmd("query-migrate").get("status") == "setup" and
           time.time() < deadline):
        time.sleep(0.05)
    mig = vm.qmp.cmd("query-migrate")
    tap.check(mig.get("status") == "active",
              "the migration is active when cancelled", mig)
    vm.qmp.cmd("migrate_cancel")
    st = vm.wait_migration(30)
    tap.check(st == "cancelled", "migration cancelled", st)
    wake = event(vm, "NAP_WAKE", 30)
    tap.check(wake is not None, "the source woke the guest (NAP_WAKE)",
              vm.qmp.events)
    tap.check(vm.qmp.wait_status("running", 30), "the source VM runs again",
              vm.qmp.status())
    after = settle(vm)
    tap.check(abs(after["err_ns"]) <= MAX_ERR_NS,
              "guest healthy: answers, CLOCK_REALTIME within 50 ms (%s)"
              % fmt_ms(after["err_ns"]))
    log = guest_log(vm)
    missing = log_in_order(log, CLEAN_NAP_LOG)
    tap.check(missing is None, "guest log shows a clean suspend/resume",
              "missing %s\n%s" % (missing, "\n".join(log)) if missing else "")
    q = vm.qmp.cmd("x-query-nap")
    tap.check(q["state"] == "idle" and q["guest-state"] == "resumed",
              "device idle, guest reports resumed", q)


run(main)

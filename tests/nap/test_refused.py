#!/usr/bin/python3
"""A guest that cannot suspend to RAM (its firmware offers no S3:
ICH9-LPC disable_s3=1) refuses the nap: the driver reports REFUSED with
pm_suspend()'s errno, the host stops waiting at once (NAP_UNSETTLED reason
refused) and the guest keeps running."""
from naplib import boot, event, run


def main(tap, w):
    vm = boot(w, "nos3", extra=["-global", "ICH9-LPC.disable_s3=1"])
    vm.qmp.cmd("x-nap-request", timeout_ms=30000)
    ev = event(vm, "NAP_UNSETTLED", 40)
    tap.check(ev is not None and ev["data"]["reason"] == "refused",
              "the host saw the refusal (NAP_UNSETTLED reason refused)",
              vm.qmp.events)
    if ev:
        tap.check(ev["data"]["elapsed-ms"] < 5000,
                  "the host stopped waiting at once (%d ms, not the 30 s"
                  " timeout)" % ev["data"]["elapsed-ms"])
    q = vm.qmp.cmd("x-query-nap")
    tap.check(q["guest-state"] == "refused" and q["guest-error"] == 22,
              "guest state refused with errno 22 (EINVAL: no S3)", q)
    tap.check(event(vm, "NAP_SETTLED") is None and
              vm.qmp.status() == "running", "the guest never slept, runs")
    vm.agent.probe()
    rc, log = vm.agent.sh("dmesg | grep qemu_nap")
    tap.check(any("nap refused: suspend failed (-22)" in line
                  for line in log),
              "the guest log says why", "\n".join(log))


run(main)

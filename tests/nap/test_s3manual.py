#!/usr/bin/python3
"""A suspend the guest starts itself (echo mem > /sys/power/state), woken
with system_wakeup after NAP_S3_PAUSE seconds (10): without the nap device
only the CMOS RTC (1 s steps) brings CLOCK_REALTIME back; with the device
the driver's resume hook sets it from the host's time to within 50 ms."""
import os
import time

from naplib import settle, NS, boot, fmt_ms, guest_log, run

PAUSE = int(os.environ.get("NAP_S3_PAUSE", "10"))
MAX_ERR_NS = 50 * 1000000


def suspend_and_wake(tap, vm):
    vm.agent.sh("(sleep 0.2; echo mem > /sys/power/state) >/dev/null 2>&1 &")
    tap.check(vm.qmp.wait_status("suspended", 30),
              "%s: guest suspended itself" % vm.name, vm.qmp.status())


def main(tap, w):
    with_dev = boot(w, "device")
    without = boot(w, "no-device", nap=False)
    suspend_and_wake(tap, with_dev)
    suspend_and_wake(tap, without)
    time.sleep(PAUSE)
    for vm in (with_dev, without):
        vm.qmp.hmp("system_wakeup")
    a_dev, a_none = settle(with_dev), settle(without)
    tap.note("CLOCK_REALTIME error after %d s in S3: with the device %s,"
             " RTC only %s" % (PAUSE, fmt_ms(a_dev["err_ns"]),
                               fmt_ms(a_none["err_ns"])))
    tap.check(abs(a_dev["err_ns"]) <= MAX_ERR_NS,
              "device: CLOCK_REALTIME within 50 ms (%s)"
              % fmt_ms(a_dev["err_ns"]))
    tap.check(abs(a_none["err_ns"]) < 2.5 * NS,
              "no device: CLOCK_REALTIME within the RTC's steps (%s)"
              % fmt_ms(a_none["err_ns"]))
    log = guest_log(with_dev, "qemu_nap")
    tap.check(any("CLOCK_REALTIME corrected" in line for line in log),
              "device: the driver corrected the clock on resume",
              "\n".join(log))


run(main)

#!/usr/bin/python3
"""A guest writes nonsense into the nap register block with busybox
devmem: every bad write is ignored and counted, the device keeps its
state, the host is fine, and a nap asked with x-nap-request afterwards
still works end to end (x-nap-wake wakes the guest). Last, the driver
unbinds and binds again cleanly."""
import time

from naplib import settle, CLEAN_NAP_LOG, event, boot, fmt_ms, guest_log, \
    log_in_order, run

MAX_ERR_NS = 50 * 1000000

# (offset, width, value, why it is bad): all must be ignored.
BAD_WRITES = [
    (0x00, 32, 0xdeadbeef, "MAGIC is read-only"),
    (0x0c, 32, 1, "REQUEST is read-only"),
    (0x14, 32, 0x1234, "ACK of a sequence number never requested"),
    (0x18, 32, 99, "GUEST_STATE out of range"),
    (0x18, 32, 3, "GUEST_STATE REFUSED without a GUEST_ERROR"),
    (0x1c, 32, 5000, "GUEST_ERROR above 4095"),
    (0x20, 32, 7, "TIME_LATCH other than 1"),
    (0x28, 32, 1, "TAI_NS is read-only"),
    (0x18, 8, 1, "byte write"),
    (0x1a, 16, 1, "16-bit write"),
    (0x800, 32, 1, "offset outside every register"),
]


def nap_base(vm):
    """The register block's address, from the guest's /proc/iomem."""
    rc, out = vm.agent.sh("grep QEMU0100 /proc/iomem")
    return int(out[0].split("-")[0].strip(), 16)


def devmem(vm, addr, width=32, value=None):
    cmd = "devmem 0x%x %d" % (addr, width)
    if value is not None:
        cmd += " 0x%x" % value
    rc, out = vm.agent.sh(cmd)
    return int(out[0], 16) if value is None and out else rc


def main(tap, w):
    vm = boot(w, "guest")
    base = nap_base(vm)
    tap.note("register block at 0x%x" % base)
    q0 = vm.qmp.cmd("x-query-nap")
    tap.check(q0["guest-state"] == "ready", "driver bound: guest state ready",
              q0)
    for off, width, val, why in BAD_WRITES:
        devmem(vm, base + off, width, val)
    # A flood, to show the host does not stall on it.
    t0 = time.time()
    vm.agent.sh("i=0; while [ $i -lt 500 ]; do devmem 0x%x 32 0x99;"
                " i=$((i+1)); done" % (base + 0x18), timeout=120)
    flood_s = time.time() - t0
    t0 = time.time()
    q = vm.qmp.cmd("x-query-nap")
    qmp_ms = (time.time() - t0) * 1000
    tap.note("bad accesses counted: %d; 500-write flood took %.1f s in the"
             " guest; QMP answered in %.1f ms after it"
             % (q["bad-accesses"], flood_s, qmp_ms))
    tap.check(q["bad-accesses"] - q0["bad-accesses"] >= len(BAD_WRITES) + 500,
              "every bad write was counted (%d)"
              % (q["bad-accesses"] - q0["bad-accesses"]), q)
    tap.check(q["guest-state"] == "ready" and q["state"] == "idle" and
              q["guest-error"] == 0,
              "device state unchanged by the bad writes", q)
    tap.check(devmem(vm, base) == 0x3150414e and
              devmem(vm, base + 0x800) == 0,
              "magic intact, undefined offsets read 0")
    tap.check(vm.alive() and vm.qmp.status() == "running",
              "host fine: QEMU alive and the VM running")

    # The explicit command path, after all that.
    vm.qmp.cmd("x-nap-request", timeout_ms=20000)
    settled = event(vm, "NAP_SETTLED", 30)
    tap.check(settled is not None and vm.qmp.status() == "suspended",
              "x-nap-request: the guest napped", vm.qmp.events)
    time.sleep(2)
    vm.qmp.cmd("x-nap-wake")
    tap.check(event(vm, "NAP_WAKE", 30) is not None,
              "x-nap-wake: the guest was woken", vm.qmp.events)
    after = settle(vm)
    tap.check(abs(after["err_ns"]) <= MAX_ERR_NS,
              "guest healthy after the nap, clock within 50 ms (%s)"
              % fmt_ms(after["err_ns"]))
    missing = log_in_order(guest_log(vm), CLEAN_NAP_LOG)
    tap.check(missing is None, "guest log shows a clean suspend/resume",
              missing)

    # Unbinding tells the host there is no driver any more; binding again
    # makes the guest nap-capable again.
    rc, out = vm.agent.sh("rmmod qemu_nap")
    state = vm.qmp.cmd("x-query-nap")["guest-state"]
    tap.check(rc == 0 and state == "absent",
              "rmmod: the device sees no driver (%s)" % state, out)
    rc, out = vm.agent.sh("insmod /modules/qemu_nap.ko")
    state = vm.qmp.cmd("x-query-nap")["guest-state"]
    tap.check(rc == 0 and state == "ready",
              "insmod again: the guest is ready again (%s)" % state, out)


run(main)

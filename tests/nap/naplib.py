"""Harness for the nap tests: the nap test guest (build-guest) under the
fork's QEMU with TCG, driven through QMP and napagent on ttyS1.

Every QEMU gets its own directory with the QMP socket, the agent's serial
socket, the console log and QEMU's stderr. Nothing here asserts: the tests
(test_*.py) decide and print TAP.
"""
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
QEMU = os.environ.get("QEMU", os.path.join(REPO, "build/qemu/qemu-system-x86_64"))
GUEST_HOST = os.environ.get("NAP_GUEST_HOST", "deb612")
GUEST = os.path.join(REPO, "build/nap", GUEST_HOST)
NS = 1000000000


class TestFailure(Exception):
    pass


class Tap:
    """TAP lines, counted, so a test script can exit non-zero on failure."""

    def __init__(self):
        self.failed = 0

    def check(self, ok, desc, detail=None):
        if GUEST_HOST != "deb612":
            desc = GUEST_HOST + ": " + desc
        print(("ok - " if ok else "not ok - ") + desc, flush=True)
        if detail and not ok:
            for line in str(detail).splitlines():
                print("# " + line, flush=True)
        if not ok:
            self.failed += 1
        return ok

    def skip(self, desc, reason):
        print("ok - %s # SKIP %s" % (desc, reason), flush=True)

    def note(self, text):
        for line in str(text).splitlines():
            print("# " + line, flush=True)


class Qmp:
    """A minimal QMP client that keeps every event it sees."""

    def __init__(self, path, timeout=30):
        deadline = time.time() + timeout
        while True:
            try:
                self.sock = socket.socket(socket.AF_UNIX)
                self.sock.connect(path)
                break
            except OSError:
                self.sock.close()
                if time.time() > deadline:
                    raise TestFailure("no QMP socket at " + path)
                time.sleep(0.05)
        self.buf = b""
        self.events = []
        self._read()                      # greeting
        self.cmd("qmp_capabilities")

    def _read(self, timeout=None):
        """One message; socket.timeout when none came in time."""
        deadline = None if timeout is None else time.time() + timeout
        while b"\n" not in self.buf:
            if deadline is not None:
                left = deadline - time.time()
                if left <= 0:
                    raise socket.timeout("QMP: nothing in %ss" % timeout)
                self.sock.settimeout(left)
            data = self.sock.recv(65536)
            if not data:
                raise TestFailure("QMP connection closed")
            self.buf += data
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def cmd(self, name, **args):
        """Run a command; return its result or raise TestFailure."""
        req = {"execute": name}
        if args:
            req["arguments"] = {k.replace("_", "-"): v for k, v in args.items()}
        self.sock.settimeout(None)
        self.sock.sendall(json.dumps(req).encode() + b"\n")
        while True:
            msg = self._read(60)
            if "event" in msg:
                self.events.append(msg)
            elif "error" in msg:
                raise TestFailure("%s: %s" % (name, msg["error"]["desc"]))
            else:
                return msg.get("return")

    def try_cmd(self, name, **args):
        """Like cmd, but return (result, error text)."""
        try:
            return self.cmd(name, **args), None
        except TestFailure as e:
            return None, str(e)

    def hmp(self, line):
        return self.cmd("human-monitor-command", command_line=line)

    def wait_event(self, name, timeout, since=0):
        """The first event NAME at index >= since, waiting up to timeout."""
        deadline = time.time() + timeout
        while True:
            for ev in self.events[since:]:
                if ev["event"] == name:
                    return ev
            left = deadline - time.time()
            if left <= 0:
                return None
            try:
                msg = self._read(left)
            except (socket.timeout, TimeoutError):
                return None
            if "event" in msg:
                self.events.append(msg)

    def poll_events(self):
        """Pick up events that arrived without a command."""
        try:
            while True:
                msg = self._read(0.01)
                if "event" in msg:
                    self.events.append(msg)
        except (socket.timeout, TimeoutError, BlockingIOError):
            pass

    def event_names(self):
        return [e["event"] for e in self.events]

    def status(self):
        return self.cmd("query-status")["status"]

    def wait_status(self, want, timeout):
        deadline = time.time() + timeout
        while time.time() < deadline:
            st = self.status()
            if st == want:
                return True
            time.sleep(0.05)
        return False


class Agent:
    """napagent on the guest's ttyS1, through a QEMU socket chardev."""

    def __init__(self, path):
        self.path = path
        self.sock = None
        self.buf = b""

    def _connect(self):
        if self.sock is None:
            self.sock = socket.socket(socket.AF_UNIX)
            self.sock.connect(self.path)

    def _line(self, deadline):
        while b"\n" not in self.buf:
            left = deadline - time.time()
            if left <= 0:
                raise TestFailure("agent: no answer")
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(4096)
            except (socket.timeout, TimeoutError):
                continue
            if not data:
                raise TestFailure("agent: connection closed")
            self.buf += data
        line, self.buf = self.buf.split(b"\n", 1)
        return line.decode(errors="replace").strip()

    def _request(self, req, timeout):
        self._connect()
        self.buf = b""
        self.sock.sendall(req.encode() + b"\n")
        return time.time() + timeout

    def probe(self, timeout=10):
        """Guest clocks, bracketed by host CLOCK_REALTIME reads."""
        t0 = time.clock_gettime_ns(time.CLOCK_REALTIME)
        deadline = self._request("p", timeout)
        while True:
            line = self._line(deadline)
            if line.startswith("CLK "):
                break
        t1 = time.clock_gettime_ns(time.CLOCK_REALTIME)
        real, mono, boot = (int(v) for v in line.split()[1:4])
        mid = (t0 + t1) // 2
        return {"real": real, "mono": mono, "boot": boot, "host": mid,
                "host_mono": time.clock_gettime_ns(time.CLOCK_MONOTONIC),
                "err_ns": real - mid, "rtt_ns": t1 - t0}

    def probe_best(self, count=5):
        """Of a few probes, the one with the shortest round trip."""
        return min((self.probe() for _ in range(count)),
                   key=lambda p: p["rtt_ns"])

    def sh(self, command, timeout=30):
        """(exit status, output lines) of a guest shell command."""
        deadline = self._request("x " + command, timeout)
        out = []
        while True:
            line = self._line(deadline)
            if line.startswith("END "):
                return int(line.split()[1]), out
            out.append(line)

    def wait_up(self, timeout):
        deadline = time.time() + timeout
        while True:
            try:
                return self.probe(timeout=1)
            except (TestFailure, OSError):
                if self.sock:
                    self.sock.close()
                    self.sock = None
                if time.time() > deadline:
                    raise TestFailure("guest agent did not answer in %ds"
                                      % timeout)
                time.sleep(0.2)

    def close(self):
        if self.sock:
            self.sock.close()
            self.sock = None


class Vm:
    """One QEMU process running the nap test guest."""

    def __init__(self, name, workdir, nap=True, nap_props="",
                 append="", incoming=False, extra=()):
        self.name = name
        self.dir = os.path.join(workdir, name)
        os.makedirs(self.dir)
        self.qmp_path = os.path.join(self.dir, "qmp.sock")
        self.agent_path = os.path.join(self.dir, "agent.sock")
        self.console = os.path.join(self.dir, "console.log")
        args = [QEMU, "-accel", "tcg", "-M", "q35", "-nodefaults",
                "-m", "256", "-smp", "1", "-display", "none",
                "-kernel", os.path.join(GUEST, "vmlinuz"),
                "-initrd", os.path.join(GUEST, "initramfs.cpio.gz"),
                "-append", "console=ttyS0 quiet iomem=relaxed " + append,
                "-chardev", "file,id=con,path=" + self.console,
                "-serial", "chardev:con",
                "-chardev", "socket,id=agent,server=on,wait=off,path="
                + self.agent_path,
                "-serial", "chardev:agent",
                "-qmp", "unix:%s,server=on,wait=off" % self.qmp_path]
        if nap:
            args += ["-device", "nap,id=nap0" + nap_props]
        if incoming:
            args += ["-incoming", "defer"]
        args += list(extra)
        self.stderr = open(os.path.join(self.dir, "qemu.stderr"), "w")
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL,
                                     stdout=self.stderr, stderr=self.stderr)
        self.qmp = Qmp(self.qmp_path)
        self.agent = Agent(self.agent_path)

    def alive(self):
        return self.proc.poll() is None

    def console_text(self):
        with open(self.console, errors="replace") as f:
            return f.read()

    def stderr_text(self):
        with open(os.path.join(self.dir, "qemu.stderr"), errors="replace") as f:
            return f.read()

    def migrate_to_file(self, path, timeout=120):
        self.qmp.cmd("migrate", uri="file:" + path)
        return self.wait_migration(timeout)

    def wait_migration(self, timeout):
        deadline = time.time() + timeout
        while time.time() < deadline:
            st = self.qmp.cmd("query-migrate").get("status")
            if st in ("completed", "failed", "cancelled"):
                return st
            time.sleep(0.1)
        return "timeout"

    def quit(self):
        self.agent.close()
        if self.alive():
            try:
                self.qmp.cmd("quit")
            except (TestFailure, OSError):
                pass
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.stderr.close()


class Workdir:
    """A temporary directory that outlives a failure when NAP_KEEP=1."""

    def __init__(self, tag):
        self.path = tempfile.mkdtemp(prefix="nap-%s." % tag)
        self.vms = []

    def vm(self, name, **kw):
        vm = Vm(name, self.path, **kw)
        self.vms.append(vm)
        return vm

    def close(self, failed):
        for vm in self.vms:
            vm.quit()
        if failed or os.environ.get("NAP_KEEP"):
            print("# kept " + self.path, flush=True)
        else:
            shutil.rmtree(self.path, ignore_errors=True)


def guest_log(vm, pattern="qemu_nap|PM: |ACPI: PM|Freezing|Restarting"):
    """The guest kernel's log lines about suspend and the nap driver."""
    rc, out = vm.agent.sh("dmesg | grep -E '%s'" % pattern)
    return out


def fmt_ms(ns):
    return "%.1f ms" % (ns / 1e6)


def boot(w, name, **kw):
    """Start a guest and wait until its agent answers; return the VM."""
    vm = w.vm(name, **kw)
    vm.agent.wait_up(90)
    return vm


def restore_from_file(w, name, path, timeout=120, **kw):
    """A new QEMU that loads PATH; returns it once the guest runs again."""
    vm = w.vm(name, incoming=True, **kw)
    vm.qmp.cmd("migrate-incoming", uri="file:" + path)
    st = vm.wait_migration(timeout)
    if st != "completed":
        raise TestFailure("%s: incoming migration %s" % (name, st))
    return vm


def request_nap(vm, timeout_ms=None):
    """x-nap-request, as a management layer asks before a save (migrate
    itself never does); returns the index of the request's events."""
    since = len(vm.qmp.events)
    args = {} if timeout_ms is None else {"timeout-ms": timeout_ms}
    vm.qmp.cmd("x-nap-request", **args)
    return since


def wait_nap(vm, since, timeout=60):
    """NAP_SETTLED or NAP_UNSETTLED at or after index since, whichever
    came first (None if neither within timeout)."""
    deadline = time.time() + timeout
    while True:
        for ev in vm.qmp.events[since:]:
            if ev["event"] in ("NAP_SETTLED", "NAP_UNSETTLED"):
                return ev
        left = deadline - time.time()
        if left <= 0:
            return None
        vm.qmp.wait_event("NAP_SETTLED", min(left, 0.2), since)


def nap(vm, timeout_ms=None, timeout=60):
    """Ask the guest to nap and wait for the outcome (the event)."""
    return wait_nap(vm, request_nap(vm, timeout_ms), timeout)


def event(vm, name, timeout=0):
    """Event NAME of VM's QMP, waiting up to timeout; None if none came."""
    return vm.qmp.wait_event(name, timeout)


# What a clean nap looks like in the guest's kernel log, in order.
CLEAN_NAP_LOG = [
    r"qemu_nap .*nap request seq \d+ acked",
    r"PM: suspend entry \(deep\)",
    r"ACPI: PM: Preparing to enter system sleep state S3",
    r"ACPI: PM: Waking up from system sleep state S3",
    r"qemu_nap .*CLOCK_REALTIME corrected by -?\d+ ns",
    r"PM: suspend exit",
    r"qemu_nap .*resumed from nap",
]
BAD_LOG = r"refused|failed to suspend|Freezing .* failed|WARNING:|BUG:"


def log_in_order(lines, patterns):
    """The first pattern not found (in order) in lines, or None."""
    import re
    i = 0
    for pat in patterns:
        while i < len(lines) and not re.search(pat, lines[i]):
            i += 1
        if i == len(lines):
            return pat
        i += 1
    return None


def run(main):
    """Run a test's main(tap, workdir), turning errors into a failure."""
    import sys
    import traceback
    tap = Tap()
    start = time.time()
    w = Workdir(os.path.basename(sys.argv[0]).replace(".py", ""))
    try:
        main(tap, w)
    except Exception as e:
        tap.check(False, "test ran to the end: %s" % e,
                  traceback.format_exc())
    finally:
        for vm in w.vms:
            if vm.alive():
                continue
            if vm.proc.returncode not in (0, None):
                tap.note("%s: QEMU exited with %s:\n%s" % (
                    vm.name, vm.proc.returncode, vm.stderr_text()[-2000:]))
        w.close(tap.failed)
    tap.note("ran in %.0f s" % (time.time() - start))
    sys.exit(1 if tap.failed else 0)


def settle(vm, timeout=60):
    """Wait until the guest answers again, then its best clock probe."""
    vm.agent.wait_up(timeout)
    return vm.agent.probe_best()

"""Run lab tests and collect their figures, for make demo and make bench.

The lab runner (tests/lab/run) prints TAP in which every figure a test
reports is a comment "# HOST/TEST: key=value" and every check an
"ok - HOST/TEST: ..." or "not ok - HOST/TEST: ..." line. LabRun keeps
both, per host and test, and shows progress while the lab works.
"""

import os
import re
import subprocess
import sys
import time

# Hosts are "deb612", or "A:deb612" / "B:deb612" in the two-host lab.
FIGURE = re.compile(r"^# ([\w.:-]+)/([\w.-]+): ([\w.]+)=(.*)$")
CHECK = re.compile(r"^(ok|not ok) - ([\w.:-]+)/([\w.-]+): (.*)$")


class LabRun:
    """Figures and checks of one tests/lab/run invocation."""

    def __init__(self, host, tests):
        self.host = host
        self.tests = tests
        self.figures = {}       # test -> {key: value}
        self.passed = []        # (test, description)
        self.failed = []
        self.seconds = 0.0
        self.log = []

    def fig(self, test, key, default=None):
        return self.figures.get(test, {}).get(key, default)

    def num(self, test, key):
        """A figure as a float, or None when absent or not a number."""
        try:
            return float(self.fig(test, key))
        except (TypeError, ValueError):
            return None

    def feed(self, line):
        self.log.append(line)
        m = FIGURE.match(line)
        if m:
            self.figures.setdefault(m.group(2), {})[m.group(3)] = m.group(4)
            return None
        m = CHECK.match(line)
        if m:
            entry = (m.group(3), m.group(4))
            (self.passed if m.group(1) == "ok" else self.failed).append(entry)
            return m.group(1), m.group(3), m.group(4)
        return None


def run_lab(host, tests, env_extra=None, say=print, top=".", runner=None):
    """Run TESTS on HOST in the lab; progress through SAY; a LabRun.

    RUNNER is the command before the tests (default tests/lab/run HOST;
    the two-host lab: tests/lab/run2 HOSTA HOSTB VAR=VALUE...).
    """
    run = LabRun(host, tests)
    env = dict(os.environ)
    env.update(env_extra or {})
    start = time.monotonic()
    say(f"  lab {host}: {' '.join(tests)} (boots an emulated host, "
        f"about a minute per test)")
    cmd = runner or [os.path.join(top, "tests/lab/run"), host]
    proc = subprocess.Popen(cmd + list(tests), cwd=top, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, errors="replace")
    current = None
    for line in proc.stdout:
        line = line.rstrip("\n")
        got = run.feed(line)
        if got is None:
            continue
        verdict, test, what = got
        if test != current:
            current = test
            say(f"    {host}/{test} ...")
        if verdict != "ok":
            say(f"      not ok: {what}")
    proc.wait()
    run.seconds = time.monotonic() - start
    say(f"  lab {host}: {len(run.passed)} checks passed, "
        f"{len(run.failed)} failed in {run.seconds:.0f} s")
    return run


def median(values):
    vals = sorted(v for v in values if v is not None)
    if not vals:
        return None
    mid = len(vals) // 2
    return vals[mid] if len(vals) % 2 else (vals[mid - 1] + vals[mid]) / 2


def spread(values):
    """(min, max) of the values that exist, or (None, None)."""
    vals = [v for v in values if v is not None]
    return (min(vals), max(vals)) if vals else (None, None)


def progress(msg):
    print(msg, flush=True)


def die(msg):
    print(f"error: {msg}", file=sys.stderr)
    sys.exit(1)

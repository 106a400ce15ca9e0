"""Seed 002 for make demo and make bench: a 30 s pause of a Linux guest.

Runs tests/nap/test_restore.py (the nap tests' savevm-to-file, 30 s away,
restore; nap and stock side by side under TCG: nap needs no KVM) and
reads the figures it prints as "# fig.NAME=VALUE" lines.
"""

import os
import re
import subprocess
import time

TEST = "tests/nap/test_restore.py"
FIG = re.compile(r"^# fig\.([\w.-]+)=(\S+)")


def run_figures(say, test, env):
    """Run one TAP test script; its "# fig." figures as floats, plus
    "checks_failed" (its "not ok" lines, or 1 if it failed otherwise)."""
    proc = subprocess.run(["/usr/bin/python3", test], env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, errors="replace")
    figs = {"checks_failed": 0.0}
    for line in proc.stdout.splitlines():
        m = FIG.match(line)
        if m:
            try:
                figs[m.group(1)] = float(m.group(2))
            except ValueError:
                pass
        elif line.startswith("not ok"):
            figs["checks_failed"] += 1
            say(f"    {line}")
    if proc.returncode != 0 and figs["checks_failed"] == 0:
        figs["checks_failed"] = 1
        say(f"    {test} exited with status {proc.returncode}:")
        for line in proc.stdout.splitlines()[-10:]:
            say(f"    | {line}")
    return figs


def run_restore(say, pause=30):
    """{figure: float} of one run, plus "checks_failed"."""
    say(f"  nap: Linux guest saved to a file, {pause} s away, restored; "
        "with nap and stock at once (about 2 min)")
    env = dict(os.environ, NAP_PAUSE=str(pause))
    start = time.monotonic()
    built = subprocess.run(["tests/nap/build-guest"], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True,
                           errors="replace")
    if built.returncode != 0:
        say("    not ok: building the nap test guest failed:")
        for line in built.stdout.splitlines()[-10:]:
            say(f"    | {line}")
        return {"checks_failed": 1.0}
    figs = run_figures(say, TEST, env)
    say(f"  nap: done in {time.monotonic() - start:.0f} s")
    return figs


LIBVIRT_TEST = "tests/libvirt/test_patched.py"


def run_libvirt_save(say, pause=30):
    """virsh save, pause s away, virsh restore: Debian's libvirt without
    nap beside the fork's libvirt with <nap/> (tests/libvirt, LV_OPS=save);
    {figure: float} plus "checks_failed"."""
    say(f"  libvirt: virsh save, {pause} s away, virsh restore; Debian's "
        "libvirt 9.0 (no nap) beside the fork's libvirt (nap)")
    env = dict(os.environ, LV_PAUSE=str(pause), LV_OPS="save")
    return run_figures(say, LIBVIRT_TEST, env)


def rows(say):
    """Demo table rows [(label, stock, fork)] and the failed checks."""
    f = run_restore(say)
    lv = run_libvirt_save(say)
    return int(f["checks_failed"] + lv["checks_failed"]), [
        ("guest CLOCK_REALTIME minus host after (ms)",
         f.get("realtime_error_ms.stock"), f.get("realtime_error_ms.nap")),
        ("  fork: time for the guest to reach S3 (ms)", None,
         f.get("settle_ms")),
        ("  fork: restore to guest answering (ms)", None, f.get("wake_ms")),
        ("libvirt: virsh save + restore, same (ms)",
         lv.get("libvirt.save.realtime_error_ms.stock"),
         lv.get("libvirt.save.realtime_error_ms.nap")),
    ]


def measure(say):
    """Bench samples: (config, metric, unit, value)."""
    f = run_restore(say)
    return [
        ("stock", "|guest CLOCK_REALTIME - host|", "ms",
         abs(f["realtime_error_ms.stock"])
         if "realtime_error_ms.stock" in f else None),
        ("nap", "|guest CLOCK_REALTIME - host|", "ms",
         abs(f["realtime_error_ms.nap"])
         if "realtime_error_ms.nap" in f else None),
        ("nap", "time to settle in S3", "ms", f.get("settle_ms")),
        ("nap", "restore to guest answering", "ms", f.get("wake_ms")),
    ]

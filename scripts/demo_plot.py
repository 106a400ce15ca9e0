"""make demo's plot: the guest's TSC and timer lateness across a restore.

Input per configuration: the timeline a restore test prints (host ms
since the source stopped, guest TSC, timer IRQs, lateness of the latest
IRQ in TSC cycles) and the guest's TSC kHz. The first point is the saved
state. A guest whose clock continued exactly would read the saved TSC
plus the host's elapsed time: the upper panel shows how far it is from
that, the lower one how late its TSC-deadline interrupts fire.
"""

import sys


def deviation_ms(points, khz):
    """(seconds since stop, guest TSC minus ideal in ms) after the first."""
    host0, tsc0 = points[0][0], points[0][1]
    xs, ys = [], []
    for host_ms, tsc, *_ in points[1:]:
        xs.append(host_ms / 1000.0)
        ys.append((tsc - tsc0) / khz - (host_ms - host0))
    return xs, ys


def lateness_ms(points, khz):
    return ([p[0] / 1000.0 for p in points[1:]],
            [p[3] / khz for p in points[1:]])


def plot(series, path):
    """Write the PNG; False (and why, on stderr) when it cannot."""
    usable = {name: (pts, khz) for name, (pts, khz) in series.items()
              if len(pts) > 1 and khz}
    if not usable:
        print("plot: no timeline in the lab output; nothing plotted",
              file=sys.stderr)
        return False
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("plot: python3-matplotlib missing (scripts/install-deps "
              "--demo installs it)", file=sys.stderr)
        return False
    fig, (top, bottom) = plt.subplots(2, 1, sharex=True, figsize=(8, 6))
    styles = {0: ("tab:red", "o"), 1: ("tab:blue", "s")}
    for i, (name, (pts, khz)) in enumerate(usable.items()):
        colour, marker = styles.get(i, ("tab:gray", "x"))
        top.plot(*deviation_ms(pts, khz), marker=marker, color=colour,
                 label=name, linewidth=1, markersize=3)
        bottom.plot(*lateness_ms(pts, khz), marker=marker, color=colour,
                    label=name, linewidth=1, markersize=3)
    top.axhline(0, color="black", linewidth=0.5)
    top.set_ylabel("guest TSC minus\nsaved + elapsed (ms)")
    top.set_title("Restore of a guest saved < 1 s after boot (Debian 6.1 "
                  "KVM)")
    top.legend()
    bottom.set_ylabel("latest TSC-deadline IRQ\nlate by (ms)")
    bottom.set_xlabel("host time since the source VM stopped (s); "
                      "samples after cont")
    bottom.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return True

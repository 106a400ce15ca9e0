#!/usr/bin/python3
"""Export the whole fork as a quilt series against the pristine QEMU tree.

Output (DIST/patches/qemu-tsc-fork/, listed in DIST/patches/series): one patch per overlay area adding the fork's new
files, then the hook series, and a quilt 'series' file. The pristine tree
is Debian's source with Debian's own patches applied, so the series can be
appended to a Debian package's debian/patches/series as it is.

The same for libvirt with --upstream libvirt (DIST/patches/series with
qemu-tsc-fork/ against Debian's libvirt source, scripts/fetch-libvirt).

Usage: export-patches.py [--upstream qemu|libvirt] PRISTINE REPO DIST
"""

import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fork_files  # noqa: E402

AUTHOR = "qemu-tsc-fork project"
SUBDIR = "qemu-tsc-fork"


def die(msg):
    sys.stderr.write("export-patches: error: %s\n" % msg)
    sys.exit(1)


def last_change_date(repo):
    r = subprocess.run(["git", "log", "-1", "--format=%cs"], cwd=repo,
                       capture_output=True, text=True)
    return r.stdout.strip() or "unreleased"


def new_file_diff(repo, rel, src_rel=None):
    src_rel = src_rel or rel
    with open(os.path.join(repo, src_rel), "rb") as f:
        data = f.read()
    if not data:
        die("%s is empty; patch(1) cannot create empty files" % rel)
    text = data.decode("utf-8")
    lines = text.split("\n")
    no_newline = lines[-1] != ""
    if not no_newline:
        lines.pop()
    mode = "100755" if os.access(os.path.join(repo, src_rel), os.X_OK) \
        else "100644"
    out = ["diff --git a/%s b/%s" % (rel, rel),
           "new file mode %s" % mode,
           "--- /dev/null",
           "+++ b/%s" % rel,
           "@@ -0,0 +1%s @@" % ("" if len(lines) == 1 else ",%d" % len(lines))]
    out += ["+" + line for line in lines]
    if no_newline:
        out.append("\\ No newline at end of file")
    return "\n".join(out) + "\n"


def area_of(rel, upstream):
    if upstream != "qemu":
        return os.path.dirname(rel) or rel
    for d in sorted(fork_files.OVERLAY_DIRS, key=len, reverse=True):
        if rel.startswith(d + "/"):
            return d
    return rel.split("/", 1)[0]


def main():
    upstream, (pristine, repo, dist) = fork_files.upstream_args(
        sys.argv[1:], die, "usage: export-patches.py [--upstream "
        "qemu|libvirt] PRISTINE REPO DIST")
    sources, series_dir = fork_files.UPSTREAMS[upstream]
    top = os.path.join(dist, "patches")
    shutil.rmtree(top, ignore_errors=True)
    # A subdirectory of its own, so the series can join debian/patches
    # without clashing with Debian's patch names.
    out = os.path.join(top, SUBDIR)
    os.makedirs(out)
    date = last_change_date(repo)

    by_area = {}
    for rel, src_rel in sources(repo):
        if os.path.lexists(os.path.join(pristine, rel)):
            die("%s replaces an upstream file" % rel)
        by_area.setdefault(area_of(rel, upstream), []).append((rel, src_rel))

    names = []
    for area in sorted(by_area):
        n = len(names) + 1
        name = "%04d-fork-add-%s.patch" % (n, area.replace("/", "-"))
        header = ("Description: qemu-tsc-fork: add the fork's new files "
                  "under %s/\n"
                  " These files are new; upstream has no file at these "
                  "paths.\n"
                  "Author: %s\n"
                  "Forwarded: not-needed\n"
                  "Last-Update: %s\n"
                  "---\n" % (area, AUTHOR, date))
        body = "".join(new_file_diff(repo, rel, src_rel)
                       for rel, src_rel in by_area[area])
        with open(os.path.join(out, name), "w") as f:
            f.write(header + body)
        names.append(name)

    for hook, path in fork_files.series(repo, series_dir):
        n = len(names) + 1
        name = "%04d-%s" % (n, hook.split("-", 1)[1]
                            if hook[:4].isdigit() else hook)
        shutil.copy(path, os.path.join(out, name))
        names.append(name)

    with open(os.path.join(top, "series"), "w") as f:
        f.write("".join("%s/%s\n" % (SUBDIR, n) for n in names))
    print("export-patches: %d patches in %s" % (len(names), out))


if __name__ == "__main__":
    main()

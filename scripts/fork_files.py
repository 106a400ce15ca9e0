"""What the fork adds to upstream QEMU: overlay files and the hook series.

Shared by the overlay build (scripts/overlay.py), the patch export
(scripts/export-patches.py) and the provenance check.
"""

import os
import re
import subprocess

# Directories whose files are laid over QEMU's tree at the same path.
# Everything else in the repo (tests/lab, tests/unit, kernel/, ...) is the
# project's own tooling and is never copied into QEMU.
OVERLAY_DIRS = ("accel", "target", "hw", "migration", "qapi", "include",
                "tests/qtest", "docs/system")

SERIES_DIR = os.path.join("patches", "qemu")


def repo_files(repo):
    """Files of the repo: git's view when it is a checkout, else a walk."""
    try:
        out = subprocess.run(["git", "ls-files", "-z", "--cached",
                              "--others", "--exclude-standard"],
                             cwd=repo, check=True, capture_output=True).stdout
        names = [n for n in out.decode().split("\0") if n]
        return sorted(n for n in names
                      if os.path.isfile(os.path.join(repo, n)))
    except (OSError, subprocess.CalledProcessError):
        found = []
        for root, dirs, files in os.walk(repo):
            dirs[:] = [d for d in dirs if d not in (".git", "build", "dist")]
            for f in files:
                found.append(os.path.relpath(os.path.join(root, f), repo))
        return sorted(found)


def overlay_files(repo):
    """Repo-relative paths of the files laid over QEMU's tree."""
    return [f for f in repo_files(repo)
            if any(f.startswith(d + "/") for d in OVERLAY_DIRS)]


# Files the fork keeps elsewhere in the repo, laid over QEMU's tree at
# another path: {path in QEMU's tree: repo path}. The fork's KVM UAPI has
# one copy, beside the kernel series; QEMU includes it from linux-headers/
# like its other kernel headers.
MAPPED_FILES = {
    "linux-headers/linux/kvm_precise_tsc.h":
        "kernel/kvm/include/uapi/linux/kvm_precise_tsc.h",
}


def overlay_sources(repo):
    """(path in QEMU's tree, repo path) of every file laid over QEMU."""
    mapped = [(dst, src) for dst, src in sorted(MAPPED_FILES.items())
              if os.path.isfile(os.path.join(repo, src))]
    return [(f, f) for f in overlay_files(repo)] + mapped


def series(repo, series_dir=SERIES_DIR):
    """Ordered hook patches as (name, absolute path)."""
    base = os.path.join(repo, series_dir)
    path = os.path.join(base, "series")
    if not os.path.exists(path):
        return []
    names = []
    with open(path) as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if line:
                names.append(line)
    for n in names:
        if not os.path.isfile(os.path.join(base, n)):
            raise SystemExit("series names %s, but %s/%s does not exist"
                             % (n, series_dir, n))
    return [(n, os.path.join(base, n)) for n in names]


# libvirt (scripts/build-libvirt, docs/libvirt.md): the same model. New
# files live under libvirt/ at their path in libvirt's tree, hooks in
# patches/libvirt/.
LIBVIRT_DIR = "libvirt"
LIBVIRT_SERIES_DIR = os.path.join("patches", "libvirt")


def libvirt_overlay_sources(repo):
    """(path in libvirt's tree, repo path) of every file laid over it."""
    prefix = LIBVIRT_DIR + "/"
    return [(f[len(prefix):], f) for f in repo_files(repo)
            if f.startswith(prefix)]


UPSTREAMS = {
    "qemu": (overlay_sources, SERIES_DIR),
    "libvirt": (libvirt_overlay_sources, LIBVIRT_SERIES_DIR),
}


def upstream_args(argv, die, usage):
    """[--upstream NAME] PRISTINE REPO OUT from argv: (NAME, absolute
    paths). die(usage) on anything else, or a PRISTINE that is not a
    directory (a failed fetch passes "")."""
    args = list(argv)
    upstream = "qemu"
    if args[:1] == ["--upstream"] and len(args) > 1:
        upstream = args[1]
        args = args[2:]
    if len(args) != 3 or upstream not in UPSTREAMS:
        die(usage)
    paths = [os.path.abspath(a) for a in args]
    if not args[0] or not os.path.isdir(paths[0]) or paths[0] == paths[1]:
        die("no pristine %s tree at '%s'" % (upstream, args[0]))
    return upstream, paths


_TARGET = re.compile(r"^\+\+\+ (\S+)")


def patch_targets(patch_path):
    """Tree-relative files a -p1 patch (git format) modifies."""
    targets = []
    with open(patch_path, errors="replace") as f:
        for line in f:
            m = _TARGET.match(line)
            if not m or m.group(1) == "/dev/null":
                continue
            if not m.group(1).startswith("b/"):
                raise SystemExit("%s: expected '+++ b/<path>' (a -p1 patch)"
                                 % patch_path)
            targets.append(m.group(1)[2:])
    return targets

#!/usr/bin/python3
"""Prove that no committed file is an upstream file or a copy of one.

Checks every git-tracked file against the pristine QEMU tree:
  - byte-identical to any upstream file;
  - an overlay file at a path upstream already has (that would be a
    modified upstream file; upstream changes go in hook patches);
  - a near copy: too many runs of consecutive upstream lines, compared
    after normalising whitespace (hook patches are exempt: their context
    lines are upstream's by necessity).
A self-test first shows the detector does flag a real upstream file.
"""

import hashlib
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "scripts"))
import fork_files  # noqa: E402

RUN = 6                 # consecutive meaningful lines that form a shingle
COPIED_FRACTION = 0.20  # above this share of upstream shingles: a copy
MIN_EXACT_SIZE = 100    # tiny files (".gitignore") may match by chance
TEXT_EXT = re.compile(r"\.(c|h|py|sh|pl|json|build|rst|txt|md|mak|S|inc|"
                      r"hx|ld|patch|diff)$|(^|/)(Makefile|Kconfig|configure)$")
TRIVIAL = re.compile(r"^[\s{}()\[\];,*/#\\]*$|^(#endif|#else|break;|"
                     r"return;|return 0;|else|\*|\*/|/\*)\s*$")


def tap(ok, desc, details=()):
    print("%s - %s" % ("ok" if ok else "not ok", desc))
    for d in details:
        print("#   " + d)


def norm_lines(data):
    out = []
    for line in data.decode("utf-8", "replace").split("\n"):
        line = " ".join(line.split())
        if len(line) >= 4 and not TRIVIAL.match(line):
            out.append(line)
    return out


def shingles(lines):
    return {hash("\n".join(lines[i:i + RUN]))
            for i in range(len(lines) - RUN + 1)}


# Kernel-side upstream: the parts of Debian's linux-source trees (unpacked
# by the lab into the cache) that the fork's kernel work could copy from.
LINUX_PARTS = ("arch/x86/kvm", "virt/kvm", "include", "arch/x86/include",
               "tools/testing/selftests/kvm", "Documentation/virt")


def linux_trees():
    cache = os.environ.get("FORK_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"),
        "qemu-tsc-fork")
    kdir = os.path.join(cache, "kernel")
    trees = []
    if os.path.isdir(kdir):
        for d in sorted(os.listdir(kdir)):
            if d.startswith("src-"):
                trees += [os.path.join(kdir, d, p) for p in LINUX_PARTS
                          if os.path.isdir(os.path.join(kdir, d, p))]
    return trees


LIBVIRT_PARTS = ("src", "tools", "include")


def libvirt_trees():
    """Parts of the libvirt source trees fetch-libvirt cached: the fork's
    libvirt/ files must not be copies of libvirt's either."""
    cache = os.environ.get("FORK_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"),
        "qemu-tsc-fork")
    trees = []
    if os.path.isdir(cache):
        for d in sorted(os.listdir(cache)):
            if d.startswith("libvirt-") and not d.endswith(".tmp"):
                trees += [os.path.join(cache, d, p) for p in LIBVIRT_PARTS
                          if os.path.isdir(os.path.join(cache, d, p))]
    return trees


def index_pristine(pristine, extra=()):
    digests = {}
    shingle_set = set()
    for top in (pristine,) + tuple(extra):
        index_tree(top, digests, shingle_set)
    return digests, shingle_set


def index_tree(pristine, digests, shingle_set):
    for root, dirs, files in os.walk(pristine):
        dirs[:] = [d for d in dirs if d != ".pc"]
        for fn in files:
            path = os.path.join(root, fn)
            if os.path.islink(path) or not os.path.isfile(path):
                continue
            rel = os.path.relpath(path, pristine)
            size = os.path.getsize(path)
            if size < MIN_EXACT_SIZE:
                continue
            with open(path, "rb") as f:
                data = f.read()
            digests.setdefault(hashlib.sha1(data).hexdigest(), rel)
            if TEXT_EXT.search(rel) and size < 2 * 1024 * 1024:
                shingle_set |= shingles(norm_lines(data))


def copied_fraction(data, shingle_set):
    mine = shingles(norm_lines(data))
    if len(mine) < 4:
        return 0.0
    return len(mine & shingle_set) / len(mine)


def check_file(rel, data, digests, shingle_set, pristine, overlay=()):
    """Problems found with one tracked file (empty list: fine)."""
    problems = []
    if len(data) >= MIN_EXACT_SIZE:
        same = digests.get(hashlib.sha1(data).hexdigest())
        if same:
            problems.append("%s is identical to upstream %s" % (rel, same))
    if rel in overlay and \
            os.path.lexists(os.path.join(pristine, rel)):
        problems.append("%s overlays an existing upstream path" % rel)
    if not rel.startswith(fork_files.SERIES_DIR + "/"):
        frac = copied_fraction(data, shingle_set)
        if frac > COPIED_FRACTION:
            problems.append("%s: %.0f%% of its line runs appear upstream"
                            % (rel, 100 * frac))
    return problems


def self_test(digests, shingle_set, pristine):
    sample = os.path.join(pristine, "util", "cutils.c")
    with open(sample, "rb") as f:
        data = f.read()
    exact = check_file("x/cutils.c", data, digests, shingle_set, pristine)
    # Reindent and drop every 20th line: still a copy.
    lines = data.decode().split("\n")
    mangled = "\n".join("  " + ln for i, ln in enumerate(lines) if i % 20)
    near = check_file("x/cutils2.c", mangled.encode(), digests,
                      shingle_set, pristine)
    tap(bool(exact) and bool(near),
        "self-test: detector flags an upstream file and a reindented "
        "partial copy of it")


def main():
    top = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    pristine = sys.argv[1] if len(sys.argv) > 1 else None
    if not pristine:
        with open(os.path.join(top, "config.mak")) as f:
            for line in f:
                if line.startswith("QEMU_SRC := "):
                    pristine = line.split(":= ", 1)[1].strip()
    if not pristine or not os.path.isdir(pristine):
        tap(False, "pristine QEMU tree not found (run ./configure)")
        return 1
    linux = linux_trees()
    libvirt = libvirt_trees()
    digests, shingle_set = index_pristine(pristine, linux + libvirt)
    print("# indexed %d upstream files, %d line runs (QEMU %s; Linux: %s; "
          "libvirt: %s)"
          % (len(digests), len(shingle_set), pristine,
             ", ".join(linux) or "no linux-source in the cache, kernel-side "
             "files checked against QEMU only",
             ", ".join(libvirt) or "no libvirt source in the cache"))
    self_test(digests, shingle_set, pristine)

    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=top, check=True,
                             capture_output=True).stdout.decode()
    tracked = [t for t in tracked.split("\0") if t]
    overlay = set(fork_files.overlay_files(top))
    problems = []
    for rel in tracked:
        path = os.path.join(top, rel)
        if os.path.isfile(path):
            with open(path, "rb") as f:
                problems += check_file(rel, f.read(), digests, shingle_set,
                                       pristine, overlay)
    tap(not problems, "none of %d tracked files is an upstream file or a "
        "copy of one" % len(tracked), problems)
    return 0


if __name__ == "__main__":
    sys.exit(main())

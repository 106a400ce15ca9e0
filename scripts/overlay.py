#!/usr/bin/python3
"""Build tree = pristine QEMU + the fork's files laid over + hook series.

The same for libvirt with --upstream libvirt (scripts/build-libvirt).

The build tree is created once by copying the pristine tree (timestamps
kept). On every later run only files whose wanted content differs are
rewritten, so ninja rebuilds only what an edit really changed. Files the
fork touched before but no longer does are put back to pristine.

Usage: overlay.py [--upstream qemu|libvirt] PRISTINE REPO BUILD_SRC
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fork_files  # noqa: E402

STATE_SUFFIX = ".overlay-state.json"


def die(msg):
    sys.stderr.write("overlay: error: %s\n" % msg)
    sys.exit(1)


def read(path):
    with open(path, "rb") as f:
        return f.read()


def fresh_copy(pristine, out):
    tmp = out + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    subprocess.run(["cp", "-a", pristine, tmp], check=True)
    subprocess.run(["chmod", "-R", "u+w", tmp], check=True)
    shutil.rmtree(out, ignore_errors=True)
    os.rename(tmp, out)


def overlay_content(pristine, repo, upstream):
    sources, series_dir = fork_files.UPSTREAMS[upstream]
    wanted = {}
    for rel, src_rel in sources(repo):
        if os.path.lexists(os.path.join(pristine, rel)):
            die("%s would replace an upstream file; change upstream files "
                "with a hook patch in %s/" % (rel, series_dir))
        src = os.path.join(repo, src_rel)
        wanted[rel] = (read(src), os.stat(src).st_mode & 0o777)
    return wanted


def patched_content(pristine, repo, upstream):
    """Apply the series to a scratch copy of just the files it touches."""
    wanted = {}
    patches = fork_files.series(repo, fork_files.UPSTREAMS[upstream][1])
    with tempfile.TemporaryDirectory(prefix="fork-series-") as scratch:
        for name, path in patches:
            for rel in fork_files.patch_targets(path):
                dst = os.path.join(scratch, rel)
                src = os.path.join(pristine, rel)
                if not os.path.exists(dst) and os.path.exists(src):
                    os.makedirs(os.path.dirname(dst), exist_ok=True)
                    shutil.copy(src, dst)
                    os.chmod(dst, 0o644 | (os.stat(src).st_mode & 0o111))
            with open(path, "rb") as f:
                r = subprocess.run(["patch", "-p1", "--fuzz=0", "--batch",
                                    "--no-backup-if-mismatch", "-d", scratch],
                                   stdin=f, capture_output=True)
            if r.returncode != 0:
                sys.stderr.write(r.stdout.decode(errors="replace"))
                die("hook patch %s does not apply to this %s tree "
                    "(%s)" % (name, upstream, pristine))
        for root, _, files in os.walk(scratch):
            for fn in files:
                full = os.path.join(root, fn)
                rel = os.path.relpath(full, scratch)
                wanted[rel] = (read(full), os.stat(full).st_mode & 0o777)
    return wanted


def sync(out, wanted, previous, pristine):
    changed = 0
    for rel in sorted(set(previous) - set(wanted)):
        dst = os.path.join(out, rel)
        src = os.path.join(pristine, rel)
        if os.path.exists(src):
            shutil.copy2(src, dst)
            os.chmod(dst, os.stat(dst).st_mode | 0o200)
        elif os.path.exists(dst):
            os.unlink(dst)
        changed += 1
    for rel, (data, mode) in sorted(wanted.items()):
        dst = os.path.join(out, rel)
        if os.path.exists(dst) and read(dst) == data:
            continue
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        with open(dst + ".new", "wb") as f:
            f.write(data)
        os.chmod(dst + ".new", mode | 0o200)
        os.replace(dst + ".new", dst)
        changed += 1
    return changed


def main():
    upstream, (pristine, repo, out) = fork_files.upstream_args(
        sys.argv[1:], die, "usage: overlay.py [--upstream qemu|libvirt] "
        "PRISTINE REPO BUILD_SRC")
    state_path = out + STATE_SUFFIX
    state = None
    if os.path.exists(state_path):
        with open(state_path) as f:
            state = json.load(f)
    if state is None or state.get("pristine") != pristine:
        print("overlay: copying pristine tree %s" % pristine)
        fresh_copy(pristine, out)
        state = {"pristine": pristine, "files": []}

    wanted = overlay_content(pristine, repo, upstream)
    for rel, val in patched_content(pristine, repo, upstream).items():
        if rel in wanted:
            die("a hook patch modifies %s, which is the fork's own file; "
                "edit it directly" % rel)
        wanted[rel] = val

    changed = sync(out, wanted, state["files"], pristine)
    state["files"] = sorted(wanted)
    with open(state_path + ".new", "w") as f:
        json.dump(state, f, indent=1)
    os.replace(state_path + ".new", state_path)
    print("overlay: %d files ours or patched, %d updated" %
          (len(wanted), changed))


if __name__ == "__main__":
    main()

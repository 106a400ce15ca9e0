#!/bin/sh
# The overlay build on a miniature pristine tree: files laid over, series
# applied, incremental rewrites, and clear errors for the two ways a change
# can go wrong (a hook patch that no longer applies, an overlay file that
# would replace an upstream file).
set -u
. tests/lib.sh
overlay="$PWD/scripts/overlay.py"
t=$(mktemp -d "${TMPDIR:-/tmp}/fork-overlay-test.XXXXXX")
trap 'rm -rf "$t"' EXIT

mkdir -p "$t/pristine/hw" "$t/repo/hw/misc" "$t/repo/patches/qemu"
printf 'one\ntwo\nthree\n' > "$t/pristine/hw/meson.build"
printf 'int upstream;\n' > "$t/pristine/hw/up.c"
printf 'int ours;\n' > "$t/repo/hw/misc/ours.c"
cat > "$t/repo/patches/qemu/0001-hook.patch" <<'PATCH'
Subject: [PATCH] hook

---
diff --git a/hw/meson.build b/hw/meson.build
--- a/hw/meson.build
+++ b/hw/meson.build
@@ -1,3 +1,4 @@
 one
 two
+ours
 three
PATCH
echo 0001-hook.patch > "$t/repo/patches/qemu/series"

run() { /usr/bin/python3 "$overlay" "$t/pristine" "$t/repo" "$t/src"; }

out=$(run 2>&1)
tap_check "first run lays the overlay file" \
    cmp -s "$t/repo/hw/misc/ours.c" "$t/src/hw/misc/ours.c"
tap_check "first run applies the series" \
    grep -qx ours "$t/src/hw/meson.build"
tap_check "pristine tree is left untouched" \
    sh -c "! grep -q ours '$t/pristine/hw/meson.build'"

touch -d '2000-01-01' "$t/src/hw/misc/ours.c" "$t/src/hw/meson.build" \
    "$t/src/hw/up.c"
out=$(run 2>&1)
case "$out" in *", 0 updated"*) r=0 ;; *) r=1 ;; esac
tap_check "unchanged input rewrites nothing ($out)" test $r = 0

printf 'int ours_changed;\n' > "$t/repo/hw/misc/ours.c"
run > /dev/null 2>&1
tap_check "an edited overlay file is rewritten" \
    sh -c "! [ \$(stat -c %Y '$t/src/hw/misc/ours.c') = \
        \$(date -d 2000-01-01 +%s) ]"
tap_check "files not edited keep their timestamps" \
    sh -c "old() { [ \$(stat -c %Y \"\$1\") = \$(date -d 2000-01-01 +%s) ]; }; \
        old '$t/src/hw/meson.build' && old '$t/src/hw/up.c'"

rm "$t/repo/hw/misc/ours.c"
run > /dev/null 2>&1
tap_check "a file the fork drops disappears from the build tree" \
    test ! -e "$t/src/hw/misc/ours.c"

printf 'one\nTWO\nthree\n' > "$t/pristine/hw/meson.build"
out=$(run 2>&1)
rc=$?
case "$out" in *"hook patch 0001-hook.patch does not apply"*) m=0 ;; *) m=1 ;; esac
tap_check "a patch that does not apply fails the build by name" \
    test $rc != 0 -a $m = 0
printf 'one\ntwo\nthree\n' > "$t/pristine/hw/meson.build"

mkdir -p "$t/repo/hw"
printf 'int replaced;\n' > "$t/repo/hw/up.c"
out=$(run 2>&1)
rc=$?
case "$out" in *"hw/up.c would replace an upstream file"*) m=0 ;; *) m=1 ;; esac
tap_check "an overlay file may not replace an upstream file" \
    test $rc != 0 -a $m = 0

#!/bin/sh
# scripts/link-firmware on scratch bundles: it links firmware images only,
# leaves what the build put in the bundle alone (a dangling link to a
# generated file that does not exist yet, a regular file), even when a
# firmware directory has a file of the same name, and a second run changes
# nothing. Then the same against this machine's real Debian directories,
# with whatever of qemu-system-x86/-data/-common is installed.
set -u
. tests/lib.sh
script="$PWD/scripts/link-firmware"
t=$(mktemp -d "${TMPDIR:-/tmp}/fork-link-firmware-test.XXXXXX")
trap 'rm -rf "$t"' EXIT

# Two firmware directories in the roles of seabios and qemu-system-data.
mkdir -p "$t/seabios" "$t/qemu-data/keymaps" "$t/ipxe"
echo seabios > "$t/seabios/bios-256k.bin"
echo debian > "$t/qemu-data/bios-256k.bin"
echo debian > "$t/qemu-data/kvmvapic.bin"
echo debian > "$t/qemu-data/trace-events-all"
echo debian > "$t/qemu-data/linuxboot_dma.bin"
echo debian > "$t/qemu-data/README"
echo debian > "$t/ipxe/efi-e1000.rom"
dirs="$t/seabios $t/qemu-data $t/ipxe"

# The build's bundle as QEMU 10.0's meson leaves it before the first
# ninja run: trace-events-all a link to a file not generated yet; plus a
# regular file of a name Debian also ships.
data="$t/build/qemu-bundle/usr/local/share/qemu"
mkdir -p "$data/keymaps"
ln -s "$t/build/trace/trace-events-all" "$data/trace-events-all"
echo ours > "$data/kvmvapic.bin"

# Everything about the bundle a run could change, one line per entry (the
# inode too, so a link replaced by an identical one counts as a change).
state() {
    for e in "$data"/*; do
        if [ -L "$e" ]; then
            echo "$(basename "$e") -> $(readlink "$e") $(ls -di "$e")"
        elif [ -d "$e" ]; then
            echo "$(basename "$e")/"
        else
            echo "$(basename "$e") = $(cat "$e")"
        fi
    done
}

run() { FIRMWARE_DIRS="$dirs" "$script" "$t/build" 2>&1; }

out=$(run)
tap_check "first run succeeds over a dangling link and a regular file" \
    test $? = 0
[ -z "$out" ] || echo "$out" | sed 's/^/# /'
tap_check "the build's dangling trace-events-all link is left as it was" \
    test "$(readlink "$data/trace-events-all")" = \
    "$t/build/trace/trace-events-all"
tap_check "the build's own kvmvapic.bin is not replaced" \
    test "$(cat "$data/kvmvapic.bin")" = ours -a ! -L "$data/kvmvapic.bin"
tap_check "the first directory with a name wins (seabios's bios-256k.bin)" \
    test "$(readlink "$data/bios-256k.bin")" = "$t/seabios/bios-256k.bin"
tap_check "firmware the bundle lacks is linked (linuxboot_dma.bin, efi-e1000.rom)" \
    test "$(readlink "$data/linuxboot_dma.bin")" = \
    "$t/qemu-data/linuxboot_dma.bin" -a \
    "$(readlink "$data/efi-e1000.rom")" = "$t/ipxe/efi-e1000.rom"
tap_check "non-firmware files are not linked (README)" \
    test ! -e "$data/README" -a ! -L "$data/README"

before=$(state)
out=$(run)
tap_check "second run succeeds" test $? = 0
tap_check "second run changes nothing" test "$(state)" = "$before"

# A firmware file that appears in an earlier directory later (a package
# moved it) replaces the link this script made, nothing else.
echo seabios > "$t/seabios/linuxboot_dma.bin"
run > /dev/null
tap_check "a link it made follows the firmware to the first directory" \
    test "$(readlink "$data/linuxboot_dma.bin")" = \
    "$t/seabios/linuxboot_dma.bin"

# The real directories of this machine, twice, over the same kind of
# bundle. With Debian's qemu-system-x86 installed this is where the
# original bug showed (/usr/share/qemu/trace-events-all).
rm -rf "$t/build"
mkdir -p "$data/keymaps"
ln -s "$t/build/trace/trace-events-all" "$data/trace-events-all"
if [ -e /usr/share/qemu/trace-events-all ]; then
    echo "# /usr/share/qemu/trace-events-all present (Debian's QEMU installed)"
else
    echo "# /usr/share/qemu/trace-events-all absent: the scratch case above" \
         "stands in for it"
fi
out2=""
out=$("$script" "$t/build" 2>&1) && out2=$("$script" "$t/build" 2>&1)
tap_check "real firmware directories: two runs succeed" test $? = 0
[ -z "$out$out2" ] || echo "$out$out2" | sed 's/^/# /'
tap_check "real firmware directories: trace-events-all still the build's" \
    test "$(readlink "$data/trace-events-all")" = \
    "$t/build/trace/trace-events-all"
if [ -f /usr/share/seabios/bios-256k.bin ]; then
    tap_check "real firmware directories: bios-256k.bin linked from seabios" \
        test "$(readlink "$data/bios-256k.bin")" = \
        /usr/share/seabios/bios-256k.bin
else
    tap_fail "seabios is not installed (scripts/install-deps installs it)"
fi
# What an x86_64 QEMU 10.0 loads at run time (machine firmware, VGA and
# NIC option ROMs, the linux/multiboot/pvh boot ROMs), all from the
# packages scripts/install-deps installs.
missing=""
for fw in vgabios-stdvga.bin efi-e1000.rom efi-virtio.rom kvmvapic.bin \
    linuxboot_dma.bin multiboot_dma.bin pvh.bin qboot.rom; do
    [ -e "$data/$fw" ] || missing="$missing $fw"
done
tap_check "real firmware directories: x86_64's runtime firmware linked${missing:+ (missing:$missing)}" \
    test -z "$missing"

#!/bin/sh
# Put the fork's QEMU into the lab payload:
#   $PAYLOAD/qemu/bin/qemu-system-x86_64   the binary (stripped: smaller
#                                          initramfs; LAB_STRIP=0 keeps it)
#   $PAYLOAD/lib/                          the shared libraries ldd lists and
#                                          the dynamic loader; the initramfs
#                                          links /lib64 and the multiarch lib
#                                          dir there, so any payload binary
#                                          linked on this machine runs
#   $PAYLOAD/qemu/share/qemu/              x86 firmware (give QEMU -L)
#   $PAYLOAD/bin/lab-qemu                  wrapper passing that -L
set -eu

: "${PAYLOAD:?}" "${REPO:?}"
qemu=${LAB_QEMU:-$REPO/build/qemu/qemu-system-x86_64}
case "$qemu" in /*) ;; *) qemu=$REPO/$qemu ;; esac

die() { echo "10-qemu.sh: $*" >&2; exit 1; }

[ -x "$qemu" ] || die "no QEMU binary at $qemu (run 'make qemu' or set LAB_QEMU)"

# The binary itself.
copy_binary() {
    mkdir -p "$PAYLOAD/qemu/bin"
    dst=$PAYLOAD/qemu/bin/qemu-system-x86_64
    if [ "${LAB_STRIP:-1}" = 1 ] && command -v strip >/dev/null; then
        strip -o "$dst" "$qemu"
    else
        cp "$qemu" "$dst"
    fi
    chmod 755 "$dst"
    "$qemu" --version | head -n 1 > "$PAYLOAD/qemu/VERSION"
}

# Every library ldd resolves, plus the loader, flat in $PAYLOAD/lib under
# the names the binary asks for (sonames), dereferenced.
copy_libs() {
    mkdir -p "$PAYLOAD/lib"
    ldd "$qemu" | awk '
        $2 == "=>" && $3 ~ /^\// { print $1, $3; next }
        $1 ~ /^\// { n = split($1, p, "/"); print p[n], $1 }' |
    while read -r name path; do
        cp -L "$path" "$PAYLOAD/lib/$name"
    done
    [ -f "$PAYLOAD/lib/ld-linux-x86-64.so.2" ] ||
        die "ldd listed no /lib64/ld-linux-x86-64.so.2 for $qemu"
}

# Firmware an x86 QEMU may load for -M pc / q35, with or without -nodefaults:
# BIOS, VGA BIOS, the -kernel/-bios option ROMs, the vapic ROM, NIC ROMs.
FIRMWARE="bios-256k.bin bios.bin bios-microvm.bin qboot.rom sgabios.bin
 vgabios.bin vgabios-stdvga.bin vgabios-cirrus.bin vgabios-virtio.bin
 vgabios-bochs-display.bin vgabios-ramfb.bin vgabios-qxl.bin
 vgabios-vmware.bin vgabios-isavga.bin vgabios-ati.bin
 kvmvapic.bin linuxboot.bin linuxboot_dma.bin multiboot.bin
 multiboot_dma.bin pvh.bin
 efi-e1000.rom efi-e1000e.rom efi-virtio.rom efi-rtl8139.rom"
REQUIRED_FIRMWARE="bios-256k.bin kvmvapic.bin linuxboot_dma.bin"

# Look first where the binary's own build tree keeps its data (so the lab
# uses what that build was linked with), then in Debian's packages.
firmware_dirs() {
    find "$(dirname "$qemu")/qemu-bundle" -maxdepth 4 -type d \
        -path '*/share/qemu' 2>/dev/null
    echo /usr/share/seabios /usr/share/qemu /usr/lib/ipxe/qemu
}

copy_firmware() {
    fw=$PAYLOAD/qemu/share/qemu
    mkdir -p "$fw"
    dirs=$(firmware_dirs)
    for name in $FIRMWARE; do
        for d in $dirs; do
            if [ -f "$d/$name" ]; then
                cp -L "$d/$name" "$fw/$name"
                break
            fi
        done
    done
    for name in $REQUIRED_FIRMWARE; do
        [ -f "$fw/$name" ] || die "firmware $name not found in: $dirs"
    done
}

write_wrapper() {
    mkdir -p "$PAYLOAD/bin"
    cat > "$PAYLOAD/bin/lab-qemu" <<'WRAP'
#!/bin/sh
# The fork's QEMU inside the lab, with the lab's firmware directory.
exec /lab/qemu/bin/qemu-system-x86_64 -L /lab/qemu/share/qemu "$@"
WRAP
    chmod 755 "$PAYLOAD/bin/lab-qemu"
}

copy_binary
copy_libs
copy_firmware
write_wrapper
echo "10-qemu.sh: $(cat "$PAYLOAD/qemu/VERSION") from $qemu" >&2

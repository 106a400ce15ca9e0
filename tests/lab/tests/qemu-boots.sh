#!/bin/sh
# End to end: the fork's QEMU, inside the lab, with KVM, boots a 512-byte
# boot sector through SeaBIOS; the sector writes a line to COM1 and halts.

LIMIT=${QEMU_BOOTS_LIMIT:-60}
dir=/tmp/qemu-boots
mkdir -p "$dir"
want="LAB-GUEST-OK"

# Real-mode code at 0x7c00 (octal bytes):
#   xor ax,ax; mov ds,ax; cld; mov si,0x7c17; mov dx,0x3f8
#   1: lodsb; test al,al; jz 2f; out dx,al; jmp 1b
#   2: cli; hlt; jmp 2b
#   0x7c17: "LAB-GUEST-OK\r\n\0"
make_sector() {
    {
        printf '\061\300\216\330\374\276\027\174\272\370\003'
        printf '\254\204\300\164\003\356\353\370'
        printf '\372\364\353\374'
        printf '%s\r\n\000' "$want"
    } > "$dir/code"
    size=$(wc -c < "$dir/code")
    {
        cat "$dir/code"
        head -c $((510 - size)) /dev/zero
        printf '\125\252'
    } > "$dir/boot.img"
}

make_sector
echo "# $(lab-qemu --version | head -n 1)"
if [ "$(wc -c < "$dir/boot.img")" = 512 ]; then
    echo "ok - boot sector is 512 bytes"
else
    echo "not ok - boot sector is $(wc -c < "$dir/boot.img") bytes"
fi

: > "$dir/serial.out"
start=$(date +%s)
lab-qemu -accel kvm -M pc -nodefaults -display none -m 64 \
    -drive "file=$dir/boot.img,format=raw,if=ide" \
    -serial "file:$dir/serial.out" > "$dir/qemu.log" 2>&1 &
qpid=$!

seen=0
while [ $(($(date +%s) - start)) -lt "$LIMIT" ]; do
    if grep -q "$want" "$dir/serial.out"; then
        seen=1
        break
    fi
    kill -0 "$qpid" 2>/dev/null || break
    sleep 0.2
done
elapsed=$(($(date +%s) - start))
kill "$qpid" 2>/dev/null
wait "$qpid" 2>/dev/null

if [ "$seen" = 1 ]; then
    echo "ok - guest under -accel kvm wrote '$want' to COM1 (${elapsed} s)"
else
    echo "not ok - guest wrote no '$want' to COM1 within $LIMIT s"
    sed 's/^/# qemu: /' "$dir/qemu.log"
    echo "# serial: $(tr -d '\r' < "$dir/serial.out" | head -c 200)"
fi

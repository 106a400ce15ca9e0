#!/bin/sh
# The nap test guest in the lab, under real KVM (run by tests/nap/lab-kvm,
# which stages this script, the guest and napagent into /lab/tests).
# Two guests side by side: one with the nap device (nap-on-migrate=on),
# one without; both migrated to a file, NAP_KVM_PAUSE s (30) away, and
# restored. Prints the guest's CLOCK_REALTIME error against this (inner)
# host for both, the boot and wake times, and asserts the nap one within
# NAP_KVM_MAX_MS (50) and the stock one about the pause behind.
set -u
T=/lab/tests d=/tmp/nap-kvm
PAUSE=${NAP_KVM_PAUSE:-30}
MAX_MS=${NAP_KVM_MAX_MS:-50}
rc=0 pids=""
ok() { echo "ok - $*"; }
not_ok() { echo "not ok - $*"; rc=1; }
fig() { echo "# $1=$2"; }
rm -rf "$d"
mkdir -p "$d"
trap 'for p in $pids; do kill $p 2>/dev/null; done' EXIT

# start_vm NAME ARGS...: the guest under lab-qemu with KVM; QMP and the
# agent's serial line on FIFOs (QEMU pipe chardevs); every QMP line kept
# in $d/NAME.qmp.
start_vm() {
    n=$1
    shift
    for f in ag q; do mkfifo "$d/$n.$f.in" "$d/$n.$f.out"; done
    lab-qemu -accel kvm -M q35 -cpu host -nodefaults -m 256 -display none \
        -kernel $T/nap-vmlinuz -initrd $T/nap-initramfs.cpio.gz \
        -append "console=ttyS0 quiet iomem=relaxed" \
        -serial "file:$d/$n.con" \
        -chardev "pipe,id=ag,path=$d/$n.ag" -serial chardev:ag \
        -chardev "pipe,id=q,path=$d/$n.q" -mon chardev=q,mode=control \
        "$@" > "$d/$n.log" 2>&1 &
    eval "pid_$n=$!"
    pids="$pids $!"
    cat "$d/$n.q.out" >> "$d/$n.qmp" &
    pids="$pids $!"
    qmp "$n" '"qmp_capabilities"' > /dev/null
}

# qmp NAME '"command"' [ARGUMENTS-JSON]: run it, print its answer line.
# The id counter is a file: qmp also runs in command substitutions.
qmp() {
    qid=$(($(cat "$d/qid" 2>/dev/null || echo 0) + 1))
    echo "$qid" > "$d/qid"
    echo "{\"execute\": $2, \"id\": \"c$qid\"${3:+, \"arguments\": $3}}" \
        > "$d/$1.q.in"
    i=0
    while [ $i -lt 600 ]; do
        line=$(grep "\"c$qid\"" "$d/$1.qmp") && { echo "$line"; return 0; }
        sleep 0.1
        i=$((i + 1))
    done
    return 1
}

# wait_migration NAME: until completed/failed; prints the status.
wait_migration() {
    i=0
    while [ $i -lt 600 ]; do
        st=$(qmp "$1" '"query-migrate"' |
            sed -n 's/.*"status": "\([a-z-]*\)".*/\1/p')
        case "$st" in completed | failed | cancelled) break ;; esac
        sleep 0.2
        i=$((i + 1))
    done
    echo "$st"
}

probe_once() {
    $T/napagent -p "$d/$1.ag.in" "$d/$1.ag.out" 2>/dev/null |
        sed -n 's/^PROBE //p'
}

# probe NAME [TRIES]: once the guest answers (up to TRIES attempts of up
# to 10 s), the best (shortest round trip) of 3 probes, as
# "err_ns rtt_ns realtime monotonic boottime".
probe() {
    tries=${2:-60} best=""
    while [ "$tries" -gt 0 ] && [ -z "$(probe_once "$1")" ]; do
        tries=$((tries - 1))
    done
    for i in 1 2 3; do
        p=$(probe_once "$1")
        [ -n "$p" ] || continue
        if [ -z "$best" ] || [ "$(field "$p" 2)" -lt "$(field "$best" 2)" ]
        then
            best=$p
        fi
    done
    [ -n "$best" ] && echo "$best"
}

field() { echo "$1" | cut -d' ' -f"$2"; }
ms() { awk "BEGIN { printf \"%.1f\", $1 / 1000000 }"; }
now_s() { cut -d' ' -f1 /proc/uptime; }
since() { awk "BEGIN { printf \"%.1f\", $(now_s) - $1 }"; }

NAP="-device nap,id=nap0,nap-on-migrate=on"
t=$(now_s)
start_vm nap $NAP
start_vm stock
b_nap=$(probe nap) && b_stock=$(probe stock) ||
    { not_ok "the nap test guests boot under KVM"; exit 1; }
ok "the nap test guests boot under KVM"
fig boot_both_s "$(since "$t")"

qmp nap '"migrate"' "{\"uri\": \"file:$d/nap.mig\"}" > /dev/null
qmp stock '"migrate"' "{\"uri\": \"file:$d/stock.mig\"}" > /dev/null
s1=$(wait_migration nap) s2=$(wait_migration stock)
[ "$s1 $s2" = "completed completed" ] && ok "both saves completed" ||
    not_ok "saves: nap $s1, stock $s2"
if grep -q NAP_SETTLED "$d/nap.qmp"; then
    ok "the guest napped before the save (NAP_SETTLED)"
    fig settle_ms "$(sed -n 's/.*NAP_SETTLED.*"elapsed-ms": \([0-9]*\).*/\1/p' "$d/nap.qmp")"
else
    not_ok "the guest napped before the save (NAP_SETTLED)"
    grep NAP_ "$d/nap.qmp" | sed 's/^/# /'
fi
qmp nap '"quit"' > /dev/null
qmp stock '"quit"' > /dev/null
wait $pid_nap $pid_stock 2>/dev/null

sleep "$PAUSE"

t=$(now_s)
start_vm nap2 $NAP -incoming defer
start_vm stock2 -incoming defer
qmp nap2 '"migrate-incoming"' "{\"uri\": \"file:$d/nap.mig\"}" > /dev/null
qmp stock2 '"migrate-incoming"' "{\"uri\": \"file:$d/stock.mig\"}" > /dev/null
s1=$(wait_migration nap2) s2=$(wait_migration stock2)
[ "$s1 $s2" = "completed completed" ] && ok "both restores completed" ||
    not_ok "restores: nap $s1, stock $s2"
a_nap=$(probe nap2) && a_stock=$(probe stock2) ||
    { not_ok "the restored guests answer"; exit 1; }
fig restore_to_answer_s "$(since "$t")"
grep -q NAP_WAKE "$d/nap2.qmp" && ok "the restored guest was woken (NAP_WAKE)" ||
    not_ok "the restored guest was woken (NAP_WAKE)"

e_nap=$(field "$a_nap" 1) e_stock=$(field "$a_stock" 1)
fig nap_err_ms "$(ms "$e_nap")"
fig nap_probe_rtt_ms "$(ms "$(field "$a_nap" 2)")"
fig stock_err_ms "$(ms "$e_stock")"
mono=$(($(field "$a_nap" 4) - $(field "$b_nap" 4)))
boot=$(($(field "$a_nap" 5) - $(field "$b_nap" 5)))
fig nap_mono_advance_ms "$(ms "$mono")"
fig nap_boot_advance_ms "$(ms "$boot")"
[ "$mono" -gt 0 ] && [ "$mono" -lt $(((PAUSE - 5) * 1000000000)) ] &&
    ok "nap: CLOCK_MONOTONIC did not jump over the pause" ||
    not_ok "nap: CLOCK_MONOTONIC did not jump over the pause"
[ "$boot" -gt $((PAUSE * 1000000000)) ] &&
    ok "nap: CLOCK_BOOTTIME moved forward by the time away" ||
    not_ok "nap: CLOCK_BOOTTIME moved forward by the time away"
abs=${e_nap#-}
[ "$abs" -le $((MAX_MS * 1000000)) ] &&
    ok "nap: guest CLOCK_REALTIME within $MAX_MS ms of the host ($(ms "$e_nap") ms)" ||
    not_ok "nap: guest CLOCK_REALTIME within $MAX_MS ms of the host ($(ms "$e_nap") ms)"
[ "$e_stock" -lt $(( -(PAUSE - 5) * 1000000000 )) ] &&
    ok "stock: guest about $PAUSE s behind ($(ms "$e_stock") ms)" ||
    not_ok "stock: guest about $PAUSE s behind ($(ms "$e_stock") ms)"
exit $rc

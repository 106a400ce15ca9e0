#!/bin/sh
# The nap test guest in the lab, under real KVM (run by tests/nap/lab-kvm,
# which stages this script, the guest and napagent into /lab/tests).
# Two guests side by side: one with the nap device, napped first as a
# management layer does it (x-nap-request, NAP_SETTLED, then migrate),
# one without; both migrated to a file, NAP_KVM_PAUSE s (30) away, and
# restored. Prints the guest's CLOCK_REALTIME error against this (inner)
# host for both, the boot and wake times, and asserts the nap one within
# NAP_KVM_MAX_MS (50) and the stock one about the pause behind.
set -u
T=/lab/tests d=/tmp/nap-kvm
PAUSE=${NAP_KVM_PAUSE:-30}
MAX_MS=${NAP_KVM_MAX_MS:-50}
. $T/naplab-lib.sh
naplab_begin
NAP="-device nap,id=nap0"
t=$(now_s)
start_vm nap $NAP
start_vm stock
b_nap=$(probe nap) && b_stock=$(probe stock) ||
    { not_ok "the nap test guests boot under KVM"; exit 1; }
ok "the nap test guests boot under KVM"
fig boot_both_s "$(since "$t")"

outcome=$(nap_first nap)
qmp nap '"migrate"' "{\"uri\": \"file:$d/nap.mig\"}" > /dev/null
qmp stock '"migrate"' "{\"uri\": \"file:$d/stock.mig\"}" > /dev/null
s1=$(wait_migration nap) s2=$(wait_migration stock)
[ "$s1 $s2" = "completed completed" ] && ok "both saves completed" ||
    not_ok "saves: nap $s1, stock $s2"
if [ "$outcome" = NAP_SETTLED ]; then
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

#!/bin/sh
# Faults during the migration of a napping guest, under real KVM in the
# lab (run by tests/nap/lab-kvm; issue 12). One guest with the nap driver
# is napped the way a management layer does it (x-nap-request, then
# NAP_SETTLED) before each migration, and each migration is made to fail
# on purpose, where it is meant to:
#   no-listener   nobody listens on the socket: fails in setup
#   refused       the destination has no nap device, so it refuses the
#                 stream (unknown section "nap"); the return path tells
#                 the source
#   killed        the destination is SIGKILLed while the (rate-limited)
#                 migration is active
#   yanked        the source's connection is cut (QMP yank) while active
#   cancel-active migrate_cancel while active
#   cancel-pre-switchover  migrate_cancel after the source stopped its VM
#                 (pause-before-switchover), before the switchover
# After each: the source's migration failed or was cancelled, its guest
# was woken (NAP_WAKE) and runs, its CLOCK_REALTIME is within
# NAP_KVM_MAX_MS (50) of this host, CLOCK_MONOTONIC went on, the device is
# idle, and no destination runs the VM. Then the same guest naps and
# migrates once more, successfully: nothing of the faults stayed behind.
set -u
T=/lab/tests d=/tmp/nap-faults
MAX_MS=${NAP_KVM_MAX_MS:-50}
# Bytes/s: a 256 MiB guest then takes minutes to send, so a fault lands
# while the migration is active (the status is checked before it).
SLOW=262144
. $T/naplab-lib.sh
naplab_begin
NAP="-device nap,id=nap0"
RETURN_PATH='{"capabilities": [{"capability": "return-path", "state": true}]}'

# mig_status NAME: query-migrate's status (none before any migration).
mig_status() {
    st=$(qmp "$1" '"query-migrate"' |
        sed -n 's/.*"status": "\([a-z-]*\)".*/\1/p')
    echo "${st:-none}"
}

# wait_mig_status NAME STATUS: until query-migrate says STATUS (30 s);
# false when it says something final instead, or never does.
wait_mig_status() {
    i=0
    while [ $i -lt 300 ]; do
        st=$(mig_status "$1")
        [ "$st" = "$2" ] && return 0
        case "$st" in completed | failed | cancelled) return 1 ;; esac
        sleep 0.1
        i=$((i + 1))
    done
    return 1
}

runstate() {
    qmp "$1" '"query-status"' | sed -n 's/.*"status": "\([a-z-]*\)".*/\1/p'
}

# wait_running NAME: until the VM's runstate is running (30 s).
wait_running() {
    i=0
    while [ $i -lt 300 ]; do
        [ "$(runstate "$1")" = running ] && return 0
        sleep 0.1
        i=$((i + 1))
    done
    return 1
}

# dest_not_running NAME: the destination QEMU exits within 30 s, or, if
# it is still there, its VM does not run; it is stopped either way.
dest_not_running() {
    i=0
    while alive "$1" && [ $i -lt 300 ]; do
        sleep 0.1
        i=$((i + 1))
    done
    alive "$1" || return 0
    rs=$(runstate "$1")
    qmp "$1" '"quit"' > /dev/null
    [ "$rs" != running ]
}

# start_dest NAME [ARGS...]: an incoming QEMU listening on $d/NAME.sock
# (NAME a shell word: it names variables). It opens the return path
# when the source's stream asks for it.
start_dest() {
    n=$1
    shift
    start_vm "$n" -incoming defer "$@"
    qmp "$n" '"migrate-incoming"' "{\"uri\": \"unix:$d/$n.sock\"}" > /dev/null
}

migrate_to() {
    qmp src '"migrate"' "{\"uri\": \"unix:$d/$1.sock\"}"
}

nap_idle() { qmp "$1" '"x-query-nap"' | grep -q '"state": "idle"'; }

last_mono=0
# begin_case NAME: the guest naps first; notes the source's wake count.
begin_case() {
    c=$1
    echo "# --- $c"
    wakes=$(events src NAP_WAKE)
    out=$(nap_first src)
    check "$c: the guest napped first ($out)" [ "$out" = NAP_SETTLED ]
}

# end_case STATUS DEST: the source's migration ended with STATUS, its
# guest is awake with its clock right, DEST runs nothing.
end_case() {
    st=$(wait_migration src)
    check "$c: the source's migration is $1 ($st)" [ "$st" = "$1" ]
    check "$c: the source woke the napping guest (NAP_WAKE)" \
        wait_events src NAP_WAKE $((wakes + 1)) 30
    check "$c: the source VM runs" wait_running src
    p=$(probe src 6)
    if [ -z "$p" ]; then
        not_ok "$c: the guest answers after the wake"
    else
        err=$(field "$p" 1) mono=$(field "$p" 4)
        fig "${c}_err_ms" "$(ms "$err")"
        abs=${err#-}
        check "$c: guest CLOCK_REALTIME within $MAX_MS ms ($(ms "$err") ms)" \
            [ "$abs" -le $((MAX_MS * 1000000)) ]
        check "$c: guest CLOCK_MONOTONIC went on" [ "$mono" -gt "$last_mono" ]
        last_mono=$mono
    fi
    check "$c: the nap device is idle" nap_idle src
    if [ -n "$2" ]; then
        check "$c: the destination does not run the VM" dest_not_running "$2"
    fi
}

t=$(now_s)
start_vm src $NAP
p=$(probe src) || { not_ok "the nap test guest boots under KVM"; exit 1; }
last_mono=$(field "$p" 4)
ok "the nap test guest boots under KVM"
fig boot_s "$(since "$t")"
qmp src '"migrate-set-capabilities"' "$RETURN_PATH" > /dev/null

begin_case no-listener
migrate_to nobody > /dev/null
end_case failed ""

begin_case refused
start_dest refused
migrate_to refused > /dev/null
end_case failed refused
grep -q "instance 'nap'" "$d/refused.log" &&
    ok "refused: the destination said why (section nap)" ||
    { not_ok "refused: the destination said why (section nap)";
      sed 's/^/# /' "$d/refused.log"; }

qmp src '"migrate-set-parameters"' "{\"max-bandwidth\": $SLOW}" > /dev/null
begin_case killed
start_dest killed $NAP
migrate_to killed > /dev/null
check "killed: the migration is active at the fault" \
    wait_mig_status src active
sleep 1
kill -9 $pid_killed
end_case failed killed

begin_case yanked
start_dest yanked $NAP
migrate_to yanked > /dev/null
check "yanked: the migration is active at the fault" \
    wait_mig_status src active
sleep 1
qmp src '"yank"' '{"instances": [{"type": "migration"}]}' | grep -q return ||
    not_ok "yanked: yank answered"
end_case failed yanked

begin_case cancel-active
start_dest cancel_active $NAP
migrate_to cancel_active > /dev/null
check "cancel-active: the migration is active at the fault" \
    wait_mig_status src active
sleep 1
qmp src '"migrate_cancel"' > /dev/null
end_case cancelled cancel_active

qmp src '"migrate-set-parameters"' '{"max-bandwidth": 1073741824}' > /dev/null
qmp src '"migrate-set-capabilities"' \
    '{"capabilities": [{"capability": "pause-before-switchover", "state": true}]}' \
    > /dev/null
begin_case cancel-pre-switchover
start_dest cancel_preswitch $NAP
migrate_to cancel_preswitch > /dev/null
check "cancel-pre-switchover: the migration waits before the switchover" \
    wait_mig_status src pre-switchover
rs=$(runstate src)
check "cancel-pre-switchover: the source's VM is stopped at the fault ($rs)" \
    [ "$rs" != running -a "$rs" != suspended ]
qmp src '"migrate_cancel"' > /dev/null
end_case cancelled cancel_preswitch
qmp src '"migrate-set-capabilities"' \
    '{"capabilities": [{"capability": "pause-before-switchover", "state": false}]}' \
    > /dev/null

# After all that, a migration that works: napped, moved, woken there.
echo "# --- after the faults"
out=$(nap_first src)
check "after the faults: the guest naps again ($out)" [ "$out" = NAP_SETTLED ]
start_dest final $NAP
migrate_to final > /dev/null
st=$(wait_migration src)
check "after the faults: the migration completes ($st)" [ "$st" = completed ]
check "after the faults: the destination woke the guest (NAP_WAKE)" \
    wait_events final NAP_WAKE 1 30
p=$(probe final 6)
if [ -n "$p" ]; then
    err=$(field "$p" 1)
    fig final_err_ms "$(ms "$err")"
    abs=${err#-}
    check "after the faults: guest CLOCK_REALTIME within $MAX_MS ms on the destination ($(ms "$err") ms)" \
        [ "$abs" -le $((MAX_MS * 1000000)) ]
else
    not_ok "after the faults: the guest answers on the destination"
fi
fig total_s "$(since "$t")"
exit $rc

#!/bin/sh
# Malformed precise TSC state (the per-vCPU "cpu/precise-tsc" subsections)
# must fail the load cleanly: a 2-vCPU tscprobe (docs/tscprobe.md) is
# saved to a file with precise-tsc=on; /lab/progs/stream-edit
# (tests/lab/progs/stream-edit.c) finds the subsections in the stream and
# writes corrupted copies; each is
# loaded with migrate_incoming into a fresh destination (-S -incoming
# defer; HMP's migrate_incoming does not exit QEMU on a failed load).
# Each must end with the incoming migration "failed", QEMU alive and
# answering HMP, the VM not running, and QEMU's error naming the field.
# The unmodified file must then load and run (control).
#
# Live: a source migrating over a unix socket whose destination is
# killed (SIGKILL) mid-migration keeps running, and so does tscprobe:
#   active: killed while RAM is being sent (the destination stopped with
#           SIGSTOP first, so the stream cannot complete; the VM never
#           stopped);
#   switchover: killed while the source waits at pause-before-switchover
#           (VM stopped, the fork's sample taken); migrate_continue makes
#           the source notice, fail, and resume the VM through the fork's
#           restore of its own sample.
set -u
. /lab/tscprobe/lib.sh
. /lab/tscprobe/migrate.sh

SMP=2
mg_machine $SMP
MEM="-m 32"
TP_ACCEL=kvm,precise-tsc=on
export TP_ACCEL
EDIT=/lab/progs/stream-edit
YEAR_NS=31536000000000000

tp_init /tmp/precise-bad-stream
trap 'exec 3>&- 4>&-; tp_stop_all' EXIT

boot() {
    tp_start $1 3 $MACHINE $MEM $(mg_trace $1)
    tp_wait 30 mg_all_looping 3 $1.boot || {
        not_ok "$1: tscprobe boots"
        tail -n 20 "$tp_dir/$1.hmp" | sed 's/^/# qemu: /'
        exit 1
    }
    mg_nice_vcpus $tp_pid
}

# ---- the good stream -------------------------------------------------------
good=$tp_dir/good.state
boot src
sleep 0.3
tp_hmp 3 stop
tp_hmp 3 "migrate \"file:$good\""
mg_wait_mig 3 src 30 && [ "$mg_status" = completed ] ||
    { not_ok "source: save to file ($mg_status)"; exit 1; }
tp_hmp 3 quit
exec 3>&-
tp_stop_all
if ! "$EDIT" show "$good" > "$tp_dir/good.sect"; then
    not_ok "stream-edit finds the cpu/precise-tsc subsections"
    exit 1
fi
ok "saved; stream-edit finds the cpu/precise-tsc subsections"
sed 's/^/# subsections: /' "$tp_dir/good.sect"
sv() { sed -n "s/^$1=//p" "$tp_dir/good.sect"; }
check "one subsection per vCPU ($SMP), flags valid+kvm-pair (3), tsc_khz set, one instant" \
    test "$(sv vcpus)" = $SMP -a "$(sv flags.0)" = 3 -a \
    "$(sv tsc_khz.0)" -gt 0 -a "$(sv ref_tai_ns.0)" = "$(sv ref_tai_ns.1)"

# ---- corrupted copies --------------------------------------------------------
# case NAME FIELD-NAMED-IN-ERROR stream-edit-args...
n=0
bad() {
    name=$1 field=$2
    shift 2
    f=$tp_dir/$name.state
    n=$((n + 1))
    if [ "$1" = cut ]; then
        "$EDIT" cut "$good" "$f" "$2"
    else
        "$EDIT" set "$good" "$f" "$@"
    fi || { not_ok "$name: stream-edit"; return; }
    d=b$n
    tp_start $d 4 $MACHINE $MEM -S -incoming defer
    mg_up 4 $d 30 || { not_ok "$name: destination monitor"; return; }
    tp_hmp 4 "migrate_incoming \"file:$f\""
    mg_wait_mig 4 $d 30
    st=$mg_status
    vm=$(tp_status 4 $d)
    alive=no
    tp_alive $tp_pid && alive=yes
    # QEMU's stderr shares the file with HMP: a message can follow a
    # prompt or a half-echoed command (escape sequences) on its line.
    err=$(mg_hmp_text $d | sed -n 's/.*qemu-system-x86_64: /qemu-system-x86_64: /p
        s/.*\(Migration status: failed.*\)/\1/p' | tr '\n' '|')
    fig "$name.status" "$st"
    fig "$name.vm" "$vm"
    fig "$name.errors" "$err"
    check "$name: load failed (info migrate: $st), QEMU alive, VM $vm" \
        test "$st" = failed -a "$alive" = yes -a "$vm" != running
    check "$name: error names the field '$field'" \
        sh -c "echo \"\$1\" | grep -q \"precise-tsc.*$field\"" _ "$err"
    tp_hmp 4 quit
    exec 4>&-
    tp_stop_all
}
bad tsc_khz_zero tsc_khz tsc_khz 0
bad tsc_khz_absurd tsc_khz tsc_khz 0xffffffff
bad ref_tai_future ref_tai_ns ref_tai_ns +$YEAR_NS
bad tai_offset_absurd ref_tai_offset_s ref_tai_offset_s 100000
bad flags_unknown flags flags +0x100
# vCPU 1's instant 1 ns off vCPU 0's: each valid, together not one VM.
bad instant_differs "reference instant differs" ref_tai_ns +1 1
# Cut 24 bytes into the first subsection's fields: inside ref_kvmclock_ns.
bad truncated ref_kvmclock_ns cut 24

# ---- control: the unmodified stream loads and runs ---------------------------
tp_start ctl 4 $MACHINE $MEM -S -incoming defer
mg_up 4 ctl 30
tp_hmp 4 "migrate_incoming \"file:$good\""
check "control: unmodified stream loads (VM paused)" \
    mg_wait_status 4 ctl paused 30
tp_hmp 4 cont
sleep 0.5
tp_dump 4 ctl.a
sleep 0.5
tp_dump 4 ctl.b
check "control: VM running, tscprobe heartbeat advancing" \
    test "$(tp_status 4 ctl)" = running -a \
    "$(tp_kv ctl.b cpu1.loops)" -gt "$(tp_kv ctl.a cpu1.loops)"
tp_hmp 4 quit
exec 4>&-
tp_stop_all

# ---- live: the destination dies mid-migration ----------------------------
# live_kill CASE
live_kill() {
    c=$1 sock=/tmp/bad-$1.sock
    rm -f "$sock"
    boot $c.src
    spid=$tp_pid
    tp_start $c.dst 4 $MACHINE $MEM -incoming "unix:$sock"
    dpid=$tp_pid
    mg_up 4 $c.dst 30 && tp_wait 30 test -S "$sock" ||
        { not_ok "$c: destination listening"; return; }
    tp_dump 3 $c.before
    soff0=$(mg_offsets $spid $SMP)
    if [ $c = active ]; then
        # The destination is stopped (SIGSTOP) before the migration
        # starts: it reads nothing, so the source blocks once the socket
        # buffers are full and the migration cannot complete before the
        # kill. A 1 KB/s bandwidth limit did not hold it: a clean-clone
        # run completed 417 KB in 693 ms and the case failed.
        kill -STOP $dpid
        want=active
    else
        tp_hmp 3 "migrate_set_capability pause-before-switchover on"
        want=pre-switchover
    fi
    tp_hmp 3 "migrate -d unix:$sock"
    n=0
    while [ $n -lt 100 ]; do
        s=$(mg_mig_status 3 $c.src)
        [ "$s" = $want ] && break
        sleep 0.05
        n=$((n + 1))
    done
    fig $c.status_when_killed "$s"
    check "$c: the fault lands where it is meant to (status $want when killed)" \
        test "$s" = $want
    kill -9 $dpid
    wait $dpid 2>/dev/null
    [ $c = active ] || tp_hmp 3 "migrate_continue pre-switchover"
    tp_pid=$spid
    mg_wait_mig 3 $c.src 30
    fig $c.source_migration_status "$mg_status"
    mg_hmp_text $c.src | grep -a 'status\|total time\|transferred\|throughput\|bandwidth' | tail -n 8 | sed "s/^/# $c: info migrate: /"
    check "$c: source's migration failed when the destination was killed" \
        test "$mg_status" = failed
    check "$c: source VM running again" mg_wait_status 3 $c.src running 20
    sleep 0.5
    tp_dump 3 $c.a
    sleep 0.5
    tp_dump 3 $c.b
    soff1=$(mg_offsets $spid $SMP)
    fig $c.offsets_before_after "$soff0 / $soff1"
    khz=$(tp_kv $c.a tsc_khz)
    fig $c.offset_change_us \
        "$(awk "BEGIN { printf \"%.3f\", (${soff1%% *} - (${soff0%% *})) * 1000 / $khz }")"
    fig $c.resumes "$(tp_kv $c.b cpu1.resume_count)"
    fig $c.cpu1.tsc_step_ms \
        "$(calc "$(tp_kv $c.b cpu1.resume_tsc_step) / $khz")"
    fig $c.cpu1.kvmclock_step_ms \
        "$(calc "$(tp_kv $c.b cpu1.resume_kvmclock_step_ns) / 1000000")"
    t_stop=$(mg_t $c.src 'vm_state_notify running 0 reason [0-9]* (finish-migrate)')
    t_run=$(mg_t $c.src 'vm_state_notify running 1')
    [ -z "$t_stop" ] || fig $c.host_pause_ms \
        "$(awk "BEGIN { printf \"%.1f\", ($t_run - $t_stop) * 1000 }")"
    check "$c: tscprobe continues (loops advance on every vCPU)" test \
        "$(tp_kv $c.b cpu0.loops)" -gt "$(tp_kv $c.a cpu0.loops)" -a \
        "$(tp_kv $c.b cpu1.loops)" -gt "$(tp_kv $c.a cpu1.loops)"
    check "$c: no warp, no backward TSC or kvmclock step" test \
        "$(tp_sum $c.b kvmclock_back_count)$(tp_sum $c.b tsc_back_count)$(tp_sum $c.b warp_count)" = 000
    check "$c: TSC offsets still bit-identical" mg_same $soff1
    if [ $c = switchover ]; then
        # Stopped and resumed through the fork's own sample: offsets
        # unchanged (continued by exactly the elapsed time), TSC and
        # kvmclock steps agree.
        check "switchover: TSC offsets unchanged by the stop/resume" \
            awk "BEGIN { e = (${soff1%% *} - (${soff0%% *})) * 1000 / $khz;
                         exit !(e < 1 && -e < 1) }"
        check "switchover: cpu1 TSC and kvmclock steps agree within 5 ms" \
            awk "BEGIN { d = $(tp_kv $c.b cpu1.resume_tsc_step) / $khz -
                             $(tp_kv $c.b cpu1.resume_kvmclock_step_ns) / 1000000;
                         exit !(d < 5 && -d < 5) }"
    fi
    tp_hmp 3 quit
    exec 3>&- 4>&-
    tp_stop_all
}
live_kill active
live_kill switchover
exit $rc

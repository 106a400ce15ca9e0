#!/bin/sh
# Migration compatibility between the fork and unpatched QEMU 10.0 ("stock":
# scripts/build-stock-qemu, payload.d/15-stock-qemu.sh, lab-qemu-stock),
# with the tscprobe guest under real KVM (docs/tscprobe.md), same machine
# and firmware as stock-restore.sh on both sides.
#
# The contract (docs/precise-tsc.md, "Migration contract"): a machine
# type stock 10.0 also has (here pc-i440fx-10.0) keeps stock's stream and
# behaviour on the fork by default; the fork's own type (pc-i440fx-10.0-
# precise1, what "-M pc" means on the fork) has precise TSC on.
#
#   a. stock -> fork, pc-i440fx-10.0 with precise-tsc=on asked for
#      explicitly, file: the stream loads, the guest resumes with the
#      legacy semantics (figures as stock-restore's baseline), the fork
#      reports no error.
#   b. fork, pc-i440fx-10.0 and no accelerator option (what libvirt
#      starts) -> stock, file, and live over a unix socket: stock QEMU
#      loads the stream and the guest runs on.
#   c. fork with -M pc (its precise1 type) -> stock -M pc, file, and live
#      with the return path: stock rejects the stream cleanly: status
#      "failed", the error names the fork's machine type, it stays up;
#      the live source learns of the failure and keeps running.
#   d. the saved files' section lists (qemu-stream-sections: idstr,
#      instance id, version id of every START/FULL section, the machine
#      type, commands): fork on pc-i440fx-10.0 = stock; fork on its
#      precise1 type writes precise TSC state that stock's has not.
set -u
. /lab/tscprobe/lib.sh

SECTIONS=/lab/progs/qemu-stream-sections
SMP=2
fw=/lab/qemu/share/qemu/qboot.rom
UPSTREAM_TYPE=pc-i440fx-10.0
FORK_TYPE=pc-i440fx-10.0-precise1
CPU_ARGS="-cpu host -smp $SMP"
[ -f "$fw" ] && CPU_ARGS="$CPU_ARGS -bios $fw"
# The machine of the next tp_start; stock's "-M pc" is pc-i440fx-10.0.
MACHINE="-M $UPSTREAM_TYPE $CPU_ARGS"
machine() { MACHINE="-M $1 $CPU_ARGS"; }
STOCK_QEMU=/lab/bin/lab-qemu-stock
FORK_QEMU=/lab/bin/lab-qemu

rc=0
ok() { echo "ok - $*"; }
not_ok() { echo "not ok - $*"; rc=1; }
check() {
    desc=$1
    shift
    if "$@" 2>/dev/null; then ok "$desc"; else not_ok "$desc"; fi
}
fig() { echo "# $1=$2"; }
calc() { awk "BEGIN { printf \"%.1f\", $1 }"; }
# show NAME: the tail of a QEMU's monitor and stderr, as comments.
show() { tr -d '\r' < "$tp_dir/$1.hmp" | tail -n 15 | sed "s/^/# $1: /"; }

if [ ! -x "$STOCK_QEMU" ] || [ ! -x "$SECTIONS" ]; then
    not_ok "payload has lab-qemu-stock and qemu-stream-sections" \
        "(scripts/build-stock-qemu; payload.d/15, 35)"
    exit 1
fi
echo "# fork:  $(cat /lab/qemu/VERSION)"
echo "# stock: $(cat /lab/qemu-stock/VERSION)"

tp_init /tmp/compat-stock
# tp_start runs "lab-qemu": this one, first on PATH, runs $CS_QEMU instead
# (exec all the way, so tp_pid is QEMU's pid).
mkdir -p "$tp_dir/bin"
printf '#!/bin/sh\nexec "$CS_QEMU" "$@"\n' > "$tp_dir/bin/lab-qemu"
chmod 755 "$tp_dir/bin/lab-qemu"
PATH=$tp_dir/bin:$PATH
export PATH CS_QEMU TP_ACCEL
trap 'tp_stop_all' EXIT

# use KIND ACCEL: the QEMU the next tp_start runs (stock or fork).
use() {
    case "$1" in
    stock) CS_QEMU=$STOCK_QEMU ;;
    fork) CS_QEMU=$FORK_QEMU ;;
    esac
    TP_ACCEL=$2
}

# hmp_last NAME PATTERN: what follows PATTERN in NAME's last line with it.
hmp_last() {
    tr -d '\r' < "$tp_dir/$1.hmp" | sed -n "s/.*$2//p" | tail -n 1
}
# mig_status FD NAME: "Migration status" after a fresh "info migrate".
mig_status() {
    tp_hmp "$1" "info migrate"
    tp_sync "$1" mig 5 >/dev/null 2>&1
    hmp_last "$2" "Migration status: "
}
# wait_mig FD NAME S: until the status is completed or failed (S s max);
# the status in $mig.
wait_mig() {
    _n=$(($3 * 5))
    while [ "$_n" -gt 0 ]; do
        mig=$(mig_status "$1" "$2")
        case "$mig" in completed*|failed*) return 0 ;; esac
        tp_alive "$tp_pid" || return 1
        sleep 0.2
        _n=$((_n - 1))
    done
    return 1
}
# looping TAG: every vCPU of dump TAG is in its loop.
looping() {
    i=0
    while [ $i -lt $SMP ]; do
        [ "$(tp_kv "$1" "cpu$i.loops")" -gt 0 ] || return 1
        i=$((i + 1))
    done
}
# advanced A B KEY: KEY of every vCPU grew from dump A to dump B.
advanced() {
    i=0
    while [ $i -lt $SMP ]; do
        [ "$(tp_kv "$2" "cpu$i.$3")" -gt "$(tp_kv "$1" "cpu$i.$3")" ] ||
            return 1
        i=$((i + 1))
    done
}
# runs_on A B: the guest ran from dump A to dump B on every vCPU.
runs_on() {
    advanced "$1" "$2" last_tsc && advanced "$1" "$2" loops &&
        advanced "$1" "$2" last_kvmclock_ns && advanced "$1" "$2" timer_irqs
}
# pid_of NAME: the pid of the QEMU started as NAME.
pid_of() { cat "$tp_dir/$1.pid"; }
# qemu_errors NAME: the lines QEMU itself printed on stderr (they may follow
# the monitor's echo on one line).
qemu_errors() {
    tr -d '\r' < "$tp_dir/$1.hmp" | sed -n 's/.*\(qemu-system-x86_64: \)/\1/p'
}

# source NAME FD: boot tscprobe with the QEMU chosen by use(), wait until
# both vCPUs loop (dump NAME-run). Fails the test if it does not start.
source_vm() {
    tp_start "$1" "$2" $MACHINE
    echo "$tp_pid" > "$tp_dir/$1.pid"
    banner() { grep -q "tscprobe: cpus found" "$tp_dir/$1.serial" 2>/dev/null; }
    if ! tp_wait 30 banner "$1"; then
        not_ok "$1: tscprobe starts under $CS_QEMU -accel $TP_ACCEL"
        show "$1"
        exit 1
    fi
    tp_now
    _t0=$tp_now_ms
    while tp_now; [ $((tp_now_ms - _t0)) -lt 20000 ]; do
        tp_dump "$2" "$1-run" && looping "$1-run" 2>/dev/null && return 0
        sleep 0.1
    done
    not_ok "$1: both vCPUs loop within 20 s of the banner"
    tp_alive "$tp_pid" || echo "# $1: QEMU exited"
    grep -E '^(cpus_up|cpu[0-9]+\.loops)=' "$tp_dir/$1-run.kv" 2>/dev/null |
        sed "s/^/# $1: /"
    show "$1"
    exit 1
}

# save NAME FD FILE: stop, dump NAME-saved, migrate to FILE, quit.
save() {
    tp_hmp "$2" stop
    tp_now
    t_stop=$tp_now_ms
    tp_dump "$2" "$1-saved"
    tp_hmp "$2" "migrate \"file:$3\""
    if wait_mig "$2" "$1" 30 && [ "$mig" = completed ]; then
        ok "$1: saved to file ($(($(wc -c < "$3") / 1024)) KiB)"
    else
        not_ok "$1: saved to file (status: ${mig:-none})"
        show "$1"
        exit 1
    fi
    tp_hmp "$2" quit
    eval "exec $2>&-"
    tp_stop_all
}

# dest NAME FD [ARGS]: start a paused destination, -incoming defer, wait for
# its monitor.
dest_vm() {
    _name=$1 _fd=$2
    shift 2
    tp_start "$_name" "$_fd" $MACHINE -S -incoming defer "$@"
    echo "$tp_pid" > "$tp_dir/$_name.pid"
    monitor_up() { grep -q 'QEMU .* monitor' "$tp_dir/$_name.hmp"; }
    tp_wait 30 monitor_up || { not_ok "$_name: monitor up"; show "$_name"; exit 1; }
}

# resume NAME FD: dump NAME-loaded (the state the guest resumes from),
# cont, dump NAME-c1 1 s later, polling on for up to 10 s until every vCPU
# has seen the resume (a loaded outer machine can delay a vCPU that long),
# and check the guest runs on from the loaded state.
resume() {
    tp_dump "$2" "$1-loaded"
    tp_hmp "$2" cont
    tp_now
    t_cont=$tp_now_ms
    sleep 1
    while tp_dump "$2" "$1-c1" && ! advanced "$1-loaded" "$1-c1" resume_count &&
        tp_now && [ $((tp_now_ms - t_cont)) -lt 10000 ]; do
        sleep 0.5
    done
    tp_now
    fig "$1.host_cont_to_dump_ms" $((tp_now_ms - t_cont))
    check "$1: table dumped after cont" test -s "$tp_dir/$1-c1.kv"
    check "$1: VM running" test "$(tp_status "$2" "$1")" = running
    check "$1: every vCPU saw the resume (kvmclock guest-stopped flag)" \
        advanced "$1-loaded" "$1-c1" resume_count
    check "$1: heartbeat TSC, loops, kvmclock, timer IRQs advance on every vCPU" \
        runs_on "$1-loaded" "$1-c1"
    check "$1: no backward kvmclock step" \
        test "$(tp_sum "$1-c1" kvmclock_back_count)" = 0
    if [ $rc != 0 ]; then
        grep -E '^cpu[0-9]+\.(resume_count|loops)=' "$tp_dir/$1-loaded.kv" \
            "$tp_dir/$1-c1.kv" 2>/dev/null | sed "s|^$tp_dir/|# |"
    fi
}

# guest_figures NAME SAVED: what the guest saw across the restore.
guest_figures() {
    khz=$(tp_kv "$2" tsc_khz)
    fig "$1.tsc_khz" "$khz"
    fig "$1.guest_age_at_save_ms" "$(calc "$(tp_kv "$2" cpu0.last_tsc) / $khz")"
    # Host times from /proc/uptime (10 ms); the load is seen by polling
    # "info migrate" (up to ~0.3 s late).
    fig "$1.host_load_seen_to_cont_ms" $((t_cont - t_loaded))
    fig "$1.host_downtime_stop_to_cont_ms" $((t_cont - t_stop))
    i=0
    while [ $i -lt $SMP ]; do
        p=cpu$i
        jump=$(tp_kv "$1-c1" $p.resume_tsc_step)
        kjump=$(tp_kv "$1-c1" $p.resume_kvmclock_step_ns)
        fig "$1.$p.tsc_jump_ms" "$(calc "$jump / $khz")"
        fig "$1.$p.kvmclock_jump_ms" "$(calc "$kjump / 1000000")"
        fig "$1.$p.tsc_minus_kvmclock_jump_ms" \
            "$(calc "$jump / $khz - $kjump / 1000000")"
        fig "$1.$p.timer_late_first_after_restore_ms" \
            "$(calc "$(tp_kv "$1-c1" $p.resume_timer_late) / $khz")"
        i=$((i + 1))
    done
}

# load NAME FD FILE: migrate_incoming FILE into the destination NAME; the
# final migration status in $mig ("" if none within 30 s).
load() {
    tp_hmp "$2" "migrate_incoming \"file:$3\""
    tp_now
    t0=$tp_now_ms
    mig=""
    wait_mig "$2" "$1" 30
    tp_now
    t_loaded=$tp_now_ms
    fig "$1.migrate_incoming_to_status_ms" $((tp_now_ms - t0))
}

# ---- a. stock -> fork (precise-tsc=on), file ----------------------------
echo "# ---- a. stock QEMU -> fork ($UPSTREAM_TYPE, precise-tsc=on), file"
machine $UPSTREAM_TYPE
use stock kvm
source_vm a-src 3
save a-src 3 "$tp_dir/stock.mig"
use fork kvm,precise-tsc=on
dest_vm a-dst 4
# The monitor can come up before KVM has created the vCPUs (debugfs).
has_vcpu0() { [ -n "$(tp_tsc_offset "$(pid_of a-dst)" 0)" ]; }
tp_wait 5 has_vcpu0
off_pre=$(tp_tsc_offset "$(pid_of a-dst)" 0)
load a-dst 4 "$tp_dir/stock.mig"
if [ "$mig" = completed ] && [ "$(tp_status 4 a-dst)" = paused ]; then
    ok "a: fork loads stock's stream (status completed, VM paused)"
else
    not_ok "a: fork loads stock's stream (status: ${mig:-none})"
    show a-dst
fi
off_post=$(tp_tsc_offset "$(pid_of a-dst)" 0)
resume a-dst 4
tp_hmp 4 "info precise-tsc"
tp_sync 4 ipt 5
tr -d '\r' < "$tp_dir/a-dst.hmp" | sed -n '/^path: /,$p' |
    grep -v '^(qemu)' | sed 's/^/# a-dst: info precise-tsc: /'
check "a: legacy path: the fork applied no precise restore (info precise-tsc)" \
    eval '! tr -d "\r" < "$tp_dir/a-dst.hmp" | grep -q "last restore:"'
check "a: the fork printed no error or warning" \
    test -z "$(qemu_errors a-dst)"
qemu_errors a-dst | sed 's/^/# a-dst: /'
echo "# ==== a: stock stream restored by the fork: legacy semantics ===="
guest_figures a-dst a-src-saved
# KVM's TSC offset of vCPU 0 before and after the load (debugfs): unchanged
# means KVM swallowed QEMU's write of the saved TSC (stock-restore.sh).
fig a-dst.cpu0.kvm_tsc_offset_pre_load "${off_pre:-none}"
fig a-dst.cpu0.kvm_tsc_offset_post_load "${off_post:-none}"
if [ -n "$off_pre" ] && [ -n "$off_post" ]; then
    if [ "$off_pre" = "$off_post" ]; then
        fig a-dst.cpu0.restore_tsc_write swallowed
    else
        fig a-dst.cpu0.restore_tsc_write applied
    fi
fi
echo "# ==== end of a ===="
tp_hmp 4 quit
exec 4>&-
tp_stop_all

# ---- b. fork (upstream machine type, defaults) -> stock, file ------------
echo "# ---- b. fork ($UPSTREAM_TYPE, no accelerator option) -> stock QEMU, file"
machine $UPSTREAM_TYPE
use fork kvm
source_vm b-src 3
check "b: the fork on $UPSTREAM_TYPE keeps precise TSC off by default (path: legacy)" \
    eval 'tp_hmp 3 "info precise-tsc" && tp_sync 3 binfo 5 &&
          tr -d "\r" < "$tp_dir/b-src.hmp" | grep -q "^path: legacy,"'
save b-src 3 "$tp_dir/fork-up.mig"
use stock kvm
dest_vm b-dst 4
load b-dst 4 "$tp_dir/fork-up.mig"
if [ "$mig" = completed ] && [ "$(tp_status 4 b-dst)" = paused ]; then
    ok "b: stock loads the fork's $UPSTREAM_TYPE stream"
else
    not_ok "b: stock loads the fork's $UPSTREAM_TYPE stream (status: ${mig:-none})"
    show b-dst
fi
resume b-dst 4
check "b: stock printed no error" test -z "$(qemu_errors b-dst)"
guest_figures b-dst b-src-saved
tp_hmp 4 quit
exec 4>&-
tp_stop_all

# ---- c. fork (its own machine type) -> stock, file -----------------------
echo "# ---- c. fork (-M pc: $FORK_TYPE) -> stock QEMU (-M pc), file"
machine pc
use fork kvm
source_vm c-src 3
check "c: the fork's -M pc is $FORK_TYPE with precise TSC on" \
    eval 'tp_hmp 3 "info precise-tsc" && tp_sync 3 cinfo 5 &&
          tr -d "\r" < "$tp_dir/c-src.hmp" |
          grep -Eq "^path: (offsets|tsc-state),"'
save c-src 3 "$tp_dir/fork-on.mig"
use stock kvm
dest_vm c-dst 4
load c-dst 4 "$tp_dir/fork-on.mig"
err=$(qemu_errors c-dst)
echo "$err" | sed 's/^/# c-dst: /'
echo "# c-dst: Migration status: ${mig:-none}"
case "$mig" in
failed*) ok "c: stock refuses the $FORK_TYPE stream (status failed)" ;;
*) not_ok "c: stock refuses the $FORK_TYPE stream (status: ${mig:-none})" ;;
esac
check "c: stock's error names the fork's machine type" \
    eval 'echo "$err" | grep -q "Machine type received is .$FORK_TYPE."'
check "c: stock stays up after the failed load, VM not running" \
    eval 'tp_alive $(pid_of c-dst) && [ "$(tp_status 4 c-dst)" != running ]'
tp_hmp 4 quit
exec 4>&-
tp_stop_all

# ---- d. stream equivalence ----------------------------------------------
echo "# ---- d. section lists of the saved streams"
d_ok=1
for s in stock fork-up fork-on; do
    if "$SECTIONS" "$tp_dir/$s.mig" > "$tp_dir/$s.sections" \
        2> "$tp_dir/$s.sections.err"; then
        ok "d: $s.mig parsed, FULL sections match its JSON description" \
            "($(grep -c '^full ' "$tp_dir/$s.sections") FULL," \
            "$(grep -c '^start ' "$tp_dir/$s.sections") START)"
    else
        not_ok "d: $s.mig parsed: $(cat "$tp_dir/$s.sections.err")"
        d_ok=0
    fi
    # What is compared: everything but the PART/END counts and the JSON
    # line (one device more with precise-tsc).
    grep -v '^#\|^vmdesc ' "$tp_dir/$s.sections" > "$tp_dir/$s.list"
done
sed 's/^/# d: stock: /' "$tp_dir/stock.sections"
if [ $d_ok = 1 ]; then
    if cmp -s "$tp_dir/stock.list" "$tp_dir/fork-up.list"; then
        ok "d: fork on $UPSTREAM_TYPE writes stock's sections (names, instances, versions, order, machine type)"
    else
        not_ok "d: fork on $UPSTREAM_TYPE writes stock's sections"
        diff "$tp_dir/stock.list" "$tp_dir/fork-up.list" | sed 's/^/# d: /'
    fi
    check "d: no precise TSC state in the fork's $UPSTREAM_TYPE stream" \
        eval '! grep -aq precise-tsc "$tp_dir/fork-up.mig"'
    check "d: the fork's $FORK_TYPE stream carries precise TSC state" \
        grep -aq precise-tsc "$tp_dir/fork-on.mig"
    fig d.fork_on_extra "$(grep precise-tsc "$tp_dir/fork-on.list" | tr '\n' ' ')"
    # Beyond its machine type and its precise TSC state, the same.
    grep -v ' precise-tsc ' "$tp_dir/fork-on.list" |
        sed "s/^configuration $FORK_TYPE\$/configuration $UPSTREAM_TYPE/" \
        > "$tp_dir/fork-on.rest"
    if grep -qx "configuration $FORK_TYPE" "$tp_dir/fork-on.list" &&
        cmp -s "$tp_dir/stock.list" "$tp_dir/fork-on.rest"; then
        ok "d: fork on $FORK_TYPE writes stock's sections but its machine type and precise TSC state"
    else
        not_ok "d: fork on $FORK_TYPE writes stock's sections but its machine type and precise TSC state"
        diff "$tp_dir/stock.list" "$tp_dir/fork-on.list" | sed 's/^/# d: /'
    fi
fi

# ---- live over a unix socket: b and c -----------------------------------
# The return path (on both sides) lets the source learn the destination's
# result; without it a precopy source declares success once it has sent
# everything.
# live NAME ACCEL: fork source with ACCEL -> stock destination; the
# source's final status in $src_mig, the destination's in $dst_mig.
live() {
    sock=$tp_dir/$1.sock
    use fork "$2"
    source_vm "$1-src" 3
    use stock kvm
    dest_vm "$1-dst" 4
    tp_hmp 4 "migrate_set_capability return-path on"
    tp_hmp 4 "migrate_incoming \"unix:$sock\""
    tp_wait 10 test -S "$sock"
    tp_pid=$(pid_of "$1-src")
    tp_hmp 3 "migrate_set_capability return-path on"
    tp_hmp 3 "migrate -d \"unix:$sock\""
    wait_mig 3 "$1-src" 60
    src_mig=$mig
    tp_pid=$(pid_of "$1-dst")
    dst_mig=""
    if wait_mig 4 "$1-dst" 30; then dst_mig=$mig; fi
    echo "# $1: source status: ${src_mig:-none}; destination: ${dst_mig:-none}"
}
echo "# ---- b live: fork ($UPSTREAM_TYPE, defaults) -> stock QEMU, unix socket"
machine $UPSTREAM_TYPE
live lb kvm
check "b live: migration completed on both sides" \
    test "$src_mig" = completed -a "$dst_mig" = completed
tp_pid=$(pid_of lb-dst)
resume lb-dst 4
check "b live: stock printed no error" test -z "$(qemu_errors lb-dst)"
tp_hmp 3 quit
tp_hmp 4 quit
exec 3>&- 4>&-
tp_stop_all

echo "# ---- c live: fork (-M pc: $FORK_TYPE) -> stock QEMU (-M pc), unix socket"
machine pc
live lc kvm
qemu_errors lc-dst | sed 's/^/# lc-dst: /'
qemu_errors lc-src | sed 's/^/# lc-src: /'
case "$dst_mig" in
failed*) ok "c live: stock refuses the stream (status failed)" ;;
*) not_ok "c live: stock refuses the stream (status: ${dst_mig:-none})" ;;
esac
check "c live: stock's error names the fork's machine type" \
    eval 'qemu_errors lc-dst | grep -q "Machine type received is .$FORK_TYPE."'
case "$src_mig" in
failed*) ok "c live: the source reports the migration failed" ;;
*) not_ok "c live: the source reports the migration failed (status: ${src_mig:-none})" ;;
esac
tp_pid=$(pid_of lc-src)
check "c live: the source VM keeps running" \
    test "$(tp_status 3 lc-src)" = running
sleep 0.5
check "c live: the source guest runs on (dump after the failure)" \
    eval 'tp_dump 3 lc-src-after && runs_on lc-src-run lc-src-after'
check "c live: stock stays up after the failed load" tp_alive "$(pid_of lc-dst)"
tp_hmp 3 quit
tp_hmp 4 quit
exec 3>&- 4>&-
tp_stop_all
exit $rc

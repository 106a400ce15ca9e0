#!/bin/sh
# Ping-pong: PINGPONG_N live migrations (default 50) of a running 2-vCPU
# tscprobe guest (docs/tscprobe.md) through the fork's precise TSC path,
# each to a fresh QEMU started with -incoming on alternating unix sockets
# of one lab host; the source quits after each. Then: how far the guest's
# clocks drifted from the host's over the whole run, and whether the
# vCPUs stayed in step.
#
# Drift, from the first migration's start to the end:
#   TSC vs host: guest TSC = host TSC + KVM's offset (no TSC scaling in
#     the lab), so the offset's change is exactly the guest TSC's gain on
#     the host TSC (the inner kernel's clocksource), in cycles;
#   kvmclock vs TSC: the change of (kvmclock - TSC / tsc_khz) in the
#     guest's own heartbeat (both from one loop pass of one vCPU);
#   kvmclock vs host: the sum;
#   and, coarse, guest heartbeat elapsed vs host /proc/uptime elapsed
#     between two dumps (10 ms resolution plus dump latency).
set -u
. /lab/tscprobe/lib.sh
. /lab/tscprobe/migrate.sh

N=${PINGPONG_N:-50}
SMP=2
mg_machine $SMP
MEM="-m 32"
TP_ACCEL=${PINGPONG_ACCEL:-kvm,precise-tsc=on}
export TP_ACCEL
# Bounds, from measurement (docs/lab.md): the TSC offset error per
# migration is below 0.1 us, so the TSC's total drift stays well under
# PP_TSC_DRIFT_US (0.02-0.07 us measured over 4-20 migrations).
# kvmclock vs TSC: 0.1 ms over 20 migrations, except that some first
# migrations lose 4.4-4.6 ms of kvmclock against the TSC at once (also
# seen in precise-live4; docs/lab.md): PP_KVMCLOCK_DRIFT_MS bounds the
# total.
PP_TSC_DRIFT_US=${PP_TSC_DRIFT_US:-10}
PP_KVMCLOCK_DRIFT_MS=${PP_KVMCLOCK_DRIFT_MS:-10}

tp_init /tmp/precise-pingpong
trap 'exec 3>&- 4>&-; tp_stop_all' EXIT


tp_start q0 3 $MACHINE $MEM $(mg_trace q0)
pid=$tp_pid fd=3 cur=q0
if ! tp_wait 30 mg_all_looping 3 boot; then
    not_ok "tscprobe boots, $SMP vCPUs looping"
    exit 1
fi
mg_nice_vcpus $pid
sleep 0.5
tp_dump 3 d0
tp_now
h0=$tp_now_ms
off0=$(mg_offsets $pid $SMP)
khz=$(tp_kv d0 tsc_khz)
ok "tscprobe running on q0 (offsets $off0)"

diag="" k=1 fails=0 downs="" errs="" steps="" prev=${off0%% *} nonid=0
t_start=$(date +%s)
while [ $k -le $N ]; do
    nfd=$((7 - fd)) new=q$k sock=/tmp/pp-$((k % 2)).sock
    tp_now; ta=$tp_now_ms
    rm -f "$sock"
    tp_start $new $nfd $MACHINE $MEM $(mg_trace $new) -incoming "unix:$sock"
    npid=$tp_pid
    if ! { mg_up $nfd $new 30 && tp_wait 30 test -S "$sock"; }; then
        not_ok "migration $k: destination listening"
        fails=$((fails + 1))
        break
    fi
    tp_now; tb=$tp_now_ms
    tp_hmp $fd "migrate -d unix:$sock"
    if ! { mg_wait_mig $fd $cur 40 && [ "$mg_status" = completed ] &&
           mg_wait_status $nfd $new running 20; }; then
        not_ok "migration $k: completed, destination running ($mg_status)"
        mg_hmp_text $cur | tail -n 10 | sed 's/^/# src: /'
        mg_hmp_text $new | tail -n 10 | sed 's/^/# dst: /'
        fails=$((fails + 1))
        break
    fi
    tp_now; tc=$tp_now_ms
    t_stop=$(mg_t $cur 'vm_state_notify running 0 .*finish-migrate')
    t_run=$(mg_t $new 'vm_state_notify running 1')
    downs="$downs $(awk "BEGIN { printf \"%.1f\", ($t_run - $t_stop) * 1000 }")"
    mg_nice_vcpus $npid
    tp_hmp $fd quit
    eval "exec $fd>&-"
    offs=$(mg_offsets $npid $SMP)
    mg_same $offs || nonid=$((nonid + 1))
    o=${offs%% *}
    errs="$errs $(awk "BEGIN { printf \"%.3f\", ($o - ($prev)) * 1000 / $khz }")"
    prev=$o
    # The guest's steps across this resume (the AP: the BSP's COM1 line
    # can stretch its own).
    tp_dump $nfd m$k
    fr=$(sed -n 's/.*precise_tsc_restore elapsed measured \([0-9-]*\) ns applied \([0-9]*\) ns outcome \([0-9]*\) from_stream \([0-9]\).*/\1,\2,\3,\4/p' \
        "$tp_dir/$new.trace" | tr '\n' ';')
    fc=$(sed -n 's/.*precise_tsc_capture \(.*\)/\1/p' "$tp_dir/$cur.trace" |
        tr ' \n' '_;')
    diag="$diag
# migration $k: $cur->$new restore(measured,applied,outcome,stream)=$fr captures@src=$fc resumes=$(tp_kv m$k cpu0.resume_count),$(tp_kv m$k cpu1.resume_count) cpu1.last_tsc=$(tp_kv m$k cpu1.last_tsc) offs=$offs"
    steps="$steps $(awk "BEGIN { printf \"%.1f\", ($(tp_kv m$k cpu1.resume_tsc_step) / $khz - $(tp_kv m$k cpu1.resume_kvmclock_step_ns) / 1000000) }")"
    tp_now
    st_spawn=$((${st_spawn:-0} + tb - ta)) st_mig=$((${st_mig:-0} + tc - tb))
    st_post=$((${st_post:-0} + tp_now_ms - tc))
    tp_reap $pid "quit (source of migration $k)"
    pid=$npid fd=$nfd cur=$new
    k=$((k + 1))
done
done_n=$((k - 1))
t_end=$(date +%s)
sleep 0.5
tp_dump $fd end
tp_now
h1=$tp_now_ms
offe=$(mg_offsets $pid $SMP)
tp_hmp $fd quit

echo "$diag" | grep .
# A guest that restarted prints its banner again on COM1 (each QEMU has
# its own serial file); an exception is printed there too.
for f in "$tp_dir"/q*.serial; do
    b=$(grep -c 'tscprobe: cpus found' "$f")
    x=$(grep -i -m 3 'exception\|fault\|panic' "$f" | tr '\n' '|')
    [ "$b" = 0 -a -z "$x" ] && continue
    echo "# serial ${f##*/}: banners=$b ${x:+exceptions: $x}"
    # With MG_DEBUG=1: the vCPUs' state at the guest's last reset (the
    # one that restarted it, when it restarted).
    t=${f%.serial}.trace
    # (A banner on any QEMU but the first means the guest restarted.)
    { [ "$b" -gt 1 ] || [ "${f##*/}" != q0.serial ]; } &&
        [ -n "${MG_DEBUG:-}" ] && awk '
        /CPU Reset/ { prev = cur; cur = "" }
        /CPU Reset|^(RAX|RSI|R8|RIP|CS |SS |GDT|IDT|CR0|EFER|DR6)/ {
            cur = cur $0 "\n" }
        END { printf "%s%s", prev, cur }' "$t" |
        sed "s|^|# ${t##*/}: |"
done
grep -h 'reason [0-9]* (\(reset\|guest-reset\|shutdown\|internal-error\|guest-panicked\))' \
    "$tp_dir"/q*.trace 2>/dev/null | sed 's/^/# trace: /' | head -n 5
fig kernel "$(uname -r)"
fig tsc_khz "$khz"
fig migrations "$done_n"
fig wall_s "$((t_end - t_start))"
fig host_ms_per_migration_spawn_migrate_after \
    "$((st_spawn / done_n)) $((st_mig / done_n)) $((st_post / done_n))"
fig host_downtimes_ms "$(echo $downs)"
fig downtime_ms_min_mean_max "$(echo $downs | awk '{ for (i = 1; i <= NF; i++) {
    s += $i; if (i == 1 || $i < mn) mn = $i; if ($i > mx) mx = $i }
    printf "%.1f %.1f %.1f", mn, s / NF, mx }')"
fig offset_error_per_migration_us "$(echo $errs)"
fig cpu1_tsc_minus_kvmclock_step_per_migration_ms "$(echo $steps)"
fig offsets_start "$off0"
fig offsets_end "$offe"
fig migrations_with_unequal_offsets "$nonid"
o0=${off0%% *} oe=${offe%% *}
tsc_drift_us=$(awk "BEGIN { printf \"%.3f\", ($oe - ($o0)) * 1000 / $khz }")
fig tsc_drift_vs_host_us "$tsc_drift_us"
i=0 kdmax=0
while [ $i -lt $SMP ]; do
    p=cpu$i
    dk=$(( $(tp_kv end $p.last_kvmclock_ns) - $(tp_kv d0 $p.last_kvmclock_ns) ))
    dt=$(( $(tp_kv end $p.last_tsc) - $(tp_kv d0 $p.last_tsc) ))
    kd=$(awk "BEGIN { printf \"%.3f\", $dk / 1000000 - $dt / $khz }")
    fig $p.kvmclock_drift_vs_tsc_ms "$kd"
    fig $p.kvmclock_drift_vs_host_ms \
        "$(awk "BEGIN { printf \"%.3f\", $kd + $tsc_drift_us / 1000 }")"
    fig $p.guest_tsc_elapsed_ms "$(calc "$dt / $khz")"
    fig $p.guest_kvmclock_elapsed_ms "$(calc "$dk / 1000000")"
    kdmax=$(awk "BEGIN { a = ($kd < 0) ? -($kd) : $kd; m = $kdmax
        printf \"%.3f\", ((a > m) ? a : m) }")
    i=$((i + 1))
done
fig host_uptime_elapsed_ms "$((h1 - h0))"
fig warps "$(tp_sum end warp_count)"
fig warp_max_tsc "$(tp_max end warp_max)"
fig kvmclock_back "$(tp_sum end kvmclock_back_count)"
fig tsc_back "$(tp_sum end tsc_back_count)"
fig resumes_seen "$(tp_kv end cpu0.resume_count) $(tp_kv end cpu1.resume_count)"

banners=$(cat "$tp_dir"/q*.serial | grep -c 'tscprobe: cpus found')
fig guest_starts "$banners"
check "the guest never restarted (one tscprobe banner on COM1 over all QEMUs)" \
    test "$banners" = 1
check "all $N migrations completed" test "$done_n" = "$N" -a $fails = 0
check "TSC offsets bit-identical on every destination" test "$nonid" = 0
check "TSC offsets bit-identical at the end ($offe)" mg_same $offe
check "guest TSC drift vs host TSC within $PP_TSC_DRIFT_US us over $done_n migrations ($tsc_drift_us us)" \
    awk "BEGIN { e = $tsc_drift_us; exit !(e < $PP_TSC_DRIFT_US && -e < $PP_TSC_DRIFT_US) }"
check "kvmclock drift vs TSC within $PP_KVMCLOCK_DRIFT_MS ms over $done_n migrations (max $kdmax ms)" \
    awk "BEGIN { exit !($kdmax <= $PP_KVMCLOCK_DRIFT_MS) }"
check "no warp" test "$(tp_sum end warp_count)" = 0
check "no backward kvmclock step" test "$(tp_sum end kvmclock_back_count)" = 0
check "no backward TSC step" test "$(tp_sum end tsc_back_count)" = 0
check "every vCPU saw every resume" \
    test "$(tp_kv end cpu0.resume_count)" = "$done_n" -a \
    "$(tp_kv end cpu1.resume_count)" = "$done_n"
exit $rc

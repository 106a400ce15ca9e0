#!/bin/sh
# Live migration of a running 4-vCPU tscprobe guest (docs/tscprobe.md)
# between two QEMUs on one lab host, over a unix socket, with the fork's
# precise TSC path (precise-tsc=on) and, for comparison, without it
# (precise-tsc=off: stock QEMU's path; figures only).
# LIVE_SMP=N migrates N vCPUs instead (make bench: 1, 4, 16, 64).
# LIVE_ORDER=stock,precise runs the stock half first (default: precise
# first); a mode may come more than once (make bench alternates them,
# stock,precise,precise,stock): its second run's figures are prefixed
# stock2., precise2., ... (a comma, not a space: lab variables come
# through the kernel command line).
# LIVE_ORDER may also name "upstream": QEMU 10.0 without the fork's
# patches (lab-qemu-stock), figures only, a control for "stock" (the
# fork's binary with precise-tsc=off).
# LIVE_WARMUP=1 first migrates once with each mode (at most 4 vCPUs),
# figures prefixed warmup_stock. and warmup_precise.: the first migration
# in a lab boot pays for things the later ones do not (docs/results.md,
# "Downtime").
# Every migration's downtime is also given phase by phase
# (MODE.phase.*: mg_phases in migrate.sh).
# LIVE_DST_TRACE="EVENT,EVENT" (diagnosis, not asserted) traces those
# QEMU events in the destination too (e.g. kvm_vcpu_ioctl,kvm_vm_ioctl)
# and prints its timeline from the end of the stream's load to its vCPUs'
# first KVM_RUN as "# TAG.dst+MS: event" lines (mg_timeline), and any
# later QMP event sent (monitor_protocol_event_emit, if traced; its
# event=N is QAPIEvent's index, qapi/qapi-emit-events.h in the build).
# Tracing every ioctl slows both QEMUs: figures of such a run are not
# the bench's, though the test's bounds still hold.
# LIVE_SRC_TRACE likewise for the source, its timeline from the
# downtime's start to src-vm-stopped ("# TAG.src+MS: event", mg_window).
#
#   source: -smp 4 tscprobe, runs ~1 s with every vCPU looping
#   dest:   -incoming unix:SOCK (starts running by itself when loaded)
#   source: "migrate -d unix:SOCK", wait for "completed"; its table is
#           dumped while it sits stopped (the state that was migrated)
#   dest:   runs ~1 s, table dumped
#
# Host side: KVM's per-vCPU TSC offsets (debugfs) of both VMs, and the
# downtime as the host measures it: from the source's vm_state_notify
# (stop for finish-migrate) to the destination's (running), both traced
# by QEMU with gettimeofday timestamps (-msg timestamp=on). Guest side:
# the resume_* fields (TSC and kvmclock steps across the stop), warps,
# backward steps, and the pvclock flags (bit 0: KVM's master clock).
set -u
. /lab/tscprobe/lib.sh
. /lab/tscprobe/migrate.sh

SMP=${LIVE_SMP:-4}
MG_PHASES=1
# The guest needs ~4 MiB; a small RAM keeps the migration short.
MEM="-m 32"
# Guest kvmclock step across the migration minus the host's downtime: the
# vCPU threads' time from their last read before the stop and to their
# first read after the resume (nested page faults on the fresh
# destination, scheduling on the lab's 2 CPUs): up to ~100 ms measured on
# the APs, more with other lab runs on the outer machine (see
# docs/lab.md), so this only catches gross errors; the exact checks are
# the offsets' and the TSC/kvmclock agreement. The BSP (cpu0) is not
# bounded: its once-a-second COM1 summary, slow under nested KVM, can
# fall between its last read and the stop (up to ~0.7 s seen).
# With more than 16 vCPUs on 2 CPUs (make bench's 64) a vCPU waits for
# its turn for seconds (7.3 s seen at 64): 250 ms per vCPU there.
LIVE_MARGIN_MS=${LIVE_MARGIN_MS:-$([ "$SMP" -gt 16 ] && echo $((SMP * 250)) ||
    echo 1000)}
# Lower side: the guest's step spans the host's whole downtime (the trace
# points and the fork's sample differ by microseconds), less the few ms by
# which kvmclock and TSC disagree across a restore (4.4 ms seen; see
# docs/lab.md).
LIVE_UNDER_MS=${LIVE_UNDER_MS:-10}
PRECISE_AGREE_MS=${PRECISE_AGREE_MS:-5}
# Source vs destination offset on the same host: exactly the elapsed time
# means the same offset (kHz rounding of a ~0.3 s pause: < 0.1 us).
PRECISE_TSC_ERR_US=${PRECISE_TSC_ERR_US:-1}

tp_init /tmp/precise-live4
# tp_start runs "lab-qemu": this one, first on PATH, runs $LIVE_QEMU
# (exec all the way, so tp_pid is QEMU's pid): the fork's, or for mode
# upstream the unpatched QEMU 10.0 of the payload.
mkdir -p "$tp_dir/bin"
printf '#!/bin/sh\nexec "$LIVE_QEMU" "$@"\n' > "$tp_dir/bin/lab-qemu"
chmod 755 "$tp_dir/bin/lab-qemu"
PATH=$tp_dir/bin:$PATH
trap 'exec 3>&- 4>&-; tp_stop_all' EXIT

stable_flags() {
    _i=0 _f=""
    while [ $_i -lt $SMP ]; do
        _f="$_f$(( $(tp_kv "$1" "cpu$_i.kvmclock_flags") & 1 ))"
        _i=$((_i + 1))
    done
    echo "$_f"
}

# A failed migration's QEMUs go, so the next one runs on a quiet host.
live_abort() {
    exec 3>&- 4>&-
    tp_stop_all
}

# More than 16 busy vCPUs on the lab host's 2 CPUs (make bench: 64): the
# source's vCPU threads run at nice 19 once they loop, else the
# destination QEMU, which creates its vCPU threads one by one, takes
# minutes to listen (at nice 10, 64 threads still outweigh it 7 to 1).
overcommitted() { [ "$SMP" -gt 16 ]; }

# live MODE [TAG]: one migration; figures prefixed TAG. (default MODE);
# precise assertions for MODE=precise.
live() {
    mode=$1 tag=${2:-$1}
    mg_machine $SMP
    # 64 busy vCPUs on the lab host's 2 CPUs (make bench) take minutes to
    # come up and a while to all run again after the migration.
    BOOT_S=$((30 + 2 * SMP)) RESUME_S=$((10 + SMP / 2))
    LIVE_QEMU=/lab/bin/lab-qemu
    case $mode in
    precise) TP_ACCEL=kvm,precise-tsc=on ;;
    stock) TP_ACCEL=kvm,precise-tsc=off ;;
    upstream) TP_ACCEL=kvm LIVE_QEMU=/lab/bin/lab-qemu-stock ;;
    esac
    export TP_ACCEL LIVE_QEMU
    s=s$tag d=d$tag sock=/tmp/live4-$tag.sock
    rm -f "$sock"
    set -f # the event lists are words, not file patterns
    # shellcheck disable=SC2046
    tp_start $s 3 $MACHINE $MEM $(mg_trace $s) \
        $(echo "${LIVE_SRC_TRACE:-}" | tr , '\n' | sed 's/^./-trace &/')
    set +f
    spid=$tp_pid
    if ! tp_wait $BOOT_S mg_all_looping 3 $s.boot; then
        not_ok "$tag: source: $SMP vCPUs looping"
        mg_hmp_text $s | tail -n 3 | cut -c1-200 | sed 's/^/# qemu: /'
        live_abort
        return 1
    fi
    overcommitted && mg_nice_vcpus $spid 19
    sleep 1
    set -f
    # shellcheck disable=SC2046
    tp_start $d 4 $MACHINE $MEM $(mg_trace $d) \
        $(echo "${LIVE_DST_TRACE:-}" | tr , '\n' | sed 's/^./-trace &/') \
        -incoming "unix:$sock"
    set +f
    dpid=$tp_pid
    if ! mg_up 4 $d $BOOT_S || ! tp_wait $BOOT_S test -S "$sock"; then
        not_ok "$tag: destination listening"
        echo "# destination: pid $dpid $(tp_alive $dpid && echo alive ||
            echo gone), socket $(ls -l "$sock" 2>&1)"
        mg_hmp_text $d | tail -n 3 | cut -c1-200 | sed 's/^/# dst: /'
        tail -n 5 "$tp_dir/$d.trace" "$tp_dir/$d.log" 2>/dev/null |
            cut -c1-200 | sed 's/^/# dst: /'
        free -m | sed 's/^/# /'
        live_abort
        return 1
    fi
    tp_hmp 3 "migrate -d unix:$sock"
    if mg_wait_mig 3 $s $((40 + SMP)) && [ "$mg_status" = completed ]; then
        ok "$tag: live migration completed"
    else
        not_ok "$tag: live migration completed (status: $mg_status)"
        mg_hmp_text $s | tail -n 20 | sed 's/^/# src: /'
        mg_hmp_text $d | tail -n 20 | sed 's/^/# dst: /'
        live_abort
        return 1
    fi
    check "$tag: destination running" mg_wait_status 4 $d running 20
    # The source, stopped since the migration's last stage: its table and
    # offsets are what was migrated.
    tp_dump 3 $s.saved
    soffs=$(mg_offsets $spid $SMP)
    qdown=$(mg_hmp_text $s | sed -n 's/^downtime: *\([0-9]*\) ms/\1/p' |
        tail -n 1)
    tp_hmp 3 quit
    sleep 1
    # 4 vCPUs share the lab host's 2 CPUs: a vCPU may take a while to be
    # scheduled after the resume. Dump until every vCPU saw it (<= RESUME_S).
    # Bounded by wall time (a dump takes a while in the lab); past it the
    # checks below say which vCPU never resumed.
    give_up=$(( $(cut -d. -f1 /proc/uptime) + RESUME_S ))
    all_resumed() {
        [ "$(cut -d. -f1 /proc/uptime)" -lt "$give_up" ] || return 0
        tp_dump 4 $d.post || return 1
        i=0
        while [ $i -lt $SMP ]; do
            [ "$(tp_kv $d.post cpu$i.resume_count)" -gt \
              "$(tp_kv $s.saved cpu$i.resume_count)" ] || return 1
            i=$((i + 1))
        done
    }
    tp_wait $RESUME_S all_resumed
    check "$tag: destination table dumped after the migration" \
        tp_dump 4 $d.post
    doffs=$(mg_offsets $dpid $SMP)
    check "$tag: destination still running" \
        test "$(tp_status 4 $d)" = running
    tp_hmp 4 quit
    exec 3>&- 4>&-
    tp_stop_all

    t_stop=$(mg_t $s 'vm_state_notify running 0 .*finish-migrate')
    t_run=$(mg_t $d 'vm_state_notify running 1')
    down=$(awk "BEGIN { printf \"%.3f\", ($t_run - $t_stop) * 1000 }")
    khz=$(tp_kv $s.saved tsc_khz)
    mg_phases $s $d $tag >"$tp_dir/$tag.phases" ||
        not_ok "$tag: downtime phases from the traces"
    cat "$tp_dir/$tag.phases"
    [ -z "${LIVE_SRC_TRACE:-}" ] ||
        mg_window $s $tag.src 'src-downtime-start' 'src-vm-stopped'
    [ -z "${LIVE_DST_TRACE:-}" ] ||
        mg_timeline $d $tag.dst $SMP 'monitor_protocol_event_emit|precise_tsc'

    fig $tag.kernel "$(uname -r)"
    fig $tag.tsc_khz "$khz"
    fig $tag.host_downtime_ms "$down"
    fig $tag.qemu_reported_downtime_ms "$qdown"
    fig $tag.src_offsets "$soffs"
    fig $tag.dst_offsets "$doffs"
    fig $tag.dst_offsets_identical "$(mg_same $doffs && echo yes || echo no)"
    so=${soffs%% *} do=${doffs%% *}
    fig $tag.dst_minus_src_offset_ms "$(calc "($do - ($so)) / $khz")"
    fig $tag.src_stable_flags "$(stable_flags $s.saved)"
    fig $tag.dst_stable_flags "$(stable_flags $d.post)"
    fig $tag.warps_before "$(tp_sum $s.saved warp_count)"
    fig $tag.warps_after "$(tp_sum $d.post warp_count)"
    fig $tag.warp_max_after_tsc "$(tp_max $d.post warp_max)"
    fig $tag.kvmclock_back_before "$(tp_sum $s.saved kvmclock_back_count)"
    fig $tag.kvmclock_back_after "$(tp_sum $d.post kvmclock_back_count)"
    fig $tag.tsc_back_after "$(tp_sum $d.post tsc_back_count)"
    r=$(sed -n 's/.*precise_tsc_restore elapsed measured \([0-9-]*\) ns applied \([0-9]*\) ns outcome \([0-9]*\).*/\1 \2 \3/p' \
        "$tp_dir/$d.trace" | tail -n 1)
    [ -z "$r" ] || fig $tag.fork_elapsed_measured_applied_outcome "$r"
    # Host time the fork's capture (source, at the stop) and restore
    # (destination, at the start) took: what it adds to the downtime.
    c=$(sed -n 's/.*precise_tsc_capture .* took_ns \([0-9]*\).*/\1/p' \
        "$tp_dir/$s.trace" | tail -n 1)
    r=$(sed -n 's/.*precise_tsc_restore .* took_ns \([0-9]*\).*/\1/p' \
        "$tp_dir/$d.trace" | tail -n 1)
    [ -z "$c" ] || fig $tag.fork_capture_us "$(calc "$c / 1000")"
    [ -z "$r" ] || fig $tag.fork_restore_us "$(calc "$r / 1000")"
    i=0 maxover=-1000000 minover=1000000 maxagree=0
    while [ $i -lt $SMP ]; do
        p=cpu$i
        k=$(tp_kv $d.post $p.resume_kvmclock_step_ns)
        t=$(tp_kv $d.post $p.resume_tsc_step)
        n=$(( $(tp_kv $d.post $p.resume_count) - $(tp_kv $s.saved $p.resume_count) ))
        kms=$(calc "$k / 1000000")
        tms=$(calc "$t / $khz")
        fig $tag.$p.resumes_seen "$n"
        fig $tag.$p.kvmclock_step_ms "$kms"
        fig $tag.$p.tsc_step_ms "$tms"
        fig $tag.$p.kvmclock_step_minus_downtime_ms "$(calc "$k / 1000000 - $down")"
        fig $tag.$p.tsc_minus_kvmclock_step_ms "$(calc "$t / $khz - $k / 1000000")"
        eval "res$i=$n kst$i=$k tst$i=$t"
        i=$((i + 1))
    done

    [ $mode = precise ] || return 0
    check "$tag: the TSC capture ran inside the source's stop (downtime phase 1)" \
        grep -q "^# $tag.phase.fork_capture_within_stop=yes" "$tp_dir/$tag.phases"
    check "$tag: the TSC restore ran inside the destination's start (phase 7)" \
        grep -q "^# $tag.phase.fork_restore_within_start=yes" "$tp_dir/$tag.phases"
    check "$tag: all $SMP vCPUs' TSC offsets bit-identical on the destination" \
        mg_same $doffs
    err_us=$(awk "BEGIN { printf \"%.3f\", ($do - ($so)) * 1000 / $khz }")
    fig $tag.tsc_error_vs_elapsed_us "$err_us"
    check "$tag: TSC continued from the saved value plus the elapsed time (error $err_us us)" \
        awk "BEGIN { e = $err_us; exit !(e < $PRECISE_TSC_ERR_US && -e < $PRECISE_TSC_ERR_US) }"
    check "$tag: no warp across the migration" \
        test "$(tp_sum $d.post warp_count)" = "$(tp_sum $s.saved warp_count)"
    check "$tag: kvmclock never went backwards" \
        test "$(tp_sum $d.post kvmclock_back_count)" = "$(tp_sum $s.saved kvmclock_back_count)"
    check "$tag: kvmclock stable flag on the destination as on the source ($(stable_flags $d.post))" \
        test "$(stable_flags $d.post)" = "$(stable_flags $s.saved)"
    i=0
    while [ $i -lt $SMP ]; do
        eval "n=\$res$i k=\$kst$i t=\$tst$i"
        check "$tag: cpu$i saw the resume once" test "$n" = 1
        check "$tag: cpu$i kvmclock step >= downtime - $LIVE_UNDER_MS ms" \
            awk "BEGIN { exit !($k / 1000000 - $down >= -$LIVE_UNDER_MS) }"
        [ $i = 0 ] ||
        check "$tag: cpu$i kvmclock step <= downtime + $LIVE_MARGIN_MS ms" \
            awk "BEGIN { exit !($k / 1000000 - $down <= $LIVE_MARGIN_MS) }"
        check "$tag: cpu$i TSC and kvmclock steps agree within $PRECISE_AGREE_MS ms" \
            awk "BEGIN { d = $t / $khz - $k / 1000000;
                         exit !(d < $PRECISE_AGREE_MS && -d < $PRECISE_AGREE_MS) }"
        i=$((i + 1))
    done
}

echo "# ======== live migration, $SMP vCPUs, $(uname -r) ========"
fig order "${LIVE_ORDER:-precise,stock}"
if [ "${LIVE_WARMUP:-0}" = 1 ]; then
    # The code is what needs warming: more than 4 vCPUs add nothing to it
    # but minutes of boot.
    counted_smp=$SMP
    [ $SMP -le 4 ] || SMP=4
    live stock warmup_stock
    live precise warmup_precise
    SMP=$counted_smp
fi
runs=" "
for m in $(echo "${LIVE_ORDER:-precise,stock}" | tr , ' '); do
    case $runs in
    *" $m "*) n=2; while case $runs in *" $m$n "*) ;; *) false ;; esac; do
            n=$((n + 1)); done; t=$m$n ;;
    *) t=$m ;;
    esac
    runs="$runs$t "
    live "$m" "$t"
done
echo "# ======== end of live migration figures ========"
exit $rc

# Shell helpers for the lab's migration tests (precise-live4, precise-
# pingpong, precise-policy, precise-bad-stream), on top of
# /lab/tscprobe/lib.sh, which must be sourced first. busybox sh; sourced as
# /lab/tscprobe/migrate.sh (payload.d/40-tscprobe.sh puts it there).
#
#   ok / not_ok / check DESC CMD... / fig KEY VALUE / calc EXPR
#                               TAP lines, "# key=value" figures, awk
#                               arithmetic (1 decimal); rc is 1 after any
#                               not_ok
#   mg_machine SMP [TYPE]       sets MACHINE: -M TYPE (pc) -cpu host -smp SMP,
#                               qboot as -bios if the payload has it
#   mg_trace NAME               QEMU options: vm_state_notify, QEMU's
#                               downtime checkpoints, kvmclock's handler
#                               time (and the fork's precise_tsc_*)
#                               trace events with
#                               wall-clock timestamps into DIR/NAME.trace;
#                               MG_DEBUG=1 adds the CPU state at every
#                               reset (a guest triple fault) and guest
#                               errors
#   mg_phases SRC DST PREFIX    the last migration's downtime phase by
#                               phase as figures PREFIX.phase.* (below)
#   mg_timeline NAME PREFIX N [PATTERN]
#                               NAME's trace from the end of its incoming
#                               stream's load (qemu_loadvm_state_post_main;
#                               else vm_state_notify running) to the
#                               first KVM_RUN of each of
#                               N vCPUs after it (with
#                               kvm_vcpu_ioctl traced), times in ms from
#                               it, as "# PREFIX+MS: event" (diagnosis);
#                               then, with PATTERN, its later lines
#                               matching it
#   mg_window NAME PREFIX FROM TO
#                               NAME's trace from its last line matching
#                               FROM to the first matching TO after it,
#                               in ms from FROM, as "# PREFIX+MS: event"
#                               (diagnosis)
#   mg_t NAME PATTERN           timestamp (s, us resolution, host
#                               gettimeofday) of the last trace line of
#                               NAME matching PATTERN; empty if none
#   mg_mig_status FD NAME       "info migrate" status (completed, active,
#                               failed, ...; empty before any)
#   mg_wait_mig FD NAME S       wait up to S s for a final status
#                               (completed, failed, cancelled); sets
#                               mg_status
#   mg_wait_status FD NAME WANT S
#                               wait up to S s for "info status" WANT
#   mg_offsets PID N            KVM TSC offsets of vCPUs 0..N-1, one line
#   mg_same WORDS               true if all words are equal (and >= 1)
#   mg_hmp_text NAME            DIR/NAME.hmp without CRs
#   mg_up FD NAME S             wait until NAME's monitor answers
#   mg_boot NAME FD [ARGS]      tp_start NAME with $MACHINE $MEM, mg_trace
#                               and $MG_BOOT_ARGS; without ARGS also wait
#                               (30 s) until every vCPU loops (else not_ok
#                               and exit) and renice the vCPUs; ARGS (e.g.
#                               "-S -incoming defer") are appended
#   mg_info FD NAME             the last "info precise-tsc" of NAME into
#                               DIR/NAME.info (path, vcpu, last restore)
#   within X LO HI              true if awk expression X is in [LO, HI]
#   wait_ms T0 MS               sleep until MS ms after tp_now value T0
#   mg_grew TAG1 TAG2 FIELD     FIELD of every one of $SMP vCPUs larger in
#                               dump TAG2 than in TAG1
#   mg_resumed FD TAG SAVED     dump TAG until every vCPU saw a resume
#                               after the state in dump SAVED (10 s max)
#   mg_stop_until FD NAME PID CMD
#                               stop the VM until "CMD PID" holds
#   mg_cycle MODE ACCEL FILE LIVE
#                               one VM through a file save/restore and a
#                               live migration (below), with hooks

rc=0
ok() { echo "ok - $*"; }
not_ok() { echo "not ok - $*"; rc=1; }
check() {
    _desc=$1
    shift
    if "$@" 2>/dev/null; then ok "$_desc"; else not_ok "$_desc"; fi
}
fig() { echo "# $1=$2"; }
calc() { awk "BEGIN { printf \"%.1f\", $1 }"; }

mg_machine() {
    MACHINE="-M ${2:-pc} -cpu host -smp $1"
    [ -f /lab/qemu/share/qemu/qboot.rom ] &&
        MACHINE="$MACHINE -bios /lab/qemu/share/qemu/qboot.rom"
}

mg_trace() {
    echo "-msg timestamp=on -D $tp_dir/$1.trace -trace vm_state_notify" \
        "-trace precise_tsc_capture -trace precise_tsc_restore" \
        "-trace precise_tsc_capture_instant -trace precise_tsc_restore_instant" \
        "-trace vmstate_downtime_checkpoint -trace kvmclock_vm_state_change" \
        "-trace qemu_loadvm_state_post_main" \
        "${MG_PHASES:+-trace vmstate_downtime_save -trace vmstate_downtime_load}" \
        "${MG_DEBUG:+-d cpu_reset,guest_errors}"
}

# mg_phases SRC DST PREFIX: the downtime of the last migration from SRC
# to DST, phase by phase, as figures PREFIX.phase.* (ms), from QEMU's
# own checkpoints (migration.c, savevm.c: vmstate_downtime_checkpoint),
# vm_state_notify, kvmclock's handler time and the fork's capture and
# restore (each traced when done, with the host time it took). Both
# QEMUs run on one host, so their gettimeofday stamps share a clock.
# "total" runs from the source's downtime start to the destination's
# vCPUs resumed; QEMU's own "downtime" ends on the source. With
# MG_PHASES=1 (mg_trace), also the device state's save and load time
# and the three devices that took longest on each side.
mg_phases() {
    awk -v pfx="$3.phase" '
    function stamp(line) {
        sub(/^[0-9]*@/, "", line)
        return substr(line, 1, index(line, ":") - 1) + 0
    }
    function took(line) {
        sub(/.*took_ns /, "", line)
        return line / 1e6
    }
    function fig(name, v) { printf "# %s.%s=%.3f\n", pfx, name, v }
    # the three devices whose state took longest on side w, "id ms ..."
    function slowest(w,    i, k, best, bid, out, split2) {
        out = ""
        for (i = 0; i < 3; i++) {
            best = -1
            for (k in devt) {
                split(k, split2, SUBSEP)
                if (split2[1] == w && !(k in used) && devt[k] > best) {
                    best = devt[k]; bid = k
                }
            }
            if (best < 0) break
            used[bid] = 1
            split(bid, split2, SUBSEP)
            out = out sprintf("%s%s %.3f", i ? " " : "", split2[2], best)
        }
        printf "# %s.%s_slowest_devices=%s\n", pfx, w, out
    }
    FNR == 1 { side = (FILENAME == ARGV[1]) ? "src" : "dst" }
    /:vmstate_downtime_checkpoint / { t[side, $2] = stamp($1) }
    /:vm_state_notify running 1/ && side == "dst" { t["dst", "notify-run"] = stamp($1) }
    /:vm_state_notify running 0/ && side == "src" { t["src", "notify-stop"] = stamp($1) }
    /:qemu_loadvm_state_post_main/ && side == "dst" { t["dst", "post-main"] = stamp($1) }
    /:kvmclock_vm_state_change running 0/ && side == "src" { k0 = took($0) }
    /:kvmclock_vm_state_change running 1/ && side == "dst" { k1 = took($0) }
    /:precise_tsc_capture / && side == "src" { cap = took($0); tc = stamp($1) }
    /:precise_tsc_restore / && side == "dst" { res = took($0); tr = stamp($1) }
    /:vmstate_downtime_save type=non-iterable/ && side == "src" ||
    /:vmstate_downtime_load type=non-iterable/ && side == "dst" {
        n = $0; sub(/.*downtime=/, "", n); n /= 1000
        id = $0; sub(/.*idstr=/, "", id); sub(/ .*/, "", id)
        dev[side] += n
        devt[side, id] += n
    }
    END {
        s0 = t["src", "src-downtime-start"]; s1 = t["src", "src-vm-stopped"]
        s2 = t["src", "src-iterable-saved"]; s3 = t["src", "src-non-iterable-saved"]
        s4 = t["src", "src-downtime-end"]
        d1 = t["dst", "dst-precopy-loadvm-completed"]
        d2 = t["dst", "dst-precopy-bh-enter"]; dn = t["dst", "notify-run"]
        d3 = t["dst", "dst-precopy-bh-vm-started"]
        if (!s0 || !s1 || !s2 || !s3 || !s4 || !d1 || !d2 || !dn || !d3) {
            print "# " pfx ": a checkpoint is missing from the traces"
            exit 1
        }
        fig("src_stop_vcpus_and_handlers_ms", (s1 - s0) * 1000)
        # Pausing the vCPUs is scheduling (noisy on 2 CPUs); the stop
        # handlers, the fork capture among them, come after it.
        sn = t["src", "notify-stop"]
        if (sn >= s0 && sn <= s1) {
            fig("src_pause_vcpus_ms", (sn - s0) * 1000)
            fig("src_stop_handlers_ms", (s1 - sn) * 1000)
        }
        if (k0 != "") fig("src_kvmclock_stop_handler_ms", k0)
        # The fork work lies inside the phases it is counted in: the
        # capture within the stop, the restore within the start handlers.
        # (Trace stamps have 1 us resolution.)
        if (cap != "") {
            fig("src_fork_capture_ms", cap)
            printf "# %s.fork_capture_within_stop=%s\n", pfx,
                (tc - cap / 1000 >= s0 - 1e-6 && tc <= s1 + 1e-6) ? "yes" : "no"
        }
        if (res != "")
            printf "# %s.fork_restore_within_start=%s\n", pfx,
                (tr - res / 1000 >= dn - 1e-6 && tr <= d3 + 1e-6) ? "yes" : "no"
        fig("src_last_ram_pass_ms", (s2 - s1) * 1000)
        fig("src_device_state_ms", (s3 - s2) * 1000)
        fig("src_finish_ms", (s4 - s3) * 1000)
        fig("stream_end_to_dst_loaded_ms", (d1 - s3) * 1000)
        # After the last section: the vmdesc and every vCPU state put
        # into KVM (stock writes MSR_IA32_TSC there, the fork does not).
        pm = t["dst", "post-main"]
        if (pm >= s3 && pm <= d1) fig("dst_post_load_ms", (d1 - pm) * 1000)
        fig("dst_loaded_to_bh_ms", (d2 - d1) * 1000)
        fig("dst_bh_to_vm_start_ms", (dn - d2) * 1000)
        fig("dst_start_handlers_and_resume_ms", (d3 - dn) * 1000)
        if (k1 != "") fig("dst_kvmclock_start_handler_ms", k1)
        if (res != "") fig("dst_fork_restore_ms", res)
        if (("src" in dev) && ("dst" in dev)) {
            fig("src_device_save_sum_ms", dev["src"])
            fig("dst_device_load_sum_ms", dev["dst"])
            slowest("src"); slowest("dst")
        }
        fig("qemu_downtime_ms", (s4 - s0) * 1000)
        fig("total_ms", (d3 - s0) * 1000)
    }' "$tp_dir/$1.trace" "$tp_dir/$2.trace"
}

mg_timeline() {
    awk -v pfx="$2" -v n="$3" '
    function stamp(line) {
        sub(/^[0-9]*@/, "", line)
        return substr(line, 1, index(line, ":") - 1) + 0
    }
    { line[NR] = $0 }
    /:qemu_loadvm_state_post_main/ { from = NR }
    /:vm_state_notify running 1/ && !from { from = NR }
    END {
        if (!from) {
            printf "# %s: no end of a load in the trace\n", pfx
            exit 1
        }
        t0 = stamp(line[from])
        runs = 0
        shown = 0
        for (i = from; i <= NR && runs < n; i++) {
            ev = line[i]
            sub(/^[0-9]*@[0-9.]*:/, "", ev)
            # Each vCPU first KVM_RUN only: 64 running vCPUs would
            # flood the output with their later ones.
            if (ev ~ /type 0xae80,/) {
                cpu = ev
                sub(/.*cpu_index /, "", cpu)
                sub(/,.*/, "", cpu)
                if (cpu in ran)
                    continue
                ran[cpu] = 1
                runs++
            }
            if (++shown > 2000) {
                printf "# %s: more than 2000 lines, cut\n", pfx
                break
            }
            printf "# %s+%.3f: %s\n", pfx, (stamp(line[i]) - t0) * 1000, ev
        }
        if (runs < n)
            printf "# %s: only %d of %d vCPUs ran (kvm_vcpu_ioctl traced?)\n", pfx, runs, n
        # Later lines of the events asked for (sent after the resume).
        for (; i <= NR && later != "" && shown++ < 2000; i++)
            if (line[i] ~ later) {
                ev = line[i]
                sub(/^[0-9]*@[0-9.]*:/, "", ev)
                printf "# %s+%.3f: %s\n", pfx, (stamp(line[i]) - t0) * 1000, ev
            }
    }' later="${4:-}" "$tp_dir/$1.trace"
}

mg_window() {
    awk -v pfx="$2" -v from="$3" -v to="$4" '
    function stamp(line) {
        sub(/^[0-9]*@/, "", line)
        return substr(line, 1, index(line, ":") - 1) + 0
    }
    { line[NR] = $0 }
    $0 ~ from { first = NR }
    END {
        if (!first) {
            printf "# %s: no line matching %s in the trace\n", pfx, from
            exit 1
        }
        t0 = stamp(line[first])
        for (i = first; i <= NR; i++) {
            ev = line[i]
            sub(/^[0-9]*@[0-9.]*:/, "", ev)
            printf "# %s+%.3f: %s\n", pfx, (stamp(line[i]) - t0) * 1000, ev
            if (i > first && line[i] ~ to)
                break
        }
    }' "$tp_dir/$1.trace"
}

mg_t() {
    sed -n "s/^[0-9]*@\([0-9]*\.[0-9]*\):$2.*/\1/p" "$tp_dir/$1.trace" \
        2>/dev/null | tail -n 1
}

mg_hmp_text() {
    tr -d '\r' < "$tp_dir/$1.hmp"
}

mg_mig_status() {
    tp_hmp "$1" "info migrate"
    tp_sync "$1" "mig$1" 5 >/dev/null 2>&1
    mg_hmp_text "$2" | sed -n 's/.*Migration status: *\([a-z-]*\).*/\1/p' |
        grep -v '^$' | tail -n 1
}

mg_wait_mig() {
    _n=$(($3 * 10))
    mg_status=""
    while [ "$_n" -gt 0 ]; do
        mg_status=$(mg_mig_status "$1" "$2")
        case "$mg_status" in
        completed|failed|cancelled) return 0 ;;
        esac
        sleep 0.1
        _n=$((_n - 1))
    done
    return 1
}

mg_wait_status() {
    _n=$(($4 * 10))
    while [ "$_n" -gt 0 ]; do
        [ "$(tp_status "$1" "$2")" = "$3" ] && return 0
        sleep 0.1
        _n=$((_n - 1))
    done
    return 1
}

mg_up() {
    _n=$(($3 * 50))
    while [ "$_n" -gt 0 ]; do
        grep -q 'QEMU .* monitor' "$tp_dir/$2.hmp" 2>/dev/null && return 0
        sleep 0.02
        _n=$((_n - 1))
    done
    return 1
}

mg_offsets() {
    _i=0 _o=""
    while [ "$_i" -lt "$2" ]; do
        _o="$_o $(tp_tsc_offset "$1" "$_i")"
        _i=$((_i + 1))
    done
    echo $_o
}

mg_same() {
    [ $# -ge 1 ] || return 1
    _a=$1
    for _w; do [ "$_w" = "$_a" ] || return 1; done
}

# mg_nice_vcpus PID [N]: lower the priority of QEMU PID's vCPU threads
# ("CPU n/KVM") to nice N (default 10). The tscprobe vCPUs spin without
# pause and the lab host has 2 CPUs: without this, starting a QEMU or
# running a migration competes with them for every slice. Guest time is
# unaffected (KVM's TSC offsets and kvmclock do not depend on it); only
# the vCPUs' scheduling gaps grow.
mg_nice_vcpus() {
    for _t in /proc/"$1"/task/*; do
        case "$(cat "$_t/comm" 2>/dev/null)" in
        CPU*) renice -n "${2:-10}" -p "${_t##*/}" >/dev/null 2>&1 ;;
        esac
    done
}

# mg_all_looping FD NAME: dump the table of the QEMU on FD as NAME; true
# once every one of $SMP vCPUs has run its measuring loop.
mg_all_looping() {
    tp_dump "$1" "$2" || return 1
    _i=0
    while [ $_i -lt $SMP ]; do
        [ "$(tp_kv "$2" "cpu$_i.loops")" -gt 0 ] 2>/dev/null || return 1
        _i=$((_i + 1))
    done
}

mg_boot() {
    # shellcheck disable=SC2086
    tp_start "$1" "$2" $MACHINE $MEM $(mg_trace "$1") ${MG_BOOT_ARGS:-} \
        ${3:-}
    [ -n "${3:-}" ] && return 0
    tp_wait 30 mg_all_looping "$2" "$1.boot" || {
        not_ok "$1: tscprobe boots"
        tail -n 20 "$tp_dir/$1.hmp" | sed 's/^/# qemu: /'
        exit 1
    }
    mg_nice_vcpus "$tp_pid"
}

mg_info() {
    tp_hmp "$1" "info precise-tsc"
    tp_sync "$1" "info$1" 5 > /dev/null 2>&1
    mg_hmp_text "$2" | sed -n '/^path: /h; /^path: /!H; ${x;p}' |
        grep -E '^(path|vcpu|last restore)' > "$tp_dir/$2.info"
}

within() { awk "BEGIN { exit !($1 >= $2 && $1 <= $3) }"; }

wait_ms() {
    while tp_now; [ $((tp_now_ms - $1)) -lt "$2" ]; do sleep 0.02; done
}

mg_grew() {
    _i=0
    while [ $_i -lt $SMP ]; do
        [ "$(tp_kv "$2" "cpu$_i.$3")" -gt "$(tp_kv "$1" "cpu$_i.$3")" ] ||
            return 1
        _i=$((_i + 1))
    done
}

mg_resumed() {
    _end=$(( $(cut -d. -f1 /proc/uptime) + 10 ))
    while :; do
        tp_dump "$1" "$2" && mg_grew "$3" "$2" resume_count && return 0
        [ "$(cut -d. -f1 /proc/uptime)" -lt "$_end" ] || return 1
        sleep 0.1
    done
}

# mg_cycle MODE ACCEL FILE_EXPECT LIVE_EXPECT: boot tscprobe ($MACHINE,
# $MEM, TP_ACCEL=ACCEL) until every vCPU loops, 1 s on, dump MODE.a and
# call "cycle_running MODE" (the test's checks of a running VM); stop,
# save to a file, quit, restore in a new QEMU, cont MG_PAUSE_MS (default
# 2500) after the stop; then live-migrate that VM to a third QEMU over a
# unix socket. After each, "cycle_resumed CASE SAVED FD NAME DOWN EXPECT"
# (CASE MODE.file or MODE.live; SAVED the dump of the state that was
# migrated; FD and NAME the running QEMU's; DOWN the host's downtime in
# ms, from QEMU's vm_state_notify traces; EXPECT FILE_EXPECT or
# LIVE_EXPECT, passed through; LIVE_EXPECT "skip" leaves the live
# migration out). If the test defines it, "cycle_saved
# CASE PID" runs while the source PID sits stopped after the save. With
# MG_STOP_UNTIL=CMD the file save stops the VM until "CMD PID" is true.
# Fails (not_ok, return 1) if a step of its own fails; uses FDs 3-5.
mg_cycle_boot() {
    # shellcheck disable=SC2086
    tp_start "$1" "$2" $MACHINE $MEM $(mg_trace "$1") ${3:-}
    [ -n "${3:-}" ] && return 0
    tp_wait 30 mg_all_looping "$2" "$1.boot" || {
        not_ok "$1: tscprobe boots"
        tail -n 20 "$tp_dir/$1.hmp" | sed 's/^/# qemu: /'
        tail -n 20 "$tp_dir/$1.serial" | sed 's/^/# serial: /'
        exit 1
    }
    mg_nice_vcpus "$tp_pid"
    sleep 1
}

# mg_stop_until FD NAME PID CMD: stop the VM, and cont and stop it again
# until "CMD PID" holds (20 tries); mg_stops says how many stops it took.
mg_stop_until() {
    mg_stops=1
    tp_hmp "$1" stop
    while tp_sync "$1" "$2.stop$mg_stops" 5 && ! "$4" "$3" &&
        [ $mg_stops -le 20 ]; do
        tp_hmp "$1" cont
        sleep 0.0$((mg_stops % 10))
        tp_hmp "$1" stop
        mg_stops=$((mg_stops + 1))
    done
}

# A step of mg_cycle's own failed: say so, stop every QEMU it started.
_mg_cycle_fail() {
    not_ok "$_m: $1"
    exec 3>&- 4>&- 5>&-
    tp_stop_all
}

mg_cycle() {
    _m=$1
    TP_ACCEL=$2
    export TP_ACCEL
    mg_cycle_boot $_m.src 3
    _spid=$tp_pid
    check "$_m: table dumped" tp_dump 3 $_m.a
    cycle_running $_m

    # ---- save to a file, restore in a new QEMU ----
    _state=$tp_dir/$_m.state
    # The test may want the VM stopped in a given state.
    if [ -n "${MG_STOP_UNTIL:-}" ]; then
        mg_stop_until 3 $_m $_spid "$MG_STOP_UNTIL"
        fig $_m.file.stops_until_wanted "$mg_stops"
    else
        tp_hmp 3 stop
    fi
    tp_now
    _t0=$tp_now_ms
    tp_hmp 3 "migrate \"file:$_state\""
    mg_wait_mig 3 $_m.src 30 && [ "$mg_status" = completed ] ||
        { _mg_cycle_fail "save to file ($mg_status)"; return 1; }
    tp_dump 3 $_m.saved
    ! type cycle_saved > /dev/null 2>&1 || cycle_saved $_m.file $_spid
    tp_hmp 3 quit
    exec 3>&-
    mg_cycle_boot $_m.dst 4 "-S -incoming defer"
    _dpid=$tp_pid
    mg_up 4 $_m.dst 30 ||
        { _mg_cycle_fail "destination monitor"; return 1; }
    tp_hmp 4 "migrate_incoming \"file:$_state\""
    mg_wait_status 4 $_m.dst paused 30 ||
        { _mg_cycle_fail "state loaded"; return 1; }
    wait_ms $_t0 "${MG_PAUSE_MS:-2500}"
    tp_hmp 4 cont
    mg_wait_status 4 $_m.dst running 20
    mg_nice_vcpus "$tp_pid"
    _down=$(awk "BEGIN { printf \"%.1f\", ($(mg_t $_m.dst \
        'vm_state_notify running 1') - $(mg_t $_m.src \
        'vm_state_notify running 0')) * 1000 }")
    cycle_resumed $_m.file $_m.saved 4 $_m.dst "$_down" "$3"

    # ---- live migration of the restored VM ----
    if [ "$4" = skip ]; then
        tp_hmp 4 quit
        exec 4>&-
        tp_stop_all
        return 0
    fi
    _sock=/tmp/mg-cycle-$_m.sock
    rm -f "$_sock"
    mg_cycle_boot $_m.live 5 "-incoming unix:$_sock"
    mg_up 5 $_m.live 30 && tp_wait 30 test -S "$_sock" ||
        { _mg_cycle_fail "live destination listening"; return 1; }
    tp_hmp 4 "migrate -d unix:$_sock"
    mg_wait_mig 4 $_m.dst 40 && [ "$mg_status" = completed ] ||
        { _mg_cycle_fail "live migration ($mg_status)"; return 1; }
    tp_dump 4 $_m.lsaved
    ! type cycle_saved > /dev/null 2>&1 || cycle_saved $_m.live $_dpid
    mg_wait_status 5 $_m.live running 20
    mg_nice_vcpus "$tp_pid"
    tp_hmp 4 quit
    exec 4>&-
    _down=$(awk "BEGIN { printf \"%.1f\", ($(mg_t $_m.live \
        'vm_state_notify running 1') - $(mg_t $_m.dst \
        'vm_state_notify running 0 .*finish-migrate')) * 1000 }")
    cycle_resumed $_m.live $_m.lsaved 5 $_m.live "$_down" "$4"
    tp_hmp 5 quit
    exec 5>&-
    tp_stop_all
}

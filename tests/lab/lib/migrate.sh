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
#   mg_trace NAME               QEMU options: vm_state_notify (and the
#                               fork's precise_tsc_*) trace events with
#                               wall-clock timestamps into DIR/NAME.trace;
#                               MG_DEBUG=1 adds the CPU state at every
#                               reset (a guest triple fault) and guest
#                               errors
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
        "${MG_DEBUG:+-d cpu_reset,guest_errors}"
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

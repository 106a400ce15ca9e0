# Shell helpers for lab tests that run the tscprobe guest (docs/tscprobe.md)
# under the inner QEMU with KVM and read its results table through HMP.
# busybox sh; sourced by tests/lab/tests/*.sh as /lab/tscprobe/lib.sh
# (payload.d/40-tscprobe.sh puts it there).
#
#   tp_init DIR                 work directory (created, emptied)
#   tp_start NAME FD ARGS...    lab-qemu -accel $TP_ACCEL (default kvm)
#                               in the environment $TP_ENV adds (VAR=VAL...)
#                               with tscprobe.elf, HMP
#                               on stdin (a fifo this shell holds as FD),
#                               HMP output in DIR/NAME.hmp; sets tp_pid
#   tp_hmp FD CMD               send one HMP command
#   tp_sync FD TAG [S]          wait until HMP ran everything sent before
#                               (a 1-byte pmemsave marker appears), S s max
#   tp_dump FD TAG              pmemsave the table to DIR/TAG.bin, wait,
#                               decode to DIR/TAG.kv
#   tp_kv TAG KEY               one value of a decoded dump
#   tp_sum TAG FIELD            FIELD over all vCPUs
#   tp_max TAG FIELD            largest FIELD of any vCPU
#   tp_now                      host time, ms since boot (/proc/uptime,
#                               10 ms resolution), into $tp_now_ms
#   tp_status FD NAME           "VM status" from "info status"
#   tp_tsc_offset PID VCPU      KVM's TSC offset of a vCPU (debugfs)
#   tp_stop_all                 quit and reap every QEMU started here

TP_ELF=/lab/tscprobe/tscprobe.elf
TP_DUMP=/lab/tscprobe/tscprobe-dump
TP_ADDR=0x100000
TP_SIZE=25344               # TSCPROBE_RESULTS_SIZE
tp_pids=""

tp_init() {
    tp_dir=$1
    rm -rf "$tp_dir"
    mkdir -p "$tp_dir"
}

# ms since boot without forking: read is a shell builtin.
tp_now() {
    read -r tp_up _ < /proc/uptime
    tp_now_ms=$(( ${tp_up%.*} * 1000 + 1${tp_up#*.} * 10 - 1000 ))
}

tp_start() {
    _name=$1 _fd=$2
    shift 2
    mkfifo "$tp_dir/$_name.mon"
    # shellcheck disable=SC2086
    ${TP_ENV:+env $TP_ENV} \
    lab-qemu -accel "${TP_ACCEL:-kvm}" -display none -nodefaults -m 256 \
        -kernel "$TP_ELF" -serial "file:$tp_dir/$_name.serial" \
        -monitor stdio "$@" \
        < "$tp_dir/$_name.mon" > "$tp_dir/$_name.hmp" 2>&1 &
    tp_pid=$!
    tp_pids="$tp_pids $tp_pid"
    eval "exec $_fd>\"$tp_dir/$_name.mon\""
}

tp_hmp() {
    echo "$2" >&"$1" 2>/dev/null
}

# tp_wait S CMD...: poll CMD every 20 ms for up to S seconds (host time:
# CMD may itself take long, tp_dump does), while the latest QEMU lives.
tp_wait() {
    tp_now
    local _end=$((tp_now_ms + $1 * 1000))
    shift
    while :; do
        "$@" && return 0
        tp_alive "$tp_pid" || return 1
        tp_now
        [ "$tp_now_ms" -lt "$_end" ] || return 1
        sleep 0.02
    done
}

tp_sync() {
    rm -f "$tp_dir/$2.sync"
    tp_hmp "$1" "pmemsave $TP_ADDR 1 \"$tp_dir/$2.sync\""
    tp_wait "${3:-20}" test -e "$tp_dir/$2.sync"
}

tp_dump() {
    rm -f "$tp_dir/$2.bin" "$tp_dir/$2.kv"
    tp_hmp "$1" "pmemsave $TP_ADDR $TP_SIZE \"$tp_dir/$2.bin\""
    tp_sync "$1" "$2" &&
        "$TP_DUMP" --kv "$tp_dir/$2.bin" > "$tp_dir/$2.kv" 2>/dev/null
}

tp_kv() {
    sed -n "s/^$2=//p" "$tp_dir/$1.kv" 2>/dev/null
}

tp_sum() {
    awk -F= -v f="$2" '$1 ~ "^cpu[0-9]+\\." f "$" { s += $2 }
        END { printf "%.0f\n", s }' "$tp_dir/$1.kv" 2>/dev/null
}

tp_max() {
    awk -F= -v f="$2" '$1 ~ "^cpu[0-9]+\\." f "$" && $2 + 0 > m { m = $2 }
        END { printf "%.0f\n", m }' "$tp_dir/$1.kv" 2>/dev/null
}

# What follows "VM status: " in the last such line HMP printed after a
# fresh "info status" ("running", "paused", "paused (inmigrate)", ...).
tp_status() {
    tp_hmp "$1" "info status"
    tp_sync "$1" status 5 >/dev/null 2>&1
    tr -d '\r' < "$tp_dir/$2.hmp" | sed -n 's/.*VM status: //p' | tail -n 1
}

# tp_tsc_offset PID VCPU: KVM's TSC offset (guest TSC - host TSC, signed)
# of vCPU VCPU of the VM that process PID created, from debugfs
# (kvm/PID-FD/vcpuN/tsc-offset); empty if there is none.
tp_tsc_offset() {
    for _f in /sys/kernel/debug/kvm/"$1"-*/vcpu"$2"/tsc-offset; do
        [ -r "$_f" ] && cat "$_f" 2>/dev/null
        return 0
    done
}

# tp_alive PID: the process exists and is not a zombie (kill -0 succeeds
# on an exited child the shell has not waited for yet).
tp_alive() {
    [ -r "/proc/$1/stat" ] || return 1
    read -r _stat < "/proc/$1/stat" 2>/dev/null || return 1
    _stat=${_stat##*) }
    [ "${_stat%% *}" != Z ]
}

# tp_hung PID: where each thread of a process that ignores SIGTERM sits,
# as TAP comments (thread name, state, kernel wait channel).
tp_hung() {
    for _t in /proc/"$1"/task/*; do
        read -r _comm < "$_t/comm" 2>/dev/null
        read -r _stat < "$_t/stat" 2>/dev/null
        _stat=${_stat##*) }
        read -r _wchan < "$_t/wchan" 2>/dev/null
        echo "#   thread ${_t##*/} $_comm state ${_stat%% *} wchan ${_wchan:-?}"
    done
}

# tp_reap PID WHAT: wait for a QEMU told to go (quit, SIGTERM), 10 s at
# most; one still there is hung: a failure with its threads' states, then
# SIGKILL, so a stuck QEMU fails its test instead of stalling the run.
tp_reap() {
    _n=0
    while tp_alive "$1" && [ $_n -lt 100 ]; do
        sleep 0.1
        _n=$((_n + 1))
    done
    if tp_alive "$1"; then
        echo "not ok - QEMU (pid $1) still running 10 s after $2"
        tp_hung "$1"
        kill -KILL "$1" 2>/dev/null
    fi
    wait "$1" 2>/dev/null
}

# tp_stop_all: SIGTERM every QEMU started, and reap them.
tp_stop_all() {
    for _p in $tp_pids; do
        kill "$_p" 2>/dev/null
    done
    for _p in $tp_pids; do
        tp_reap "$_p" SIGTERM
    done
    tp_pids=""
}

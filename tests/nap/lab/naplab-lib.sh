# Shell helpers of the nap tests in the lab (sourced by nap-kvm.sh and
# nap-faults.sh; busybox sh on the inner host). The caller sets T (the
# staged test directory) and d (its work directory) first.
rc=0 pids=""
ok() { echo "ok - $*"; }
not_ok() { echo "not ok - $*"; rc=1; }
# check DESCRIPTION COMMAND...: ok or not ok by the command's status.
check() {
    desc=$1
    shift
    if "$@"; then ok "$desc"; else not_ok "$desc"; fi
}
fig() { echo "# $1=$2"; }

# naplab_begin: a fresh work directory; every QEMU started is killed at exit.
naplab_begin() {
    rm -rf "$d"
    mkdir -p "$d"
    trap 'for p in $pids; do kill $p 2>/dev/null; done' EXIT
}

# alive NAME: that QEMU still runs (qmp to a dead one would block on its FIFO).
alive() { eval "kill -0 \$pid_$1" 2>/dev/null; }

# start_vm NAME ARGS...: the guest under lab-qemu with KVM (NAME a shell
# word: pid_NAME holds its pid); QMP and the
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
# False at once for a QEMU that is gone: opening its FIFO would block.
qmp() {
    alive "$1" || return 1
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

# events NAME EVENT: how many EVENTs NAME's QMP has seen so far.
events() { grep -c "\"$2\"" "$d/$1.qmp"; }

# wait_events NAME EVENT COUNT [SECONDS]: until NAME has seen COUNT EVENTs
# (default 60 s); false if it has not by then.
wait_events() {
    i=0
    while [ "$(events "$1" "$2")" -lt "$3" ]; do
        [ $i -ge $((${4:-60} * 10)) ] && return 1
        sleep 0.1
        i=$((i + 1))
    done
}

# nap_first NAME: what a management layer does before a save: x-nap-request,
# then until NAP_SETTLED or NAP_UNSETTLED comes (60 s at most); prints
# which (or none).
nap_first() {
    settled=$(events "$1" NAP_SETTLED) unsettled=$(events "$1" NAP_UNSETTLED)
    qmp "$1" '"x-nap-request"' > /dev/null
    i=0
    while [ $i -lt 600 ]; do
        [ "$(events "$1" NAP_SETTLED)" -gt "$settled" ] &&
            { echo NAP_SETTLED; return 0; }
        [ "$(events "$1" NAP_UNSETTLED)" -gt "$unsettled" ] &&
            { echo NAP_UNSETTLED; return 0; }
        sleep 0.1
        i=$((i + 1))
    done
    echo none
}


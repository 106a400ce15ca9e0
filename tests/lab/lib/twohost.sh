# Shell helpers for the two-host lab (tests/lab/run2, docs/lab.md "Two
# hosts"), sourced by a cross-host test on host A as /lab/tscprobe/
# twohost.sh. Host B runs tests/lab/tests/peer.sh: a UDP clock server
# (labclock serve) and a shell on a TCP port; A drives B through that shell.
# busybox sh.
#
#   th_init DIR                 work directory on A (created, emptied)
#   th_wait_peer S              wait up to S s for B's clock server
#   th_open                     open the session to B's shell
#   th_run S CMD                run CMD (one line of sh) in B's shell, wait
#                               up to S s; its output on stdout, its status
#                               as th_run's
#   th_close                    end the session (B's shell exits)
#   th_release                  tell B's peer.sh to finish
#   th_offset                   B's wall clock minus A's: th_off_ns, and
#                               the round trip it was measured in th_rtt_ns
#   th_set_skew NS              step B's clock so that B - A = NS, then
#                               measure: th_skew_ns, th_skew_err_ns
#   th_serve_files DIR          serve DIR over HTTP to B (busybox httpd)
#   th_fetch NAME DEST          on B: fetch NAME from A's DIR into DEST
#   th_use_qemu fork|stock      from here on "lab-qemu" (what tp_start
#                               runs) is the fork's QEMU or unpatched
#                               QEMU 10.0 (lab-qemu-stock)

TH_SHELL_PORT=7000
TH_CLOCK_PORT=7001
TH_HTTP_PORT=7080

th_init() {
    th_dir=$1
    rm -rf "$th_dir"
    mkdir -p "$th_dir"
}

th_wait_peer() {
    _end=$(( $(cut -d. -f1 /proc/uptime) + $1 ))
    while [ "$(cut -d. -f1 /proc/uptime)" -lt "$_end" ]; do
        labclock offset "$LAB_PEER_IP" $TH_CLOCK_PORT 2 >/dev/null 2>&1 &&
            return 0
        sleep 1
    done
    return 1
}

th_open() {
    rm -f "$th_dir/peer.in"
    mkfifo "$th_dir/peer.in"
    : > "$th_dir/peer.out"
    nc "$LAB_PEER_IP" $TH_SHELL_PORT < "$th_dir/peer.in" \
        > "$th_dir/peer.out" 2>/dev/null &
    th_nc=$!
    exec 5> "$th_dir/peer.in"
    # The shell answers once it runs: proves the session is up.
    th_run 20 true
}

# Each command's output goes to a file on B, then comes back between two
# markers; stdin is /dev/null so that it never eats the next command.
th_run() {
    _s=$1
    shift
    # A counter in a file: th_run often runs in a $(...) subshell.
    th_n=$(( $(cat "$th_dir/.n" 2>/dev/null || echo 0) + 1 ))
    echo "$th_n" > "$th_dir/.n"
    _tag=th$th_n
    echo "{ $*
} > /tmp/.th.out 2>&1 < /dev/null; echo \"@@TH $_tag \$?\";" \
        "cat /tmp/.th.out; echo \"@@TH-END $_tag\"" >&5 2>/dev/null ||
        { echo "# th_run: session to B is closed" >&2; return 125; }
    _end=$(( $(cut -d. -f1 /proc/uptime) + _s ))
    while ! grep -q "^@@TH-END $_tag\$" "$th_dir/peer.out"; do
        if [ "$(cut -d. -f1 /proc/uptime)" -ge "$_end" ] ||
            ! kill -0 "$th_nc" 2>/dev/null; then
            echo "# th_run: no answer from B in $_s s: $*" >&2
            return 124
        fi
        sleep 0.05
    done
    sed -n "/^@@TH $_tag /,/^@@TH-END $_tag\$/p" "$th_dir/peer.out" |
        sed -e '1d' -e '$d'
    _rc=$(sed -n "s/^@@TH $_tag //p" "$th_dir/peer.out")
    return "${_rc:-125}"
}

th_close() {
    echo "exit" >&5 2>/dev/null
    exec 5>&-
    wait "$th_nc" 2>/dev/null
}

th_release() {
    th_open >/dev/null && th_run 10 "touch /tmp/peer.done" >/dev/null
    th_close
}

th_offset() {
    _o=$(labclock offset "$LAB_PEER_IP" $TH_CLOCK_PORT) || return 1
    th_off_ns=$(echo "$_o" | sed -n 's/^offset_ns=//p')
    th_rtt_ns=$(echo "$_o" | sed -n 's/^rtt_ns=//p')
}

th_set_skew() {
    th_offset || return 1
    th_run 10 "labclock step $(($1 - th_off_ns))" >/dev/null || return 1
    th_offset || return 1
    th_skew_ns=$th_off_ns th_skew_err_ns=$((th_rtt_ns / 2))
}

th_serve_files() {
    httpd -p "$LAB_IP:$TH_HTTP_PORT" -h "$1"
}

th_fetch() {
    th_run 120 "wget -q -O '$2' 'http://$LAB_IP:$TH_HTTP_PORT/$1'"
}

th_use_qemu() {
    mkdir -p /tmp/th-bin
    if [ "$1" = stock ]; then
        printf '#!/bin/sh\nexec /lab/bin/lab-qemu-stock "$@"\n'
    else
        printf '#!/bin/sh\nexec /lab/qemu/bin/qemu-system-x86_64 -L %s "$@"\n' \
            /lab/qemu/share/qemu
    fi > /tmp/th-bin/lab-qemu
    chmod 755 /tmp/th-bin/lab-qemu
    case ":$PATH:" in *:/tmp/th-bin:*) ;; *) PATH=/tmp/th-bin:$PATH ;; esac
}

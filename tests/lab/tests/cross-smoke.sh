#!/bin/sh
# The two-host lab's own check (tests/lab/run2), run on host A: B answers
# on the private wire, runs commands, and its wall clock and TAI offset
# can be set from A and measured to within half a round trip.
set -u
. /lab/tscprobe/twohost.sh
rc=0
ok() { echo "ok - $*"; }
not_ok() { echo "not ok - $*"; rc=1; }

th_init /tmp/cross-smoke
if th_wait_peer 60; then ok "host B's clock server answers"; else
    not_ok "host B's clock server answers"; exit 1; fi
th_open >/dev/null || { not_ok "session to host B"; exit 1; }
ok "session to host B"
b_kernel=$(th_run 10 "uname -r")
echo "# A: $(uname -r) tsc_khz $(dmesg | sed -n 's/.*tsc: Detected \([0-9.]*\) MHz TSC.*/\1/p;s/.*Refined TSC clocksource calibration: \([0-9.]*\) MHz.*/\1/p' | tail -n 1) MHz, up $(cut -d' ' -f1 /proc/uptime) s"
echo "# B: $b_kernel, up $(th_run 10 "cut -d' ' -f1 /proc/uptime") s"
th_offset && echo "# B - A wall clock at boot: $th_off_ns ns (round trip $th_rtt_ns ns)"
for skew in 0 2500000000 -40000000; do
    if th_set_skew $skew; then
        err=$((th_skew_ns - skew))
        echo "# set skew $skew ns: measured $th_skew_ns ns (+-$th_skew_err_ns)"
        if [ "${err#-}" -le $((th_skew_err_ns + 2000000)) ]; then
            ok "B's clock set to A's + $skew ns (off by $err ns)"
        else
            not_ok "B's clock set to A's + $skew ns (off by $err ns)"
        fi
    else
        not_ok "B's clock set to A's + $skew ns"
    fi
done
th_run 10 "labclock tai 37" >/dev/null
t=$(th_run 10 "labclock show" | sed -n 's/^tai_offset_s=//p')
if [ "$t" = 37 ]; then ok "B's TAI offset set to 37"; else
    not_ok "B's TAI offset set to 37 (reads '$t')"; fi
th_run 10 "labclock tai 0" >/dev/null
th_close
exit $rc

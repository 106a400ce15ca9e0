#!/bin/sh
# Host B of the two-host lab (tests/lab/run2): serve host A until it says
# it is done. A UDP clock server (labclock serve) lets A measure B's wall
# clock; a shell on a TCP port, one session at a time, runs what A's test
# sends (tests/lab/lib/twohost.sh). A's last step touches /tmp/peer.done;
# the inner watchdog bounds the wait if A never does.
set -u
[ -n "${LAB_IP:-}" ] || { echo "not ok - peer: no LAB_IP (run by run2?)"; exit 1; }
labclock serve 7001 &
echo "# peer: $LAB_HOST at $LAB_IP serving $LAB_PEER_IP"
n=0
while [ ! -e /tmp/peer.done ]; do
    nc -l -p 7000 -e /bin/sh
    n=$((n + 1))
done
kill %1 2>/dev/null
echo "ok - peer: served $n sessions of host A ($LAB_PEER_IP)"

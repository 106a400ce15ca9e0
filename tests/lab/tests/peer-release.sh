#!/bin/sh
# Host A's last test in the two-host lab (tests/lab/run2): tell host B's
# peer.sh to finish, so that B powers off without waiting for its watchdog.
set -u
. /lab/tscprobe/twohost.sh
th_init /tmp/peer-release
if th_wait_peer 10 && th_release; then
    echo "ok - released host B ($LAB_PEER_IP)"
else
    echo "not ok - released host B ($LAB_PEER_IP): no answer"
    exit 1
fi

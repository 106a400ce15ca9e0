#!/bin/sh
# The seed 000 scenario through the fork's precise TSC path: the same
# steps and figures as stock-restore.sh, plus what the fork must deliver
# (TSC and kvmclock advance together by the downtime; the pending
# TSC-deadline fires on time). See docs/precise-tsc.md.
RESTORE_MODE=precise exec sh "$(dirname "$0")/stock-restore.sh"

#!/bin/sh
# KVM's own TSC/kvmclock selftests (payload.d/20-kvm-selftests.sh), run
# against this host's KVM: those of linux-source-6.1 on a 6.1 kernel (6.12's
# need KVM_SET_USER_MEMORY_REGION2 and only SKIP there), of
# linux-source-6.12 otherwise. kselftest's exit status 4 means "skipped":
# the test checked nothing, so it is reported as a TAP SKIP with a loud
# warning, never as a plain pass.
set -u
case "$(uname -r)" in
6.1.*) dir=/lab/kvm-selftests-6.1 ;;
*) dir=/lab/kvm-selftests ;;
esac
rc=0

echo "# kernel $(uname -r) on ${LAB_HOST:-?}; selftests from" \
    "$(cat "$dir/VERSION" 2>/dev/null || echo '?')"

# comment: the output of a test, as TAP comments.
comment() { sed 's/^/#   /'; }

for t in system_counter_offset_test kvm_clock_test tsc_msrs_test hyperv_clock; do
    if [ ! -x "$dir/$t" ]; then
        echo "not ok - $t: not in the payload ($dir)"
        rc=1
        continue
    fi
    start=$(date +%s)
    out=$("$dir/$t" 2>&1)
    st=$?
    secs=$(($(date +%s) - start))
    case $st in
    0)
        echo "ok - $t (${secs} s)"
        ;;
    4)
        why=$(echo "$out" | grep -i skip | tail -n 1 | sed 's/^[# ]*//')
        echo "ok - $t # SKIP ${why:-exit status 4 (kselftest skip)}"
        echo "# WARNING: $t was SKIPPED on $LAB_HOST: it tested NOTHING." \
            "This is not a pass. Its output:"
        echo "$out" | comment
        ;;
    *)
        echo "not ok - $t (exit status $st, ${secs} s)"
        echo "$out" | comment
        rc=1
        ;;
    esac
done
exit $rc

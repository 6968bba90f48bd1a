#!/usr/bin/env bash
# Debian's python3 with live objects, a generator and worker threads.
. "$(dirname "$0")/lib.bash"
py=/usr/bin/python3
args=("$here/workload.py" 15 20000)
"$py" "${args[@]}" >"$work/ref" || fail "python3: the reference run failed"
for mode in continue restart; do
	real_case python3 $mode 1.5 "$work/out.$mode" -- "$py" "${args[@]}"
	same python3 $mode "$work/out.$mode" "$work/ref"
done
exit $((failures > 0))

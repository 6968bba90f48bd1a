#!/usr/bin/env bash
# xz compressing with two threads.
. "$(dirname "$0")/lib.bash"
seq 1 8000000 >"$work/in"
xz -T2 -3 -c "$work/in" >"$work/ref" || fail "xz: the reference run failed"
for mode in continue restart; do
	real_case xz $mode 1 "$work/out.$mode" -- /usr/bin/xz -T2 -3 -c "$work/in"
	same xz $mode "$work/out.$mode" "$work/ref"
	xz -dc "$work/out.$mode" | cmp -s - "$work/in" && pass "xz/$mode: decompresses to the input" ||
		fail "xz/$mode: does not decompress to the input"
done
exit $((failures > 0))

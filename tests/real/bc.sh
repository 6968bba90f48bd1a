#!/usr/bin/env bash
# bc computing pi to 3000 digits.
. "$(dirname "$0")/lib.bash"
printf 'scale=3000\n4*a(1)\nquit\n' >"$work/pi.bc"
bc -l "$work/pi.bc" </dev/null >"$work/ref" || fail "bc: the reference run failed"
for mode in continue restart; do
	real_case bc $mode 1.5 "$work/out.$mode" -- /usr/bin/bc -l "$work/pi.bc"
	same bc $mode "$work/out.$mode" "$work/ref"
done
exit $((failures > 0))

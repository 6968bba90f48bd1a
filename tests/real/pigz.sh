#!/usr/bin/env bash
# pigz compressing with two threads, into a file it opens itself.
. "$(dirname "$0")/lib.bash"
for i in 1 2 3; do seq $i 8000000; done >"$work/in"
pigz -p 2 -9 -c "$work/in" >"$work/ref" || fail "pigz: the reference run failed"
for mode in continue restart; do
	real_case pigz $mode 1 "$work/out.$mode" -- /usr/bin/pigz -p 2 -9 -c "$work/in"
	same pigz $mode "$work/out.$mode" "$work/ref"
done
exit $((failures > 0))

#!/usr/bin/env bash
# GNU sort on a large file, writing the result to a file it opens (-o).
. "$(dirname "$0")/lib.bash"
/usr/bin/python3 - "$work/in" <<'PY'
import random, sys
r = random.Random(7)
with open(sys.argv[1], "w") as f:
    for i in range(5000000):
        f.write("%08x %s\n" % (r.getrandbits(32), "abcdefgh"[: r.randrange(1, 8)]))
PY
LC_ALL=C sort --parallel=2 "$work/in" -o "$work/ref" || fail "sort: the reference run failed"
for mode in continue restart; do
	LC_ALL=C real_case sort $mode 1 "$work/stdout.$mode" -- /usr/bin/sort --parallel=2 "$work/in" -o "$work/out.$mode"
	same sort $mode "$work/out.$mode" "$work/ref"
done
exit $((failures > 0))

#!/usr/bin/env bash
# The program's part in its checkpoints (include/cairn.h), through the CLI:
# a callback refusing a checkpoint, a permanent refusal from signal context,
# a critical section holding a checkpoint off, a checkpoint of oneself.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$here/../..
CAIRN=${CAIRN:-$top/build/bin/cairn}
T=$(mktemp -d /tmp/cairn-api.XXXXXX)
trap 'pkill -9 -f "$T/api" 2>/dev/null; rm -rf "$T"' EXIT
fails=0
pass() { echo "PASS api/$1"; }
fail() {
	echo "FAIL api/$1"
	fails=$((fails + 1))
}
gcc -O1 -I"$top/include" -o "$T/api" "$here/api.c" -L"$top/build/lib" -Wl,-rpath,"$top/build/lib" -lcairn -lpthread || {
	fail "build"
	exit 1
}
wait_file() { for ((i = 0; i < 600; i++)); do [ -e "$1" ] && return 0; sleep 0.05; done; return 1; }
start() { # mode dir
	mkdir -p "$2"
	"$CAIRN" run "$T/api" "$1" "$2" >"$2/out" 2>"$2/err" &
	pid=$!
	wait_file "$2/ready" || fail "$1: the program did not start"
}

# 1. a thread-context callback refuses the first checkpoint
d=$T/refuse
start refuse "$d"
echo "older image" >"$d/img"
if "$CAIRN" checkpoint -o "$d/img" "$pid" >"$d/ck1" 2>&1; then
	fail "refuse: the refused checkpoint succeeded"
elif grep -q "busy talking to the license server" "$d/ck1"; then
	pass "refuse: cairn checkpoint fails with the callback's message"
else
	fail "refuse: message: $(cat "$d/ck1")"
fi
[ "$(cat "$d/img")" = "older image" ] && pass "refuse: the older file is untouched" ||
	fail "refuse: the older file changed"
"$CAIRN" checkpoint -o "$d/img" "$pid" >"$d/ck2" 2>&1 && pass "refuse: the next checkpoint succeeds" ||
	fail "refuse: second checkpoint: $(cat "$d/ck2")"
"$CAIRN" checkpoint --kill -o "$d/img" "$pid" >"$d/ck3" 2>&1 || fail "refuse: checkpoint --kill: $(cat "$d/ck3")"
{ wait "$pid"; } 2>/dev/null
touch "$d/go"
"$CAIRN" restart "$d/img" >"$d/out2" 2>&1
rc=$?
if [ $rc -eq 0 ] && grep -q "^calls 3 outcome 1 info $d/img kill 1 uid $(id -u)\$" "$d/out2"; then
	pass "refuse: after restart the callback saw 3 checkpoints, the last one restarted, with its info"
else
	fail "refuse: restarted program said (status $rc): $(cat "$d/out2")"
fi

# 2. a signal-context callback refuses for good
d=$T/sigrefuse
start sigrefuse "$d"
"$CAIRN" checkpoint -o "$d/img" "$pid" >"$d/ck1" 2>&1 && fail "sigrefuse: checkpoint succeeded" ||
	{ grep -q "holding a device" "$d/ck1" && pass "sigrefuse: refused with the callback's message" ||
		fail "sigrefuse: message: $(cat "$d/ck1")"; }
"$CAIRN" checkpoint -o "$d/img" "$pid" >"$d/ck2" 2>&1 && fail "sigrefuse: a later checkpoint succeeded" ||
	{ grep -q "holding a device" "$d/ck2" && pass "sigrefuse: later checkpoints are refused too" ||
		fail "sigrefuse: message: $(cat "$d/ck2")"; }
[ ! -e "$d/img" ] && pass "sigrefuse: no image" || fail "sigrefuse: an image was left"
touch "$d/go"
{ wait "$pid"; } 2>/dev/null
grep -q "^calls 1$" "$d/out" && pass "sigrefuse: the program continued unharmed" ||
	fail "sigrefuse: program said: $(cat "$d/out") $(cat "$d/err")"

# 3. a critical section holds a checkpoint off until it ends
d=$T/cs
start cs "$d"
touch "$d/requested"
t0=$(date +%s.%N)
"$CAIRN" checkpoint --kill -o "$d/img" "$pid" >"$d/ck" 2>&1 || fail "cs: checkpoint: $(cat "$d/ck")"
t1=$(date +%s.%N)
{ wait "$pid"; } 2>/dev/null
awk -v a="$t0" -v b="$t1" 'BEGIN { exit !(b - a >= 0.6) }' && pass "cs: the checkpoint waited for the section" ||
	fail "cs: the checkpoint returned after $(echo "$t1 - $t0" | bc) s, inside the section"
touch "$d/go"
"$CAIRN" restart "$d/img" >"$d/out2" 2>&1
if grep -q "^status-in-cs 1 seen_left 1 calls 1 outcome 1$" "$d/out2"; then
	pass "cs: the image holds the state after the section; the program saw the request pending"
else
	fail "cs: restarted program said: $(cat "$d/out2")"
fi

# 4. a checkpoint of oneself, continued, then restarted
d=$T/self
mkdir -p "$d"
"$CAIRN" run "$T/api" self "$d" >"$d/out" 2>&1
grep -q "^continued$" "$d/out" && pass "self: the program continued after checkpointing itself" ||
	fail "self: said: $(cat "$d/out")"
"$CAIRN" restart "$d/self.img" >"$d/out2" 2>&1
grep -q "^restarted from $d/self.img$" "$d/out2" && pass "self: restarted from that image, it knows it" ||
	fail "self: restarted program said: $(cat "$d/out2")"
exit $((fails > 0))

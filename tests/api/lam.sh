#!/usr/bin/env bash
# The LAM model end to end: a program with a TCP connection to a local
# server is refused a checkpoint without callbacks; with a callback that
# closes the connection before and reconnects after, it is checkpointed
# (continue), killed, restarted, reconnects, and the server sees the whole
# conversation, nothing lost, nothing twice.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$here/../..
CAIRN=${CAIRN:-$top/build/bin/cairn}
T=$(mktemp -d /tmp/cairn-lam.XXXXXX)
srv=
cleanup() {
	[ -n "$srv" ] && kill "$srv" 2>/dev/null
	pkill -9 -f "$T/lam" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
fails=0
pass() { echo "PASS api/lam: $1"; }
fail() {
	echo "FAIL api/lam: $1"
	fails=$((fails + 1))
}
gcc -O1 -I"$top/include" -o "$T/lam" "$here/lam.c" -L"$top/build/lib" -Wl,-rpath,"$top/build/lib" -lcairn -lpthread || exit 1

# the server: accepts connections one after another, appends what it reads
/usr/bin/python3 - "$T" <<'PY' &
import socket, sys
d = sys.argv[1]
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(4)
open(d + "/port", "w").write(str(s.getsockname()[1]))
s.settimeout(120)
with open(d + "/log", "a") as log:
    while True:
        c, _ = s.accept()
        while True:
            b = c.recv(65536)
            if not b:
                break
            log.write(b.decode())
            log.flush()
        c.close()
PY
srv=$!
for ((i = 0; i < 100; i++)); do [ -s "$T/port" ] && break; sleep 0.05; done
port=$(cat "$T/port")
alive() { [ -e "/proc/$1" ] && [ "$(awk '{print $3}' "/proc/$1/stat")" != Z ]; }

# without callbacks: refused, program unharmed
"$CAIRN" run "$T/lam" "$port" 60 >"$T/out0" 2>&1 &
pid=$!
sleep 0.2
if "$CAIRN" checkpoint -o "$T/no.img" "$pid" >"$T/ck0" 2>&1; then
	fail "a checkpoint with an open TCP connection succeeded"
elif grep -q "TCP socket" "$T/ck0"; then
	pass "without a callback the checkpoint is refused: $(sed 's/^cairn: //' "$T/ck0" | head -c 150)"
else
	fail "refused, but the message does not name the socket: $(cat "$T/ck0")"
fi
wait "$pid" && pass "that program finished normally" || fail "that program failed"
sleep 0.2
: >"$T/log"

# with the callback: continue, then kill and restart
"$CAIRN" run "$T/lam" "$port" 300 callback >"$T/out1" 2>&1 &
pid=$!
sleep 0.6
"$CAIRN" checkpoint -o "$T/lam.img" "$pid" >"$T/ck1" 2>&1 && pass "checkpoint with the callback succeeds" ||
	fail "checkpoint with the callback: $(cat "$T/ck1")"
sleep 0.6
disown "$pid"
"$CAIRN" checkpoint --kill -o "$T/lam.img" "$pid" >"$T/ck2" 2>&1 || fail "checkpoint --kill: $(cat "$T/ck2")"
for ((i = 0; i < 100; i++)); do alive "$pid" || break; sleep 0.05; done
sleep 0.3
lines_at_kill=$(grep -c '^line' "$T/log")
"$CAIRN" restart "$T/lam.img" >"$T/out2" 2>&1
rc=$?
[ $rc -eq 0 ] && pass "the restarted program reconnected and finished" || fail "restart: status $rc: $(cat "$T/out2")"
sleep 0.3
grep -q '^# reconnected after continue$' "$T/log" && pass "the server saw the reconnection after continue" ||
	fail "no reconnection after continue in the server's log"
grep -q '^# reconnected after restart$' "$T/log" && pass "the server saw the reconnection after restart" ||
	fail "no reconnection after restart in the server's log"
if diff <(grep '^line' "$T/log") <(seq 1 300 | sed 's/^/line /') >/dev/null; then
	pass "the server saw lines 1..300 exactly once each, in order ($lines_at_kill before the kill)"
else
	fail "the conversation is not whole: $(grep -c '^line' "$T/log") lines"
fi
exit $((fails > 0))

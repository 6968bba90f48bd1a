#!/usr/bin/env bash
# BLCR's interface end to end: tests/blcr/blcr_prog.c, a program written
# against <libcr.h> alone and linked with -lcr, run under cr_run (and started
# directly), checkpointed with cr_checkpoint and its options, restarted with
# cr_restart and its options. Each check prints "PASS blcr/..." or
# "FAIL blcr/..." (then why); the exit status is 0 only if all passed.
set -uo pipefail
export LC_ALL=C
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
BIN=$top/build/bin
CR_RUN=$BIN/cr_run
CR_CHECKPOINT=$BIN/cr_checkpoint
CR_RESTART=$BIN/cr_restart
T=$(mktemp -d /tmp/cairn-blcr.XXXXXX) || exit 1
T=$(cd "$T" && pwd -P)
PROG=$T/blcr_prog
PIDS=()
ulimit -c 0
# Only descriptors 0, 1 and 2, as from a login shell: whatever runs this
# script may leak others (pipes, say), which the programs would inherit and
# a checkpoint would rightly refuse. (Bash's own, 255, closes on exec.)
for f in /proc/$$/fd/*; do
	fd=${f##*/}
	if [ "$fd" -gt 2 ] 2>/dev/null && [ "$fd" -ne 255 ]; then
		eval "exec $fd>&-" 2>/dev/null
	fi
done

# Kill what we started and is still running: only our own children (a PID
# whose parent is this shell), so that a reused PID is never hit.
cleanup() {
	local p pp
	for p in "${PIDS[@]}"; do
		pp=$(stat_field "$p" 2) || continue
		[ "$pp" = $$ ] && kill -KILL "$p" 2>/dev/null
	done
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fails=0
pass() { echo "PASS blcr/$1"; }
# fail NAME WHY [FILE...]: the reason, then the tail of each non-empty file
fail() {
	local name=$1 why=$2 f
	shift 2
	echo "FAIL blcr/$name"
	echo "    why: $why"
	for f in "$@"; do
		[ -s "$f" ] || continue
		echo "    --- ${f#"$T"/}:"
		tail -n 15 "$f" | sed 's/^/    | /'
	done
	fails=$((fails + 1))
}

# --- processes ---------------------------------------------------------------

# stat_field PID N: field N of /proc/PID/stat counted after the command
# name (1 state, 2 ppid, 3 pgrp, 4 session); fails when PID is gone
stat_field() {
	local line f
	read -r line 2>/dev/null </proc/"$1"/stat || return 1
	line=${line##*) }
	read -r -a f <<<"$line"
	echo "${f[$(($2 - 1))]}"
}
# the state letter of PID (R, S, T, Z...), or nothing when it is gone
pstate() { stat_field "$1" 1; }
running() {
	local s
	s=$(pstate "$1") && [ "$s" != Z ]
}
# wait_file FILE PID SECS: until FILE exists, while PID runs
wait_file() {
	local i n=$(($3 * 50))
	for ((i = 0; i < n; i++)); do
		[ -e "$1" ] && return 0
		running "$2" || { [ -e "$1" ]; return; }
		sleep 0.02
	done
	return 1
}
# wait_exit PID SECS: wait for our child PID to end; RC is its status.
# Returns 1 (after killing it) if it still runs after SECS.
wait_exit() {
	local i n=$(($2 * 50)) late=0
	for ((i = 0; i < n; i++)); do
		running "$1" || break
		sleep 0.02
	done
	if running "$1"; then
		kill -KILL "$1" 2>/dev/null
		late=1
	fi
	wait "$1" 2>/dev/null
	RC=$?
	return $late
}
# wait_state PID LETTER SECS: until PID is in state LETTER
wait_state() {
	local i n=$(($3 * 50))
	for ((i = 0; i < n; i++)); do
		[ "$(pstate "$1")" = "$2" ] && return 0
		running "$1" || return 1
		sleep 0.02
	done
	return 1
}
now() { date +%s.%N; }
elapsed_ge() { awk -v a="$1" -v b="$2" -v m="$3" 'BEGIN { exit !(b - a >= m) }'; }

# start D MODE [ARGS...]: blcr_prog MODE D ARGS under cr_run, in the
# background; PID is the program. Waits for D/ready. start_direct: the
# program started directly, without cr_run.
start() {
	local d=$1 mode=$2
	shift 2
	launch "$d" "$CR_RUN" "$PROG" "$mode" "$d" "$@"
}
start_direct() {
	local d=$1 mode=$2
	shift 2
	launch "$d" "$PROG" "$mode" "$d" "$@"
}
launch() {
	local d=$1
	shift
	mkdir -p "$d"
	"$@" </dev/null >"$d/out.0" 2>"$d/err.0" &
	PID=$!
	PIDS+=("$PID")
	if ! wait_file "$d/ready" "$PID" 30; then
		if running "$PID"; then
			WHY="the program did not become ready within 30 s"
		else
			wait_exit "$PID" 1
			WHY="the program ended (status $RC) before becoming ready"
		fi
		return 1
	fi
}

# ck D ARGS...: cr_checkpoint ARGS, output in D/ck.N.{out,err}; RC, CKERR
NCK=0
ck() {
	local d=$1 n
	shift
	n=$((++NCK))
	CKOUT=$d/ck.$n.out
	CKERR=$d/ck.$n.err
	timeout 60 "$CR_CHECKPOINT" "$@" </dev/null >"$CKOUT" 2>"$CKERR"
	RC=$?
}
# ck_bg D ARGS...: the same in the background, without timeout's process
# in between; CKPID is cr_checkpoint itself. ck_wait ends it.
ck_bg() {
	local d=$1 n
	shift
	n=$((++NCK))
	CKOUT=$d/ck.$n.out
	CKERR=$d/ck.$n.err
	"$CR_CHECKPOINT" "$@" </dev/null >"$CKOUT" 2>"$CKERR" &
	CKPID=$!
	PIDS+=("$CKPID")
}
ck_wait() {
	wait_exit "$CKPID" 60 || { echo "(cr_checkpoint still ran after 60 s)" >>"$CKERR"; RC=124; }
}
# rs D OUT ARGS...: cr_restart ARGS in the foreground, stdout D/OUT,
# stderr D/OUT.err; RC
rs() {
	local d=$1 out=$2
	shift 2
	timeout 60 "$CR_RESTART" "$@" </dev/null >"$d/$out" 2>"$d/$out.err"
	RC=$?
}
# rs_bg D OUT ARGS...: the same in the background; PID is the restored
# process (cr_restart becomes it)
rs_bg() {
	local d=$1 out=$2
	shift 2
	"$CR_RESTART" "$@" </dev/null >"$d/$out" 2>"$d/$out.err" &
	PID=$!
	PIDS+=("$PID")
}
# gone_by PID STATUS WHAT: the program must end, with STATUS; else WHY
gone_by() {
	if ! wait_exit "$1" 10; then
		WHY="$3: the program (PID $1) still runs 10 s later"
		return 1
	fi
	if [ "$RC" -ne "$2" ]; then
		WHY="$3: the program's status is $RC, not $2"
		return 1
	fi
}
# the line "result ..." of FILE
result_of() { grep -m1 '^result ' "$1" 2>/dev/null; }
# same_result FILE REF: FILE's result line is REF, which the program
# verified itself
same_result() {
	local r
	r=$(result_of "$1")
	[ -n "$2" ] && [[ $2 == *verify=ok* ]] && [ "${r%% usr1=*}" = "${2%% usr1=*}" ]
}

# --- build -------------------------------------------------------------------

for c in "$CR_RUN" "$CR_CHECKPOINT" "$CR_RESTART"; do
	[ -x "$c" ] || fail "commands" "$c is missing (make first)"
done
if ! gcc -std=gnu11 -O2 -g -Wall -Wextra -Wno-unused-parameter -I"$top/include" \
	-o "$PROG" "$here/blcr_prog.c" -L"$top/build/lib" -Wl,-rpath,"$top/build/lib" \
	-lcr -lpthread >"$T/build.log" 2>&1; then
	fail "build" "tests/blcr/blcr_prog.c does not build with -lcr" "$T/build.log"
	exit 1
fi
if [ -s "$T/build.log" ]; then
	fail "build" "blcr_prog.c builds against libcr.h with warnings" "$T/build.log"
else
	pass "build: a BLCR program builds unchanged against libcr.h with -lcr"
fi
if objdump -p "$PROG" 2>/dev/null | grep -q 'NEEDED.*libcr\.so\.0'; then
	pass "build/needs-libcr: the program needs libcr.so.0"
else
	fail "build/needs-libcr" "the program does not depend on libcr.so.0: $(objdump -p "$PROG" 2>&1 | grep NEEDED | tr '\n' ' ')"
fi

# --- references: uninterrupted runs ------------------------------------------

# count: plain run under cr_run, with go there from the start
D=$T/ref-count
mkdir -p "$D"
touch "$D/go"
timeout 60 "$CR_RUN" "$PROG" count "$D" </dev/null >"$D/out" 2>"$D/err"
rc=$?
REF_COUNT=$(result_of "$D/out")
if [ $rc -eq 0 ] && [[ $REF_COUNT == *verify=ok* ]]; then
	pass "count/plain: cr_run runs the program to its verified answer"
else
	fail "count/plain" "status $rc, output: $(cat "$D/out")" "$D/err"
	REF_COUNT=
fi

# cr_run passes the arguments and the exit status through
D=$T/ref-count-rc
mkdir -p "$D"
touch "$D/go"
timeout 60 "$CR_RUN" "$PROG" count "$D" 3 </dev/null >"$D/out" 2>"$D/err"
rc=$?
if [ $rc -eq 3 ] && same_result "$D/out" "$REF_COUNT"; then
	pass "cr_run: the program's exit status (3) is cr_run's"
else
	fail "cr_run/status" "status $rc (want 3), output: $(cat "$D/out")" "$D/err"
fi

# count started directly (linked with -lcr, no cr_run)
D=$T/ref-count-direct
mkdir -p "$D"
touch "$D/go"
timeout 60 "$PROG" count "$D" </dev/null >"$D/out" 2>"$D/err"
rc=$?
if [ $rc -eq 0 ] && same_result "$D/out" "$REF_COUNT"; then
	pass "count/direct-plain: started without cr_run it runs to the same answer"
else
	fail "count/direct-plain" "status $rc, output: $(cat "$D/out")" "$D/err"
fi

# basic: plain run, no checkpoint: empty callback logs
D=$T/ref-basic
mkdir -p "$D"
touch "$D/go"
timeout 60 "$CR_RUN" "$PROG" basic "$D" </dev/null >"$D/out" 2>"$D/err"
rc=$?
REF_BASIC=$(result_of "$D/out")
if [ $rc -eq 0 ] && [[ $REF_BASIC == *verify=ok* ]] &&
	grep -qx 'log thread= main= worker= order=ok' "$D/out"; then
	pass "basic/plain: without a checkpoint no callback runs; the answer verifies"
else
	fail "basic/plain" "status $rc, output: $(cat "$D/out")" "$D/err"
	REF_BASIC=
fi

# --- basic: callbacks in both contexts, continue then kill and restart -------

# basic_case NAME STARTER: STARTER is start or start_direct
basic_case() {
	local name=$1 starter=$2 D=$T/$1 ck1 ck2 out
	if ! $starter "$D" basic; then
		fail "$name/start" "$WHY" "$D/out.0" "$D/err.0"
		return
	fi
	local pid=$PID
	# 1: default scope (tree), continue; requester = cr_checkpoint's PID
	ck_bg "$D" -f "$D/ctx1" "$pid"
	ck1=$CKPID
	ck_wait
	if [ "$RC" -ne 0 ] || [ ! -s "$D/ctx1" ]; then
		fail "$name/checkpoint" "cr_checkpoint -f $D/ctx1 $pid: status $RC" "$CKOUT" "$CKERR"
		return
	fi
	if ! running "$pid"; then
		wait_exit "$pid" 1
		fail "$name/checkpoint" "the program ended (status $RC) after a checkpoint without --kill" \
			"$D/out.0" "$D/err.0"
		return
	fi
	pass "$name/checkpoint: cr_checkpoint -f FILE PID succeeds and the program goes on"
	# 2: -p, --kill
	ck_bg "$D" -p --kill -f "$D/ctx2" "$pid"
	ck2=$CKPID
	ck_wait
	if [ "$RC" -ne 0 ]; then
		fail "$name/kill" "cr_checkpoint -p --kill: status $RC" "$CKOUT" "$CKERR"
		return
	fi
	if ! gone_by "$pid" 137 "cr_checkpoint --kill"; then
		fail "$name/kill" "$WHY"
		return
	fi
	pass "$name/kill: cr_checkpoint -p --kill ends the program with SIGKILL"
	touch "$D/go"
	rs "$D" out.1 "$D/ctx2"
	out=$D/out.1
	if [ "$RC" -eq 0 ] && same_result "$out" "$REF_BASIC"; then
		pass "$name/restart: cr_restart finishes both threads' work with the uninterrupted answer"
	else
		fail "$name/restart" "status $RC; result '$(result_of "$out")', want '$REF_BASIC'" "$out" "$out.err"
		return
	fi
	local want='log thread=T<T0T<TR main=B<A<A0B0B<A<ARBR worker=C<C0C<CR order=ok'
	if grep -qxF "$want" "$out"; then
		pass "$name/order: thread context first, signal context last-registered first per thread, after work in reverse; 0 on continue, >0 on restart"
	else
		fail "$name/order" "want '$want', got '$(grep '^log ' "$out")'"
	fi
	local i1="info 0 dest=$D/ctx1 signal=0 requester=$ck1 target=$pid scope=3"
	local i2="info 1 dest=$D/ctx2 signal=9 requester=$ck2 target=$pid scope=0"
	if grep -qxF "$i1" "$out" && grep -qxF "$i2" "$out"; then
		pass "$name/checkpoint-info: dest, signal, requester, target and scope seen in thread context"
	else
		fail "$name/checkpoint-info" "want '$i1' and '$i2', got: $(grep '^info ' "$out" | tr '\n' '|')"
	fi
	local s1="sinfo 0 dest=$D/ctx1 signal=0" s2="sinfo 1 dest=$D/ctx2 signal=9"
	if grep -qxF "$s1" "$out" && grep -qxF "$s2" "$out"; then
		pass "$name/checkpoint-info-signal: cr_get_checkpoint_info() in signal context"
	else
		fail "$name/checkpoint-info-signal" "want '$s1' and '$s2', got: $(grep '^sinfo ' "$out" | tr '\n' '|')"
	fi
	local r="rinfo src=$D/ctx2 requester=self"
	if grep -qxF "$r" "$out"; then
		pass "$name/restart-info: cr_get_restart_info() names the context file and this process"
	else
		fail "$name/restart-info" "want '$r', got '$(grep '^rinfo' "$out")'"
	fi
}
basic_case basic start
basic_case direct-basic start_direct

# --- refuse: CR_CHECKPOINT_TEMP_FAILURE_CODE(42) ------------------------------

refuse_case() {
	local D=$T/refuse pid
	if ! start "$D" refuse; then
		fail "refuse/start" "$WHY" "$D/out.0" "$D/err.0"
		return
	fi
	pid=$PID
	echo "an older context file" >"$D/ctx"
	cp "$D/ctx" "$D/ctx.orig"
	ck "$D" -f "$D/ctx" "$pid"
	if [ "$RC" -eq 42 ]; then
		pass "refuse/status: the refused checkpoint's exit status is the callback's code (42)"
	else
		fail "refuse/status" "cr_checkpoint exit status $RC, want 42" "$CKOUT" "$CKERR"
	fi
	if [ "$RC" -ne 0 ] && [ -s "$CKERR" ]; then
		pass "refuse/message: cr_checkpoint says why ($(head -c 120 "$CKERR" | head -n 1))"
	else
		fail "refuse/message" "status $RC and no message on stderr" "$CKOUT" "$CKERR"
	fi
	if cmp -s "$D/ctx" "$D/ctx.orig"; then
		pass "refuse/older-file: the older context file is byte-identical"
	else
		fail "refuse/older-file" "the older context file changed"
	fi
	if ls -A "$D" | grep -q '\.tmp$'; then
		fail "refuse/leftover" "a temporary file is left: $(ls -A "$D" | tr '\n' ' ')"
	else
		pass "refuse/leftover: no temporary file is left"
	fi
	if ! running "$pid"; then
		wait_exit "$pid" 1
		fail "refuse/continue" "the program ended (status $RC) after the refusal" "$D/out.0" "$D/err.0"
		return
	fi
	pass "refuse/continue: the program runs on after the refusal"
	ck "$D" -f "$D/ctx" "$pid"
	if [ "$RC" -eq 0 ] && ! cmp -s "$D/ctx" "$D/ctx.orig"; then
		pass "refuse/second: the next checkpoint succeeds and replaces the file"
	else
		fail "refuse/second" "status $RC" "$CKOUT" "$CKERR"
	fi
	touch "$D/go"
	if ! wait_exit "$pid" 60; then
		fail "refuse/finish" "the program did not finish within 60 s of go"
		return
	fi
	# t: the thread-context callback's outcomes (E refused, 0 continued),
	# s: the signal-context one's (it does not run for the refused one)
	local want="refuse first=-42 t=TET0 s=S0 verify=ok"
	if [ "$RC" -eq 0 ] && grep -qxF "$want" "$D/out.0"; then
		pass "refuse/outcome: cr_checkpoint() returned -42 to the refusing callback; signal context skipped; then continue"
	else
		fail "refuse/outcome" "status $RC, want '$want', got '$(cat "$D/out.0")'" "$D/err.0"
	fi
	# the second image is good: restart it (go is there)
	rs "$D" out.1 "$D/ctx"
	want="refuse first=-42 t=TETR s=SR verify=ok"
	if [ "$RC" -eq 0 ] && grep -qxF "$want" "$D/out.1"; then
		pass "refuse/restart: the image taken after a refusal restarts"
	else
		fail "refuse/restart" "status $RC, want '$want', got '$(cat "$D/out.1")'" "$D/out.1.err"
	fi
}
refuse_case

# --- permfail: CR_CHECKPOINT_PERM_FAILURE -------------------------------------

permfail_case() {
	local D=$T/permfail pid
	if ! start "$D" permfail; then
		fail "permfail/start" "$WHY" "$D/out.0" "$D/err.0"
		return
	fi
	pid=$PID
	ck "$D" -f "$D/ctx" "$pid"
	if [ "$RC" -ne 0 ] && [ "$RC" -ne 124 ] && [ -s "$CKERR" ]; then
		pass "permfail/refused: cr_checkpoint fails (status $RC) with a message"
	else
		fail "permfail/refused" "cr_checkpoint status $RC" "$CKOUT" "$CKERR"
	fi
	[ -e "$D/ctx" ] && fail "permfail/no-file" "a context file was written" ||
		pass "permfail/no-file: no context file"
	if wait_exit "$pid" 10; then
		pass "permfail/ended: the program is ended after a permanent failure (status $RC)"
	else
		fail "permfail/ended" "the program still runs 10 s after the permanent failure" "$D/perm"
	fi
}
permfail_case

# --- self: cr_request_checkpoint() into a descriptor; legacy cr_request_file() --

self_case() { # self_case NAME MODE CTX WANT1 WANT2 [direct]
	local name=$1 mode=$2 ctx=$3 w1=$4 w2=$5 D=$T/$1
	mkdir -p "$D"
	if [ "${6:-}" = direct ]; then
		timeout 60 "$PROG" "$mode" "$D" </dev/null >"$D/out.0" 2>"$D/err.0"
	else
		timeout 60 "$CR_RUN" "$PROG" "$mode" "$D" </dev/null >"$D/out.0" 2>"$D/err.0"
	fi
	local rc=$?
	if [ $rc -eq 0 ] && grep -qxF "$w1" "$D/out.0" && [ -s "$D/$ctx" ]; then
		pass "$name/continue: the program checkpointed itself into $ctx and continued"
	else
		fail "$name/continue" "status $rc, want '$w1', got '$(cat "$D/out.0")'" "$D/err.0"
		return
	fi
	if [ "$mode" = self ]; then
		[ "$(stat -c %a "$D/$ctx")" = 600 ] && pass "$name/mode: the file keeps the mode it was opened with (0600)" ||
			fail "$name/mode" "mode $(stat -c %a "$D/$ctx")"
	fi
	rs "$D" out.1 "$D/$ctx"
	if [ "$RC" -eq 0 ] && grep -qxF "$w2" "$D/out.1"; then
		pass "$name/restart: restarted from its own image, it knows it"
	else
		fail "$name/restart" "status $RC, want '$w2', got '$(cat "$D/out.1")'" "$D/out.1.err"
	fi
}
self_case self self self.ctx "continued verify=ok" "restarted verify=ok"
self_case direct-self self self.ctx "continued verify=ok" "restarted verify=ok" direct
self_case legacy legacy legacy.ctx "legacy continued rc=0 verify=ok" "legacy restarted rc=1 verify=ok"

# --- cs: a critical section holds a checkpoint off ----------------------------

cs_case() {
	local D=$T/cs pid t0 t1
	if ! start "$D" cs; then
		fail "cs/start" "$WHY" "$D/out.0" "$D/err.0"
		return
	fi
	pid=$PID
	t0=$(now)
	ck_bg "$D" --kill -f "$D/ctx" "$pid"
	touch "$D/requested"
	ck_wait
	t1=$(now)
	if [ "$RC" -ne 0 ]; then
		fail "cs/checkpoint" "cr_checkpoint --kill: status $RC" "$CKOUT" "$CKERR"
		return
	fi
	if elapsed_ge "$t0" "$t1" 0.6; then
		pass "cs/waits: the checkpoint waited for the section to be left"
	else
		fail "cs/waits" "cr_checkpoint returned after $(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }') s, inside the section"
	fi
	gone_by "$pid" 137 "cr_checkpoint --kill" || { fail "cs/kill" "$WHY"; return; }
	touch "$D/go"
	rs "$D" out.1 "$D/ctx"
	local want="cs idle-try=0 status-idle=0 pending=1 tryenter=>0 calls-in-cs=0 seen_left=1 status-in-cb=2 calls=1 outcome=R status-after=0"
	if [ "$RC" -eq 0 ] && grep -qxF "$want" "$D/out.1"; then
		pass "cs/state: the image holds the state after the section; another thread saw CR_STATE_PENDING and cr_tryenter_cs() > 0"
	else
		fail "cs/state" "status $RC, want '$want', got '$(cat "$D/out.1")'" "$D/out.1.err"
	fi
}
cs_case

# --- cr_checkpoint -t: gives up on a process that stays in a critical section --

hold_case() {
	local D=$T/hold pid t0 t1
	if ! start "$D" hold; then
		fail "time/start" "$WHY" "$D/out.0" "$D/err.0"
		return
	fi
	pid=$PID
	t0=$(now)
	ck "$D" -t 1 -f "$D/ctx" "$pid"
	t1=$(now)
	if [ "$RC" -ne 0 ] && [ "$RC" -ne 124 ] && [ -s "$CKERR" ] && ! elapsed_ge "$t0" "$t1" 15; then
		pass "time: cr_checkpoint -t 1 gives up on a process held in a critical section, with a message"
	else
		fail "time" "status $RC after $(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }') s" "$CKOUT" "$CKERR"
	fi
	touch "$D/leave"
	sleep 0.5
	ck "$D" -f "$D/ctx2" "$pid"
	[ "$RC" -eq 0 ] && pass "time/after: once the section is left, a checkpoint succeeds" ||
		fail "time/after" "status $RC" "$CKOUT" "$CKERR"
	touch "$D/go"
	wait_exit "$pid" 60
	if [ "$RC" -eq 0 ] && grep -qx "hold done verify=ok" "$D/out.0"; then
		pass "time/finish: the program finishes unharmed"
	else
		fail "time/finish" "status $RC, output '$(cat "$D/out.0")'" "$D/err.0"
	fi
	if [ -e "$D/ctx" ] || ls -A "$D" | grep -q '\.tmp$'; then
		fail "time/no-file" "the abandoned checkpoint left a file: $(ls -A "$D" | tr '\n' ' ')"
	else
		pass "time/no-file: the abandoned checkpoint left no file behind"
	fi
}
hold_case

# --- misc: library calls -------------------------------------------------------

misc_case() {
	local D=$T/misc line rc
	mkdir -p "$D"
	timeout 60 "$PROG" misc "$D" </dev/null >"$D/out" 2>"$D/err"
	rc=$?
	while IFS= read -r line; do
		case $line in
		"ok "*) pass "misc/${line#ok }" ;;
		"bad "*) n=${line#bad }; fail "misc/${n%%:*}" "${n#*: }" ;;
		esac
	done <"$D/out"
	if ! grep -q '^misc done' "$D/out"; then
		fail "misc/done" "the program did not get to its end (status $rc)" "$D/out" "$D/err"
	fi
}
misc_case

# --- cr_checkpoint options -----------------------------------------------------

# make_image D [cr_checkpoint options]: count under cr_run, checkpointed
# with --kill into D/ctx. The program is gone; D/go is not there yet.
make_image() {
	local d=$1
	shift
	start "$d" count || { WHY="start: $WHY"; return 1; }
	ck "$d" "$@" --kill -f "$d/ctx" "$PID"
	if [ "$RC" -ne 0 ]; then
		WHY="cr_checkpoint --kill: status $RC: $(cat "$CKERR")"
		return 1
	fi
	gone_by "$PID" 137 "cr_checkpoint --kill"
}
# last_info D: the last "ckpt" line the program's callback wrote
last_ckpt() { grep '^ckpt ' "$1/info" 2>/dev/null | tail -n 1; }

# --kill, then cr_restart FILE
D=$T/opt-kill
if make_image "$D"; then
	pass "opt/kill: cr_checkpoint --kill ends the program"
	touch "$D/go"
	rs "$D" out.1 "$D/ctx"
	if [ "$RC" -eq 0 ] && same_result "$D/out.1" "$REF_COUNT"; then
		pass "opt/kill-restart: cr_restart FILE finishes with the uninterrupted answer"
	else
		fail "opt/kill-restart" "status $RC, '$(result_of "$D/out.1")', want '$REF_COUNT'" "$D/out.1" "$D/out.1.err"
	fi
	grep -qxF "ckpt dest=$D/ctx signal=9" "$D/info" && grep -qxF "restarted src=$D/ctx requester=self" "$D/info" &&
		pass "opt/kill-info: the callback saw signal 9 and, restarted, the source file" ||
		fail "opt/kill-info" "info: $(tr '\n' '|' <"$D/info")"
	grep -qx "forward enosys" "$D/info" &&
		pass "opt/forward: cr_forward_checkpoint() in a callback fails with ENOSYS" ||
		fail "opt/forward" "info: $(tr '\n' '|' <"$D/info")"
	rs "$D" out.2 -f "$D/ctx"
	[ "$RC" -eq 0 ] && same_result "$D/out.2" "$REF_COUNT" && pass "restart/-f: cr_restart -f FILE" ||
		fail "restart/-f" "status $RC, '$(result_of "$D/out.2")'" "$D/out.2.err"
	timeout 60 "$CR_RESTART" -F 3 </dev/null >"$D/out.3" 2>"$D/out.3.err" 3<"$D/ctx"
	RC=$?
	[ "$RC" -eq 0 ] && same_result "$D/out.3" "$REF_COUNT" && pass "restart/-F: cr_restart -F FD" ||
		fail "restart/-F" "status $RC, '$(result_of "$D/out.3")'" "$D/out.3.err"
	rs "$D" out.4 --no-restore-pid "$D/ctx"
	[ "$RC" -eq 0 ] && same_result "$D/out.4" "$REF_COUNT" && pass "restart/no-restore-pid: accepted" ||
		fail "restart/no-restore-pid" "status $RC, '$(result_of "$D/out.4")'" "$D/out.4.err"
	rs "$D" out.5 --restore-pid "$D/ctx"
	if [ "$RC" -ne 0 ] && grep -qi pid "$D/out.5.err" && [ -z "$(result_of "$D/out.5")" ]; then
		pass "restart/restore-pid: refused with a message ($(head -n 1 "$D/out.5.err" | head -c 120))"
	else
		fail "restart/restore-pid" "status $RC; it must refuse, saying why" "$D/out.5" "$D/out.5.err"
	fi
	rs "$D" out.6 "$D/no-such-file"
	[ "$RC" -ne 0 ] && [ -s "$D/out.6.err" ] && pass "restart/missing-file: fails with a message" ||
		fail "restart/missing-file" "status $RC" "$D/out.6.err"
else
	fail "opt/kill" "$WHY" "$D/out.0" "$D/err.0"
fi

# cr_restart --stop / --term / --kill, and the exit status through a restart
D=$T/opt-rstop
if make_image "$D"; then
	# without go: the restored program waits, so a signal meets it alive
	rs "$D" out.t --term "$D/ctx"
	[ "$RC" -eq 143 ] && [ -z "$(result_of "$D/out.t")" ] &&
		pass "restart/term: cr_restart --term: the restored program dies of SIGTERM" ||
		fail "restart/term" "status $RC (want 143)" "$D/out.t" "$D/out.t.err"
	rs "$D" out.k --kill "$D/ctx"
	[ "$RC" -eq 137 ] && [ -z "$(result_of "$D/out.k")" ] &&
		pass "restart/kill: cr_restart --kill: the restored program dies of SIGKILL" ||
		fail "restart/kill" "status $RC (want 137)" "$D/out.k" "$D/out.k.err"
	rs "$D" out.c --cont --kill "$D/ctx"
	[ "$RC" -eq 137 ] && pass "restart/last-signal-option: of --cont --kill the last one holds" ||
		fail "restart/last-signal-option" "status $RC (want 137)" "$D/out.c" "$D/out.c.err"
	rs_bg "$D" out.s --stop "$D/ctx"
	pid=$PID
	if wait_state "$pid" T 20; then
		sleep 0.3
		if [ "$(pstate "$pid")" = T ]; then
			pass "restart/stop: cr_restart --stop: the restored process is stopped"
		else
			fail "restart/stop" "the restored process did not stay stopped (state $(pstate "$pid"))"
		fi
		touch "$D/go"
		kill -CONT "$pid"
		wait_exit "$pid" 60
		[ "$RC" -eq 0 ] && same_result "$D/out.s" "$REF_COUNT" &&
			pass "restart/stop-cont: after SIGCONT it finishes with the right answer" ||
			fail "restart/stop-cont" "status $RC, '$(result_of "$D/out.s")'" "$D/out.s" "$D/out.s.err"
	else
		wait_exit "$pid" 1
		fail "restart/stop" "the restored process (PID $pid) was never seen stopped (status $RC)" "$D/out.s" "$D/out.s.err"
	fi
else
	fail "restart/options" "$WHY" "$D/out.0" "$D/err.0"
fi

D=$T/opt-status
if start "$D" count 5; then
	ck "$D" --kill -f "$D/ctx" "$PID"
	if [ "$RC" -eq 0 ] && gone_by "$PID" 137 "--kill"; then
		touch "$D/go"
		rs "$D" out.1 "$D/ctx"
		[ "$RC" -eq 5 ] && same_result "$D/out.1" "$REF_COUNT" &&
			pass "restart/status: the restored program's exit status (5) is cr_restart's" ||
			fail "restart/status" "status $RC (want 5)" "$D/out.1" "$D/out.1.err"
	else
		fail "restart/status" "checkpoint: status $RC ${WHY:-}" "$CKERR"
	fi
else
	fail "restart/status" "$WHY" "$D/err.0"
fi

# --term, --abort: the signal comes after the image
for sig in term:143:15 abort:134:6; do
	IFS=: read -r opt st num <<<"$sig"
	D=$T/opt-$opt
	if ! start "$D" count; then
		fail "opt/$opt" "$WHY" "$D/err.0"
		continue
	fi
	pid=$PID
	ck "$D" --$opt -f "$D/ctx" "$pid"
	if [ "$RC" -eq 0 ] && gone_by "$pid" "$st" "--$opt"; then
		pass "opt/$opt: cr_checkpoint --$opt: the program dies of signal $num after the image"
	else
		fail "opt/$opt" "status $RC ${WHY:-}" "$CKERR"
		WHY=
		continue
	fi
	grep -qxF "ckpt dest=$D/ctx signal=$num" "$D/info" &&
		pass "opt/$opt-info: the callback saw signal $num" ||
		fail "opt/$opt-info" "info: $(tr '\n' '|' <"$D/info" 2>/dev/null)"
	touch "$D/go"
	rs "$D" out.1 "$D/ctx"
	[ "$RC" -eq 0 ] && same_result "$D/out.1" "$REF_COUNT" &&
		pass "opt/$opt-restart: the image restarts to the right answer" ||
		fail "opt/$opt-restart" "status $RC, '$(result_of "$D/out.1")'" "$D/out.1.err"
done

# --stop, then SIGCONT
D=$T/opt-stop
if start "$D" count; then
	pid=$PID
	ck "$D" --stop -f "$D/ctx" "$pid"
	if [ "$RC" -eq 0 ] && wait_state "$pid" T 10; then
		sleep 0.3
		[ "$(pstate "$pid")" = T ] && pass "opt/stop: cr_checkpoint --stop leaves the program stopped" ||
			fail "opt/stop" "it did not stay stopped (state $(pstate "$pid"))"
		touch "$D/go"
		kill -CONT "$pid"
		wait_exit "$pid" 60
		[ "$RC" -eq 0 ] && same_result "$D/out.0" "$REF_COUNT" &&
			pass "opt/stop-cont: after SIGCONT it finishes with the right answer" ||
			fail "opt/stop-cont" "status $RC, '$(result_of "$D/out.0")'" "$D/err.0"
	else
		fail "opt/stop" "status $RC, state '$(pstate "$pid")'" "$CKERR"
	fi
else
	fail "opt/stop" "$WHY" "$D/err.0"
fi

# file options, -S, -F, -v, --run on one running program
D=$T/opt-files
if start "$D" count; then
	pid=$PID
	# -f with a relative path, from another directory
	mkdir -p "$D/sub"
	(cd "$D/sub" && timeout 60 "$CR_CHECKPOINT" -f rel.ctx "$pid" </dev/null >"$D/rel.out" 2>"$D/rel.err")
	RC=$?
	if [ "$RC" -eq 0 ] && [ -s "$D/sub/rel.ctx" ]; then
		pass "opt/relative: -f with a relative path writes it in cr_checkpoint's directory"
	else
		fail "opt/relative" "status $RC; files: $(ls -A "$D/sub" | tr '\n' ' ')" "$D/rel.err"
	fi
	[ "$(last_ckpt "$D")" = "ckpt dest=$D/sub/rel.ctx signal=0" ] &&
		pass "opt/relative-dest: the callback's dest is the file's absolute path" ||
		fail "opt/relative-dest" "want 'ckpt dest=$D/sub/rel.ctx signal=0', got '$(last_ckpt "$D")'"
	# default: context.PID in the current directory
	(cd "$D/sub" && timeout 60 "$CR_CHECKPOINT" "$pid" </dev/null >"$D/def.out" 2>"$D/def.err")
	RC=$?
	if [ "$RC" -eq 0 ] && [ -s "$D/sub/context.$pid" ]; then
		pass "opt/default-file: without -f the image is context.PID in the current directory"
	else
		fail "opt/default-file" "status $RC; files: $(ls -A "$D/sub" | tr '\n' ' ')" "$D/def.err"
	fi
	# --noclobber
	echo "precious" >"$D/nc.ctx"
	ck "$D" --noclobber -f "$D/nc.ctx" "$pid"
	if [ "$RC" -ne 0 ] && [ "$(cat "$D/nc.ctx")" = precious ] && [ -s "$CKERR" ]; then
		pass "opt/noclobber: refuses an existing file (with a message) and leaves it"
	else
		fail "opt/noclobber" "status $RC; file: $(head -c 40 "$D/nc.ctx" | tr -c '[:print:]' '?')" "$CKERR"
	fi
	ck "$D" --noclobber -f "$D/nc2.ctx" "$pid"
	[ "$RC" -eq 0 ] && [ -s "$D/nc2.ctx" ] && pass "opt/noclobber-new: a new file is written" ||
		fail "opt/noclobber-new" "status $RC" "$CKERR"
	# --backup
	ck "$D" -f "$D/bk.ctx" "$pid"
	cp "$D/bk.ctx" "$D/bk.first"
	ck "$D" --backup -f "$D/bk.ctx" "$pid"
	if [ "$RC" -eq 0 ] && cmp -s "$D/bk.ctx.~1~" "$D/bk.first" && [ -s "$D/bk.ctx" ] &&
		! cmp -s "$D/bk.ctx" "$D/bk.first"; then
		pass "opt/backup: --backup keeps the old file as FILE.~1~"
	else
		fail "opt/backup" "status $RC; files: $(ls -A "$D" | tr '\n' ' ')" "$CKERR"
	fi
	cp "$D/bk.ctx" "$D/bk.second"
	ck "$D" --backup -f "$D/bk.ctx" "$pid"
	[ "$RC" -eq 0 ] && cmp -s "$D/bk.ctx.~2~" "$D/bk.second" && cmp -s "$D/bk.ctx.~1~" "$D/bk.first" &&
		pass "opt/backup-2: a second --backup makes FILE.~2~" ||
		fail "opt/backup-2" "status $RC; files: $(ls -A "$D" | tr '\n' ' ')" "$CKERR"
	cp "$D/bk.ctx" "$D/bk.third"
	ck "$D" --backup="$D/named.bak" -f "$D/bk.ctx" "$pid"
	[ "$RC" -eq 0 ] && cmp -s "$D/named.bak" "$D/bk.third" &&
		pass "opt/backup-name: --backup=NAME keeps the old file as NAME" ||
		fail "opt/backup-name" "status $RC; files: $(ls -A "$D" | tr '\n' ' ')" "$CKERR"
	# --clobber, --atomic
	echo "old" >"$D/cl.ctx"
	ck "$D" --clobber -f "$D/cl.ctx" "$pid"
	[ "$RC" -eq 0 ] && [ "$(head -c 4 "$D/cl.ctx")" != "old" ] && [ -s "$D/cl.ctx" ] &&
		pass "opt/clobber: --clobber overwrites the file" || fail "opt/clobber" "status $RC" "$CKERR"
	echo "old" >"$D/at.ctx"
	ck "$D" --atomic -f "$D/at.ctx" "$pid"
	[ "$RC" -eq 0 ] && [ "$(head -c 4 "$D/at.ctx")" != "old" ] &&
		pass "opt/atomic: --atomic replaces the file" || fail "opt/atomic" "status $RC" "$CKERR"
	# -F FD
	timeout 60 "$CR_CHECKPOINT" -F 3 "$pid" </dev/null >"$D/fd.out" 2>"$D/fd.err" 3>"$D/fd.ctx"
	RC=$?
	[ "$RC" -eq 0 ] && [ -s "$D/fd.ctx" ] && pass "opt/fd: -F FD writes the image into the descriptor" ||
		fail "opt/fd" "status $RC" "$D/fd.err"
	# -S 10 (SIGUSR1, which the program counts), --run, -v
	ck "$D" -S 10 -f "$D/usr1.ctx" "$pid"
	[ "$RC" -eq 0 ] && running "$pid" && [ "$(last_ckpt "$D")" = "ckpt dest=$D/usr1.ctx signal=10" ] &&
		pass "opt/signal: -S 10 checkpoints and the callback saw signal 10" ||
		fail "opt/signal" "status $RC, last ckpt '$(last_ckpt "$D")'" "$CKERR"
	ck "$D" --cont -f "$D/cont.ctx" "$pid"
	[ "$RC" -eq 0 ] && running "$pid" && [ "$(last_ckpt "$D")" = "ckpt dest=$D/cont.ctx signal=18" ] &&
		pass "opt/cont: --cont checkpoints, the callback saw SIGCONT, the program runs on" ||
		fail "opt/cont" "status $RC, last ckpt '$(last_ckpt "$D")'" "$CKERR"
	ck "$D" --run -v -f "$D/run.ctx" "$pid"
	[ "$RC" -eq 0 ] && running "$pid" && pass "opt/run-verbose: --run -v succeeds, the program runs on" ||
		fail "opt/run-verbose" "status $RC" "$CKERR"
	touch "$D/go"
	wait_exit "$pid" 60
	if [ "$RC" -eq 0 ] && same_result "$D/out.0" "$REF_COUNT" && grep -q ' usr1=1$' "$D/out.0"; then
		pass "opt/after: after all these checkpoints the program finishes right, with the one SIGUSR1"
	else
		fail "opt/after" "status $RC, output '$(cat "$D/out.0")'" "$D/err.0"
	fi
	# those images restart (go is there now)
	for f in sub/rel.ctx "sub/context.$pid" bk.ctx.~1~ fd.ctx nc2.ctx cl.ctx; do
		b=$(basename "$f")
		n=${b/context.$pid/context.PID}
		rs "$D" "out.$b" "$D/$f"
		[ "$RC" -eq 0 ] && same_result "$D/out.$b" "$REF_COUNT" &&
			pass "opt/restart-$n: that image restarts to the right answer" ||
			fail "opt/restart-$n" "status $RC" "$D/out.$b" "$D/out.$b.err"
	done
else
	fail "opt/files" "$WHY" "$D/err.0"
fi

# a chain: checkpoint --kill / restart, 3 times, started directly
chain_case() {
	local D=$T/chain i pid
	if ! start_direct "$D" count; then
		fail "chain/start" "$WHY" "$D/err.0"
		return
	fi
	pid=$PID
	for i in 1 2 3; do
		ck "$D" --kill -f "$D/ctx.$i" "$pid"
		if [ "$RC" -ne 0 ]; then
			fail "chain/$i" "cr_checkpoint --kill (round $i): status $RC" "$CKOUT" "$CKERR"
			return
		fi
		if ! gone_by "$pid" 137 "round $i"; then
			fail "chain/$i" "$WHY"
			return
		fi
		[ "$i" -eq 3 ] && touch "$D/go"
		rs_bg "$D" "out.$i" "$D/ctx.$i"
		pid=$PID
		if [ "$i" -lt 3 ] && ! wait_file "$D/up.$pid" "$pid" 20; then
			wait_exit "$pid" 1
			fail "chain/$i" "restart $i: the restored program's callback never ran (status $RC)" \
				"$D/out.$i" "$D/out.$i.err"
			return
		fi
	done
	wait_exit "$pid" 60
	if [ "$RC" -eq 0 ] && same_result "$D/out.3" "$REF_COUNT"; then
		pass "chain: checkpoint --kill / cr_restart 3 times, the answer is right"
	else
		fail "chain" "status $RC, '$(result_of "$D/out.3")', want '$REF_COUNT'" "$D/out.3" "$D/out.3.err"
	fi
	[ "$(grep -c '^restarted ' "$D/info")" -eq 3 ] && pass "chain/callbacks: the callback saw each of the 3 restarts" ||
		fail "chain/callbacks" "info: $(tr '\n' '|' <"$D/info")"
}
chain_case

# scope: a process with a child; a session of one process
scope_case() {
	local D=$T/scope pid
	if ! start "$D" parent; then
		fail "scope/start" "$WHY" "$D/err.0"
		return
	fi
	pid=$PID
	ck "$D" -f "$D/tree.ctx" "$pid"
	[ "$RC" -ne 0 ] && [ -s "$CKERR" ] && [ ! -e "$D/tree.ctx" ] &&
		pass "scope/tree: the default scope (tree) refuses a process with a child, with a message" ||
		fail "scope/tree" "status $RC" "$CKERR"
	ck "$D" -T -f "$D/tree.ctx" "$pid"
	[ "$RC" -ne 0 ] && pass "scope/tree-T: -T likewise" || fail "scope/tree-T" "status $RC" "$CKERR"
	ck "$D" -p -f "$D/proc.ctx" "$pid"
	[ "$RC" -eq 0 ] && [ -s "$D/proc.ctx" ] && pass "scope/pid: -p checkpoints the process alone" ||
		fail "scope/pid" "status $RC" "$CKERR"
	ck "$D" -g -f "$D/grp.ctx" "$(stat_field "$pid" 3)"
	[ "$RC" -ne 0 ] && [ -s "$CKERR" ] && pass "scope/group-many: -g of a group of several processes is refused" ||
		fail "scope/group-many" "status $RC" "$CKERR"
	touch "$D/go"
	wait_exit "$pid" 60
	[ "$RC" -eq 0 ] && grep -qx "parent child-status=0 verify=ok" "$D/out.0" &&
		pass "scope/after: the program and its child finish unharmed" ||
		fail "scope/after" "status $RC, output '$(cat "$D/out.0")'" "$D/err.0"

	D=$T/session
	mkdir -p "$D"
	setsid "$CR_RUN" "$PROG" count "$D" </dev/null >"$D/out.0" 2>"$D/err.0" &
	pid=$!
	PIDS+=("$pid")
	if ! wait_file "$D/ready" "$pid" 30; then
		fail "scope/session" "the program in its own session did not start" "$D/err.0"
		return
	fi
	ck "$D" -g -f "$D/g.ctx" "$pid"
	[ "$RC" -eq 0 ] && [ -s "$D/g.ctx" ] && pass "scope/group-one: -g of a group of one process" ||
		fail "scope/group-one" "status $RC" "$CKERR"
	ck "$D" -s -f "$D/s.ctx" "$pid"
	[ "$RC" -eq 0 ] && [ -s "$D/s.ctx" ] && pass "scope/session-one: -s of a session of one process" ||
		fail "scope/session-one" "status $RC" "$CKERR"
	touch "$D/go"
	wait_exit "$pid" 60
	[ "$RC" -eq 0 ] && same_result "$D/out.0" "$REF_COUNT" && pass "scope/session-after: it finishes right" ||
		fail "scope/session-after" "status $RC" "$D/out.0" "$D/err.0"
}
scope_case

# --- processes cr_checkpoint cannot take -------------------------------------

D=$T/nosupport
mkdir -p "$D"
sleep 100 &
spid=$!
PIDS+=("$spid")
ck "$D" -f "$D/ctx" "$spid"
if [ "$RC" -ne 0 ] && grep -qi support "$CKERR" && running "$spid"; then
	pass "nosupport: a process not under cairn is refused, saying support is missing ($(head -n 1 "$CKERR" | head -c 100))"
else
	fail "nosupport" "status $RC; the message must say support is missing" "$CKOUT" "$CKERR"
fi
[ ! -e "$D/ctx" ] && pass "nosupport/no-file: no context file is left" ||
	fail "nosupport/no-file" "a file $D/ctx was left"
kill -KILL "$spid" 2>/dev/null
wait "$spid" 2>/dev/null

true &
gone=$!
wait "$gone"
if [ -e "/proc/$gone" ]; then
	gone=$((gone + 1))
fi
ck "$D" -f "$D/ctx2" "$gone"
[ "$RC" -ne 0 ] && [ "$RC" -ne 124 ] && [ -s "$CKERR" ] &&
	pass "nopid: a nonexistent PID fails with a message ($(head -n 1 "$CKERR" | head -c 100))" ||
	fail "nopid" "status $RC" "$CKOUT" "$CKERR"
ck "$D" -q -f "$D/ctx3" "$gone"
[ "$RC" -ne 0 ] && [ ! -s "$CKERR" ] && pass "quiet: -q fails silently" ||
	fail "quiet" "status $RC" "$CKERR"

exit $((fails > 0))

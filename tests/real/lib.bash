# Shared by tests/real/*.sh: run a real program from a Debian package
# uninterrupted, then under cairn checkpointed mid-run (continue, and
# --kill + restart), and compare what it produced.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CAIRN=${CAIRN:-$here/../../build/bin/cairn}
work=$(mktemp -d /tmp/cairn-real.XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
	rm -rf "$work"
}
trap cleanup EXIT
failures=0
pass() { echo "PASS real/$1"; }
fail() {
	echo "FAIL real/$1"
	failures=$((failures + 1))
}

alive() { # pid: running and not a zombie
	local s
	s=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
	[ "$s" != Z ] && [ "$s" != X ]
}

wait_gone() { # pid timeout_s
	local i
	for ((i = 0; i < $2 * 10; i++)); do
		alive "$1" || return 0
		sleep 0.1
	done
	return 1
}

# real_case NAME MODE DELAY OUT -- CMD...
#   Runs CMD (stdout to OUT) under cairn, checkpoints it after DELAY seconds
#   (continue or --kill + restart, with the restarted stdout appended to OUT),
#   and leaves OUT and the status in $case_rc. Fails the case when the
#   checkpoint did not happen while the program was running.
real_case() {
	local name=$1 mode=$2 delay=$3 out=$4 pid rc
	shift 5
	(exec "$CAIRN" run "$@" >"$out" 2>"$work/$name.err" </dev/null) &
	pid=$!
	pids+=("$pid")
	sleep "$delay"
	if ! alive "$pid"; then
		fail "$name/$mode: the program finished before the checkpoint; make it work longer"
		wait "$pid"
		case_rc=99
		return
	fi
	case $mode in
	continue)
		if ! "$CAIRN" checkpoint -o "$work/$name.img" "$pid" >"$work/$name.ck" 2>&1; then
			fail "$name/$mode: checkpoint failed: $(cat "$work/$name.ck")"
		fi
		{ wait "$pid"; } 2>/dev/null
		case_rc=$?
		;;
	restart)
		disown "$pid" # it will be killed: no job notice from the shell
		if ! "$CAIRN" checkpoint --kill -o "$work/$name.img" "$pid" >"$work/$name.ck" 2>&1; then
			fail "$name/$mode: checkpoint --kill failed: $(cat "$work/$name.ck")"
			wait_gone "$pid" 300
			case_rc=99
			return
		fi
		(exec "$CAIRN" restart "$work/$name.img" >>"$out" 2>>"$work/$name.err" </dev/null) &
		pid=$!
		pids+=("$pid")
		if ! wait_gone "$pid" 300; then
			fail "$name/$mode: the restarted program did not finish"
		fi
		{ wait "$pid"; } 2>/dev/null
		case_rc=$?
		;;
	esac
	if [ -s "$work/$name.err" ]; then
		sed 's/^/    stderr: /' "$work/$name.err" | head -n 5
	fi
}

# same NAME MODE FILE REFERENCE: the case passes when FILE equals REFERENCE
same() {
	if [ "$case_rc" -ne 0 ]; then
		fail "$1/$2: exit status $case_rc"
	elif cmp -s "$3" "$4"; then
		pass "$1/$2"
	else
		fail "$1/$2: output differs from the uninterrupted run ($(cmp "$3" "$4" 2>&1 | head -n 1))"
	fi
}

#!/usr/bin/env bash
# One rank's checkpoint and restart through the split process (src/mpi/ckpt.c):
# each rank of an unmodified MPICH program started by `cairn mpirun` is
# checkpointed with `cairn checkpoint` while it computes without calling
# MPI (tests/mpi/rank_ckpt.c), holding communicators (dup with a name,
# split, from a group, Cartesian, one split from a dup freed since),
# groups and a derived datatype; the job goes on to the native answer; the
# images hold nothing of the lower half (no window, no MPICH/UCX, no
# socket); the job restarts from them under a fresh mpiexec (each rank: a
# new lower half, MPI_Init and the logged calls replayed in it, src/mpi/log.c)
# and uses every object to the same answer; the restarted job is
# checkpointed, killed and restarted again; a rank holding an MPI object
# cairn does not rebuild (a one-sided window) refuses its checkpoint, naming it,
# and the job is unharmed.
#
# This is the per-rank mechanism. Whole-job checkpoints (one command, a
# consistent cut, messages in flight) build on it.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
CAIRN=$top/build/bin/cairn
P=$top/build/tests/mpi/rank_ckpt
STEPS=${STEPS:-20000}
CHECK_CLEANUP='kill -9 $(jobs -p) 2>/dev/null; wait 2>/dev/null'
. "$top/tests/lib/check.bash"
check_begin mpi/ckpt
[ -x "$P" ] || { fail "build/tests/mpi/rank_ckpt missing: run make"; exit 1; }

# wait_ready DIR N: every rank wrote DIR/ready.R (its PID); 0 if so
wait_ready() {
	local i r
	for ((i = 0; i < 600; i++)); do
		for ((r = 0; r < $2; r++)); do [ -s "$1/ready.$r" ] || break; done
		[ $r -eq $2 ] && return 0
		sleep 0.05
	done
	return 1
}

# checkpoint_all DIR N PIDFILE: cairn checkpoint each rank into DIR/img.R
checkpoint_all() {
	local r
	for ((r = 0; r < $2; r++)); do
		"$CAIRN" checkpoint -o "$1/img.$r" "$(cat "$1/$3.$r")" >>"$1/ckpt.log" 2>&1 || return 1
	done
}

# restart_job DIR N OUT: the images under a fresh mpiexec; each rank's
# wrapper writes DIR/pid.R (exec keeps the PID)
restart_job() {
	timeout 120 mpiexec.mpich -n "$2" sh -c \
		'echo $$ >"$0/pid.$PMI_RANK"; exec "$1" restart "$0/img.$PMI_RANK"' "$1" "$CAIRN" \
		>"$3" 2>&1
}

# answered STATUS OUT WHAT: the restarted job ended well with the answer
answered() {
	if [ "$1" -eq 0 ] && grep -qx "answer $want" "$2" && grep -qx ok "$2"; then
		pass "$3: the native answer $want"
	else
		fail "$3 (status $1): $(head -8 "$2")"
	fi
}

for n in 2 4; do
	D=$T/n$n
	mkdir -p "$D/native"
	timeout 120 mpiexec.mpich -n $n "$P" "$D/native" "$STEPS" objects >"$D/native.out" 2>&1
	want=$(sed -n 's/^answer //p' "$D/native.out")
	if [ -z "$want" ] || ! grep -qx ok "$D/native.out"; then
		fail "n=$n: the native run failed: $(head -5 "$D/native.out")"
		continue
	fi

	# checkpoint every rank while it computes; the job goes on
	timeout 120 "$CAIRN" mpirun -n $n "$P" "$D" "$STEPS" objects >"$D/run.out" 2>&1 &
	job=$!
	if ! wait_ready "$D" $n; then
		fail "n=$n: the ranks never reached their quiet phase: $(head -5 "$D/run.out")"
		kill -9 $job 2>/dev/null
		continue
	fi
	checkpoint_all "$D" $n ready
	ck=$?
	wait $job
	rc=$?
	if [ $ck -eq 0 ] && [ $rc -eq 0 ] && grep -qx "answer $want" "$D/run.out" && grep -qx ok "$D/run.out"; then
		pass "n=$n: every rank checkpointed while computing and holding MPI objects ($(grep -c '^checkpoint' "$D/ckpt.log") images, $(awk '{s+=$3} END {print int(s/1024)}' "$D/ckpt.log") KiB), the job went on to the native answer $want"
	else
		fail "n=$n: checkpoint $ck, job $rc: $(cat "$D/ckpt.log" "$D/run.out" | head -8)"
		continue
	fi

	# what the images hold: nothing of the lower half
	bad=
	for ((r = 0; r < n; r++)); do
		"$CAIRN" inspect "$D/img.$r" >"$D/inspect.$r" 2>&1 || bad="$bad rank $r unreadable;"
		# the window: 0x500000000000, 64 GiB
		grep -Eq '^ +0000500[0-9a-f]{9}-' "$D/inspect.$r" && bad="$bad rank $r has memory in the window;"
		grep -q 'cairn-mpi-lower\|libmpich\.so\.12\.[0-9]\|libucs\|libucp' "$D/inspect.$r" &&
			bad="$bad rank $r maps lower-half files;"
		grep -q 'socket' "$D/inspect.$r" && bad="$bad rank $r saved a socket;"
	done
	[ -z "$bad" ] && pass "n=$n: the images hold no memory in the window, no MPICH/UCX mapping, no socket" ||
		fail "n=$n:$bad"

	# the job is gone (it finished); restart it from the images
	restart_job "$D" $n "$D/restart.out" &
	rj=$!
	# restart of a restarted job: checkpoint the restored ranks again
	# while they compute, then kill that job and restart once more
	again=0
	for ((i = 0; i < 200; i++)); do
		[ $(ls "$D"/pid.* 2>/dev/null | wc -l) -eq $n ] && break
		sleep 0.05
	done
	sleep 0.3
	mkdir -p "$D/second"
	for ((r = 0; r < n; r++)); do
		"$CAIRN" checkpoint -o "$D/second/img.$r" "$(cat "$D/pid.$r")" >>"$D/ckpt2.log" 2>&1 || again=1
	done
	kill -9 $rj 2>/dev/null
	{ wait $rj; } 2>/dev/null
	for ((r = 0; r < n; r++)); do
		[ -e "/proc/$(cat "$D/pid.$r")" ] && kill -9 "$(cat "$D/pid.$r")" 2>/dev/null
	done
	sleep 0.5
	if [ $again -ne 0 ]; then
		fail "n=$n: checkpoint of the restarted job: $(head -5 "$D/ckpt2.log")"
		continue
	fi
	pass "n=$n: the restarted job (a new lower half in every rank) checkpointed again, then killed"
	restart_job "$D/second" $n "$D/restart2.out"
	answered $? "$D/restart2.out" "n=$n: restarted from the restarted job's images under a fresh mpiexec"
	# and the first images, once more, to the end
	rm -f "$D"/pid.*
	restart_job "$D" $n "$D/restart1.out"
	answered $? "$D/restart1.out" \
		"n=$n: restarted from the first images under a fresh mpiexec (objects made again, used)"
done

# a rank that holds a window: refused with a message
# naming it, the job unharmed
D=$T/hold
mkdir -p "$D"
timeout 120 "$CAIRN" mpirun -n 2 "$P" "$D" "$STEPS" hold-win >"$D/run.out" 2>&1 &
job=$!
if wait_ready "$D" 2; then
	"$CAIRN" checkpoint -o "$D/img.0" "$(cat "$D/ready.0")" >"$D/ck.out" 2>&1
	ck=$?
	wait $job
	rc=$?
	if [ $ck -ne 0 ] && grep -q 'MPI window' "$D/ck.out" && [ ! -e "$D/img.0" ] &&
		[ $rc -eq 0 ] && grep -qx ok "$D/run.out"; then
		pass "a rank holding a window refuses: $(head -1 "$D/ck.out" | sed 's/.*refused by the program: //' | cut -c1-120); the job finished"
	else
		fail "holding a window: checkpoint $ck, job $rc: $(cat "$D/ck.out" "$D/run.out" | head -6)"
	fi
else
	fail "hold-win: the ranks never reached their quiet phase"
	kill -9 $job 2>/dev/null
fi
check_end

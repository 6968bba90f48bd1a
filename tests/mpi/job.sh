#!/usr/bin/env bash
# Whole-job checkpoints through the command line (src/cli/job.c, the
# runtime's side in src/runtime/job.c): `cairn mpirun --dir DIR` runs an
# unmodified MPICH program (tests/mpi/rank_ckpt.c) with a coordinator;
# `cairn checkpoint DIR` (or the launcher's PID, or the job's signal sent to
# cairn mpirun, or --interval) checkpoints every rank into DIR/ckpt.N with
# a manifest written last; --kill ends the job; `cairn restart DIR`, from
# another directory, verifies every image and continues the job under a
# new mpiexec to the native answer; the restarted job is checkpointed and
# restarted again. Faults: a corrupt rank image and a wrong rank count are
# refused before anything is launched, naming the rank; a rank killed
# during a checkpoint abandons it and the previous one still restarts; a
# rank that cannot be checkpointed makes every rank refuse, and the job
# goes on. Requests pending (tests/mpi/pending.c) are taken through
# checkpoints, continues and restarts.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
CAIRN=$top/build/bin/cairn
P=$top/build/tests/mpi/rank_ckpt
STEPS=${STEPS:-40000}
CHECK_CLEANUP='kill -9 $(jobs -p) 2>/dev/null; wait 2>/dev/null'
. "$top/tests/lib/check.bash"
check_begin mpi/job
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

# wait_joined DIR: the job's coordinator has written DIR/job; its pid
coordinator() {
	local i
	for ((i = 0; i < 200; i++)); do
		[ -s "$1/job" ] && grep -q '^launcher [1-9]' "$1/job" && break
		sleep 0.05
	done
	sed -n 's/^pid //p' "$1/job" 2>/dev/null
}

# answered STATUS OUT WHAT: the job ended well with the native answer
answered() {
	# $ref: what the answer to match came from (default: a native run)
	if [ "$1" -eq 0 ] && grep -qx "answer $want" "$2" && grep -qx ok "$2"; then
		pass "$3: the ${ref:-native} answer $want"
	else
		fail "$3 (status $1): $(head -8 "$2")"
	fi
}

# checkpoint_once DIR N PROG ARGS...: cairn mpirun --dir DIR/ck -n N PROG
# ARGS (output in DIR/a/run.out), checkpointed by command (DIR/ck.out) once
# every rank is ready, then left to end: c1 the checkpoint's status, rc the
# job's
checkpoint_once() {
	local d=$1 n=$2 job
	shift 2
	timeout 150 "$CAIRN" mpirun --dir "$d/ck" -n "$n" "$@" >"$d/a/run.out" 2>&1 &
	job=$!
	wait_ready "$d/a" "$n"
	coordinator "$d/ck" >/dev/null
	"$CAIRN" checkpoint "$d/ck" >"$d/ck.out" 2>&1
	c1=$?
	wait $job
	rc=$?
}

# interval_then_kill DIR N WAIT1 WAIT2 PROG ARGS...: cairn mpirun --dir
# DIR/ck $MPIRUN_OPTS (default --interval 1) -n N PROG ARGS (output in
# DIR/a/run.out); WAIT1 s after every rank is ready, checkpointed by
# command (c1, DIR/ck1.out); WAIT2 s later, with --kill (ck, DIR/kill.out);
# rc the job's status, nck how many checkpoints it reported
interval_then_kill() {
	local d=$1 n=$2 w1=$3 w2=$4 job
	shift 4
	timeout 150 "$CAIRN" mpirun --dir "$d/ck" ${MPIRUN_OPTS:---interval 1} -n "$n" "$@" \
		>"$d/a/run.out" 2>&1 &
	job=$!
	wait_ready "$d/a" "$n"
	coordinator "$d/ck" >/dev/null
	sleep "$w1"
	"$CAIRN" checkpoint "$d/ck" >"$d/ck1.out" 2>&1
	c1=$?
	sleep "$w2"
	"$CAIRN" checkpoint --kill "$d/ck" >"$d/kill.out" 2>&1
	ck=$?
	wait $job
	rc=$?
	nck=$(grep -c '^cairn: checkpoint [0-9]* of the job:' "$d/a/run.out")
}

# ckpts DIR: the complete checkpoints in DIR
ckpts() {
	(cd "$1" && ls -d ckpt.* 2>/dev/null | grep -v partial | tr '\n' ' ')
}

for n in 2 4; do
	D=$T/n$n
	mkdir -p "$D/native" "$D/a" "$D/b"
	timeout 120 mpiexec.mpich -n $n "$P" "$D/native" "$STEPS" objects >"$D/native.out" 2>&1
	want=$(sed -n 's/^answer //p' "$D/native.out")
	if [ -z "$want" ] || ! grep -qx ok "$D/native.out"; then
		fail "n=$n: the native run failed: $(head -5 "$D/native.out")"
		continue
	fi

	# checkpoint the job while it computes: by its directory, then by the
	# launcher's PID; it goes on to the native answer
	timeout 150 "$CAIRN" mpirun --dir "$D/ck" -n $n "$P" "$D/a" "$STEPS" objects \
		>"$D/a/run.out" 2>&1 &
	job=$!
	if ! wait_ready "$D/a" $n; then
		fail "n=$n: the ranks never reached their quiet phase: $(head -5 "$D/a/run.out")"
		kill -9 $job 2>/dev/null
		continue
	fi
	coordinator "$D/ck" >/dev/null
	launcher=$(sed -n 's/^launcher //p' "$D/ck/job")
	"$CAIRN" checkpoint "$D/ck" >"$D/ck1.out" 2>&1
	c1=$?
	"$CAIRN" checkpoint "$launcher" >"$D/ck2.out" 2>&1
	c2=$?
	wait $job
	rc=$?
	if [ $c1 -eq 0 ] && [ $c2 -eq 0 ] && grep -q "^checkpoint 1 of the job: $n ranks" "$D/ck1.out" &&
		grep -q "^checkpoint 2 of the job: $n ranks.*longest pause" "$D/ck2.out" &&
		[ -s "$D/ck/ckpt.2/MANIFEST" ] && [ "$(readlink "$D/ck/latest")" = ckpt.2 ] &&
		[ "$(ls "$D/ck/ckpt.2" | grep -c '^rank\.')" -eq $n ] &&
		[ "$(stat -c %a "$D/ck/ckpt.2/rank.0")" = 600 ] && [ "$(stat -c %a "$D/ck")" = 700 ]; then
		answered $rc "$D/a/run.out" "n=$n: cairn checkpoint DIR, then the launcher's PID: $(cut -c1-90 "$D/ck2.out"); the job went on"
	else
		fail "n=$n: job checkpoints: $c1/$c2/$rc: $(cat "$D/ck1.out" "$D/ck2.out" | head -4); $(ls "$D/ck")"
	fi

	# --kill, then restart DIR from another directory; the restarted job is
	# checkpointed by the job's signal to its coordinator, killed, and
	# restarted again
	rm -rf "$D/ck"
	timeout 150 "$CAIRN" mpirun --dir "$D/ck" -n $n "$P" "$D/b" "$STEPS" objects \
		>"$D/b/run.out" 2>&1 &
	job=$!
	wait_ready "$D/b" $n
	coordinator "$D/ck" >/dev/null
	"$CAIRN" checkpoint --kill "$D/ck" >"$D/kill.out" 2>&1
	ck=$?
	wait $job
	rc=$?
	if [ $ck -ne 0 ] || [ $rc -ne 0 ] || grep -q '^answer' "$D/b/run.out"; then
		fail "n=$n: checkpoint --kill: $ck, job $rc: $(cat "$D/kill.out" "$D/b/run.out" | head -5)"
		continue
	fi
	pass "n=$n: checkpoint --kill: $(cut -c1-60 "$D/kill.out"); the job ended at once (status 0)"
	(cd / && timeout 150 "$CAIRN" restart "$D/ck" >"$D/r1.out" 2>&1) &
	job=$!
	pid=$(coordinator "$D/ck")
	sleep 1
	[ -n "$pid" ] && kill -USR2 "$pid"
	for ((i = 0; i < 200; i++)); do [ -e "$D/ck/ckpt.2/MANIFEST" ] && break; sleep 0.05; done
	"$CAIRN" checkpoint --kill "$D/ck" >"$D/kill2.out" 2>&1
	ck=$?
	wait $job
	rc=$?
	if [ $ck -eq 0 ] && [ $rc -eq 0 ] && grep -q "checkpoint 2 of the job" "$D/r1.out" &&
		grep -q "^checkpoint 3 of the job" "$D/kill2.out"; then
		pass "n=$n: the restarted job (from /) checkpointed by SIGUSR2 to its coordinator, then --kill"
	else
		fail "n=$n: restarted job: signal/kill $ck, job $rc: $(cat "$D/r1.out" "$D/kill2.out" | head -6)"
	fi
	(cd / && timeout 150 "$CAIRN" restart "$D/ck" >"$D/r2.out" 2>&1)
	answered $? "$D/r2.out" "n=$n: restarted again from the restarted job's checkpoint 3"
	"$CAIRN" restart --checkpoint 1 "$D/ck" >"$D/r3.out" 2>&1
	rc=$?
	if [ $rc -eq 125 ] && grep -q 'has no checkpoint 1' "$D/r3.out" &&
		[ "$(ckpts "$D/ck")" = "ckpt.2 ckpt.3 " ]; then
		pass "n=$n: the newest 2 checkpoints kept (--keep default): $(ckpts "$D/ck")"
	else
		fail "n=$n: kept: $(ckpts "$D/ck"); restart of a removed one: $rc $(head -2 "$D/r3.out")"
	fi
done

# --- messages in flight (tests/mpi/in_flight.c) ---
# every rank sends every rank a round of messages (two communicators, three
# tags, plain, buffered and derived-datatype sends), then computes without
# MPI: checkpoints then find the round's messages sent and not received.
# They must come out of a continue and of a restart in order, to probes
# and wildcard receives, to the native answer.
F=$top/build/tests/mpi/in_flight
FSTEPS=${FSTEPS:-15000}
for n in 2 4; do
	D=$T/flight$n
	mkdir -p "$D/native" "$D/a"
	timeout 120 mpiexec.mpich -n $n "$F" "$D/native" 4 "$FSTEPS" >"$D/native.out" 2>&1
	want=$(sed -n 's/^answer //p' "$D/native.out")
	if [ -z "$want" ] || ! grep -qx ok "$D/native.out"; then
		fail "in flight, n=$n: the native run failed: $(head -5 "$D/native.out")"
		continue
	fi
	interval_then_kill "$D" $n 0 2 "$F" "$D/a" 4 "$FSTEPS"
	if [ $c1 -eq 0 ] && [ $ck -eq 0 ] && [ $rc -eq 0 ] && ! grep -q '^answer' "$D/a/run.out"; then
		pass "in flight, n=$n: checkpoints with messages in flight ($((nck + 2)): by command, by --interval 1, then --kill)"
	else
		fail "in flight, n=$n: checkpoints $c1/$ck, job $rc: $(cat "$D/ck1.out" "$D/kill.out" "$D/a/run.out" | head -6)"
		continue
	fi
	# the continued checkpoints kept the job right: it is the same binary
	# that now restarts from the last one
	(cd / && timeout 150 "$CAIRN" restart "$D/ck" >"$D/r.out" 2>&1)
	answered $? "$D/r.out" "in flight, n=$n: restarted with the round's messages in flight: every message in order"
	# the same checkpoint restarted on other hosts: Hydra's fork launcher
	# with one made-up host name per rank, so MPI sees $n nodes (no shared
	# memory between the ranks, its network path instead of the one the
	# job was checkpointed on)
	kn=$(sed -n 's/^checkpoint \([0-9]*\) of the job.*/\1/p' "$D/kill.out")
	hosts=$(seq -s, -f 'cairn-node%g' 1 $n)
	(cd / && timeout 150 "$CAIRN" restart --checkpoint "$kn" -launcher fork -hosts "$hosts" "$D/ck" \
		>"$D/r2.out" 2>&1)
	rc=$?
	if grep -qx "nodes $n" "$D/r2.out" && grep -qx "nodes 1" "$D/native.out"; then
		answered $rc "$D/r2.out" "in flight, n=$n: the same checkpoint restarted on $n other hosts ($hosts, fork launcher: MPI sees $n nodes, the job ran on 1)"
	else
		fail "in flight, n=$n: restart on other hosts (status $rc): $(head -8 "$D/r2.out"); native: $(grep nodes "$D/native.out")"
	fi
done
# random all-to-all traffic (tests/mpi/traffic.c): every round a new plan
# of messages (tags, lengths, communicators, send modes), received with
# wildcards and probes; periodic checkpoints, one by command, then --kill
# while a round's messages are in flight; restarted from / to the native
# answer
RT=$top/build/tests/mpi/traffic
for n in 3 4; do
	D=$T/traffic$n
	mkdir -p "$D/native" "$D/a"
	timeout 120 mpiexec.mpich -n $n "$RT" "$D/native" 10 "$((FSTEPS / 3))" >"$D/native.out" 2>&1
	want=$(sed -n 's/^answer //p' "$D/native.out")
	interval_then_kill "$D" $n 1.5 2.2 "$RT" "$D/a" 10 "$((FSTEPS / 3))"
	if [ -n "$want" ] && [ $c1 -eq 0 ] && [ $ck -eq 0 ] && [ $rc -eq 0 ] && ! grep -q '^answer' "$D/a/run.out"; then
		(cd / && timeout 150 "$CAIRN" restart "$D/ck" >"$D/r.out" 2>&1)
		answered $? "$D/r.out" "random traffic, n=$n: $((nck + 2)) checkpoints (periodic, by command, --kill), restarted from /"
	else
		fail "random traffic, n=$n: native '$want', checkpoints $c1/$ck, job $rc: $(cat "$D/ck1.out" "$D/kill.out" "$D/a/run.out" | head -6)"
	fi
done

# the same job, continued from a checkpoint taken with messages in flight
D=$T/flight2c
mkdir -p "$D/a"
want=$(sed -n 's/^answer //p' "$T/flight2/native.out")
checkpoint_once "$D" 2 "$F" "$D/a" 4 "$FSTEPS"
if [ $c1 -eq 0 ]; then
	answered $rc "$D/a/run.out" "in flight, n=2: the job continued after the checkpoint"
else
	fail "in flight, continue: checkpoint $c1: $(head -3 "$D/ck.out")"
fi
# a collective in progress (rank 0 has left an MPI_Bcast the others have
# not entered) while they wait for a message rank 0, held at its gate as
# the rank ahead, would send only later: nobody runs forward, so the
# checkpoint gives up after 10 s with a message; the job goes on
D=$T/stuck
mkdir -p "$D/a"
checkpoint_once "$D" 2 "$F" "$D/a" 3 $((FSTEPS * 2)) skew-stuck
if [ $c1 -ne 0 ] && grep -q 'collective is in progress on communicator MPI_COMM_WORLD' "$D/ck.out" &&
	grep -q 'no rank running forward' "$D/ck.out" && [ $rc -eq 0 ] && grep -qx ok "$D/a/run.out"; then
	pass "a collective in progress, the laggard waiting for the rank ahead: $(head -1 "$D/ck.out" | cut -c1-200); the job finished"
else
	fail "stuck laggard: checkpoint $c1, job $rc: $(cat "$D/ck.out" "$D/a/run.out" | head -5)"
fi
# long_laggard NAME MODE WHAT: in_flight in MODE, its laggard computing for
# longer than the 10 s a checkpoint once gave up after: the checkpoint is
# tried again while it runs forward, and passes (>10 s, several attempts);
# the job goes on, and the checkpoint restarts from /, to the native
# answer (which does not depend on the quiet phases' length)
long_laggard() {
	D=$T/$1
	mkdir -p "$D/a" "$D/native"
	timeout 120 mpiexec.mpich -n 2 "$F" "$D/native" 3 $((FSTEPS * 2)) "$2" >"$D/native.out" 2>&1
	want=$(sed -n 's/^answer //p' "$D/native.out")
	checkpoint_once "$D" 2 "$F" "$D/a" 3 $((FSTEPS * 6)) "$2"
	secs=$(sed -n 's/.*, \([0-9.]*\) s (\([0-9]*\) attempts).*/\1/p' "$D/ck.out")
	if [ $c1 -eq 0 ] && [ -n "$secs" ] && awk -v s="$secs" 'BEGIN { exit !(s > 10) }'; then
		answered $rc "$D/a/run.out" "$3: waited for, $(sed 's/.*, \([0-9.]* s (.*attempts)\).*/\1/' "$D/ck.out"); continued"
		(cd / && timeout 150 "$CAIRN" restart "$D/ck" >"$D/r.out" 2>&1)
		answered $? "$D/r.out" "$3: restarted"
	else
		fail "$3: checkpoint $c1, job $rc: $(cat "$D/ck.out" "$D/a/run.out" | head -5)"
	fi
}
# the same collective in progress, the laggard computing (rank 0 held
# meanwhile)
long_laggard skew skew "a collective in progress, the laggard computing for longer than 10 s"
# ranks inside MPI_Comm_split (which cannot be interrupted) while rank 0
# computes before joining them: passes once the communicator is made
long_laggard splitlag split-lag "ranks inside MPI_Comm_split while rank 0 computes for longer than 10 s"

# the same skew, with a quiet phase shorter than the coordinator tries:
# rank 0, ahead, is held at its gate while rank 1 runs forward into the
# MPI_Bcast; the checkpoint then succeeds. Continued, and restarted from
# /, to the native answer.
D=$T/skew2
mkdir -p "$D/a" "$D/native"
timeout 120 mpiexec.mpich -n 2 "$F" "$D/native" 3 $((FSTEPS * 2)) skew >"$D/native.out" 2>&1
want=$(sed -n 's/^answer //p' "$D/native.out")
checkpoint_once "$D" 2 "$F" "$D/a" 3 $((FSTEPS * 2)) skew
if [ $c1 -eq 0 ] && grep -q '^checkpoint 1 of the job: 2 ranks.*attempts)' "$D/ck.out"; then
	answered $rc "$D/a/run.out" "a collective in progress, the laggard run forward: $(cut -c1-40 "$D/ck.out")...$(sed 's/.*, \([0-9.]* s (.*attempts)\).*/\1/' "$D/ck.out"); continued"
	(cd / && timeout 150 "$CAIRN" restart "$D/ck" >"$D/r.out" 2>&1)
	answered $? "$D/r.out" "a collective in progress, the laggard run forward: restarted"
else
	fail "laggard run forward: checkpoint $c1, job $rc: $(cat "$D/ck.out" "$D/a/run.out" | head -5)"
fi

# --- requests pending (tests/mpi/pending.c) ---
# a ring window of MPI_Irecv/MPI_Isend/MPI_Issend, persistent requests on a
# duplicate communicator with a derived datatype, persistent collectives,
# an MPI_Iallreduce, and ranks blocked in MPI_Recv, MPI_Sendrecv_replace or
# in a collective rank 0 has not started while it computes: every
# checkpoint finds requests posted and not complete. Periodic checkpoints
# and one by command (in the "lag": the others wait, at 2 ranks, for an
# MPI_Comm_idup, at 4 in a persistent MPI_Alltoallw_init's MPI_Wait, that rank
# 0 has not started; every iteration also has an MPI_Comm_idup pending), continued to the native answer; that one restarted from / (the
# collective started again in the new lower half), checkpointed with
# --kill, restarted again.
PF=$top/build/tests/mpi/pending
for n in 2 4; do
	D=$T/pending$n
	iters=$((n == 2 ? 80 : 50))
	lag=$([ $n = 2 ] && echo ilag || echo plag)
	mkdir -p "$D/native" "$D/a"
	timeout 120 mpiexec.mpich -n $n "$PF" "$D/native" $iters 100 $lag >"$D/native.out" 2>&1
	want=$(sed -n 's/^answer //p' "$D/native.out")
	if [ -z "$want" ] || ! grep -qx ok "$D/native.out"; then
		fail "pending, n=$n: the native run failed: $(head -5 "$D/native.out")"
		continue
	fi
	timeout 150 "$CAIRN" mpirun --dir "$D/ck" --interval 1 --keep 100 -n $n "$PF" "$D/a" $iters 100 $lag \
		>"$D/a/run.out" 2>&1 &
	job=$!
	wait_ready "$D/a" $n
	coordinator "$D/ck" >/dev/null
	"$CAIRN" checkpoint "$D/ck" >"$D/ck1.out" 2>&1
	c1=$?
	wait $job
	rc=$?
	nck=$(grep -c '^cairn: checkpoint [0-9]* of the job:' "$D/a/run.out")
	first=$(sed -n 's/^checkpoint \([0-9]*\) of the job.*/\1/p' "$D/ck1.out")
	if [ $c1 -ne 0 ] || [ "$nck" -lt 2 ] || [ -z "$first" ]; then
		fail "pending, n=$n: checkpoints: by command $c1, periodic $nck: $(cat "$D/ck1.out" "$D/a/run.out" | head -6)"
		continue
	fi
	answered $rc "$D/a/run.out" "pending, n=$n: $((nck + 1)) checkpoints with requests pending (by command during a collective only some ranks had entered: $(cut -c1-50 "$D/ck1.out"); by --interval 1), continued"
	(cd / && timeout 150 "$CAIRN" restart --checkpoint "$first" "$D/ck" >"$D/r1.out" 2>&1) &
	job=$!
	coordinator "$D/ck" >/dev/null
	sleep 1
	"$CAIRN" checkpoint --kill "$D/ck" >"$D/kill.out" 2>&1
	ck=$?
	wait $job
	rc=$?
	if [ $ck -ne 0 ] || [ $rc -ne 0 ] || grep -q '^answer' "$D/r1.out"; then
		fail "pending, n=$n: restart of checkpoint $first, then --kill: $ck, job $rc: $(cat "$D/kill.out" "$D/r1.out" | head -6)"
		continue
	fi
	(cd / && timeout 150 "$CAIRN" restart "$D/ck" >"$D/r2.out" 2>&1)
	answered $? "$D/r2.out" "pending, n=$n: checkpoint $first restarted from /, checkpointed with --kill ($(cut -c1-40 "$D/kill.out")), restarted again"
done

# --- MPI_Isendrecv and MPI_Isendrecv_replace (tests/mpi/pairs.c) ---
# pairs on the ring and between partners (strided datatypes every other
# time), one freed at once whose receive matches an iteration later, and
# ranks waiting in MPI_Wait on a pair with rank 0 while it computes; each
# completed by every completion call in turn. MPICH's own MPI_Isendrecv
# cannot run this program (wrong statuses, derived datatypes, freeing), so
# the answer to match is an uninterrupted run under cairn; the program
# checks every value and status against what its sender sent. Periodic
# checkpoints and one by command, continued; the --kill one restarted
# from /.
PP=$top/build/tests/mpi/pairs
for n in 2 4; do
	D=$T/pairs$n
	iters=$((n == 2 ? 80 : 50))
	mkdir -p "$D/ref" "$D/a"
	timeout 120 "$CAIRN" mpirun -n $n "$PP" "$D/ref" $iters 150 >"$D/ref.out" 2>&1
	want=$(sed -n 's/^answer //p' "$D/ref.out")
	if [ -z "$want" ] || ! grep -qx ok "$D/ref.out"; then
		fail "pairs, n=$n: the uninterrupted run failed: $(head -5 "$D/ref.out")"
		continue
	fi
	interval_then_kill "$D" $n 1 1.5 "$PP" "$D/a" $iters 150
	if [ $c1 -ne 0 ] || [ $ck -ne 0 ] || [ $rc -ne 0 ] || [ "$nck" -lt 2 ] ||
		grep -q '^answer' "$D/a/run.out"; then
		fail "pairs, n=$n: checkpoints $c1 $ck ($nck periodic), job $rc: $(cat "$D/ck1.out" "$D/kill.out" "$D/a/run.out" | head -6)"
		continue
	fi
	pass "pairs, n=$n: $((nck + 1)) checkpoints with MPI_Isendrecv pending (by command: $(cut -c1-40 "$D/ck1.out"); by --interval 1), then --kill"
	(cd / && timeout 150 "$CAIRN" restart "$D/ck" >"$D/r.out" 2>&1)
	ref=uninterrupted answered $? "$D/r.out" "pairs, n=$n: restarted from / after --kill"
done

# --- objects made and freed in a loop (tests/mpi/churn.c) ---
# every round makes and frees 10000 datatypes and two groups, keeping a few
# vectors made from freed bases, and 1000 times a duplicate of
# MPI_COMM_WORLD and two splits of it (one leaving the odd ranks out),
# keeping one split made from a freed duplicate, and a communicator made
# from a freed group: the log of object-making calls keeps only what is
# live (or what the live ones were made from), so a later checkpoint is
# hardly bigger than the first (without compaction each rank's log grows
# by about 1.8 MiB a round, about 110 KiB with communicators kept); the
# --kill checkpoint restarted from / uses every kept vector and
# communicator to the native answer
CH=$top/build/tests/mpi/churn
D=$T/churn
mkdir -p "$D/native" "$D/a"
timeout 120 mpiexec.mpich -n 2 "$CH" "$D/native" 8 10000 1500 1000 >"$D/native.out" 2>&1
want=$(sed -n 's/^answer //p' "$D/native.out")
ckbytes() { cat "$D/ck/ckpt.$1"/rank.* 2>/dev/null | wc -c; }
if [ -z "$want" ] || ! grep -qx ok "$D/native.out"; then
	fail "churn: the native run failed: $(head -5 "$D/native.out")"
else
	MPIRUN_OPTS="--keep 10" interval_then_kill "$D" 2 0 4 "$CH" "$D/a" 8 10000 1500 1000
	s1=$(ckbytes 1) s2=$(ckbytes 2)
	if [ $c1 -ne 0 ] || [ $ck -ne 0 ] || [ $rc -ne 0 ] || grep -q '^answer' "$D/a/run.out"; then
		fail "churn: checkpoints $c1 $ck, job $rc: $(cat "$D/ck1.out" "$D/kill.out" "$D/a/run.out" | head -6)"
	elif [ "$s2" -gt $((s1 + 131072)) ]; then
		fail "churn: the log of objects grew: checkpoint 1 $s1 bytes, checkpoint 2 (rounds later) $s2"
	else
		pass "churn: checkpoint 1 $((s1 / 1024)) KiB, checkpoint 2 after more rounds of 10000 types and 3000 communicators made and freed $((s2 / 1024)) KiB"
		(cd / && timeout 150 "$CAIRN" restart "$D/ck" >"$D/r.out" 2>&1)
		answered $? "$D/r.out" "churn: restarted from the --kill checkpoint, every kept vector and communicator used"
	fi
fi

# --- faults (2 ranks) ---
n=2
D=$T/faults
mkdir -p "$D/native" "$D/a" "$D/b" "$D/c"
timeout 120 mpiexec.mpich -n $n "$P" "$D/native" "$STEPS" objects >"$D/native.out" 2>&1
want=$(sed -n 's/^answer //p' "$D/native.out")
timeout 150 "$CAIRN" mpirun --dir "$D/ck" --interval 1 -n $n "$P" "$D/a" "$STEPS" objects \
	>"$D/a/run.out" 2>&1 &
job=$!
wait_ready "$D/a" $n
coordinator "$D/ck" >/dev/null
sleep 2.5
"$CAIRN" checkpoint --kill "$D/ck" >"$D/kill.out" 2>&1
wait $job
rc=$?
last=$(readlink "$D/ck/latest")
if [ $rc -eq 0 ] && [ "${last#ckpt.}" -ge 3 ] && grep -q "cairn: checkpoint 1 of the job" "$D/a/run.out"; then
	pass "--interval 1: periodic checkpoints ($(grep -c '^cairn: checkpoint' "$D/a/run.out") before the --kill one, $last)"
else
	fail "--interval 1: status $rc, latest $last: $(head -5 "$D/a/run.out")"
fi

# a corrupt image: refused before anything is launched, naming the rank
cp -a "$D/ck" "$D/bad"
img=$D/bad/$last/rank.1
printf 'X' | dd of="$img" bs=1 seek=$(($(stat -c %s "$img") / 2)) conv=notrunc 2>/dev/null
start=$(date +%s%N)
"$CAIRN" restart "$D/bad" >"$D/bad.out" 2>&1
rc=$?
if [ $rc -eq 125 ] && grep -q 'rank 1:' "$D/bad.out" && ! grep -q '^answer' "$D/bad.out" &&
	! grep -q 'restarting checkpoint' "$D/bad.out"; then
	pass "a corrupt rank image is refused before launching: $(head -1 "$D/bad.out" | cut -c1-140)"
else
	fail "corrupt image: status $rc: $(head -4 "$D/bad.out")"
fi
# an image replaced by another rank's: the manifest's identity differs
cp -a "$D/ck" "$D/swap"
cp "$D/swap/$last/rank.0" "$D/swap/$last/rank.1"
"$CAIRN" restart "$D/swap" >"$D/swap.out" 2>&1
rc=$?
if [ $rc -eq 125 ] && grep -q 'rank 1: .*not the image the checkpoint recorded' "$D/swap.out"; then
	pass "a rank image swapped for another is refused, naming rank 1"
else
	fail "swapped image: status $rc: $(head -4 "$D/swap.out")"
fi
# a manifest cut short
cp -a "$D/ck" "$D/cut"
head -c 60 "$D/ck/$last/MANIFEST" >"$D/cut/$last/MANIFEST"
"$CAIRN" restart "$D/cut" >"$D/cut.out" 2>&1
rc=$?
if [ $rc -eq 125 ] && grep -q 'incomplete or damaged' "$D/cut.out"; then
	pass "a manifest cut short is refused: $(head -1 "$D/cut.out" | cut -c1-120)"
else
	fail "cut manifest: status $rc: $(head -4 "$D/cut.out")"
fi
# the wrong number of ranks
"$CAIRN" restart -n 3 "$D/ck" >"$D/n3.out" 2>&1
rc=$?
if [ $rc -eq 125 ] && grep -q 'has 2 ranks; the launcher options ask for 3' "$D/n3.out"; then
	pass "restart with the wrong number of ranks is refused: $(head -1 "$D/n3.out")"
else
	fail "wrong rank count: status $rc: $(head -4 "$D/n3.out")"
fi
# a rank started by hand under a launcher of the wrong size
CAIRN_TEST_DIR=$D timeout 60 mpiexec.mpich -n 3 "$CAIRN" restart --job-rank "$D/ck/$last" \
	>"$D/hand.out" 2>&1
if grep -q 'the launcher started 3 ranks; the checkpoint has 2' "$D/hand.out"; then
	pass "a rank restarted under a launcher of 3 ranks refuses"
else
	fail "by hand, 3 ranks: $(head -4 "$D/hand.out")"
fi

# a rank killed during a checkpoint: abandoned; the previous one restarts
timeout 150 "$CAIRN" mpirun --dir "$D/k" -n $n "$P" "$D/b" "$STEPS" objects >"$D/b/run.out" 2>&1 &
job=$!
wait_ready "$D/b" $n
coordinator "$D/k" >/dev/null
"$CAIRN" checkpoint "$D/k" >"$D/k1.out" 2>&1
kill -STOP "$(cat "$D/b/ready.1")"
"$CAIRN" checkpoint "$D/k" >"$D/k2.out" 2>&1 &
ckjob=$!
sleep 0.5
kill -9 "$(cat "$D/b/ready.1")"
wait $ckjob
ck=$?
wait $job
if [ $ck -ne 0 ] && grep -q 'abandoned: .*rank 1' "$D/k2.out" && [ "$(readlink "$D/k/latest")" = ckpt.1 ] &&
	[ -z "$(ls -d "$D"/k/*.partial 2>/dev/null)" ]; then
	pass "a rank killed during checkpoint 2: $(head -1 "$D/k2.out" | cut -c1-110)"
	(cd / && timeout 150 "$CAIRN" restart "$D/k" >"$D/k.out" 2>&1)
	answered $? "$D/k.out" "the previous checkpoint restarts"
else
	fail "rank killed during a checkpoint: $ck: $(cat "$D/k1.out" "$D/k2.out" | head -4); $(ls "$D/k")"
fi

# a rank that cannot be checkpointed (a one-sided window): every rank refuses, the
# message names the rank and the object, no checkpoint is left, the job
# goes on
timeout 150 "$CAIRN" mpirun --dir "$D/h" -n $n "$P" "$D/c" "$STEPS" hold-win >"$D/c/run.out" 2>&1 &
job=$!
wait_ready "$D/c" $n
coordinator "$D/h" >/dev/null
"$CAIRN" checkpoint "$D/h" >"$D/h.out" 2>&1
ck=$?
wait $job
rc=$?
if [ $ck -ne 0 ] && grep -q 'abandoned: rank [01]: .*MPI window' "$D/h.out" &&
	[ -z "$(ls "$D/h" 2>/dev/null | grep ckpt)" ] && [ $rc -eq 0 ] && grep -qx ok "$D/c/run.out"; then
	pass "a rank holding a window: $(head -1 "$D/h.out" | cut -c1-130); the job finished"
else
	fail "hold-win job: checkpoint $ck, job $rc: $(cat "$D/h.out" "$D/c/run.out" | head -5); $(ls "$D/h")"
fi

# not a running job
"$CAIRN" checkpoint "$D/ck" >"$D/none.out" 2>&1
rc=$?
if [ $rc -ne 0 ] && grep -q 'not the directory of a running job' "$D/none.out"; then
	pass "cairn checkpoint DIR of an ended job: $(head -1 "$D/none.out")"
else
	fail "checkpoint of an ended job: $rc $(head -2 "$D/none.out")"
fi
check_end

#!/usr/bin/env bash
# A real MPI application from Debian, built against MPICH and unmodified,
# checkpointed mid-run and restarted to the same result: Yorick's parallel
# interpreter mpy (package yorick-mpy-mpich2, /usr/bin/mpy.mpich2, linked
# with libmpich.so.12). Rank 0 runs a script that, round after round,
# starts a task on every rank (mp_exec), computes its own share, and
# gathers the others' (mp_recv); the answer is printed to 10 digits.
#
# At 2 and 4 ranks: the native answer; then under `cairn mpirun --dir
# --interval 1`, checkpointed by command once rank 0 has finished its first
# round, then with --kill; restarted from another directory, the job ends
# with the native answer. The checkpoints count: the interpreter's whole
# state (its parsed script, variables, the round it was in) is in them.
#
# Prints PASS/FAIL lines; exits non-zero if anything failed.
# Usage: tests/mpi/app.sh   (after make; needs yorick-mpy-mpich2)
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
CAIRN=${CAIRN:-$top/build/bin/cairn}
MPY=${MPY:-/usr/bin/mpy.mpich2}
CHECK_CLEANUP='kill -9 $(jobs -p) 2>/dev/null; wait 2>/dev/null'
. "$top/tests/lib/check.bash"
check_begin mpi/app

if [ ! -x "$MPY" ]; then
	fail "$MPY missing: install yorick-mpy-mpich2 (scripts/deps.sh)"
	exit 1
fi
[ -x "$CAIRN" ] || { fail "$CAIRN missing: run make"; exit 1; }
if ldd "$MPY" | grep -q 'libmpich.so.12'; then
	pass "$MPY is a binary from Debian linked with $(ldd "$MPY" | awk '$1 == "libmpich.so.12" { print $3 }')"
else
	fail "$MPY does not use libmpich.so.12"
	exit 1
fi

# the parallel part, included on every rank
cat >"$T/work.i" <<'EOF'
func work(n, k) {
  x = span(0., 1., n) + mp_rank + k;
  s = 0.0;
  for (i = 1 ; i <= 200 ; i++) { x = sin(x) + 0.5 * cos(x * 1.1); s += sum(x); }
  return s;
}
func step(k) {
  if (mp_rank) mp_send, 0, work(20000, k);
}
EOF
# main ROUNDS: the script rank 0 runs; DIR/ready once a round is done
main() {
	cat <<EOF
mp_include, "$T/work.i";
tot = 0.0;
for (k = 1 ; k <= $1 ; k++) {
  mp_exec, "step, " + pr1(k);
  tot += work(20000, k);
  for (j = 1 ; j < mp_size ; j++) tot += mp_recv(j);
  if (k == 1) { f = create("ready"); write, f, "1"; close, f; }
}
write, format="answer %.10e\n", tot;
EOF
}

for n in 2 4; do
	D=$T/n$n
	rounds=$((n == 2 ? 24 : 20))
	mkdir -p "$D/native" "$D/a"
	main $rounds >"$D/main.i"
	(cd "$D/native" && timeout 120 mpiexec.mpich -n $n "$MPY" -batch "$D/main.i") >"$D/native.out" 2>&1
	want=$(sed -n 's/^answer //p' "$D/native.out")
	if [ -z "$want" ]; then
		fail "n=$n: the native run gave no answer: $(tail -5 "$D/native.out")"
		continue
	fi
	(cd "$D/a" && timeout 150 "$CAIRN" mpirun --dir "$D/ck" --interval 1 -n $n "$MPY" -batch "$D/main.i") \
		>"$D/run.out" 2>&1 &
	job=$!
	for ((i = 0; i < 600; i++)); do [ -s "$D/a/ready" ] && break; sleep 0.05; done
	"$CAIRN" checkpoint "$D/ck" >"$D/ck1.out" 2>&1
	c1=$?
	sleep 1
	"$CAIRN" checkpoint --kill "$D/ck" >"$D/kill.out" 2>&1
	ck=$?
	wait $job
	rc=$?
	nck=$(grep -c '^cairn: checkpoint [0-9]* of the job:' "$D/run.out")
	if [ $c1 -ne 0 ] || [ $ck -ne 0 ] || [ $rc -ne 0 ] || grep -q '^answer' "$D/run.out"; then
		fail "n=$n: checkpoints: $c1, --kill $ck, job $rc: $(cat "$D/ck1.out" "$D/kill.out" "$D/run.out" | head -6)"
		continue
	fi
	pass "n=$n: mpy checkpointed mid-run $((nck + 2)) times (by command, --interval 1, --kill: $(cut -c1-60 "$D/kill.out"))"
	(cd / && timeout 150 "$CAIRN" restart "$D/ck" >"$D/r.out" 2>&1)
	rc=$?
	if [ $rc -eq 0 ] && grep -qx "answer $want" "$D/r.out"; then
		pass "n=$n: mpy restarted from /: the native answer $want"
	else
		fail "n=$n: restart (status $rc), want $want: $(head -6 "$D/r.out")"
	fi
done
check_end

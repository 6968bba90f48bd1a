#!/usr/bin/env bash
# `cairn mpirun` and `cairn run --mpi`: every rank of an unmodified MPICH
# program runs under cairn (its MPI calls land in cairn's libmpich.so.12,
# cairn's runtime is loaded), launcher options pass through, another
# launcher can be named, and a rank that cannot run under cairn's MPI
# support fails the job quickly with a clear message.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
CAIRN=$top/build/bin/cairn
W=$top/build/tests/mpi/where
. "$top/tests/lib/check.bash"
check_begin mpi/mpirun
[ -x "$W" ] || { fail "build/tests/mpi/where missing: run make"; exit 1; }
want() { # N VAR ARGS: the expected lines
	local n=$1 r
	for ((r = 0; r < n; r++)); do
		echo "rank $r/$n sum $((n * (n - 1) / 2)) upper=cairn runtime=yes var=$2 args=$3"
	done
}

for n in 2 4; do
	timeout 120 "$CAIRN" mpirun -n $n "$W" >"$T/out" 2>"$T/err"
	rc=$?
	if [ $rc -eq 0 ] && diff <(want $n - 0) "$T/out" >/dev/null; then
		pass "cairn mpirun -n $n: every rank runs under cairn"
	else
		fail "cairn mpirun -n $n (status $rc): $(cat "$T/out" "$T/err" | head -10)"
	fi
done

timeout 120 mpiexec.mpich -n 2 "$CAIRN" run --mpi "$W" a b >"$T/out" 2>"$T/err"
rc=$?
[ $rc -eq 0 ] && diff <(want 2 - 2) "$T/out" >/dev/null &&
	pass "mpiexec.mpich -n 2 cairn run --mpi PROG ARGS: the same, by hand" ||
	fail "by hand (status $rc): $(cat "$T/out" "$T/err" | head -10)"

timeout 120 mpiexec.mpich -n 2 "$W" >"$T/native" 2>&1
grep -q "upper=mpich runtime=no" "$T/native" && pass "the same binary natively uses MPICH's library (the check can tell)" ||
	fail "native run: $(head -3 "$T/native")"

# with cairn's runtime (which wraps sigaction and keeps signal 64) and
# each lower half: the application's signal handler still runs during
# MPI_Recv, signal 64 stays the runtime's, and under split (the default)
# nothing of the lower half lies outside the window (tests/mpi/halves.c)
H=$top/build/tests/mpi/halves
for lower in "" dlmopen; do
	timeout 120 "$CAIRN" mpirun -n 2 ${lower:+-genv CAIRN_MPI_LOWER $lower} "$H" 200 >"$T/out" 2>"$T/err"
	rc=$?
	want_lower=${lower:-split}
	if [ $rc -eq 0 ] && ! grep -q '^FAIL' "$T/out" && grep -q "^info lower=$want_lower " "$T/out" &&
		grep -q '^ok signal:' "$T/out" && grep -q '^ok ckpt-signal:' "$T/out" &&
		{ [ "$want_lower" != split ] || { grep -q '^ok maps:' "$T/out" && grep -q '^ok fds:' "$T/out"; }; }; then
		pass "cairn mpirun, lower half ${lower:-default (split)}: $(grep -c '^ok' "$T/out") checks of what each half holds, with cairn's runtime"
	else
		fail "halves, lower half ${lower:-default} (status $rc): $(cat "$T/out" "$T/err" | head -10)"
	fi
done

# launcher options with values, then -- before the program
timeout 120 "$CAIRN" mpirun -n 2 -genv CAIRN_TEST_VAR hello -- "$W" x >"$T/out" 2>"$T/err"
rc=$?
[ $rc -eq 0 ] && diff <(want 2 hello 1) "$T/out" >/dev/null &&
	pass "launcher options (-genv NAME VALUE) pass through, -- ends them" ||
	fail "options (status $rc): $(cat "$T/out" "$T/err" | head -10)"
# and without --: the program is found after the option values
timeout 120 "$CAIRN" mpirun -genv CAIRN_TEST_VAR v2 -n 2 "$W" >"$T/out" 2>"$T/err"
rc=$?
[ $rc -eq 0 ] && diff <(want 2 v2 0) "$T/out" >/dev/null &&
	pass "without --, the program is told from the options' values" ||
	fail "no -- (status $rc): $(cat "$T/out" "$T/err" | head -10)"

# another launcher: a wrapper that logs its arguments and runs mpiexec
cat >"$T/mylauncher" <<LAUNCH
#!/bin/sh
printf "%s\\n" "\$*" >"$T/launcher.args"
exec mpiexec.mpich "\$@"
LAUNCH
chmod +x "$T/mylauncher"
timeout 120 "$CAIRN" mpirun --launcher "$T/mylauncher" -n 2 "$W" >"$T/out" 2>"$T/err"
rc=$?
if [ $rc -eq 0 ] && diff <(want 2 - 0) "$T/out" >/dev/null &&
	grep -q -- "^-n 2 $CAIRN run --mpi -- $W\$" "$T/launcher.args"; then
	pass "--launcher CMD: the job goes through the given launcher"
else
	fail "--launcher (status $rc): $(cat "$T/launcher.args" "$T/out" "$T/err" 2>/dev/null | head -10)"
fi

# a rank that is not an MPI program: clear message, quick failure
cat >"$T/plain.c" <<'C'
int main(void) { return 0; }
C
gcc -o "$T/plain" "$T/plain.c"
start=$(date +%s)
timeout 60 "$CAIRN" mpirun -n 2 "$T/plain" >"$T/out" 2>"$T/err"
rc=$?
took=$(($(date +%s) - start))
if [ $rc -ne 0 ] && [ $rc -ne 124 ] && grep -q "does not use an MPI library" "$T/err"; then
	pass "a program without MPI fails the job at once (${took}s, status $rc) saying why"
else
	fail "plain program (status $rc, ${took}s): $(cat "$T/err" | head -5)"
fi
"$CAIRN" run --mpi /bin/sh -c true 2>"$T/err"
rc=$?
[ $rc -eq 125 ] && grep -q "does not use an MPI library" "$T/err" &&
	pass "cairn run --mpi on a non-MPI program: status 125 and a message" ||
	fail "run --mpi /bin/sh (status $rc): $(cat "$T/err")"
"$CAIRN" mpirun -n 2 >"$T/out" 2>"$T/err"
[ $? -eq 125 ] && grep -q "needs a program" "$T/err" && pass "no program: status 125 and a message" ||
	fail "no program: $(cat "$T/err" | head -3)"
check_end

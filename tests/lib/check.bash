# What the test scripts share: a private temporary directory removed at
# exit (with a cleanup hook a script may extend), and the PASS/FAIL lines
# tests/run counts.
#
#   . "$top/tests/lib/check.bash"
#   check_begin mpi/mpirun          # names the lines "PASS mpi/mpirun: ..."
#   pass "what held"; fail "what did not"
#   check_end                       # exit status: 0 only if nothing failed
#
# check_begin sets T (the directory) and fails (the count). A script that
# starts processes sets CHECK_CLEANUP to a command run before T goes.

check_begin() {
	CHECK_NAME=$1
	T=$(mktemp -d "/tmp/cairn-${1//\//-}.XXXXXX") || exit 1
	fails=0
	CHECK_CLEANUP=${CHECK_CLEANUP:-:}
	trap 'eval "$CHECK_CLEANUP"; rm -rf "$T"' EXIT
}

pass() { echo "PASS $CHECK_NAME: $1"; }

fail() {
	echo "FAIL $CHECK_NAME: $1"
	fails=$((fails + 1))
}

check_end() {
	[ "$fails" -eq 0 ]
}

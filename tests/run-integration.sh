#!/bin/sh
# run-integration.sh — run every tests/integration/t*.sh in order; each gets $AUTOCODER (the
# binary under test) and a private temporary directory $TMPDIR_TEST. Fails on the first failure
# and prints the failing test's output.
set -u
# Tests that run make (generated systems) must not inherit the outer make's jobserver, nor
# the compiler and flags of `make sanitize`: a generated system is built as its user builds it
# (its own crash handler's sigaltstack and ASan's cannot both own a thread's signal stack).
unset MAKEFLAGS MFLAGS MAKELEVEL CC CFLAGS LDFLAGS
here=$(cd "$(dirname "$0")" && pwd)
: "${AUTOCODER:?AUTOCODER must point at the binary}"
export AUTOCODER
fail=0
for t in "$here"/integration/t*.sh; do
	[ -e "$t" ] || continue
	name=$(basename "$t")
	TMPDIR_TEST=$(mktemp -d "/tmp/ac-$name.XXXXXX")
	export TMPDIR_TEST
	start=$(date +%s)
	if sh "$t" >"$TMPDIR_TEST/out.log" 2>&1; then
		echo "ok   $name ($(( $(date +%s) - start ))s)"
		rm -rf "$TMPDIR_TEST"
	else
		echo "FAIL $name — output:"
		sed 's/^/    /' "$TMPDIR_TEST/out.log" | tail -n 60
		fail=1
	fi
done
exit $fail

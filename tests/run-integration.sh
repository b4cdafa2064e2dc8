#!/bin/sh
# run-integration.sh — run every tests/integration/t*.sh in order; each gets $AUTOCODER (the
# binary under test) and a private temporary directory $TMPDIR_TEST. Fails on the first failure
# and prints the failing test's output.
set -u
# Tests that run make (generated systems) must not inherit the outer make's jobserver.
unset MAKEFLAGS MFLAGS MAKELEVEL
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

#!/bin/sh
# run-integration.sh — run every tests/integration/t*.sh in order; each gets $AUTOCODER (the
# binary under test) and a private temporary directory $TMPDIR_TEST. Runs them all, prints the
# output of each failing one, and ends with one line "N passed, N failed, N skipped".
#
# Exit statuses of a test: 0 passed; 77 skipped (the test prints why: a missing facility such
# as a Docker engine that cannot start) — printed as SKIP, never as ok; anything else failed.
# Under CI (CI=true) a skip counts as a failure: CI must prove everything.
#
# A test whose header has the line "# ac-test: plain-only" is not repeated under the sanitizers
# (AC_SANITIZE_RUN=1, the second pass of `make test`); the runner says so and counts it apart.
#
# AC_TEST_DB=pg runs the tests on PostgreSQL (tests/lib.sh starts a private server per test);
# a test whose header has a line "# ac-test: sqlite-only WHY" is left out of that pass and
# counted apart. AC_TESTS="t10 t13 ..." runs only the tests whose names start with one of
# those words (both passes).
#
#   tests/run-integration.sh                  run the suite
#   tests/run-integration.sh --self-check     run every test with AUTOCODER=/bin/false and
#                                             fail unless each one fails (not passes, not skips)
set -u
# Tests that run make (generated systems) must not inherit the outer make's jobserver, nor
# the compiler and flags of `make sanitize`: a generated system is built as its user builds it
# (its own crash handler's sigaltstack and ASan's cannot both own a thread's signal stack).
unset MAKEFLAGS MFLAGS MAKELEVEL CC CFLAGS LDFLAGS
here=$(cd "$(dirname "$0")" && pwd)
SKIP_STATUS=77

# Goldens are rewritten only by `make update-golden`, which runs the golden tests itself.
if [ -n "${AC_UPDATE_GOLDEN:-}" ]; then
	echo "run-integration: AC_UPDATE_GOLDEN is set; goldens are rewritten only by make update-golden" >&2
	exit 2
fi

if [ "${1:-}" = "--self-check" ]; then
	# A test that passes (or skips) without the program under test tests nothing.
	export AUTOCODER=/bin/false
	bad=0 n=0
	for t in "$here"/integration/t*.sh; do
		[ -e "$t" ] || continue
		name=$(basename "$t")
		n=$((n + 1))
		TMPDIR_TEST=$(mktemp -d "/tmp/ac-check-$name.XXXXXX")
		export TMPDIR_TEST
		st=0
		timeout 300 sh "$t" >"$TMPDIR_TEST/out.log" 2>&1 || st=$?
		if [ $st -eq 0 ] || [ $st -eq $SKIP_STATUS ]; then
			echo "BAD  $name exits $st with AUTOCODER=/bin/false (it must fail) — output:"
			sed 's/^/    /' "$TMPDIR_TEST/out.log" | tail -n 20
			bad=$((bad + 1))
		else
			echo "ok   $name fails without the program (exit $st)"
		fi
		rm -rf "$TMPDIR_TEST"
	done
	echo "runner self-check: $n tests, $bad pass or skip with AUTOCODER=/bin/false"
	[ $bad -eq 0 ]
	exit
fi

: "${AUTOCODER:?AUTOCODER must point at the binary}"
export AUTOCODER
passed=0 failed=0 skipped=0 notrep=0
for t in "$here"/integration/t*.sh; do
	[ -e "$t" ] || continue
	name=$(basename "$t")
	if [ -n "${AC_TESTS:-}" ]; then
		want=0
		for w in $AC_TESTS; do case "$name" in "$w"*) want=1 ;; esac; done
		[ $want = 1 ] || continue
	fi
	if [ "${AC_TEST_DB:-sqlite}" = pg ] && grep -q '^# ac-test: sqlite-only' "$t"; then
		echo "--   $name ($(grep -m1 '^# ac-test: sqlite-only' "$t" | sed 's/^# ac-test: //'))"
		notrep=$((notrep + 1))
		continue
	fi
	if [ "${AC_SANITIZE_RUN:-0}" = 1 ] && grep -qx '# ac-test: plain-only' "$t"; then
		echo "--   $name (plain-only: proven in the plain pass, not repeated under the sanitizers)"
		notrep=$((notrep + 1))
		continue
	fi
	TMPDIR_TEST=$(mktemp -d "/tmp/ac-$name.XXXXXX")
	export TMPDIR_TEST
	start=$(date +%s)
	st=0
	sh "$t" >"$TMPDIR_TEST/out.log" 2>&1 || st=$?
	secs=$(( $(date +%s) - start ))
	if [ $st -eq 0 ]; then
		echo "ok   $name (${secs}s)"
		passed=$((passed + 1))
		rm -rf "$TMPDIR_TEST"
	elif [ $st -eq $SKIP_STATUS ]; then
		why=$(grep -m1 '^SKIP' "$TMPDIR_TEST/out.log" || echo "SKIP: (no reason printed)")
		if [ "${CI:-}" = true ]; then
			echo "FAIL $name skipped under CI=true (a skip is a failure in CI): $why"
			sed 's/^/    /' "$TMPDIR_TEST/out.log" | tail -n 30
			failed=$((failed + 1))
		else
			echo "SKIP $name (${secs}s): $why"
			skipped=$((skipped + 1))
		fi
	else
		echo "FAIL $name (exit $st) — output:"
		sed 's/^/    /' "$TMPDIR_TEST/out.log" | tail -n 60
		failed=$((failed + 1))
	fi
done
line="$passed passed, $failed failed, $skipped skipped"
if [ "${AC_TEST_DB:-sqlite}" = pg ]; then
	[ $notrep -gt 0 ] && line="$line ($notrep sqlite-only, not run on PostgreSQL)"
else
	[ $notrep -gt 0 ] && line="$line ($notrep plain-only, not repeated under the sanitizers)"
fi
echo "$line"
[ $failed -eq 0 ]

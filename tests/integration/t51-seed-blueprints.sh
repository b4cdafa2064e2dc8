#!/bin/sh
# t51-seed-blueprints.sh — the blueprints the original AutoCoder4_CC's users wrote.
#
# Runs ../shared/blueprints-seed/run.sh (beside the checkout, as in CI; SEED_BLUEPRINTS
# overrides the directory) with this build: every blueprint expected to be accepted must
# validate, generate, build with -Werror, start and answer /health 200; every one expected to
# be rejected must fail validation with a located first error at the expected line and word.
# The test passes only when run.sh reports N/N with N >= 57; files that fail are run once
# more on their own (run.sh's free ports can be taken by another process on a busy machine)
# and must pass then. A missing seed directory is a failure, not a skip.
set -u
: "${AUTOCODER:?}"
here=$(cd "$(dirname "$0")/../.." && pwd)
seed=${SEED_BLUEPRINTS:-$here/../shared/blueprints-seed}
tmp=${TMPDIR_TEST:-$(mktemp -d)}

if [ ! -f "$seed/run.sh" ] || [ ! -f "$seed/expected.tsv" ]; then
	echo "FAIL t51: $seed/run.sh not found: CI checks out 'shared' beside the repository" \
		"(or set SEED_BLUEPRINTS to the blueprints-seed directory)"
	exit 1
fi
case $AUTOCODER in /*) ac=$AUTOCODER ;; *) ac=$(command -v "$AUTOCODER") ;; esac

# Under the sanitizers (make sanitize) the systems' builds and runs would only repeat the plain
# pass (they are compiled by their own Makefile, without the sanitizers): there, every seed goes
# through the sanitized front end alone — validate, and generate when it validates — and any
# exit other than 0/1 (an ASan/UBSan report aborts) or a missing verdict fails the test.
if [ "${AC_SANITIZE_RUN:-0}" = 1 ]; then
	n=0
	grep -v '^#' "$seed/expected.tsv" | cut -f1,2 >"$tmp/list"
	while read -r f want; do
		st=0
		"$ac" validate --json "$seed/$f" >"$tmp/v.json" 2>"$tmp/v.err" </dev/null || st=$?
		case $want:$st in
		accept:0) "$ac" generate "$seed/$f" -o "$tmp/gen-$n" --quiet 2>"$tmp/g.err" </dev/null ||
			{ cat "$tmp/g.err"; echo "FAIL t51: generate $f (sanitized) failed"; exit 1; } ;;
		reject:1) ;;
		*) tail -n 30 "$tmp/v.err"; echo "FAIL t51: validate $f (sanitized) exited $st, expected $want"; exit 1 ;;
		esac
		n=$((n + 1))
	done <"$tmp/list"
	[ "$n" -ge 57 ] || { echo "FAIL t51: only $n seed blueprints listed"; exit 1; }
	echo "t51 ok: $n seed blueprints through the sanitized validate/generate"
	exit 0
fi
TMPDIR=$tmp bash "$seed/run.sh" "$ac" -j 2 -v >"$tmp/seed.tsv" 2>"$tmp/seed.err"
rc=$?
last=$(tail -n 1 "$tmp/seed.tsv")
echo "$last"
pass=$(printf '%s\n' "$last" | sed -n 's/^seed-blueprints: \([0-9]*\)\/\([0-9]*\) pass$/\1/p')
total=$(printf '%s\n' "$last" | sed -n 's/^seed-blueprints: \([0-9]*\)\/\([0-9]*\) pass$/\2/p')
if [ -z "$pass" ] || [ "$total" -lt 57 ]; then
	tail -n 60 "$tmp/seed.err" | sed 's/^/  /'
	echo "FAIL t51: run.sh printed no N/M line with M >= 57 (exit $rc)"
	exit 1
fi
if [ "$pass" != "$total" ]; then
	# run.sh picks free ports and releases them before the system binds them; on a busy
	# machine another process can take one in between. Failed files get one more run, in a
	# copy of the seed directory holding only them; a real defect fails twice.
	grep -v '^PASS' "$tmp/seed.tsv" | sed 's/^/  /'
	mkdir -p "$tmp/again"
	cp "$seed/run.sh" "$tmp/again/"
	grep '^#' "$seed/expected.tsv" >"$tmp/again/expected.tsv"
	grep '^FAIL' "$tmp/seed.tsv" | cut -f2 | while read -r f; do
		grep -F "$f	" "$seed/expected.tsv" >>"$tmp/again/expected.tsv"
		cp "$seed/$f" "$tmp/again/"
	done
	TMPDIR=$tmp bash "$tmp/again/run.sh" "$ac" -j 1 -v >"$tmp/again.tsv" 2>"$tmp/again.err"
	again=$(tail -n 1 "$tmp/again.tsv")
	echo "retry of the failed files: $again"
	a_pass=$(printf '%s\n' "$again" | sed -n 's/^seed-blueprints: \([0-9]*\)\/\([0-9]*\) pass$/\1/p')
	a_total=$(printf '%s\n' "$again" | sed -n 's/^seed-blueprints: \([0-9]*\)\/\([0-9]*\) pass$/\2/p')
	if [ -z "$a_pass" ] || [ "$a_pass" != "$a_total" ] || [ "$a_total" != $((total - pass)) ]; then
		grep -v '^PASS' "$tmp/again.tsv" | sed 's/^/  /'
		tail -n 60 "$tmp/again.err" | sed 's/^/  /'
		echo "FAIL t51: $((total - pass)) seed blueprints failed, and failed again"
		exit 1
	fi
fi
echo "t51 ok"

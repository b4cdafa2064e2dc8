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

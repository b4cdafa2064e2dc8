#!/bin/sh
# t51-seed-blueprints.sh — the blueprints the original AutoCoder4_CC's users wrote.
#
# Runs ../shared/blueprints-seed/run.sh (beside the checkout, as in CI; SEED_BLUEPRINTS
# overrides the directory) with this build: every blueprint expected to be accepted must
# validate, generate, build with -Werror, start and answer /health 200; every one expected to
# be rejected must fail validation with a located first error at the expected line and word.
# The test passes only when run.sh reports N/N with N >= 57. A missing seed directory is a
# failure, not a skip.
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
if [ "$rc" != 0 ] || [ -z "$pass" ] || [ "$pass" != "$total" ] || [ "$total" -lt 57 ]; then
	grep -v '^PASS' "$tmp/seed.tsv" | sed 's/^/  /'
	tail -n 60 "$tmp/seed.err" | sed 's/^/  /'
	echo "FAIL t51: run.sh exit $rc, want every seed blueprint to pass"
	exit 1
fi
echo "t51 ok"

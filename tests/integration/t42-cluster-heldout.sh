#!/bin/sh
# t42-cluster-heldout.sh — grouping accuracy of `autocoder cluster` on logs it was not tuned
# on: tests/data/heldout holds 12 labelled files in the shapes of other log sources (written by
# bench/heldout_gen.py from invented templates; see docs/RULES.md). One default configuration
# for all of them; the mean GA must reach issue 12's goal of 0.95 (measured 0.961), and no file
# may fall below 0.80 (the worst measured is 0.85).
set -eu
here=$(cd "$(dirname "$0")/../.." && pwd)
HELDOUT=$here/tests/data/heldout python3 "$here/bench/heldout.py" --min-mean 0.95 \
	| tee "$TMPDIR_TEST/ga.txt"
[ "$(grep -c '^[A-Z]' "$TMPDIR_TEST/ga.txt")" -ge 12 ]
awk 'NR>1 && $1 != "mean" && $2 < 0.80 { print "GA of " $1 " is " $2; bad=1 } END { exit bad }' \
	"$TMPDIR_TEST/ga.txt"
# The second held-out-style set (tests/data/heldout2: 8 sources written before issue 12's second
# round and not tuned on, labelled by the sources' format strings; see docs/RULES.md): measured
# mean 0.601 (0.567 before that round); the floor guards against regressions, not a goal.
HELDOUT=$here/tests/data/heldout2 python3 "$here/bench/heldout.py" --min-mean 0.58 \
	| tee "$TMPDIR_TEST/ga2.txt"
[ "$(grep -c '^[A-Z]' "$TMPDIR_TEST/ga2.txt")" -ge 8 ]

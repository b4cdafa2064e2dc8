#!/bin/bash
# tests/mutations.sh — does the suite catch the bugs a user would notice? (`make test-mutations`)
#
# Copies the tree (tracked and untracked, not ignored files) to a scratch directory under /tmp,
# builds it once, runs the relevant tests on the unchanged copy (they must pass), then plants
# one bug at a time: an exact text replacement in one source file (the script fails loudly when
# the text is no longer there — anchor on stable names, keep patterns minimal), an incremental
# rebuild, and only the tests relevant to that bug. A mutation that every one of its tests
# passes is "SURVIVED" and fails the script. The file is restored before the next mutation.
#
#   tests/mutations.sh            all mutations
#   tests/mutations.sh NAME...    only these (see the list at the bottom)
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -euo pipefail
unset MAKEFLAGS MFLAGS MAKELEVEL CC CFLAGS LDFLAGS
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/ac-mutations.XXXXXX)
keep=${KEEP:-0}
cleanup() { [ "$keep" = 1 ] && echo "scratch copy kept in $work" || rm -rf "$work"; }
trap cleanup EXIT
src=$work/src
mkdir -p "$src"
(cd "$root" && git ls-files -z -co --exclude-standard) |
	(cd "$root" && xargs -0 cp --parents -t "$src" 2>/dev/null) || true
[ -f "$src/Makefile" ] && [ -f "$src/collector/writer.c" ] || { echo "copy of the tree failed" >&2; exit 1; }
cp -r "$root/tests/clients/node_modules" "$src/tests/clients/" 2>/dev/null || true

build() { make -C "$src" -s -j2 >"$work/build.log" 2>&1 || { tail -n 30 "$work/build.log"; return 1; }; }
echo "== building the scratch copy in $src"
build || { echo "the unchanged copy does not build" >&2; exit 1; }
BIN=$src/build/autocoder

# run_test NAME: one integration test against the scratch binary; 0 when it passes.
# A name starting with check_ is a Check unit suite, rebuilt against the mutated library.
run_test() {
	local t d st=0
	d=$(mktemp -d "$work/$1.XXXXXX")
	LAST_LOG=$d/out.log
	case $1 in
	check_*)
		{ make -C "$src" -s "build/tests/$1" && CK_FORK=yes "$src/build/tests/$1"; } \
			>"$d/out.log" 2>&1 || st=$?
		return $st ;;
	esac
	t=$(ls "$src"/tests/integration/"$1"-*.sh)
	AUTOCODER=$BIN BUILD=$src/build TMPDIR_TEST=$d timeout 600 sh "$t" >"$d/out.log" 2>&1 || st=$?
	return $st
}

# mutate FILE OLD NEW: replace the one occurrence of OLD in FILE (literal text) by NEW.
mutate() {
	python3 - "$src/$1" "$2" "$3" <<'PY'
import sys
path, old, new = sys.argv[1], sys.argv[2].encode().decode("unicode_escape"), sys.argv[3].encode().decode("unicode_escape")
s = open(path).read()
n = s.count(old)
if n != 1:
    sys.exit("mutation no longer applies: %r occurs %d times in %s (update tests/mutations.sh)" % (old, n, path))
open(path, "w").write(s.replace(old, new))
PY
}

restore() { cp "$root/$1" "$src/$1"; }  # a fresh mtime: the next build recompiles it

survived=0 caught=0 broken=0
# plant NAME "TESTS" FILE OLD NEW [FILE OLD NEW ...]
plant() {
	local name=$1 tests=$2 files=() t hit=""
	shift 2
	echo "== mutation $name (tests: $tests)"
	while [ $# -gt 0 ]; do
		if ! mutate "$1" "$2" "$3"; then
			broken=$((broken + 1)); restore "$1"; for f in "${files[@]}"; do restore "$f"; done
			return 0
		fi
		files+=("$1"); shift 3
	done
	if ! build; then
		echo "BROKEN $name: the mutated copy does not build"; broken=$((broken + 1))
	else
		for t in $tests; do
			if ! run_test "$t"; then
				hit="$hit $t"
				echo "   $t: $(grep -m1 -E 'FAIL|rror|labels for|below the floor' "$LAST_LOG" | cut -c1-160)"
			fi
		done
		if [ -n "$hit" ]; then
			echo "caught $name by:$hit"; caught=$((caught + 1))
		else
			echo "SURVIVED $name: $tests all pass with the bug planted"; survived=$((survived + 1))
		fi
	fi
	for f in "${files[@]}"; do restore "$f"; done
}

want() { [ ${#only[@]} -eq 0 ] && return 0; local n; for n in "${only[@]}"; do [ "$n" = "$1" ] && return 0; done; return 1; }
only=("$@")

# The tests the mutations rely on must pass on the unchanged copy first.
baseline="t23 t40 t42 t86 check_miner"
echo "== baseline: $baseline on the unchanged copy"
for t in $baseline; do
	run_test "$t" || { tail -n 30 "$LAST_LOG"; echo "baseline $t fails on the unchanged tree" >&2; exit 1; }
done

want sync-off && plant sync-off "t23" \
	core/db.c '"PRAGMA synchronous=FULL"' '"PRAGMA synchronous=OFF"'
# the 2xx after the INSERTs but before COMMIT: the group's COMMIT moves after the replies
want reply-before-commit && plant reply-before-commit "t23" \
	collector/writer.c 'if (exec_retry(w, CTL_COMMIT) != AC_SQL_OK) {' 'if (0) {' \
	collector/writer.c '\t\ttop_up_checkpoint(w);\n' '\t\texec_retry(w, CTL_COMMIT);\n\t\ttop_up_checkpoint(w);\n'
want labels-short && plant labels-short "t40" \
	cmd/cluster.c 'for (size_t i = 0; i < l->n; i++)\n\t\tprintf("%ld\\n", l->id[i]);' \
	'for (size_t i = 0; i + 1 < l->n; i++)\n\t\tprintf("%ld\\n", l->id[i]);'
want prefix-route && plant prefix-route "t86" \
	generator/runtime/rt_api.c '!strncmp(url, st->collection, cl) && (url[cl] == 0 || url[cl] == '"'"'/'"'"')' \
	'!strncmp(url, st->collection, cl)'
# Word differences are decided by the family statistics now, so the threshold matters for lines
# that differ in tokens that are not words (check_miner's half_similar_lines_stay_apart).
want miner-threshold && plant miner-threshold "check_miner t40" \
	analyzer/miner.h '#define MINER_DEFAULT_THRESHOLD 0.7' '#define MINER_DEFAULT_THRESHOLD 0.5'
# a position becomes variable after two distinct words instead of four: held-out-style GA falls
want miner-family && plant miner-family "t42" \
	analyzer/miner.c '#define FAMILY_VARIABLE_VALUES 4' '#define FAMILY_VARIABLE_VALUES 2'

echo "mutations: $caught caught, $survived survived, $broken no longer apply or do not build"
[ $survived -eq 0 ] && [ $broken -eq 0 ]

#!/bin/sh
# t43-rules-negative.sh — rule precision on logs where the rules mostly must NOT fire: the
# loghub development set (8,000 lines of HDFS, Hadoop, Zookeeper, OpenSSH) and ordinary
# application logs (tests/data/rules/app-logs.jsonl, non-generated systems with components).
# `rules test --negative` fails on any rule firing on a line tests/data/rules/expected.txt does
# not list (a false positive) and on a listed line that no rule, or another rule, takes.
# Issue 12: autocoder.port-conflict matched any event with a component.
set -eu
here=$(cd "$(dirname "$0")/../.." && pwd)
loghub=${LOGHUB:-$here/data/loghub}
if [ ! -f "$loghub/HDFS_2k.log" ]; then
	echo "loghub development set not found (set LOGHUB)"; exit 1
fi
"$AUTOCODER" rules test "$here/rules" --negative "$loghub/HDFS_2k.log" "$loghub/Hadoop_2k.log" \
	"$loghub/Zookeeper_2k.log" "$loghub/OpenSSH_2k.log" "$here/tests/data/rules/app-logs.jsonl" \
	--expect "$here/tests/data/rules/expected.txt" > "$TMPDIR_TEST/out.txt"
cat "$TMPDIR_TEST/out.txt"
grep -q '^negative corpus: 80[0-9][0-9] events, .* 0 false positives, 0 missed; precision 100.0%$' \
	"$TMPDIR_TEST/out.txt"
grep -q 'autocoder.port-conflict .*precision 100.0% (1 correct, 0 false)' "$TMPDIR_TEST/out.txt"
# a rule that fires on a component alone is caught: the corpus line from nginx would be taken
sed 's/^      logger: .^(?:APIEndpoint.*$/      component: '"'"'\\S'"'"'/' "$here/rules/autocoder.yaml" \
	> "$TMPDIR_TEST/autocoder.yaml"
grep -q "component: '\\\\S'" "$TMPDIR_TEST/autocoder.yaml"
mkdir "$TMPDIR_TEST/rules"
cp "$here"/rules/*.yaml "$TMPDIR_TEST/rules/"
cp "$TMPDIR_TEST/autocoder.yaml" "$TMPDIR_TEST/rules/autocoder.yaml"
if "$AUTOCODER" rules test "$TMPDIR_TEST/rules" --negative "$here/tests/data/rules/app-logs.jsonl" \
	--expect "$here/tests/data/rules/expected.txt" > "$TMPDIR_TEST/bad.txt"; then
	echo "the imprecise rule was not caught"; exit 1
fi
grep -q 'app-logs.jsonl:3: false positive: autocoder.port-conflict fired, expected posix.addr-in-use' \
	"$TMPDIR_TEST/bad.txt"

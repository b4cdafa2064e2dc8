#!/bin/sh
# t30-rules.sh — the shipped rule packs load and pass their own examples; broken packs in
# tests/golden/rules/ give exactly the diagnostics in their .expected files (check-*: any name,
# `rules check`; test-*: `rules test`); `rules match` and `rules list` work end to end.
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
ac=${AUTOCODER:?}
tmp=${TMPDIR_TEST:?}
fail() { echo "FAIL: $*"; exit 1; }

echo "== rules check / test on rules/"
"$ac" rules check --strict "$root/rules" | tee "$tmp/check.out"
grep -q '^ok: ' "$tmp/check.out" || fail "check did not say ok"
n=$(sed -n 's/^ok: \([0-9]*\) rules.*/\1/p' "$tmp/check.out")
[ "$n" -ge 40 ] || fail "only $n rules shipped"
"$ac" rules test "$root/rules" | tee "$tmp/test.out"
grep -q ': 0 failures$' "$tmp/test.out" || fail "shipped examples fail"

echo "== golden diagnostics"
cd "$root/tests/golden/rules"
for f in *.yaml; do
	name=${f%.yaml}
	case $name in test-*) sub=test ;; strict-*) sub="check --strict" ;; *) sub=check ;; esac
	set +e
	"$ac" rules $sub "$f" >"$tmp/$name.out" 2>&1
	echo "exit $?" >>"$tmp/$name.out"
	set -e
	if ! diff -u "$name.expected" "$tmp/$name.out"; then
		fail "golden $f differs"
	fi
	echo "ok golden $f"
done
cd "$root"

echo "== rules match"
"$ac" rules match rules --message 'bind 0.0.0.0:8080: Address already in use' >"$tmp/m1"
grep -q '^rule: posix.addr-in-use ' "$tmp/m1" || fail "addr-in-use not matched"
grep -q '^  port: 8080$' "$tmp/m1" || fail "port not captured"
grep -q "ss -ltnp" "$tmp/m1" || fail "fix command missing"

printf '%s' '{"message":"","level":"error","exception":{"type":"KeyError","value":"'"'"'user_id'"'"'","frames":[{"function":"handler","file":"app.py","line":3,"in_app":true}]}}' |
	"$ac" rules match rules --json >"$tmp/m2"
python3 - "$tmp/m2" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
assert m["id"] == "python.key-error", m["id"]
assert m["captures"]["key"] == "'user_id'", m["captures"]
PY

# A generated component's port conflict is more specific than the generic POSIX rule; a
# component of a system that was not generated (no component-type logger) gets the POSIX rule.
echo '{"message":"bind 0.0.0.0:8080: Address already in use","component":"api","system":"todo","logger":"APIEndpoint"}' |
	"$ac" rules match rules | grep -q '^rule: autocoder.port-conflict ' || fail "component rule not preferred"
echo '{"message":"bind 0.0.0.0:8080: Address already in use","component":"nginx","system":"edge"}' |
	"$ac" rules match rules | grep -q '^rule: posix.addr-in-use ' || fail "port-conflict taken by a non-generated component"

# The event a generated system ships when its API cannot bind (runtime: rt_core.c/rt_api.c).
echo '{"message":"component failed to start","level":"error","kind":"error","system":"todo","component":"api","logger":"APIEndpoint","context":{"error":"cannot listen on 0.0.0.0:8080"}}' |
	"$ac" rules match rules --json >"$tmp/m6"
python3 - "$tmp/m6" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
assert m["id"] == "autocoder.port-conflict", m["id"]
assert m["captures"] == {"host": "0.0.0.0", "listen_port": "8080"}, m["captures"]
assert any(f.get("command", "").startswith("ss -ltnp") for f in m["fix"]), m["fix"]
PY

set +e
"$ac" rules match rules --message 'all quiet on the western front' >"$tmp/m3"; rc=$?
echo 'not json' | "$ac" rules match rules >/dev/null 2>"$tmp/m4"; rc2=$?
"$ac" rules frobnicate rules 2>/dev/null; rc3=$?
"$ac" rules check 2>/dev/null; rc4=$?
"$ac" rules check "$tmp/no-such-dir" 2>"$tmp/m5"; rc5=$?
set -e
[ $rc -eq 1 ] && grep -q 'no rule matched' "$tmp/m3" || fail "no-match should exit 1"
[ $rc2 -eq 1 ] && grep -q 'stdin' "$tmp/m4" || fail "bad JSON should exit 1 naming stdin"
[ $rc3 -eq 2 ] || fail "unknown subcommand should exit 2"
[ $rc4 -eq 2 ] || fail "missing path should exit 2"
[ $rc5 -eq 1 ] && grep -q 'no-such-dir' "$tmp/m5" || fail "missing dir should exit 1 naming it"

printf '%s\n' 'all good' 'connect to 10.0.0.1:5432 failed: Connection refused' '2015-07-29 19:03:35,413 - INFO ok' \
	'FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory' >"$tmp/app.log"
"$ac" rules match rules --input "$tmp/app.log" >"$tmp/lines" 2>"$tmp/lines.err"
printf '%s\n' "$tmp/app.log:2: posix.connection-refused" "$tmp/app.log:4: node.heap-out-of-memory" | diff -u - "$tmp/lines" ||
	fail "line labels differ"

echo "== rules suggest"
"$ac" rules suggest --id local.block --template 'Received block <*> of size <NUM> from /<IP>' \
	--example 'Received block blk_-16 of size 91178 from /10.250.10.6' >"$tmp/suggest.yaml"
mkdir -p "$tmp/sugg"
{ echo "rules:"; cat "$tmp/suggest.yaml"; } >"$tmp/sugg/local.yaml"
"$ac" rules test "$tmp/sugg" | grep -q ': 0 failures$' || fail "suggested rule does not pass its example"
"$ac" rules match "$tmp/sugg" --message 'Received block blk_9 of size 7 from /10.0.0.1' | grep -q '^rule: local.block ' ||
	fail "suggested rule does not match another instance"
set +e
"$ac" rules suggest --template 'disk <*> full' --example 'all good' 2>"$tmp/sugg.err"; rc=$?
set -e
[ $rc -eq 1 ] && grep -q 'does not match the example' "$tmp/sugg.err" || fail "mismatching suggestion should fail"

echo "== rules list"
"$ac" rules list rules --markdown >"$tmp/list.md"
rows=$(grep -c '^| `' "$tmp/list.md")
[ "$rows" -eq "$n" ] || fail "markdown lists $rows rules, expected $n"
"$ac" rules list rules --json | python3 -c 'import json,sys; r=json.load(sys.stdin); assert all(x["causes"] and x["fix"] for x in r)'
sed -n '/<!-- rules-table:start -->/,/<!-- rules-table:end -->/p' docs/RULES.md | sed '1d;$d' >"$tmp/doc-table.md"
diff -u "$tmp/doc-table.md" "$tmp/list.md" || fail "docs/RULES.md's pack table is stale: regenerate it with 'autocoder rules list rules --markdown'"
echo "all rules checks passed"

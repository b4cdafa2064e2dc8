#!/bin/sh
# t34 — real faults prove the guide: a catalogue error names file:line:column; one fault of
# the shipped catalogue (truncated JSON posted to a generated todo_api) is injected with
# `autocoder faults run`, its events reach the run's collector through the system's own
# shipper and are clustered with json.parse-error; the outcome is stored (faults list) and the
# guide of another database marks the rule "validated by fault injection on DATE (n events)".
# A catalogue whose recipe no longer causes the fault makes the next run fail, and the guide
# flags the entry STALE. (The whole catalogue, >= 8 rules, runs in `make test-faults`.)
# ac-test: sqlite-only (reads the database with python's sqlite3)
. "$(dirname "$0")/../lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
unset MAKEFLAGS MFLAGS MAKELEVEL CC CFLAGS LDFLAGS

# catalogue errors: file:line:column, exit 1
mkdir -p "$TMPDIR_TEST/bad"
printf 'faults:\n  - id: x\n    rule: json.parse-error\n    injct: true\n' >"$TMPDIR_TEST/bad/a.yaml"
st=0
"$AUTOCODER" faults check --catalogue "$TMPDIR_TEST/bad" --rules "$ROOT/rules" 2>"$TMPDIR_TEST/bad.err" || st=$?
[ $st = 1 ] || fail "bad catalogue: exit $st"
grep -q "a.yaml:4:5: unknown key 'injct'" "$TMPDIR_TEST/bad.err" || fail "no file:line:column: $(cat "$TMPDIR_TEST/bad.err")"
printf 'faults:\n  - id: y\n    rule: no.such-rule\n    inject: "true"\n' >"$TMPDIR_TEST/bad/a.yaml"
"$AUTOCODER" faults check --catalogue "$TMPDIR_TEST/bad" --rules "$ROOT/rules" 2>"$TMPDIR_TEST/bad.err" && fail "unknown rule accepted"
grep -q "a.yaml:2:5: fault 'y': rule 'no.such-rule' is not in the loaded rule packs" "$TMPDIR_TEST/bad.err" || fail "unknown rule: $(cat "$TMPDIR_TEST/bad.err")"
(cd "$ROOT" && "$AUTOCODER" faults check) >/dev/null || fail "the shipped catalogue does not load"
pass "catalogue errors name file:line:column"

# the guide's database has a json.parse-error cluster
start_server --rules "$ROOT/rules"
create_key web
printf '{"message":"invalid JSON body","level":"warn","system":"web"}\n' >"$TMPDIR_TEST/ev.ndjson"
"$AUTOCODER" send --dsn "$DSN" --no-state --no-progress "$TMPDIR_TEST/ev.ndjson" >/dev/null || fail "send"
i=0
until [ -n "$(sql "SELECT id FROM clusters WHERE rule_id = 'json.parse-error'")" ]; do
	i=$((i + 1)); [ $i -lt 200 ] || fail "not clustered"
	sleep 0.1
done
(cd "$ROOT" && "$AUTOCODER" guide --db "$DB" --rules rules) | grep -q "not yet validated by fault injection" || fail "guide before any run"

# inject the fault for real
(cd "$ROOT" && "$AUTOCODER" faults run --fault malformed-api-input --db "$DB" --work "$TMPDIR_TEST/work" --keep) \
	>"$TMPDIR_TEST/run1.out" 2>&1 || fail "faults run: $(cat "$TMPDIR_TEST/run1.out")"
grep -q "malformed-api-input .*json.parse-error .*validated" "$TMPDIR_TEST/run1.out" || fail "run1: $(cat "$TMPDIR_TEST/run1.out")"
"$AUTOCODER" faults list --db "$DB" --json >"$TMPDIR_TEST/list.json" || fail "faults list"
python3 - "$TMPDIR_TEST/list.json" "$TMPDIR_TEST/work/collector.db" <<'PY' || fail "stored run"
import json, sqlite3, sys
runs = json.load(open(sys.argv[1]))["runs"]
assert len(runs) == 1, runs
r = runs[0]
assert r["fault"] == "malformed-api-input" and r["rule"] == "json.parse-error", r
assert r["outcome"] == "validated" and r["system"] == "todo_api" and r["version"], r
assert r["events"] >= 1 and len(r["evidence"]) == min(r["events"], 20), r
db = sqlite3.connect(sys.argv[2])
for eid in r["evidence"]:
    row = db.execute("SELECT e.message, g.rule_id FROM events e JOIN event_grouping g ON g.event = e.id "
                     "WHERE e.event_id = ?", (eid,)).fetchone()
    assert row == ("invalid JSON body", "json.parse-error"), (eid, row)
PY
today=$(date -u +%Y-%m-%d)
(cd "$ROOT" && "$AUTOCODER" guide --db "$DB" --rules rules) >"$TMPDIR_TEST/g1.md"
grep -Eq "validated by fault injection on $today \([0-9]+ events?, fault malformed-api-input\)" "$TMPDIR_TEST/g1.md" ||
	fail "guide after the run: $(grep -n Validation "$TMPDIR_TEST/g1.md")"
pass "fault run validated json.parse-error; the guide says so"

# the recipe no longer causes the fault: the run fails and the guide flags the entry stale
mkdir -p "$TMPDIR_TEST/cat"
cp "$ROOT/data/faults/lib.sh" "$TMPDIR_TEST/cat/"
cat >"$TMPDIR_TEST/cat/c.yaml" <<YAML
faults:
  - id: malformed-api-input
    rule: json.parse-error
    blueprint: $ROOT/data/blueprints/todo_api.yaml
    inject: |
      start_system API_PORT=\$PORT && wait_http "http://127.0.0.1:\$PORT/health"
      post /todos '{"title": "well formed"}' >/dev/null
      stop_system
YAML
st=0
"$AUTOCODER" faults run --catalogue "$TMPDIR_TEST/cat" --rules "$ROOT/rules" --db "$DB" \
	--work "$TMPDIR_TEST/work" >"$TMPDIR_TEST/run2.out" 2>&1 || st=$?
[ $st = 1 ] || fail "a fault that no longer fires must fail the run (exit $st): $(cat "$TMPDIR_TEST/run2.out")"
grep -q "FAILED" "$TMPDIR_TEST/run2.out" || fail "run2 output: $(cat "$TMPDIR_TEST/run2.out")"
(cd "$ROOT" && "$AUTOCODER" guide --db "$DB" --rules rules) >"$TMPDIR_TEST/g2.md"
grep -q "STALE: the newest run of fault malformed-api-input no longer produces this rule (last validated $today)" \
	"$TMPDIR_TEST/g2.md" || fail "no stale flag: $(grep -n Validation "$TMPDIR_TEST/g2.md")"
[ "$("$AUTOCODER" faults list --db "$DB" | grep -c malformed-api-input)" = 2 ] || fail "two runs listed"
pass "a fault that stopped producing its rule flags the guide entry stale"
stop_server
echo "t34 ok"

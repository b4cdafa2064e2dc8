#!/bin/sh
# run-faults.sh — `make test-faults`: the whole fault catalogue (data/faults) against real
# generated systems (todo_api, event_pipeline, slow_stage) with a real collector. Every fault
# must be validated — its events clustered with the expected rule attached — and every fix
# recipe must make the system recover; at least 14 distinct rules; `faults list` shows the
# outcomes, the evidence event ids are events of the run's collector carrying the rule, and
# each run keeps what those events said (samples) for when that database is gone.
# Takes about 2.5 minutes (three systems built, each fault run for real), so it is not part of
# `make test`; .ci/run calls it.
set -u
: "${AUTOCODER:?}"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
T=${TMPDIR_TEST:-$(mktemp -d)}
fail() { echo "FAIL: $*" >&2; exit 1; }
unset MAKEFLAGS MFLAGS MAKELEVEL CC CFLAGS LDFLAGS

cd "$ROOT" || exit 1
st=0
start=$(date +%s)
"$AUTOCODER" faults run --db "$T/results.db" --work "$T/work" --keep >"$T/run.out" 2>&1 || st=$?
cat "$T/run.out"
echo "faults run took $(( $(date +%s) - start )) s"
[ $st = 0 ] || fail "faults run exit $st"
"$AUTOCODER" faults list --db "$T/results.db" --json >"$T/list.json" || fail "faults list"
python3 - "$T/list.json" "$T/work/collector.db" <<'PY' || fail "outcomes"
import json, sqlite3, sys
runs = json.load(open(sys.argv[1]))["runs"]
assert runs, "no runs stored"
rules = {r["rule"] for r in runs if r["outcome"] == "validated"}
assert len(rules) >= 14, rules
bad = [r for r in runs if r["outcome"] != "validated" or r.get("fix") not in (None, "recovered")]
assert not bad, bad
db = sqlite3.connect(sys.argv[2])
for r in runs:
    assert r["events"] >= 1 and r["evidence"], r
    assert r["version"] and r["system"] in ("todo_api", "event_pipeline", "slow_stage"), r
    assert [s["id"] for s in r["samples"]] == r["evidence"], r
    assert all(s["message"] and s["timestamp"] and s["level"] for s in r["samples"]), r
    for eid in r["evidence"]:
        row = db.execute("SELECT g.rule_id, e.cluster_id FROM events e JOIN event_grouping g "
                         "ON g.event = e.id WHERE e.event_id = ?", (eid,)).fetchone()
        assert row and row[0] == r["rule"] and row[1], (eid, row, r)
print("validated rules:", len(rules), sorted(rules))
PY
rm -rf "$T/work"
echo "faults ok"

#!/bin/sh
# t37 — the web UI shows the evidence: one real fault (malformed-api-input, truncated JSON
# posted to a generated todo_api) is injected with `autocoder faults run --db` into the
# server's own database; GET /api/v1/faults/runs lists its newest run per (rule, fault)
# (limit and unknown parameters checked, a token needed), and in headless Chromium the Faults
# page lists it with its evidence event ids linked to the event view; on a cluster's page the
# "Did fix step N work?" form stores a report in cluster_feedback (checked with sqlite3) and
# shows the server's error details (a 400, a 429). A second run whose recipe no longer causes
# the fault replaces the entry, flagged stale. Needs chromium and npm like t47.
. "$(dirname "$0")/../lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BROWSER_DIR="$ROOT/tests/browser"
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
unset MAKEFLAGS MFLAGS MAKELEVEL CC CFLAGS LDFLAGS
[ -x "$CHROMIUM" ] || fail "chromium not found at $CHROMIUM (install it: scripts/deps.sh)"
command -v node >/dev/null 2>&1 || fail "node not found (install nodejs: scripts/deps.sh)"
installed() {
	(cd "$BROWSER_DIR" && node -e '
		const deps = require("./package.json").dependencies;
		for (const [name, want] of Object.entries(deps)) {
			let have;
			try { have = require(`./node_modules/${name}/package.json`).version; } catch {}
			if (have !== want) process.exit(1);
		}')
}
if ! installed; then
	(cd "$BROWSER_DIR" && npm ci --no-audit --no-fund --loglevel=error) >"$TMPDIR_TEST/npm.log" 2>&1 \
		|| { cat "$TMPDIR_TEST/npm.log" >&2; fail "npm ci in tests/browser failed"; }
fi

start_server --rules "$ROOT/rules" --web "$ROOT/web"
create_key web
AUTH="Authorization: Bearer $TOKEN"

req GET /api/v1/faults/runs -H "$AUTH"
expect_status 200 "no runs yet"
expect_body '"runs":[]' "empty list before any run"

# one real fault, its outcome stored in this server's database
(cd "$ROOT" && "$AUTOCODER" faults run --fault malformed-api-input --db "$DB" --work "$TMPDIR_TEST/work") \
	>"$TMPDIR_TEST/run.out" 2>&1 || fail "faults run: $(cat "$TMPDIR_TEST/run.out")"
[ "$(sql "SELECT count(*) FROM fault_runs WHERE fault = 'malformed-api-input' AND outcome = 'validated'")" = 1 ] ||
	fail "no stored run: $(cat "$TMPDIR_TEST/run.out")"
EVID=$(sql "SELECT json_extract(evidence, '\$[0]') FROM fault_runs")
[ -n "$EVID" ] || fail "the run has no evidence ids"

req GET /api/v1/faults/runs -H "$AUTH"
expect_status 200 "fault runs"
printf '%s' "$BODY" | python3 -c '
import json, sys
runs = json.load(sys.stdin)["runs"]
assert len(runs) == 1, runs
r = runs[0]
assert r["fault"] == "malformed-api-input" and r["rule"] == "json.parse-error", r
assert r["outcome"] == "validated" and r["stale"] is False and r["runs"] == 1, r
assert r["system"] == "todo_api" and r["version"] and r["date"].endswith("Z"), r
assert r["events"] >= 1 and sys.argv[1] in r["evidence"], r
# what the evidence said is kept with the run: its collector database is a throwaway
assert [s["id"] for s in r["samples"]] == r["evidence"], r
assert r["samples"][0]["message"] == "invalid JSON body" and r["samples"][0]["component"] == "api", r
' "$EVID" || fail "fault runs body: $BODY"
req GET "/api/v1/faults/runs?limit=0" -H "$AUTH"
expect_status 400 "limit 0"
expect_body "limit must be an integer from 1 to 500" "limit detail"
req GET "/api/v1/faults/runs?limit=5&rule=x" -H "$AUTH"
expect_status 400 "unknown parameter"
expect_body "unknown query parameter 'rule'" "unknown parameter detail"
req GET /api/v1/faults/runs
expect_status 401 "no token"
pass "GET /api/v1/faults/runs"

# a cluster with a rule that has fix steps, for the feedback form
req POST /api/v1/events -H "$AUTH" -d '{"message":"bind 0.0.0.0:8080: Address already in use","level":"error","system":"billing"}'
expect_status 200 "port conflict event"
i=0
until [ -n "$(sql "SELECT id FROM clusters WHERE rule_id = 'posix.addr-in-use'")" ]; do
	i=$((i + 1)); [ $i -lt 300 ] || fail "event not clustered"
	sleep 0.1
done
CLUSTER=$(sql "SELECT id FROM clusters WHERE rule_id = 'posix.addr-in-use'")

BASE="$BASE" TOKEN="$TOKEN" CLUSTER="$CLUSTER" EVID="$EVID" TMPDIR_TEST="$TMPDIR_TEST" CHROMIUM="$CHROMIUM" \
	node --test --test-reporter=spec "$BROWSER_DIR/faults.test.mjs" || fail "browser test failed"
row=$(sql "SELECT outcome, fix, text, contact, rule_id, CAST(project_id = $PROJECT_ID AS INTEGER) FROM cluster_feedback WHERE cluster_id = $CLUSTER AND text = 'freed the port, it starts now'")
[ "$row" = "worked|1|freed the port, it starts now|beta@example.org|posix.addr-in-use|1" ] ||
	fail "feedback row: '$row' (all: $(sql "SELECT * FROM cluster_feedback"))"
pass "faults page lists the run; the cluster page's feedback form stored its report"

# the same fault no longer causes its rule: the newest run fails and the entry is stale
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
	--work "$TMPDIR_TEST/work2" >"$TMPDIR_TEST/run2.out" 2>&1 || st=$?
[ $st = 1 ] || fail "a fault that no longer fires must fail the run (exit $st): $(cat "$TMPDIR_TEST/run2.out")"
req GET "/api/v1/faults/runs?limit=10" -H "$AUTH"
expect_status 200 "fault runs after a failed run"
printf '%s' "$BODY" | python3 -c '
import json, sys
runs = json.load(sys.stdin)["runs"]
assert len(runs) == 1, runs
r = runs[0]
assert r["outcome"] == "failed" and r["stale"] is True and r["runs"] == 2, r
assert r["last_validated"] and r["last_validated"] < r["date"], r
' || fail "stale entry: $BODY"
pass "the newest run per (rule, fault) is listed and flagged stale"
stop_server
echo "t37 ok"

#!/bin/sh
# t92 — the access log and the operational metrics: one JSON line per request with the
# documented fields; 401/403/413/429 at warn with the reason; --access-log off and sample:N;
# startup lines (rules, database and schema version, limits); /metrics build_info, process,
# database and analyzer gauges, and the route label without the method.
. "$(dirname "$0")/../lib.sh"
start_server --rules "$(dirname "$0")/../../rules" --max-body 2k
create_key shop
req POST /api/v1/events -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
	-A 'sdk-test/1.0' --data '[{"message":"hello"},{"message":"world"}]'
expect_status 200 "ingest"
req GET /api/v1/events -H "Authorization: Bearer act_wrong"
expect_status 401 "bad key"
head -c 5000 /dev/zero | tr '\0' a > "$TMPDIR_TEST/big"
req POST /api/v1/events -H "Authorization: Bearer $TOKEN" --data-binary @"$TMPDIR_TEST/big"
expect_status 413 "too large"
req GET /metrics
expect_status 200 "metrics"
METRICS=$BODY
stop_server

python3 - "$TMPDIR_TEST/server.log" "$PORT" <<'PY' || fail "access log lines"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
reqs = [l for l in lines if l["msg"] == "request"]
ok = [l for l in reqs if l["status"] == 200 and l["route"] == "/api/v1/events" and l["method"] == "POST"]
assert len(ok) == 1, reqs
e = ok[0]
for k in ("ts", "method", "route", "status", "bytes_in", "bytes_out", "duration_ms", "project",
          "project_id", "remote", "user_agent"):
    assert k in e, (k, e)
assert e["level"] == "info" and e["project"] == "shop" and e["user_agent"] == "sdk-test/1.0", e
assert e["remote"] == "127.0.0.1" and e["bytes_in"] == len('[{"message":"hello"},{"message":"world"}]'), e
assert e["bytes_out"] > 0 and e["duration_ms"] >= 0, e
w401 = [l for l in reqs if l["status"] == 401]
assert len(w401) == 1 and w401[0]["level"] == "warn" and w401[0]["reason"] == "unauthorized", w401
w413 = [l for l in reqs if l["status"] == 413]
assert len(w413) == 1 and w413[0]["level"] == "warn" and "body" in w413[0]["reason"], w413
msgs = [l["msg"] for l in lines]
assert "rules loaded" in msgs and "limits" in msgs and "database" in msgs, msgs
db = [l for l in lines if l["msg"] == "database"][0]
assert int(db["schema_version"]) >= 1, db
lim = [l for l in lines if l["msg"] == "limits"][0]
assert lim["max_body_bytes"] == "2048", lim
PY
pass "access log: fields, warn with reason on 401/413, startup lines"

printf '%s\n' "$METRICS" | grep -q '^autocoder_build_info{version="[^"]*",commit="[^"]*"} 1$' || fail "build_info: $(printf '%s' "$METRICS" | grep build_info)"
for m in process_cpu_seconds_total process_resident_memory_bytes process_open_fds autocoder_db_bytes \
	 autocoder_db_wal_bytes autocoder_analyzer_lag_events autocoder_retention_deleted_events_total; do
	printf '%s\n' "$METRICS" | grep -q "^$m [0-9]" || fail "metric $m missing"
done
printf '%s\n' "$METRICS" | grep -q '^autocoder_http_requests_total{route="/api/v1/events",method="POST",status="200"} 1$' ||
	fail "route/method labels: $(printf '%s' "$METRICS" | grep http_requests_total)"
printf '%s\n' "$METRICS" | grep -q 'route="POST ' && fail "route label still embeds the method"
pass "metrics: build_info, process, database, analyzer lag, retention, method label"

# --access-log off: no request lines; sample:3: one line in three, warnings always
: > "$TMPDIR_TEST/server.log"
start_server --access-log off
req GET /health; req GET /api/v1/events -H "Authorization: Bearer act_wrong"
stop_server
grep -q '"msg":"request"' "$TMPDIR_TEST/server.log" && fail "--access-log off still logs requests"
: > "$TMPDIR_TEST/server.log"
start_server --access-log sample:3
for i in 1 2 3 4 5 6; do req GET /health; done
req GET /api/v1/events -H "Authorization: Bearer act_wrong"
stop_server
[ "$(grep -c '"msg":"request","method":"GET","route":"/health"' "$TMPDIR_TEST/server.log")" = 2 ] || fail "sample:3 kept $(grep -c '"route":"/health"' "$TMPDIR_TEST/server.log") of 6"
grep -q '"level":"warn","msg":"request".*"status":401' "$TMPDIR_TEST/server.log" || fail "sampled away a 401"
"$AUTOCODER" serve --access-log sometimes --db "$DB" 2>"$TMPDIR_TEST/err" && fail "bad --access-log accepted"
grep -q -- "--access-log" "$TMPDIR_TEST/err" || fail "bad --access-log message"
pass "--access-log off and sample:3"

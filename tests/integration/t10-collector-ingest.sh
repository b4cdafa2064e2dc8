#!/bin/sh
# Every ingest endpoint of the collector, over real HTTP on loopback, checked in SQLite.
. "$(dirname "$0")/../lib.sh"

start_server --open-read
create_key shop
AUTH="Authorization: Bearer $TOKEN"

# --- native events: object, array, NDJSON
req POST /api/v1/events -H "$AUTH" -H 'Content-Type: application/json' \
	-d '{"event_id":"a1","message":"payment failed","level":"error","system":"shop","component":"pay","release":"1.0","environment":"prod","exception":{"type":"CardError","value":"declined","frames":[{"function":"charge","file":"pay.c","line":10,"in_app":true}]},"tags":{"region":"eu"},"fingerprint":["card"]}'
expect_status 200 "single event"
expect_body '"stored":1' "single event"
[ "$(sql "SELECT system, component, release, environment, exc_type, exc_value, kind, level FROM events WHERE event_id='a1'")" = "shop|pay|1.0|prod|CardError|declined|error|error" ] \
	|| fail "stored columns wrong: $(sql "SELECT * FROM events WHERE event_id='a1'")"
[ "$(sql "SELECT json_extract(raw, '\$.exception.frames[0].function') FROM events WHERE event_id='a1'")" = "charge" ] || fail "frames not kept"

req POST /api/v1/events -H "$AUTH" -d '[{"event_id":"b1","message":"one"},{"event_id":"b2","message":"two"}]'
expect_status 200 "array of events"
expect_body '"stored":2' "array"

printf '{"event_id":"c1","message":"x"}\n{"event_id":"c2","message":"y"}\n' > "$TMPDIR_TEST/nd"
req POST /api/v1/events -H "$AUTH" -H 'Content-Type: application/x-ndjson' --data-binary @"$TMPDIR_TEST/nd"
expect_status 200 "NDJSON events"
[ "$(sql "SELECT count(*) FROM events WHERE event_id IN ('b1','b2','c1','c2')")" = 4 ] || fail "array/ndjson not stored"

# --- idempotency: same event_id acknowledged, stored once
req POST /api/v1/events -H "$AUTH" -d '{"event_id":"a1","message":"payment failed again"}'
expect_status 200 "duplicate event_id"
expect_body '"duplicates":1' "duplicate"
[ "$(sql "SELECT count(*) FROM events WHERE event_id='a1'")" = 1 ] || fail "duplicate stored twice"
[ "$(sql "SELECT message FROM events WHERE event_id='a1'")" = "payment failed" ] || fail "duplicate overwrote the event"

# --- gzip body
printf '{"event_id":"g1","message":"zipped"}' | gzip > "$TMPDIR_TEST/gz"
req POST /api/v1/events -H "$AUTH" -H 'Content-Encoding: gzip' --data-binary @"$TMPDIR_TEST/gz"
expect_status 200 "gzip event"
[ "$(sql "SELECT message FROM events WHERE event_id='g1'")" = zipped ] || fail "gzip event not stored"

# --- logs: text and NDJSON
printf 'ERROR connection refused to db:5432\nINFO started worker 3\n' > "$TMPDIR_TEST/log.txt"
req POST "/api/v1/logs?system=billing&component=worker" -H "$AUTH" -H 'Content-Type: text/plain' --data-binary @"$TMPDIR_TEST/log.txt"
expect_status 200 "text logs"
[ "$(sql "SELECT level || ' ' || kind FROM events WHERE system='billing' AND message LIKE 'ERROR%'")" = "error log" ] || fail "text log level"
printf '{"ts":"2026-11-24T10:00:00Z","level":"warn","msg":"slow query","component":"db"}\n' > "$TMPDIR_TEST/log.nd"
req POST "/api/v1/logs" -H "$AUTH" -H 'X-Autocoder-System: billing' -H 'Content-Type: application/x-ndjson' --data-binary @"$TMPDIR_TEST/log.nd"
expect_status 200 "NDJSON logs"
[ "$(sql "SELECT system || ' ' || component || ' ' || level FROM events WHERE message='slow query'")" = "billing db warning" ] || fail "NDJSON log fields"

# --- crash report
req POST /api/v1/crashes -H "$AUTH" -d '{"signal":"SIGSEGV","fault_address":"0x10","thread":"enricher","system":"pipe","release":"2.1","build_id":"deadbeef","frames":[{"function":"enricher_process","file":"src/enricher.c","line":41,"in_app":true},{"function":"runtime_component_main"}]}'
expect_status 200 "crash report"
[ "$(sql "SELECT kind || ' ' || level || ' ' || exc_type || ' ' || component FROM events WHERE system='pipe'")" = "crash fatal SIGSEGV enricher" ] || fail "crash stored wrong"
[ "$(sql "SELECT json_extract(raw, '\$.exception.frames[1].function') FROM events WHERE system='pipe'")" = "enricher_process" ] || fail "crash frames"

# --- Sentry envelope: key in header, in query, in the dsn; chunked; length or not
ENV=$(printf '{"event_id":"11111111111111111111111111111111","sent_at":"2026-11-24T10:00:00Z"}\n{"type":"event"}\n{"event_id":"11111111111111111111111111111111","message":"from sentry","level":"error","release":"web@3","environment":"staging","exception":{"values":[{"type":"TypeError","value":"Cannot read properties of undefined (reading '"'"'id'"'"')","stacktrace":{"frames":[{"function":"handler","filename":"app.js","lineno":3,"in_app":true}]}}]}}\n{"type":"session","length":14}\n{"sid":"abcd"}\n')
req POST "/api/$PROJECT_ID/envelope/" -H "X-Sentry-Auth: Sentry sentry_version=7, sentry_key=$PUBKEY" --data-binary "$ENV"
expect_status 200 "envelope with X-Sentry-Auth"
expect_body '"id":"11111111111111111111111111111111"' "envelope reply id"
[ "$(sql "SELECT exc_type || '|' || release || '|' || environment || '|' || system FROM events WHERE event_id='11111111111111111111111111111111'")" = "TypeError|web@3|staging|shop" ] || fail "sentry event fields"
[ "$(sql "SELECT count FROM item_counts WHERE item_type='session'")" = 1 ] || fail "session item not counted"

printf '{}\n{"type":"event"}\n{"event_id":"22222222222222222222222222222222","message":"query key"}\n' > "$TMPDIR_TEST/env2"
req POST "/api/$PROJECT_ID/envelope/?sentry_key=$PUBKEY" -H 'Transfer-Encoding: chunked' --data-binary @"$TMPDIR_TEST/env2"
expect_status 200 "envelope, key in query, chunked, no content type"

printf '{"dsn":"%s"}\n{"type":"event"}\n{"event_id":"33333333333333333333333333333333","message":"dsn key"}' "$DSN" | gzip > "$TMPDIR_TEST/env3"
req POST "/api/$PROJECT_ID/envelope/" -H 'Content-Type: application/x-sentry-envelope' -H 'Content-Encoding: gzip' --data-binary @"$TMPDIR_TEST/env3"
expect_status 200 "envelope, key in dsn, gzip"

req POST "/api/$PROJECT_ID/store/" -H "X-Sentry-Auth: Sentry sentry_key=$PUBKEY" -d '{"event_id":"44444444444444444444444444444444","message":{"formatted":"store endpoint"},"level":"warning"}'
expect_status 200 "store endpoint"
[ "$(sql "SELECT message || '|' || level FROM events WHERE event_id='44444444444444444444444444444444'")" = "store endpoint|warning" ] || fail "store event"

# --- OTLP/HTTP JSON logs
req POST /v1/logs -H "$AUTH" -H 'Content-Type: application/json' -d '{"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"cart"}}]},"scopeLogs":[{"scope":{"name":"checkout"},"logRecords":[{"severityNumber":17,"body":{"stringValue":"timeout calling inventory"}}]}]}]}'
expect_status 200 "OTLP logs"
expect_body partialSuccess "OTLP reply"
[ "$(sql "SELECT system || '|' || component || '|' || level FROM events WHERE message='timeout calling inventory'")" = "cart|checkout|error" ] || fail "OTLP fields"

# --- read API
req GET "/api/v1/events?system=shop&kind=error&limit=2"
expect_status 200 "list events"
[ "$(printf '%s' "$BODY" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(len(d["events"]), d["next"] is not None)')" = "2 True" ] || fail "paging: $BODY"
NEXT=$(printf '%s' "$BODY" | python3 -c 'import json,sys; print(json.load(sys.stdin)["next"])')
req GET "/api/v1/events?system=shop&kind=error&limit=2&before=$NEXT"
expect_status 200 "second page"
req GET "/api/v1/events?q=payment"
expect_body '"event_id":"a1"' "search by text"
req GET /api/v1/events/a1
expect_status 200 "get one event"
expect_body '"function":"charge"' "stored event has its frames"
req GET /api/v1/events/nope
expect_status 404 "unknown event"
req GET "/api/v1/events?since=yesterday"
expect_status 400 "bad since"
expect_body "RFC 3339" "bad since names the format"
req GET "/api/v1/events?limit=5000"
expect_status 400 "limit too big"

# --- health and metrics
req GET /health
expect_status 200 health
expect_body '"status":"ok"' health
req GET /metrics
expect_status 200 metrics
expect_body 'autocoder_http_requests_total{route="/api/v1/events",method="POST",status="200"}' metrics
expect_body 'autocoder_commit_seconds_bucket{le="+Inf"}' metrics
expect_body 'autocoder_queue_depth 0' metrics
total=$(sql "SELECT count(*) FROM events")
printf '%s\n' "$BODY" | grep -q "^autocoder_events_stored_total $total\$" || fail "metrics stored total != $total"
echo "all ingest checks passed ($total events)"

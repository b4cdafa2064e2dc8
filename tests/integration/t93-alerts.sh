#!/bin/sh
# t93 — alerts: a new cluster, a spike, a regression and a rule-matched fatal cluster are
# each delivered once to a local webhook receiver (JSON, Slack and text payloads) and by
# e-mail to a local SMTP sink; 5,000 events with distinct IDs in their messages page once;
# a failing webhook is retried with backoff until it answers 2xx; the delivery log is in the
# CLI and the API.
. "$(dirname "$0")/../lib.sh"
SINK="$TMPDIR_TEST/sink"
mkdir "$SINK"
python3 "$(dirname "$0")/sinks.py" "$SINK" &
SINK_PID=$!
trap 'kill $SINK_PID 2>/dev/null; stop_server' EXIT
i=0
until [ -s "$SINK/ports" ]; do i=$((i + 1)); [ $i -lt 200 ] || fail "sinks did not start"; sleep 0.05; done
read HPORT SPORT < "$SINK/ports"
H="http://127.0.0.1:$HPORT"

out=$("$AUTOCODER" keys create shop --role admin --db "$DB") || fail "keys create"
TOKEN=$(printf '%s\n' "$out" | awk '/^token:/{print $2}')
ADMIN_TOKEN=$(printf '%s\n' "$out" | awk '/^admin_token:/{print $2}')   # resolving a cluster
add() { "$AUTOCODER" alerts add --db "$DB" --project shop "$@" >/dev/null || fail "alerts add $*"; }
add --on new_cluster --webhook "$H/json"
add --on new_cluster --email ops@example.com
add --on spike --webhook "$H/text" --payload text --spike-factor 5
add --on regression --webhook "$H/slack" --payload slack
add --on fatal --webhook "$H/flaky" --match http.
"$AUTOCODER" alerts add --db "$DB" --project shop --on sometimes --webhook "$H/x" 2>"$TMPDIR_TEST/err" && fail "bad kind accepted"
grep -q "new_cluster, regression, spike or fatal" "$TMPDIR_TEST/err" || fail "bad kind message: $(cat "$TMPDIR_TEST/err")"
"$AUTOCODER" alerts add --db "$DB" --project shop --on spike --webhook "ftp://x" 2>/dev/null && fail "ftp target accepted"
[ "$(sql 'SELECT count(*) FROM alert_rules')" = 5 ] || fail "rules stored"
"$AUTOCODER" alerts list --db "$DB" | grep -q "spike .*factor 5" || fail "alerts list"
pass "5 alert rules"

start_server --rules "$(dirname "$0")/../../rules" --web "$(dirname "$0")/../../web" --alert-interval 0.3 --smtp-url "smtp://127.0.0.1:$SPORT" --smtp-from alerts@example.com

wait_lines() { # FILE N what
	i=0
	until [ -s "$1" ] && [ "$(wc -l < "$1")" -ge "$2" ]; do
		i=$((i + 1)); [ $i -lt 600 ] || fail "$3: $(cat "$1" 2>/dev/null)"; sleep 0.1
	done
}
scans_pass() { # wait until the detector has run twice more
	s0=$(sql "SELECT value FROM alert_meta WHERE key='scanned_at'")
	for _ in 1 2; do
		i=0
		until [ "$(sql "SELECT value FROM alert_meta WHERE key='scanned_at'")" != "$s0" ]; do
			i=$((i + 1)); [ $i -lt 300 ] || fail "alert detector stopped"; sleep 0.1
		done
		s0=$(sql "SELECT value FROM alert_meta WHERE key='scanned_at'")
	done
}

# 1. 5,000 events, one pattern with distinct IDs: one new-cluster alert, one spike, one mail
python3 -c 'import json; print(json.dumps([{"message": "user %d not found in directory" % (10000 + i), "level": "error", "system": "shop"} for i in range(5000)]))' > "$TMPDIR_TEST/burst.json"
req POST /api/v1/events -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' --data-binary @"$TMPDIR_TEST/burst.json"
expect_status 200 "5000 events"
wait_lines "$SINK/http-json.log" 1 "no new-cluster alert"
wait_lines "$SINK/http-text.log" 1 "no spike alert"
i=0; until grep -q '^----' "$SINK/mail.log" 2>/dev/null; do i=$((i + 1)); [ $i -lt 600 ] || fail "no alert mail"; sleep 0.1; done
scans_pass
req POST /api/v1/events -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
	--data '[{"message":"user 99 not found in directory","level":"error","system":"shop"}]'
scans_pass
[ "$(wc -l < "$SINK/http-json.log")" = 1 ] || fail "new-cluster alert sent $(wc -l < "$SINK/http-json.log") times"
[ "$(wc -l < "$SINK/http-text.log")" = 1 ] || fail "spike alert sent $(wc -l < "$SINK/http-text.log") times (min interval)"
[ "$(grep -c '^----' "$SINK/mail.log")" = 1 ] || fail "mail sent $(grep -c '^----' "$SINK/mail.log") times"
python3 - "$SINK" <<'PY' || fail "payloads"
import json, sys, os
d = sys.argv[1]
j = json.loads(open(os.path.join(d, "http-json.log")).readline())
assert j["type"] == "autocoder.alert" and j["version"] == 1 and j["kind"] == "new_cluster", j
assert j["project"]["name"] == "shop" and j["cluster"]["count"] >= 1, j
assert "not found in directory" in j["cluster"]["title"] and j["text"].startswith("[autocoder] New error pattern in shop"), j
t = json.loads(open(os.path.join(d, "http-text.log")).readline())
assert list(t) == ["text"] and "Spike in shop" in t["text"] and "baseline" in t["text"], t
m = open(os.path.join(d, "mail.log")).read()
assert "To: <ops@example.com>" in m and "From: <alerts@example.com>" in m and "Subject: [autocoder] New error pattern" in m, m
PY
pass "5001 events of one pattern: one new-cluster webhook, one spike, one mail"

# 2. regression: resolve the cluster, then it recurs -> one Slack-shaped alert
CID=$(sql "SELECT id FROM clusters WHERE title LIKE 'user % not found in directory'")
[ -n "$CID" ] || fail "cluster id"
req POST "/api/v1/clusters/$CID/status" -H "Authorization: Bearer $ADMIN_TOKEN" --data '{"status":"resolved"}'
expect_status 200 "resolve"
sleep 0.05
req POST /api/v1/events -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
	--data '[{"message":"user 7 not found in directory","level":"error","system":"shop"},{"message":"user 8 not found in directory","level":"error","system":"shop"}]'
expect_status 200 "recurrence"
wait_lines "$SINK/http-slack.log" 1 "no regression alert"
scans_pass
[ "$(wc -l < "$SINK/http-slack.log")" = 1 ] || fail "regression alert sent $(wc -l < "$SINK/http-slack.log") times"
python3 -c 'import json,sys; o=json.loads(open(sys.argv[1]).readline()); assert o["text"].startswith("[autocoder] Regression in shop") and o["blocks"][0]["text"]["type"]=="mrkdwn", o' "$SINK/http-slack.log" ||
	fail "slack payload: $(cat "$SINK/http-slack.log")"
pass "regression: one Slack-shaped alert"

# 3. fatal matched by a rule: the receiver fails twice, the third try (after backoff) lands
req POST /api/v1/events -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
	--data '[{"message":"upstream timed out (110: Connection timed out) while reading response header from upstream","level":"fatal","system":"shop"}]'
expect_status 200 "fatal event"
wait_lines "$SINK/http-flaky.log" 3 "fatal alert not retried to success"
i=0
until [ "$(sql "SELECT status || ' ' || attempts FROM alert_deliveries WHERE kind='fatal'")" = "sent 3" ]; do
	i=$((i + 1)); [ $i -lt 300 ] || fail "fatal delivery: $(sql "SELECT status, attempts, response FROM alert_deliveries WHERE kind='fatal'")"; sleep 0.1
done
python3 -c 'import json,sys; o=json.loads(open(sys.argv[1]).readlines()[-1]); assert o["kind"]=="fatal" and o["cluster"]["rule_id"].startswith("http.") and o["cluster"]["level"]=="fatal", o' "$SINK/http-flaky.log" ||
	fail "fatal payload"
grep -q '"msg":"alert delivery failed".*HTTP 500' "$TMPDIR_TEST/server.log" || fail "failed tries not logged"
pass "fatal alert: 2 failures, delivered on try 3"

# 4. the delivery log: CLI and API
"$AUTOCODER" alerts log --db "$DB" > "$TMPDIR_TEST/log" || fail "alerts log"
grep -q "sent .*fatal .*3 attempt(s): HTTP 200" "$TMPDIR_TEST/log" || fail "alerts log: $(cat "$TMPDIR_TEST/log")"
req GET "/api/v1/alerts/deliveries" -H "Authorization: Bearer $TOKEN"
expect_status 200 "deliveries API"
printf '%s' "$BODY" | python3 -c '
import json, sys
d = json.load(sys.stdin)["deliveries"]
kinds = sorted(x["kind"] for x in d)
assert [kinds.count(k) for k in ("fatal", "regression", "spike")] == [1, 1, 1], kinds
assert kinds.count("new_cluster") == 4, kinds  # two clusters, webhook + mail each
assert all(x["status"] == "sent" for x in d), d' || fail "deliveries API: $BODY"
req GET "/api/v1/alerts/deliveries"
expect_status 401 "deliveries API without a token"
case "$BODY" in *"$HPORT/json"*|*"$HPORT/flaky"*) fail "the API shows whole webhook URLs: $BODY" ;; esac
"$AUTOCODER" alerts log --db "$DB" | grep -q "$H/flaky" || fail "alerts log on the server should show the whole URL"
# the UI's Alerts view is served and linked (its rendering is plain DOM code over this API)
req GET /web/alerts.js
expect_status 200 "UI alerts view"
expect_body "/api/v1/alerts/deliveries" "alerts view reads the delivery log"
req GET /
expect_body 'href="#/alerts"' "Alerts in the UI navigation"
pass "delivery log in CLI, API (targets redacted) and UI"
stop_server

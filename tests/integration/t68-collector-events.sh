#!/bin/sh
# t68 — instrumentation end to end: a generated system started against a real collector
# (`autocoder serve`) ships its warnings and errors from the background shipper; the collector
# stores them with system, component, release and trace id set.
. "$(dirname "$0")/gen-lib.sh"

start_collector
dir=$(gen_build "$BLUEPRINTS/todo_api.yaml" todo)
port=$(free_port)
start "$dir" todo_api API_PORT=$port AUTOCODER_COLLECTOR_URL="$COLLECTOR_URL" \
	AUTOCODER_KEY="$COLLECTOR_TOKEN" AUTOCODER_ENVIRONMENT=test
B=http://127.0.0.1:$port
wait_http "$B/health"
# a client sending a broken body: 400 for the client, a warning event for the maintainers
code=$(curl -s -o /dev/null -w '%{http_code}' -XPOST "$B/todos" -d '{"title": oops}')
[ "$code" = 400 ] || fail "bad body: $code"
i=0
until events "system=todo_api&component=api" >"$TMPDIR_TEST/ev" &&
	[ "$(json 'len(d["events"])' <"$TMPDIR_TEST/ev")" -ge 1 ]; do
	i=$((i + 1)); [ $i -lt 60 ] || { cat "$SYS_LOG"; fail "no event stored"; }
	sleep 0.2
done
python3 - "$TMPDIR_TEST/ev" <<'PY' || fail "stored event"
import json, sys
ev = json.load(open(sys.argv[1]))["events"][0]
ev = ev.get("raw", ev) if isinstance(ev.get("raw"), dict) else ev
assert ev["system"] == "todo_api" and ev["component"] == "api", ev
assert ev["level"] == "warning" and "invalid JSON body" in ev["message"], ev
assert ev["release"] == "1.0.0" and ev["environment"] == "test", ev
print("stored:", ev["message"])
PY
# the shipper's own counters are on /metrics
curl -s "$B/metrics" | grep -q 'app_shipper_events_total{outcome="sent"} [1-9]' || fail "sent counter"
stop $SYS_PID

# a collector that is down never blocks the system: requests still answer, drops are counted
stop_collector
start "$dir" todo_api API_PORT=$port AUTOCODER_COLLECTOR_URL="$COLLECTOR_URL" AUTOCODER_KEY=x
wait_http "$B/health"
for n in 1 2 3 4 5; do
	code=$(curl -s -m 2 -o /dev/null -w '%{http_code}' -XPOST "$B/todos" -d '{bad')
	[ "$code" = 400 ] || fail "request blocked while the collector is down: $code"
done
sleep 1.5
curl -s "$B/metrics" | grep -q 'app_shipper_events_total{outcome="failed"} [1-9]' || fail "failed counter"
stop $SYS_PID
echo "t68 ok"

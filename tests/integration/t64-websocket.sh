#!/bin/sh
# t64 — live dashboard: two WebSocket clients each receive the stream of enriched readings
# (RFC 6455 handshake, text frames with JSON), a wrong path is refused, metrics count frames.
. "$(dirname "$0")/gen-lib.sh"

dir=$(gen_build "$BLUEPRINTS/live_dashboard.yaml" dashboard)
mport=$(free_port)
wport=$(free_port)
start "$dir" live_dashboard METRICS_PORT=$mport FEED_PORT=$wport
wait_http "http://127.0.0.1:$mport/health"
here=$(cd "$(dirname "$0")" && pwd)
python3 "$here/wsclient.py" 127.0.0.1 "$wport" /ws 5 >"$TMPDIR_TEST/c1" &
c1=$!
python3 "$here/wsclient.py" 127.0.0.1 "$wport" /ws 5 >"$TMPDIR_TEST/c2" || fail "client 2"
wait $c1 || fail "client 1"
for c in c1 c2; do
	[ "$(wc -l <"$TMPDIR_TEST/$c")" -eq 5 ] || fail "$c got $(wc -l <"$TMPDIR_TEST/$c") frames"
	python3 - "$TMPDIR_TEST/$c" <<'PY' || fail "$c frame content"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert all(15 <= r["temperature"] <= 30 and r["processed_by"] == "stamp" and "processed_at" in r for r in rows)
ids = [r["id"] for r in rows]
assert ids == sorted(ids), ids
PY
done
# a plain GET is not an upgrade
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$wport/ws")
[ "$code" = 400 ] || fail "plain GET on /ws: $code"
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$wport/other")
[ "$code" = 404 ] || fail "wrong path: $code"
curl -s "http://127.0.0.1:$mport/metrics" | grep -q 'app_http_requests_total{route="ws",status="101"} 2' ||
	fail "upgrade counter"
stop $SYS_PID
echo "t64 ok"

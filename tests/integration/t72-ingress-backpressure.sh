#!/bin/sh
# t72 — backpressure reaches HTTP clients: a sink stuck on a receiver that never answers
# stops draining its one-slot queue, the endpoint's push waits ingress_timeout_ms and then
# answers 503 with Retry-After instead of queueing without bound; /metrics shows the full queue;
# on SIGTERM the stuck work is dead-lettered, not lost.
. "$(dirname "$0")/gen-lib.sh"

bport=$(free_port)
# a receiver that accepts connections and never answers
python3 -c '
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(16)
conns = []
while True:
    c, _ = s.accept(); conns.append(c)
' "$bport" &
PIDS="$PIDS $!"
cat >"$TMPDIR_TEST/bp.yaml" <<YAML
schema_version: "1.0.0"
system:
  name: backpressure_test
  version: "1.0.0"
  components:
    - name: intake
      type: APIEndpoint
      config: {port: 8099, resource: jobs, ingress_timeout_ms: 300}
    - name: slow
      type: Sink
      config: {output: {type: http, url: "http://127.0.0.1:$bport/"}, batch_size: 1}
  bindings:
    - {from: intake.request, to: slow.input, qos: {buffering: 1}}
YAML
dir=$(gen_build "$TMPDIR_TEST/bp.yaml" bp)
port=$(free_port)
start "$dir" backpressure_test INTAKE_PORT=$port SHUTDOWN_TIMEOUT_MS=500
B=http://127.0.0.1:$port
wait_http "$B/ready"
codes=""
for i in 1 2 3 4; do
	codes="$codes $(curl -s -m 5 -D "$TMPDIR_TEST/h$i" -o /dev/null -w '%{http_code}' -XPOST "$B/jobs" -d "{\"n\":$i}")"
done
echo "codes:$codes"
# 1st: taken by the sink (stuck), 2nd: fills the queue, then 503s
[ "$codes" = " 202 202 503 503" ] || fail "codes:$codes"
grep -qi '^Retry-After: 1' "$TMPDIR_TEST/h3" || fail "503 without Retry-After"
curl -s "$B/metrics" | grep -q '^app_queue_depth{component="slow"} 1' || fail "queue depth"
curl -s "$B/metrics" | grep -q 'app_http_requests_total{route="/jobs",status="503"} 2' || fail "503 counter"
# the stuck sink still lets the system stop (the drain gives up after SHUTDOWN_TIMEOUT_MS)
stop $SYS_PID
grep -q 'shutdown timeout' "$SYS_LOG" || fail "no shutdown-timeout warning"
# nothing accepted is lost silently: both accepted jobs are in the dead-letter file
dl="$dir/data/dead_letter/intake.request-slow.input.jsonl"
[ -s "$dl" ] || fail "no dead letters"
python3 - "$dl" <<'PY' || fail "dead letters: $(cat "$dl")"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert sorted(r["message"]["n"] for r in rows) == [1, 2], rows
assert any("not processed before shutdown" in r["error"] for r in rows), rows
PY
echo "t72 ok"

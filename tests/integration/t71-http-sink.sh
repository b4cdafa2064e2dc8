#!/bin/sh
# t71 — Sink of type http: messages are POSTed as JSON arrays in batches of at most batch_size to
# output.url; when the receiver is down the sink reports itself unhealthy on /health and
# counts errors, and it recovers when the receiver is back.
. "$(dirname "$0")/gen-lib.sh"

rport=$(free_port)
cat >"$TMPDIR_TEST/receiver.py" <<'PY'
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        with open(sys.argv[2], "ab") as f:
            f.write(body + b"\n")
        self.send_response(204)
        self.end_headers()
    def log_message(self, *a):
        pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
cat >"$TMPDIR_TEST/hs.yaml" <<YAML
schema_version: "1.0.0"
system:
  name: http_sink_test
  version: "1.0.0"
  components:
    - name: gen
      type: Source
      config: {generation: {type: sequence}, data_count: 10, data_delay: 0}
    - name: push
      type: Sink
      config: {output: {type: http, url: "http://127.0.0.1:$rport/ingest"}, batch_size: 5, flush_interval: 0.2}
  bindings:
    - {from: gen.output, to: push.input}
YAML
dir=$(gen_build "$TMPDIR_TEST/hs.yaml" hs)
python3 "$TMPDIR_TEST/receiver.py" "$rport" "$TMPDIR_TEST/received" &
PIDS="$PIDS $!"
# the receiver must listen before the sink's first POST
i=0
until python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1)' "$rport" 2>/dev/null; do
	i=$((i + 1)); [ $i -lt 100 ] || fail "receiver did not start"; sleep 0.1
done
mport=$(free_port)
start "$dir" http_sink_test METRICS_PORT=$mport
wait_http "http://127.0.0.1:$mport/ready"
i=0
until [ "$(cat "$TMPDIR_TEST/received" 2>/dev/null | python3 -c 'import json,sys; print(sum(len(json.loads(l)) for l in sys.stdin))')" = 10 ]; do
	i=$((i + 1)); [ $i -lt 200 ] || fail "receiver did not get 10 messages"
	sleep 0.1
done
python3 - "$TMPDIR_TEST/received" <<'PY' || fail "received batches"
import json, sys
batches = [json.loads(l) for l in open(sys.argv[1])]
assert all(1 <= len(b) <= 5 for b in batches), [len(b) for b in batches]
assert [m["id"] for b in batches for m in b] == list(range(1, 11))
print("batches:", [len(b) for b in batches])
PY
stop $SYS_PID

# receiver down: the sink turns unhealthy and counts the failure
kill $(echo $PIDS | awk '{print $1}') 2>/dev/null || true
sleep 0.2
start "$dir" http_sink_test METRICS_PORT=$mport GEN_DATA_COUNT=3 PUSH_BATCH_SIZE=1
wait_http "http://127.0.0.1:$mport/metrics"
i=0
until [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$mport/health")" = 503 ]; do
	i=$((i + 1)); [ $i -lt 50 ] || fail "/health never reported the failing sink"
	sleep 0.1
done
curl -s "http://127.0.0.1:$mport/health" | json 'd["components"]["push"]["reason"]' | grep -q "POST http://127.0.0.1:$rport/ingest failed" ||
	fail "health reason"
stop $SYS_PID
echo "t71 ok"

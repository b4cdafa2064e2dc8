#!/bin/sh
# t78 — `autocoder bench` on a WebSocket ingress: a system whose WebSocket component's
# `messages` output feeds the pipeline (clients send readings; a Transformer enriches them; a
# Sink writes them). The bench's own WebSocket clients (RFC 6455 handshake, masked text frames,
# epoll) drive it closed loop and open loop, with messages shaped from the port's schema:
# every connection is upgraded, messages flow end to end (the Sink's rate from /metrics, the
# Sink's file holds the schema's fields enriched by the Transformer), the open-loop rate is
# kept, CPU is attributed to the WebSocket's reader thread and the pipeline's threads, and a
# concurrency above the component's max_connections is clamped to it, not refused.
# Timing assertions are ratios with wide margins only.
. "$(dirname "$0")/gen-lib.sh"

cat >"$TMPDIR_TEST/ws_ingest.yaml" <<'YAML'
schema_version: "1.0.0"
schemas:
  Reading:
    type: object
    properties:
      sensor: {type: string}
      celsius: {type: number}
    required: [sensor, celsius]
system:
  name: ws_ingest
  description: readings sent by clients over WebSocket, enriched and written out
  version: "1.0.0"
  components:
    - name: feed
      type: WebSocket
      config:
        port: ${FEED_PORT:-8766}
        max_connections: 20
      outputs:
        - {name: messages, schema: Reading}
    - name: stamp
      type: Transformer
      config:
        transform: {type: enrich}
    - name: out
      type: Sink
      config:
        output: {type: file}
  bindings:
    - {from: feed.messages, to: stamp.input}
    - {from: stamp.output, to: out.input}
YAML
dir=$(gen_build "$TMPDIR_TEST/ws_ingest.yaml" wsi)

"$AUTOCODER" bench "$dir" -c 1,8,64 --rate 400 -d 1.5 --warmup 0.3 --keep --json \
	>"$TMPDIR_TEST/run.json" || fail "bench exited $?"
python3 - "$TMPDIR_TEST/run.json" <<'PY' || fail "WebSocket figures"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["kind"] == "websocket" and d["ingress"] == "feed", (d["kind"], d["ingress"])
steps = d["steps"]
# 64 connections is more than max_connections (20): that step runs with 20
assert [(s["mode"], s["concurrency"]) for s in steps] == \
    [("closed", 1), ("closed", 8), ("closed", 20), ("open", 20)], [(s["mode"], s["concurrency"]) for s in steps]
for s in steps:
    assert s["connected"] == s["concurrency"] and s["handshake_errors"] == 0, s
    assert s["conn_errors"] == 0 and s["errors"] == 0, s
    assert s["sent"] > 0 and s["sink_msgs_per_s"] > 0, s
    # end to end: the Sink cannot receive much more than the clients sent in the window
    # (wide margin: messages sent during the warm-up arrive in the window)
    assert s["sink_msgs_per_s"] <= s["sent_msgs_per_s"] * 1.5 + 200, s
    assert s["throughput"] == s["sink_msgs_per_s"], s
    cpu = s["cpu_seconds"]
    assert cpu.get("feed-ws", 0) > 0 and cpu.get("stamp", 0) > 0, cpu
    assert "stamp" in s["mean_processing_us"], s["mean_processing_us"]
    assert s["dead_letters"] == 0, s
top = max(s["sent_msgs_per_s"] for s in steps[:3])
paced = steps[3]
assert paced["rate"] == 400 and 0.3 < paced["sent_msgs_per_s"] / 400 < 1.5, paced
assert top > paced["sent_msgs_per_s"], (top, paced["sent_msgs_per_s"])
assert json.loads(d["example_message"]).keys() == {"sensor", "celsius"}, d["example_message"]
print("websocket ok: sent/s", [round(s["sent_msgs_per_s"]) for s in steps],
      "sink/s", [round(s["sink_msgs_per_s"]) for s in steps])
PY
# what the Sink wrote: the shaped readings, enriched by the Transformer
out=$(ls "$dir"/bench-run/out/*.jsonl 2>/dev/null | head -n 1)
[ -n "$out" ] || fail "no Sink output in $dir/bench-run/out"
head -n 1 "$out" | python3 -c '
import json, sys
r = json.loads(sys.stdin.readline())
assert isinstance(r["sensor"], str) and isinstance(r["celsius"], float), r
assert r["processed_by"] == "stamp", r' || fail "Sink line: $(head -n 1 "$out")"
# the table: sent and end-to-end rates per step
"$AUTOCODER" bench "$dir" -c 2 -d 0.5 --warmup 0.1 >"$TMPDIR_TEST/table.txt" || fail "bench (table) exited $?"
grep -Eq '^step +sink msg/s +sent msg/s' "$TMPDIR_TEST/table.txt" || { cat "$TMPDIR_TEST/table.txt"; fail "table header"; }
grep -Eq '^c=2 +[0-9]+ +[1-9][0-9]*' "$TMPDIR_TEST/table.txt" || { cat "$TMPDIR_TEST/table.txt"; fail "table row"; }
echo "t78 ok"

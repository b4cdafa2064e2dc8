#!/bin/sh
# t70 — runtime guarantees: with tiny queues (qos.buffering 4) a fast source is held back by
# backpressure and SIGTERM in mid-stream drains every queued message into the sink before
# exit 0 (nothing lost); a stage that fails (the Accumulator refuses an unknown operation; a
# missing key field counts under default_accumulator since issue 11) is retried retry_count
# times and then written to the binding's dead-letter file; /health turns 503 while a component keeps failing.
. "$(dirname "$0")/gen-lib.sh"

cat >"$TMPDIR_TEST/drain.yaml" <<'YAML'
schema_version: "1.0.0"
system:
  name: drain_test
  version: "1.0.0"
  components:
    - name: gen
      type: Source
      config: {generation: {type: sequence}, data_count: 0, data_delay: 0}
    - name: pass
      type: Transformer
      config: {transform: {type: map, set: {seen: true, operation: explode}}}
    - name: out
      type: Sink
      config: {output: {type: file, filename: drained.jsonl}, batch_size: 1000, flush_interval: 5}
    - name: totals
      type: Accumulator
      config: {key_field: no_such_field, value_field: value}
  bindings:
    - {from: gen.output, to: pass.input, qos: {buffering: 4}}
    - {from: pass.output, to: out.input, qos: {buffering: 4}}
    - from: pass.output
      to: totals.input
      qos: {buffering: 4}
      error_handling: {strategy: retry, retry_count: 2}
YAML
dir=$(gen_build "$TMPDIR_TEST/drain.yaml" drain)
mport=$(free_port)
start "$dir" drain_test METRICS_PORT=$mport SINK_DIR="$dir/out"
wait_http "http://127.0.0.1:$mport/metrics"
sleep 1
code=$(curl -s -o "$TMPDIR_TEST/health" -w '%{http_code}' "http://127.0.0.1:$mport/health")
[ "$code" = 503 ] || fail "/health with a failing component: $code"
json 'd["components"]["totals"]["status"]' <"$TMPDIR_TEST/health" | grep -qx unhealthy || fail "totals not unhealthy"
# queues never exceed their size
curl -s "http://127.0.0.1:$mport/metrics" | awk '/^app_queue_depth/ { if ($2 > 8) bad = 1 } END { exit bad }' ||
	fail "queue deeper than its bindings allow"
stop $SYS_PID
last=$(tail -1 "$SYS_LOG")
echo "$last" | grep -q '"msg":"system stopped"' || fail "last log line: $last"
sent=$(echo "$last" | json 'd["fields"]["components"]["pass"]["out"]')
got=$(echo "$last" | json 'd["fields"]["components"]["out"]["in"]')
lines=$(wc -l <"$dir/out/drained.jsonl")
[ "$got" -gt 0 ] && [ "$lines" -eq "$got" ] || fail "sink received $got but wrote $lines lines"
# pass emits each message twice (sink and accumulator)
[ $((sent - got)) -le "$got" ] || fail "pass sent $sent, sink got $got"
dl=$dir/data/dead_letter/pass.output-totals.input.jsonl
[ -s "$dl" ] || fail "no dead-letter file"
head -1 "$dl" | json 'd["error"], d["attempts"], d["message"]["seen"]' |
	grep -q "unknown operation 'explode' (add, multiply, reset, get) 3 True" || fail "dead letter record: $(head -1 "$dl")"
echo "t70 ok"

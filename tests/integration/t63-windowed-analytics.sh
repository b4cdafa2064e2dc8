#!/bin/sh
# t63 — windowed analytics: a count window of 10 over readings 1..100 gives ten windows with
# the right sums; the Aggregator sums per sensor in batches of <= 5 (the last ones by timeout)
# and the batch sums add up to each sensor's total. Fan-out delivers every reading to both.
. "$(dirname "$0")/gen-lib.sh"

dir=$(gen_build "$BLUEPRINTS/windowed_analytics.yaml" windowed)
mport=$(free_port)
start "$dir" windowed_analytics METRICS_PORT=$mport SINK_DIR="$dir/out"
wait_http "http://127.0.0.1:$mport/health"
wait_lines "$dir/out/windows.jsonl" 10
# the aggregator's last batches close after timeout_seconds (1 s)
i=0
until python3 - "$dir/out/batches.jsonl" <<'PY' 2>/dev/null
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert sum(r["count"] for r in rows) == 100
PY
do i=$((i + 1)); [ $i -lt 60 ] || fail "batches never covered 100 readings"; sleep 0.1; done
stop $SYS_PID
python3 - "$dir/out" <<'PY' || fail "window/batch content"
import json, sys, os
w = [json.loads(l) for l in open(os.path.join(sys.argv[1], "windows.jsonl"))]
assert len(w) == 10, len(w)
for k, r in enumerate(w):
    lo, hi = 10 * k + 1, 10 * k + 10
    assert r["count"] == 10 and r["sum"] == sum(range(lo, hi + 1)), r
    assert r["min"] == lo and r["max"] == hi and r["average"] == (lo + hi) / 2, r
b = [json.loads(l) for l in open(os.path.join(sys.argv[1], "batches.jsonl"))]
assert all(1 <= r["count"] <= 5 and r["strategy"] == "sum" for r in b)
sums = {}
for r in b:
    s = r["group"]["sensor"]
    sums[s] = sums.get(s, 0) + r["sum"]
assert set(sums) == {"a", "b"}, sums
assert sum(sums.values()) == 5050, sums
print("windows and batches ok")
PY
# SIGTERM flushes open batches: with a 60 s batch timeout (set through the environment) the
# readings still waiting in the aggregator reach the sink before the process exits
rm -rf "$dir/out2"
start "$dir" windowed_analytics METRICS_PORT=$mport SINK_DIR="$dir/out2" PER_SENSOR_TIMEOUT_SECONDS=60 \
	PER_SENSOR_BATCH_SIZE=7
wait_http "http://127.0.0.1:$mport/health"
wait_lines "$dir/out2/windows.jsonl" 10
stop $SYS_PID
python3 - "$dir/out2/batches.jsonl" <<'PY' || fail "batches not flushed on SIGTERM"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert sum(r["count"] for r in rows) == 100, sum(r["count"] for r in rows)
assert sum(r["sum"] for r in rows) == 5050
assert any(r["count"] < 7 for r in rows) and all(r["count"] <= 7 for r in rows)
print("flushed on drain:", len(rows), "batches")
PY
echo "t63 ok"

#!/bin/sh
# t75 — `autocoder bench` on the event pipeline (no HTTP ingress: the runtime's bench hook
# drives the Source, unpaced and at a fixed rate): Source -> Sink messages/s measured from
# /metrics, CPU attributed to the component threads, a throughput criterion it cannot meet
# exits 1, and a build slowed in one stage (AUTOCODER_SLOW_*) fails the regression gate.
# Timing assertions are ratios with wide margins only.
. "$(dirname "$0")/gen-lib.sh"

db=$TMPDIR_TEST/bench.db
dir=$(gen_build "$BLUEPRINTS/event_pipeline.yaml" pipe)

"$AUTOCODER" bench "$dir" --rate 500 -d 1 --warmup 0.3 --repeat 2 --db "$db" --save-baseline base \
	--json >"$TMPDIR_TEST/run1.json" || fail "bench exited $?"
python3 - "$TMPDIR_TEST/run1.json" <<'PY' || fail "pipeline figures"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["kind"] == "pipeline" and d["ingress"] == "events", d
top, paced = d["steps"]
assert top["mode"] == "max" and paced["mode"] == "open" and paced["rate"] == 500
for s in (top, paced):
    assert s["sink_msgs_per_s"] > 0 and s["source_msgs_per_s"] >= s["sink_msgs_per_s"], s
    assert s["dead_letters"] == 0, s
# the filter drops the BATCH third: the sink sees fewer than the source sent
assert top["sink_msgs_per_s"] < top["source_msgs_per_s"]
# the paced source keeps its schedule (wide margin: a loaded machine)
assert 0.3 < paced["source_msgs_per_s"] / 500 < 1.5, paced["source_msgs_per_s"]
assert top["throughput"] > paced["throughput"], (top["throughput"], paced["throughput"])
cpu = top["cpu_seconds"]
for name in ("events", "enrich", "archive"):
    assert cpu.get(name, 0) > 0, (name, cpu)
assert set(top["mean_processing_us"]) >= {"enrich", "keep_even", "archive"}, top["mean_processing_us"]
print("pipeline ok:", d["headline_throughputs"])
PY

# slowed stage: 2 ms per message in the transformer caps the pipeline near 500 messages/s
st=0
AUTOCODER_SLOW_COMPONENT=enrich AUTOCODER_SLOW_US=2000 "$AUTOCODER" bench "$dir" --rate 500 -d 1 \
	--warmup 0.3 --repeat 2 --db "$db" --baseline base >"$TMPDIR_TEST/slow.txt" || st=$?
cat "$TMPDIR_TEST/slow.txt"
[ "$st" = 1 ] || fail "slowed pipeline: exit $st, wanted 1"
grep -q "regression gate vs baseline 'base': regression" "$TMPDIR_TEST/slow.txt" || fail "no regression verdict"

# a throughput criterion no machine meets
sed 's/^system:/system:\n  validation:\n    performance:\n      throughput_requests_per_second: 1000000000/' \
	"$BLUEPRINTS/event_pipeline.yaml" >"$TMPDIR_TEST/fast.yaml"
st=0
"$AUTOCODER" bench "$TMPDIR_TEST/fast.yaml" --workdir "$TMPDIR_TEST/fast" -d 0.5 --warmup 0.2 \
	>"$TMPDIR_TEST/fast.txt" 2>&1 || st=$?
cat "$TMPDIR_TEST/fast.txt"
[ "$st" = 1 ] || fail "unmeetable throughput: exit $st, wanted 1"
grep -Eq '^FAIL +validation\.performance\.throughput_requests_per_second +>= 1e\+09 +got [0-9.]+' \
	"$TMPDIR_TEST/fast.txt" || fail "no FAIL line with criterion and figure"
echo "t75 ok"

#!/bin/sh
# t62 — fraud scoring: the Accumulator keeps running totals per user (and they survive a
# restart, from SQLite), the Model labels each transaction, the Router sends each label to its
# own sink.
. "$(dirname "$0")/gen-lib.sh"

dir=$(gen_build "$BLUEPRINTS/fraud_scoring.yaml" fraud)
mport=$(free_port)
run_once() {
	start "$dir" fraud_scoring METRICS_PORT=$mport SINK_DIR="$dir/out$1"
	wait_http "http://127.0.0.1:$mport/health"
	i=0
	while [ "$(cat "$dir"/out$1/*.jsonl 2>/dev/null | wc -l)" -lt 300 ]; do
		i=$((i + 1)); [ $i -lt 100 ] || fail "sinks got $(cat "$dir"/out$1/*.jsonl | wc -l) of 300"
		sleep 0.1
	done
	stop $SYS_PID
}
run_once 1
python3 - "$dir/out1" <<'PY' || fail "routing"
import json, sys, os, collections
d = sys.argv[1]
rows = {}
for name, label in (("alerts", "high"), ("review", "medium"), ("approved", "low")):
    rows[label] = [json.loads(l) for l in open(os.path.join(d, name + ".jsonl"))]
    assert rows[label], "no %s rows" % label
    assert all(r["risk_level"] == label for r in rows[label]), "wrong destination for " + label
all_rows = sorted((r for v in rows.values() for r in v), key=lambda r: r["id"])
assert len(all_rows) == 300
# weighted score and running totals
tot = collections.defaultdict(float)
for r in all_rows:
    tot[r["user"]] += r["amount"]
    assert abs(r["total"] - tot[r["user"]]) < 1e-6, ("total", r)
    s = 0.001 * r["amount"] + 0.3 * (1 if r["foreign"] else 0) + 0.00002 * r["total"]
    assert abs(r["score"] - s) < 1e-5, ("score", r, s)
    want = "high" if s >= 0.9 else "medium" if s >= 0.5 else "low"
    assert r["risk_level"] == want
print("routing ok", {k: len(v) for k, v in rows.items()})
PY
# second run: totals continue from the first run's SQLite state
run_once 2
python3 - "$dir/out1" "$dir/out2" <<'PY' || fail "accumulator persistence"
import json, sys, os, glob, collections
def load(d):
    return sorted((json.loads(l) for f in glob.glob(os.path.join(d, "*.jsonl")) for l in open(f)),
                  key=lambda r: r["id"])
first, second = load(sys.argv[1]), load(sys.argv[2])
last = {}
for r in first:
    last[r["user"]] = (r["total"], r["count"])
seen = set()
for r in second:
    if r["user"] in seen:
        continue
    seen.add(r["user"])
    t, c = last[r["user"]]
    assert r["count"] == c + 1, ("count", r, c)
    assert abs(r["total"] - (t + r["amount"])) < 1e-6, ("total", r, t)
print("persistence ok")
PY
echo "t62 ok"

#!/bin/sh
# t61 — event pipeline (Source -> Transformer -> Filter -> Sink): the sink's JSONL file holds
# exactly the transformed messages the filter passes; metrics count them; SIGTERM exits 0.
. "$(dirname "$0")/gen-lib.sh"

dir=$(gen_build "$BLUEPRINTS/event_pipeline.yaml" event_pipeline)
mport=$(free_port)
start "$dir" event_pipeline METRICS_PORT=$mport SINK_DIR="$dir/out"
wait_http "http://127.0.0.1:$mport/health"
# 200 events, the filter blocks category BATCH (upper-cased by the transformer)
i=0
until grep -q 'app_messages_in_total{system="event_pipeline",component="keep_even",type="Filter"} 200' \
	"$TMPDIR_TEST/m" 2>/dev/null; do
	curl -s "http://127.0.0.1:$mport/metrics" >"$TMPDIR_TEST/m"
	i=$((i + 1)); [ $i -lt 100 ] || fail "filter did not see 200 messages"
	sleep 0.1
done
out=$dir/out/events.jsonl
# the filter's out-counter and the sink lag its in-counter: wait until the sink has written
# every message the filter let through (flush_interval 0.2 s), with a fresh snapshot each time
fout() { sed -n 's/^app_messages_out_total{system="event_pipeline",component="keep_even",type="Filter"} //p' "$TMPDIR_TEST/m"; }
i=0
until [ -n "$(fout)" ] && [ "$(fout)" -gt 0 ] && [ "$(cat "$out" 2>/dev/null | wc -l)" -eq "$(fout)" ]; do
	i=$((i + 1)); [ $i -lt 300 ] || fail "sink has $(cat "$out" 2>/dev/null | wc -l) lines, filter passed $(fout)"
	sleep 0.1
	curl -s "http://127.0.0.1:$mport/metrics" >"$TMPDIR_TEST/m"
done
stop $SYS_PID
python3 - "$out" <<'PY' || fail "sink content"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert rows, "empty sink"
ids = [r["id"] for r in rows]
assert ids == sorted(ids) and len(set(ids)) == len(ids), "order or duplicates"
assert all(r["category"] in ("WEB", "MOBILE") for r in rows), "BATCH passed or not upper-cased"
assert all(r["label"] == "event-%d" % r["id"] for r in rows), "template"
assert all(r["double"] == 2 * r["amount"] for r in rows), "numeric op"
assert all("value" not in r for r in rows), "rename"
assert 60 < len(rows) < 200, len(rows)
print(len(rows), "rows ok")
PY
n=$(wc -l <"$out")
grep -q "app_messages_out_total{system=\"event_pipeline\",component=\"keep_even\",type=\"Filter\"} $n" \
	"$TMPDIR_TEST/m" || fail "filter out-counter != sink lines ($n)"
echo "t61 ok"

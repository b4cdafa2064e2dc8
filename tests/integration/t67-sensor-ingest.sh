#!/bin/sh
# t67 — a Source on its own HTTP port: readings POSTed (objects or arrays) are enriched,
# averaged per device in batches of 3 (a partial batch closes on timeout), and written to a
# file and the console.
. "$(dirname "$0")/gen-lib.sh"

dir=$(gen_build "$BLUEPRINTS/sensor_ingest.yaml" sensors)
gport=$(free_port)
mport=$(free_port)
start "$dir" sensor_ingest GATEWAY_PORT=$gport METRICS_PORT=$mport SINK_DIR="$dir/out"
wait_http "http://127.0.0.1:$mport/health"
G=http://127.0.0.1:$gport/readings
# The object and the array go out back to back, before anything slow (python) runs: d1's
# batch of 3 must fill before the aggregator's 2 s timeout closes it as a partial one.
code1=$(curl -s -o /dev/null -w '%{http_code}' -XPOST "$G" -d '{"device":"D1","reading":30}')
code=$(curl -s -o "$TMPDIR_TEST/r" -w '%{http_code}' -XPOST "$G" \
	-d '[{"device":"D1","reading":10},{"device":"d1","reading":20},{"device":"D2","reading":7}]')
[ "$code1" = 202 ] || fail "object post: $code1"
[ "$code" = 202 ] || fail "batch post: $code"
[ "$(json 'd["accepted"]' <"$TMPDIR_TEST/r")" = 3 ] || fail "accepted count"
code=$(curl -s -o /dev/null -w '%{http_code}' -XPOST "$G" -d 'nope')
[ "$code" = 400 ] || fail "bad JSON: $code"
wait_lines "$dir/out/averages.jsonl" 2 60
stop $SYS_PID
python3 - "$dir/out/averages.jsonl" <<'PY' || fail "averages"
import json, sys
rows = {r["group"]["device"]: r for r in map(json.loads, open(sys.argv[1]))}
assert rows["d1"]["average"] == 20 and rows["d1"]["count"] == 3, rows
assert rows["d2"]["average"] == 7 and rows["d2"]["count"] == 1, rows
print("ok")
PY
grep -q '"average":20' "$dir/stdout.log" || fail "console sink"
echo "t67 ok"

#!/bin/sh
# t66 — StreamProcessor deduplication and joining: duplicate click ids are dropped, the rest
# are joined with page views (read from a file by a second Source) on the session id.
. "$(dirname "$0")/gen-lib.sh"

dir=$(gen_build "$BLUEPRINTS/clickstream.yaml" clicks)
mkdir -p "$dir/data"
for s in 1 2 3 4 5 6 7 8 9 10; do echo "{\"session_id\": $s, \"page\": \"/p$s\"}"; done >"$dir/data/views.jsonl"
mport=$(free_port)
start "$dir" clickstream METRICS_PORT=$mport SINK_DIR="$dir/out"
wait_http "http://127.0.0.1:$mport/health"
# every click has passed dedup when the source is done and the queues are empty
i=0
until curl -s "http://127.0.0.1:$mport/metrics" | grep -q 'app_messages_in_total{system="clickstream",component="dedup",type="StreamProcessor"} 40'; do
	i=$((i + 1)); [ $i -lt 100 ] || fail "dedup did not see 40 clicks"; sleep 0.1
done
sleep 0.5
stop $SYS_PID
python3 - "$dir/out/joined.jsonl" <<'PY' || fail "join/dedup"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
keys = [r["session_id"] for r in rows]
assert len(keys) == len(set(keys)), "duplicate clicks were joined: %s" % keys
assert 5 <= len(rows) <= 10, len(rows)
for r in rows:
    assert r["left"]["click_id"] == r["right"]["session_id"] == int(r["session_id"]), r
    assert r["right"]["page"] == "/p%d" % r["right"]["session_id"], r
print(len(rows), "joined")
PY
echo "t66 ok"

#!/bin/sh
# t33 — `autocoder send` through a 429 storm: the collector rate-limits the project
# (serve --rate-limit) far below what send offers, and with a batch larger than the burst
# (which could never pass whole). send waits the Retry-After, halves batches that keep being
# refused, and ends with every event stored exactly once and exit 0; the collector's metrics
# show the 429s it answered.
# ac-test: sqlite-only (provokes 429s only if the collector stores 1000 events within the 0.25 s the bucket needs to refill; the PostgreSQL writer is slower than that)
. "$(dirname "$0")/../lib.sh"

start_server --rate-limit 4000 --rate-burst 600
create_key storm
python3 -c '
import sys
with open(sys.argv[1], "w") as f:
    for i in range(6000):
        f.write("WARN queue depth %d over threshold on shard %d\n" % (i, i % 16))
' "$TMPDIR_TEST/storm.log"
"$AUTOCODER" send --dsn "$DSN" --no-state --no-progress --batch 1000 --json \
	"$TMPDIR_TEST/storm.log" >"$TMPDIR_TEST/storm.json" || fail "send exit $?: $(cat "$TMPDIR_TEST/storm.json")"
python3 - "$TMPDIR_TEST/storm.json" <<'PY' || fail "summary: $(cat "$TMPDIR_TEST/storm.json")"
import json, sys
s = json.load(open(sys.argv[1]))
assert s["complete"] and s["stored"] == 6000 and s["refused"] == 0, s
assert s["throttled"] > 0, s
print("throttled", s["throttled"], "times; stored", s["stored"])
PY
[ "$(sql "SELECT count(*), count(DISTINCT message) FROM events")" = "6000|6000" ] || fail "not exactly once"
rl=$(curl -s "$BASE/metrics" | awk '/autocoder_rejected_total\{reason="rate_limit"\}/{print $2}')
[ "${rl:-0}" -gt 0 ] || fail "the collector answered no 429 (rate_limit=$rl)"
pass "429 storm: 6000 stored once, $rl answers 429"

# a collector that is down: retries with backoff, then exit 1 naming the problem
stop_server
st=0
"$AUTOCODER" send --url "$BASE" --token "$TOKEN" --no-state --no-progress --retries 3 \
	"$TMPDIR_TEST/storm.log" >"$TMPDIR_TEST/down.out" 2>&1 || st=$?
[ $st = 1 ] || fail "collector down: exit $st"
grep -q "after 3 attempts" "$TMPDIR_TEST/down.out" || fail "down message: $(cat "$TMPDIR_TEST/down.out")"
grep -q "NOT fully delivered" "$TMPDIR_TEST/down.out" || fail "summary must say not delivered"
pass "collector down: exit 1 after 3 attempts"
echo "t33 ok"

#!/bin/sh
# Heavy cluster operations do not stall ingest: a cluster of 100,000 events is merged into
# another over HTTP while a client posts single events without pause; the merge moves events
# in chunks (one short write transaction each), so every event request answers 2xx within a
# second. Afterwards the counts, series and breakdowns add up exactly (checked with sqlite3),
# including the events posted during the merge. Prints p99/max latency and the merge time.
. "$(dirname "$0")/../lib.sh"

BIG=${T38_EVENTS:-100000}
RULES=$(cd "$(dirname "$0")/../.." && pwd)/rules
start_server --open-read --rules "$RULES"
create_key shop --role admin
AUTH="Authorization: Bearer $TOKEN"
ADMIN="Authorization: Bearer $ADMIN_TOKEN"

# --- the big cluster A (connection refused, BIG events) and B (database unreachable, 2,000)
python3 - "$TMPDIR_TEST" "$BIG" <<'PY'
import sys
d, big = sys.argv[1], int(sys.argv[2])
per = 20000
for b in range(0, big, per):
    with open(f"{d}/a{b // per:03d}.nd", "w") as f:
        for i in range(b, min(big, b + per)):
            f.write('{"message":"connection refused to db:%d","level":"error","system":"s%d","timestamp":%d}\n'
                    % (1000 + i % 50000, i % 7, 1764000000 + i * 3))
with open(f"{d}/b.nd", "w") as f:
    for i in range(2000):
        f.write('{"message":"could not reach the database after %d attempts","level":"warning","system":"s%d","timestamp":%d}\n'
                % (i, i % 3, 1764000000 + i * 90))
PY
for f in "$TMPDIR_TEST"/a*.nd "$TMPDIR_TEST/b.nd"; do
	req POST /api/v1/events -H "$AUTH" -H 'Content-Type: application/x-ndjson' --data-binary @"$f" -m 120
	expect_status 200 "batch $(basename "$f")"
done
TOTAL=$((BIG + 2000))
for _ in $(seq 1 1800); do
	[ "$(sql "SELECT COUNT(*) FROM events WHERE cluster_id IS NOT NULL")" = "$TOTAL" ] && break
	sleep 0.1
done
[ "$(sql "SELECT COUNT(*) FROM events WHERE cluster_id IS NOT NULL")" = "$TOTAL" ] || fail "events not clustered within 180 s"
A=$(sql "SELECT id FROM clusters WHERE count=$BIG")
B=$(sql "SELECT id FROM clusters WHERE count=2000")
[ -n "$A" ] && [ -n "$B" ] || fail "expected clusters of $BIG and 2000: $(sql "SELECT id, count, title FROM clusters")"
pass "cluster $A has $BIG events, cluster $B 2000"

# --- a client posts single events of both kinds continuously and records each latency
python3 - "$BASE" "$TOKEN" "$TMPDIR_TEST" <<'PY' &
import http.client, sys, time, os, urllib.parse
base, token, d = sys.argv[1], sys.argv[2], sys.argv[3]
u = urllib.parse.urlparse(base)
# one keep-alive connection: the server pins it to one of its HTTP threads, which may be
# the one the merge request arrives on
c = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
out = open(f"{d}/lat", "w")
i = 0
while not os.path.exists(f"{d}/stop"):
    msg = ("connection refused to db:%d" % (7000 + i)) if i % 2 else ("could not reach the database after %d attempts" % i)
    body = '{"message":"%s","level":"error","system":"live"}' % msg
    t0 = time.monotonic()
    try:
        c.request("POST", "/api/v1/events", body, {"Authorization": "Bearer " + token,
                                                    "Content-Type": "application/json"})
        r = c.getresponse(); r.read(); st = r.status
    except Exception as e:
        st = 0
        c = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    out.write("%d %.4f %.3f\n" % (st, time.monotonic() - t0, time.time()))
    out.flush()
    i += 1
    if not os.path.exists(f"{d}/started"):
        open(f"{d}/started", "w").close()
PY
CLIENT=$!
for _ in $(seq 1 100); do [ -e "$TMPDIR_TEST/started" ] && break; sleep 0.1; done
sleep 1   # some events before the merge too
T0=$(python3 -c 'import time; print(time.time())')
req POST /api/v1/clusters/merge -H "$ADMIN" -d "{\"into\":$B,\"from\":[$A]}" -m 300
T1=$(python3 -c 'import time; print(time.time())')
sleep 1   # and some after it
touch "$TMPDIR_TEST/stop"
wait "$CLIENT" || fail "client failed"
[ "$STATUS" = 200 ] || fail "merge: HTTP $STATUS: $BODY"
pass "merge of $BIG events"

# --- every single-event request during the merge answered 2xx within a second (3 s under
# the sanitizers, which slow the analyzer's catch-up batches after the merge ~5x; see t76)
LIMIT=1.0
[ "${AC_SANITIZE_RUN:-0}" = 1 ] && LIMIT=3.0
python3 - "$TMPDIR_TEST/lat" "$T0" "$T1" "$LIMIT" <<'PY' || fail "ingest latency during the merge"
import sys
rows = [l.split() for l in open(sys.argv[1])]
t0, t1 = float(sys.argv[2]), float(sys.argv[3])
bad = [r for r in rows if not r[0].startswith("2")]
during = sorted(float(r[1]) for r in rows if float(r[2]) >= t0 and float(r[2]) - float(r[1]) <= t1)
if bad or len(during) < 5:
    print("non-2xx: %s; %d requests during the merge" % (bad[:5], len(during))); sys.exit(1)
p99 = during[min(len(during) - 1, int(len(during) * 0.99))]
print("ok: merge took %.2f s; %d requests during it: p99 %.3f s, max %.3f s (all %d requests 2xx)"
      % (t1 - t0, len(during), p99, during[-1], len(rows)))
if during[-1] >= float(sys.argv[4]):
    sys.exit(1)
PY

# --- counts end exactly right, the live events included
LIVE=$(awk 'END{print NR}' "$TMPDIR_TEST/lat")
ALL=$((TOTAL + LIVE))
for _ in $(seq 1 600); do
	[ "$(sql "SELECT COUNT(*) FROM events WHERE cluster_id IS NOT NULL")" = "$ALL" ] && break
	sleep 0.1
done
[ "$(sql "SELECT COUNT(*) FROM events")" = "$ALL" ] || fail "stored $(sql "SELECT COUNT(*) FROM events"), expected $ALL"
[ "$(sql "SELECT COUNT(*) FROM events WHERE cluster_id IS NOT NULL")" = "$ALL" ] || fail "live events not clustered"
[ "$(sql "SELECT count FROM clusters WHERE id=$B")" = "$ALL" ] || fail "cluster $B count: $(sql "SELECT id, count, merged_into FROM clusters")"
[ "$(sql "SELECT COUNT(*) FROM events WHERE cluster_id=$B")" = "$ALL" ] || fail "events of $B: $(sql "SELECT cluster_id, COUNT(*) FROM events GROUP BY 1")"
[ "$(sql "SELECT count||','||merged_into FROM clusters WHERE id=$A")" = "0,$B" ] || fail "cluster $A: $(sql "SELECT * FROM clusters WHERE id=$A")"
[ "$(sql "SELECT SUM(count) FROM clusters")" = "$ALL" ] || fail "counts add up to $(sql "SELECT SUM(count) FROM clusters"), not $ALL"
[ "$(sql "SELECT SUM(count) FROM cluster_hourly WHERE cluster_id=$B")" = "$ALL" ] || fail "hourly series of $B"
[ "$(sql "SELECT COUNT(*) FROM cluster_hourly WHERE cluster_id=$A")" = 0 ] || fail "hourly rows left on $A"
[ "$(sql "SELECT SUM(count) FROM cluster_dims WHERE cluster_id=$B AND dim='system'")" = "$ALL" ] || fail "system breakdown of $B"
[ "$(sql "SELECT count FROM cluster_dims WHERE cluster_id=$B AND dim='system' AND value='live'")" = "$LIVE" ] || fail "live events in the breakdown"
[ "$(sql "SELECT first_seen=(SELECT MIN(timestamp) FROM events) AND last_seen=(SELECT MAX(timestamp) FROM events) FROM clusters WHERE id=$B")" = 1 ] \
	|| fail "first/last seen of $B"
[ "$(sql "SELECT COUNT(*) FROM analyzer_state WHERE key='cluster_op'")" = 0 ] || fail "operation journal left behind"
pass "counts, series, breakdowns and first/last seen add up ($ALL events, $LIVE posted during the run)"
stop_server

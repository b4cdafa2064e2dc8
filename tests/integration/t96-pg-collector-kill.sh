#!/bin/sh
# A collector on PostgreSQL killed with SIGKILL in the middle of concurrent ingest loses nothing
# it acknowledged, and resending everything afterwards (the clients' retry) stores every event
# exactly once: 2xx only after COMMIT, idempotency on (project, event_id) in event_ids.
# Then: with PostgreSQL stopped, ingest answers 503 with Retry-After (never a 2xx), and once it
# is back the same collector stores again without a restart.
. "$(dirname "$0")/../lib.sh"

[ -n "${PG_URL:-}" ] || start_pg
DB=$(pg_createdb t96)

start_server
create_key shop
AUTH="Authorization: Bearer $TOKEN"

# 4 client threads, 50 events per request, each thread its own id range; every 2xx is logged
cat > "$TMPDIR_TEST/client.py" <<'EOF'
import json, sys, threading, urllib.request
base, token, out, per_thread = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
lock = threading.Lock()
acked = open(out, "a")
def run(t):
    for start in range(0, per_thread, 50):
        ids = ["t%d-%d" % (t, i) for i in range(start, min(start + 50, per_thread))]
        body = json.dumps([{"event_id": i, "message": "event %s" % i, "level": "error"} for i in ids]).encode()
        req = urllib.request.Request(base + "/api/v1/events", data=body, method="POST",
            headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                if 200 <= r.status < 300:
                    with lock:
                        acked.write("\n".join(ids) + "\n"); acked.flush()
        except Exception:
            pass   # refused, reset or killed: not acknowledged
threads = [threading.Thread(target=run, args=(t,)) for t in range(4)]
for th in threads: th.start()
for th in threads: th.join()
EOF

: > "$TMPDIR_TEST/acked"
python3 "$TMPDIR_TEST/client.py" "$BASE" "$TOKEN" "$TMPDIR_TEST/acked" 5000 &
CLIENT=$!
# kill the collector once a good part has been acknowledged
for _ in $(seq 1 600); do
	[ "$(wc -l < "$TMPDIR_TEST/acked")" -ge 2000 ] && break
	kill -0 $CLIENT 2>/dev/null || break
	sleep 0.05
done
acked_before_kill=$(wc -l < "$TMPDIR_TEST/acked")
[ "$acked_before_kill" -ge 1 ] || fail "nothing acknowledged before the kill"
kill -KILL "$SERVER_PID"
wait "$SERVER_PID" 2>/dev/null
SERVER_PID=""
wait $CLIENT
acked=$(sort -u "$TMPDIR_TEST/acked" | wc -l)
pass "collector killed after $acked acknowledged events"

# every acknowledged event is in the database (before any resend)
sort -u "$TMPDIR_TEST/acked" > "$TMPDIR_TEST/acked.sorted"
sql "SELECT event_id FROM events" | sort > "$TMPDIR_TEST/stored"
missing=$(comm -23 "$TMPDIR_TEST/acked.sorted" "$TMPDIR_TEST/stored" | wc -l)
[ "$missing" = 0 ] || fail "$missing acknowledged events lost: $(comm -23 "$TMPDIR_TEST/acked.sorted" "$TMPDIR_TEST/stored" | head -3)"
pass "no acknowledged event lost"

# the clients resend everything to a new collector: every event once
start_server
: > "$TMPDIR_TEST/acked2"
python3 "$TMPDIR_TEST/client.py" "$BASE" "$TOKEN" "$TMPDIR_TEST/acked2" 5000
[ "$(sort -u "$TMPDIR_TEST/acked2" | wc -l)" = 20000 ] || fail "resend not fully acknowledged: $(sort -u "$TMPDIR_TEST/acked2" | wc -l)"
[ "$(sql "SELECT count(*) FROM events")" = 20000 ] || fail "events after resend: $(sql "SELECT count(*) FROM events")"
[ "$(sql "SELECT count(*) FROM (SELECT project_id, event_id FROM events GROUP BY project_id, event_id HAVING count(*) > 1) d")" = 0 ] \
	|| fail "duplicates stored"
[ "$(sql "SELECT count(*) FROM event_ids")" = 20000 ] || fail "event_ids out of step with events"
pass "20000 events stored exactly once after the resend"

# PostgreSQL down: 503 + Retry-After, nothing acknowledged; back up: stored again
as_pg "$PG_BIN/pg_ctl" -D "$PG_HOST/data" -m fast stop >/dev/null 2>&1 || fail "stopping PostgreSQL"
req POST /api/v1/events -H "$AUTH" -d '{"event_id":"down-1","message":"while down"}'
expect_status 503 "ingest while PostgreSQL is down"
expect_header "Retry-After" "503 while down"
req GET /health
expect_status 503 "health while PostgreSQL is down"
as_pg "$PG_BIN/pg_ctl" -D "$PG_HOST/data" -l "$PG_HOST/server.log" -w -t 60 \
	-o "-p $PG_PORT -k $PG_HOST -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" \
	start >/dev/null 2>&1 || fail "restarting PostgreSQL"
ok=0
for _ in $(seq 1 100); do
	req POST /api/v1/events -H "$AUTH" -d '{"event_id":"up-1","message":"back"}'
	[ "$STATUS" = 200 ] && { ok=1; break; }
	sleep 0.1
done
[ $ok = 1 ] || fail "ingest did not recover after PostgreSQL came back: $STATUS $BODY"
[ "$(sql "SELECT count(*) FROM events WHERE event_id IN ('up-1','down-1')")" = 1 ] || fail "recovery stored the wrong events"
pass "503 + Retry-After while PostgreSQL is down; stored again once it is back"
stop_server

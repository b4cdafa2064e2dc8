#!/bin/sh
# Overload: a full write queue answers 429 with Retry-After (and X-Sentry-Rate-Limits on
# Sentry routes) and the queued requests still commit; per-project rate limits; SIGTERM
# drains what was accepted.
# ac-test: sqlite-only (holds SQLite's write lock from Python to make the writer wait)
. "$(dirname "$0")/../lib.sh"

start_server --queue 4
create_key shop
AUTH="Authorization: Bearer $TOKEN"

# Hold the database's write lock from another process so the writer cannot commit.
python3 - "$DB" "$TMPDIR_TEST/locked" <<'PY' &
import sqlite3, sys, time, os
c = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=10)
c.execute("BEGIN IMMEDIATE")
open(sys.argv[2], "w").close()
time.sleep(3)
c.execute("COMMIT")
PY
LOCKER=$!
while [ ! -e "$TMPDIR_TEST/locked" ]; do sleep 0.05; done

CURLS=""
for i in 1 2 3 4; do
	curl -s -o /dev/null -w '%{http_code}\n' -H "$AUTH" -d "{\"event_id\":\"q$i\",\"message\":\"queued $i\"}" "$BASE/api/v1/events" > "$TMPDIR_TEST/q$i" &
	CURLS="$CURLS $!"
done
sleep 0.5
req POST /api/v1/events -H "$AUTH" -d '{"event_id":"q5","message":"one too many"}'
expect_status 429 "queue full"
expect_header "Retry-After" "429 has Retry-After"
expect_body queue_full "429 names the reason"
req POST "/api/$PROJECT_ID/envelope/?sentry_key=$PUBKEY" --data-binary "$(printf '{}\n{"type":"event"}\n{"message":"x"}\n')"
expect_status 429 "queue full on a Sentry route"
expect_header "X-Sentry-Rate-Limits" "Sentry 429 has X-Sentry-Rate-Limits"
wait $LOCKER
for p in $CURLS; do wait "$p"; done
for i in 1 2 3 4; do [ "$(cat "$TMPDIR_TEST/q$i")" = 200 ] || fail "queued request $i got $(cat "$TMPDIR_TEST/q$i")"; done
[ "$(sql "SELECT count(*) FROM events WHERE event_id LIKE 'q%'")" = 4 ] || fail "queued events not all stored"
[ "$(sql "SELECT count(*) FROM events WHERE event_id = 'q5'")" = 0 ] || fail "rejected event stored"
pass "queued requests committed after the lock was released; the rejected one was not stored"
req GET /metrics
expect_body 'autocoder_rejected_total{reason="queue_full"} 2' "metrics count 429s"
stop_server

# per-project rate limit: burst 3, then 429 with a Retry-After
start_server --rate-limit 0.5 --rate-burst 3
for i in 1 2 3; do
	req POST /api/v1/events -H "$AUTH" -d "{\"message\":\"r$i\"}"
	expect_status 200 "within burst $i"
done
req POST /api/v1/events -H "$AUTH" -d '{"message":"r4"}'
expect_status 429 "over the project rate limit"
expect_body rate_limited "rate limit reason"
ra=$(printf '%s' "$HEADERS" | awk -F': ' 'tolower($1)=="retry-after"{print $2}' | tr -d '\r')
[ "$ra" -ge 1 ] 2>/dev/null || fail "Retry-After '$ra'"
stop_server

# SIGTERM with requests in flight: every 2xx is stored, the server exits 0
start_server
python3 - "$BASE" "$TOKEN" "$TMPDIR_TEST/acked" <<'PY' &
import sys, json, threading, urllib.request
base, token, out = sys.argv[1:4]
acked = []
lock = threading.Lock()
def worker(w):
    for i in range(10000):
        eid = "t%d_%d" % (w, i)
        r = urllib.request.Request(base + "/api/v1/events", data=json.dumps({"event_id": eid, "message": "m"}).encode(),
                                   headers={"Authorization": "Bearer " + token})
        try:
            with urllib.request.urlopen(r, timeout=10) as resp:
                if resp.status == 200:
                    with lock: acked.append(eid)
                    if len(acked) == 1: open(out + ".first", "w").close()
        except Exception:
            return
ts = [threading.Thread(target=worker, args=(w,)) for w in range(4)]
[t.start() for t in ts]; [t.join() for t in ts]
open(out, "w").write("\n".join(acked) + "\n")
PY
CLIENT=$!
# SIGTERM once the clients are under way (python may take seconds to start on a loaded machine)
for _ in $(seq 1 600); do [ -e "$TMPDIR_TEST/acked.first" ] && break; sleep 0.1; done
sleep 0.3
kill -TERM "$SERVER_PID"
wait "$SERVER_PID"; rc=$?
SERVER_PID=""
[ $rc = 0 ] || fail "server exit code after SIGTERM: $rc"
wait $CLIENT
n=$(grep -c . "$TMPDIR_TEST/acked")
[ "$n" -gt 0 ] || fail "no request was acknowledged before SIGTERM"
grep . "$TMPDIR_TEST/acked" | sed "s/.*/'&'/" | paste -sd, > "$TMPDIR_TEST/ids"
stored=$(sql "SELECT count(*) FROM events WHERE event_id IN ($(cat "$TMPDIR_TEST/ids"))")
[ "$stored" = "$n" ] || fail "SIGTERM: $n acknowledged, $stored stored"
pass "SIGTERM drained: $n acknowledged events all stored, exit 0"

#!/bin/sh
# t24-collector-claims.sh — promises of docs/API.md that no other test held:
#  - `--open-read` is refused unless listening on loopback (exit 1, message says why);
#  - `--group N` / `--threads N`: 0 is refused; --threads 3 runs three HTTP worker threads;
#    --group 1 commits every request on its own (commit count = request count);
#  - the `X-Autocoder-Key` header and `Authorization: Sentry sentry_key=...` authenticate;
#  - timestamps must be before the year 10000 (9999-12-31T23:59:59Z and unix ms 253402300799999
#    are stored; 10000-01-01 and unix ms 253402300800000 are 400);
#  - a COMMIT that fails answers 503 and stores nothing from that request (a deferred foreign
#    key planted in the database makes COMMIT itself fail), while other requests still store;
#  - GET /health answers 503 "unavailable" when the database cannot be read, 200 again after.
# ac-test: sqlite-only (plants an SQLite trigger that fails one insert of a group)
. "$(dirname "$0")/../lib.sh"

# --- --open-read off loopback; bad --group / --threads ---
st=0; "$AUTOCODER" serve --listen 0.0.0.0:0 --open-read --db "$TMPDIR_TEST/x.db" 2>"$TMPDIR_TEST/err" || st=$?
[ $st -ne 0 ] || fail "--open-read on 0.0.0.0 was accepted"
grep -q 'open-read.*loopback' "$TMPDIR_TEST/err" || fail "--open-read refusal does not say why: $(cat "$TMPDIR_TEST/err")"
pass "--open-read on 0.0.0.0 refused (exit $st)"
for opt in --group --threads; do
	st=0; "$AUTOCODER" serve --listen 127.0.0.1:0 --db "$TMPDIR_TEST/x.db" $opt 0 2>"$TMPDIR_TEST/err" || st=$?
	[ $st -ne 0 ] || fail "$opt 0 was accepted"
	grep -q -- "$opt" "$TMPDIR_TEST/err" || fail "$opt 0: error does not name the option"
done
pass "--group 0 and --threads 0 refused"

# --- --threads 3 --group 1 ---
start_server --threads 3 --group 1
create_key claims
n=$(grep -c '^MHD-worker' /proc/$SERVER_PID/task/*/comm 2>/dev/null | awk -F: '{s += $NF} END {print s}')
[ "$n" = 3 ] || fail "--threads 3: $n HTTP worker threads ($(cat /proc/$SERVER_PID/task/*/comm | tr '\n' ' '))"
pass "--threads 3 runs 3 HTTP worker threads"
commits() { curl -s "$BASE/metrics" | awk '/^autocoder_commit_seconds_count/ {print $2}'; }
c0=$(commits)
[ -n "$c0" ] || fail "no autocoder_commit_seconds_count on /metrics"
# 12 concurrent requests of 3 events each: with --group 1 no two requests share a commit
pids=""
for i in $(seq 1 12); do
	curl -s -o /dev/null -H "X-Autocoder-Key: $TOKEN" "$BASE/api/v1/events" \
		-d "[{\"event_id\":\"g$i-1\",\"message\":\"a\"},{\"event_id\":\"g$i-2\",\"message\":\"b\"},{\"event_id\":\"g$i-3\",\"message\":\"c\"}]" &
	pids="$pids $!"
done
for p in $pids; do wait "$p"; done
[ "$(sql "SELECT count(*) FROM events WHERE event_id LIKE 'g%'")" = 36 ] || fail "not all 36 events stored"
c1=$(commits)
[ $((c1 - c0)) -eq 12 ] || fail "--group 1: $((c1 - c0)) commits for 12 requests"
pass "--group 1: 12 requests, 12 commits (X-Autocoder-Key authenticated them)"

# --- auth headers ---
req POST /api/v1/events -H "X-Autocoder-Key: $TOKEN" -d '{"event_id":"h1","message":"x"}'
expect_status 200 "X-Autocoder-Key"
req POST /api/v1/events -H "X-Autocoder-Key: act_not_a_key" -d '{"event_id":"h2","message":"x"}'
expect_status 401 "wrong X-Autocoder-Key"
req POST "/api/$PROJECT_ID/store/" -H "Authorization: Sentry sentry_version=7, sentry_key=$PUBKEY" \
	-H 'Content-Type: application/json' \
	-d '{"event_id":"5e0c1f0a2b3c4d5e6f708192a3b4c5d6","message":"from a sentry sdk","level":"error"}'
expect_status 200 "Authorization: Sentry"
req POST "/api/$PROJECT_ID/store/" -H "Authorization: Sentry sentry_version=7, sentry_key=00000000000000000000000000000000" \
	-d '{"event_id":"6e0c1f0a2b3c4d5e6f708192a3b4c5d6","message":"x"}'
expect_status 401 "wrong Authorization: Sentry key"
[ "$(sql "SELECT count(*) FROM events WHERE message = 'from a sentry sdk'")" = 1 ] || fail "Sentry event not stored"

# --- before the year 10000 ---
for ts in '"9999-12-31T23:59:59Z"' 253402300799999; do
	req POST /api/v1/events -H "Authorization: Bearer $TOKEN" -d "{\"message\":\"y\",\"timestamp\":$ts}"
	expect_status 200 "timestamp $ts"
done
for ts in '"10000-01-01T00:00:00Z"' 253402300800000; do
	req POST /api/v1/events -H "Authorization: Bearer $TOKEN" -d "{\"message\":\"y\",\"timestamp\":$ts}"
	expect_status 400 "timestamp $ts"
	expect_body timestamp "timestamp $ts"
done
[ "$(sql "SELECT count(*) FROM events WHERE message = 'y'")" = 2 ] || fail "year-10000 events stored"

# --- a COMMIT that fails: 503, nothing of the request stored, others unaffected ---
# A deferred foreign key is checked at COMMIT: the trigger makes an event "boom" violate it.
sql "CREATE TABLE t24_parent(id INTEGER PRIMARY KEY);
CREATE TABLE t24_child(pid INTEGER REFERENCES t24_parent(id) DEFERRABLE INITIALLY DEFERRED);
CREATE TRIGGER t24_boom AFTER INSERT ON events WHEN NEW.message = 'boom'
BEGIN INSERT INTO t24_child VALUES (999); END;" || fail "planting the trigger"
req POST /api/v1/events -H "Authorization: Bearer $TOKEN" \
	-d '[{"event_id":"c1","message":"fine"},{"event_id":"c2","message":"boom"}]'
expect_status 503 "a request whose COMMIT fails"
[ "$(sql "SELECT count(*) FROM events WHERE event_id IN ('c1','c2')")" = 0 ] ||
	fail "a request whose COMMIT failed left events behind"
req POST /api/v1/events -H "Authorization: Bearer $TOKEN" -d '{"event_id":"c3","message":"after"}'
expect_status 200 "the next request after a failed COMMIT"
sql "DROP TRIGGER t24_boom"
pass "failed COMMIT: 503, nothing stored; the writer goes on"

# --- /health 503 while the database cannot be read ---
req GET /health
expect_status 200 "/health"
sql "ALTER TABLE events RENAME TO t24_events_away" || fail "rename events"
req GET /health
expect_status 503 "/health without a readable events table"
expect_body '"unavailable"' "/health 503"
sql "ALTER TABLE t24_events_away RENAME TO events" || fail "rename events back"
req GET /health
expect_status 200 "/health after the table is back"
stop_server
echo "t24 ok"

#!/bin/sh
# Honest answers (issue 9): an envelope whose event items would collapse into one id is 400,
# not a 200 hiding a drop; a full disk is named in the reply and in /health (503), and ingest
# resumes once space is freed; `serve` on a read-only database refuses to start, saying so;
# HEAD works where GET does and a wrong method is 405 with Allow. Needs root (mounts a small
# tmpfs for the full and read-only disk).
# ac-test: sqlite-only (fills and remounts the file system under the SQLite file)
. "$(dirname "$0")/../lib.sh"

[ "$(id -u)" = 0 ] || fail "this test mounts a tmpfs and needs root"
MNT="$TMPDIR_TEST/mnt"
mkdir -p "$MNT"
mount -t tmpfs -o size=3m tmpfs "$MNT" || fail "cannot mount a tmpfs"
cleanup_mount() { stop_server; umount "$MNT" 2>/dev/null; }
trap cleanup_mount EXIT

start_server
create_key shop
AUTH="Authorization: Bearer $TOKEN"

# --- several event items in one envelope
ENV=$(printf '{"event_id":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","dsn":"%s"}\n{"type":"event"}\n{"message":"first"}\n{"type":"event"}\n{"message":"second"}\n' "$DSN")
req POST "/api/$PROJECT_ID/envelope/" --data-binary "$ENV"
expect_status 400 "two event items sharing the envelope's id"
expect_body duplicate_event_items "400 names the problem"
[ "$(sql "SELECT count(*) FROM events WHERE message IN ('first','second')")" = 0 ] || fail "half of the envelope was stored"
ENV=$(printf '{"dsn":"%s"}\n{"type":"event"}\n{"event_id":"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb","message":"third"}\n{"type":"event"}\n{"event_id":"cccccccccccccccccccccccccccccccc","message":"fourth"}\n' "$DSN")
req POST "/api/$PROJECT_ID/envelope/" --data-binary "$ENV"
expect_status 200 "two event items with their own ids"
[ "$(sql "SELECT count(*) FROM events WHERE message IN ('third','fourth')")" = 2 ] || fail "an event item was dropped"

# --- HEAD and 405
req HEAD /health -I; expect_status 200 "HEAD /health"
req HEAD /api/v1/events -I -H "$AUTH"; expect_status 200 "HEAD /api/v1/events"
req PUT /api/v1/events -H "$AUTH" -d '{}'; expect_status 405 "PUT on events"
expect_header "Allow: POST, GET, HEAD" "405 lists the methods"
req POST /health; expect_status 405 "POST /health"
stop_server

# --- a full disk: named in the reply and /health, and ingest resumes once space is freed
DB="$MNT/full.db"
start_server
create_key shop
AUTH="Authorization: Bearer $TOKEN"
# The filler takes most of the disk: once it is removed, the WAL's committed pages must fit into
# the database file beside the WAL itself before the WAL can be truncated (a checkpoint grows the
# database while the WAL still exists), so the space freed must exceed what the WAL holds.
head -c 2000000 /dev/zero >"$MNT/filler"
python3 -c 'import json; print("\n".join(json.dumps({"message": "fill %d " % i + "x" * 3000}) for i in range(100)))' >"$TMPDIR_TEST/batch"
full=""
for i in $(seq 1 60); do
	req POST /api/v1/events -H "$AUTH" -H 'Content-Type: application/x-ndjson' --data-binary @"$TMPDIR_TEST/batch"
	[ "$STATUS" = 200 ] || { full=1; break; }
done
[ -n "$full" ] || fail "the 3 MB disk never filled"
expect_status 503 "insert on a full disk"
expect_body "disk full" "the reply names the full disk"
case "$BODY" in *"not an error"*|*"cannot rollback"*) fail "a misleading reason: $BODY" ;; esac
req GET /health; expect_status 503 "/health on a full disk"
expect_body "disk full" "/health names the full disk"
rm -f "$MNT/filler"
ok=""
for _ in $(seq 1 100); do
	req POST /api/v1/events -H "$AUTH" -d '{"event_id":"after-full","message":"space again"}'
	[ "$STATUS" = 200 ] && { ok=1; break; }
	sleep 0.1
done
[ -n "$ok" ] || fail "ingest did not resume after space was freed: $STATUS $BODY"
# the writer checkpoints and truncates the WAL after its first good write: /health turns 200
# once that has given the space back (poll, do not sleep)
for _ in $(seq 1 100); do
	req GET /health
	[ "$STATUS" = 200 ] && break
	sleep 0.1
done
expect_status 200 "/health after space was freed"
[ "$(sql "SELECT count(*) FROM events WHERE event_id='after-full'")" = 1 ] || fail "the event after recovery is missing"
stop_server

# --- serve on a read-only database refuses to start
mount -o remount,ro "$MNT" || fail "cannot remount read-only"
if "$AUTOCODER" serve --listen 127.0.0.1:0 --db "$DB" >"$TMPDIR_TEST/ro.out" 2>&1; then
	fail "serve started on a read-only database"
fi
grep -qi "read-only" "$TMPDIR_TEST/ro.out" || fail "serve did not say the database is read-only: $(cat "$TMPDIR_TEST/ro.out")"
pass "honest answers"

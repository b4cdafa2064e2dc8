#!/bin/sh
# t91 — upgrades, backup and restore: a database written by main 71855f9 (tests/fixtures) is
# reported as pending by serve --check-db, migrated by serve (logged with from/to) and keeps
# its data; `backup` copies it while ingest runs, verified by integrity_check; the restore
# recipe of docs/OPERATIONS.md brings the copy back; a newer schema is refused clearly.
# ac-test: sqlite-only (SQLite backup, restore and file schema upgrades)
. "$(dirname "$0")/../lib.sh"
FIXTURE="$(dirname "$0")/../fixtures/main-71855f9.db"
FX_TOKEN=act_11f48cf156a68d653bb8150547aec06d4dfce0e1
cp "$FIXTURE" "$DB" || fail "copy fixture"

# 1. --check-db on the old file: versions from the binary itself, never a literal
"$AUTOCODER" serve --check-db --db "$DB" > "$TMPDIR_TEST/check" || fail "check-db on the fixture: $(cat "$TMPDIR_TEST/check")"
file_v=$(awk -F': ' '/^schema version:/{print $2}' "$TMPDIR_TEST/check")
bin_v=$(awk -F': ' '/^binary schema version:/{print $2}' "$TMPDIR_TEST/check")
[ -n "$file_v" ] && [ -n "$bin_v" ] || fail "check-db output: $(cat "$TMPDIR_TEST/check")"
[ "$(sqlite3 "$DB" 'PRAGMA user_version')" = "$file_v" ] || fail "check-db reports $file_v"
[ "$file_v" -lt "$bin_v" ] || fail "fixture schema $file_v is not older than the binary's $bin_v"
grep -q "^migration pending: yes ($file_v -> $bin_v" "$TMPDIR_TEST/check" || fail "pending not reported: $(cat "$TMPDIR_TEST/check")"
[ "$(sqlite3 "$DB" 'PRAGMA user_version')" = "$file_v" ] || fail "check-db modified the file"
pass "check-db: schema $file_v, binary $bin_v, migration pending"

# 2. serve upgrades it; the old data and key still work
start_server --rules "$(dirname "$0")/../../rules"
grep -q "\"msg\":\"migrating database schema\".*\"from\":\"$file_v\",\"to\":\"$bin_v\"" "$TMPDIR_TEST/server.log" ||
	fail "migration not logged: $(cat "$TMPDIR_TEST/server.log")"
grep -q '"msg":"migration applied"' "$TMPDIR_TEST/server.log" || fail "no per-step migration line"
grep -q "\"msg\":\"database\".*\"schema_version\":\"$bin_v\"" "$TMPDIR_TEST/server.log" || fail "startup line lacks the schema version"
[ "$(sql 'PRAGMA auto_vacuum')" = 2 ] || fail "upgraded file lacks incremental auto_vacuum"
req GET "/api/v1/events?limit=50" -H "Authorization: Bearer $FX_TOKEN"
expect_status 200 "fixture's key after the upgrade"
[ "$(printf '%s' "$BODY" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["events"]))')" = 4 ] || fail "events after upgrade: $BODY"
req GET "/api/v1/clusters" -H "Authorization: Bearer $FX_TOKEN"
expect_status 200 "fixture's clusters"
[ "$(printf '%s' "$BODY" | python3 -c 'import json,sys; print(sorted(c["count"] for c in json.load(sys.stdin)["clusters"]))')" = "[1, 1, 2]" ] ||
	fail "cluster counts after upgrade: $BODY"
"$AUTOCODER" serve --check-db --db "$DB" > "$TMPDIR_TEST/check" || fail "check-db after upgrade"
grep -q "^schema version: $bin_v$" "$TMPDIR_TEST/check" && grep -q '^migration pending: no' "$TMPDIR_TEST/check" ||
	fail "check-db after upgrade: $(cat "$TMPDIR_TEST/check")"
pass "fixture upgraded to $bin_v with its 4 events and 3 clusters"

# 3. backups while ingest runs
( n=0; while [ ! -e "$TMPDIR_TEST/stop" ]; do n=$((n + 1))
	curl -s -o /dev/null -w '%{http_code}\n' -H "Authorization: Bearer $FX_TOKEN" -H 'Content-Type: application/json' \
		--data "[{\"message\":\"during backup $n\"},{\"message\":\"during backup $n b\"}]" \
		"$BASE/api/v1/events" >> "$TMPDIR_TEST/ingest.log"; done ) &
LOOP=$!
until [ -s "$TMPDIR_TEST/ingest.log" ]; do sleep 0.05; done
for k in 1 2 3; do
	"$AUTOCODER" backup --db "$DB" --to "$TMPDIR_TEST/backup$k.db" > "$TMPDIR_TEST/backup.out" ||
		{ touch "$TMPDIR_TEST/stop"; wait $LOOP; fail "backup $k: $(cat "$TMPDIR_TEST/backup.out")"; }
	grep -q "integrity_check ok" "$TMPDIR_TEST/backup.out" || fail "backup output: $(cat "$TMPDIR_TEST/backup.out")"
	[ "$(sqlite3 "$TMPDIR_TEST/backup$k.db" 'PRAGMA integrity_check')" = ok ] || fail "backup $k is corrupt"
	sleep 0.2
done
touch "$TMPDIR_TEST/stop"
wait $LOOP
[ "$(grep -vc '^200$' "$TMPDIR_TEST/ingest.log")" = 0 ] || fail "ingest failed during backups"
b3=$(sqlite3 "$TMPDIR_TEST/backup3.db" 'SELECT count(*) FROM events')
[ "$b3" -gt 4 ] || fail "backup 3 has $b3 events: taken before the ingest?"
# a consistent snapshot: whole requests only (both events of a request, or neither)
[ $(( (b3 - 4) % 2 )) = 0 ] || fail "backup holds half a request ($b3 events)"
"$AUTOCODER" backup --db "$DB" --to "$TMPDIR_TEST/backup3.db" 2>"$TMPDIR_TEST/err" && fail "backup over an existing file"
grep -q "already exists" "$TMPDIR_TEST/err" || fail "overwrite error: $(cat "$TMPDIR_TEST/err")"
"$AUTOCODER" backup --db "$DB" --to "$TMPDIR_TEST/x.db" --json > "$TMPDIR_TEST/b.json" || fail "backup --json"
python3 -c 'import json,sys; o=json.load(open(sys.argv[1])); assert o["integrity_check"]=="ok" and o["pages"]>0' "$TMPDIR_TEST/b.json" ||
	fail "backup --json: $(cat "$TMPDIR_TEST/b.json")"
pass "3 backups during ingest ($(wc -l < "$TMPDIR_TEST/ingest.log") requests, all 200), integrity ok, $b3 events in the last"
live=$(sql 'SELECT count(*) FROM events')
stop_server

# 4. restore (docs/OPERATIONS.md): stop, move the database and its -wal/-shm away, copy, start
mkdir "$TMPDIR_TEST/old"
mv "$DB" "$TMPDIR_TEST/old/"
for f in "$DB-wal" "$DB-shm"; do [ -e "$f" ] && mv "$f" "$TMPDIR_TEST/old/"; done
cp "$TMPDIR_TEST/backup3.db" "$DB"
start_server
[ "$(sql 'SELECT count(*) FROM events')" = "$b3" ] || fail "restored database has $(sql 'SELECT count(*) FROM events') events, backup had $b3"
[ "$live" -ge "$b3" ] || fail "live $live < backup $b3"
req POST /api/v1/events -H "Authorization: Bearer $FX_TOKEN" -H 'Content-Type: application/json' --data '{"message":"after restore"}'
expect_status 200 "ingest after restore"
stop_server
pass "restored the backup ($b3 events; the live database had $live)"

# 5. a database from a newer binary is refused, by serve and by check-db
cp "$DB" "$TMPDIR_TEST/newer.db"
sqlite3 "$TMPDIR_TEST/newer.db" "PRAGMA user_version=$((bin_v + 1))"
"$AUTOCODER" serve --check-db --db "$TMPDIR_TEST/newer.db" >/dev/null 2>"$TMPDIR_TEST/err" && fail "check-db accepted a newer schema"
grep -q "downgrades are not supported" "$TMPDIR_TEST/err" || fail "check-db downgrade message: $(cat "$TMPDIR_TEST/err")"
"$AUTOCODER" serve --listen 127.0.0.1:0 --db "$TMPDIR_TEST/newer.db" 2>"$TMPDIR_TEST/err" && fail "serve ran on a newer schema"
grep -q "newer than this binary's ($bin_v)" "$TMPDIR_TEST/err" || fail "serve downgrade message: $(cat "$TMPDIR_TEST/err")"
[ "$(sqlite3 "$TMPDIR_TEST/newer.db" 'PRAGMA user_version')" = "$((bin_v + 1))" ] || fail "refused file was modified"
pass "newer schema refused"

#!/bin/sh
# `autocoder db migrate` copies an SQLite database (projects, keys, tokens, events, clusters,
# the analyzer's state, alert rules) into an empty PostgreSQL database and verifies the counts;
# a collector then serves the copy unchanged: the old keys and tokens work, the query and
# clusters APIs return what they returned on SQLite, a resent event is still a duplicate and a
# new one gets the next id. A non-empty destination and a bad URL are refused, naming why.
. "$(dirname "$0")/../lib.sh"

RULES=$(cd "$(dirname "$0")/../.." && pwd)/rules
[ -n "${PG_URL:-}" ] || start_pg
PGDB=$(pg_createdb t98)
DB="$TMPDIR_TEST/source.db"

start_server --rules "$RULES"
create_key shop
AUTH="Authorization: Bearer $TOKEN"
for i in $(seq 1 30); do
	printf '{"event_id":"m%03d","message":"payment %d for order %d failed","level":"error","system":"shop"}\n' "$i" "$i" "$((i * 7))"
done > "$TMPDIR_TEST/ev.nd"
printf '{"event_id":"x1","message":"bind 0.0.0.0:8080: Address already in use","level":"fatal","system":"edge"}\n' >> "$TMPDIR_TEST/ev.nd"
req POST /api/v1/events -H "$AUTH" -H 'Content-Type: application/x-ndjson' --data-binary @"$TMPDIR_TEST/ev.nd"
expect_status 200 "events into SQLite"
for _ in $(seq 1 100); do
	[ "$(sql "SELECT count(*) FROM events WHERE cluster_id IS NULL")" = 0 ] && break
	sleep 0.1
done
[ "$(sql "SELECT count(*) FROM events WHERE cluster_id IS NULL")" = 0 ] || fail "not clustered on SQLite"
req GET "/api/v1/clusters" -H "$AUTH"
expect_status 200 "clusters on SQLite"
CLUSTERS_SQLITE=$(printf '%s' "$BODY" | python3 -c 'import json,sys; print(sorted((c["id"], c["count"], c["title"]) for c in json.load(sys.stdin)["clusters"]))')
"$AUTOCODER" alerts add --db "$DB" --project shop --on fatal --webhook http://127.0.0.1:9/x >/dev/null \
	|| fail "alerts add"
stop_server

# --- migrate, counts verified table by table
"$AUTOCODER" db migrate --from "$DB" --to "$PGDB" --json > "$TMPDIR_TEST/migrate.json" \
	|| fail "db migrate: $(cat "$TMPDIR_TEST/migrate.json")"
for t in projects keys tokens events clusters event_grouping templates analyzer_state alert_rules; do
	a=$(sqlite3 "$DB" "SELECT count(*) FROM $t")
	b=$(psql -X -q -A -t "$PGDB" -c "SELECT count(*) FROM $t")
	[ "$a" = "$b" ] || fail "$t: $a rows in SQLite, $b in PostgreSQL"
	[ "$(python3 -c "import json; print(json.load(open('$TMPDIR_TEST/migrate.json'))['tables']['$t'])")" = "$a" ] \
		|| fail "$t: the report does not say $a rows"
done
[ "$(psql -X -q -A -t "$PGDB" -c "SELECT count(*) FROM events")" = 31 ] || fail "events not all copied"
pass "db migrate copied every table, counts equal"

# a second migrate into the now non-empty database is refused and changes nothing
if "$AUTOCODER" db migrate --from "$DB" --to "$PGDB" 2> "$TMPDIR_TEST/err"; then
	fail "migrate into a non-empty database succeeded"
fi
grep -q "empty database" "$TMPDIR_TEST/err" || fail "no reason given: $(cat "$TMPDIR_TEST/err")"
"$AUTOCODER" db migrate --from "$DB" --to "postgresql://postgres@127.0.0.1:1/nope" 2> "$TMPDIR_TEST/err" \
	&& fail "migrate to an unreachable server succeeded"
grep -q "PostgreSQL unreachable" "$TMPDIR_TEST/err" || fail "unreachable not named: $(cat "$TMPDIR_TEST/err")"
pass "non-empty or unreachable destinations refused with the reason"

# --- serve the copy
DB=$PGDB
start_server --rules "$RULES"
req GET "/api/v1/events?limit=100" -H "$AUTH"
expect_status 200 "old token reads the copy"
[ "$(printf '%s' "$BODY" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["events"]))')" = 31 ] \
	|| fail "query API on the copy: $BODY"
req GET "/api/v1/clusters" -H "$AUTH"
expect_status 200 "clusters on PostgreSQL"
CLUSTERS_PG=$(printf '%s' "$BODY" | python3 -c 'import json,sys; print(sorted((c["id"], c["count"], c["title"]) for c in json.load(sys.stdin)["clusters"]))')
[ "$CLUSTERS_PG" = "$CLUSTERS_SQLITE" ] || fail "clusters differ: $CLUSTERS_SQLITE vs $CLUSTERS_PG"
req POST /api/v1/events -H "$AUTH" -d '{"event_id":"m001","message":"payment 1 again"}'
expect_status 200 "resend of a migrated event"
expect_body '"duplicates":1' "migrated event ids stay idempotent"
req POST /api/v1/events -H "$AUTH" -d '{"event_id":"new1","message":"payment 99 for order 5 failed","level":"error","system":"shop"}'
expect_status 200 "new event after the migration"
[ "$(sql "SELECT id > (SELECT max(id) FROM events WHERE event_id <> 'new1') FROM events WHERE event_id='new1'")" = t ] \
	|| fail "the new event did not get the next id"
pass "the copy serves: tokens, query, clusters, idempotency and ids carry over"
stop_server

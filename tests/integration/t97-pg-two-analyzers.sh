#!/bin/sh
# Two `serve --rules` processes on one PostgreSQL run two analyzers; their batches take turns
# under PostgreSQL's advisory lock (core/db.h ac_db_begin_serialized), so no event is counted
# twice. The analyzer of the process that receives the events is killed with SIGKILL midway:
# the other one carries on, everything gets clustered, and the clusters (ids, keys, counts,
# titles) equal those of one analyzer on SQLite fed the same events in the same order.
. "$(dirname "$0")/../lib.sh"

RULES=$(cd "$(dirname "$0")/../.." && pwd)/rules
[ -n "${PG_URL:-}" ] || start_pg
PGDB=$(pg_createdb t97)
SQLITEDB="$TMPDIR_TEST/reference.db"

# 40 batches of 50 log events from a handful of templates with ids and numbers in them
python3 - "$TMPDIR_TEST" <<'EOF'
import json, random, sys
random.seed(97)
tpl = ["payment %d for order %d failed after %dms", "connection to db-%d refused (attempt %d of %d)",
       "user %d logged in from 10.0.%d.%d", "cache miss for key item:%d shard %d took %dus",
       "worker %d crashed with exit code %d after %d jobs"]
lv = ["error", "warning", "info", "error", "fatal"]
n = 0
for b in range(40):
    with open("%s/batch%02d.nd" % (sys.argv[1], b), "w") as f:
        for i in range(50):
            k = random.randrange(len(tpl))
            msg = tpl[k] % tuple(random.randrange(1, 5000) for _ in range(3))
            f.write(json.dumps({"event_id": "e%05d" % n, "message": msg, "level": lv[k],
                                "system": "shop", "component": "c%d" % k}) + "\n")
            n += 1
EOF

send_batch() { # base token file -> 0 when acknowledged
	curl -s -o /dev/null -w '%{http_code}' -X POST "$1/api/v1/events" -H "Authorization: Bearer $2" \
		-H 'Content-Type: application/x-ndjson' --data-binary @"$3" 2>/dev/null | grep -q '^200$'
}

# wait until every event of $DB is clustered and the analyzers' watermark reached the end
wait_clustered() {
	for _ in $(seq 1 600); do
		[ "$(sql "SELECT count(*) FROM events WHERE cluster_id IS NULL")" = 0 ] &&
		[ "$(sql "SELECT count(*) FROM events")" = 2000 ] && return 0
		sleep 0.1
	done
	fail "$1: not clustered within 60 s: $(sql "SELECT count(*) FROM events WHERE cluster_id IS NULL") of $(sql "SELECT count(*) FROM events") left"
}

clusters() { sql "SELECT id, kind, fingerprint, count, title FROM clusters ORDER BY id"; }

# --- reference: one analyzer on SQLite
DB=$SQLITEDB
start_server --rules "$RULES"
create_key shop
for f in "$TMPDIR_TEST"/batch*.nd; do send_batch "$BASE" "$TOKEN" "$f" || fail "reference batch $f"; done
wait_clustered "SQLite reference"
clusters > "$TMPDIR_TEST/clusters.sqlite"
stop_server
[ "$(wc -l < "$TMPDIR_TEST/clusters.sqlite")" -ge 5 ] || fail "reference has too few clusters"

# --- two analyzers on PostgreSQL: A takes the events, B only analyzes; A is killed midway
DB=$PGDB
start_server --rules "$RULES"
A_PID=$SERVER_PID A_BASE=$BASE
create_key shop
SERVER_PID=""
start_server --rules "$RULES"
B_BASE=$BASE
i=0
for f in "$TMPDIR_TEST"/batch*.nd; do
	i=$((i + 1))
	if [ $i -le 15 ]; then
		send_batch "$A_BASE" "$TOKEN" "$f" || fail "batch $i through A"
	else
		[ $i = 16 ] && { kill -KILL "$A_PID"; wait "$A_PID" 2>/dev/null; pass "analyzer A killed after 15 batches"; }
		send_batch "$B_BASE" "$TOKEN" "$f" || fail "batch $i through B"
	fi
done
wait_clustered "PostgreSQL, two analyzers"
clusters > "$TMPDIR_TEST/clusters.pg"
pass "B clustered everything after A was killed"
if ! cmp -s "$TMPDIR_TEST/clusters.sqlite" "$TMPDIR_TEST/clusters.pg"; then
	diff "$TMPDIR_TEST/clusters.sqlite" "$TMPDIR_TEST/clusters.pg" | head -20 >&2
	fail "clusters differ from one analyzer's on SQLite"
fi
[ "$(sql "SELECT sum(count) FROM clusters")" = 2000 ] || fail "cluster counts add up to $(sql "SELECT sum(count) FROM clusters")"
pass "clusters equal one analyzer's ($(wc -l < "$TMPDIR_TEST/clusters.pg") clusters, 2000 events, none counted twice)"
stop_server

#!/bin/sh
# t90 — retention with ingest running: old events are deleted in small transactions while
# new ones keep arriving (every ingest request succeeds), clusters keep their counts and
# history (a cluster whose last event is gone stays), per-project max-events, the file gets
# its pages back (incremental auto_vacuum) and `db stats` reports tables and projects.
# ac-test: sqlite-only (measures the SQLite file shrinking (incremental vacuum))
. "$(dirname "$0")/../lib.sh"

# 1. a project with default retention (max age 4 s here) and one limited by count only
out=$("$AUTOCODER" keys create old-app --db "$DB") || fail "keys create old-app"
TOKEN=$(printf '%s\n' "$out" | awk '/^token:/{print $2}')
out=$("$AUTOCODER" keys create counted --db "$DB") || fail "keys create counted"
TOKEN2=$(printf '%s\n' "$out" | awk '/^token:/{print $2}')
out=$("$AUTOCODER" db retention counted --db "$DB" --max-age 0 --max-events 40) || fail "db retention: $out"
[ "$out" = ok ] || fail "db retention prints '$out'"
"$AUTOCODER" db retention nosuch --db "$DB" --max-events 1 2>"$TMPDIR_TEST/err" && fail "db retention on a missing project succeeded"
grep -q "no project named 'nosuch'" "$TMPDIR_TEST/err" || fail "missing project error: $(cat "$TMPDIR_TEST/err")"
pass "per-project retention set"

start_server --rules "$(dirname "$0")/../../rules" --retention-max-age 4s --retention-interval 0.5

# 2. 1,200 old events in one cluster (more than two deletion batches) and 100 in another
python3 - "$TMPDIR_TEST/old.json" <<'PY'
import json, sys
# 2 KB of context each: the file holds megabytes of old events, so giving them back is not
# hidden by the pages that new events and the analyzer's state add meanwhile
ev = [{"message": "payment gateway timeout after %d ms" % (100 + i), "level": "error",
       "system": "shop", "context": {"pad": "p" * 2000}} for i in range(1200)]
ev += [{"message": "cache warmed in %d ms" % i, "level": "info", "system": "shop"} for i in range(100)]
json.dump(ev, open(sys.argv[1], "w"))
PY
req POST /api/v1/events -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
	--data-binary @"$TMPDIR_TEST/old.json"
expect_status 200 "1300 old events"
i=0
until [ "$(sql "SELECT count(*) FROM clusters WHERE title LIKE 'payment gateway%'")" = 1 ] &&
      [ "$(curl -s "$BASE/metrics" | awk '/^autocoder_analyzer_lag_events/{print $2}')" = 0 ]; do
	i=$((i + 1)); [ $i -lt 600 ] || fail "analyzer did not cluster the events"; sleep 0.1
done
before=$(sql "SELECT count, first_seen, last_seen FROM clusters WHERE title LIKE 'payment gateway%'")
hourly=$(sql "SELECT sum(h.count) FROM cluster_hourly h JOIN clusters c ON c.id=h.cluster_id WHERE c.title LIKE 'payment gateway%'")
[ "${before%%|*}" = 1200 ] || fail "cluster count before retention: $before"
# the events may still sit in the WAL: copy them into the file first (a passive checkpoint from
# another connection, safe while serve writes) so the size is the full one
sqlite3 "$DB" "PRAGMA wal_checkpoint(PASSIVE)" >/dev/null
size_full=$(stat -c %s "$DB")

# 3. ingest keeps running (a request every ~0.1 s) while retention deletes the old events
: > "$TMPDIR_TEST/ingest.log"
(
	n=0
	while [ ! -e "$TMPDIR_TEST/stop" ]; do
		n=$((n + 1))
		curl -s -o /dev/null -w '%{http_code} %{time_total}\n' -H "Authorization: Bearer $TOKEN" \
			-H 'Content-Type: application/json' \
			--data "[{\"message\":\"order $n placed\",\"level\":\"info\",\"system\":\"shop\"}]" \
			"$BASE/api/v1/events" >> "$TMPDIR_TEST/ingest.log"
		curl -s -o /dev/null -H "Authorization: Bearer $TOKEN2" -H 'Content-Type: application/json' \
			--data "[{\"message\":\"tick $n\",\"level\":\"info\"}]" "$BASE/api/v1/events"
		sleep 0.1
	done
) &
LOOP=$!
i=0
until [ "$(sql "SELECT count(*) FROM events WHERE message LIKE 'payment gateway%' OR message LIKE 'cache warmed%'")" = 0 ]; do
	i=$((i + 1)); [ $i -lt 600 ] || { touch "$TMPDIR_TEST/stop"; wait $LOOP; fail "old events were not deleted"; }
	sleep 0.1
done
# a few more requests after the deletions, then stop the loop
sleep 1.5
touch "$TMPDIR_TEST/stop"
wait $LOOP
pass "old events deleted while ingest ran"

total=$(wc -l < "$TMPDIR_TEST/ingest.log")
bad=$(awk '$1 != 200' "$TMPDIR_TEST/ingest.log" | wc -l)
[ "$total" -ge 5 ] || fail "only $total ingest requests ran during retention"
[ "$bad" = 0 ] || fail "$bad of $total ingest requests failed during retention: $(awk '$1 != 200' "$TMPDIR_TEST/ingest.log" | head -3)"
p99=$(sort -n -k2 "$TMPDIR_TEST/ingest.log" | awk '{a[NR]=$2} END {i=int(NR*0.99); if (i<1) i=1; print a[i]}')
pass "$total ingest requests during retention, all 200 (p99 ${p99}s, load $(cut -d' ' -f1 /proc/loadavg))"

# 4. clusters kept with their counts, first/last seen and hourly series; no orphans
after=$(sql "SELECT count, first_seen, last_seen FROM clusters WHERE title LIKE 'payment gateway%'")
[ "$after" = "$before" ] || fail "cluster changed by retention: $before -> $after"
[ "$(sql "SELECT sum(h.count) FROM cluster_hourly h JOIN clusters c ON c.id=h.cluster_id WHERE c.title LIKE 'payment gateway%'")" = "$hourly" ] ||
	fail "hourly series changed by retention"
[ "$(sql "SELECT count(*) FROM event_grouping g LEFT JOIN events e ON e.id=g.event WHERE e.id IS NULL")" = 0 ] ||
	fail "event_grouping rows left for deleted events"
req GET "/api/v1/clusters" -H "Authorization: Bearer $TOKEN"
expect_status 200 "clusters after retention"
expect_body '"title":"payment gateway timeout' "cluster without events still listed"
expect_body '"count":1200' "cluster without events keeps its count"
pass "cluster with no events left keeps count 1200 and its history"

# 5. the count-limited project keeps at most 40 events
i=0
until [ "$(sql "SELECT count(*) FROM events e JOIN projects p ON p.id=e.project_id WHERE p.name='counted'")" -le 40 ]; do
	i=$((i + 1)); [ $i -lt 300 ] || fail "max-events not applied"; sleep 0.1
done
pass "max-events 40 applied to project 'counted'"

# 6. the file gave its pages back; metrics and logs say what retention did
[ "$(sql 'PRAGMA auto_vacuum')" = 2 ] || fail "auto_vacuum is not incremental"
i=0
until [ "$(sql 'PRAGMA freelist_count')" -lt 16 ]; do
	i=$((i + 1)); [ $i -lt 300 ] || fail "free pages not returned: $(sql 'PRAGMA freelist_count')"; sleep 0.1
done
size_now=$(stat -c %s "$DB")
[ "$size_now" -lt "$size_full" ] || fail "file did not shrink: $size_full -> $size_now"
deleted=$(curl -s "$BASE/metrics" | awk '/^autocoder_retention_deleted_events_total/{print $2}')
[ "${deleted:-0}" -ge 1300 ] || fail "retention metric: '$deleted'"
grep -q '"msg":"retention: deleted old events"' "$TMPDIR_TEST/server.log" || fail "no retention log line"
pass "file $size_full -> $size_now bytes, $deleted deletions counted"

# 7. db stats: tables, indexes and projects (text and JSON)
"$AUTOCODER" db stats --db "$DB" > "$TMPDIR_TEST/stats" || fail "db stats"
grep -q '^events ' "$TMPDIR_TEST/stats" || fail "db stats lacks the events table: $(cat "$TMPDIR_TEST/stats")"
grep -q '^events_project_received ' "$TMPDIR_TEST/stats" || fail "db stats lacks indexes"
grep -q '^old-app ' "$TMPDIR_TEST/stats" || fail "db stats lacks the project: $(cat "$TMPDIR_TEST/stats")"
"$AUTOCODER" db stats --db "$DB" --json > "$TMPDIR_TEST/stats.json" || fail "db stats --json"
python3 - "$TMPDIR_TEST/stats.json" <<'PY' || fail "db stats --json content"
import json, sys
o = json.load(open(sys.argv[1]))
names = {t["name"] for t in o["tables"]}
assert {"events", "clusters", "cluster_hourly"} <= names, names
projects = {p["project"]: p for p in o["projects"]}
assert projects["counted"]["events"] <= 40, projects
assert o["file_bytes"] > 0 and o["schema_version"] >= 1
PY
pass "db stats"
stop_server

#!/bin/sh
# Offline analysis and the guide's golden files: fixed events (fixed timestamps) are stored by
# the server, clustered by `autocoder analyze`, and `autocoder guide --now ...` must print
# exactly tests/golden/guide/guide.md (and guide.html); `analyze --rebuild` gives the same
# clusters and the same guide. `make update-golden` (AC_UPDATE_GOLDEN=1) rewrites the golden files (review the diff).
. "$(dirname "$0")/../lib.sh"

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
GOLD=$ROOT/tests/golden/guide
NOW=2026-11-20T12:00:00Z

start_server
create_key golden
req POST /api/v1/events -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/x-ndjson' \
	--data-binary @"$GOLD/events.ndjson"
expect_status 200 "store the golden events"
expect_body '"stored":16' "all stored"
stop_server

# usage errors
"$AUTOCODER" analyze --batch 0 --db "$DB" 2>/dev/null; [ $? = 2 ] || fail "analyze --batch 0 is a usage error"
"$AUTOCODER" guide --format pdf --db "$DB" 2>/dev/null; [ $? = 2 ] || fail "guide --format pdf is a usage error"
"$AUTOCODER" guide --now yesterday --db "$DB" 2>/dev/null; [ $? = 2 ] || fail "guide --now yesterday is a usage error"
"$AUTOCODER" analyze --db "$DB" --rules "$TMPDIR_TEST/no-such-dir" 2>"$TMPDIR_TEST/err"; [ $? = 1 ] || fail "missing rules dir"
grep -q "no-such-dir" "$TMPDIR_TEST/err" || fail "missing rules dir not named: $(cat "$TMPDIR_TEST/err")"

out=$("$AUTOCODER" analyze --db "$DB" --rules "$GOLD/rules" --batch 3) || fail "analyze failed"
case "$out" in "clustered 16 events"*) ;; *) fail "analyze said: $out" ;; esac
out=$("$AUTOCODER" analyze --db "$DB" --rules "$GOLD/rules") || fail "analyze again failed"
case "$out" in "clustered 0 events"*) ;; *) fail "second analyze re-clustered: $out" ;; esac
[ "$(sql "SELECT COUNT(*) FROM events WHERE cluster_id IS NULL")" = 0 ] || fail "unclustered events"

snapshot() { sql "SELECT id, kind, fingerprint, title, rule_id, count, first_seen, last_seen FROM clusters ORDER BY id"; }
snapshot > "$TMPDIR_TEST/before"

guide() { # format output
	(cd "$ROOT" && "$AUTOCODER" guide --db "$DB" --rules tests/golden/guide/rules --now "$NOW" --format "$1" -o "$2") || fail "guide --format $1"
}
check_golden() { # produced golden-name
	if [ "${AC_UPDATE_GOLDEN:-}" = 1 ]; then
		cp "$1" "$GOLD/$2"
	fi
	diff -u "$GOLD/$2" "$1" || fail "guide differs from tests/golden/guide/$2"
	pass "golden $2"
}
guide md "$TMPDIR_TEST/guide.md"
check_golden "$TMPDIR_TEST/guide.md" guide.md
guide html "$TMPDIR_TEST/guide.html"
check_golden "$TMPDIR_TEST/guide.html" guide.html

# rebuild: same clusters, same guide
out=$("$AUTOCODER" analyze --db "$DB" --rules "$GOLD/rules" --rebuild) || fail "rebuild failed"
case "$out" in "re-clustered 16 events"*) ;; *) fail "rebuild said: $out" ;; esac
snapshot > "$TMPDIR_TEST/after"
diff -u "$TMPDIR_TEST/before" "$TMPDIR_TEST/after" || fail "rebuild changed the clusters"
guide md "$TMPDIR_TEST/guide2.md"
diff -u "$GOLD/guide.md" "$TMPDIR_TEST/guide2.md" || fail "guide changed after rebuild"

# the guide to stdout equals the file
(cd "$ROOT" && "$AUTOCODER" guide --db "$DB" --rules tests/golden/guide/rules --now "$NOW") > "$TMPDIR_TEST/stdout.md" || fail "guide to stdout"
cmp -s "$TMPDIR_TEST/stdout.md" "$GOLD/guide.md" || fail "guide on stdout differs"
# a rule change relabels on rebuild: without the golden pack no cluster has a rule
mkdir -p "$TMPDIR_TEST/no-rules"
"$AUTOCODER" analyze --db "$DB" --rules "$TMPDIR_TEST/no-rules" --rebuild >/dev/null || fail "rebuild without rules"
[ "$(sql "SELECT COUNT(*) FROM clusters WHERE rule_id IS NOT NULL")" = 0 ] || fail "labels survived a rule change"
[ "$(sql "SELECT SUM(count) FROM clusters")" = 16 ] || fail "rebuild without rules lost events"

# an empty database: nothing to cluster, a guide that says so
out=$("$AUTOCODER" analyze --db "$TMPDIR_TEST/empty.db") || fail "analyze on an empty database"
case "$out" in "clustered 0 events"*) ;; *) fail "empty analyze said: $out" ;; esac
"$AUTOCODER" guide --db "$TMPDIR_TEST/empty.db" --now "$NOW" | grep -q "No open clusters" || fail "empty guide"
pass "analyze, rebuild and guide"

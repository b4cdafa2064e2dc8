#!/bin/sh
# t44-error-grouping.sh — issue 12's error grouping through the real server: one SIGSEGV site
# reached from three callers (and through recursion of different depths) is one cluster that
# shows "reached from 3 callers"; "token expired" and "token revoked" from one site are two;
# the same message at warning and error is one cluster with both levels in its breakdown;
# a merge made over HTTP is undone by unmerge (events, counts and history go back).
. "$(dirname "$0")/../lib.sh"

RULES=$(cd "$(dirname "$0")/../.." && pwd)/rules
start_server --open-read --rules "$RULES"
create_key shop --role admin
AUTH="Authorization: Bearer $TOKEN"
ADMIN="Authorization: Bearer $ADMIN_TOKEN"   # merge and unmerge change clusters

json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

wait_clustered() { # expected number of events
	for _ in $(seq 1 100); do
		[ "$(sql "SELECT COUNT(*) FROM events WHERE cluster_id IS NOT NULL")" = "$1" ] && return 0
		sleep 0.1
	done
	fail "events not clustered within 10 s: $(sql "SELECT COUNT(*), COUNT(cluster_id) FROM events")"
}

crash() { # caller depth address — crash reports list frames innermost first (backtrace order)
	frames="{\"function\":\"bucket_lookup\",\"file\":\"src/table.c\",\"line\":12,\"in_app\":true}"
	i=0
	while [ "$i" -lt "$2" ]; do
		frames="$frames,{\"function\":\"walk_tree\",\"file\":\"src/tree.c\",\"line\":$((70 + i)),\"in_app\":true}"
		i=$((i + 1))
	done
	frames="$frames,{\"function\":\"$1\",\"file\":\"src/$1.c\",\"line\":40,\"in_app\":true}"
	frames="$frames,{\"function\":\"main\",\"file\":\"src/main.c\",\"line\":9,\"in_app\":true}"
	req POST /api/v1/crashes -H "$AUTH" -d "{\"signal\":\"SIGSEGV\",\"fault_address\":\"$3\",\"system\":\"kv\",\"frames\":[$frames]}"
	expect_status 200 "crash via $1"
}
crash handle_get 1 0x10
crash handle_put 3 0x7ffd12
crash replay_log 6 0x2a
crash handle_get 2 0x99

err() { # message level
	req POST /api/v1/events -H "$AUTH" -d "{\"message\":\"$1\",\"level\":\"$2\",\"system\":\"auth\",\"exception\":{\"type\":\"AuthError\",\"value\":\"$1\",\"frames\":[{\"function\":\"login\",\"in_app\":true},{\"function\":\"check_token\",\"in_app\":true}]}}"
	expect_status 200 "$1"
}
err "token expired for session 4711" error
err "token expired for session 815" error
err "token revoked for session 4711" error
req POST /api/v1/events -H "$AUTH" -d '{"message":"disk almost full on volume data","level":"warning","system":"store"}'
req POST /api/v1/events -H "$AUTH" -d '{"message":"disk almost full on volume data","level":"error","system":"store"}'
expect_status 200 "disk error"
wait_clustered 9

req GET "/api/v1/clusters?kind=crash"
expect_status 200 "crash clusters"
[ "$(printf '%s' "$BODY" | json 'd["total"]')" = 1 ] || fail "one crash site should be one cluster: $BODY"
CRASH=$(printf '%s' "$BODY" | json 'd["clusters"][0]["id"]')
req GET "/api/v1/clusters/$CRASH"
[ "$(printf '%s' "$BODY" | json 'd["count"], d["reached_from"], sorted(d["dims"]["caller"].items())')" = \
  "4 3 [('walk_tree < handle_get < main', 2), ('walk_tree < handle_put < main', 1), ('walk_tree < replay_log < main', 1)]" ] || fail "callers breakdown: $BODY"
[ "$(printf '%s' "$BODY" | json 'd["title"]')" = "SIGSEGV in bucket_lookup" ] || fail "crash title: $BODY"

req GET "/api/v1/clusters?q=token"
[ "$(printf '%s' "$BODY" | json 'sorted(c["count"] for c in d["clusters"])')" = "[1, 2]" ] || fail "expired/revoked: $BODY"
REVOKED=$(printf '%s' "$BODY" | json '[c["id"] for c in d["clusters"] if c["count"] == 1][0]')
EXPIRED=$(printf '%s' "$BODY" | json '[c["id"] for c in d["clusters"] if c["count"] == 2][0]')

req GET "/api/v1/clusters?q=disk"
[ "$(printf '%s' "$BODY" | json 'd["total"], d["clusters"][0]["count"]')" = "1 2" ] || fail "level split a cluster: $BODY"
DISK=$(printf '%s' "$BODY" | json 'd["clusters"][0]["id"]')
req GET "/api/v1/clusters/$DISK"
[ "$(printf '%s' "$BODY" | json 'sorted(d["dims"]["level"])')" = "['error', 'warning']" ] || fail "level breakdown: $BODY"

# merge the two token clusters, then undo it
req POST /api/v1/clusters/merge -H "$ADMIN" -d "{\"into\": $EXPIRED, \"from\": [$REVOKED]}"
expect_status 200 "merge"
[ "$(printf '%s' "$BODY" | json 'd["count"]')" = 3 ] || fail "merge count: $BODY"
req POST "/api/v1/clusters/$REVOKED/unmerge" -H "$AUTH"
expect_status 403 "unmerge with a read token"
req POST "/api/v1/clusters/$REVOKED/unmerge" -H "$ADMIN"
expect_status 200 "unmerge"
[ "$(printf '%s' "$BODY" | json 'd["count"], d["merged_into"], sum(h["count"] for h in d["hourly"])')" = "1 None 1" ] \
	|| fail "unmerged cluster: $BODY"
req GET "/api/v1/clusters/$EXPIRED"
[ "$(printf '%s' "$BODY" | json 'd["count"], sum(h["count"] for h in d["hourly"])')" = "2 2" ] || fail "survivor after unmerge: $BODY"
[ "$(sql "SELECT COUNT(*) FROM events WHERE cluster_id=$REVOKED")" = 1 ] || fail "event did not return"
req POST "/api/v1/clusters/$REVOKED/unmerge" -H "$ADMIN"
expect_status 400 "unmerge of a cluster that is not merged"
printf '%s' "$BODY" | grep -q not_merged || fail "error names the problem: $BODY"
req POST "/api/v1/clusters/99999/unmerge" -H "$ADMIN"
expect_status 404 "unmerge of an unknown cluster"

stop_server

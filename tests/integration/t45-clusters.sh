#!/bin/sh
# Online clustering through the real server: events with ids, numbers and different crash
# sites posted over HTTP are clustered by the analyzer thread within a few seconds; the
# cluster API lists, filters and details them; status changes (with a regression), merge,
# split and the guide work over HTTP; bad input gets 400/404 naming the problem.
. "$(dirname "$0")/../lib.sh"

RULES=$(cd "$(dirname "$0")/../.." && pwd)/rules
start_server --open-read --rules "$RULES"
create_key shop --role admin
AUTH="Authorization: Bearer $TOKEN"
ADMIN="Authorization: Bearer $ADMIN_TOKEN"   # cluster changes need an admin token

json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

# wait until every stored event has a cluster (max 5 s)
wait_clustered() {
	for _ in $(seq 1 50); do
		[ "$(sql "SELECT COUNT(*) FROM events WHERE cluster_id IS NULL")" = 0 ] && return 0
		sleep 0.1
	done
	fail "events not clustered within 5 s: $(sql "SELECT id, message FROM events WHERE cluster_id IS NULL")"
}

# --- ids and numbers in messages: one group; different crash sites: two groups
for i in 1 2 3 4 5 6; do
	printf '{"message":"payment %s for order %s failed after %sms","level":"error","system":"shop","component":"pay","release":"1.%s"}\n' \
		"$(python3 -c 'import uuid; print(uuid.uuid4())')" "$((i * 7919))" "$((i * 13))" "$((i % 2))"
done > "$TMPDIR_TEST/pay.nd"
req POST /api/v1/events -H "$AUTH" -H 'Content-Type: application/x-ndjson' --data-binary @"$TMPDIR_TEST/pay.nd"
expect_status 200 "payment errors"
req POST /api/v1/events -H "$AUTH" -d '{"message":"bind 0.0.0.0:8080: Address already in use","level":"error","system":"billing"}'
expect_status 200 "port conflict"
crash() { # function address system
	req POST /api/v1/crashes -H "$AUTH" -d "{\"signal\":\"SIGSEGV\",\"fault_address\":\"$2\",\"thread\":\"io\",\"system\":\"$3\",\"frames\":[{\"function\":\"$1\",\"file\":\"src/http.c\",\"line\":$((${#2} * 3)),\"in_app\":true},{\"function\":\"main\",\"file\":\"src/main.c\",\"line\":9,\"in_app\":true}]}"
	expect_status 200 "crash in $1"
}
crash parse_header 0x10 edge
crash parse_header 0x7ffd12 edge2
crash parse_body 0x10 edge
wait_clustered

req GET "/api/v1/clusters"
expect_status 200 "list clusters"
[ "$(printf '%s' "$BODY" | json 'd["total"]')" = 4 ] || fail "expected 4 clusters: $BODY"
[ "$(printf '%s' "$BODY" | json 'd["clusters"][0]["count"]')" = 6 ] || fail "payment errors not one cluster of 6: $BODY"
PAY=$(printf '%s' "$BODY" | json 'd["clusters"][0]["id"]')
[ "$(printf '%s' "$BODY" | json 'd["clusters"][0]["template"]')" = "payment <UUID> for order <NUM> failed after <DUR>" ] || fail "template: $BODY"
req GET "/api/v1/clusters?kind=crash&sort=last_seen"
[ "$(printf '%s' "$BODY" | json 'd["total"]')" = 2 ] || fail "crash sites merged or lost: $BODY"
[ "$(printf '%s' "$BODY" | json '" ".join(sorted(c["title"] for c in d["clusters"]))')" = "SIGSEGV in parse_body SIGSEGV in parse_header" ] || fail "crash titles: $BODY"
HDR=$(printf '%s' "$BODY" | json '[c["id"] for c in d["clusters"] if c["title"]=="SIGSEGV in parse_header"][0]')
BODYC=$(printf '%s' "$BODY" | json '[c["id"] for c in d["clusters"] if c["title"]=="SIGSEGV in parse_body"][0]')
req GET "/api/v1/clusters?q=Address&status=open"
[ "$(printf '%s' "$BODY" | json 'd["clusters"][0]["rule_id"]')" = "posix.addr-in-use" ] || fail "rule label: $BODY"
PORTC=$(printf '%s' "$BODY" | json 'd["clusters"][0]["id"]')
req GET "/api/v1/clusters?system=edge2"
[ "$(printf '%s' "$BODY" | json 'd["total"]')" = 1 ] || fail "system filter: $BODY"
req GET "/api/v1/clusters?limit=1&offset=1&sort=trend"
[ "$(printf '%s' "$BODY" | json 'len(d["clusters"]), d["next_offset"]')" = "1 2" ] || fail "paging: $BODY"

# --- detail: rule, events with explanations, hourly series, breakdowns
req GET "/api/v1/clusters/$PORTC"
expect_status 200 "cluster detail"
[ "$(printf '%s' "$BODY" | json 'd["rule"]["id"], len(d["rule"]["fix"]) > 0')" = "posix.addr-in-use True" ] || fail "detail rule: $BODY"
printf '%s' "$BODY" | json 'd["grouping"]["explanation"]' | grep -q "matched rule posix.addr-in-use" || fail "explanation: $BODY"
req GET "/api/v1/clusters/$PAY?events=2"
[ "$(printf '%s' "$BODY" | json 'len(d["events"]), sum(h["count"] for h in d["hourly"]), sorted(d["dims"]["release"].items())')" = "2 6 [('1.0', 3), ('1.1', 3)]" ] \
	|| fail "payment detail: $BODY"
printf '%s' "$BODY" | json 'd["events"][0]["explanation"]' | grep -q "message template" || fail "event explanation: $BODY"

# --- status: resolve, then a new event reopens it as a regression
req POST "/api/v1/clusters/$PAY/status" -H "$ADMIN" -d '{"status":"resolved"}'
expect_status 200 "resolve"
[ "$(printf '%s' "$BODY" | json 'd["status"]')" = resolved ] || fail "not resolved: $BODY"
req POST /api/v1/events -H "$AUTH" -d '{"message":"payment 0b7a3c4e-1a2b-4c3d-9e8f-001122334455 for order 99 failed after 5ms","level":"error","system":"shop"}'
wait_clustered
req GET "/api/v1/clusters/$PAY"
[ "$(printf '%s' "$BODY" | json 'd["status"], d["regressed_at"] is not None, d["count"]')" = "open True 7" ] || fail "no regression: $BODY"
req POST "/api/v1/clusters/$PORTC/status" -H "$ADMIN" -d '{"status":"ignored"}'
expect_status 200 "ignore"
req GET "/api/v1/clusters?status=ignored"
[ "$(printf '%s' "$BODY" | json 'd["total"]')" = 1 ] || fail "status filter: $BODY"

# --- merge the two crash sites, then split them apart again
req POST /api/v1/clusters/merge -H "$ADMIN" -d "{\"into\":$HDR,\"from\":[$BODYC]}"
expect_status 200 "merge"
[ "$(printf '%s' "$BODY" | json 'd["count"]')" = 3 ] || fail "merged count: $BODY"
req GET "/api/v1/clusters/$BODYC"
[ "$(printf '%s' "$BODY" | json 'd["merged_into"]')" = "$HDR" ] || fail "merged_into: $BODY"
crash parse_body 0x99 edge3
wait_clustered
req GET "/api/v1/clusters/$HDR"
[ "$(printf '%s' "$BODY" | json 'd["count"]')" = 4 ] || fail "a merged key's new event did not go to the target: $BODY"
req POST "/api/v1/clusters/$HDR/split" -H "$ADMIN"
expect_status 200 "split"
[ "$(printf '%s' "$BODY" | json 'len(d["children"])')" -ge 2 ] || fail "split children: $BODY"
req GET "/api/v1/clusters?kind=crash"
[ "$(printf '%s' "$BODY" | json 'sum(c["count"] for c in d["clusters"])')" = 4 ] || fail "split lost events: $BODY"

# --- guide over HTTP
req GET "/api/v1/guide"
expect_status 200 "guide md"
expect_header "Content-Type: text/markdown" "guide content type"
expect_body "# Debugging guide" "guide title"
expect_body "## Known problems" "guide known"
expect_body "Segmentation fault" "guide rule title"
expect_body "## Unknown patterns" "guide unknown"
expect_body "id: local.cluster-$PAY" "guide suggested rule"
req GET "/api/v1/guide?format=html"
expect_status 200 "guide html"
expect_body "<h1>Debugging guide</h1>" "guide html body"

# --- bad input names the problem
req GET /api/v1/clusters/abc;                 expect_status 400 "bad id";       expect_body "positive integer" "bad id"
req GET /api/v1/clusters/999;                 expect_status 404 "missing";      expect_body "no cluster 999" "missing"
req GET "/api/v1/clusters?sort=loudest";      expect_status 400 "bad sort";     expect_body "loudest" "bad sort"
req GET "/api/v1/clusters?level=loud";        expect_status 400 "bad level"
req GET "/api/v1/guide?format=pdf";           expect_status 400 "bad format"
req POST "/api/v1/clusters/$PAY/status" -H "$ADMIN" -d '{"status":"closed"}'; expect_status 400 "bad status"; expect_body "resolved" "bad status"
req POST "/api/v1/clusters/$PAY/status" -H "$ADMIN" -d 'nope';               expect_status 400 "bad json"
req POST /api/v1/clusters/merge -H "$ADMIN" -d '{"into":1}';                 expect_status 400 "merge without from"; expect_body "from" "merge"
req POST /api/v1/clusters/merge -H "$ADMIN" -d "{\"into\":$PAY,\"from\":[$PAY]}"; expect_status 400 "merge into itself"
req POST /api/v1/clusters/merge -H "$ADMIN" -d "{\"into\":$PAY,\"from\":[$BODYC]}"; expect_status 400 "merge a merged cluster"; expect_body "merged into" "merged"
req POST "/api/v1/clusters/$PORTC/split" -H "$ADMIN";     expect_status 400 "nothing to split"; expect_body "cannot be split" "split"

# --- a token sees only its project; without --open-read a token is required
create_key other
req GET /api/v1/clusters -H "Authorization: Bearer $TOKEN"
[ "$(printf '%s' "$BODY" | json 'd["total"]')" = 0 ] || fail "other project sees clusters: $BODY"
req GET "/api/v1/clusters/$PAY" -H "Authorization: Bearer $TOKEN"; expect_status 404 "other project's cluster"
stop_server
start_server --rules "$RULES"
req GET /api/v1/clusters; expect_status 401 "token required"
req POST "/api/v1/clusters/$PAY/status" -d '{"status":"open"}'; expect_status 401 "token required to change"
pass "clusters over HTTP"

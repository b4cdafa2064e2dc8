#!/bin/sh
# Projects never leak into each other (issue 9): idempotency is per (project, event_id) —
# project B's event with an id project A already used is stored, not answered "duplicate";
# ids are kept as sent (only Sentry's 32-hex/UUID form is lower-cased without dashes); every
# read is scoped to the token's project; --open-read listings carry the project and filter by
# ?project=, ?cluster= and ?tag=; unknown query parameters, LIKE wildcards and NUL characters
# get honest answers.
. "$(dirname "$0")/../lib.sh"

json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
RULES=$(cd "$(dirname "$0")/../.." && pwd)/rules
start_server --open-read --rules "$RULES"
create_key alpha; A=$TOKEN; APUB=$PUBKEY; APID=$PROJECT_ID
create_key beta;  B=$TOKEN

# --- per-project idempotency
req POST /api/v1/events -H "Authorization: Bearer $A" -d '{"event_id":"order-1001","message":"alpha order","tags":{"region":"eu"}}'
expect_status 200 "alpha stores order-1001"
req POST /api/v1/events -H "Authorization: Bearer $B" -d '{"event_id":"order-1001","message":"beta order"}'
expect_status 200 "beta sends the same id"
[ "$(printf '%s' "$BODY" | json 'd["stored"], d["duplicates"]')" = "1 0" ] || fail "beta's event was answered as a duplicate: $BODY"
[ "$(sql "SELECT count(*) FROM events WHERE event_id='order-1001'")" = 2 ] || fail "beta's event was not stored"
req POST /api/v1/events -H "Authorization: Bearer $A" -d '{"event_id":"order-1001","message":"alpha again"}'
[ "$(printf '%s' "$BODY" | json 'd["stored"], d["duplicates"]')" = "0 1" ] || fail "a resend within alpha is not a duplicate: $BODY"
pass "idempotency per project"

# --- ids as sent; only the Sentry form is canonical
req POST /api/v1/events -H "Authorization: Bearer $A" -d '[{"event_id":"Case-A","message":"upper"},{"event_id":"case-a","message":"lower"}]'
expect_status 200 "Case-A and case-a"
[ "$(printf '%s' "$BODY" | json 'd["stored"], d["ids"]')" = "2 ['Case-A', 'case-a']" ] || fail "ids not kept as sent: $BODY"
req POST /api/v1/events -H "Authorization: Bearer $A" -d '{"event_id":"0B7A3C4E-1A2B-4C3D-9E8F-001122334455","message":"uuid"}'
expect_body '"0b7a3c4e1a2b4c3d9e8f001122334455"' "a dashed UUID is lower-cased without dashes"
req POST "/api/$APID/store/?sentry_key=$APUB" -d '{"event_id":"0b7a3c4e1a2b4c3d9e8f001122334455","message":"uuid again"}'
expect_status 200 "same Sentry id via store"
[ "$(sql "SELECT count(*) FROM events WHERE event_id='0b7a3c4e1a2b4c3d9e8f001122334455'")" = 1 ] || fail "the Sentry id forms were not one event"
req POST /api/v1/events -H "Authorization: Bearer $A" -d '{"event_id":"ABCDEF-not-a-uuid-but-36-characters!","message":"x"}'
expect_status 400 "bad id character"

# --- reads scoped to the token's project
req GET /api/v1/events -H "Authorization: Bearer $B"
[ "$(printf '%s' "$BODY" | json '[e["message"] for e in d["events"]]')" = "['beta order']" ] || fail "beta sees other projects: $BODY"
req GET /api/v1/events/order-1001 -H "Authorization: Bearer $B"; expect_body "beta order" "beta's order-1001 is beta's"
req GET /api/v1/events/order-1001 -H "Authorization: Bearer $A"; expect_body "alpha order" "alpha's order-1001 is alpha's"
req GET /api/v1/events/case-a -H "Authorization: Bearer $B"; expect_status 404 "beta cannot read alpha's event"
req GET "/api/v1/events?project=alpha" -H "Authorization: Bearer $B"; expect_status 403 "beta may not ask for alpha"

# --- open read: every listing carries the project; filters
req GET /api/v1/events
[ "$(printf '%s' "$BODY" | json 'all(e.get("project") in ("alpha","beta") for e in d["events"]) and len(d["events"]) >= 5')" = True ] ||
	fail "open-read listing lacks the project: $BODY"
req GET "/api/v1/events?project=beta"
[ "$(printf '%s' "$BODY" | json '[e["message"] for e in d["events"]]')" = "['beta order']" ] || fail "?project=beta: $BODY"
req GET "/api/v1/events?tag=region:eu"
[ "$(printf '%s' "$BODY" | json '[e["message"] for e in d["events"]]')" = "['alpha order']" ] || fail "?tag=region:eu: $BODY"
req GET "/api/v1/events?tag=region"; expect_status 400 "malformed tag"
for _ in $(seq 1 100); do
	CID=$(sql "SELECT cluster_id FROM events WHERE message='beta order'")
	[ -n "$CID" ] && break; sleep 0.1
done
[ -n "$CID" ] || fail "event not clustered"
req GET "/api/v1/events?cluster=$CID"
[ "$(printf '%s' "$BODY" | json '[e["message"] for e in d["events"]]')" = "['beta order']" ] || fail "?cluster=$CID: $BODY"
req GET "/api/v1/events?cluster=x"; expect_status 400 "bad cluster"
req GET "/api/v1/events?sytem=shop"; expect_status 400 "unknown parameter"
expect_body "sytem" "400 names the parameter"

# --- q= is a substring, not a LIKE pattern; NUL does not cut the text
req POST /api/v1/events -H "Authorization: Bearer $A" -d '{"message":"disk 100% full"}'
req GET "/api/v1/events?q=%25"
[ "$(printf '%s' "$BODY" | json '[e["message"] for e in d["events"]]')" = "['disk 100% full']" ] || fail "q=% matched more than the literal: $BODY"
req GET "/api/v1/events?q=_"
[ "$(printf '%s' "$BODY" | json 'len(d["events"])')" = 0 ] || fail "q=_ matched as a wildcard: $BODY"
pass "project isolation and query parameters"

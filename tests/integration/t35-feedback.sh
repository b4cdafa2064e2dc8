#!/bin/sh
# t35 — feedback ranks the fixes: POST /api/v1/clusters/<id>/feedback with the DSN key (and
# `autocoder send --feedback`), validation of the body, another project's cluster is 404, the
# per-project rate limit answers 429; the guide then orders the rule's fix steps by the Wilson
# lower bound of "worked" (step 2 above step 1), quotes the newest comments, lists the cause a
# user reported that no rule names, and `guide --stats` counts the positive feedback.
. "$(dirname "$0")/../lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)

start_server --rules "$ROOT/rules"
create_key shop
printf '{"message":"invalid JSON body","level":"error","system":"api","component":"http"}\n%.0s' 1 2 3 4 5 6 7 8 9 10 11 12 >"$TMPDIR_TEST/ev.ndjson"
"$AUTOCODER" send --dsn "$DSN" --no-state --no-progress "$TMPDIR_TEST/ev.ndjson" >/dev/null || fail "send events"
i=0
until [ -n "$(sql "SELECT id FROM clusters WHERE rule_id = 'json.parse-error' AND count = 12")" ]; do
	i=$((i + 1)); [ $i -lt 200 ] || fail "events not clustered with json.parse-error"
	sleep 0.1
done
CL=$(sql "SELECT id FROM clusters WHERE rule_id = 'json.parse-error'")

# before any feedback: the rule's order
"$AUTOCODER" guide --db "$DB" --rules "$ROOT/rules" >"$TMPDIR_TEST/g0.md" || fail "guide"
s1=$(grep -n "Log the first bytes" "$TMPDIR_TEST/g0.md" | cut -d: -f1)
s2=$(grep -n "Return 400 with the parse error" "$TMPDIR_TEST/g0.md" | cut -d: -f1)
[ -n "$s1" ] && [ -n "$s2" ] && [ "$s1" -lt "$s2" ] || fail "rule order before feedback: $s1 $s2"

# bad bodies
req POST "/api/v1/clusters/$CL/feedback" -H "Authorization: Bearer $PUBKEY" -d '{"outcome":"great"}'
expect_status 400 "unknown outcome"
expect_body invalid_outcome "names the field"
req POST "/api/v1/clusters/$CL/feedback" -H "Authorization: Bearer $PUBKEY" -d '{"outcome":"worked"}'
expect_status 400 "worked without a fix step"
req POST "/api/v1/clusters/$CL/feedback" -d '{"outcome":"worked","fix":1}'
expect_status 401 "no key"
req POST "/api/v1/clusters/abc/feedback" -H "Authorization: Bearer $PUBKEY" -d '{"outcome":"worked","fix":1}'
expect_status 400 "bad cluster id"
TOKEN1=$TOKEN; PUB1=$PUBKEY
create_key other
req POST "/api/v1/clusters/$CL/feedback" -H "Authorization: Bearer $PUBKEY" -d '{"outcome":"worked","fix":1}'
expect_status 404 "another project's cluster"
[ "$(sql "SELECT count(*) FROM cluster_feedback")" = 0 ] || fail "refused feedback stored"

# step 1 worked once and failed twice; step 2 worked 4 times: step 2 ranks first
for o in failed failed worked; do
	req POST "/api/v1/clusters/$CL/feedback" -H "Authorization: Bearer $PUB1" -d "{\"outcome\":\"$o\",\"fix\":1}"
	expect_status 201 "feedback $o on step 1 (DSN key)"
done
for n in 1 2 3; do
	"$AUTOCODER" send --dsn "$DSN" --feedback "$CL" --worked 2 --note "client sent text/plain, fixed the header $n" \
		--contact "dev$n@example.org" --url "$BASE" --token "$PUB1" >/dev/null || fail "send --feedback"
done
AUTOCODER_URL=$BASE AUTOCODER_TOKEN=$TOKEN1 "$AUTOCODER" send --feedback "$CL" --worked 2 >/dev/null || fail "send --feedback with a token"
AUTOCODER_URL=$BASE AUTOCODER_TOKEN=$TOKEN1 "$AUTOCODER" send --feedback "$CL" --other-cause \
	--note "a proxy truncated bodies over 64 KiB" >/dev/null || fail "other cause"
st=0
AUTOCODER_URL=$BASE AUTOCODER_TOKEN=$TOKEN1 "$AUTOCODER" send --feedback "$CL" --other-cause >/dev/null 2>&1 || st=$?
[ $st = 1 ] || fail "other cause without text must be refused (exit $st)"
[ "$(sql "SELECT count(*) FROM cluster_feedback WHERE project_id = (SELECT project_id FROM clusters WHERE id = $CL) AND rule_id = 'json.parse-error'")" = 8 ] || fail "stored feedback"
pass "feedback stored with project and rule"

"$AUTOCODER" guide --db "$DB" --rules "$ROOT/rules" >"$TMPDIR_TEST/g1.md" || fail "guide"
s1=$(grep -n "Log the first bytes" "$TMPDIR_TEST/g1.md" | cut -d: -f1)
s2=$(grep -n "Return 400 with the parse error" "$TMPDIR_TEST/g1.md" | cut -d: -f1)
[ "$s2" -lt "$s1" ] || fail "feedback did not reorder the fixes: $(grep -n '\[' "$TMPDIR_TEST/g1.md")"
grep -q "worked 4 of 4, 95% lower bound 0.51" "$TMPDIR_TEST/g1.md" || fail "step 2 numbers: $(grep -n 'users:' "$TMPDIR_TEST/g1.md")"
grep -q "worked 1 of 3, 95% lower bound 0.06" "$TMPDIR_TEST/g1.md" || fail "step 1 numbers"
grep -q "fixed the header 3" "$TMPDIR_TEST/g1.md" || fail "newest comment not quoted"
grep -q "a proxy truncated bodies over 64 KiB" "$TMPDIR_TEST/g1.md" || fail "other cause not listed"
pass "guide orders the fixes by feedback (Wilson), quotes comments, lists other causes"

"$AUTOCODER" guide --db "$DB" --rules "$ROOT/rules" --stats --json >"$TMPDIR_TEST/stats.json" || fail "stats"
python3 - "$TMPDIR_TEST/stats.json" <<'PY' || fail "stats: $(cat "$TMPDIR_TEST/stats.json")"
import json, sys
s = json.load(open(sys.argv[1]))
assert s["entries"] == 1 and s["backed"] == 1 and s["positive_feedback"] == 1, s
assert s["validated"] == 0 and s["all"] == 0 and s["confidence"] == 0, s
PY
m=$(curl -s "$BASE/metrics")
printf '%s\n' "$m" | grep -qx 'autocoder_guide_entries_positive_feedback 1' || fail "metrics: $(printf '%s\n' "$m" | grep guide)"
printf '%s\n' "$m" | grep -qx 'autocoder_guide_entries_backed{min_events="10"} 1' || fail "metrics backed"
printf '%s\n' "$m" | grep -qx 'autocoder_guide_confidence 0.0000' || fail "metrics confidence"
pass "guide --stats and /metrics count the entry backed and with positive feedback"

# the per-project limit: 20 at once, then 429
n=0; code=201
while [ "$code" = 201 ] && [ $n -lt 40 ]; do
	code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $PUB1" \
		-d '{"outcome":"worked","fix":2}' "$BASE/api/v1/clusters/$CL/feedback")
	n=$((n + 1))
done
[ "$code" = 429 ] || fail "no 429 after $n reports (last $code)"
req POST "/api/v1/clusters/$CL/feedback" -H "Authorization: Bearer $PUB1" -d '{"outcome":"worked","fix":2}'
expect_status 429 "feedback over the limit"
expect_header "Retry-After: [1-9]" "the 429 says when to retry"
pass "feedback is rate-limited per project (429 after $n)"

# moderation: an admin token of the feedback's project hides a report; read tokens, DSN keys
# and another project's admin cannot
FB=$(sql "SELECT max(id) FROM cluster_feedback WHERE text IS NOT NULL")
[ -n "$FB" ] || fail "no feedback with text to moderate"
ADM=$("$AUTOCODER" keys token shop --role admin --db "$DB" | awk '/^token:/{print $2}')
OTHER_ADM=$("$AUTOCODER" keys token other --role admin --db "$DB" | awk '/^token:/{print $2}')
for who in "$PUB1" "$TOKEN1"; do
	req POST "/api/v1/feedback/$FB/hide" -H "Authorization: Bearer $who" -H 'Content-Type: application/json' -d '{"hidden":true}'
	[ "$STATUS" = 401 ] || [ "$STATUS" = 403 ] || fail "moderation without an admin token: $STATUS $BODY"
done
req POST "/api/v1/feedback/$FB/hide" -H "Authorization: Bearer $OTHER_ADM" -H 'Content-Type: application/json' -d '{"hidden":true}'
expect_status 404 "another project's admin cannot hide this feedback"
[ "$(sql "SELECT hidden FROM cluster_feedback WHERE id = $FB")" = 0 ] || fail "feedback hidden by a refused request"
req POST "/api/v1/feedback/$FB/hide" -H "Authorization: Bearer $ADM" -H 'Content-Type: application/json' -d '{"hidden":true}'
expect_status 200 "the project's admin hides feedback"
[ "$(sql "SELECT hidden FROM cluster_feedback WHERE id = $FB")" = 1 ] || fail "feedback not hidden"
pass "feedback moderation needs the project's admin token"
stop_server
echo "t35 ok"

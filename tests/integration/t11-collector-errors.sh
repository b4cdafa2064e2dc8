#!/bin/sh
# Bad input, auth and limits: the right status, a JSON error naming the problem, and
# nothing stored from a rejected request.
. "$(dirname "$0")/../lib.sh"

start_server --max-event 2k --max-body 64k --max-decoded 32k
create_key shop
AUTH="Authorization: Bearer $TOKEN"
count() { sql "SELECT count(*) FROM events"; }

# auth
req POST /api/v1/events -d '{"message":"x"}'
expect_status 401 "no key"
expect_body '"error":"unauthorized"' "no key"
expect_header "WWW-Authenticate" "401 names the scheme"
req POST /api/v1/events -H "Authorization: Bearer act_wrong" -d '{"message":"x"}'
expect_status 401 "wrong key"
OTHER_TOKEN=$TOKEN; OTHER_PUB=$PUBKEY
create_key other
req POST "/api/v1/events?project=shop" -H "Authorization: Bearer $TOKEN" -d '{"message":"x"}'
expect_status 403 "key of another project (native)"
req POST "/api/1/envelope/?sentry_key=$PUBKEY" --data-binary "$(printf '{}\n{"type":"event"}\n{"message":"x"}\n')"
expect_status 403 "key of another project (sentry)"
expect_body "not '1'" "403 names the project"
req POST "/api/1/envelope/" --data-binary "$(printf '{}\n{"type":"event"}\n{"message":"x"}\n')"
expect_status 401 "sentry without any key"
req GET /api/v1/events
expect_status 401 "read without token (no --open-read)"
req GET /api/v1/events -H "$AUTH"
expect_status 200 "read with token"

# bad bodies: each names the problem and stores nothing
before=$(count)
req POST /api/v1/events -H "$AUTH" -d '{"message": "x"'
expect_status 400 "malformed JSON"; expect_body '"error":"invalid_json"' "malformed"
req POST /api/v1/events -H "$AUTH" -d '[{"event_id":"ok1","message":"fine"},{"message":42}]'
expect_status 400 "wrong type in a batch"; expect_body "event 1: field 'message' must be a string" "wrong type"
[ "$(sql "SELECT count(*) FROM events WHERE event_id='ok1'")" = 0 ] || fail "half of a bad batch was stored"
printf '{"message":"caf\377"}' > "$TMPDIR_TEST/bad-utf8"
req POST /api/v1/events -H "$AUTH" --data-binary @"$TMPDIR_TEST/bad-utf8"
expect_status 400 "invalid UTF-8"; expect_body invalid_utf8 "utf8"
python3 -c 'print("{\"message\":\"x\",\"context\":" + "["*70 + "]"*70 + "}")' > "$TMPDIR_TEST/deep"
req POST /api/v1/events -H "$AUTH" --data-binary @"$TMPDIR_TEST/deep"
expect_status 400 "nesting > 64"; expect_body too_deep "depth"
printf 'this is not gzip' > "$TMPDIR_TEST/notgz"
req POST /api/v1/events -H "$AUTH" -H 'Content-Encoding: gzip' --data-binary @"$TMPDIR_TEST/notgz"
expect_status 400 "bad gzip"; expect_body bad_encoding "gzip"
req POST /api/v1/events -H "$AUTH" -H 'Content-Encoding: br' -d '{"message":"x"}'
expect_status 415 "unknown encoding"
req POST /api/v1/events -H "$AUTH" -H 'Content-Type: application/xml' -d '<e/>'
expect_status 415 "wrong content type"
printf '\n\377\001' > "$TMPDIR_TEST/bad.pb"
req POST /v1/logs -H "$AUTH" -H 'Content-Type: application/x-protobuf' --data-binary @"$TMPDIR_TEST/bad.pb"
expect_status 400 "malformed OTLP protobuf"; expect_body "not a valid OTLP protobuf" "protobuf error names the problem"
req POST /v1/logs -H "$AUTH" -H 'Content-Type: application/xml' -d '<x/>'
expect_status 415 "OTLP wrong content type"; expect_body "application/x-protobuf" "415 names both encodings"
python3 -c 'print("{\"message\":\"" + "x"*3000 + "\"}")' > "$TMPDIR_TEST/big-event"
req POST /api/v1/events -H "$AUTH" --data-binary @"$TMPDIR_TEST/big-event"
expect_status 413 "event over --max-event"; expect_body event_too_large "413 event"
python3 -c 'print("\n".join("{\"message\":\"%s\"}" % ("y"*1000) for _ in range(80)))' > "$TMPDIR_TEST/big-body"
req POST /api/v1/events -H "$AUTH" --data-binary @"$TMPDIR_TEST/big-body"
expect_status 413 "body over --max-body"; expect_body body_too_large "413 body"
python3 -c 'print("\n".join("{\"message\":\"%s\"}" % ("z"*1000) for _ in range(40)))' | gzip > "$TMPDIR_TEST/bomb"
req POST /api/v1/events -H "$AUTH" -H 'Content-Encoding: gzip' --data-binary @"$TMPDIR_TEST/bomb"
expect_status 413 "decoded body over --max-decoded"; expect_body "after decompression" "413 decoded"
req POST /api/v1/crashes -H "$AUTH" -d '{"frames":[]}'
expect_status 400 "crash without signal"; expect_body "'signal' is required" "crash"
req POST "/api/$PROJECT_ID/envelope/?sentry_key=$PUBKEY" --data-binary "$(printf '{}\n{"type":"event","length":999}\n{}')"
expect_status 400 "envelope length past the end"
req POST /api/v1/nothing -H "$AUTH" -d '{}'
expect_status 404 "unknown path"
req DELETE /api/v1/events -H "$AUTH"
expect_status 405 "wrong method"; expect_body method_not_allowed "wrong method"
expect_header "Allow: POST, GET, HEAD" "405 lists the allowed methods"
[ "$(count)" = "$before" ] || fail "a rejected request stored something ($before -> $(count))"

# revoked key stops working (cache rechecks within 1 s)
"$AUTOCODER" keys revoke "$TOKEN" --db "$DB" >/dev/null || fail "revoke"
sleep 1.2
req POST /api/v1/events -H "Authorization: Bearer $TOKEN" -d '{"message":"x"}'
expect_status 401 "revoked key"
echo "all error checks passed"

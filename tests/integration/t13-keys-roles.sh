#!/bin/sh
# Keys carry roles (issue 9): the DSN's public key may only ingest; a read token reads; only
# an admin token changes clusters. `keys list` shows roles and never secrets; the database
# holds only SHA-256 hashes of tokens (a copied file hands out no working token); a plaintext
# token left by an older version keeps working and is hashed at start; a revoked token stops
# working within 1 s. With --open-read, reads need no token but a change needs an admin token
# or a same-origin JSON request, and Host names other than loopback ones are refused.
. "$(dirname "$0")/../lib.sh"

RULES=$(cd "$(dirname "$0")/../.." && pwd)/rules
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
start_server --rules "$RULES"
create_key shop
READ=$TOKEN
[ -n "$READ" ] && [ -n "$PUBKEY" ] && [ -n "$DSN" ] || fail "keys create printed no DSN/token"

# --- the DSN key ingests (native and Sentry) but reads nothing
req POST /api/v1/events -H "Authorization: Bearer $PUBKEY" -d '{"event_id":"dsn-1","message":"payment 77 failed","level":"error"}'
expect_status 200 "DSN key ingests (native)"
req POST "/api/$PROJECT_ID/store/?sentry_key=$PUBKEY" -d '{"message":"store via DSN","level":"error"}'
expect_status 200 "DSN key ingests (Sentry)"
for path in /api/v1/events /api/v1/events/dsn-1 /api/v1/clusters /api/v1/guide; do
	req GET "$path" -H "Authorization: Bearer $PUBKEY"
	expect_status 403 "DSN key may not read $path"
	expect_body "DSN key may only send" "403 names the reason"
done
req GET /api/v1/events -H "X-Autocoder-Key: $PUBKEY"; expect_status 403 "DSN key in X-Autocoder-Key may not read"

# --- a read token reads but changes nothing
req GET /api/v1/events -H "Authorization: Bearer $READ"; expect_status 200 "read token reads"
expect_body '"dsn-1"' "read token sees the event"
for _ in $(seq 1 100); do
	req GET /api/v1/clusters -H "Authorization: Bearer $READ"
	CID=$(printf '%s' "$BODY" | json 'd["clusters"][0]["id"] if d["clusters"] else ""')
	[ -n "$CID" ] && break
	sleep 0.1
done
[ -n "$CID" ] || fail "no cluster appeared: $BODY"
for m in "$CID/status" merge "$CID/split"; do
	req POST "/api/v1/clusters/$m" -H "Authorization: Bearer $READ" -H 'Content-Type: application/json' -d '{"status":"ignored","into":1,"from":[2]}'
	expect_status 403 "read token may not POST clusters/$m"
	expect_body "admin token" "403 says what is needed"
	req POST "/api/v1/clusters/$m" -H "Authorization: Bearer $PUBKEY" -H 'Content-Type: application/json' -d '{"status":"ignored"}'
	expect_status 403 "DSN key may not POST clusters/$m"
done
[ "$(sql "SELECT status FROM clusters WHERE id=$CID")" = open ] || fail "a refused change was applied"

# --- an admin token (keys token NAME --role admin) changes clusters
out=$("$AUTOCODER" keys token shop --role admin --db "$DB") || fail "keys token --role admin"
ADMIN=$(printf '%s\n' "$out" | awk '/^token:/{print $2}')
printf '%s\n' "$out" | grep -q '^role: *admin' || fail "keys token does not name the role: $out"
req POST "/api/v1/clusters/$CID/status" -H "Authorization: Bearer $ADMIN" -d '{"status":"ignored"}'
expect_status 200 "admin token changes status"
[ "$(sql "SELECT status FROM clusters WHERE id=$CID")" = ignored ] || fail "status not changed"
"$AUTOCODER" keys token nosuch --role admin --db "$DB" >/dev/null 2>&1 && fail "token for a missing project"
"$AUTOCODER" keys token shop --role root --db "$DB" >/dev/null 2>&1 && fail "unknown role accepted"
out=$("$AUTOCODER" keys create ops --role admin --db "$DB") || fail "keys create --role admin"
printf '%s\n' "$out" | grep -q '^admin_token: *act_' || fail "keys create --role admin printed no admin_token: $out"
printf '%s\n' "$out" | grep -q '^token: *act_' || fail "keys create --role admin printed no read token: $out"
pass "roles: DSN ingests, read token reads, admin token changes"

# --- keys list: roles, never secrets; the database file holds no secret
list=$("$AUTOCODER" keys list --db "$DB") || fail "keys list"
listj=$("$AUTOCODER" keys list --db "$DB" --json) || fail "keys list --json"
for secret in "$READ" "$ADMIN"; do
	case "$list$listj" in *"$secret"*) fail "keys list shows a secret token: $list" ;; esac
done
printf '%s\n' "$list" | grep -q "shop .* admin" || fail "keys list lacks the admin role: $list"
printf '%s\n' "$list" | grep -q "shop .* read" || fail "keys list lacks the read role: $list"
printf '%s\n' "$list" | grep -q "shop .* ingest .*$PUBKEY" || fail "keys list lacks the DSN key: $list"
[ "$(printf '%s' "$listj" | json 'sorted({k["role"] for k in d if k["project"]=="shop"})')" = "['admin', 'ingest', 'read']" ] ||
	fail "keys list --json roles: $listj"
db_dump >"$TMPDIR_TEST/dump.sql" || fail "dumping the database"
for secret in "$READ" "$ADMIN"; do
	grep -q "$secret" "$TMPDIR_TEST/dump.sql" && fail "the database file contains a token in plaintext"
	h=$(printf '%s' "$secret" | sha256sum | cut -d' ' -f1)
	[ "$(sql "SELECT count(*) FROM tokens WHERE hash='$h'")" = 1 ] || fail "token not stored as its SHA-256"
done
# a copied database: its hashes are not tokens
H=$(sql "SELECT hash FROM tokens WHERE role='admin' LIMIT 1")
req GET /api/v1/events -H "Authorization: Bearer $H"; expect_status 401 "a stored hash is no token"
pass "secrets stored hashed, listed by role only"

# --- a plaintext token from an older version keeps working and is hashed at start
stop_server
LEGACY=act_0123456789abcdef0123456789abcdef01234567
sql "INSERT INTO keys(project_id, public_key, token, scope, created_at) VALUES($PROJECT_ID, 'aaaabbbbccccddddeeeeffff00001111', '$LEGACY', 'ingest,read', 0)"
start_server --rules "$RULES"
req GET /api/v1/events -H "Authorization: Bearer $LEGACY"; expect_status 200 "an old plaintext token still reads"
expect_body '"dsn-1"' "old token sees its project"
[ "$(sql "SELECT count(*) FROM keys WHERE token='$LEGACY'")" = 0 ] || fail "the old plaintext token was left in the database"
req GET /api/v1/events -H "Authorization: Bearer $READ"; expect_status 200 "new token after restart"

# --- revocation takes effect within 1 s (the answer was just cached)
req GET /api/v1/events -H "Authorization: Bearer $READ"; expect_status 200 "token cached"
"$AUTOCODER" keys revoke "$READ" --db "$DB" >/dev/null || fail "revoke token"
sleep 1.1
req GET /api/v1/events -H "Authorization: Bearer $READ"; expect_status 401 "revoked token refused after 1 s"
req POST /api/v1/events -H "Authorization: Bearer $PUBKEY" -d '{"message":"x"}'; expect_status 200 "DSN key cached"
"$AUTOCODER" keys revoke "$PUBKEY" --db "$DB" >/dev/null || fail "revoke DSN key"
sleep 1.1
req POST /api/v1/events -H "Authorization: Bearer $PUBKEY" -d '{"message":"x"}'; expect_status 401 "revoked DSN key refused after 1 s"
"$AUTOCODER" keys list --db "$DB" | grep -q "read .*(revoked)" || fail "keys list does not show the revocation"
stop_server

# --- --open-read: reads open, changes need an admin token or a same-origin JSON request
start_server --open-read --rules "$RULES"
req GET /api/v1/clusters; expect_status 200 "open read"
req POST "/api/v1/clusters/$CID/status" -d '{"status":"open"}'
expect_status 403 "open read: change without token"
req POST "/api/v1/clusters/$CID/status" -H 'Content-Type: text/plain' -H "Origin: http://127.0.0.1:$PORT" -d '{"status":"open"}'
expect_status 403 "open read: text/plain change (CSRF form) refused"
req POST "/api/v1/clusters/$CID/status" -H 'Content-Type: application/json' -H 'Origin: http://evil.example' -d '{"status":"open"}'
expect_status 403 "open read: cross-origin JSON change refused"
[ "$(sql "SELECT status FROM clusters WHERE id=$CID")" = ignored ] || fail "a refused change was applied"
req POST "/api/v1/clusters/$CID/status" -H 'Content-Type: application/json' -H "Origin: http://127.0.0.1:$PORT" -d '{"status":"open"}'
expect_status 200 "open read: same-origin JSON change (the UI)"
req POST "/api/v1/clusters/$CID/status" -H "Authorization: Bearer $ADMIN" -d '{"status":"resolved"}'
expect_status 200 "open read: admin token change"
req GET /api/v1/events -H 'Host: attacker.example'
expect_status 403 "open read: DNS-rebinding Host refused"
req GET /api/v1/events -H "Host: localhost:$PORT"; expect_status 200 "open read: localhost Host"
pass "keys and roles"

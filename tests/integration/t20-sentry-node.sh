#!/bin/sh
# t20-sentry-node.sh — the real @sentry/node SDK (pinned in tests/clients) sends a
# captureException and a captureMessage to `autocoder serve`; both events must be in SQLite
# with exception type, value, frames (the throwing function by name, innermost last as in
# Sentry), release, environment and the message text intact, under the key's project; a third
# event over 32 KB (which the SDK sends gzip-compressed) arrives whole.
# Also: a DSN with an unknown public key must be rejected and store nothing.
set -u
. "$(dirname "$0")/coll-clients.inc.sh"
trap cleanup EXIT

need_node_clients
db="$TMPDIR_TEST/events.db"
start_server "$db"
new_key "$db" shop
mark="t20-$$-$(date +%s)"

out=$(SENTRY_DSN="$KEY_DSN" REL="shop@4.5.6" ENV_NAME="staging" MARK="$mark" \
	node "$CLIENTS_DIR/sentry.mjs") || { cat "$SERVER_LOG" >&2; fail "sentry.mjs failed: $out"; }
echo "client: $out"
exc_id=$(printf '%s' "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["exception_id"])')
msg_id=$(printf '%s' "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["message_id"])')
big_id=$(printf '%s' "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["big_id"])')

q="select count(*) from events where event_id='$exc_id'"
expect "exception event stored once" "$(sql "$db" "$q")" 1
row() { sql "$db" "select $1 from events where event_id='$2'"; }
expect "exception type" "$(row exc_type "$exc_id")" TypeError
expect "exception value" "$(row exc_value "$exc_id")" "invoice INV-7 has no lines ($mark)"
expect "exception kind" "$(row kind "$exc_id")" error
expect "exception level" "$(row level "$exc_id")" error
expect "exception release" "$(row release "$exc_id")" "shop@4.5.6"
expect "exception environment" "$(row environment "$exc_id")" staging
expect "exception project" "$(row project_id "$exc_id")" "$KEY_PROJECT"
expect "exception source" "$(row source "$exc_id")" sentry

# Frames are kept in Sentry order (outermost first): the throwing function is the last frame.
frames="json_extract(raw, '\$.exception.frames')"
nframes=$(row "json_array_length($frames)" "$exc_id")
[ "${nframes:-0}" -ge 2 ] || fail "exception has $nframes frames, want at least 2"
expect "innermost frame function" "$(row "json_extract(raw, '\$.exception.frames[#-1].function')" "$exc_id")" parseInvoiceTotal
expect "innermost frame in_app" "$(row "json_extract(raw, '\$.exception.frames[#-1].in_app')" "$exc_id")" 1
file=$(row "json_extract(raw, '\$.exception.frames[#-1].file')" "$exc_id")
case "$file" in
*sentry.mjs) echo "ok: innermost frame file = $file" ;;
*) fail "innermost frame file: got '$file', want .../sentry.mjs" ;;
esac
line=$(row "json_extract(raw, '\$.exception.frames[#-1].line')" "$exc_id")
want_line=$(grep -n 'throw new TypeError' "$CLIENTS_DIR/sentry.mjs" | cut -d: -f1)
expect "innermost frame line" "$line" "$want_line"

expect "message event stored once" "$(sql "$db" "select count(*) from events where event_id='$msg_id'")" 1
expect "message text" "$(row message "$msg_id")" "nightly export finished with warnings $mark"
expect "message level" "$(row level "$msg_id")" warning
expect "message release" "$(row release "$msg_id")" "shop@4.5.6"
expect "message environment" "$(row environment "$msg_id")" staging
expect "message has no exception" "$(row "coalesce(exc_type, 'none')" "$msg_id")" none
# The SDK gzips envelopes over 32 KB: the 40 KB extra must arrive whole.
expect "large (gzipped) event stored once" "$(sql "$db" "select count(*) from events where event_id='$big_id'")" 1
expect "large event text" "$(row message "$big_id")" "export report attached $mark"
expect "large event extra length" \
	"$(row "length(json_extract(raw, '\$.context.extra.report'))" "$big_id")" "$((40000 + ${#mark}))"
expect "events stored in total" "$(sql "$db" "select count(*) from events")" 3

# A DSN whose public key the server does not know: the SDK's sends are refused (401) and
# nothing is stored.
bad_dsn=$(printf '%s' "$KEY_DSN" | sed 's|://[0-9a-f]*@|://0123456789abcdef0123456789abcdef@|')
if out=$(SENTRY_DSN="$bad_dsn" REL="shop@4.5.6" ENV_NAME="staging" MARK="$mark-bad" \
	node "$CLIENTS_DIR/sentry.mjs" 2>&1); then
	fail "sentry.mjs with an unknown key succeeded: $out"
fi
case "$out" in
*401*) echo "ok: unknown key refused with 401" ;;
*) fail "unknown key: want 401 statuses, got: $out" ;;
esac
expect "nothing stored for the unknown key" \
	"$(sql "$db" "select count(*) from events where message like '%$mark-bad%' or exc_value like '%$mark-bad%'")" 0

stop_server TERM
expect "server exit status after SIGTERM" "$SERVER_RC" 0
echo "t20 passed"

#!/bin/sh
# t28-sentry-node-logs.sh — the current major of @sentry/node (tests/clients/current, pinned
# by its package-lock, npm ci when missing): captureException, captureMessage with
# attachStacktrace (a synthetic exception without a type: must stay a message) and
# Sentry.logger structured logs (an envelope `log` item). Every request 2xx; the exception
# with type, value, frames, release and environment; the message kind=log; each log record
# a kind=log event with level, message, typed attributes, trace id and release.
set -u
. "$(dirname "$0")/proto-clients.inc.sh"
trap cleanup EXIT

need_current_clients
db="$TMPDIR_TEST/events.db"
start_server "$db"
new_key "$db" nodeshop
mark="t28-$$-$(date +%s)"
out=$(cd "$CURRENT_DIR" && SENTRY_DSN="$KEY_DSN" REL=nodeshop@11.0.0 ENV_NAME=production MARK="$mark" \
	node sentry_logs.mjs) || { cat "$SERVER_LOG" >&2; fail "sentry_logs.mjs failed: $out"; }
echo "client: $out"

w="exc_value = 'invoice INV-9 has no lines ($mark)'"
expect "exception stored once" "$(sql "$db" "select count(*) from events where $w")" 1
expect "exception type/kind" "$(sql "$db" "select exc_type || '/' || kind from events where $w")" TypeError/error
expect "exception release/environment" "$(sql "$db" "select release || '/' || environment from events where $w")" nodeshop@11.0.0/production
expect "exception innermost frame" "$(sql "$db" "select json_extract(raw, '\$.exception.frames[#-1].function') from events where $w")" parseInvoiceTotal

w="message = 'nightly import finished $mark'"
expect "captureMessage with a synthetic exception stays a message" \
	"$(sql "$db" "select kind || '/' || level || '/' || coalesce(exc_type, 'no type') from events where $w")" log/info/no\ type
expect "the synthetic exception's stack kept in context" \
	"$(sql "$db" "select json_array_length(raw, '\$.context.stacktrace.frames') > 0 from events where $w")" 1

w="message = 'cache miss for user 42 ($mark)'"
expect "logger.warn stored as a log event" "$(sql "$db" "select kind || '/' || level || '/' || release || '/' || environment from events where $w")" log/warning/nodeshop@11.0.0/production
expect "logger.fmt template kept" "$(sql "$db" "select json_extract(raw, '\$.context.logentry.message') from events where $w")" "cache miss for user %s (%s)"
w="message = 'payment declined $mark'"
expect "logger.error stored as a log event" "$(sql "$db" "select kind || '/' || level from events where $w")" log/error
expect "log attributes keep their types" \
	"$(sql "$db" "select json_extract(raw, '\$.context.attributes.\"order.id\"') || ',' || json_type(raw, '\$.context.attributes.attempt') || ',' || json_type(raw, '\$.context.attributes.retry') from events where $w")" ORD-7,integer,true
tid=$(sql "$db" "select json_extract(raw, '\$.context.trace_id') from events where $w")
case "$tid" in
[0-9a-f][0-9a-f][0-9a-f][0-9a-f]*) echo "ok: log record has a trace id ($tid)" ;;
*) fail "log record has no trace id: '$tid'" ;;
esac

stop_server TERM
expect "server exit status after SIGTERM" "$SERVER_RC" 0
echo "t28 passed"

#!/bin/sh
# t21-otel-js.sh — the real OpenTelemetry JS log pipeline (LoggerProvider + BatchLogRecordProcessor
# + OTLPLogExporter, JSON over HTTP, pinned in tests/clients) exports an ERROR record with the
# semantic exception.* attributes and an INFO record to POST /v1/logs with a bearer token.
# Both must be in SQLite with system = service.name, release = service.version,
# environment = deployment.environment, level, message, exception type and value, the
# stack trace kept, and the key's project; the same again gzip-compressed. A wrong token must
# make the export fail and store nothing.
set -u
. "$(dirname "$0")/coll-clients.inc.sh"
trap cleanup EXIT

need_node_clients
db="$TMPDIR_TEST/events.db"
start_server "$db"
new_key "$db" billing
mark="t21-$$-$(date +%s)"

run_otel() { # TOKEN MARK
	OTLP_URL="http://127.0.0.1:$PORT/v1/logs" TOKEN="$1" SERVICE=billing-svc REL=2.7.0 \
		ENV_NAME=production MARK="$2" node "$CLIENTS_DIR/otel.mjs"
}
out=$(run_otel "$KEY_TOKEN" "$mark") || { cat "$SERVER_LOG" >&2; fail "otel.mjs failed: $out"; }
echo "client: $out"

expect "records stored" "$(sql "$db" "select count(*) from events")" 2
err_where="message = 'charge failed $mark'"
info_where="message = 'worker started $mark'"
row() { sql "$db" "select $1 from events where $2"; }
expect "error record stored once" "$(row 'count(*)' "$err_where")" 1
expect "error system" "$(row system "$err_where")" billing-svc
expect "error release" "$(row release "$err_where")" 2.7.0
expect "error environment" "$(row environment "$err_where")" production
expect "error level" "$(row level "$err_where")" error
expect "error kind" "$(row kind "$err_where")" error
expect "error exception type" "$(row exc_type "$err_where")" RangeError
expect "error exception value" "$(row exc_value "$err_where")" "amount must not be negative ($mark): -5"
expect "error project" "$(row project_id "$err_where")" "$KEY_PROJECT"
expect "error source" "$(row source "$err_where")" otlp
expect "error component (instrumentation scope)" "$(row component "$err_where")" billing.worker
expect "error custom attribute kept" \
	"$(row "json_extract(raw, '\$.context.attributes.\"order.id\"')" "$err_where")" ORD-42
stack=$(row "json_extract(raw, '\$.context.stacktrace')" "$err_where")
case "$stack" in
*"at chargeCard "*) echo "ok: stack trace kept (names chargeCard)" ;;
*) fail "stack trace of the error record does not name chargeCard: '$stack'" ;;
esac

expect "info record stored once" "$(row 'count(*)' "$info_where")" 1
expect "info system" "$(row system "$info_where")" billing-svc
expect "info release" "$(row release "$info_where")" 2.7.0
expect "info environment" "$(row environment "$info_where")" production
expect "info level" "$(row level "$info_where")" info
expect "info kind" "$(row kind "$info_where")" log
expect "info has no exception" "$(row "coalesce(exc_type, 'none')" "$info_where")" none
ts=$(row "cast(abs(timestamp - received_at) < 60 as int)" "$info_where")
expect "info timestamp from timeUnixNano (within a minute of receipt)" "$ts" 1

# The same pipeline with the exporter's gzip compression.
out=$(COMPRESSION=gzip run_otel "$KEY_TOKEN" "$mark-gz") || { cat "$SERVER_LOG" >&2; fail "otel.mjs (gzip) failed: $out"; }
expect "gzip export: records stored" \
	"$(sql "$db" "select count(*) from events where message in ('charge failed $mark-gz', 'worker started $mark-gz')")" 2
expect "gzip export: exception type" \
	"$(sql "$db" "select exc_type from events where message = 'charge failed $mark-gz'")" RangeError

# A token the server does not know: the exporter reports failure, nothing is stored.
if out=$(run_otel "act_not_a_real_token" "$mark-bad" 2>&1); then
	fail "otel.mjs with a wrong token succeeded: $out"
fi
echo "ok: wrong token refused ($(printf '%s' "$out" | tail -n 1))"
expect "nothing stored for the wrong token" "$(sql "$db" "select count(*) from events where message like '%$mark-bad%'")" 0

stop_server TERM
expect "server exit status after SIGTERM" "$SERVER_RC" 0
echo "t21 passed"

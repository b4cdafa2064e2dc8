#!/bin/sh
# t29-otel-proto.sh — OpenTelemetry JS log pipelines with the stock OTLP exporters
# (@opentelemetry/exporter-logs-otlp-proto and -otlp-http, the newest line that runs on
# Debian's Node 20, pinned in tests/clients/current): protobuf, protobuf + gzip and JSON + gzip
# to POST /v1/logs. Every export must succeed; each ERROR record stored as an error event with
# system/release/environment from the resource, exception type and value, frames parsed from
# exception.stacktrace (chargeCard innermost), attribute types kept (int, double, bool, array,
# map) — the same for both encodings — and the INFO record as a log event.
set -u
. "$(dirname "$0")/proto-clients.inc.sh"
trap cleanup EXIT

need_current_clients
db="$TMPDIR_TEST/events.db"
start_server "$db"
new_key "$db" billing
mark="t29-$$-$(date +%s)"

run_otel() { # EXPORTER COMPRESSION MARK
	(cd "$CURRENT_DIR" && OTLP_URL="http://127.0.0.1:$PORT/v1/logs" TOKEN="$KEY_TOKEN" SERVICE=billing-svc \
		REL=3.0.0 ENV_NAME=production EXPORTER="$1" COMPRESSION="$2" MARK="$3" node otel_logs.mjs)
}

for run in proto:none proto:gzip http:gzip; do
	exp=${run%%:*}
	comp=${run#*:}
	m="$mark-$exp-$comp"
	out=$(run_otel "$exp" "$comp" "$m") || { cat "$SERVER_LOG" >&2; fail "otel_logs.mjs ($run) failed: $out"; }
	echo "client ($run): $out"
	w="message = 'charge failed $m'"
	expect "$run: error record stored once" "$(sql "$db" "select count(*) from events where $w")" 1
	expect "$run: system/release/environment" "$(sql "$db" "select system || '/' || release || '/' || environment from events where $w")" billing-svc/3.0.0/production
	expect "$run: kind/level/type" "$(sql "$db" "select kind || '/' || level || '/' || exc_type from events where $w")" error/error/RangeError
	expect "$run: exception value" "$(sql "$db" "select exc_value from events where $w")" "amount must not be negative ($m): -5"
	expect "$run: innermost frame from the stack text" \
		"$(sql "$db" "select json_extract(raw, '\$.exception.frames[#-1].function') || ':' || json_extract(raw, '\$.exception.frames[#-1].in_app') from events where $w")" chargeCard:1
	expect "$run: attribute types kept" \
		"$(sql "$db" "select json_type(raw, '\$.context.attributes.\"amount.cents\"') || ',' || json_type(raw, '\$.context.attributes.\"fee.ratio\"') || ',' || json_type(raw, '\$.context.attributes.retry') || ',' || json_extract(raw, '\$.context.attributes.tags[1]') || ',' || json_extract(raw, '\$.context.attributes.card.last4') from events where $w")" integer,real,true,b,4242
	expect "$run: project" "$(sql "$db" "select project_id from events where $w")" "$KEY_PROJECT"
	w="message = 'worker started $m'"
	expect "$run: info record" "$(sql "$db" "select kind || '/' || level || '/' || json_extract(raw, '\$.context.attributes.\"queue.depth\"') from events where $w")" log/info/3
done
expect "the encodings fingerprint alike (same frames)" \
	"$(sql "$db" "select count(distinct json_extract(raw, '\$.exception.frames')) from events where message like 'charge failed $mark-%'")" 1

stop_server TERM
expect "server exit status after SIGTERM" "$SERVER_RC" 0
echo "t29 passed"

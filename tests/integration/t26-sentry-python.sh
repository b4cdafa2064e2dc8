#!/bin/sh
# t26-sentry-python.sh — Debian's python3-sentry-sdk (pinned, installed with apt when missing)
# sends through its stock transport (gzip, X-Sentry-Auth) an exception (/store/), a
# logging.error with %-params (the logging integration's logentry), a message with an
# attachment (/envelope/) and a session; every request must be answered 2xx and every event
# found in SQLite with type, value, frames, release and environment intact, the logentry
# formatted with its params, the attachment listed on its event.
set -u
. "$(dirname "$0")/proto-clients.inc.sh"
trap cleanup EXIT

need_deb python3-sentry-sdk 1.9.10-2+deb12u1
# Debian's interpreter runs Debian's package (a python3 earlier in PATH may be another build)
[ -x /usr/bin/python3 ] || fail "/usr/bin/python3 (Debian's python3) is missing"
db="$TMPDIR_TEST/events.db"
start_server "$db"
new_key "$db" pyshop
mark="t26-$$-$(date +%s)"
out=$(SENTRY_DSN="$KEY_DSN" REL=pyshop@3.1.4 ENV_NAME=staging MARK="$mark" \
	/usr/bin/python3 "$CLIENTS_DIR/sentry_py.py") || { cat "$SERVER_LOG" >&2; fail "sentry_py.py failed: $out"; }
echo "client: $out"
printf '%s' "$out" | grep -q '/store/", 200' || fail "the SDK made no /store/ request: $out"
printf '%s' "$out" | grep -q '/envelope/", 200' || fail "the SDK made no /envelope/ request: $out"

w="exc_type = 'ZeroDivisionError'"
expect "exception stored once" "$(sql "$db" "select count(*) from events where $w")" 1
expect "exception value" "$(sql "$db" "select exc_value from events where $w")" "division by zero"
expect "exception release/environment" "$(sql "$db" "select release || '/' || environment from events where $w")" pyshop@3.1.4/staging
expect "exception innermost frame" "$(sql "$db" "select json_extract(raw, '\$.exception.frames[#-1].function') from events where $w")" compute_ratio
expect "exception kind/level" "$(sql "$db" "select kind || '/' || level from events where $w")" error/error
expect "exception project" "$(sql "$db" "select project_id from events where $w")" "$KEY_PROJECT"

w="message = 'payment p-77 failed code=402 ($mark)'"
expect "logging.error formatted with its params" "$(sql "$db" "select count(*) from events where $w")" 1
expect "logentry template kept" "$(sql "$db" "select json_extract(raw, '\$.context.logentry.message') from events where $w")" "payment %s failed code=%d ($mark)"
expect "logentry params kept" "$(sql "$db" "select json_extract(raw, '\$.context.logentry.params[1]') from events where $w")" 402
expect "logging event release/environment/level" "$(sql "$db" "select release || '/' || environment || '/' || level from events where $w")" pyshop@3.1.4/staging/error

w="message = 'with attachment $mark'"
expect "message with attachment stored" "$(sql "$db" "select kind || '/' || level || '/' || release from events where $w")" log/warning/pyshop@3.1.4
id=$(sql "$db" "select event_id from events where $w")
curl -s -H "Authorization: Bearer $KEY_TOKEN" "http://127.0.0.1:$PORT/api/v1/events/$id" >"$TMPDIR_TEST/ev.json"
expect "attachment listed on the event" \
	"$(python3 -c 'import json,sys; print(",".join(a["filename"] for a in json.load(open(sys.argv[1])).get("attachments", [])))' "$TMPDIR_TEST/ev.json")" state.txt
expect "session item counted" "$(sql "$db" "select count > 0 from item_counts where item_type = 'session'")" 1

stop_server TERM
expect "server exit status after SIGTERM" "$SERVER_RC" 0
echo "t26 passed"

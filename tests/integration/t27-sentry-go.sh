#!/bin/sh
# t27-sentry-go.sh — Debian's sentry-go SDK (golang-github-getsentry-sentry-go-dev, pinned,
# installed with apt when missing) built offline (GO111MODULE=off, GOPATH=<tmp>:/usr/share/gocode)
# into a program that sends CaptureException, a recovered panic and CaptureMessage through the
# SDK's own HTTP transport. Every request 2xx; each event in SQLite with type, value, frames,
# release and environment intact.
set -u
. "$(dirname "$0")/proto-clients.inc.sh"
trap cleanup EXIT

need_deb golang-go 2:1.19~1
need_deb golang-github-getsentry-sentry-go-dev 0.11.0-1
gopath="$TMPDIR_TEST/gopath"
mkdir -p "$gopath/src/sentrygo" "$TMPDIR_TEST/gocache"
cp "$CLIENTS_DIR/sentrygo/main.go" "$gopath/src/sentrygo/"
(cd "$gopath/src/sentrygo" && GO111MODULE=off GOPATH="$gopath:/usr/share/gocode" \
	GOCACHE="$TMPDIR_TEST/gocache" GOPROXY=off go build -o "$TMPDIR_TEST/sentrygo" .) ||
	fail "building the sentry-go client offline failed"

db="$TMPDIR_TEST/events.db"
start_server "$db"
new_key "$db" goshop
mark="t27-$$-$(date +%s)"
out=$(SENTRY_DSN="$KEY_DSN" REL=goshop@1.4.0 ENV_NAME=production MARK="$mark" "$TMPDIR_TEST/sentrygo") ||
	{ cat "$SERVER_LOG" >&2; fail "sentry-go client failed: $out"; }
echo "client: $out"

w="exc_value = 'amount must not be negative: $mark'"
expect "CaptureException stored once" "$(sql "$db" "select count(*) from events where $w")" 1
expect "exception type" "$(sql "$db" "select exc_type from events where $w")" "*errors.errorString"
expect "exception release/environment" "$(sql "$db" "select release || '/' || environment from events where $w")" goshop@1.4.0/production
expect "exception kind/project" "$(sql "$db" "select kind || '/' || project_id from events where $w")" "error/$KEY_PROJECT"
frames=$(sql "$db" "select group_concat(json_extract(value, '\$.function'), ',') from events, json_each(events.raw, '\$.exception.frames') where $w")
case ",$frames," in
*,main,*) echo "ok: exception frames include main ($frames)" ;;
*) fail "exception frames do not include main: '$frames'" ;;
esac

w="exc_value like 'lookup panicked ($mark): %'"
expect "recovered panic stored once" "$(sql "$db" "select count(*) from events where $w")" 1
expect "panic release/environment/level" "$(sql "$db" "select release || '/' || environment || '/' || level from events where $w")" goshop@1.4.0/production/fatal
frames=$(sql "$db" "select group_concat(json_extract(value, '\$.function'), ',') from events, json_each(events.raw, '\$.exception.frames') where $w")
case ",$frames," in
*lookupItem*) echo "ok: panic frames include lookupItem ($frames)" ;;
*) fail "panic frames do not include lookupItem: '$frames'" ;;
esac

w="message = 'go worker started $mark'"
expect "CaptureMessage stored" "$(sql "$db" "select kind || '/' || level || '/' || release || '/' || environment from events where $w")" log/info/goshop@1.4.0/production

stop_server TERM
expect "server exit status after SIGTERM" "$SERVER_RC" 0
echo "t27 passed"

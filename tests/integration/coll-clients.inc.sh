# coll-clients.inc.sh — shared helpers for the collector's real-client and durability tests
# (t20–t22). Sourced, not run: run-integration.sh only runs t*.sh.
#
# Provides: fail MSG; start_server DB [serve options] (sets SERVER_PID and PORT);
# stop_server [SIGNAL] (waits, sets SERVER_RC); new_key DB NAME (sets KEY_TOKEN, KEY_DSN,
# KEY_PROJECT); need_node_clients (npm ci into tests/clients/node_modules when missing or
# stale; fails — never skips — when npm cannot install); sql DB QUERY; expect NAME GOT WANT.
# Every test sets `trap cleanup EXIT` so a failing assertion never leaves a server behind.

: "${AUTOCODER:?AUTOCODER must point at the binary}"
: "${TMPDIR_TEST:=$(mktemp -d /tmp/ac-coll.XXXXXX)}"
CLIENTS_DIR=$(cd "$(dirname "$0")/../clients" && pwd)
SERVER_PID=
PORT=
SERVER_RC=
SERVER_N=0

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

# After a failure the server is killed; after a pass a server still running is stopped with
# SIGTERM and must exit 0 (a sanitizer report at shutdown fails the test).
cleanup() {
	rc=$?
	if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
		if [ "$rc" -ne 0 ]; then
			kill -KILL "$SERVER_PID" 2>/dev/null
			wait "$SERVER_PID" 2>/dev/null
		else
			kill -TERM "$SERVER_PID" 2>/dev/null
			st=0; wait "$SERVER_PID" || st=$?
			[ "$st" -eq 0 ] || { tail -n 30 "$SERVER_LOG" >&2; echo "FAIL: server exited with $st after SIGTERM" >&2; rc=1; }
		fi
	fi
	SERVER_PID=
	exit "$rc"
}

# start_server DB [extra serve options...] — fresh port each time; the log goes to
# $TMPDIR_TEST/serve.N.log.
start_server() {
	db=$1
	shift
	SERVER_N=$((SERVER_N + 1))
	portfile="$TMPDIR_TEST/port.$SERVER_N"
	SERVER_LOG="$TMPDIR_TEST/serve.$SERVER_N.log"
	rm -f "$portfile"
	"$AUTOCODER" serve --listen 127.0.0.1:0 --db "$db" --port-file "$portfile" "$@" \
		>"$SERVER_LOG" 2>&1 &
	SERVER_PID=$!
	i=0
	while [ ! -s "$portfile" ]; do
		if ! kill -0 "$SERVER_PID" 2>/dev/null; then
			cat "$SERVER_LOG" >&2
			fail "server exited before listening"
		fi
		i=$((i + 1))
		[ $i -lt 200 ] || fail "server did not write its port file within 10 s"
		sleep 0.05
	done
	PORT=$(cat "$portfile")
	PORT=${PORT%%[!0-9]*}
	[ -n "$PORT" ] || fail "empty port file"
}

# stop_server [SIGNAL] — default TERM; waits for the process and sets SERVER_RC.
stop_server() {
	sig=${1:-TERM}
	kill -"$sig" "$SERVER_PID"
	wait "$SERVER_PID"
	SERVER_RC=$?
	SERVER_PID=
}

# new_key DB NAME — creates a project and key (the server may be running); PORT must be set.
new_key() {
	out=$("$AUTOCODER" keys create "$2" --db "$1" --url "http://127.0.0.1:$PORT" --json) ||
		fail "keys create $2 failed"
	KEY_TOKEN=$(printf '%s' "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
	KEY_DSN=$(printf '%s' "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["dsn"])')
	KEY_PROJECT=$(printf '%s' "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["project_id"])')
	[ -n "$KEY_TOKEN" ] && [ -n "$KEY_DSN" ] || fail "keys create printed no token/dsn: $out"
}

# need_node_clients — the pinned SDKs from tests/clients/package-lock.json. A stamp file
# (a copy of the lock) makes a changed lock reinstall. No registry access is a failure.
need_node_clients() {
	command -v node >/dev/null || fail "node is not installed (needed for the real-client tests)"
	command -v npm >/dev/null || fail "npm is not installed (needed for the real-client tests)"
	stamp="$CLIENTS_DIR/node_modules/.autocoder-lock-stamp"
	if [ -f "$stamp" ] && cmp -s "$stamp" "$CLIENTS_DIR/package-lock.json"; then
		return 0
	fi
	echo "installing the pinned test clients (npm ci in $CLIENTS_DIR)"
	if ! (cd "$CLIENTS_DIR" && npm ci --no-audit --no-fund >"$TMPDIR_TEST/npm.log" 2>&1); then
		tail -n 30 "$TMPDIR_TEST/npm.log" >&2
		fail "npm ci failed in $CLIENTS_DIR — the registry must be reachable for this test"
	fi
	cp "$CLIENTS_DIR/package-lock.json" "$stamp"
}

sql() {
	sqlite3 -batch -bail "$1" "$2" || fail "sqlite3 query failed: $2"
}

# expect WHAT GOT WANT
expect() {
	if [ "$2" != "$3" ]; then
		fail "$1: got '$2', want '$3'"
	fi
	echo "ok: $1 = $3"
}

# lib.sh — helpers for integration tests (sourced). Needs $AUTOCODER and $TMPDIR_TEST.
#
#   start_server [serve options...]   starts `autocoder serve` on a free loopback port with a
#                                     fresh database $DB; sets $PORT, $BASE, $SERVER_PID
#   create_key NAME [--role admin]    sets $TOKEN (read token), $DSN, $PUBKEY (ingest only),
#                                     $PROJECT_ID, and $ADMIN_TOKEN with --role admin
#   req METHOD PATH [curl args...]    HTTP request; sets $STATUS and $BODY (and $HEADERS)
#   expect_status N "what"            fails unless $STATUS is N
#   expect_body "needle" "what"       fails unless $BODY contains needle
#   sql "SELECT ..."                  runs a query on $DB and prints the result
#   fail "message"                    prints and exits 1
set -u
: "${AUTOCODER:?}" "${TMPDIR_TEST:?}"
DB="$TMPDIR_TEST/test.db"
SERVER_PID=""

fail() { echo "FAIL: $*" >&2; exit 1; }
pass() { echo "ok: $*"; }

stop_server() {
	if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
		kill -TERM "$SERVER_PID" 2>/dev/null
		wait "$SERVER_PID" 2>/dev/null
		rc=$?
		SERVER_PID=""
		# a non-zero exit after SIGTERM is a failure: under the sanitizers it means a leak
		# or an error report (see server.log)
		if [ "$rc" != 0 ]; then
			tail -n 30 "$TMPDIR_TEST/server.log" >&2
			echo "FAIL: server exited with $rc after SIGTERM" >&2
			exit 1
		fi
	fi
	SERVER_PID=""
}
trap stop_server EXIT

start_server() {
	rm -f "$TMPDIR_TEST/port"
	"$AUTOCODER" serve --listen 127.0.0.1:0 --db "$DB" --port-file "$TMPDIR_TEST/port" "$@" \
		2>>"$TMPDIR_TEST/server.log" &
	SERVER_PID=$!
	for _ in $(seq 1 100); do
		[ -s "$TMPDIR_TEST/port" ] && break
		kill -0 "$SERVER_PID" 2>/dev/null || { cat "$TMPDIR_TEST/server.log" >&2; fail "server exited at start"; }
		sleep 0.05
	done
	[ -s "$TMPDIR_TEST/port" ] || fail "server did not start"
	PORT=$(cat "$TMPDIR_TEST/port")
	BASE="http://127.0.0.1:$PORT"
}

create_key() {
	out=$("$AUTOCODER" keys create "$@" --db "$DB" --url "http://127.0.0.1:${PORT:-8080}") || fail "keys create $1"
	TOKEN=$(printf '%s\n' "$out" | awk '/^token:/{print $2}')
	ADMIN_TOKEN=$(printf '%s\n' "$out" | awk '/^admin_token:/{print $2}')
	DSN=$(printf '%s\n' "$out" | awk '/^dsn:/{print $2}')
	PUBKEY=$(printf '%s\n' "$DSN" | sed 's#^[a-z]*://\([^@]*\)@.*#\1#')
	PROJECT_ID=$(printf '%s\n' "$DSN" | sed 's#.*/##')
}

req() {
	method=$1; path=$2; shift 2
	BODY=$(curl -s -S -X "$method" -D "$TMPDIR_TEST/headers" -o "$TMPDIR_TEST/body" \
		-w '%{http_code}' "$@" "$BASE$path") || true
	STATUS=$BODY
	BODY=$(cat "$TMPDIR_TEST/body")
	HEADERS=$(cat "$TMPDIR_TEST/headers")
}

expect_status() {
	[ "$STATUS" = "$1" ] || fail "$2: expected HTTP $1, got $STATUS: $BODY"
	pass "$2 -> $1"
}

expect_body() {
	case "$BODY" in *"$1"*) ;; *) fail "$2: body lacks '$1': $BODY" ;; esac
}

expect_header() {
	printf '%s' "$HEADERS" | grep -qi "^$1" || fail "$2: no header '$1' in: $HEADERS"
}

sql() {
	sqlite3 -cmd ".timeout 5000" "$DB" "$1"
}

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
#   db_dump                           the whole of $DB as SQL text
#   fail "message"                    prints and exits 1
#   start_pg                          starts a private PostgreSQL 15 (initdb in a temporary
#                                     directory as user postgres, a free loopback port, its
#                                     unix socket in that directory; stopped and removed when
#                                     the test's shell exits); sets $PG_PORT, $PG_HOST, $PG_URL
#                                     (database "postgres") — pg_createdb NAME prints a URL
#
# AC_TEST_DB=pg runs a test on PostgreSQL: lib.sh starts one (start_pg) and $DB becomes the URL
# of a fresh database on it, so start_server, create_key, sql and every "--db $DB" use it.
# Tests that read the SQLite file itself say so in their header ("# ac-test: sqlite-only
# WHY"); the runner leaves them out of a PostgreSQL pass.
set -u
: "${AUTOCODER:?}" "${TMPDIR_TEST:?}"
DB="$TMPDIR_TEST/test.db"
SERVER_PID=""
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}

# as_pg CMD...: run a PostgreSQL tool as the postgres user (initdb refuses root)
as_pg() {
	if [ "$(id -u)" = 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

start_pg() {
	PG_HOST=$(mktemp -d /tmp/ac-pg.XXXXXX) || fail "start_pg: mktemp"
	[ "$(id -u)" = 0 ] && chown postgres "$PG_HOST"
	as_pg "$PG_BIN/initdb" -D "$PG_HOST/data" -U postgres --auth=trust -E UTF8 --no-sync \
		>"$PG_HOST/initdb.log" 2>&1 || { cat "$PG_HOST/initdb.log" >&2; fail "start_pg: initdb"; }
	# stop and remove the server when the test's shell exits, whatever its own EXIT trap does:
	# a watchdog in its own session (a test's bare `wait` does not wait for it, and killing the
	# test's process group does not kill it before it has stopped the server)
	( setsid sh -c 'while kill -0 "$1" 2>/dev/null; do sleep 1; done
		if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$2/pg_ctl" -D "$3/data" -m immediate stop
		else "$2/pg_ctl" -D "$3/data" -m immediate stop; fi
		rm -rf "$3"' sh $$ "$PG_BIN" "$PG_HOST" </dev/null >/dev/null 2>&1 & )
	for _ in 1 2 3 4 5; do
		PG_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
		if as_pg "$PG_BIN/pg_ctl" -D "$PG_HOST/data" -l "$PG_HOST/server.log" -w -t 60 \
			-o "-p $PG_PORT -k $PG_HOST -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" \
			start >/dev/null 2>&1; then
			PG_URL="postgresql://postgres@127.0.0.1:$PG_PORT/postgres"
			return 0
		fi
	done
	cat "$PG_HOST/server.log" >&2
	fail "start_pg: PostgreSQL did not start"
}

# pg_createdb NAME: a new empty database on the started server; prints its URL
pg_createdb() {
	as_pg "$PG_BIN/createdb" -h "$PG_HOST" -p "$PG_PORT" -U postgres "$1" || fail "createdb $1"
	echo "postgresql://postgres@127.0.0.1:$PG_PORT/$1"
}

if [ "${AC_TEST_DB:-sqlite}" = pg ]; then
	start_pg
	DB=$(pg_createdb test)
fi

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

# db_dump: the whole database as SQL text on stdout (sqlite3 .dump or pg_dump)
db_dump() {
	case "$DB" in
	postgres://*|postgresql://*) pg_dump --no-owner "$DB" ;;
	*) sqlite3 "$DB" .dump ;;
	esac
}

sql() {
	case "$DB" in
	postgres://*|postgresql://*)
		# the same result shape as sqlite3's default output: rows of |-separated values
		psql -X -q -A -t -F '|' -v ON_ERROR_STOP=1 "$DB" -c "$1" ;;
	*) sqlite3 -cmd ".timeout 5000" "$DB" "$1" ;;
	esac
}

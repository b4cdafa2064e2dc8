# gen-lib.sh — helpers for the generator end-to-end tests (t60–t79), sourced by each test.
# Needs $AUTOCODER and $TMPDIR_TEST (set by tests/run-integration.sh).
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BLUEPRINTS=$ROOT/data/blueprints
PIDS=""      # everything to stop at exit (helpers a test adds too)
CHECKED=""   # the systems and collectors among them: they must exit 0 on SIGTERM

fail() { echo "FAIL: $*" >&2; exit 1; }

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# gen_build BLUEPRINT NAME: generate into $TMPDIR_TEST/NAME and build it; prints the dir.
gen_build() {
	out=$TMPDIR_TEST/$2
	"$AUTOCODER" generate -q "$1" -o "$out" >&2 || fail "generate $1"
	# the generated system is built by its own Makefile with its own flags: drop what a
	# parent `make sanitize` passes down (CC, CFLAGS via MAKEFLAGS)
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u CC -u CFLAGS make -s -C "$out" -j2 >&2 ||
		fail "build $out"
	echo "$out"
}

# start DIR NAME [VAR=value ...]: start the system in DIR in the background with a private
# DATA_DIR; sets SYS_PID and SYS_LOG.
start() {
	dir=$1; name=$2; shift 2
	SYS_LOG=$dir/run-$$.log
	(cd "$dir" && exec env DATA_DIR="${DATA_DIR:-$dir/data}" "$@" "./$name") \
		>"$dir/stdout.log" 2>"$SYS_LOG" &
	SYS_PID=$!
	PIDS="$PIDS $SYS_PID"
	CHECKED="$CHECKED $SYS_PID"
}

# stop PID: SIGTERM and expect exit status 0.
stop() {
	kill -TERM "$1" 2>/dev/null || true
	st=0; wait "$1" || st=$?
	forget_pid "$1"
	[ "$st" -eq 0 ] || fail "system exited with status $st after SIGTERM"
}

# forget_pid PID: a process already waited for is not signalled at exit (its pid may be reused).
forget_pid() {
	PIDS=$(echo " $PIDS " | sed "s/ $1 / /g")
	CHECKED=$(echo " $CHECKED " | sed "s/ $1 / /g")
}

# At exit: after a failure, kill what is left; after a pass, a system or collector that still
# runs is stopped with SIGTERM and must exit 0 (a sanitizer report at shutdown fails the test,
# never hidden); a test's own helpers (fake receivers) are just killed.
cleanup() {
	rc=$?
	for p in $PIDS; do
		kill -0 "$p" 2>/dev/null || continue
		case " $CHECKED " in *" $p "*) checked=1 ;; *) checked=0 ;; esac
		if [ "$rc" -ne 0 ] || [ $checked = 0 ]; then kill -KILL "$p" 2>/dev/null; continue; fi
		kill -TERM "$p" 2>/dev/null
		st=0; wait "$p" || st=$?
		[ "$st" -eq 0 ] || { echo "FAIL: process $p exited with $st after SIGTERM at the end" >&2; rc=1; }
	done
	exit "$rc"
}
trap cleanup EXIT

# wait_http URL [tries]: until URL answers 2xx.
wait_http() {
	n=${2:-100}
	i=0
	until curl -sf -o /dev/null "$1"; do
		i=$((i + 1)); [ $i -lt "$n" ] || { [ -n "${SYS_LOG:-}" ] && cat "$SYS_LOG" >&2; fail "no answer from $1"; }
		sleep 0.1
	done
}

# wait_lines FILE N [tries]: until FILE has at least N lines.
wait_lines() {
	i=0
	while [ "$(cat "$1" 2>/dev/null | wc -l)" -lt "$2" ]; do
		i=$((i + 1)); [ $i -lt "${3:-100}" ] || fail "$1 has $(cat "$1" 2>/dev/null | wc -l) lines, wanted $2"
		sleep 0.1
	done
}

# json EXPR: evaluate a python expression over stdin parsed as JSON (bound to `d`).
json() {
	python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"
}

# start_collector: a real `autocoder serve` on a free port with a fresh database and a key;
# sets COLLECTOR_URL, COLLECTOR_TOKEN and COLLECTOR_PID.
start_collector() {
	db=$TMPDIR_TEST/collector.db
	"$AUTOCODER" keys create generated --db "$db" --json >"$TMPDIR_TEST/key.json" || fail "keys create"
	COLLECTOR_TOKEN=$(json 'd["token"]' <"$TMPDIR_TEST/key.json")
	rm -f "$TMPDIR_TEST/collector.port"
	"$AUTOCODER" serve --listen 127.0.0.1:0 --db "$db" --port-file "$TMPDIR_TEST/collector.port" \
		--open-read >"$TMPDIR_TEST/collector.log" 2>&1 &
	COLLECTOR_PID=$!
	PIDS="$PIDS $COLLECTOR_PID"
	CHECKED="$CHECKED $COLLECTOR_PID"
	i=0
	until [ -s "$TMPDIR_TEST/collector.port" ]; do
		i=$((i + 1)); [ $i -lt 100 ] || { cat "$TMPDIR_TEST/collector.log"; fail "collector did not start"; }
		sleep 0.1
	done
	COLLECTOR_URL=http://127.0.0.1:$(cat "$TMPDIR_TEST/collector.port")
}

# stop_collector: SIGTERM, and the collector must exit 0 (under the sanitizers a report or a
# leak makes the exit status non-zero: that fails the test).
stop_collector() {
	kill -TERM "$COLLECTOR_PID" 2>/dev/null || fail "collector already gone"
	st=0; wait "$COLLECTOR_PID" || st=$?
	forget_pid "$COLLECTOR_PID"
	[ "$st" -eq 0 ] || { tail -n 30 "$TMPDIR_TEST/collector.log" >&2; fail "collector exited with $st after SIGTERM"; }
}

# events QUERY: the collector's stored events matching the query string, as JSON.
events() {
	curl -sf "$COLLECTOR_URL/api/v1/events?$1"
}

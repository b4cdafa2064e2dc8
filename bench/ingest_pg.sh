#!/bin/sh
# ingest_pg.sh — `make bench-ingest-pg`: the collector's ingest on PostgreSQL against the SQLite
# default and the minimal libmicrohttpd handler, in one run on this machine (wrk on loopback,
# bench/ingest.lua: ~1 KB events with unique ids).
#
#   minimal      bench/mhd_minimal, single 1 KB POSTs (the HTTP stack's ceiling)
#   sqlite-*     one collector on a fresh SQLite file
#   pg1-*        one collector on a private PostgreSQL 15 (initdb in a temp dir, fsync on,
#                synchronous_commit on: the durable setting)
#   pg2-*        two collectors on that PostgreSQL, wrk split over both (half the connections
#                each, run at the same time)
# for "single" (one event per POST) and "batch" (NDJSON batches of $BATCH). Reported per run:
# events/s, and the server CPU per event: the collectors' CPU (utime+stime from /proc) and, on
# PostgreSQL, the database's (the postmaster and its children). Every acknowledged event must be
# stored (counted afterwards); a missing one, a non-2xx answer or a socket error fails the run.
#
# Environment: AUTOCODER, MHD_MINIMAL (set by the Makefile), DURATION (10s), CONNECTIONS (64),
# WRK_THREADS (2), BATCH (100), PG_BIN (/usr/lib/postgresql/15/bin), KEEP=1 keeps the temp dir.
set -eu
: "${AUTOCODER:?set AUTOCODER}" "${MHD_MINIMAL:?set MHD_MINIMAL}"
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-64}
WRK_THREADS=${WRK_THREADS:-2}
BATCH=${BATCH:-100}
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
here=$(cd "$(dirname "$0")" && pwd)
lua="$here/ingest.lua"
HZ=$(getconf CLK_TCK)
command -v wrk >/dev/null || { echo "bench-ingest-pg: wrk is not installed" >&2; exit 1; }
tmp=$(mktemp -d /tmp/ac-bench-pg.XXXXXX)
pids=""
pg=""
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
cleanup() {
	for p in $pids; do kill -KILL "$p" 2>/dev/null || true; done
	[ -n "$pg" ] && as_pg "$PG_BIN/pg_ctl" -D "$pg/data" -m immediate stop >/dev/null 2>&1 || true
	if [ "${KEEP:-0}" = 1 ]; then echo "kept $tmp $pg"; else rm -rf "$tmp" ${pg:+"$pg"}; fi
}
trap cleanup EXIT
failed=0

field() { printf '%s\n' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }
ticks_of() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
sum_ticks() { t=0; for p in "$@"; do t=$((t + $(ticks_of "$p"))); done; echo $t; }
# the postmaster and every process it started (backends, WAL writer, checkpointer)
pg_pids() {
	pm=$(head -n1 "$pg/data/postmaster.pid")
	echo "$pm"
	for s in /proc/[0-9]*/stat; do
		awk -v pm="$pm" '$4 == pm { print $1 }' "$s" 2>/dev/null || true
	done
}

start_collector() { # DB PORTFILE -> pid in $cpid
	"$AUTOCODER" serve --listen 127.0.0.1:0 --db "$1" --port-file "$2" --log-level warn \
		>>"$tmp/serve.log" 2>&1 &
	cpid=$!
	pids="$pids $cpid"
	for _ in $(seq 1 200); do [ -s "$2" ] && return 0; sleep 0.05; done
	echo "bench-ingest-pg: collector did not start" >&2; cat "$tmp/serve.log" >&2; exit 1
}

stop_collector() {
	kill -TERM "$1"
	if ! wait "$1"; then echo "   FAIL: collector exited non-zero after SIGTERM" >&2; failed=1; fi
}

# one wrk per port at the same time; NAME PREFIX PER_REQUEST TOKEN PORT... ; sets $ok_req, $secs
run() {
	name=$1 prefix=$2 per=$3 token=$4; shift 4
	n=$#
	conns=$((CONNECTIONS / n))
	echo "== $name: load $(cut -d' ' -f1-3 /proc/loadavg)"
	c0=$(sum_ticks $pids)
	p0=0; [ -n "$pg" ] && p0=$(sum_ticks $(pg_pids))
	i=0 wrks=""
	for port in "$@"; do
		i=$((i + 1))
		wrk -t"$WRK_THREADS" -c"$conns" -d"$DURATION" --timeout 30s --latency -s "$lua" \
			"http://127.0.0.1:$port" -- /api/v1/events "$token" "$prefix$i" "$per" \
			>"$tmp/$name.$i.out" 2>&1 &
		wrks="$wrks $!"
	done
	for w in $wrks; do wait "$w" || true; done
	ctk=$(( $(sum_ticks $pids) - c0 ))
	ptk=0; [ -n "$pg" ] && ptk=$(( $(sum_ticks $(pg_pids)) - p0 ))
	ok_req=0 secs=0 p99=0
	for j in $(seq 1 "$n"); do
		r=$(grep '^RESULT' "$tmp/$name.$j.out") || { cat "$tmp/$name.$j.out" >&2; failed=1; continue; }
		ok_req=$((ok_req + $(field "$r" ok)))
		secs=$(field "$r" duration_us)
		for f in non2xx connect_err read_err write_err timeout_err; do
			[ "$(field "$r" $f)" = 0 ] || { echo "   FAIL: $name: $f=$(field "$r" $f)" >&2; failed=1; }
		done
		[ "$(field "$r" p99_us)" -gt "$p99" ] && p99=$(field "$r" p99_us)
	done
	events=$((ok_req * per))
	rate=$(awk -v e="$events" -v d="$secs" 'BEGIN { printf "%d", e / (d / 1e6) }')
	p99ms=$(awk -v u="$p99" 'BEGIN { printf "%.1f", u / 1000 }')
	echo "   $events events acknowledged in the run, $rate events/s, p99 $p99ms ms"
	acked=$events
}

# every acknowledged event stored; CPU per stored event (requests still in flight when wrk
# stopped are stored and were paid for in the run, so stored is the right divisor)
check_stored() { # NAME PREFIX COUNT-COMMAND...
	name=$1 prefix=$2; shift 2
	stored=$("$@" "SELECT count(*) FROM events WHERE event_id LIKE '$prefix%'")
	cus=$(awk -v t="$ctk" -v hz="$HZ" -v e="$stored" 'BEGIN { printf "%.1f", e ? t / hz * 1e6 / e : 0 }')
	pus=$(awk -v t="$ptk" -v hz="$HZ" -v e="$stored" 'BEGIN { printf "%.1f", e ? t / hz * 1e6 / e : 0 }')
	echo "   collector CPU $cus µs/stored event, PostgreSQL CPU $pus µs/stored event"
	echo "| $name | $rate | $p99ms ms | $stored | $cus µs | $pus µs |" >> "$tmp/table"
	if [ "$stored" -lt "$acked" ]; then
		echo "   FAIL: $name: $acked acknowledged, $stored stored" >&2; failed=1
	else
		echo "   ok: $name: $acked acknowledged, $stored stored"
	fi
}

lite() { sqlite3 -cmd ".timeout 5000" "$tmp/bench.db" "$1"; }
pgq() { psql -X -q -A -t "$url" -c "$1"; }
token_of() { "$AUTOCODER" keys create bench --db "$1" --json | sed -n 's/.*"token": *"\([^"]*\)".*/\1/p'; }

echo "bench-ingest-pg on $(nproc) CPUs, $(date -u +%Y-%m-%dT%H:%M:%SZ); uptime: $(uptime)"
echo "| run | events/s acknowledged | p99 | events stored | collector CPU/event | PostgreSQL CPU/event |" > "$tmp/table"
echo "|---|---|---|---|---|---|" >> "$tmp/table"

"$MHD_MINIMAL" "$tmp/ref.port" & mpid=$!
pids="$mpid"
for _ in $(seq 1 200); do [ -s "$tmp/ref.port" ] && break; sleep 0.05; done
run minimal m 1 none "$(cat "$tmp/ref.port")"
echo "| minimal | $rate | $p99ms ms | - | $(awk -v t="$ctk" -v hz="$HZ" -v e="$acked" 'BEGIN { printf "%.1f", e ? t / hz * 1e6 / e : 0 }') µs | - |" >> "$tmp/table"
kill -TERM "$mpid"; wait "$mpid" || true; pids=""

start_collector "$tmp/bench.db" "$tmp/lite.port"
token=$(token_of "$tmp/bench.db")
run sqlite-single ls 1 "$token" "$(cat "$tmp/lite.port")"; sleep 1; check_stored sqlite-single ls lite
run sqlite-batch lb "$BATCH" "$token" "$(cat "$tmp/lite.port")"; sleep 1; check_stored sqlite-batch lb lite
stop_collector "$cpid"; pids=""

pg=$(mktemp -d /tmp/ac-bench-pgdata.XXXXXX)
[ "$(id -u)" = 0 ] && chown postgres "$pg"
as_pg "$PG_BIN/initdb" -D "$pg/data" -U postgres --auth=trust -E UTF8 >/dev/null
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
as_pg "$PG_BIN/pg_ctl" -D "$pg/data" -l "$pg/server.log" -w \
	-o "-p $port -k $pg -c listen_addresses=127.0.0.1 -c shared_buffers=256MB" start >/dev/null
url="postgresql://postgres@127.0.0.1:$port/postgres"

start_collector "$url" "$tmp/pg1.port"
token=$(token_of "$url")
run pg1-single p1s 1 "$token" "$(cat "$tmp/pg1.port")"; sleep 1; check_stored pg1-single p1s pgq
run pg1-batch p1b "$BATCH" "$token" "$(cat "$tmp/pg1.port")"; sleep 1; check_stored pg1-batch p1b pgq
a=$cpid
start_collector "$url" "$tmp/pg2.port"
run pg2-single p2s 1 "$token" "$(cat "$tmp/pg1.port")" "$(cat "$tmp/pg2.port")"; sleep 1; check_stored pg2-single p2s pgq
run pg2-batch p2b "$BATCH" "$token" "$(cat "$tmp/pg1.port")" "$(cat "$tmp/pg2.port")"; sleep 1; check_stored pg2-batch p2b pgq
stop_collector "$cpid"; stop_collector "$a"; pids=""
echo "uptime: $(uptime)"
echo
cat "$tmp/table"
exit $failed

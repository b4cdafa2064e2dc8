#!/bin/sh
# ingest_pg.sh — `make bench-ingest-pg`: the collector on PostgreSQL against the SQLite default
# and the bare HTTP handler, in one run on loopback with wrk (issue 16).
#
#   (a) bench/mhd_minimal under single 1 KB event POSTs — the reference;
#   (b) SQLite default (one collector, fresh file): single events, then NDJSON batches;
#   (c) PostgreSQL, one collector: the same two runs;
#   (d) PostgreSQL, two collectors behind haproxy (deployments/postgres/haproxy.cfg): the same.
# PostgreSQL is a private cluster started like the test suite's (tests/lib.sh start_pg: initdb
# in a temporary directory, loopback port) with synchronous_commit on and fsync on — a 2xx
# from a collector means its COMMIT returned, as on SQLite. Server CPU per event counts every
# collector process and, in its own column, every process of the PostgreSQL cluster; haproxy's
# CPU is added in brackets. After each run the stored events are counted: every 2xx must be stored.
# Exit status 1 if an acknowledged event is missing, a request was not 2xx or wrk saw socket
# errors.
#
# Environment: AUTOCODER, MHD_MINIMAL (set by the Makefile), DURATION (6s), CONNECTIONS (64),
# WRK_THREADS (2), BATCH (100), KEEP (1 = keep the temp dir).
set -eu
: "${AUTOCODER:?set AUTOCODER}" "${MHD_MINIMAL:?set MHD_MINIMAL}"
DURATION=${DURATION:-6s}
CONNECTIONS=${CONNECTIONS:-64}
WRK_THREADS=${WRK_THREADS:-2}
BATCH=${BATCH:-100}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
lua="$here/ingest.lua"
for tool in wrk haproxy psql sqlite3; do
	command -v "$tool" >/dev/null || { echo "bench-ingest-pg: $tool is not installed (scripts/deps.sh test)" >&2; exit 1; }
done
tmp=$(mktemp -d /tmp/ac-bench-ingest-pg.XXXXXX)
chmod 755 "$tmp"
TMPDIR_TEST=$tmp
. "$root/tests/lib.sh"     # start_pg, pg_createdb
. "$here/ingest_lib.sh"    # run, field, rate, us_per, ms, cpu_ticks
pid= pids= lb=
cleanup() {
	for p in $pid $pids $lb; do kill -KILL "$p" 2>/dev/null || true; done
	[ "${KEEP:-0}" = 1 ] && echo "kept $tmp" || rm -rf "$tmp"
}
trap cleanup EXIT
failed=0
HZ=$(getconf CLK_TCK)

# PostgreSQL with fsync on (the test suite turns it off for speed; a benchmark must not)
start_pg
as_pg "$PG_BIN/pg_ctl" -D "$PG_HOST/data" -w -t 60 -m fast \
	-o "-p $PG_PORT -k $PG_HOST -c listen_addresses=127.0.0.1 -c fsync=on -c synchronous_commit=on -c max_connections=200" \
	restart >/dev/null || { echo "bench-ingest-pg: PostgreSQL restart failed" >&2; exit 1; }
pg_ticks() { # CPU ticks of the PostgreSQL cluster so far (0 on the SQLite runs)
	[ -n "${CPU_PIDS_MORE:-}" ] || { echo 0; return; }
	for p in $(pg_pids); do cat "/proc/$p/stat" 2>/dev/null; done |
		awk '{ sub(/^.*\) /, ""); t += $12 + $13 } END { print t + 0 }'
}
pg_pids() { # the postmaster and its children
	pm=$(head -n 1 "$PG_HOST/data/postmaster.pid")
	echo "$pm $(pgrep -P "$pm" | tr '\n' ' ')"
}

# start_collector NAME DB — `serve` on a free port; appends to $pids, sets $cport
start_collector() {
	"$AUTOCODER" serve --listen 127.0.0.1:0 --db "$2" --port-file "$tmp/$1.port" \
		--log-level warn >"$tmp/$1.log" 2>&1 &
	p=$!
	pids="$pids $p"
	cport=$(wait_port "$tmp/$1.port" "$p") || exit 1
}
stop_collectors() {
	for p in $pids; do
		kill -TERM "$p"
		if wait "$p"; then :; else echo "   FAIL: collector exited $? after SIGTERM" >&2; failed=1; fi
	done
	pids=
}
new_token() { # DB
	"$AUTOCODER" keys create bench --db "$1" --json | sed -n 's/.*"token": *"\([^"]*\)".*/\1/p'
}
# stored DB PREFIX — events whose id starts with PREFIX-
stored() {
	case "$1" in
	postgres*) psql "$1" -X -A -t -q -c "select count(*) from events where event_id like '$2-%'" ;;
	*) sqlite3 "$1" "select count(*) from events where event_id like '$2-%'" ;;
	esac
}
check_stored() { # NAME DB PREFIX PER_REQUEST RESULT-LINE
	acked=$(( $(field "$5" ok) * $4 ))
	n=$(stored "$2" "$3")
	slack=$(( CONNECTIONS * $4 ))
	if [ "$n" -lt "$acked" ] || [ "$n" -gt $((acked + slack)) ]; then
		echo "   FAIL: $1: $acked events acknowledged, $n stored" >&2
		failed=1
	else
		echo "   ok: $1: $acked events acknowledged, $n stored"
	fi
}
rows=
# pair NAME ID DB PORT — single events then batches against PORT; one table row each
pair() {
	name=$1; id=$2; shift
	token=$(new_token "$2")
	[ -n "$token" ] || { echo "bench-ingest-pg: keys create printed no token ($2)" >&2; exit 1; }
	for mode in single batch; do
		per=1; [ "$mode" = batch ] && per=$BATCH
		prefix="$id$mode"
		[ -n "$lb" ] && lb_t0=$(awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$lb/stat")
		pg_t0=$(pg_ticks)
		run "$prefix" "$3" "$token" "$prefix" "$per"
		pg_t=$(( $(pg_ticks) - pg_t0 ))
		coll_t=$(( ticks - pg_t ))
		lb_note=
		if [ -n "$lb" ]; then
			lb_t=$(( $(awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$lb/stat") - lb_t0 ))
			lb_note=" (+ haproxy $(us_per "$lb_t" "$result" "$per") µs)"
		fi
		sleep 1
		check_stored "$prefix" "$2" "$prefix" "$per" "$result"
		pg_col=-; [ -n "${CPU_PIDS_MORE:-}" ] && pg_col="$(us_per "$pg_t" "$result" "$per") µs"
		rows="$rows
| $name | $mode ($per × 1 KB per POST) | $(rate "$result" "$per") events/s | $(ms "$(field "$result" p50_us)") ms | $(ms "$(field "$result" p99_us)") ms | $(us_per "$coll_t" "$result" "$per") µs$lb_note | $pg_col |"
	done
}

echo "bench-ingest-pg on $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $(date -u +%Y-%m-%dT%H:%M:%SZ), commit $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?')"
echo "uptime: $(uptime)"
echo "PostgreSQL: $("$PG_BIN/postgres" --version), fsync on, synchronous_commit on"

# (a) the reference
"$MHD_MINIMAL" "$tmp/ref.port" & pid=$!
port=$(wait_port "$tmp/ref.port" "$pid") || exit 1
CPU_PIDS=$pid
run minimal "$port" none ref 1
ref=$result ref_ticks=$ticks
kill -TERM "$pid"; wait "$pid" || true; pid=
rows="| minimal libmicrohttpd handler | single | $(rate "$ref" 1) req/s | $(ms "$(field "$ref" p50_us)") ms | $(ms "$(field "$ref" p99_us)") ms | $(us_per "$ref_ticks" "$ref" 1) µs/req | - |"

# (b) SQLite default
start_collector sqlite "$tmp/bench.db"
CPU_PIDS=$pids CPU_PIDS_MORE=
pair "SQLite, 1 collector" s1 "$tmp/bench.db" "$cport"
stop_collectors

# (c) PostgreSQL, one collector
url1=$(pg_createdb bench1)
start_collector pg1 "$url1"
CPU_PIDS=$pids CPU_PIDS_MORE=pg_pids
pair "PostgreSQL, 1 collector" p1 "$url1" "$cport"
stop_collectors

# (d) PostgreSQL, two collectors behind haproxy
url2=$(pg_createdb bench2)
start_collector pg2a "$url2"; c1=$cport
start_collector pg2b "$url2"; c2=$cport
lport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
LB_LISTEN="127.0.0.1:$lport" COLLECTOR_1="127.0.0.1:$c1" COLLECTOR_2="127.0.0.1:$c2" \
	haproxy -db -f "$root/deployments/postgres/haproxy.cfg" >"$tmp/lb.log" 2>&1 &
lb=$!
for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$lport/health" && break; sleep 0.05; done
CPU_PIDS=$pids CPU_PIDS_MORE=pg_pids
pair "PostgreSQL, 2 collectors + haproxy" p2 "$url2" "$lport"
kill -TERM "$lb"; wait "$lb" 2>/dev/null || true; lb=
stop_collectors
echo "uptime: $(uptime)"

echo
echo "| configuration | run | rate | p50 | p99 | collector CPU per event | PostgreSQL CPU per event |"
echo "|---|---|---|---|---|---|---|"
printf '%s\n' "$rows"
exit $failed

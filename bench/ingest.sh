#!/bin/sh
# ingest.sh — `make bench-ingest`: the collector's ingest throughput against the ceiling of its
# HTTP stack, measured in one run on loopback with wrk.
#
#   (a) bench/mhd_minimal (libmicrohttpd, same threading as the collector, answers 200) under
#       the same single-event 1 KB POSTs as (b) — the reference;
#   (b) POST /api/v1/events, one ~1 KB event per request, unique event_ids, keep-alive;
#   (c) POST /api/v1/events, NDJSON batches of 100 such events;
#   (d) bench/jansson_floor: CPU of one jansson parse + one serialisation of the same event,
#       what an event costs in jansson alone on the general path (the fast path skips it);
#   (e) POST /v1/logs, OTLP/JSON requests of $BATCH ~1 KB ERROR records (bench/otlp_bodies.py);
#   (f) POST /v1/logs, the same request in OTLP protobuf (target: >= (e) events/s).
# Each run: wrk -t$WRK_THREADS -c$CONNECTIONS -d$DURATION with bench/ingest.lua. After (b) and
# (c) the stored events are counted in SQLite: every 2xx must be stored (stored may exceed the
# 2xx count by at most the requests still in flight when wrk stopped). Peak RSS of the
# collector is VmHWM from /proc. Exit status 1 if an acknowledged event is missing, a request
# was not 2xx or wrk saw socket errors; missed performance targets are reported, not fatal.
#
# Environment: AUTOCODER, MHD_MINIMAL, JANSSON_FLOOR (binaries; set by the Makefile),
# DURATION (10s), CONNECTIONS (64), WRK_THREADS (2), BATCH (100), KEEP (1 = keep the temp dir),
# SERVE_ARGS (extra `autocoder serve` options, e.g. "--rules rules" as `make run` uses: the
# analyzer then clusters the new events in its own thread during the runs).
set -eu
: "${AUTOCODER:?set AUTOCODER}" "${MHD_MINIMAL:?set MHD_MINIMAL}" "${JANSSON_FLOOR:?set JANSSON_FLOOR}"
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-64}
WRK_THREADS=${WRK_THREADS:-2}
BATCH=${BATCH:-100}
here=$(cd "$(dirname "$0")" && pwd)
lua="$here/ingest.lua"
command -v wrk >/dev/null || { echo "bench-ingest: wrk is not installed (apt-get install wrk)" >&2; exit 1; }
command -v sqlite3 >/dev/null || { echo "bench-ingest: sqlite3 CLI is not installed" >&2; exit 1; }
tmp=$(mktemp -d /tmp/ac-bench-ingest.XXXXXX)
pid=
cleanup() {
	[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null || true
	[ "${KEEP:-0}" = 1 ] && echo "kept $tmp" || rm -rf "$tmp"
}
trap cleanup EXIT
failed=0
HZ=$(getconf CLK_TCK)

. "$here/ingest_lib.sh"

# run_file NAME PORT TOKEN BODY-FILE CONTENT-TYPE — like run, one fixed body (ingest_file.lua).
run_file() {
	echo "== $1: load $(cut -d' ' -f1-3 /proc/loadavg)"
	t0=$(cpu_ticks)
	echo "   wrk -t$WRK_THREADS -c$CONNECTIONS -d$DURATION --timeout 30s --latency -s bench/ingest_file.lua" \
		"http://127.0.0.1:$2 -- /v1/logs TOKEN $(basename "$4") $5"
	wrk -t"$WRK_THREADS" -c"$CONNECTIONS" -d"$DURATION" --timeout 30s --latency -s "$here/ingest_file.lua" \
		"http://127.0.0.1:$2" -- /v1/logs "$3" "$4" "$5" >"$tmp/$1.out" 2>&1
	ticks=$(( $(cpu_ticks) - t0 ))
	sed 's/^/   /' "$tmp/$1.out"
	result=$(grep '^RESULT' "$tmp/$1.out")
	echo "   server CPU during the run: $(awk -v t="$ticks" -v hz="$HZ" 'BEGIN { printf "%.2f", t / hz }') s"
	if [ "$(field "$result" non2xx)" != 0 ] || [ "$(field "$result" connect_err)" != 0 ] ||
	   [ "$(field "$result" read_err)" != 0 ] || [ "$(field "$result" write_err)" != 0 ] ||
	   [ "$(field "$result" timeout_err)" != 0 ]; then
		echo "   FAIL: non-2xx answers or socket errors in $1" >&2
		failed=1
	fi
}

# check_stored_otlp NAME BEFORE RESULT-LINE — rows of system bench-otlp added since BEFORE.
otlp_rows() { sqlite3 "$tmp/bench.db" "select count(*) from events where system = 'bench-otlp'"; }
check_stored_otlp() {
	acked=$(( $(field "$3" ok) * BATCH ))
	stored=$(( $(otlp_rows) - $2 ))
	slack=$(( CONNECTIONS * BATCH ))
	if [ "$stored" -lt "$acked" ] || [ "$stored" -gt $((acked + slack)) ]; then
		echo "   FAIL: $1: $acked records acknowledged, $stored stored" >&2
		failed=1
	else
		echo "   ok: $1: $acked records acknowledged, $stored stored"
	fi
}

# check_stored NAME PREFIX PER_REQUEST RESULT-LINE — every acknowledged event committed.
check_stored() {
	acked=$(( $(field "$4" ok) * $3 ))
	stored=$(sqlite3 "$tmp/bench.db" "select count(*) from events where event_id like '$2-%'")
	slack=$(( CONNECTIONS * $3 ))
	if [ "$stored" -lt "$acked" ] || [ "$stored" -gt $((acked + slack)) ]; then
		echo "   FAIL: $1: $acked events acknowledged, $stored stored" >&2
		failed=1
	else
		echo "   ok: $1: $acked events acknowledged, $stored stored ($((stored - acked)) from" \
			"requests in flight when wrk stopped)"
	fi
}

echo "bench-ingest on $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "uptime: $(uptime)"
echo "collector options: --listen 127.0.0.1:0 --db (fresh) --log-level warn ${SERVE_ARGS:-}"

# (a) the reference
"$MHD_MINIMAL" "$tmp/ref.port" & pid=$!
port=$(wait_port "$tmp/ref.port" "$pid") || exit 1
run minimal "$port" none ref 1
ref=$result
ref_ticks=$ticks
kill -TERM "$pid"; wait "$pid" || true; pid=

# (b) and (c) on one collector, fresh database
"$AUTOCODER" serve --listen 127.0.0.1:0 --db "$tmp/bench.db" --port-file "$tmp/ac.port" \
	--log-level warn ${SERVE_ARGS:-} >"$tmp/serve.log" 2>&1 & pid=$!
port=$(wait_port "$tmp/ac.port" "$pid") || exit 1
token=$("$AUTOCODER" keys create bench --db "$tmp/bench.db" --json |
	sed -n 's/.*"token": *"\([^"]*\)".*/\1/p')
[ -n "$token" ] || { echo "bench-ingest: keys create printed no token" >&2; exit 1; }
run single "$port" "$token" b 1
single=$result
single_ticks=$ticks
sleep 1
check_stored single b 1 "$single"
run batch "$port" "$token" c "$BATCH"
batch=$result
batch_ticks=$ticks
sleep 1
check_stored batch c "$BATCH" "$batch"
python3 "$here/otlp_bodies.py" "$tmp" "$BATCH"
before=$(otlp_rows)
run_file otlp_json "$port" "$token" "$tmp/otlp.json" application/json
otlpj=$result
otlpj_ticks=$ticks
sleep 1
check_stored_otlp otlp_json "$before" "$otlpj"
before=$(otlp_rows)
run_file otlp_pb "$port" "$token" "$tmp/otlp.pb" application/x-protobuf
otlpp=$result
otlpp_ticks=$ticks
sleep 1
check_stored_otlp otlp_pb "$before" "$otlpp"
rss_kb=$(sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$pid/status")
kill -TERM "$pid"
if wait "$pid"; then :; else echo "   FAIL: collector exited $? after SIGTERM" >&2; failed=1; fi
pid=
echo "uptime: $(uptime)"
floor=$("$JANSSON_FLOOR" 100000)
echo "== jansson floor: $floor"

ref_rate=$(rate "$ref" 1)
single_rate=$(rate "$single" 1)
batch_rate=$(rate "$batch" "$BATCH")
otlpj_rate=$(rate "$otlpj" "$BATCH")
otlpp_rate=$(rate "$otlpp" "$BATCH")
pct=$(awk -v a="$single_rate" -v b="$ref_rate" 'BEGIN { printf "%.1f", 100 * a / b }')
verdict() { if [ "$1" = 1 ]; then echo met; else echo MISSED; fi; }
echo
echo "| run | rate | p50 | p99 | server CPU per event | target |"
echo "|---|---|---|---|---|---|"
echo "| (a) minimal libmicrohttpd handler, 1 KB POST | $ref_rate req/s | $(ms "$(field "$ref" p50_us)") ms | $(ms "$(field "$ref" p99_us)") ms | $(us_per "$ref_ticks" "$ref" 1) µs/req | reference |"
echo "| (b) single 1 KB event per POST | $single_rate req/s = $pct% of (a) | $(ms "$(field "$single" p50_us)") ms | $(ms "$(field "$single" p99_us)") ms | $(us_per "$single_ticks" "$single" 1) µs | ≥ 70% of (a): $(verdict "$(awk -v p="$pct" 'BEGIN { print (p >= 70) }')") |"
echo "| (c) NDJSON batches of $BATCH × 1 KB | $batch_rate events/s ($(rate "$batch" 1) req/s) | $(ms "$(field "$batch" p50_us)") ms | $(ms "$(field "$batch" p99_us)") ms | $(us_per "$batch_ticks" "$batch" "$BATCH") µs | ≥ 100000 events/s: $(verdict "$(awk -v r="$batch_rate" 'BEGIN { print (r >= 100000) }')") |"
echo "| (d) jansson alone: parse + serialise the same $(field "$floor" bytes)-byte event | | | | $(field "$floor" parse_us) + $(field "$floor" dump_us) µs | the general path's JSON cost (the fast path skips it) |"
echo "| (e) OTLP/JSON requests of $BATCH × ~1 KB records | $otlpj_rate events/s ($(rate "$otlpj" 1) req/s) | $(ms "$(field "$otlpj" p50_us)") ms | $(ms "$(field "$otlpj" p99_us)") ms | $(us_per "$otlpj_ticks" "$otlpj" "$BATCH") µs | reference for (f) |"
echo "| (f) OTLP protobuf, the same $BATCH records | $otlpp_rate events/s ($(rate "$otlpp" 1) req/s) | $(ms "$(field "$otlpp" p50_us)") ms | $(ms "$(field "$otlpp" p99_us)") ms | $(us_per "$otlpp_ticks" "$otlpp" "$BATCH") µs | ≥ (e): $(verdict "$(awk -v a="$otlpp_rate" -v b="$otlpj_rate" 'BEGIN { print (a >= b) }')") |"
echo "| collector peak RSS (VmHWM) | $((rss_kb / 1024)) MB ($rss_kb kB) | | | | ≤ 64 MB: $(verdict "$([ "$rss_kb" -le 65536 ] && echo 1 || echo 0)") |"
exit $failed

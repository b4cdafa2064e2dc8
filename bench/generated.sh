#!/bin/sh
# generated.sh — `make bench-generated`: how fast generation is and how fast generated systems
# run, on loopback, all measured in one run. The section "## Generated systems" is printed;
# with WRITE=1 it replaces that section of docs/BENCHMARKS.md (the rest of the file kept) —
# never otherwise: a benchmark does not rewrite tracked files unless asked.
#
#   1. generation: validate + generate a 50-component blueprint (median of 10 runs, ms);
#   2. pipeline: Source -> Transformer -> Filter -> Sink with N messages (data_delay 0), time
#      from start until the sink has received all N (metrics polled every 20 ms); the same with
#      one more Transformer stage gives the per-message cost of a stage;
#   3. todo API: GET /todos/{id} at CONNECTIONS keep-alive connections with wrk, against
#      bench/gen_mhd_ref (a minimal libmicrohttpd handler with the same threading), p99, and
#      the CPU time each server spends per request (less dependent on other load);
#   4. idle RSS of the running todo API (VmRSS after start-up, before load) and after load.
#
# Environment: AUTOCODER, MHD_REF (set by the Makefile), N (1000000), DURATION (5s per wrk run),
# ROUNDS (3 alternating rounds of todo API and reference),
# CONNECTIONS (64), WRK_THREADS (2), OUT (docs/BENCHMARKS.md), KEEP=1 keeps the temp dir.
set -eu
: "${AUTOCODER:?set AUTOCODER}" "${MHD_REF:?set MHD_REF}"
N=${N:-1000000}
DURATION=${DURATION:-5s}
ROUNDS=${ROUNDS:-3}
CONNECTIONS=${CONNECTIONS:-64}
WRK_THREADS=${WRK_THREADS:-2}
OUT=${OUT:-docs/BENCHMARKS.md}
root=$(cd "$(dirname "$0")/.." && pwd)
command -v wrk >/dev/null || { echo "bench-generated: wrk is not installed" >&2; exit 1; }
tmp=$(mktemp -d /tmp/ac-bench-gen.XXXXXX)
pids=
cleanup() {
	for p in $pids; do kill -KILL "$p" 2>/dev/null || true; done
	[ "${KEEP:-0}" = 1 ] && echo "kept $tmp" || rm -rf "$tmp"
}
trap cleanup EXIT
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
now_ms() { python3 -c 'import time; print(int(time.monotonic() * 1000))'; }
wait_http() {
	i=0
	until curl -sf -o /dev/null "$1"; do
		i=$((i + 1)); [ $i -lt 200 ] || { echo "bench-generated: no answer from $1" >&2; exit 1; }
		sleep 0.05
	done
}

# ---- 1. generation time of a 50-component blueprint
{
	printf 'schema_version: "1.0.0"\nsystem:\n  name: fifty\n  version: "1.0.0"\n  components:\n'
	printf '    - {name: s0, type: Source, config: {data_count: 10}}\n'
	i=1
	while [ $i -le 48 ]; do
		printf '    - {name: t%d, type: Transformer, config: {transform: {type: map, set: {k%d: %d}}}}\n' $i $i $i
		i=$((i + 1))
	done
	printf '    - {name: s49, type: Sink}\n  bindings:\n    - {from: s0.output, to: t1.input}\n'
	i=1
	while [ $i -lt 48 ]; do
		printf '    - {from: t%d.output, to: t%d.input}\n' $i $((i + 1))
		i=$((i + 1))
	done
	printf '    - {from: t48.output, to: s49.input}\n'
} >"$tmp/fifty.yaml"
gen_ms=$(python3 - "$AUTOCODER" "$tmp/fifty.yaml" "$tmp/fifty" <<'PY'
import subprocess, sys, time
ts = []
for i in range(10):   # a fresh output directory each time: the full cost, no skipped files
    t = time.monotonic()
    subprocess.run([sys.argv[1], "generate", "-q", sys.argv[2], "-o", "%s-%d" % (sys.argv[3], i)],
                   check=True)
    ts.append((time.monotonic() - t) * 1000)
ts.sort()
print("%.1f" % ts[len(ts) // 2])
PY
)
echo "generation (50 components, validate + generate): ${gen_ms} ms"

# ---- 2. pipeline throughput and per-stage cost
pipeline() { # NAME EXTRA_STAGE(0|1)
	{
		printf 'schema_version: "1.0.0"\nsystem:\n  name: %s\n  version: "1.0.0"\n  components:\n' "$1"
		printf '    - {name: src, type: Source, config: {generation: {type: sequence}, data_count: %d, data_delay: 0}}\n' "$N"
		printf '    - {name: xform, type: Transformer, config: {transform: {type: map, set: {stage: x}}}}\n'
		[ "$2" = 1 ] && printf '    - {name: extra, type: Transformer, config: {transform: {type: passthrough}}}\n'
		printf '    - {name: keep, type: Filter, config: {filter_conditions: [{condition: "value >= 0", action: pass}]}}\n'
		printf '    - {name: sink, type: Sink, config: {output: {type: file}, batch_size: 1000, flush_interval: 1.0}}\n'
		printf '  bindings:\n    - {from: src.output, to: xform.input}\n'
		if [ "$2" = 1 ]; then
			printf '    - {from: xform.output, to: extra.input}\n    - {from: extra.output, to: keep.input}\n'
		else
			printf '    - {from: xform.output, to: keep.input}\n'
		fi
		printf '    - {from: keep.output, to: sink.input}\n'
	} >"$tmp/$1.yaml"
	"$AUTOCODER" generate -q "$tmp/$1.yaml" -o "$tmp/$1"
	make -s -C "$tmp/$1" -j2 >/dev/null
	port=$(free_port)
	start=$(now_ms)
	(cd "$tmp/$1" && METRICS_PORT=$port DATA_DIR="$tmp/$1/data" SINK_DIR="$tmp/$1/out" exec "./$1") 2>"$tmp/$1.log" &
	p=$!
	pids="$pids $p"
	wait_http "http://127.0.0.1:$port/metrics"
	until curl -s "http://127.0.0.1:$port/metrics" | grep -q "component=\"sink\",type=\"Sink\"} $N\$"; do
		sleep 0.02
	done
	end=$(now_ms)
	# CPU time (user + system) the whole process used, in ms: independent of other load
	awk -v hz="$(getconf CLK_TCK)" '{ printf "%d\n", ($14 + $15) * 1000 / hz }' /proc/$p/stat >"$tmp/$1.cpu"
	kill -TERM $p; wait $p
	lines=$(wc -l <"$tmp/$1/out/sink.jsonl")
	[ "$lines" -eq "$N" ] || { echo "bench-generated: sink wrote $lines of $N" >&2; exit 1; }
	echo $((end - start))
}
ms4=$(pipeline pipe4 0)
ms5=$(pipeline pipe5 1)
cpu4=$(cat "$tmp/pipe4.cpu")
cpu5=$(cat "$tmp/pipe5.cpu")
cores=$(nproc)
load=$(cut -d' ' -f1 /proc/loadavg)
rate=$(python3 -c "print(int($N / ($ms4 / 1000.0)))")
cap=$(python3 -c "print(int($N / ($cpu4 / 1000.0 / $cores)))")
cpu_us=$(python3 -c "print('%.2f' % ($cpu4 * 1000.0 / $N))")
stage_us=$(python3 -c "print('%.2f' % max(0.0, ($ms5 - $ms4) * 1000.0 / $N))")
stage_cpu_us=$(python3 -c "print('%.2f' % max(0.0, ($cpu5 - $cpu4) * 1000.0 / $N))")
echo "pipeline: $N messages in $ms4 ms = $rate msg/s (load average $load); CPU $cpu4 ms = $cpu_us us/message => $cap msg/s on $cores idle cores"
echo "+1 stage: $ms5 ms wall => $stage_us us/message; CPU $cpu5 ms => $stage_cpu_us us CPU/message"

# ---- 3. todo API GET by id vs minimal libmicrohttpd, and 4. RSS
"$AUTOCODER" generate -q "$root/data/blueprints/todo_api.yaml" -o "$tmp/todo"
make -s -C "$tmp/todo" -j2 >/dev/null
port=$(free_port)
(cd "$tmp/todo" && API_PORT=$port DATA_DIR="$tmp/todo/data" LOG_LEVEL=warn exec ./todo_api) 2>"$tmp/todo.log" &
tp=$!
pids="$pids $tp"
wait_http "http://127.0.0.1:$port/health"
sleep 0.5
rss_idle=$(awk '/^VmRSS/ { print $2 }' /proc/$tp/status)
id=$(curl -s -XPOST "http://127.0.0.1:$port/todos" -d '{"title":"bench item","done":false}' |
	python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
rport=$(free_port)
"$MHD_REF" "$rport" &
rp=$!
pids="$pids $rp"
wait_http "http://127.0.0.1:$rport/x"
# alternate the two servers in ROUNDS short runs so both see the same (shared) machine;
# report the median of each
rps() { awk '/^Requests\/sec/ { print int($2) }' "$1"; }
p99() { awk '$1 == "99%" { print $2 }' "$1"; }
errs() { awk '/Non-2xx|Socket errors/ { print }' "$1"; }
# CPU time (utime + stime ticks) of a server process, and its CPU µs per request of a wrk run
ticks() { awk '{ print $14 + $15 }' /proc/$1/stat; }
cpu_per_req() { # TICKS_BEFORE TICKS_AFTER WRK_OUTPUT
	python3 -c "print('%.1f' % (($2 - $1) * 1e6 / $(getconf CLK_TCK) / $(awk '/requests in/ { print $1 }' "$3")))"
}
r=1
while [ $r -le "$ROUNDS" ]; do
	c0=$(ticks $tp)
	wrk -t"$WRK_THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "http://127.0.0.1:$port/todos/$id" >"$tmp/wrk-todo-$r.txt"
	cpu_per_req "$c0" "$(ticks $tp)" "$tmp/wrk-todo-$r.txt" >"$tmp/cpu-todo-$r.txt"
	[ -z "$(errs "$tmp/wrk-todo-$r.txt")" ] || { echo "bench-generated: todo API errors:"; errs "$tmp/wrk-todo-$r.txt"; exit 1; }
	c0=$(ticks $rp)
	wrk -t"$WRK_THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "http://127.0.0.1:$rport/todos/$id" >"$tmp/wrk-ref-$r.txt"
	cpu_per_req "$c0" "$(ticks $rp)" "$tmp/wrk-ref-$r.txt" >"$tmp/cpu-ref-$r.txt"
	echo "round $r: todo $(rps "$tmp/wrk-todo-$r.txt") req/s ($(cat "$tmp/cpu-todo-$r.txt") µs CPU/request), reference $(rps "$tmp/wrk-ref-$r.txt") req/s ($(cat "$tmp/cpu-ref-$r.txt") µs CPU/request)"
	r=$((r + 1))
done
rss_load=$(awk '/^VmHWM/ { print $2 }' /proc/$tp/status)
kill -TERM $tp; wait $tp
kill -TERM $rp; wait $rp || true
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
todo_rps=$(for f in "$tmp"/wrk-todo-*.txt; do rps "$f"; done | median)
ref_rps=$(for f in "$tmp"/wrk-ref-*.txt; do rps "$f"; done | median)
# wrk prints latencies as 950.00us, 8.30ms or 1.20s: median in milliseconds
ms_median() {
	python3 -c '
import sys
u = {"us": 1e-3, "ms": 1.0, "s": 1e3}
v = sorted(float(x.rstrip("mus")) * u[x[len(x.rstrip("mus")):]] for x in sys.stdin.read().split())
print("%.2fms" % v[(len(v) - 1) // 2])'
}
fmedian() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
todo_cpu=$(cat "$tmp"/cpu-todo-*.txt | fmedian)
ref_cpu=$(cat "$tmp"/cpu-ref-*.txt | fmedian)
todo_p99=$(for f in "$tmp"/wrk-todo-*.txt; do p99 "$f"; done | ms_median)
ref_p99=$(for f in "$tmp"/wrk-ref-*.txt; do p99 "$f"; done | ms_median)
pct=$(python3 -c "print('%.0f' % (100.0 * $todo_rps / $ref_rps))")
echo "todo API GET /todos/{id}: $todo_rps req/s (p99 $todo_p99) vs minimal MHD $ref_rps req/s (p99 $ref_p99) = $pct% (medians of $ROUNDS rounds)"
echo "server CPU per request: todo API $todo_cpu µs, minimal MHD $ref_cpu µs (medians)"
echo "todo API RSS: idle ${rss_idle} kB, peak under load ${rss_load} kB"

# ---- write the section
verdict() { python3 -c "print('met' if $1 else 'MISSED')"; }
section=$tmp/section.md
cat >"$section" <<MD
## Generated systems

Measured by \`make bench-generated\` (bench/generated.sh) on $(date -u +%Y-%m-%d) at commit
$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$root" diff --quiet HEAD 2>/dev/null || echo ' (with uncommitted changes)'), $(nproc) cores
($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')), shared with other work,
loopback only. Generated systems built with their own Makefile (cc -O2).

| figure | value | target | |
|---|---|---|---|
| validate + generate a 50-component blueprint (median of 10) | ${gen_ms} ms | < 100 ms | $(verdict "$gen_ms < 100") |
| Source → Transformer → Filter → Sink, $N messages, wall clock (load average ${load} on ${cores} cores) | ${rate} msg/s (${ms4} ms) | ≥ 500,000 msg/s | $(verdict "$rate >= 500000") |
| same run: CPU time of the whole process (all 4 stages) per message | ${cpu_us} µs → ${cap} msg/s when ${cores} cores are free | | |
| cost of one extra stage (passthrough Transformer), wall clock | ${stage_us} µs/message | ≤ 10 µs | $(verdict "$stage_us <= 10") |
| cost of one extra stage, CPU time | ${stage_cpu_us} µs/message | | |
| todo API GET /todos/{id}, ${CONNECTIONS} keep-alive connections (median of ${ROUNDS} runs) | ${todo_rps} req/s, p99 ${todo_p99} | | |
| minimal libmicrohttpd handler, same threading, alternating with it | ${ref_rps} req/s, p99 ${ref_p99} | | |
| todo API as a fraction of the minimal handler | ${pct}% | ≥ 60% | $(verdict "$pct >= 60") |
| server CPU time per request (utime + stime / requests, median of the rounds): todo API vs minimal handler | ${todo_cpu} µs vs ${ref_cpu} µs | | |
| todo API idle RSS (VmRSS after start-up) | $((rss_idle / 1024)).$(( (rss_idle % 1024) * 10 / 1024 )) MB | ≤ 10 MB | $(verdict "$rss_idle <= 10240") |
| todo API peak RSS under the load above (VmHWM) | $((rss_load / 1024)).$(( (rss_load % 1024) * 10 / 1024 )) MB | | |

Commands: \`make bench-generated\` (N=$N, ROUNDS=$ROUNDS alternating wrk runs of DURATION=$DURATION
each, CONNECTIONS=$CONNECTIONS, wrk -t$WRK_THREADS --latency). The pipeline time runs from process start until the sink's
\`app_messages_in_total\` reaches N (polled every 20 ms), so it includes start-up; the
per-stage cost is the difference between the 5-stage and the 4-stage run divided by N. CPU
time is utime + stime of the process from /proc/PID/stat, which does not depend on what else
the machine runs; the wall-clock rate does (the load average is given). The
todo API answers a GET by id in the HTTP thread (direct reads, docs/GENERATED.md: a
per-thread SQLite reader whose snapshot is renewed after writes; the benchmark's document is
ASCII without reals, so its stored text is sent as it is), on the same 2 cores as wrk; the
reference answers from a constant buffer. This ratio depends strongly on what else the
shared machine runs.
MD
if [ "${WRITE:-0}" != 1 ]; then
	echo "---- section (not written; WRITE=1 writes it to $OUT):"
	cat "$section"
	exit 0
fi
mkdir -p "$(dirname "$OUT")"
[ -f "$OUT" ] || printf '# Benchmarks\n\n' >"$OUT"
python3 - "$OUT" "$section" <<'PY'
import re, sys
doc, sec = open(sys.argv[1]).read(), open(sys.argv[2]).read()
pat = re.compile(r"^## Generated systems\n.*?(?=^## |\Z)", re.S | re.M)
doc = pat.sub(lambda m: sec + "\n", doc) if pat.search(doc) else doc.rstrip("\n") + "\n\n" + sec
open(sys.argv[1], "w").write(doc)
PY
echo "bench-generated: figures written to $OUT"

#!/bin/sh
# loadgen.sh — `make bench-loadgen`: the overhead of `autocoder bench`'s load generator. wrk and
# `autocoder bench --url` drive the same minimal libmicrohttpd handler (bench/gen_mhd_ref.c)
# in alternating rounds of the same run, same connections and threads; prints each round and
# the median ratio (target: autocoder bench reaches >= 80 % of wrk's request rate).
#
# Environment: AUTOCODER, MHD_REF (set by the Makefile), ROUNDS (3), DURATION (5, seconds),
# CONNECTIONS (64), THREADS (2).
set -eu
: "${AUTOCODER:?set AUTOCODER}" "${MHD_REF:?set MHD_REF}"
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-5}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-2}
command -v wrk >/dev/null || { echo "bench-loadgen: wrk is not installed" >&2; exit 1; }
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$MHD_REF" "$port" &
ref=$!
trap 'kill $ref 2>/dev/null || true' EXIT
i=0
until curl -sf -o /dev/null "http://127.0.0.1:$port/x"; do
	i=$((i + 1)); [ $i -lt 100 ] || { echo "bench-loadgen: reference server did not start" >&2; exit 1; }
	sleep 0.05
done
ratios=""
r=1
while [ $r -le "$ROUNDS" ]; do
	w=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" "http://127.0.0.1:$port/x" | awk '/^Requests\/sec/ { print int($2) }')
	a=$("$AUTOCODER" bench --url "http://127.0.0.1:$port/x" -c "$CONNECTIONS" --threads "$THREADS" \
		-d "$DURATION" --warmup 0 --json | python3 -c 'import json,sys; s=json.load(sys.stdin)["steps"][0]; assert s["errors"] == 0, s; print(int(s["throughput"]))')
	ratio=$(python3 -c "print('%.2f' % ($a / $w))")
	echo "round $r: wrk $w req/s, autocoder bench $a req/s, ratio $ratio (load average $(cut -d' ' -f1 /proc/loadavg))"
	ratios="$ratios $ratio"
	r=$((r + 1))
done
echo "median ratio: $(printf '%s\n' $ratios | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }') (target >= 0.80)"

# ingest_lib.sh — helpers shared by bench/ingest.sh (`make bench-ingest`) and
# bench/ingest_pg.sh (`make bench-ingest-pg`). Sourced. Needs: $here (bench/), $lua, $tmp,
# $HZ, $WRK_THREADS, $CONNECTIONS, $DURATION, $failed. The server CPU of a run is the
# user+system time of the processes in $CPU_PIDS (default: $pid) — for PostgreSQL runs that
# list holds the collectors, and $CPU_PIDS_MORE names a command that prints more PIDs at each
# reading (the PostgreSQL cluster's processes: backends start when a collector connects).

wait_port() { # FILE PID
	i=0
	while [ ! -s "$1" ]; do
		kill -0 "$2" 2>/dev/null || { echo "bench-ingest: server died" >&2; exit 1; }
		i=$((i + 1)); [ $i -lt 200 ] || { echo "bench-ingest: no port file" >&2; exit 1; }
		sleep 0.05
	done
	cat "$1"
}

field() { # RESULT-LINE NAME
	printf '%s\n' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"
}

# CPU seconds (user + system) the server process has used so far, in clock ticks.
cpu_ticks() {
	for p in ${CPU_PIDS:-$pid} $(${CPU_PIDS_MORE:-true}); do cat "/proc/$p/stat" 2>/dev/null; done |
		awk '{ sub(/^.*\) /, ""); t += $12 + $13 } END { print t + 0 }'
}

# run NAME PORT TOKEN PREFIX BATCH — prints wrk's output; leaves the RESULT line in $result
# and the server's CPU ticks spent during the run in $ticks.
run() {
	echo "== $1: load $(cut -d' ' -f1-3 /proc/loadavg)"
	t0=$(cpu_ticks)
	echo "   wrk -t$WRK_THREADS -c$CONNECTIONS -d$DURATION --timeout 30s --latency -s bench/ingest.lua" \
		"http://127.0.0.1:$2 -- /api/v1/events TOKEN $4 $5"
	wrk -t"$WRK_THREADS" -c"$CONNECTIONS" -d"$DURATION" --timeout 30s --latency -s "$lua" \
		"http://127.0.0.1:$2" -- /api/v1/events "$3" "$4" "$5" >"$tmp/$1.out" 2>&1
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

rate() { # RESULT-LINE MULTIPLIER -> per second, integer
	awk -v r="$(field "$1" ok)" -v d="$(field "$1" duration_us)" -v m="$2" \
		'BEGIN { printf "%d", r * m / (d / 1e6) }'
}

ms() { awk -v u="$1" 'BEGIN { printf "%.2f", u / 1000 }'; }

# server CPU per event in µs: independent of how busy the shared machine was
us_per() { # TICKS RESULT-LINE MULTIPLIER
	awk -v t="$1" -v hz="$HZ" -v n="$(field "$2" requests)" -v m="$3" \
		'BEGIN { printf "%.0f", t / hz * 1e6 / (n * m) }'
}

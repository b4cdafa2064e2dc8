#!/bin/sh
# t81 — the runtime's block pool (rt_pool.c) and batched hand-over do not grow without bound:
# an unbounded Source at full speed (data_delay 0) through a Transformer into a Filter that
# blocks everything (so the blocks a Source allocates are freed by another thread, the case
# the pool exists for) runs for well over a million messages, and the process's resident memory
# after that is within a few MB of what it was after the first 300,000 (when the pool and the
# queues have reached their working size): a leak of even 4 bytes per message would add more
# than the 4 MB allowed over the 1.2 million messages in between. Counters agree, SIGTERM exits 0.
. "$(dirname "$0")/gen-lib.sh"

cat >"$TMPDIR_TEST/burst.yaml" <<'YAML'
schema_version: "1.0.0"
system:
  name: burst
  version: "1.0.0"
  components:
    - {name: src, type: Source, config: {generation: {type: sequence, fields: {user: {type: string, prefix: u_}, amount: {type: number, min: 0, max: 100}}}, data_count: 0, data_delay: 0}}
    - {name: xform, type: Transformer, config: {transform: {type: map, set: {stage: x, note: "seen {{user}}"}}}}
    - {name: none, type: Filter, config: {filter_conditions: [{condition: "value < 0", action: pass}], default_action: block}}
    - {name: sink, type: Sink, config: {output: {type: file}}}
  bindings:
    - {from: src.output, to: xform.input}
    - {from: xform.output, to: none.input}
    - {from: none.output, to: sink.input}
YAML
dir=$(gen_build "$TMPDIR_TEST/burst.yaml" burst)

FIRST=300000
LATER=1500000
rss_kb() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status"; }
filter_in() {
	curl -s "http://127.0.0.1:$mport/metrics" |
		sed -n 's/^app_messages_in_total{system="burst",component="none",type="Filter"} //p'
}
# wait_count N: until the filter has seen N messages (generous: a loaded machine is slow)
wait_count() {
	i=0
	until c=$(filter_in) && [ -n "$c" ] && [ "$c" -ge "$1" ]; do
		i=$((i + 1)); [ $i -lt 6000 ] || fail "filter saw ${c:-nothing} of $1 messages"
		sleep 0.05
	done
}

mport=$(free_port)
start "$dir" burst METRICS_PORT=$mport SINK_DIR="$dir/out"
wait_http "http://127.0.0.1:$mport/metrics"
wait_count $FIRST
r1=$(rss_kb $SYS_PID)
wait_count $LATER
r2=$(rss_kb $SYS_PID)
stop $SYS_PID
grep -q '"msg":"system stopped"' "$SYS_LOG" || fail "no final log line"
last=$(grep '"msg":"system stopped"' "$SYS_LOG")
sin=$(echo "$last" | json 'd["fields"]["components"]["none"]["in"]')
xout=$(echo "$last" | json 'd["fields"]["components"]["xform"]["out"]')
[ "$sin" = "$xout" ] || fail "filter received $sin, transformer sent $xout"
[ "$(echo "$last" | json 'd["fields"]["components"]["sink"]["in"]')" = 0 ] || fail "the filter let messages through"
echo "RSS after $FIRST messages: $r1 kB; after $LATER: $r2 kB"
[ $((r2 - r1)) -le 4096 ] || fail "resident memory grew by $((r2 - r1)) kB between $FIRST and $LATER messages"
echo "t81 ok"

#!/bin/sh
# t79 — batched hand-over and the Sink's own JSON writer keep the runtime's guarantees: with
# tiny queues (qos.buffering 1 and 3, so staging slots run out constantly), a fan-out (one
# Transformer output to two Sinks) and a fan-in (two Sources into one Sink), every message
# arrives exactly once and in order per sender; the counters agree with the files; and every
# line a Sink writes is byte for byte what jansson writes for the same value (a small C program
# built here with the system's compiler parses each line with jansson and serialises it again
# with the Sink's flags) — for plain ASCII, escapes, control characters, text outside ASCII,
# reals, integers at the extremes and nested values. SIGTERM exits 0.
. "$(dirname "$0")/gen-lib.sh"

N=20000
M=5000
cat >"$TMPDIR_TEST/handover.yaml" <<YAML
schema_version: "1.0.0"
system:
  name: handover
  version: "1.0.0"
  components:
    - name: src
      type: Source
      config:
        generation:
          type: sequence
          fields:
            origin: {values: [one]}
            text: {values: ["plain", "caf\u00e9 \u00fcn\u00efcode \u2603", "quote\" back\\\\ slash/", "tab\tnew\nline\r", "\u0001ctl\u001f\u007f", "", "emoji \U0001F600"]}
            num: {values: [1.5, 1e21, 0.1, -0.0, 123456789.123, 1e-7, 9007199254740993, -9223372036854775808, 9223372036854775807, true, false, null]}
            nested: {values: [{a: [1, 2.5, "x", {b: null}], "k\"ey": "v"}, [], {}]}
            amount: {type: number, min: -1000, max: 1000}
        data_count: $N
        data_delay: 0
    - name: src2
      type: Source
      config: {generation: {type: sequence, fields: {origin: {values: [two]}}}, data_count: $M, data_delay: 0}
    - name: xform
      type: Transformer
      config: {transform: {type: map, set: {stage: x}}}
    - name: sink_a
      type: Sink
      config: {output: {type: file, filename: a.jsonl}, batch_size: 100, flush_interval: 0.2}
    - name: sink_b
      type: Sink
      config: {output: {type: file, filename: b.jsonl}, batch_size: 1000, flush_interval: 0.2}
  bindings:
    - {from: src.output, to: xform.input, qos: {buffering: 1}}
    - {from: xform.output, to: sink_a.input, qos: {buffering: 3}}
    - {from: xform.output, to: sink_b.input}
    - {from: src2.output, to: sink_a.input, qos: {buffering: 1}}
YAML
dir=$(gen_build "$TMPDIR_TEST/handover.yaml" handover)

# the reference serialiser: jansson with the Sink's flags, over every line
cat >"$TMPDIR_TEST/roundtrip.c" <<'C'
#include <jansson.h>
#include <stdio.h>
#include <string.h>
int main(int argc, char **argv)
{
	static char line[1 << 16], out[1 << 16];
	long n = 0;
	FILE *f = fopen(argv[argc - 1], "r");
	if (!f)
		return 2;
	while (fgets(line, sizeof line, f)) {
		size_t len = strlen(line), k;
		json_error_t e;
		json_t *v;
		if (!len || line[len - 1] != '\n')
			return printf("line %ld: not a whole line\n", n + 1), 1;
		v = json_loadb(line, len - 1, 0, &e);
		if (!v)
			return printf("line %ld: %s\n", n + 1, e.text), 1;
		k = json_dumpb(v, out, sizeof out, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(15));
		if (k != len - 1 || memcmp(out, line, k))
			return printf("line %ld differs:\n  sink:    %.*s\n  jansson: %.*s\n", n + 1,
				      (int)(len - 1), line, (int)k, out), 1;
		json_decref(v);
		n++;
	}
	printf("%ld lines identical\n", n);
	return 0;
}
C
cc -O1 -o "$TMPDIR_TEST/roundtrip" "$TMPDIR_TEST/roundtrip.c" $(pkg-config --cflags --libs jansson) ||
	fail "cannot build the jansson reference"

mport=$(free_port)
start "$dir" handover METRICS_PORT=$mport SINK_DIR="$dir/out"
wait_http "http://127.0.0.1:$mport/metrics"
metric() { sed -n "s/^app_messages_$1_total{system=\"handover\",component=\"$2\",type=\"$3\"} //p" "$TMPDIR_TEST/m"; }
i=0
until curl -s "http://127.0.0.1:$mport/metrics" >"$TMPDIR_TEST/m" &&
	[ "$(metric in sink_a Sink)" = $((N + M)) ] && [ "$(metric in sink_b Sink)" = $N ]; do
	i=$((i + 1)); [ $i -lt 1200 ] || fail "sinks got a=$(metric in sink_a Sink) b=$(metric in sink_b Sink)"
	sleep 0.1
done
[ "$(metric out xform Transformer)" = $((2 * N)) ] || fail "xform out $(metric out xform Transformer)"
[ "$(metric out src Source)" = $N ] && [ "$(metric out src2 Source)" = $M ] || fail "source counters"
stop $SYS_PID
grep -q 'queue full' "$SYS_LOG" && fail "dead letters: $(grep -m1 'queue full' "$SYS_LOG")"
[ ! -d "$dir/data/dead_letter" ] || fail "dead-letter files written"

python3 - "$dir/out/a.jsonl" "$dir/out/b.jsonl" "$N" "$M" <<'PY' || fail "sink content"
import json, sys
a = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
b = [json.loads(l) for l in open(sys.argv[2], encoding="utf-8")]
n, m = int(sys.argv[3]), int(sys.argv[4])
assert [r["id"] for r in b] == list(range(1, n + 1)), "sink_b: not ids 1..N in order once each"
assert all(r["stage"] == "x" and r["origin"] == "one" for r in b), "sink_b content"
one = [r["id"] for r in a if r["origin"] == "one"]
two = [r["id"] for r in a if r["origin"] == "two"]
assert one == list(range(1, n + 1)), "sink_a: transformer's messages lost, repeated or reordered"
assert two == list(range(1, m + 1)), "sink_a: src2's messages lost, repeated or reordered"
assert len(a) == n + m
texts = {r["text"] for r in b}
assert "caf\u00e9 \u00fcn\u00efcode \u2603" in texts and "\u0001ctl\u001f\u007f" in texts, texts
assert any(isinstance(r["num"], float) for r in b) and any(isinstance(r["amount"], float) for r in b)
print(len(a), len(b), "rows ok")
PY
"$TMPDIR_TEST/roundtrip" "$dir/out/a.jsonl" || fail "sink_a output differs from jansson's"
"$TMPDIR_TEST/roundtrip" "$dir/out/b.jsonl" || fail "sink_b output differs from jansson's"
echo "t79 ok"

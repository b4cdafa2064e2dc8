#!/bin/sh
# t52 — what the original's dialect needs from the generated runtime (issue 11): a system
# called `test` builds; an APIEndpoint typed FastAPIEndpoint without a port, on host
# `localhost`, listens on loopback only; REST bodies are checked against the blueprint's
# schema (400 naming the field); an Accumulator whose messages lack its key field counts them
# under default_accumulator and stays healthy; metrics are app_*, not the collector's names.
. "$(dirname "$0")/gen-lib.sh"

bp=$TMPDIR_TEST/test.yaml
cat >"$bp" <<'YAML'
schemas:
  Todo:
    type: object
    properties:
      title: {type: string, minLength: 1}
      done: {type: boolean}
      email: {type: string, format: email}
      priority: {type: integer, minimum: 1, maximum: 5}
    required: [title]
system:
  name: test
  components:
    - {name: api, type: FastAPIEndpoint, config: {host: localhost, resource: todos}}
    - {name: controller, type: Controller, config: {store_name: store}}
    - {name: store, type: Store}
    - {name: ticks, type: EventSource, config: {data_count: 20, data_delay: 0.01}}
    - {name: totals, type: Accumulator, config: {key_field: account, flush_interval: 0.1}}
    - {name: out, type: Sink, config: {flush_interval: 0.1}}
  bindings:
    - {from: api.request, to: controller.control}
    - {from: controller.command, to: store.input}
    - {from: store.response, to: api.response}
    - {from: ticks.output, to: totals.input}
    - {from: totals.output, to: out.input}
YAML
"$AUTOCODER" validate "$bp" 2>"$TMPDIR_TEST/diag" || { cat "$TMPDIR_TEST/diag"; fail "validate"; }
grep -q "names no port; it listens on port 8000" "$TMPDIR_TEST/diag" || fail "no default-port note"
dir=$(gen_build "$bp" test)
[ -x "$dir/test" ] || fail "the system called 'test' did not build its binary"
port=$(free_port)
start "$dir" test API_PORT=$port SINK_DIR="$dir/out"
B=http://127.0.0.1:$port
wait_http "$B/ready"

# loopback only: the listening socket of API_PORT is bound to 127.0.0.1
python3 - "$port" <<'PY' || fail "API not bound to 127.0.0.1"
import sys
port = int(sys.argv[1])
binds = [l.split()[1] for l in open("/proc/net/tcp").read().splitlines()[1:]
         if l.split()[3] == "0A" and int(l.split()[1].split(":")[1], 16) == port]
assert binds == ["0100007F:%04X" % port], binds
PY

# bodies against the Todo schema: 400 naming the field
check400() { # BODY FIELD [METHOD PATH]
	code=$(curl -s -o "$TMPDIR_TEST/r" -w '%{http_code}' -X"${3:-POST}" "$B${4:-/todos}" -d "$1")
	[ "$code" = 400 ] || fail "$1: $code, want 400"
	[ "$(json 'd["field"]' <"$TMPDIR_TEST/r")" = "$2" ] || fail "$1: $(cat "$TMPDIR_TEST/r")"
}
check400 '{"title": {"a": 1}}' title
check400 '{"title": "x", "done": "yes"}' done
check400 '{"done": true}' title
check400 '{"title": ""}' title
check400 '{"title": "x", "email": "not-an-address"}' email
check400 '{"title": "x", "priority": 9}' priority
check400 '{"title": "x", "priority": 2.5}' priority
code=$(curl -s -o "$TMPDIR_TEST/c" -w '%{http_code}' -XPOST "$B/todos" \
	-d '{"title": "buy milk", "done": false, "email": "a@b.example", "priority": 3}')
[ "$code" = 201 ] || fail "valid body: $code $(cat "$TMPDIR_TEST/c")"
id=$(json 'd["id"]' <"$TMPDIR_TEST/c")
check400 '{"done": "no"}' done PUT "/todos/$id"
code=$(curl -s -o /dev/null -w '%{http_code}' -XPUT "$B/todos/$id" -d '{"done": true}')
[ "$code" = 200 ] || fail "partial PUT: $code"

# the accumulator: 20 messages without 'account', all under default_accumulator, healthy
wait_lines "$dir/out/out.jsonl" 20 200
python3 - "$dir/out/out.jsonl" <<'PY' || fail "accumulator output"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert [r["count"] for r in rows] == list(range(1, 21)), [r.get("count") for r in rows]
PY
curl -s -o "$TMPDIR_TEST/h" -w '%{http_code}' "$B/health" | grep -q 200 || fail "unhealthy: $(cat "$TMPDIR_TEST/h")"

# metrics: app_* names, none of the collector's autocoder_* names
curl -s "$B/metrics" >"$TMPDIR_TEST/m"
grep -q '^app_messages_in_total{system="test",component="totals",type="Accumulator"} 20' \
	"$TMPDIR_TEST/m" || fail "app_ metrics"
! grep -q '^autocoder_' "$TMPDIR_TEST/m" || fail "collector metric names in a generated system"
stop $SYS_PID
echo "t52 ok"

#!/bin/sh
# t65 — HTTP ingress into a pipeline: POSTs are answered 202 (no reply loop), the Filter's
# regex condition keeps valid orders, which fan out to a Store (SQLite rows) and a Sink file;
# bad JSON 400, oversized body 413, methods outside http_methods 405.
. "$(dirname "$0")/gen-lib.sh"

dir=$(gen_build "$BLUEPRINTS/order_ingest.yaml" orders)
port=$(free_port)
start "$dir" order_ingest INTAKE_PORT=$port SINK_DIR="$dir/out"
B=http://127.0.0.1:$port
wait_http "$B/health"
post() { curl -s -o "$TMPDIR_TEST/r" -w '%{http_code}' -XPOST "$B/orders" -d "$1"; }
[ "$(post '{"id":"o1","sku":"ABC-1","quantity":2}')" = 202 ] || fail "valid order"
json 'd["accepted"]' <"$TMPDIR_TEST/r" | grep -qx True || fail "202 body"
[ "$(post '{"id":"o2","sku":"abc-1","quantity":2}')" = 202 ] || fail "bad sku still 202"
[ "$(post '{"id":"o3","sku":"XYZ-77","quantity":0}')" = 202 ] || fail "zero qty still 202"
[ "$(post '{"id":"o4","sku":"XYZ-77","quantity":5}')" = 202 ] || fail "second valid order"
[ "$(post '{"id":')" = 400 ] || fail "bad JSON"
[ "$(post '[1,2]')" = 400 ] || fail "array body"
big=$(python3 -c 'print("{\"pad\":\"" + "x" * 5000 + "\"}")')
[ "$(post "$big")" = 413 ] || fail "oversized body"
code=$(curl -s -o /dev/null -w '%{http_code}' "$B/orders")
[ "$code" = 405 ] || fail "GET not in http_methods: $code"
wait_lines "$dir/out/orders.jsonl" 2
sleep 0.3
stop $SYS_PID
[ "$(wc -l <"$dir/out/orders.jsonl")" -eq 2 ] || fail "sink has $(wc -l <"$dir/out/orders.jsonl") orders"
grep -q '"o1"' "$dir/out/orders.jsonl" && grep -q '"o4"' "$dir/out/orders.jsonl" || fail "wrong orders"
rows=$(sqlite3 "$dir/data/orders_db.db" "select id from orders order by id" | tr '\n' ' ')
[ "$rows" = "o1 o4 " ] || fail "store rows: $rows"
echo "t65 ok"

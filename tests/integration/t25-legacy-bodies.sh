#!/bin/sh
# t25-legacy-bodies.sh — bodies real clients send that no SDK here produces on demand, made by
# the test itself and sent with curl to a real server:
#   * raven-style /store/ bodies: base64 of zlib (and of gzip and raw deflate) event JSON with
#     Content-Type application/octet-stream and no Content-Encoding, X-Sentry-Auth with
#     sentry_version=5 — a bare-list exception, an ISO timestamp without zone, no level;
#     a base64 zlib bomb is refused with 413;
#   * a logentry with params and no `formatted`: formatted text stored, template and params kept;
#   * an envelope with log, user_report, feedback, attachment (one over the project quota) and
#     client_report items: log records stored as kind=log events, feedback and the attachment
#     listed on the event, the attachment downloadable byte for byte, discards in /metrics;
#   * OTLP protobuf (plain and gzip) answered with an ExportLogsServiceResponse in protobuf,
#     the exception stack parsed into frames, typed attributes kept.
set -u
. "$(dirname "$0")/proto-clients.inc.sh"
trap cleanup EXIT

db="$TMPDIR_TEST/events.db"
start_server "$db" --attachment-quota 64
new_key "$db" legacy
base="http://127.0.0.1:$PORT"
key=$(printf '%s' "$KEY_DSN" | sed 's|^[a-z]*://\([^@:]*\).*|\1|')
pid=$(printf '%s' "$KEY_DSN" | sed 's|.*/||')
auth="Sentry sentry_version=5, sentry_timestamp=$(date +%s), sentry_key=$key, sentry_client=raven-python/6.10.0"

# --- raven bodies: base64(zlib | gzip | raw deflate) of the same event, three event ids ---
i=0
for form in zlib gzip raw; do
	i=$((i + 1))
	python3 - "$form" "$i" >"$TMPDIR_TEST/raven.$form" <<'PY'
import base64, json, sys, zlib, gzip
form, n = sys.argv[1], sys.argv[2]
ev = {"event_id": "e4874d664c3540c1a32eab185f12c5a%s" % n, "project": "1",
      "timestamp": "2026-11-24T10:11:12", "platform": "python", "release": "shop@1.2",
      "environment": "staging", "message": "ZeroDivisionError: division by zero",
      "exception": [{"type": "ZeroDivisionError", "value": "division by zero (%s)" % form,
                     "module": "exceptions", "stacktrace": {"frames": [
                         {"filename": "shop/app.py", "function": "checkout", "lineno": 42,
                          "in_app": True},
                         {"filename": "shop/price.py", "function": "ratio", "lineno": 7,
                          "in_app": True}]}}],
      "sdk": {"name": "raven-python", "version": "6.10.0"}}
raw = json.dumps(ev).encode()
if form == "zlib":
    data = zlib.compress(raw)
elif form == "gzip":
    data = gzip.compress(raw)
else:
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    data = c.compress(raw) + c.flush()
sys.stdout.write(base64.b64encode(data).decode())
PY
	case $form in zlib) head -c 2 "$TMPDIR_TEST/raven.zlib" | grep -q '^eJ' || fail "zlib base64 does not start with eJ" ;; esac
	code=$(curl -s -o "$TMPDIR_TEST/out" -w '%{http_code}' -H "X-Sentry-Auth: $auth" \
		-H 'Content-Type: application/octet-stream' --data-binary @"$TMPDIR_TEST/raven.$form" \
		"$base/api/$pid/store/")
	expect "raven $form body -> HTTP" "$code" 200
	w="event_id = 'e4874d664c3540c1a32eab185f12c5a$i'"
	expect "raven $form: type" "$(sql "$db" "select exc_type from events where $w")" ZeroDivisionError
	expect "raven $form: value" "$(sql "$db" "select exc_value from events where $w")" "division by zero ($form)"
	expect "raven $form: level defaults to error" "$(sql "$db" "select level || '/' || kind from events where $w")" error/error
	expect "raven $form: zoneless timestamp read as UTC" \
		"$(sql "$db" "select json_extract(raw, '\$.timestamp') from events where $w")" 2026-11-24T10:11:12.000Z
	expect "raven $form: release/environment" "$(sql "$db" "select release || '/' || environment from events where $w")" shop@1.2/staging
	expect "raven $form: frames" \
		"$(sql "$db" "select json_extract(raw, '\$.exception.frames[1].function') || ':' || json_extract(raw, '\$.exception.frames[1].line') from events where $w")" ratio:7
done

# a base64 zlib bomb (64 MiB of spaces) is refused like any oversized body
python3 -c 'import base64,zlib,sys; sys.stdout.write(base64.b64encode(zlib.compress(b" " * (64 << 20), 9)).decode())' >"$TMPDIR_TEST/bomb"
code=$(curl -s -o "$TMPDIR_TEST/out" -w '%{http_code}' -H "X-Sentry-Auth: $auth" --data-binary @"$TMPDIR_TEST/bomb" "$base/api/$pid/store/")
expect "base64 zlib bomb -> HTTP" "$code" 413
grep -q 'after decompression' "$TMPDIR_TEST/out" || fail "413 does not say why: $(cat "$TMPDIR_TEST/out")"
printf 'this is no JSON and no base64!' >"$TMPDIR_TEST/junk"
code=$(curl -s -o "$TMPDIR_TEST/out" -w '%{http_code}' -H "X-Sentry-Auth: $auth" --data-binary @"$TMPDIR_TEST/junk" "$base/api/$pid/store/")
expect "junk store body -> HTTP" "$code" 400
grep -q 'base64' "$TMPDIR_TEST/out" || fail "400 does not name the forms: $(cat "$TMPDIR_TEST/out")"

# --- logentry with params, no formatted ---
code=$(curl -s -o /dev/null -w '%{http_code}' -H "X-Sentry-Auth: $auth" -H 'Content-Type: application/json' \
	-d '{"event_id":"11111111111111111111111111111111","level":"warning","logentry":{"message":"payment %s failed code=%d ratio=%.1f %r","params":["p-77",402,0.25,"x"]}}' \
	"$base/api/$pid/store/")
expect "logentry store -> HTTP" "$code" 200
w="event_id = '11111111111111111111111111111111'"
expect "logentry formatted" "$(sql "$db" "select message from events where $w")" "payment p-77 failed code=402 ratio=0.2 'x'"
expect "logentry template kept" "$(sql "$db" "select json_extract(raw, '\$.context.logentry.message') from events where $w")" "payment %s failed code=%d ratio=%.1f %r"
expect "logentry params kept" "$(sql "$db" "select json_extract(raw, '\$.context.logentry.params[1]') from events where $w")" 402

# --- envelope with log, feedback, attachments and a client report ---
eid=9ec79c33ec9942ab8353589fcb2e04dc
python3 - "$KEY_DSN" "$eid" >"$TMPDIR_TEST/env" <<'PY'
import json, sys
dsn, eid = sys.argv[1], sys.argv[2]
items = []
def item(h, payload):
    if not isinstance(payload, bytes):
        payload = json.dumps(payload).encode()
    h = dict(h, length=len(payload))
    items.append(json.dumps(h).encode() + b"\n" + payload)
item({"type": "event"}, {"event_id": eid, "message": "checkout failed", "level": "error",
                         "release": "r9", "environment": "prod"})
item({"type": "attachment", "filename": "state.bin", "content_type": "application/octet-stream"},
     bytes(range(256))[:40])
item({"type": "attachment", "filename": "too-much.txt"}, b"y" * 40)
item({"type": "user_report"}, {"event_id": eid, "name": "Ann", "email": "ann@example.com",
                               "comments": "the button did nothing"})
item({"type": "feedback"}, {"event_id": "ab" * 16, "contexts": {"feedback": {
    "message": "still broken", "contact_email": "bo@example.com", "associated_event_id": eid}}})
item({"type": "log", "item_count": 2, "content_type": "application/vnd.sentry.items.log+json"},
     {"items": [{"timestamp": 1795561501.25, "trace_id": "5b8efff798038103d269b633813fc60c",
                 "level": "warn", "body": "cache miss for user 42", "attributes": {
                     "sentry.release": {"value": "r9", "type": "string"},
                     "sentry.environment": {"value": "prod", "type": "string"},
                     "sentry.message.template": {"value": "cache miss for user %s", "type": "string"},
                     "sentry.message.parameter.0": {"value": 42, "type": "integer"},
                     "hit_ratio": {"value": 0.5, "type": "double"}}},
                {"timestamp": 1795561502, "level": "error", "body": "queue stalled",
                 "attributes": {}}]})
item({"type": "client_report"}, {"timestamp": 1795561500, "discarded_events": [
    {"reason": "queue_overflow", "category": "error", "quantity": 3},
    {"reason": "sample_rate", "category": "transaction", "quantity": 7}]})
sys.stdout.buffer.write(json.dumps({"event_id": eid, "dsn": dsn}).encode() + b"\n" + b"\n".join(items))
PY
code=$(curl -s -o "$TMPDIR_TEST/out" -w '%{http_code}' -H 'Content-Type: application/x-sentry-envelope' \
	--data-binary @"$TMPDIR_TEST/env" "$base/api/$pid/envelope/")
expect "envelope with all item types -> HTTP" "$code" 200
expect "log items stored as kind=log" \
	"$(sql "$db" "select group_concat(kind || ':' || level || ':' || message, '|') from (select * from events where message in ('cache miss for user 42', 'queue stalled') order by message)")" \
	"log:warning:cache miss for user 42|log:error:queue stalled"
w="message = 'cache miss for user 42'"
expect "log record trace id" "$(sql "$db" "select json_extract(raw, '\$.context.trace_id') from events where $w")" 5b8efff798038103d269b633813fc60c
expect "log record typed attribute" "$(sql "$db" "select json_type(raw, '\$.context.attributes.hit_ratio') from events where $w")" real
expect "log record template" "$(sql "$db" "select json_extract(raw, '\$.context.logentry.message') from events where $w")" "cache miss for user %s"
curl -s -H "Authorization: Bearer $KEY_TOKEN" "$base/api/v1/events/$eid" >"$TMPDIR_TEST/ev.json"
expect "feedback on the event" \
	"$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print("|".join(f["comments"] for f in d.get("feedback", [])))' "$TMPDIR_TEST/ev.json")" \
	"the button did nothing|still broken"
expect "attachments listed (the one over the 64-byte quota dropped)" \
	"$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(",".join("%s:%d" % (a["filename"], a["size"]) for a in d.get("attachments", [])))' "$TMPDIR_TEST/ev.json")" \
	"state.bin:40"
url=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["attachments"][0]["url"])' "$TMPDIR_TEST/ev.json")
curl -s -o "$TMPDIR_TEST/att" -H "Authorization: Bearer $KEY_TOKEN" "$base$url"
python3 -c 'import sys; sys.stdout.buffer.write(bytes(range(256))[:40])' >"$TMPDIR_TEST/att.want"
cmp -s "$TMPDIR_TEST/att" "$TMPDIR_TEST/att.want" || fail "downloaded attachment differs from what was sent"
echo "ok: attachment downloaded byte for byte"
code=$(curl -s -o /dev/null -w '%{http_code}' "$base$url")
expect "attachment without a token -> HTTP" "$code" 401
curl -s "$base/metrics" >"$TMPDIR_TEST/metrics"
grep -q 'autocoder_client_discarded_events_total{reason="queue_overflow",category="error"} 3' "$TMPDIR_TEST/metrics" ||
	fail "client report discards not in /metrics: $(grep discarded "$TMPDIR_TEST/metrics")"
echo "ok: client_report discards in /metrics"
grep -q '^autocoder_attachments_over_quota_total 1$' "$TMPDIR_TEST/metrics" ||
	fail "the attachment over the quota is not counted: $(grep over_quota "$TMPDIR_TEST/metrics")"
echo "ok: the attachment over the quota counted in /metrics"

# --- OTLP protobuf, plain and gzip ---
python3 - "$TMPDIR_TEST" <<'PY'
import gzip, struct, sys
def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F; n >>= 7
        if n: out.append(b | 0x80)
        else: out.append(b); return bytes(out)
def ld(f, p): return varint(f << 3 | 2) + varint(len(p)) + p
def vi(f, n): return varint(f << 3) + varint(n)
def s(f, t): return ld(f, t.encode())
def kv(k, av): return s(1, k) + ld(2, av)
stack = ("java.lang.IllegalStateException: cart is empty\n"
         "\tat com.acme.shop.Cart.checkout(Cart.java:88)\n"
         "\tat com.acme.shop.Api.post(Api.java:20)\n"
         "Caused by: java.io.IOException: disk\n\tat com.acme.Disk.w(Disk.java:1)\n")
def request(mark):
    rec = (b"\x09" + struct.pack("<Q", 1795561501500000000) + vi(2, 17) + s(3, "ERROR") +
           ld(5, s(1, "checkout failed " + mark)) +
           ld(6, kv("exception.type", s(1, "java.lang.IllegalStateException"))) +
           ld(6, kv("exception.message", s(1, "cart is empty"))) +
           ld(6, kv("exception.stacktrace", s(1, stack))) +
           ld(6, kv("retries", vi(3, 3))) + ld(6, kv("ok", vi(2, 0))) +
           ld(6, kv("ratio", b"\x21" + struct.pack("<d", 0.75))) +
           ld(6, kv("tags", ld(5, ld(1, s(1, "a")) + ld(1, vi(3, 2))))) +
           ld(9, bytes.fromhex("0af7651916cd43dd8448eb211c80319c")))
    res = ld(1, kv("service.name", s(1, "shop-api")) + b"") + ld(1, kv("service.version", s(1, "4.0.0"))) + \
          ld(1, kv("deployment.environment.name", s(1, "prod")))
    return ld(1, ld(1, res) + ld(2, ld(1, s(1, "com.acme.shop")) + ld(2, rec)))
open(sys.argv[1] + "/otlp.pb", "wb").write(request("pb"))
open(sys.argv[1] + "/otlp.pb.gz", "wb").write(gzip.compress(request("gz")))
PY
code=$(curl -s -o "$TMPDIR_TEST/resp.pb" -D "$TMPDIR_TEST/hdr" -w '%{http_code}' -H "Authorization: Bearer $KEY_TOKEN" \
	-H 'Content-Type: application/x-protobuf' --data-binary @"$TMPDIR_TEST/otlp.pb" "$base/v1/logs")
expect "OTLP protobuf -> HTTP" "$code" 200
grep -qi '^content-type: application/x-protobuf' "$TMPDIR_TEST/hdr" || fail "protobuf request answered in $(grep -i content-type "$TMPDIR_TEST/hdr")"
expect "protobuf response is an empty ExportLogsServiceResponse" "$(wc -c <"$TMPDIR_TEST/resp.pb" | tr -d ' ')" 0
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $KEY_TOKEN" -H 'Content-Encoding: gzip' \
	-H 'Content-Type: application/x-protobuf' --data-binary @"$TMPDIR_TEST/otlp.pb.gz" "$base/v1/logs")
expect "OTLP protobuf gzip -> HTTP" "$code" 200
for m in pb gz; do
	w="message = 'checkout failed $m'"
	expect "otlp $m: system/release/environment" "$(sql "$db" "select system || '/' || release || '/' || environment from events where $w")" shop-api/4.0.0/prod
	expect "otlp $m: error with type" "$(sql "$db" "select kind || '/' || exc_type || '/' || exc_value from events where $w")" "error/java.lang.IllegalStateException/cart is empty"
	expect "otlp $m: frames from the stack text (outermost first, top exception only)" \
		"$(sql "$db" "select json_array_length(raw, '\$.exception.frames') || ':' || json_extract(raw, '\$.exception.frames[1].function') || ':' || json_extract(raw, '\$.exception.frames[1].line') from events where $w")" 2:checkout:88
	expect "otlp $m: typed attributes" \
		"$(sql "$db" "select json_type(raw, '\$.context.attributes.retries') || ',' || json_type(raw, '\$.context.attributes.ok') || ',' || json_type(raw, '\$.context.attributes.ratio') || ',' || json_extract(raw, '\$.context.attributes.tags[1]') from events where $w")" integer,false,real,2
	expect "otlp $m: trace id" "$(sql "$db" "select json_extract(raw, '\$.context.trace_id') from events where $w")" 0af7651916cd43dd8448eb211c80319c
done
printf '\n\377\001' >"$TMPDIR_TEST/bad.pb"
code=$(curl -s -o "$TMPDIR_TEST/out" -w '%{http_code}' -H "Authorization: Bearer $KEY_TOKEN" \
	-H 'Content-Type: application/x-protobuf' --data-binary @"$TMPDIR_TEST/bad.pb" "$base/v1/logs")
expect "malformed protobuf -> HTTP" "$code" 400

stop_server TERM
expect "server exit status after SIGTERM" "$SERVER_RC" 0
echo "t25 passed"

#!/bin/sh
# t32 — `autocoder send` of what a beta user has on disk: a generated system's crash spool
# (a real crash: AUTOCODER_CRASH_AFTER makes the event_pipeline's "enrich" segfault), a crash
# report JSON, an NDJSON file of events and a JSON array, with --note/--contact attached.
# Crashes are stored with the component's frames; sending the spool again stores nothing
# twice (deterministic ids); a malformed event in an array is refused alone with its reason.
# ac-test: sqlite-only (reads the stored crash with python's sqlite3)
. "$(dirname "$0")/../lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)

out=$TMPDIR_TEST/pipe
"$AUTOCODER" generate -q "$ROOT/data/blueprints/event_pipeline.yaml" -o "$out" >&2 || fail "generate"
env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u CC -u CFLAGS make -s -C "$out" -j2 >&2 || fail "build"
spool=$TMPDIR_TEST/spool
mport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
st=0
(cd "$out" && exec env DATA_DIR="$TMPDIR_TEST/data" AUTOCODER_SPOOL_DIR="$spool" METRICS_PORT=$mport \
	SINK_DIR="$TMPDIR_TEST/sink" AUTOCODER_CRASH_AFTER=5 AUTOCODER_CRASH_COMPONENT=enrich \
	./event_pipeline) 2>"$TMPDIR_TEST/crash.log" || st=$?
[ $st -eq 139 ] || fail "the system did not crash with SIGSEGV (status $st)"
ls "$spool"/crash-*.txt >/dev/null || fail "no crash spool file"

start_server
create_key beta
"$AUTOCODER" send --dsn "$DSN" --no-state --no-progress --note "clicked import twice" \
	--contact "ana@example.org" --environment beta "$spool" >"$TMPDIR_TEST/s1.out" ||
	fail "send spool: $(cat "$TMPDIR_TEST/s1.out")"
grep -q "1 stored" "$TMPDIR_TEST/s1.out" || fail "spool summary: $(cat "$TMPDIR_TEST/s1.out")"
python3 - "$DB" <<'PY' || fail "stored crash"
import json, sqlite3, sys
rows = sqlite3.connect(sys.argv[1]).execute("SELECT raw FROM events WHERE kind = 'crash'").fetchall()
assert len(rows) == 1, rows
ev = json.loads(rows[0][0])
assert ev["exception"]["type"] == "SIGSEGV" and ev["component"] == "enrich", ev
assert ev["system"] == "event_pipeline" and ev["environment"] == "beta", ev
fns = [f["function"] for f in ev["exception"]["frames"]]
assert fns[-1] == "enrich_crash" and fns[-2] == "enrich_process", fns
assert ev["exception"]["frames"][-1]["file"] == "src/enrich.c", ev["exception"]["frames"][-1]
rep = ev["context"]["crash"]["report"]
assert rep == {"note": "clicked import twice", "contact": "ana@example.org"}, rep
print("crash frames:", fns[-3:])
PY
pass "crash spool stored with frames and the note"
"$AUTOCODER" send --dsn "$DSN" --no-state --no-progress "$spool" >"$TMPDIR_TEST/s2.out" || fail "resend spool"
grep -q "0 stored, 1 duplicate" "$TMPDIR_TEST/s2.out" || fail "spool resend: $(cat "$TMPDIR_TEST/s2.out")"
[ "$(sql "SELECT count(*) FROM events WHERE kind = 'crash'")" = 1 ] || fail "crash stored twice"
pass "spool resend is a duplicate"

# a crash report JSON (the /api/v1/crashes shape)
cat >"$TMPDIR_TEST/crash.json" <<'J'
{"signal": "SIGABRT", "thread": "writer", "system": "shop", "component": "writer",
 "frames": [{"function": "abort"}, {"function": "writer_flush", "file": "src/writer.c", "line": 7, "in_app": true}]}
J
"$AUTOCODER" send --url "$BASE" --token "$TOKEN" --no-state --no-progress "$TMPDIR_TEST/crash.json" >/dev/null || fail "crash json"
[ "$(sql "SELECT count(*) FROM events WHERE kind = 'crash' AND exc_type = 'SIGABRT' AND system = 'shop'")" = 1 ] || fail "crash json not stored"
pass "crash report JSON stored"

# NDJSON events (auto-detected) and a JSON array with one malformed event
printf '{"message":"cart total negative","level":"error","component":"cart"}\n{"msg":"slow checkout","level":"warn"}\n' >"$TMPDIR_TEST/ev.ndjson"
printf '[{"message":"a","level":"error"}, {"message":"b","level":"loud"}, {"message":"c"}]' >"$TMPDIR_TEST/ev.json"
st=0
"$AUTOCODER" send --url "$BASE" --token "$TOKEN" --no-state --no-progress --system shop --json \
	"$TMPDIR_TEST/ev.ndjson" "$TMPDIR_TEST/ev.json" >"$TMPDIR_TEST/ev.out" || st=$?
[ $st = 1 ] || fail "a refused event must give exit 1, got $st"
python3 - "$TMPDIR_TEST/ev.out" <<'PY' || fail "events summary: $(cat "$TMPDIR_TEST/ev.out")"
import json, sys
s = json.load(open(sys.argv[1]))
assert s["stored"] == 4 and s["refused"] == 1, s
r = s["reasons"][0]
assert r["line"] == 2 and r["error"] == "invalid_field" and "level" in r["detail"], r
PY
[ "$(sql "SELECT count(*) FROM events WHERE system = 'shop' AND message IN ('cart total negative','slow checkout','a','c')")" = 4 ] || fail "events"
[ "$(sql "SELECT count(*) FROM events WHERE message = 'b'")" = 0 ] || fail "refused event stored"
pass "NDJSON and array sent; the bad event refused alone"
stop_server
echo "t32 ok"

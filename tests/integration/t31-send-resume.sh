#!/bin/sh
# t31 — `autocoder send` of a 50,000-line log with an interruption: the first run is killed
# (SIGKILL) mid-way, the second resumes from the state file's acknowledged offset. Every line
# is stored exactly once (nothing twice, nothing missing), the batch in flight at the kill is
# acknowledged as duplicate, --format fields land in the events, a bad line is refused with
# its reason, a resend with --restart stores nothing new, and exit statuses say so.
. "$(dirname "$0")/../lib.sh"

start_server
create_key shop
ST=$TMPDIR_TEST/state
LOG=$TMPDIR_TEST/app.log
python3 - "$LOG" <<'PY'
import sys
lv = ["INFO", "WARN", "ERROR", "DEBUG"]
with open(sys.argv[1], "w") as f:
    for i in range(50000):
        f.write("2026-12-03 10:%02d:%02d %s worker-%d: request %d failed after %d ms\n"
                % (i // 60 % 60, i % 60, lv[i % 4], i % 7, i, i % 997))
PY
FMT='<Date> <Time> <Level> <Component>: <Content>'

# run 1: small batches, killed once some are acknowledged
"$AUTOCODER" send --dsn "$DSN" --state-dir "$ST" --batch 200 --format "$FMT" --system shop \
	--no-progress "$LOG" >"$TMPDIR_TEST/run1.out" 2>&1 &
SEND=$!
i=0
until [ "$(sql "SELECT count(*) FROM events")" -ge 5000 ]; do
	i=$((i + 1)); [ $i -lt 600 ] || fail "first send stored nothing"
	kill -0 $SEND 2>/dev/null || fail "send ended before it could be interrupted: $(cat "$TMPDIR_TEST/run1.out")"
	sleep 0.05
done
kill -KILL $SEND
wait $SEND 2>/dev/null && fail "killed send exited 0"
first=$(sql "SELECT count(*) FROM events")
[ "$first" -lt 50000 ] || fail "the interruption came too late ($first stored)"
ls "$ST"/send-*.json >/dev/null 2>&1 || fail "no state file after the interruption"
offset=$(python3 -c 'import json,sys,glob; print(json.load(open(glob.glob(sys.argv[1]+"/send-*.json")[0]))["offset"])' "$ST")
[ "$offset" -gt 0 ] || fail "state offset is 0"
pass "interrupted after $first stored, state offset $offset"

# run 2: resume
"$AUTOCODER" send --dsn "$DSN" --state-dir "$ST" --batch 200 --format "$FMT" --system shop \
	--no-progress --json "$LOG" >"$TMPDIR_TEST/run2.json" || fail "resume exit $?: $(cat "$TMPDIR_TEST/run2.json")"
python3 - "$TMPDIR_TEST/run2.json" "$first" <<'PY' || fail "resume summary"
import json, sys
s = json.load(open(sys.argv[1]))
first = int(sys.argv[2])
inp = s["inputs"][0]
assert s["complete"] and inp["resumed"] and inp["complete"], s
assert s["refused"] == 0, s
# the resumed run resends at most the batch in flight when killed: duplicates, not stored
assert s["stored"] + first == 50000, (s, first)
assert s["duplicates"] <= 200, s
assert s["stored"] + s["duplicates"] == s["events"], s
print("resumed:", s["events"], "sent,", s["stored"], "stored,", s["duplicates"], "duplicate")
PY
[ "$(sql "SELECT count(*) FROM events")" = 50000 ] || fail "not 50000 events: $(sql "SELECT count(*) FROM events")"
[ "$(sql "SELECT count(DISTINCT message) FROM events")" = 50000 ] || fail "a line is missing or twice"
pass "50000 lines stored exactly once"

# the format's fields: Level -> level, Component -> component, Date+Time -> timestamp
row=$(sql "SELECT level || '|' || component || '|' || system || '|' || message FROM events WHERE message = 'request 2 failed after 2 ms'")
[ "$row" = "error|worker-2|shop|request 2 failed after 2 ms" ] || fail "fields: $row"
ts=$(sql "SELECT json_extract(raw, '\$.timestamp') FROM events WHERE message = 'request 61 failed after 61 ms'")
[ "$ts" = "2026-12-03T10:01:01.000Z" ] || fail "timestamp from Date/Time: $ts"
pass "format fields mapped"

# the same command again: nothing left to send
out=$("$AUTOCODER" send --dsn "$DSN" --state-dir "$ST" --format "$FMT" --no-progress "$LOG") || fail "third run: $out"
case "$out" in *"0 events sent"*) ;; *) fail "third run sent something: $out" ;; esac
# --restart without state: everything is a duplicate
"$AUTOCODER" send --url "$BASE" --token "$TOKEN" --state-dir "$ST" --restart --format "$FMT" \
	--system shop --no-progress --json "$LOG" >"$TMPDIR_TEST/run4.json" || fail "restart exit"
python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); assert s["stored"]==0 and s["duplicates"]==50000, s' \
	"$TMPDIR_TEST/run4.json" || fail "restart stored again: $(cat "$TMPDIR_TEST/run4.json")"
[ "$(sql "SELECT count(*) FROM events")" = 50000 ] || fail "restart stored twice"
pass "resend: 50000 duplicates, nothing stored twice"

# a bad line is refused alone, with its reason; the exit status says not everything went
printf 'ERROR first good line\nbad \377 byte\nERROR third good line\n' >"$TMPDIR_TEST/bad.log"
st=0
AUTOCODER_URL=$BASE AUTOCODER_TOKEN=$TOKEN "$AUTOCODER" send --no-state --no-progress \
	"$TMPDIR_TEST/bad.log" >"$TMPDIR_TEST/bad.out" || st=$?
[ $st = 1 ] || fail "bad line: exit $st, want 1: $(cat "$TMPDIR_TEST/bad.out")"
grep -q "refused: .*bad.log:2: invalid_utf8" "$TMPDIR_TEST/bad.out" || fail "no reason: $(cat "$TMPDIR_TEST/bad.out")"
[ "$(sql "SELECT count(*) FROM events WHERE message LIKE '%good line' AND level = 'error'")" = 2 ] || fail "good lines"
pass "bad line refused with its reason, exit 1"

# a wrong key: exit 1, nothing stored
st=0
"$AUTOCODER" send --url "$BASE" --token nope --no-state --no-progress "$TMPDIR_TEST/bad.log" \
	>"$TMPDIR_TEST/auth.out" 2>&1 || st=$?
[ $st = 1 ] || fail "wrong key: exit $st"
grep -q "401" "$TMPDIR_TEST/auth.out" || fail "wrong key message: $(cat "$TMPDIR_TEST/auth.out")"
st=0
"$AUTOCODER" send --no-state "$TMPDIR_TEST/bad.log" >/dev/null 2>&1 || st=$?
[ $st = 2 ] || fail "no collector: exit $st, want 2"
stop_server
echo "t31 ok"

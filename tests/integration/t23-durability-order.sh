#!/bin/sh
# t23-durability-order.sh — the fsync half of "a 2xx means durable" (t22's SIGKILL keeps the
# page cache, so it cannot see it). Three independent checks:
#  1. the writer's own connection reports synchronous=2 (FULL) and journal_mode=wal (read back
#     from the connection at start, "writer durability" log line), not what the code meant to set;
#  2. under `strace -f`, for each of 5 serial ingest requests the WAL file is fdatasync'ed /
#     fsync'ed (and that call has returned) after the previous reply and before the 2xx reply's
#     first byte is written to the socket (sendto/sendmsg/writev/write);
#  3. with the test-only hook AC_TEST_COMMIT_DELAY_MS=2000 (collector/writer.c: sleep before
#     every COMMIT), a request is answered no sooner than the delay, the hook is seen in the
#     log, and the event is already readable from another connection the moment the 2xx
#     arrives — a reply sent before COMMIT fails here.
# ac-test: sqlite-only (checks SQLite's synchronous=FULL and WAL settings and uses a second SQLite file)
. "$(dirname "$0")/../lib.sh"
command -v strace >/dev/null || { echo "SKIP: strace missing (scripts/deps.sh installs it)"; exit 77; }
T=$TMPDIR_TEST

# --- 1 + 2: synchronous setting and syscall order, under strace ---
"$AUTOCODER" keys create dur --db "$DB" --json >"$T/key.json" || fail "keys create"
TOKEN=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["token"])' "$T/key.json")
rm -f "$T/port"
# LeakSanitizer cannot run under ptrace: leaks are checked by the untraced server of part 3
ASAN_OPTIONS="${ASAN_OPTIONS:-}${ASAN_OPTIONS:+:}detect_leaks=0" \
strace -f -qq -yy -s 64 -o "$T/strace.txt" -e trace=fsync,fdatasync,sendto,sendmsg,writev,write \
	"$AUTOCODER" serve --listen 127.0.0.1:0 --db "$DB" --port-file "$T/port" 2>"$T/server.log" &
STRACE_PID=$!
i=0
until [ -s "$T/port" ]; do
	i=$((i + 1)); [ $i -lt 400 ] || { cat "$T/server.log" >&2; fail "server under strace did not start"; }
	kill -0 $STRACE_PID 2>/dev/null || { cat "$T/server.log" >&2; fail "server under strace exited"; }
	sleep 0.05
done
PORT=$(cat "$T/port"); BASE="http://127.0.0.1:$PORT"
grep '"writer durability"' "$T/server.log" >&2 || fail "no 'writer durability' line in the log"
grep '"writer durability"' "$T/server.log" | grep -q '"synchronous":"2"' ||
	fail "the writer's connection is not synchronous=FULL (2)"
grep '"writer durability"' "$T/server.log" | grep -q '"journal_mode":"wal"' ||
	fail "the writer's connection is not in WAL mode"
pass "writer connection: synchronous=FULL, journal_mode=wal"
for n in 1 2 3 4 5; do
	req POST /api/v1/events -H "Authorization: Bearer $TOKEN" -d "{\"event_id\":\"s$n\",\"message\":\"m$n\"}"
	expect_status 200 "event s$n"
	expect_body '"stored":1' "event s$n"
done
# stop the traced server: SIGTERM to the server itself (strace's child), exit 0 required
srv=$(pgrep -P $STRACE_PID | head -1)
[ -n "$srv" ] || fail "no server process under strace"
kill -TERM "$srv"
st=0; wait $STRACE_PID || st=$?
[ $st -eq 0 ] || { tail -n 20 "$T/server.log" >&2; fail "server under strace exited with $st after SIGTERM"; }
python3 - "$T/strace.txt" <<'PY' || fail "syscall order: a 2xx left before the WAL was synced (see above)"
import re, sys
lines = open(sys.argv[1], errors="replace").read().splitlines()
pending = {}          # pid -> True while an fsync/fdatasync of the WAL is unfinished
synced = False        # a WAL sync completed since the last 2xx reply
replies = syncs = 0
bad = []
for ln in lines:
    m = re.match(r"(\d+)\s+(.*)", ln)
    if not m:
        continue
    pid, rest = m.group(1), m.group(2)
    call = re.match(r"(fsync|fdatasync)\((\d+)<([^>]*)>\)", rest)
    if call:
        if call.group(3).endswith("-wal"):
            if "<unfinished" in rest:
                pending[pid] = True
            elif rest.rstrip().endswith("= 0"):
                synced = True; syncs += 1
        continue
    res = re.match(r"<\.\.\. (fsync|fdatasync) resumed>.*= 0", rest)
    if res and pending.pop(pid, False):
        synced = True; syncs += 1
        continue
    out = re.match(r"(sendto|sendmsg|writev|write)\(\d+<TCP[^>]*>.*?\"HTTP/1\.[01] (\d\d\d)", rest)
    if out and out.group(2).startswith("2"):
        replies += 1
        if not synced:
            bad.append(ln)
        synced = False
print("2xx replies: %d, completed WAL syncs: %d" % (replies, syncs))
if replies != 5:
    sys.exit("expected 5 traced 2xx replies, saw %d" % replies)
if bad:
    print("replies with no completed WAL sync since the previous reply:")
    print("\n".join(bad))
    sys.exit(1)
PY
pass "each 2xx was written after a completed fsync/fdatasync of the WAL"

# --- 3: a COMMIT delayed by the test hook delays the reply; the reply finds the event stored ---
DB=$T/delay.db
rm -f "$T/port"
AC_TEST_COMMIT_DELAY_MS=2000 "$AUTOCODER" serve --listen 127.0.0.1:0 --db "$DB" \
	--port-file "$T/port" 2>>"$T/server.log" &
SERVER_PID=$!
i=0
until [ -s "$T/port" ]; do
	i=$((i + 1)); [ $i -lt 200 ] || fail "server with the commit delay did not start"
	sleep 0.05
done
PORT=$(cat "$T/port"); BASE="http://127.0.0.1:$PORT"
create_key delayed
t0=$(date +%s%N)
req POST /api/v1/events -H "Authorization: Bearer $TOKEN" -d '{"event_id":"late1","message":"delayed"}'
t1=$(date +%s%N)
# read from another connection at once: a reply sent before COMMIT finds nothing here
visible=$(sql "SELECT count(*) FROM events WHERE event_id='late1'")
expect_status 200 "event with a delayed COMMIT"
grep -q 'test hook: delaying COMMIT' "$T/server.log" || fail "the commit-delay hook never ran"
ms=$(( (t1 - t0) / 1000000 ))
[ "$ms" -ge 2000 ] || fail "answered after $ms ms, before the 2000 ms delayed COMMIT"
[ "$visible" = 1 ] || fail "the 2xx arrived but the event was not committed yet (count $visible)"
pass "reply after the delayed COMMIT ($ms ms), event readable when the 2xx arrived"
stop_server
echo "t23 ok"

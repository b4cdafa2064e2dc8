#!/bin/sh
# t22-durability.sh — "a 2xx means durable". A concurrent client (tests/clients/ingest_load.py:
# 6 threads, single events and arrays of 10, unique event_ids) loads the server; the server is
# killed with SIGKILL mid-run (twice, restarting on the same database in between), then
# restarted: every event_id that got a 2xx must be stored exactly once, every array request is
# stored whole or not at all, and the database passes integrity_check. Acknowledged ids sent
# again after the restart must be answered as duplicates and not stored twice. Then the SIGTERM
# variant: SIGTERM mid-run must drain, exit 0, and keep every acknowledged event.
# ac-test: sqlite-only (SIGKILL durability of the SQLite file, read back with python's sqlite3; t96 is its PostgreSQL counterpart)
set -u
. "$(dirname "$0")/coll-clients.inc.sh"
trap cleanup EXIT
LOAD="$CLIENTS_DIR/ingest_load.py"

# load_then_signal DB PREFIX SIGNAL — run the client until >= 300 ids are acknowledged, send
# SIGNAL to the server, wait for it, then stop the client. Leaves $TMPDIR_TEST/PREFIX.acked.
load_then_signal() {
	d=$TMPDIR_TEST/$2
	rm -f "$d.stop" "$d.progress"
	python3 "$LOAD" "$PORT" "$KEY_TOKEN" "$2" "$d.acked" "$d.unknown" "$d.progress" "$d.stop" 6 \
		>"$d.client.log" 2>&1 &
	client=$!
	i=0
	while :; do
		n=$(cat "$d.progress" 2>/dev/null || echo 0)
		[ "${n:-0}" -ge 300 ] && break
		i=$((i + 1))
		if [ $i -ge 600 ]; then
			touch "$d.stop"
			wait $client
			cat "$d.client.log" >&2
			fail "client got only ${n:-0} acknowledgements in 30 s"
		fi
		sleep 0.05
	done
	stop_server "$3"
	echo "server got SIG$3 after $n acknowledgements; exit status $SERVER_RC"
	sleep 0.3 # the client keeps trying against the dead server: failures must not count as acks
	touch "$d.stop"
	wait $client || { cat "$d.client.log" >&2; fail "load client saw unexpected answers"; }
	cat "$d.client.log"
}

# verify DB PREFIX... — every acknowledged id of each PREFIX is stored exactly once.
verify() {
	python3 - "$@" <<'PY' || fail "acknowledged events missing or duplicated (see above)"
import sqlite3, sys, os
db, prefixes = sys.argv[1], sys.argv[2:]
tmp = os.environ["TMPDIR_TEST"]
con = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
ok = True
for p in prefixes:
    acked = open(os.path.join(tmp, p + ".acked")).read().split()
    unknown = set(open(os.path.join(tmp, p + ".unknown")).read().split())
    rows = con.execute("select event_id, message from events where event_id like ? || '-%'",
                       (p,)).fetchall()
    stored = {}
    for eid, msg in rows:
        stored[eid] = stored.get(eid, 0) + 1
    by_msg = {}
    for _, msg in con.execute("select event_id, message from events where message like ?",
                              ("durability probe " + p + "-%",)):
        by_msg[msg] = by_msg.get(msg, 0) + 1
    missing = [i for i in acked if stored.get(i, 0) == 0]
    twice = [i for i in acked if stored.get(i, 0) > 1 or by_msg.get("durability probe " + i, 0) > 1]
    extra = len(set(stored) - set(acked))
    print("%s: acknowledged %d, stored %d (%d stored without an acknowledgement; %d ids got no answer, "
          "incl. refused connections), missing %d, stored twice %d"
          % (p, len(acked), len(stored), extra, len(unknown), len(missing), len(twice)))
    if len(set(acked)) != len(acked):
        print("  the client recorded an id twice (client bug)"); ok = False
    if missing:
        print("  missing, e.g.", missing[:5]); ok = False
    if twice:
        print("  stored twice, e.g.", twice[:5]); ok = False
    if len(acked) < 300:
        print("  too few acknowledgements to mean anything"); ok = False
    # A request is one transaction: an array of 10 (odd threads) is stored whole or not at all.
    groups = {}
    for eid in stored:
        _, thread, seq = eid.rsplit("-", 2)
        if int(thread) % 2 == 1:
            key = (thread, int(seq) // 10)
            groups[key] = groups.get(key, 0) + 1
    partial = [k for k, n in groups.items() if n != 10]
    print("  %d arrays of 10 stored, %d partially" % (len(groups), len(partial)))
    if partial:
        print("  partially stored arrays, e.g. thread/seq", partial[:5]); ok = False
if con.execute("pragma integrity_check").fetchone()[0] != "ok":
    print("database integrity_check failed"); ok = False
sys.exit(0 if ok else 1)
PY
}

# resend PREFIX COUNT — POST the first COUNT acknowledged ids again (one array, then singly)
# and check that every one is answered 2xx as a duplicate.
resend() {
	python3 - "$PORT" "$KEY_TOKEN" "$TMPDIR_TEST/$1.acked" "$2" <<'PY' || fail "re-sent acknowledged ids were not answered as duplicates"
import http.client, json, sys
port, token, path, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
ids = open(path).read().split()[:count]
def ev(i):
    return {"event_id": i, "level": "error", "system": "durability", "message": "durability probe " + i}
def post(body):
    c = http.client.HTTPConnection("127.0.0.1", int(port), timeout=10)
    c.request("POST", "/api/v1/events", body=json.dumps(body),
              headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"})
    r = c.getresponse()
    data = r.read()
    c.close()
    if not 200 <= r.status < 300:
        sys.exit("re-send answered %d: %s" % (r.status, data[:200]))
    return json.loads(data)
half = len(ids) // 2
r = post([ev(i) for i in ids[:half]])
if r.get("stored") != 0 or r.get("duplicates") != half:
    sys.exit("array re-send of %d acknowledged ids answered %s" % (half, r))
for i in ids[half:]:
    r = post(ev(i))
    if r.get("stored") != 0 or r.get("duplicates") != 1:
        sys.exit("single re-send of %s answered %s" % (i, r))
print("re-sent %d acknowledged ids: all answered as duplicates, none stored" % len(ids))
PY
}

# --- SIGKILL, twice, on the same database ---
db="$TMPDIR_TEST/kill.db"
start_server "$db"
new_key "$db" durability
load_then_signal "$db" k1 KILL
start_server "$db"
load_then_signal "$db" k2 KILL
start_server "$db"
grep -q '"error"' "$SERVER_LOG" && { cat "$SERVER_LOG" >&2; fail "restarted server logged an error"; }
verify "$db" k1 k2
before=$(sql "$db" "select count(*) from events")
resend k1 100
resend k2 100
expect "events after re-sending acknowledged ids" "$(sql "$db" "select count(*) from events")" "$before"
verify "$db" k1 k2
stop_server TERM
expect "exit status after SIGTERM (idle)" "$SERVER_RC" 0

# --- SIGTERM mid-run: drain, exit 0, nothing acknowledged lost ---
db="$TMPDIR_TEST/term.db"
start_server "$db"
new_key "$db" durability
load_then_signal "$db" t1 TERM
expect "exit status after SIGTERM under load" "$SERVER_RC" 0
verify "$db" t1
echo "t22 passed"

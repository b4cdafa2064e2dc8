#!/bin/sh
# t99-pg-collectors-lb.sh — many stateless collectors, one PostgreSQL (issue 16).
#
# A private PostgreSQL (lib.sh start_pg), two `autocoder serve` processes on the same database
# (both with --rules: two analyzers, one active at a time through PostgreSQL's advisory lock),
# haproxy from Debian in front of them (deployments/postgres/haproxy.cfg, the file the compose
# deployment uses). The concurrent client of t22 (6 threads, single events and arrays of 10,
# unique event_ids) sends through haproxy; collector 1 is killed with SIGKILL mid-run and the
# client keeps going through collector 2. Then:
#   - every event_id that got a 2xx is stored exactly once, arrays whole or not at all;
#   - collector 1 restarted: every acknowledged id and every id that got no answer, sent again
#     through the balancer, is answered 2xx; acknowledged ones as duplicates; nothing is stored
#     twice (idempotency holds across collectors);
#   - the analyzers clustered every event exactly once (sum of cluster counts = events), the
#     same result one analyzer gives.
# Needs: postgresql (initdb, pg_ctl), haproxy, psql. A missing tool fails the test.
set -u
. "$(dirname "$0")/../lib.sh"
root=$(cd "$(dirname "$0")/../.." && pwd)
CLIENTS_DIR="$root/tests/clients"
for tool in haproxy psql; do
	command -v "$tool" >/dev/null || fail "$tool is not installed (scripts/deps.sh test installs it)"
done

start_pg
URL=$(pg_createdb t99)
psql_q() { psql "$URL" -X -A -t -q -v ON_ERROR_STOP=1 -c "$1"; }

C1_PID= C2_PID= LB_PID= CLIENT_PID=
stop_all() {
	for p in $CLIENT_PID $LB_PID; do kill -KILL "$p" 2>/dev/null; done
	for p in $C1_PID $C2_PID; do kill -TERM "$p" 2>/dev/null; done
	for p in $C1_PID $C2_PID $LB_PID $CLIENT_PID; do wait "$p" 2>/dev/null; done
}
trap stop_all EXIT

# start_collector N PORT — `serve` on 127.0.0.1:PORT (0 = any) on the shared database
start_collector() {
	rm -f "$TMPDIR_TEST/c$1.port"
	"$AUTOCODER" serve --listen "127.0.0.1:$2" --db "$URL" --rules "$root/rules" \
		--port-file "$TMPDIR_TEST/c$1.port" --log-level warn >>"$TMPDIR_TEST/c$1.log" 2>&1 &
	eval "C$1_PID=$!"
	for _ in $(seq 1 200); do
		[ -s "$TMPDIR_TEST/c$1.port" ] && break
		sleep 0.05
	done
	[ -s "$TMPDIR_TEST/c$1.port" ] || { cat "$TMPDIR_TEST/c$1.log" >&2; fail "collector $1 did not start"; }
	eval "C$1_PORT=$(cat "$TMPDIR_TEST/c$1.port")"
}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

start_collector 1 0
start_collector 2 0
LB_PORT=$(free_port)
# the deployment's haproxy.cfg as it is, plus a stats socket to read the servers' states
printf 'global\n    stats socket %s level admin\n' "$TMPDIR_TEST/lb.sock" >"$TMPDIR_TEST/lb-stats.cfg"
LB_LISTEN="127.0.0.1:$LB_PORT" COLLECTOR_1="127.0.0.1:$C1_PORT" COLLECTOR_2="127.0.0.1:$C2_PORT" \
	haproxy -db -f "$root/deployments/postgres/haproxy.cfg" -f "$TMPDIR_TEST/lb-stats.cfg" \
	>"$TMPDIR_TEST/lb.log" 2>&1 &
LB_PID=$!
for _ in $(seq 1 100); do
	curl -s -o /dev/null "http://127.0.0.1:$LB_PORT/health" && break
	sleep 0.05
done
curl -s -f -o /dev/null "http://127.0.0.1:$LB_PORT/health" || { cat "$TMPDIR_TEST/lb.log" >&2; fail "haproxy does not answer"; }
pass "PostgreSQL, collectors on :$C1_PORT and :$C2_PORT, haproxy on :$LB_PORT"

out=$("$AUTOCODER" keys create t99 --db "$URL" --url "http://127.0.0.1:$LB_PORT") || fail "keys create on PostgreSQL"
TOKEN=$(printf '%s\n' "$out" | awk '/^token:/{print $2}')
[ -n "$TOKEN" ] || fail "keys create printed no token: $out"

# both collectors take requests through the balancer (round robin)
for _ in 1 2 3 4; do
	curl -s -o /dev/null -w '%{http_code}\n' -H "Authorization: Bearer $TOKEN" \
		-H 'Content-Type: application/json' -d '{"message":"warm-up","level":"info"}' \
		"http://127.0.0.1:$LB_PORT/api/v1/events"
done | sort | uniq -c | grep -q ' 4 20[0-9]' || fail "warm-up requests through haproxy were not all 2xx"

# --- load through the balancer, SIGKILL of collector 1 mid-run ---
d=$TMPDIR_TEST/k
INGEST_LOAD_PROXY=1 python3 "$CLIENTS_DIR/ingest_load.py" "$LB_PORT" "$TOKEN" k "$d.acked" "$d.unknown" \
	"$d.progress" "$d.stop" 6 >"$d.client.log" 2>&1 &
CLIENT_PID=$!
wait_acks() { # N — until the client has N acknowledgements (60 s at most)
	i=0
	while [ "$(cat "$d.progress" 2>/dev/null || echo 0)" -lt "$1" ]; do
		i=$((i + 1))
		[ $i -lt 1200 ] || { touch "$d.stop"; cat "$d.client.log" >&2; fail "only $(cat "$d.progress" 2>/dev/null) acknowledgements in 60 s (wanted $1)"; }
		kill -0 "$CLIENT_PID" 2>/dev/null || { cat "$d.client.log" >&2; fail "load client exited early"; }
		sleep 0.05
	done
}
wait_acks 400
before=$(cat "$d.progress")
kill -KILL "$C1_PID"
wait "$C1_PID" 2>/dev/null
C1_PID=
echo "collector 1 killed with SIGKILL after $before acknowledgements"
wait_acks $((before + 600))
touch "$d.stop"
wait "$CLIENT_PID" || { cat "$d.client.log" >&2; fail "load client saw answers other than 2xx/429/503/502/504"; }
CLIENT_PID=
cat "$d.client.log"
after=$(wc -l <"$d.acked")
[ "$after" -ge $((before + 600)) ] || fail "the client's ack count went down"
pass "load continued through collector 2: $before acknowledgements before the kill, $after in all"

# verify — every acknowledged id stored exactly once, arrays of 10 whole
verify() {
	psql_q "SELECT event_id FROM events WHERE event_id LIKE 'k-%'" >"$TMPDIR_TEST/stored" ||
		fail "psql: reading the stored ids"
	python3 - "$d.acked" "$d.unknown" "$TMPDIR_TEST/stored" <<'PY' || fail "acknowledged events missing or duplicated (see above)"
import sys
acked = open(sys.argv[1]).read().split()
unknown = set(open(sys.argv[2]).read().split())
stored = {}
for eid in open(sys.argv[3]).read().split():
    stored[eid] = stored.get(eid, 0) + 1
missing = [i for i in acked if i not in stored]
twice = [i for i, n in stored.items() if n > 1]
print("acknowledged %d, stored %d (%d without an acknowledgement, %d ids got no answer), "
      "missing %d, stored twice %d" % (len(acked), len(stored), len(set(stored) - set(acked)),
                                       len(unknown), len(missing), len(twice)))
groups = {}
for eid in stored:
    _, thread, seq = eid.rsplit("-", 2)
    if int(thread) % 2 == 1:
        key = (thread, int(seq) // 10)
        groups[key] = groups.get(key, 0) + 1
partial = [k for k, n in groups.items() if n != 10]
print("%d arrays of 10 stored, %d partially" % (len(groups), len(partial)))
ok = not missing and not twice and not partial and len(set(acked)) == len(acked)
for name, l in (("missing", missing), ("twice", twice), ("partial arrays", partial)):
    if l:
        print("  %s, e.g. %s" % (name, l[:5]))
sys.exit(0 if ok else 1)
PY
}
verify
pass "every acknowledged event stored exactly once after a collector's SIGKILL"

# --- restart collector 1 on its old port; re-send everything through the balancer ---
start_collector 1 "$C1_PORT"
# haproxy's health check brings it back (inter 1s, rise 2) if it had marked it down
lb_state() { # SERVER -> UP, DOWN, ... from `show stat`
	python3 - "$TMPDIR_TEST/lb.sock" "$1" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(b"show stat\n")
data = b""
while True:
    b = s.recv(65536)
    if not b:
        break
    data += b
for line in data.decode().splitlines():
    f = line.split(",")
    if len(f) > 17 and f[0] == "collectors" and f[1] == sys.argv[2]:
        print(f[17])
PY
}
i=0
until [ "$(lb_state collector-1)" = UP ]; do
	i=$((i + 1))
	[ $i -lt 300 ] || { cat "$TMPDIR_TEST/lb.log" >&2; fail "haproxy does not see collector 1 back: $(lb_state collector-1)"; }
	sleep 0.1
done
stored_before=$(psql_q "SELECT count(*) FROM events")
python3 - "$LB_PORT" "$TOKEN" "$d.acked" "$d.unknown" <<'PY' || fail "re-sending through the balancer"
import http.client, json, sys
port, token = int(sys.argv[1]), sys.argv[2]
acked = open(sys.argv[3]).read().split()
unknown = open(sys.argv[4]).read().split()
def ev(i):
    return {"event_id": i, "level": "error", "kind": "error", "system": "durability",
            "component": "load", "message": "durability probe " + i}
def post(ids):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    c.request("POST", "/api/v1/events", body=json.dumps([ev(i) for i in ids]),
              headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"})
    r = c.getresponse()
    data = r.read()
    c.close()
    if not 200 <= r.status < 300:
        sys.exit("re-send answered %d: %s" % (r.status, data[:200]))
    return json.loads(data)
dups = stored = 0
for k in range(0, len(acked), 200):  # many requests: both collectors take some
    r = post(acked[k:k + 200])
    dups += r.get("duplicates", 0)
    stored += r.get("stored", 0)
if stored or dups != len(acked):
    sys.exit("re-sending %d acknowledged ids: stored %d, duplicates %d" % (len(acked), stored, dups))
for k in range(0, len(unknown), 200):
    post(unknown[k:k + 200])
print("re-sent %d acknowledged ids (all duplicates) and %d unanswered ones" % (len(acked), len(unknown)))
PY
# every unanswered id is now stored once, and no acknowledged one twice
cat "$d.unknown" >>"$d.acked"
verify
stored_after=$(psql_q "SELECT count(*) FROM events")
unknown_new=$(sort -u "$d.unknown" | wc -l)
[ "$stored_after" -le $((stored_before + unknown_new)) ] || fail "re-sending stored $((stored_after - stored_before)) rows for $unknown_new unanswered ids"
pass "re-sent ids answered as duplicates on either collector; no event stored twice"

# --- the analyzers: every event clustered once (one active analyzer at a time) ---
total=$(psql_q "SELECT count(*) FROM events")
i=0
while :; do
	clustered=$(psql_q "SELECT count(*) FROM events WHERE cluster_id IS NOT NULL")
	[ "$clustered" = "$total" ] && break
	i=$((i + 1))
	[ $i -lt 600 ] || fail "only $clustered of $total events clustered after 60 s"
	sleep 0.1
done
counted=$(psql_q "SELECT coalesce(sum(count), 0) FROM clusters WHERE merged_into IS NULL")
[ "$counted" = "$total" ] || fail "cluster counts add up to $counted for $total events (an event counted twice or not at all)"
pass "two analyzers on one database: $total events clustered, cluster counts add up to $total"

# SIGTERM: both collectors drain and exit 0 (a sanitizer report or a leak fails here)
for n in 1 2; do
	eval "p=\$C${n}_PID"
	kill -TERM "$p"
	rc=0; wait "$p" || rc=$?
	eval "C${n}_PID="
	[ "$rc" = 0 ] || { tail -n 30 "$TMPDIR_TEST/c$n.log" >&2; fail "collector $n exited with $rc after SIGTERM"; }
done
pass "collectors stopped cleanly"

#!/bin/sh
# t39 — a generated system reports resource exhaustion truthfully (issue 14), so the rules can
# fire on what it says (the end-to-end proof through a collector is `make test-faults`):
#   - RLIMIT_NOFILE's soft limit lowered to the descriptors the running todo_api holds, then 20
#     clients connect: accept() fails. The API logs "accept failed: EMFILE (Too many open
#     files)" with errno, what it was doing and the limit, at most about once a second, and
#     backs off instead of spinning (its CPU time over the 3 s flood stays under 0.8 s); once
#     the limit is raised again it serves, without a restart.
#   - out of descriptors, the store names EMFILE next to SQLite's "unable to open database
#     file";
#   - under RLIMIT_AS 40 MB a component thread cannot start: "out of memory ... (ENOMEM ...)",
#     not a bare "cannot start thread";
#   - a write waiting ~2 s for another process's lock: "slow store command: create took N ms".
# Each line is given to `autocoder rules match` as the event the shipper would send, and must
# get the rule that names its cause.
. "$(dirname "$0")/gen-lib.sh"

dir=$(gen_build "$BLUEPRINTS/todo_api.yaml" todo)
port=$(free_port)

# rule_of TEXT: the rule attached to the first log line containing TEXT (as shipped: message,
# logger = the component's type, component, context = the line's fields)
rule_of() {
	python3 - "$SYS_LOG" "$1" <<'PY' | "$AUTOCODER" rules match "$ROOT/rules" --json | json 'd.get("id")'
import json, sys
for line in open(sys.argv[1]):
    if sys.argv[2] in line:
        l = json.loads(line)
        types = {"api": "APIEndpoint", "controller": "Controller", "store": "Store"}
        print(json.dumps({"message": l["msg"], "component": l["component"] or "system",
                          "logger": types.get(l["component"], "runtime"), "level": "error",
                          "context": l["fields"]}))
        break
else:
    sys.exit("no log line with " + sys.argv[2])
PY
}

cpu_ticks() {   # utime + stime of a process, in clock ticks
	awk '{print $14 + $15}' "/proc/$1/stat"
}

# --- accept() out of descriptors
start "$dir" todo_api API_PORT=$port
wait_http "http://127.0.0.1:$port/health"
sleep 1
n=$(ls /proc/$SYS_PID/fd | wc -l)
soft=$(awk '/Max open files/ {print $4}' /proc/$SYS_PID/limits)
prlimit --pid $SYS_PID --nofile=$n: || fail "prlimit"
c0=$(cpu_ticks $SYS_PID)
t0=$(date +%s.%N)
python3 - "$port" <<'PY' || fail "clients"
import socket, sys, time
held = []
for i in range(20):
    try:
        held.append(socket.create_connection(("127.0.0.1", int(sys.argv[1])), 2))
    except OSError:
        pass
time.sleep(3)
for s in held:
    s.close()
PY
c1=$(cpu_ticks $SYS_PID)
t1=$(date +%s.%N)
hz=$(getconf CLK_TCK)
grep -q '"msg":"accept failed: EMFILE (Too many open files)"' "$SYS_LOG" || { cat "$SYS_LOG"; fail "no accept EMFILE report"; }
python3 - "$SYS_LOG" "$n" "$t0" "$t1" "$c0" "$c1" "$hz" <<'PY' || fail "accept reports"
import json, sys
log, limit, t0, t1, c0, c1, hz = sys.argv[1], int(sys.argv[2]), *map(float, sys.argv[3:])
lines = [json.loads(l) for l in open(log) if "accept failed" in l]
f = lines[0]["fields"]
assert lines[0]["level"] == "error" and lines[0]["component"] == "api", lines[0]
assert f["errno"] == "EMFILE" and f["doing"] == "accepting a connection", f
assert f["open_files_limit"] == limit, (f, limit)
assert len(lines) <= (t1 - t0) + 2, f"{len(lines)} reports in {t1 - t0:.1f} s: not rate-limited"
cpu = (c1 - c0) / hz
print(f"accept failures: {len(lines)} reports standing for {sum(l['fields']['repeats'] for l in lines)} failures; CPU {cpu:.2f} s in {t1 - t0:.1f} s")
assert cpu < 0.8, f"the accept loop spun: {cpu:.2f} s CPU in {t1 - t0:.1f} s"
PY
[ "$(rule_of 'accept failed: EMFILE')" = posix.too-many-open-files ] || fail "accept EMFILE rule: $(rule_of 'accept failed: EMFILE')"
# the fix applied to the running system: the limit raised, it serves again
prlimit --pid $SYS_PID --nofile=$soft: || fail "prlimit raise"
wait_http "http://127.0.0.1:$port/health" 50

# --- the store out of descriptors (a new pool connection cannot open)
prlimit --pid $SYS_PID --nofile=$(($(ls /proc/$SYS_PID/fd | wc -l) + 1)): || fail "prlimit"
for i in 1 2 3 4 5; do
	curl -s -m 5 -o /dev/null -X POST -H 'Content-Type: application/json' -d '{"title":"x"}' "http://127.0.0.1:$port/todos" || true
done
grep -q 'unable to open database file; EMFILE (Too many open files)' "$SYS_LOG" || { cat "$SYS_LOG"; fail "the store did not name EMFILE"; }
[ "$(rule_of 'unable to open database file; EMFILE')" = posix.too-many-open-files ] || fail "store EMFILE rule"
prlimit --pid $SYS_PID --nofile=$soft: || fail "prlimit raise"
stop $SYS_PID

# --- a slow store command (another process holds the write lock for 2 s)
rm -rf "$dir/data"
start "$dir" todo_api API_PORT=$port
wait_http "http://127.0.0.1:$port/health"
[ "$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' -d '{"title":"a"}' "http://127.0.0.1:$port/todos")" = 201 ] || fail "first write"
(echo 'BEGIN IMMEDIATE;'; sleep 2; echo 'COMMIT;') | sqlite3 "$dir/data/todos.db" &
lock=$!
sleep 0.3
[ "$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' -d '{"title":"b"}' "http://127.0.0.1:$port/todos")" = 201 ] || fail "slow write"
wait $lock
grep -q '"msg":"slow store command: create took [0-9]* ms"' "$SYS_LOG" || { cat "$SYS_LOG"; fail "no slow store report"; }
[ "$(rule_of 'slow store command')" = autocoder.store-slow ] || fail "slow store rule"
stop $SYS_PID

# --- out of address space: a component thread cannot start
st=0
(ulimit -v 40000; cd "$dir" && exec env DATA_DIR="$dir/data" API_PORT=$port ./todo_api) \
	>/dev/null 2>"$TMPDIR_TEST/oom.log" || st=$?
[ $st != 0 ] || fail "the system started under RLIMIT_AS 40 MB"
SYS_LOG=$TMPDIR_TEST/oom.log
grep -q '"msg":"out of memory: cannot start .*ENOMEM' "$SYS_LOG" || { cat "$SYS_LOG"; fail "no out-of-memory report"; }
! grep -q '"msg":"cannot start thread"' "$SYS_LOG" || fail "a bare 'cannot start thread' was logged"
[ "$(rule_of 'out of memory')" = posix.cannot-allocate-memory ] || fail "out-of-memory rule: $(rule_of 'out of memory')"
echo "t39 ok"

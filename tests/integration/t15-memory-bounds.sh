#!/bin/sh
# Memory stays bounded whoever connects (issue 9): a request without a valid key is refused
# before its body is read; all bodies in flight share one budget (--max-inflight, 503 with
# Retry-After past it); a request carries at most --max-batch events (413); one address
# cannot take every connection (a client on 127.0.0.1 is served while 127.0.0.2 holds 4,100
# idle half-sent connections); a rate-limit bucket admits a batch larger than its burst
# once, then refuses until repaid; a connection silent halfway through its headers is dropped
# after 10 s.
. "$(dirname "$0")/../lib.sh"

rss_peak_mb() { awk '/^VmHWM/{print int($2/1024)}' "/proc/$SERVER_PID/status"; }
start_server
create_key shop
AUTH="Authorization: Bearer $TOKEN"
base_mb=$(rss_peak_mb)

# --- 100 connections without a key, each announcing 20 MB and sending 4 MiB
python3 - "$PORT" <<'PY' >"$TMPDIR_TEST/nokey.out" || fail "unauthenticated flood client failed"
import socket, sys, threading
port = int(sys.argv[1]); chunk = b"x" * 65536; codes = []
def one(i):
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    s.sendall(b"POST /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 20000000\r\n\r\n")
    try:
        for _ in range(64):
            s.sendall(chunk)
    except OSError:
        pass
    try:
        codes.append(s.recv(64).split(b" ")[1].decode())
    except Exception as e:
        codes.append("reset")
    s.close()
ts = [threading.Thread(target=one, args=(i,)) for i in range(100)]
[t.start() for t in ts]; [t.join() for t in ts]
print(" ".join(sorted(set(codes))))
PY
grep -q 401 "$TMPDIR_TEST/nokey.out" || fail "no 401 for unauthenticated bodies: $(cat "$TMPDIR_TEST/nokey.out")"
grep -q 200 "$TMPDIR_TEST/nokey.out" && fail "an unauthenticated body was accepted"
peak=$(rss_peak_mb)
[ "$peak" -lt $((base_mb + 64)) ] || fail "100 unauthenticated 4 MiB bodies grew the server from $base_mb to $peak MiB"
pass "unauthenticated bodies refused before buffering (peak RSS $peak MiB, start $base_mb MiB)"
req POST /api/v1/events -H "Authorization: Bearer act_wrong" -H 'Content-Length: 20000000' --data-binary @/dev/null -m 10
expect_status 401 "wrong key refused before the body"
req POST "/api/$PROJECT_ID/envelope/" --data-binary @"$0" -H 'Content-Length: 5000000' -m 10
expect_status 413 "an envelope whose key is only inside may not be large"
expect_body "X-Sentry-Auth" "413 says how to send the key outside"
stop_server

# --- one budget for every body in flight
start_server --max-inflight 8M
python3 - "$PORT" "$TOKEN" "$TMPDIR_TEST/held" <<'PY' &
import socket, sys, time
port, token, flag = int(sys.argv[1]), sys.argv[2], sys.argv[3]
socks = []
for i in range(3):
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    s.sendall(("POST /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n"
               "Content-Length: 2600000\r\n\r\n" % token).encode())
    s.sendall(b"[" + b" " * 2500000)
    socks.append(s)
open(flag, "w").close()
time.sleep(20)
PY
HOLDER=$!
for _ in $(seq 1 300); do [ -e "$TMPDIR_TEST/held" ] && break; sleep 0.1; done
# the three partial bodies hold 7.5 of 8 MiB once the server has read them
python3 -c 'import json; print(json.dumps({"message": "over budget", "padding": "a" * 1000000}))' >"$TMPDIR_TEST/1mb"
for _ in $(seq 1 100); do
	req POST /api/v1/events -H "$AUTH" -H 'Expect: 100-continue' --data-binary @"$TMPDIR_TEST/1mb"
	[ "$STATUS" = 503 ] && break
	sleep 0.1
done
expect_status 503 "over the in-flight budget"
expect_header "Retry-After" "503 carries Retry-After"
expect_body over_capacity "503 names the reason"
kill "$HOLDER" 2>/dev/null; wait "$HOLDER" 2>/dev/null
for _ in $(seq 1 100); do
	req POST /api/v1/events -H "$AUTH" -d '{"message":"after the budget freed"}'
	[ "$STATUS" = 200 ] && break
	sleep 0.1
done
expect_status 200 "budget given back when the connections closed"
stop_server

# --- events per request
start_server --max-batch 1000
python3 -c 'import sys; [print("{\"message\":\"m%d\"}" % i) for i in range(1001)]' >"$TMPDIR_TEST/b1001"
req POST /api/v1/events -H "$AUTH" -H 'Content-Type: application/x-ndjson' --data-binary @"$TMPDIR_TEST/b1001"
expect_status 413 "1001 events over --max-batch 1000"
expect_body too_many_events "413 names the limit"
head -n 1000 "$TMPDIR_TEST/b1001" >"$TMPDIR_TEST/b1000"
req POST /api/v1/events -H "$AUTH" -H 'Content-Type: application/x-ndjson' --data-binary @"$TMPDIR_TEST/b1000"
expect_status 200 "1000 events within --max-batch"
stop_server

# --- a 20 MB NDJSON of tiny events under the defaults: refused, memory bounded
start_server
python3 -c '
import sys
line = b"{\"message\":\"m\"}\n"
sys.stdout.buffer.write(line * (19000000 // len(line)))' >"$TMPDIR_TEST/giant"
req POST /api/v1/events -H "$AUTH" -H 'Content-Type: application/x-ndjson' --data-binary @"$TMPDIR_TEST/giant" -m 120
expect_status 413 "1.1 M events in one request"
peak=$(rss_peak_mb)
[ "$peak" -le 256 ] || fail "a giant batch took the server to $peak MiB"
pass "giant batch refused at peak RSS $peak MiB"
stop_server

# --- rate limit: a batch larger than the burst gets in once, then the bucket is in debt
start_server --rate-limit 100
python3 -c 'import json; print(json.dumps([{"message":"b%d" % i} for i in range(300)]))' >"$TMPDIR_TEST/b300"
req POST /api/v1/events -H "$AUTH" --data-binary @"$TMPDIR_TEST/b300"
expect_status 200 "300-event batch with burst 200"
req POST /api/v1/events -H "$AUTH" -d '{"message":"while in debt"}'
expect_status 429 "refused while the borrowed tokens are repaid"
expect_header "Retry-After" "429 has Retry-After"
ok=""
for _ in $(seq 1 100); do
	req POST /api/v1/events -H "$AUTH" -d '{"message":"after repaying"}'
	[ "$STATUS" = 200 ] && { ok=1; break; }
	sleep 0.1
done
[ -n "$ok" ] || fail "the bucket never recovered: $STATUS $BODY"
pass "rate-limit bucket borrows for a large batch"
stop_server

# --- one address cannot take every connection
start_server
python3 - "$PORT" "$TMPDIR_TEST/idle" <<'PY' &
import socket, sys, time, resource
port, flag = int(sys.argv[1]), sys.argv[2]
resource.setrlimit(resource.RLIMIT_NOFILE, (5000, 5000))
socks = []
for i in range(4100):
    try:
        s = socket.socket()
        s.bind(("127.0.0.2", 0))
        s.connect(("127.0.0.1", port))
        s.send(b"GET /health HTTP/1.1\r\nHost: x\r\n")
        socks.append(s)
    except OSError:
        pass
open(flag, "w").write(str(len(socks)))
time.sleep(30)
PY
IDLER=$!
for _ in $(seq 1 600); do [ -s "$TMPDIR_TEST/idle" ] && break; sleep 0.1; done
[ "$(cat "$TMPDIR_TEST/idle")" -ge 4000 ] || fail "could not open the idle connections: $(cat "$TMPDIR_TEST/idle")"
t0=$(date +%s.%N)
req GET /health -m 5
t1=$(date +%s.%N)
expect_status 200 "127.0.0.1 served while 127.0.0.2 holds 4,100 half-sent connections"
echo "  took $(echo "$t1 - $t0" | bc) s (load $(cut -d' ' -f1 /proc/loadavg))"
kill "$IDLER" 2>/dev/null; wait "$IDLER" 2>/dev/null
# a connection that stops halfway through its headers is dropped after the header timeout
# (10 s of silence), not the 60 s a connection gets once its request is in
python3 - "$PORT" <<'PY' || fail "a half-sent request was not dropped within 25 s"
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=25)
s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")
t = time.time()
try:
    data = s.recv(100)
except socket.timeout:
    sys.exit(1)
print("  half-sent request dropped after %.1f s" % (time.time() - t))
sys.exit(0 if data == b"" else 1)
PY
stop_server
pass "memory bounds"

#!/bin/sh
# A generated system's HTTP API (the todo blueprint) keeps serving other clients while one
# address holds 4,200 idle half-sent connections (issue 9, slowloris): each address may hold
# at most RT_HTTP_PER_IP_LIMIT (256) of the 4,096 connections.
. "$(dirname "$0")/gen-lib.sh"

dir=$(gen_build "$BLUEPRINTS/todo_api.yaml" todo)
port=$(free_port)
B=http://127.0.0.1:$port
start "$dir" todo_api API_PORT=$port
wait_http "$B/health"
python3 - "$port" "$TMPDIR_TEST/idle" <<'PY' &
import socket, sys, time, resource
port, flag = int(sys.argv[1]), sys.argv[2]
resource.setrlimit(resource.RLIMIT_NOFILE, (5000, 5000))
socks = []
for i in range(4200):
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
PIDS="$PIDS $IDLER"
for _ in $(seq 1 600); do [ -s "$TMPDIR_TEST/idle" ] && break; sleep 0.1; done
[ "$(cat "$TMPDIR_TEST/idle" 2>/dev/null)" -ge 4100 ] 2>/dev/null || fail "could not open the idle connections"
code=$(curl -s -o /dev/null -w '%{http_code}' -m 5 "$B/health") || true
[ "$code" = 200 ] || fail "the generated API did not serve 127.0.0.1 while 127.0.0.2 held 4,200 connections (got '$code')"
code=$(curl -s -o /dev/null -w '%{http_code}' -m 5 -X POST -H 'Content-Type: application/json' -d '{"title":"still up"}' "$B/todos") || true
case "$code" in 2*) ;; *) fail "a write was not served during the flood (got '$code')" ;; esac
kill "$IDLER" 2>/dev/null || true; wait "$IDLER" 2>/dev/null || true
stop "$SYS_PID"
echo "ok: generated API serves others during a one-address connection flood"

# lib.sh — helpers for the fault catalogue's recipes (sourced by `autocoder faults run` before
# each inject and fix recipe; see docs/EVIDENCE.md). The runner sets SYSTEM_DIR, SYSTEM,
# DATA_DIR, WORK, PORT, PORT2, AUTOCODER_COLLECTOR_URL and AUTOCODER_KEY; the system's output
# goes to $WORK/system.log. Everything a recipe starts is stopped when it ends.
#
#   start_system [VAR=value ...]   start the system in the background (SYS_PID), reporting to
#                                  the run's collector, with DATA_DIR and METRICS_PORT=$PORT2;
#                                  $LIMITS (shell, e.g. "ulimit -n 12") runs first when set
#   run_system [VAR=value ...]     run it in the foreground; returns its exit status
#   stop_system                    SIGTERM the background system and wait (its shipper flushes)
#   wait_http URL [tries]          until URL answers 2xx (tries x 0.1 s, default 100)
#   wait_log TEXT [tries]          until $WORK/system.log contains TEXT
#   post PATH BODY                 POST BODY to the system's API on $PORT, prints the status
#   start_readonly FILE [VAR=value ...]
#                                  start_system with FILE read-only: a read-only bind mount in
#                                  a private mount namespace (root), else chmod a-w
#   make_writable FILE             undo the chmod of start_readonly (the mount dies with the
#                                  system)
#   http_sink_config URL           write $WORK/system.json: the system's config with every
#                                  Sink's output POSTed to URL (start with
#                                  AUTOCODER_CONFIG=$WORK/system.json)
#   receiver PORT FILE [hang]      background HTTP receiver on PORT (RECV_PID): appends each
#                                  POST body to FILE and answers 204; "hang": accepts and never
#                                  answers
#   hold_connections PORT N SECS   open N connections to PORT, hold them SECS seconds
SYS_PID=""
SYS_LOG=$WORK/system.log

_sys_env() {
	echo "DATA_DIR=$DATA_DIR METRICS_PORT=$PORT2 AUTOCODER_SPOOL_DIR=$DATA_DIR/crash_spool \
SINK_DIR=$WORK/sink AUTOCODER_COLLECTOR_URL=$AUTOCODER_COLLECTOR_URL AUTOCODER_KEY=$AUTOCODER_KEY"
}

LIMITS=""
start_system() {
	# shellcheck disable=SC2046
	(eval "${LIMITS:-:}"; cd "$SYSTEM_DIR" && exec env $(_sys_env) "$@" "./$SYSTEM") \
		>>"$SYS_LOG" 2>&1 &
	SYS_PID=$!
}

run_system() {
	# shellcheck disable=SC2046
	(eval "${LIMITS:-:}"; cd "$SYSTEM_DIR" && exec env $(_sys_env) "$@" "./$SYSTEM") \
		>>"$SYS_LOG" 2>&1
}

stop_system() {
	[ -n "$SYS_PID" ] || return 0
	kill -TERM "$SYS_PID" 2>/dev/null
	wait "$SYS_PID" 2>/dev/null
	SYS_PID=""
}

stop_all() {
	stop_system
	[ -z "$RECV_PID" ] || { kill "$RECV_PID" 2>/dev/null; wait "$RECV_PID" 2>/dev/null; RECV_PID=""; }
}

wait_http() {
	_n=${2:-100}
	_i=0
	until curl -sf -o /dev/null "$1"; do
		_i=$((_i + 1))
		[ $_i -lt "$_n" ] || { echo "no answer from $1" >&2; return 1; }
		sleep 0.1
	done
}

wait_log() {
	_n=${2:-100}
	_i=0
	until grep -qF -- "$1" "$SYS_LOG" 2>/dev/null; do
		_i=$((_i + 1))
		[ $_i -lt "$_n" ] || { echo "'$1' never appeared in $SYS_LOG" >&2; return 1; }
		sleep 0.1
	done
}

post() {
	curl -s -m 15 -o /dev/null -w '%{http_code}\n' -X POST -H 'Content-Type: application/json' \
		--data-binary "$2" "http://127.0.0.1:$PORT$1"
}

start_readonly() {
	_ro=$1
	shift
	if [ "$(id -u)" != 0 ]; then
		chmod a-w "$_ro"
		start_system "$@"
		return
	fi
	# shellcheck disable=SC2046,SC2016
	(eval "${LIMITS:-:}"; cd "$SYSTEM_DIR" && exec unshare -m sh -c \
		'mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" && exec env "$@"' \
		"$_ro" $(_sys_env) "$@" "./$SYSTEM") >>"$SYS_LOG" 2>&1 &
	SYS_PID=$!
}

make_writable() {
	[ "$(id -u)" = 0 ] || chmod u+w "$1"
}

http_sink_config() {
	python3 - "$SYSTEM_DIR/config/system.json" "$WORK/system.json" "$1" <<'PY'
import json, sys
cfg = json.load(open(sys.argv[1]))
for name, comp in cfg["components"].items():
    c = comp.get("config") or {}
    if "output" in c:
        c["output"] = {"type": "http", "url": sys.argv[3]}
json.dump(cfg, open(sys.argv[2], "w"))
PY
}

RECV_PID=""
receiver() {
	python3 - "$1" "$2" "${3:-ok}" <<'PY' &
import http.server, socket, sys, time
port, out, mode = int(sys.argv[1]), sys.argv[2], sys.argv[3]
if mode == "hang":
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen(64)
    held = []
    while True:
        c, _ = s.accept()
        held.append(c)     # read nothing, answer nothing
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        with open(out, "ab") as f:
            f.write(body + b"\n")
        self.send_response(204)
        self.end_headers()
    def log_message(self, *a):
        pass
http.server.HTTPServer(("127.0.0.1", port), H).serve_forever()
PY
	RECV_PID=$!
	python3 - "$1" <<'PY'
import socket, sys, time
for i in range(100):
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()
        sys.exit(0)
    except OSError:
        time.sleep(0.1)
sys.exit(1)
PY
}

hold_connections() {
	python3 - "$1" "$2" "$3" <<'PY'
import socket, sys, time
port, n, secs = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
held = []
for i in range(n):
    try:
        held.append(socket.create_connection(("127.0.0.1", port), 2))
    except OSError:
        pass
time.sleep(secs)
for s in held:
    s.close()
print("held", len(held), "connections")
PY
}

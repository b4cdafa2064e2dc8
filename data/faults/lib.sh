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
	curl -s -o /dev/null -w '%{http_code}\n' -X POST -H 'Content-Type: application/json' \
		--data-binary "$2" "http://127.0.0.1:$PORT$1"
}

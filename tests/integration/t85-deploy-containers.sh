#!/bin/sh
# t85-deploy-containers.sh — the generated deployment files, proven in real containers.
#
# Starts a private Docker engine (no bridge, no iptables; stopped by its pid at the end), makes
# debian:bookworm-slim locally with debootstrap (cached), builds the collector image from the
# project's root Dockerfile and checks it serves and stays healthy. Then, for two example
# systems (one with an APIEndpoint and a Store): generate, build the image from its
# deployments/Dockerfile, run it under the CPU/memory limits of its own Kubernetes manifest with
# host networking, wait for Docker's health status to be healthy, exercise the API, stop it and
# require exit code 0. Finally the Compose stack of the Store system with host networking
# (docker-compose.host.yml): collector + system, a bad request makes the system ship a warning event, found through
# the collector's API and then in the collector volume's SQLite file; `down`, `up` again, and the
# record created before is still served (the Store's volume kept it). Last, a crash forced in
# the container is spooled on its volume and uploaded to the collector by the next start.
# Skipped (exit 77, "SKIP: ..." with the reason; the runner prints SKIP, and under CI=true a
# skip fails the run) only when the Docker engine cannot start on this machine.
# Everything talks to 127.0.0.1 on free ports.
# ac-test: plain-only
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -eu
# `make test` runs the integration tests twice: plain, then under ASan+UBSan. The containers
# build their own binaries from source, so the second pass would only repeat the first.
# The runner does not start it then (the "plain-only" line above).
root=$(cd "$(dirname "$0")/../.." && pwd)
. "$root/tests/deploy/docker-lib.sh"
T=${TMPDIR_TEST:-$(mktemp -d)}
AUTOCODER=${AUTOCODER:-$root/build/autocoder}
PROJECT=act85
containers=""
stack_dir=""

collector_stack=0
volumes=""
cleanup() {
	set +e
	[ "$collector_stack" = 1 ] && proj_dc down -v >/dev/null 2>&1
	for c in $containers; do "$DOCKER" rm -f -v "$c" >/dev/null 2>&1; done
	for v in $volumes; do "$DOCKER" volume rm "$v" >/dev/null 2>&1; done
	if [ -n "$stack_dir" ]; then
		(cd "$stack_dir" && $DOCKER_COMPOSE -p $PROJECT -f docker-compose.yml \
			-f docker-compose.host.yml down -v >/dev/null 2>&1)
	fi
	dk_stop
}
die() { echo "FAIL: $*" >&2; exit 1; }
http() { curl -sS -m 10 -o "$T/body" -w '%{http_code}' "$@" || echo 000; }

# the binary under test first: without it nothing below proves anything
"$AUTOCODER" version >/dev/null || die "$AUTOCODER version failed"
dk_node_modules "$root/tests/deploy" || die "npm ci in tests/deploy"
if ! dk_start; then
	echo "SKIP: the Docker engine cannot start on this machine (see $DK_DIR/dockerd.log)"
	exit 77
fi
trap cleanup EXIT
dk_base_image || die "cannot make debian:bookworm-slim with debootstrap"

# --- the collector image (project root Dockerfile) -------------------------------------------
COLLECTOR_IMAGE=autocoder:$("$AUTOCODER" version | awk '{print $2}')
"$DOCKER" build --network host -t "$COLLECTOR_IMAGE" "$root" >"$T/build-collector.log" 2>&1 ||
	{ tail -n 30 "$T/build-collector.log"; die "root Dockerfile does not build"; }
cport=$(dk_free_port)
containers="$containers t85-collector"
"$DOCKER" run -d --name t85-collector --network host -e AUTOCODER_PORT="$cport" "$COLLECTOR_IMAGE" \
	serve --listen "127.0.0.1:$cport" --db /data/autocoder.db >/dev/null
st=$(dk_wait_healthy t85-collector 60) || die "collector container not healthy: $st"
[ "$("$DOCKER" exec t85-collector id -u)" != 0 ] || die "collector runs as root"
[ "$(http "http://127.0.0.1:$cport/health")" = 200 ] || die "collector /health"
"$DOCKER" stop -t 20 t85-collector >/dev/null
[ "$("$DOCKER" inspect -f '{{.State.ExitCode}}' t85-collector)" = 0 ] || die "collector exit code"
echo "ok: collector image builds, runs as non-root, is healthy, stops with 0"

# The project's own compose file (docs/OPERATIONS.md), host networking: a key created in the
# collector survives down/up (the database volume).
proj_dc() { (cd "$root/deployments" && COLLECTOR_PORT=$cport $DOCKER_COMPOSE -p act85c \
	-f docker-compose.host.yml "$@"); }
collector_stack=1
proj_dc up -d >"$T/proj.log" 2>&1 || { cat "$T/proj.log"; die "deployments/: compose up"; }
st=$(dk_wait_healthy "$(proj_dc ps -q collector)" 60) || die "deployments/ collector not healthy: $st"
proj_dc exec -T collector autocoder keys create t85-project --db /data/autocoder.db >/dev/null ||
	die "deployments/: keys create"
proj_dc down >>"$T/proj.log" 2>&1
proj_dc up -d >>"$T/proj.log" 2>&1 || die "deployments/: second compose up"
st=$(dk_wait_healthy "$(proj_dc ps -q collector)" 60) || die "deployments/ collector not healthy again: $st"
proj_dc exec -T collector autocoder keys list --db /data/autocoder.db | grep -q t85-project ||
	die "deployments/: the key did not survive down/up"
proj_dc down -v >>"$T/proj.log" 2>&1
collector_stack=0
echo "ok: deployments/docker-compose.host.yml: collector healthy, database volume survives down/up"

# --- example systems ----------------------------------------------------------------------
if ! ls "$root"/data/blueprints/*.yaml >/dev/null 2>&1; then
	die "no data/blueprints/*.yaml in this tree: the example systems cannot be tested"
fi
store_sys="" other_sys=""
for bp in "$root"/data/blueprints/*.yaml; do
	nm=$(basename "$bp" .yaml)
	"$AUTOCODER" generate "$bp" -o "$T/sys/$nm" >"$T/gen-$nm.log" 2>&1 ||
		die "autocoder generate $bp: $(tail -n 3 "$T/gen-$nm.log")"
	eval "$(node "$root/tests/deploy/system-info.mjs" "$T/sys/$nm")"
	if [ -z "$store_sys" ] && [ "$HAS_CRUD" = 1 ] && [ -n "$API_RESOURCE" ]; then
		store_sys=$nm
	elif [ -z "$other_sys" ] && [ "$HAS_API" = 0 ] && [ "$NEEDS_INPUT" = 0 ]; then
		other_sys=$nm
	fi
done
[ -n "$store_sys" ] || die "no example blueprint with a REST API over a Store (APIEndpoint, Controller, Store)"
[ -n "$other_sys" ] || die "no self-contained example blueprint without an APIEndpoint"

# Sets $envs (-e VAR=free_port for every port variable of the system) and $health_port.
run_env() {
	envs=""
	for v in $PORT_ENVS; do
		p=$(dk_free_port)
		envs="$envs -e $v=$p"
		if [ "$v" = "$HEALTH_ENV" ]; then health_port=$p; fi
	done
}

exercise_store_api() {
	base="http://127.0.0.1:$1/$API_RESOURCE"
	code=$(http -X POST -H 'Content-Type: application/json' -d '{"title":"from t85","done":false}' "$base")
	[ "$code" = 201 ] || die "POST $base: $code $(cat "$T/body")"
	id=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1],"utf8")).id)' "$T/body")
	code=$(http "$base/$id")
	[ "$code" = 200 ] && grep -q 'from t85' "$T/body" || die "GET $base/$id: $code $(cat "$T/body")"
	code=$(http "$base")
	[ "$code" = 200 ] && grep -q "$id" "$T/body" || die "GET $base (list): $code"
	echo "$id"
}

run_system() {
	nm=$1 dir="$T/sys/$1"
	eval "$(node "$root/tests/deploy/system-info.mjs" "$dir")"
	"$DOCKER" build --network host -f "$dir/deployments/Dockerfile" -t "$IMAGE" "$dir" \
		>"$T/build-$nm.log" 2>&1 || { tail -n 30 "$T/build-$nm.log"; die "$nm: image build"; }
	c="t85-$nm"
	containers="$containers $c"
	run_env
	start=$(dk_now)
	# shellcheck disable=SC2086
	"$DOCKER" run -d --name "$c" --network host --memory "${MEM_LIMIT_MI}m" --cpus "$CPU_LIMIT" \
		$envs "$IMAGE" >/dev/null
	st=$(dk_wait_healthy "$c" 90) || { "$DOCKER" logs "$c" 2>&1 | tail -n 20; die "$nm: not healthy ($st)"; }
	echo "$nm: healthy after $(awk "BEGIN{printf \"%.1f\", $(dk_now) - $start}") s (limits ${MEM_LIMIT_MI}Mi, $CPU_LIMIT CPU)"
	[ "$("$DOCKER" inspect -f '{{.HostConfig.Memory}}' "$c")" = $((MEM_LIMIT_MI * 1048576)) ] ||
		die "$nm: memory limit not applied"
	[ "$("$DOCKER" inspect -f '{{.HostConfig.NanoCpus}}' "$c")" = "$(awk "BEGIN{printf \"%.0f\", $CPU_LIMIT * 1e9}")" ] ||
		die "$nm: CPU limit not applied"
	[ "$("$DOCKER" exec "$c" id -u)" != 0 ] || die "$nm: runs as root"
	[ "$(http "http://127.0.0.1:$health_port/ready")" = 200 ] || die "$nm: /ready"
	[ "$(http "http://127.0.0.1:$health_port/metrics")" = 200 ] || die "$nm: /metrics"
	if [ "$HAS_CRUD" = 1 ]; then
		exercise_store_api "$health_port" >/dev/null
	else
		sleep 2 # let the pipeline move messages
		http "http://127.0.0.1:$health_port/metrics" >/dev/null
		grep -Eq '^[a-z_]*messages[a-z_]*\{[^}]*\} [1-9]' "$T/body" ||
			die "$nm: /metrics shows no message flowing: $(head -c 600 "$T/body")"
	fi
	"$DOCKER" stop -t "$SHUTDOWN_S" "$c" >/dev/null
	code=$("$DOCKER" inspect -f '{{.State.ExitCode}} {{.State.OOMKilled}}' "$c")
	[ "$code" = "0 false" ] || { "$DOCKER" logs "$c" 2>&1 | tail -n 20; die "$nm: exit after SIGTERM: $code"; }
	echo "ok: $nm image runs under its manifest's limits, healthy, API exercised, clean exit"
}

run_system "$store_sys"
run_system "$other_sys"

# --- the Compose stack of the Store system, host networking -------------------------------------
eval "$(node "$root/tests/deploy/system-info.mjs" "$T/sys/$store_sys")"
stack_dir="$T/sys/$store_sys/deployments"
COLLECTOR_PORT=$(dk_free_port)
export AUTOCODER_SRC="$root" COLLECTOR_PORT
for v in $PORT_ENVS; do
	p=$(dk_free_port)
	export "$v=$p"
	if [ "$v" = "$HEALTH_ENV" ]; then health_port=$p; fi
done
DC="$DOCKER_COMPOSE -p $PROJECT -f docker-compose.host.yml"
cd "$stack_dir"
$DC up -d collector >"$T/compose.log" 2>&1 || { cat "$T/compose.log"; die "compose up collector"; }
st=$(dk_wait_healthy "$($DC ps -q collector)" 60) || die "compose collector not healthy: $st"
$DC exec -T collector autocoder keys create "$NAME" --db /data/autocoder.db --json >"$T/key.json"
AUTOCODER_KEY=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1],"utf8")).token)' "$T/key.json")
export AUTOCODER_KEY
$DC up -d >>"$T/compose.log" 2>&1 || { cat "$T/compose.log"; die "compose up"; }
st=$(dk_wait_healthy "$($DC ps -q "$NAME")" 90) || { $DC logs 2>&1 | tail -n 30; die "compose system not healthy: $st"; }
id=$(exercise_store_api "$health_port")
code=$(http -X POST -H 'Content-Type: application/json' -d '{"title": broken' \
	"http://127.0.0.1:$health_port/$API_RESOURCE")
[ "$code" = 400 ] || die "a malformed body was answered $code, not 400"
found=0
for _ in $(seq 1 40); do
	http -H "Authorization: Bearer $AUTOCODER_KEY" \
		"http://127.0.0.1:$COLLECTOR_PORT/api/v1/events?system=$NAME&limit=50" >/dev/null
	if grep -q 'invalid JSON body' "$T/body"; then found=1; break; fi
	sleep 0.5
done
[ $found = 1 ] || die "the system's warning never reached the collector: $(head -c 400 "$T/body")"
$DC down >>"$T/compose.log" 2>&1 || die "compose down"
db="$DK_DIR/data/volumes/${PROJECT}_collector_db/_data/autocoder.db"
row=$(sqlite3 "$db" "SELECT level || '|' || system || '|' || component || '|' || message FROM events \
	WHERE system = '$NAME' AND message LIKE '%invalid JSON body%' LIMIT 1")
case "$row" in
warn*"|$NAME|"*"|"*"invalid JSON body"*) echo "ok: the warning is in the collector volume's database: $row" ;;
*) die "no stored event in $db (got '$row')" ;;
esac
$DC up -d >>"$T/compose.log" 2>&1 || { cat "$T/compose.log"; die "compose up (second time)"; }
st=$(dk_wait_healthy "$($DC ps -q "$NAME")" 90) || die "system not healthy after restart: $st"
code=$(http "http://127.0.0.1:$health_port/$API_RESOURCE/$id")
[ "$code" = 200 ] && grep -q 'from t85' "$T/body" ||
	die "record $id lost across down/up of the stack: $code $(cat "$T/body")"
echo "ok: compose stack (host networking): error event stored by the collector; Store data survived down/up"

# A crash inside the container: the crash hook makes the Controller fault on its first message;
# the report lands in the spool on the data volume (written as the non-root user), and the next
# container on the same volume uploads it to the stack's collector.
crash_env="-e AUTOCODER_COLLECTOR_URL=http://127.0.0.1:$COLLECTOR_PORT -e AUTOCODER_KEY=$AUTOCODER_KEY"
cport2=$(dk_free_port)
containers="$containers t85-crash t85-crash2"
volumes="act85crash"
# shellcheck disable=SC2086
"$DOCKER" run -d --name t85-crash --network host -v act85crash:/app/data -e "$HEALTH_ENV=$cport2" \
	$crash_env -e AUTOCODER_CRASH_AFTER=1 -e AUTOCODER_CRASH_COMPONENT="$CONTROLLER" "$IMAGE" >/dev/null
st=$(dk_wait_healthy t85-crash 90) || die "crash container not healthy: $st"
http -X POST -H 'Content-Type: application/json' -d '{"title":"crash me"}' \
	"http://127.0.0.1:$cport2/$API_RESOURCE" >/dev/null 2>&1 || true
"$DOCKER" wait t85-crash >/dev/null
code=$("$DOCKER" inspect -f '{{.State.ExitCode}}' t85-crash)
[ "$code" != 0 ] || die "the crash hook did not crash the container"
spool="$DK_DIR/data/volumes/act85crash/_data/crash_spool"
ls "$spool"/crash-* >/dev/null 2>&1 || die "no crash report in the volume's spool ($spool)"
# shellcheck disable=SC2086
"$DOCKER" run -d --name t85-crash2 --network host -v act85crash:/app/data -e "$HEALTH_ENV=$cport2" \
	$crash_env "$IMAGE" >/dev/null
st=$(dk_wait_healthy t85-crash2 90) || die "container after the crash not healthy: $st"
found=0
for _ in $(seq 1 40); do
	http -H "Authorization: Bearer $AUTOCODER_KEY" \
		"http://127.0.0.1:$COLLECTOR_PORT/api/v1/events?system=$NAME&kind=crash&limit=5" >/dev/null
	if node -e 'const b = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
		process.exit((b.events || []).some((e) => e.component === process.argv[2]) ? 0 : 1)' \
		"$T/body" "$CONTROLLER" 2>/dev/null; then found=1; break; fi
	sleep 0.5
done
[ $found = 1 ] || die "no crash report of component $CONTROLLER reached the collector: $(head -c 400 "$T/body")"
echo "ok: crash in the container (exit $code): report spooled on the volume, uploaded by the next start"
echo "t85: passed"

#!/bin/sh
# t80-deploy-static.sh — static validation of the deployment files of every example system.
#
# Targets: the emitter's golden outputs (tests/golden/deploy/NAME, proven equal to what
# deploy_emit writes by tests/unit/check_deploy.c) and, for each blueprint in data/blueprints/,
# the deployments/ that `autocoder generate` writes. For each: `docker-compose config -q` on
# docker-compose.yml and on docker-compose.host.yml (host networking); `kubectl kustomize` with
# Debian's kubectl (and with any other kubectl on PATH); every rendered manifest validated
# against the Kubernetes schemas (kubernetes-models, pinned, installed into tests/deploy) with
# unknown fields rejected; semantic checks of manifests and compose files against the
# blueprint (tests/deploy/validate-k8s.mjs, check-compose.mjs); Dockerfile rules. Also the
# project's own collector deployment (deployments/: compose files and k8s StatefulSet; the
# PostgreSQL mode's compose stack and manifests, deployments/postgres and k8s-postgres*). And
# for each example, the manifest's probe paths answer 200 on the port its ConfigMap sets, in
# the generated system built and started natively.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
. "$root/tests/deploy/docker-lib.sh"
T=${TMPDIR_TEST:-$(mktemp -d)}
fail=0
bad() { echo "FAIL: $*"; fail=1; }

dk_node_modules "$root/tests/deploy" || { echo "FAIL: npm ci in tests/deploy"; exit 1; }
KUBECTL=$(dk_debian_kubectl) || { echo "FAIL: cannot get Debian's kubectl (kubernetes-client)"; exit 1; }
OTHER_KUBECTL=""
if command -v kubectl >/dev/null 2>&1 && kubectl kustomize --help >/dev/null 2>&1; then
	OTHER_KUBECTL=$(command -v kubectl)
fi
echo "kubectl: $KUBECTL ($("$KUBECTL" version --client --short 2>/dev/null || true))${OTHER_KUBECTL:+, also $OTHER_KUBECTL}"

check_dockerfile() {
	df=$1/deployments/Dockerfile
	if grep -q '^# syntax' "$df"; then bad "$df: has a # syntax= line"; fi
	[ "$(grep -c '^FROM debian:bookworm-slim' "$df")" = 2 ] || bad "$df: not two stages on debian:bookworm-slim"
	grep -q '^USER [1-9]' "$df" || bad "$df: does not run as a numeric non-root user"
	grep -q '^HEALTHCHECK --interval=[0-9]s .*' "$df" || bad "$df: no short-interval HEALTHCHECK"
	grep -q '"/health"' "$df" || bad "$df: HEALTHCHECK does not probe /health"
	grep -q '^STOPSIGNAL SIGTERM' "$df" || bad "$df: no STOPSIGNAL SIGTERM"
	grep -q '^EXPOSE ' "$df" || bad "$df: exposes no port"
	[ -f "$1/.dockerignore" ] || bad "$1: no .dockerignore"
	# golden trees leave out the probe (check_deploy compares it with its source file)
	case $1 in
	*/tests/golden/deploy/*) ;;
	*) [ -f "$1/deployments/healthcheck.c" ] || bad "$1: no deployments/healthcheck.c" ;;
	esac
	# Runtime stage (after the second FROM): runtime libraries only.
	if awk '/^FROM /{n++} n==2' "$df" | grep -q -- '-dev'; then
		bad "$df: -dev package in the runtime stage"
	fi
	return 0
}

# check_target NAME SYSTEM_DIR MODEL
check_target() {
	name=$1 dir=$2 model=$3 out="$T/$1"
	mkdir -p "$out"
	echo "== $name"
	check_dockerfile "$dir"
	(cd "$dir/deployments" && AUTOCODER_SRC="$root" AUTOCODER_KEY=test-key \
		$DOCKER_COMPOSE config -q) || bad "$name: docker-compose config -q"
	(cd "$dir/deployments" && AUTOCODER_SRC="$root" AUTOCODER_KEY=test-key \
		$DOCKER_COMPOSE -f docker-compose.host.yml config -q) ||
		bad "$name: docker-compose -f docker-compose.host.yml config -q"
	(cd "$dir/deployments" && AUTOCODER_SRC="$root" AUTOCODER_KEY=test-key \
		$DOCKER_COMPOSE config >"$out/base.yml" &&
		AUTOCODER_SRC="$root" AUTOCODER_KEY=test-key \
		$DOCKER_COMPOSE -f docker-compose.host.yml config >"$out/host.yml")
	"$KUBECTL" kustomize "$dir/deployments/k8s" >"$out/rendered.yaml" || bad "$name: kubectl kustomize"
	if [ -n "$OTHER_KUBECTL" ]; then
		"$OTHER_KUBECTL" kustomize "$dir/deployments/k8s" >"$out/rendered2.yaml" ||
			bad "$name: $OTHER_KUBECTL kustomize"
		node "$root/tests/deploy/validate-k8s.mjs" "$model" "$out/rendered2.yaml" \
			"$dir/deployments/k8s" >/dev/null || bad "$name: manifests rendered by $OTHER_KUBECTL"
	fi
	node "$root/tests/deploy/validate-k8s.mjs" "$model" "$out/rendered.yaml" "$dir/deployments/k8s" ||
		bad "$name: Kubernetes schema/semantic checks"
	node "$root/tests/deploy/check-compose.mjs" "$model" "$out/base.yml" "$out/host.yml" \
		"$out/rendered.yaml" || bad "$name: compose checks"
}

# The project's own deployment of the collector (docs/OPERATIONS.md).
echo "== deployments/ (the collector)"
(cd "$root/deployments" && $DOCKER_COMPOSE config -q &&
	$DOCKER_COMPOSE -f docker-compose.host.yml config -q) ||
	bad "deployments/: docker-compose config -q"
for k in "$KUBECTL" $OTHER_KUBECTL; do
	"$k" kustomize "$root/deployments/k8s" >"$T/collector.yaml" || bad "deployments/k8s: $k kustomize"
	node "$root/tests/deploy/validate-k8s.mjs" - "$T/collector.yaml" "$root/deployments/k8s" \
		--readiness /health --state-mount /data || bad "deployments/k8s: checks ($k)"
done

# The PostgreSQL mode (docs/OPERATIONS.md "PostgreSQL"): compose stack and Kubernetes manifests
echo "== deployments/postgres, deployments/k8s-postgres(-trial)"
(cd "$root/deployments/postgres" && POSTGRES_PASSWORD=t80 $DOCKER_COMPOSE config -q) ||
	bad "deployments/postgres: docker-compose config -q"
for k in "$KUBECTL" $OTHER_KUBECTL; do
	for d in k8s-postgres k8s-postgres-trial; do
		"$k" kustomize "$root/deployments/$d" >"$T/$d.yaml" || bad "deployments/$d: $k kustomize"
		node "$root/tests/deploy/validate-k8s.mjs" - "$T/$d.yaml" "$root/deployments/$d" --several ||
			bad "deployments/$d: checks ($k)"
	done
done

# The probes of the manifest exist in the generated system: build it, start it with the
# ConfigMap variable of the probe port set to a free port (every other port variable too), and
# require 200 from the liveness and readiness paths there; then SIGTERM and exit 0.
probe_native() {
	local sys=$1 nm=$2 pp="" pid envs=() v p path ok rc f
	eval "$(node "$root/tests/deploy/system-info.mjs" "$sys")"
	[ -n "$PROBE_ENV" ] || { bad "$nm: no ConfigMap variable sets the probe port $PROBE_PORT"; return 0; }
	env -u MAKEFLAGS -u MAKELEVEL make -C "$sys" >"$T/make-$nm.log" 2>&1 ||
		{ bad "$nm: make failed: $(tail -n 3 "$T/make-$nm.log")"; return 0; }
	for f in $INPUT_FILES; do mkdir -p "$sys/$(dirname "$f")"; : >"$sys/$f"; done
	for v in $PORT_ENVS; do
		p=$(dk_free_port)
		envs+=("$v=$p")
		if [ "$v" = "$PROBE_ENV" ]; then pp=$p; fi
	done
	[ -n "$pp" ] || { bad "$nm: probe variable $PROBE_ENV is not one of the system's ports"; return 0; }
	(cd "$sys" && exec env "${envs[@]}" "./$NAME") >"$T/run-$nm.log" 2>&1 &
	pid=$!
	for path in "$LIVENESS_PATH" "$READINESS_PATH"; do
		ok=0
		for _ in $(seq 1 150); do
			if curl -sf -o /dev/null -m 1 "http://127.0.0.1:$pp$path"; then ok=1; break; fi
			sleep 0.1
		done
		[ $ok = 1 ] || bad "$nm: GET $path on $PROBE_ENV=$pp never answered 200 ($(tail -n 2 "$T/run-$nm.log"))"
	done
	kill -TERM "$pid"
	rc=0; wait "$pid" || rc=$?
	[ $rc = 0 ] || bad "$nm: exit status $rc after SIGTERM"
	[ $ok = 1 ] && echo "probes: $nm answers $LIVENESS_PATH and $READINESS_PATH on $PROBE_ENV"
	return 0
}

n=0
for fx in "$root"/tests/golden/deploy/*.json; do
	nm=$(basename "$fx" .json)
	check_target "golden-$nm" "$root/tests/golden/deploy/$nm" "$fx"
	n=$((n + 1))
done

# Example blueprints, generated by the real generator.
if ls "$root"/data/blueprints/*.yaml >/dev/null 2>&1; then
	for bp in "$root"/data/blueprints/*.yaml; do
		nm=$(basename "$bp" .yaml)
		sys="$T/systems/$nm"
		if ! "$AUTOCODER" generate "$bp" -o "$sys" >"$T/gen-$nm.log" 2>&1; then
			bad "$nm: autocoder generate failed: $(tail -n 3 "$T/gen-$nm.log")"
			continue
		fi
		[ -d "$sys/deployments" ] || { bad "$nm: autocoder generate wrote no deployments/"; continue; }
		check_target "$nm" "$sys" "$sys/blueprint.yaml"
		probe_native "$sys" "$nm"
		n=$((n + 1))
	done
else
	echo "note: no data/blueprints/*.yaml in this tree; validated the golden systems only"
fi
[ "$n" -gt 0 ] || bad "nothing validated"
[ $fail = 0 ] && echo "t80: $n systems validated"
exit $fail

#!/bin/bash
# bench-deploy.sh — deployment figures for docs/BENCHMARKS.md (`make bench-deploy`).
#
# For every example blueprint that runs on its own (no input file to mount): generate it, then
#   - cold build: `docker build --no-cache` of deployments/Dockerfile (apt downloads included);
#   - warm build: the same after a one-line change to the system's README (the apt layers are
#     cached, the COPY and the compilation run again);
#   - the runtime image size;
#   - time from `docker run` to the first 200 from /health polled from the host every 20 ms,
#     and to Docker's health status "healthy" (HEALTHCHECK every 3 s, so it is the next probe
#     after the first success); median of 3 runs, under the CPU/memory limits of the system's
#     Kubernetes manifest, host networking, free ports;
#   - idle memory (`docker stats --no-stream`, 5 s after healthy) next to the manifest's limit.
# Plus the collector image (root Dockerfile). Prints a Markdown table on stdout.
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
. "$root/tests/deploy/docker-lib.sh"
AUTOCODER=${AUTOCODER:-$root/build/autocoder}
T=$(mktemp -d /tmp/ac-bench-deploy.XXXXXX)
containers=""
cleanup() {
	for c in $containers; do "$DOCKER" rm -f -v "$c" >/dev/null 2>&1 || true; done
	dk_stop
	rm -rf "$T"
}
dk_node_modules "$root/tests/deploy"
dk_start || { echo "the Docker engine cannot start here" >&2; exit 1; }
trap cleanup EXIT
dk_base_image

secs() { awk "BEGIN{printf \"%.1f\", $2 - $1}"; }
mib() { awk "BEGIN{printf \"%.1f\", $1 / 1048576}"; }

start=$(dk_now)
"$DOCKER" build --no-cache --network host -t autocoder:bench "$root" >"$T/collector.log" 2>&1
coll_cold=$(secs "$start" "$(dk_now)")
coll_size=$(mib "$("$DOCKER" image inspect -f '{{.Size}}' autocoder:bench)")

echo "| system | runtime image | cold build | warm build | run → /health 200 | run → healthy | idle memory | manifest memory limit |"
echo "|---|---|---|---|---|---|---|---|"
echo "| collector (root Dockerfile) | ${coll_size} MiB | ${coll_cold} s | | | | | 1Gi (deployments/k8s) |"
for bp in "$root"/data/blueprints/*.yaml; do
	nm=$(basename "$bp" .yaml)
	dir="$T/$nm"
	"$AUTOCODER" generate "$bp" -o "$dir" >/dev/null
	eval "$(node "$root/tests/deploy/system-info.mjs" "$dir")"
	[ "$NEEDS_INPUT" = 0 ] || continue
	start=$(dk_now)
	"$DOCKER" build --no-cache --network host -f "$dir/deployments/Dockerfile" -t "$IMAGE" "$dir" >"$T/b.log" 2>&1
	cold=$(secs "$start" "$(dk_now)")
	echo "<!-- bench edit -->" >>"$dir/README.md"
	start=$(dk_now)
	"$DOCKER" build --network host -f "$dir/deployments/Dockerfile" -t "$IMAGE" "$dir" >"$T/b.log" 2>&1
	warm=$(secs "$start" "$(dk_now)")
	size=$(mib "$("$DOCKER" image inspect -f '{{.Size}}' "$IMAGE")")
	times="" firsts=""
	for i in 1 2 3; do
		envs=""
		for v in $PORT_ENVS; do
			p=$(dk_free_port)
			envs="$envs -e $v=$p"
			if [ "$v" = "$HEALTH_ENV" ]; then hp=$p; fi
		done
		c="bench-$nm-$i"
		containers="$containers $c"
		start=$(dk_now)
		# shellcheck disable=SC2086
		"$DOCKER" run -d --name "$c" --network host --memory "${MEM_LIMIT_MI}m" --cpus "$CPU_LIMIT" \
			$envs "$IMAGE" >/dev/null
		n=0
		until curl -sf -o /dev/null -m 1 "http://127.0.0.1:$hp/health"; do
			n=$((n + 1)); [ $n -lt 3000 ] || { echo "$nm: /health never answered" >&2; exit 1; }
			sleep 0.02
		done
		firsts="$firsts $(secs "$start" "$(dk_now)")"
		dk_wait_healthy "$c" 90 >/dev/null
		times="$times $(secs "$start" "$(dk_now)")"
		if [ $i = 3 ]; then
			sleep 5
			idle=$("$DOCKER" stats --no-stream --format '{{.MemUsage}}' "$c" | awk -F' / ' '{print $1}')
		fi
		"$DOCKER" rm -f -v "$c" >/dev/null
	done
	median=$(echo "$times" | tr ' ' '\n' | grep . | sort -n | sed -n 2p)
	first=$(echo "$firsts" | tr ' ' '\n' | grep . | sort -n | sed -n 2p)
	echo "| $nm | ${size} MiB | ${cold} s | ${warm} s | ${first} s | ${median} s | ${idle} | ${MEM_LIMIT_MI}Mi |"
done

#!/bin/sh
# t77 — `autocoder bench --container` on the todo API, in a real container of a private Docker
# engine (tests/deploy/docker-lib.sh, the engine t85 uses, host networking, loopback only):
#   1. the image is built from the system's deployments/Dockerfile and run under the CPU and
#      memory limits of its Kubernetes manifest: the run reports those limits, the cgroup's own
#      memory limit equals the manifest's (Docker applied it), the figures are sane (throughput
#      > 0, percentiles ordered, no errors, CPU attributed to the component threads inside the
#      container), the memory peak is below the limit, no OOM kills, "fits its limits";
#   2. a profile with a tenth of a CPU: the cgroup reports throttled CPU periods;
#   3. a profile with a 6 MiB memory limit (Docker's minimum): the container is OOM-killed and
#      the run fails (exit 1) with a message saying so and naming the limit and the manifest.
# Skipped (exit 77 with the reason; under CI=true the runner fails a skip) only when the
# Docker engine cannot start on this machine. Timing assertions: none.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/gen-lib.sh"
. "$ROOT/tests/deploy/docker-lib.sh"

# the binary under test first: without it nothing below proves anything
"$AUTOCODER" version >/dev/null || fail "$AUTOCODER version failed"
"$AUTOCODER" generate -q "$BLUEPRINTS/todo_api.yaml" -o "$TMPDIR_TEST/todo" || fail "generate"
if ! dk_start; then
	echo "SKIP: the Docker engine cannot start on this machine (see $DK_DIR/dockerd.log)"
	exit 77
fi
t77_exit() {
	rc=$?
	# bench containers left by an interrupted run (the engine is ours while we hold its lock)
	for c in $("$DOCKER" ps -aq --filter name=autocoder-bench- 2>/dev/null); do
		"$DOCKER" rm -f -v "$c" >/dev/null 2>&1
	done
	dk_stop
	(exit "$rc")
	cleanup
}
trap t77_exit EXIT
dk_base_image || fail "cannot make debian:bookworm-slim with debootstrap"
export AUTOCODER_DOCKER="$DOCKER"

# --- 1. under the manifest's limits ------------------------------------------------------------
manifest=$TMPDIR_TEST/todo/deployments/k8s/statefulset.yaml
[ -f "$manifest" ] || manifest=$TMPDIR_TEST/todo/deployments/k8s/deployment.yaml
st=0
"$AUTOCODER" bench "$TMPDIR_TEST/todo" --container -c 1,8 -d 2 --warmup 0.5 --json \
	>"$TMPDIR_TEST/run.json" 2>"$TMPDIR_TEST/run.err" || st=$?
[ "$st" = 0 ] || { cat "$TMPDIR_TEST/run.err"; tail -n 20 "$TMPDIR_TEST/todo/bench-image.log" 2>/dev/null; fail "bench --container exited $st"; }
python3 - "$TMPDIR_TEST/run.json" "$manifest" <<'PY' || fail "container run figures"
import json, re, sys
d = json.load(open(sys.argv[1]))
m = open(sys.argv[2]).read()
lim = re.search(r"limits:\s*\n\s*cpu:\s*(\S+)\s*\n\s*memory:\s*(\d+)Mi", m)
image = re.search(r"image:\s*(\S+)", m).group(1)
cpu = lim.group(1)
cpus = float(cpu[:-1]) / 1000 if cpu.endswith("m") else float(cpu)
mem = int(lim.group(2))
c = d["container"]
assert c["image"] == image, (c["image"], image)
assert abs(c["cpus"] - cpus) < 1e-6 and c["memory_limit_mi"] == mem, (c, cpus, mem)
assert c["limits_from"] == sys.argv[2], c["limits_from"]
steps = d["steps"]
assert [s["concurrency"] for s in steps] == [1, 8], steps
for s in steps:
    assert s["throughput"] > 0 and s["errors"] == 0, s
    assert 0 < s["p50_ms"] <= s["p90_ms"] <= s["p99_ms"] <= s["p999_ms"] <= s["max_ms"] * 1.02, s
    cpu_t = s["cpu_seconds"]
    # the threads of the process inside the container, named after the components
    assert cpu_t.get("api-http", 0) > 0 and cpu_t.get("store", 0) > 0, cpu_t
    k = s["container"]
    assert k["cgroup_version"] in (1, 2), k
    # Docker applied the manifest's memory limit to the cgroup
    assert abs(k["memory_limit_mi"] - mem) < 0.01, (k["memory_limit_mi"], mem)
    assert k["cpu_periods"] > 0, k          # a CPU quota is in force
    assert 0 <= k["cpu_throttled_fraction"] <= 1, k
    assert 0 < k["memory_peak_mi"] < mem and k["oom_kills"] == 0, k
    # the process is part of the cgroup's memory
    assert s["rss_peak_kb"] / 1024 <= k["memory_peak_mi"] * 1.05, (s["rss_peak_kb"], k)
assert c["fits"] is True and c["oom_kills"] == 0 and 0 < c["memory_peak_fraction"] < 1, c
print("container ok: %s, %.0f and %.0f req/s, memory peak %.1f of %d MiB" %
      (image, steps[0]["throughput"], steps[1]["throughput"], c["memory_peak_mi"], mem))
PY
# the table says it too
"$AUTOCODER" bench "$TMPDIR_TEST/todo" --container -c 4 -d 1 --warmup 0.2 >"$TMPDIR_TEST/table.txt" ||
	fail "bench --container (table) exited $?"
grep -Eq '^container: memory peak [0-9.]+ MiB .*OOM kills 0: fits its limits' "$TMPDIR_TEST/table.txt" ||
	{ cat "$TMPDIR_TEST/table.txt"; fail "no container line in the table"; }

# --- 2 and 3: measured profiles that are too small ----------------------------------------------
profile() { # CPU_LIMIT_M MEM_LIMIT_MI FILE
	printf '{"kind": "autocoder-resource-profile", "system": "todo_api", "cpu_request_m": %s, "cpu_limit_m": %s, "mem_request_mi": %s, "mem_limit_mi": %s, "hpa_cpu_target": 70, "source": "t77"}\n' \
		"$1" "$1" "$2" "$2" >"$3"
}
profile 100 256 "$TMPDIR_TEST/slowcpu.json"
"$AUTOCODER" generate -q "$BLUEPRINTS/todo_api.yaml" -o "$TMPDIR_TEST/slowcpu" --profile "$TMPDIR_TEST/slowcpu.json" ||
	fail "generate --profile (CPU)"
"$AUTOCODER" bench "$TMPDIR_TEST/slowcpu" --container -c 8 -d 2 --warmup 0.5 --json >"$TMPDIR_TEST/slow.json" ||
	fail "bench --container at 0.1 CPU exited $?"
python3 - "$TMPDIR_TEST/slow.json" <<'PY' || fail "throttling at 0.1 CPU"
import json, sys
d = json.load(open(sys.argv[1]))
assert abs(d["container"]["cpus"] - 0.1) < 1e-9, d["container"]
k = d["steps"][0]["container"]
assert k["cpu_throttled_periods"] > 0 and k["cpu_throttled_s"] > 0, k
# the process cannot use more than its quota (wide margin for accounting granularity)
assert d["steps"][0]["cpu_cores"] < 0.3, d["steps"][0]["cpu_cores"]
print("throttled in %.0f %% of periods at 0.1 CPU" % (100 * k["cpu_throttled_fraction"]))
PY

profile 500 6 "$TMPDIR_TEST/tiny.json"
"$AUTOCODER" generate -q "$BLUEPRINTS/todo_api.yaml" -o "$TMPDIR_TEST/tiny" --profile "$TMPDIR_TEST/tiny.json" ||
	fail "generate --profile (memory)"
grep -q 'memory: 6Mi' "$TMPDIR_TEST/tiny/deployments/k8s/"*set*.yaml "$TMPDIR_TEST/tiny/deployments/k8s/deployment.yaml" 2>/dev/null ||
	fail "the tiny profile is not in the manifest"
st=0
"$AUTOCODER" bench "$TMPDIR_TEST/tiny" --container -c 64 --mix write -d 3 --warmup 0.5 \
	>"$TMPDIR_TEST/tiny.out" 2>"$TMPDIR_TEST/tiny.err" || st=$?
cat "$TMPDIR_TEST/tiny.err"
[ "$st" = 1 ] || fail "a 6 MiB limit: exit $st, wanted 1"
grep -q 'OOM-killed' "$TMPDIR_TEST/tiny.err" || fail "no OOM-killed in the message"
grep -q 'memory limit 6 MiB' "$TMPDIR_TEST/tiny.err" || fail "the message does not name the limit"
grep -q 'deployments/k8s/' "$TMPDIR_TEST/tiny.err" || fail "the message does not name the manifest"
[ -z "$("$DOCKER" ps -aq --filter name=autocoder-bench-)" ] || fail "bench containers left behind"
echo "t77 ok"

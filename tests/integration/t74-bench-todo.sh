#!/bin/sh
# t74 — `autocoder bench` on the todo API: sane figures (throughput > 0, percentiles ordered,
# no errors, CPU attributed to threads named after components), JSON + SVG written, the run
# stored; a build slowed by AUTOCODER_SLOW_* fails the regression gate against a baseline of
# the normal build; an SLO it cannot meet exits 1 naming the figure and the criterion;
# `--size` writes a profile that changes the manifests `generate --profile` emits.
# Timing assertions are ratios with wide margins only (the machine is shared).
. "$(dirname "$0")/gen-lib.sh"

db=$TMPDIR_TEST/bench.db
# a blueprint with an SLO any run meets, so there is a sizing point
{ cat "$BLUEPRINTS/todo_api.yaml"; printf 'policy:\n  slos:\n    p99_latency_ms: 60000\n    availability_percentage: 99\n'; } \
	>"$TMPDIR_TEST/todo_slo.yaml"
dir=$(gen_build "$TMPDIR_TEST/todo_slo.yaml" todo)

# 1. a sweep, stored as the baseline (3 repeats for the gate's medians), sized
"$AUTOCODER" bench "$dir" -c 1,8 -d 1 --warmup 0.3 --repeat 3 --db "$db" --save-baseline base \
	--size "$TMPDIR_TEST/profile.json" --json >"$TMPDIR_TEST/run1.json" || fail "bench (baseline) exited $?"
python3 - "$TMPDIR_TEST/run1.json" <<'PY' || fail "figures of the baseline run"
import json, os, sys
d = json.load(open(sys.argv[1]))
assert d["system"] == "todo_api" and d["kind"] == "http", d["kind"]
steps = d["steps"]
assert [s["concurrency"] for s in steps] == [1, 8], steps
for s in steps:
    assert s["throughput"] > 0 and s["requests"] > 0, s
    assert s["errors"] == 0, s["status"]
    assert 0 < s["p50_ms"] <= s["p90_ms"] <= s["p99_ms"] <= s["p999_ms"] <= s["max_ms"] * 1.02, s
    cpu = s["cpu_seconds"]
    # GETs are answered in the endpoint's HTTP threads, POSTs travel controller -> store
    assert cpu.get("api-http", 0) > 0, cpu
    assert cpu.get("store", 0) > 0, cpu
    assert s["rss_peak_kb"] > 0
    assert set(s["status"]) <= {"200", "201"}, s["status"]
assert len(d["headline_throughputs"]) == 3 and min(d["headline_throughputs"]) > 0
assert d["passed"] is True and d["sizing_step"] is not None
assert [c["verdict"] for c in d["criteria"]] == ["pass", "pass"], d["criteria"]
assert os.path.getsize(d["svg"]) > 500 and open(d["svg"]).read().startswith("<svg")
assert json.load(open(d["json"]))["run_id"] == d["run_id"]
p = json.load(open(os.environ["TMPDIR_TEST"] + "/profile.json"))
assert p["kind"] == "autocoder-resource-profile" and p["cpu_request_m"] > 0 and p["mem_request_mi"] > 0
print("baseline ok:", d["headline_throughputs"])
PY
[ "$(sqlite3 "$db" "SELECT count(*) FROM bench_runs WHERE baseline = 'base'")" = 1 ] || fail "baseline row"

# 2. the same build again: not a regression at a generous threshold (it may be inconclusive)
st=0
"$AUTOCODER" bench "$dir" -c 1,8 -d 1 --warmup 0.3 --repeat 3 --db "$db" --baseline base \
	--threshold 0.7 --json >"$TMPDIR_TEST/run2.json" || st=$?
[ "$st" = 0 ] || [ "$st" = 3 ] || fail "unchanged build: exit $st"
json 'd["gate"]["verdict"]' <"$TMPDIR_TEST/run2.json" | grep -Eq '^(ok|inconclusive)$' || fail "unchanged build judged a regression"

# 3. the deliberately slowed build: 5 ms per request in the endpoint (2 HTTP threads, so at
# most ~400 requests/s, a fraction of any normal run) fails the gate
st=0
AUTOCODER_SLOW_COMPONENT=api AUTOCODER_SLOW_US=5000 "$AUTOCODER" bench "$dir" -c 1,8 -d 1 \
	--warmup 0.3 --repeat 3 --db "$db" --baseline base >"$TMPDIR_TEST/slow.txt" || st=$?
cat "$TMPDIR_TEST/slow.txt"
[ "$st" = 1 ] || fail "slowed build: exit $st, wanted 1"
grep -q "regression gate vs baseline 'base': regression" "$TMPDIR_TEST/slow.txt" || fail "no regression verdict"

# 4. an SLO nobody meets: exit 1, figure and criterion side by side
{ cat "$BLUEPRINTS/todo_api.yaml"; printf 'policy:\n  slos:\n    p99_latency_ms: 0.0001\n'; } >"$TMPDIR_TEST/todo_strict.yaml"
st=0
"$AUTOCODER" bench "$TMPDIR_TEST/todo_strict.yaml" --workdir "$TMPDIR_TEST/strict" -c 4 -d 1 \
	--warmup 0.2 >"$TMPDIR_TEST/strict.txt" 2>&1 || st=$?
cat "$TMPDIR_TEST/strict.txt"
[ "$st" = 1 ] || fail "unmeetable SLO: exit $st, wanted 1"
grep -Eq '^FAIL +policy\.slos\.p99_latency_ms +<= 0\.0001 +got [0-9.]+' "$TMPDIR_TEST/strict.txt" ||
	fail "no FAIL line with criterion and figure"
# and --size has nothing to size then: a clear error, exit 1
st=0
"$AUTOCODER" bench "$TMPDIR_TEST/strict" -c 4 -d 0.5 --warmup 0.1 --size "$TMPDIR_TEST/none.json" \
	>/dev/null 2>"$TMPDIR_TEST/nosize.err" || st=$?
[ "$st" = 1 ] && grep -q "no step held the SLO" "$TMPDIR_TEST/nosize.err" || fail "--size without a sizing point"
[ ! -e "$TMPDIR_TEST/none.json" ] || fail "profile written without a sizing point"

# 5. --size changes the manifests (and says where the numbers came from)
"$AUTOCODER" generate -q "$TMPDIR_TEST/todo_slo.yaml" -o "$TMPDIR_TEST/plain" || fail "generate"
"$AUTOCODER" generate -q "$TMPDIR_TEST/todo_slo.yaml" -o "$TMPDIR_TEST/sized" --profile "$TMPDIR_TEST/profile.json" ||
	fail "generate --profile"
! cmp -s "$TMPDIR_TEST/plain/deployments/k8s/statefulset.yaml" "$TMPDIR_TEST/sized/deployments/k8s/statefulset.yaml" ||
	fail "the profile did not change the manifest"
cpu=$(json 'd["cpu_request_m"]' <"$TMPDIR_TEST/profile.json")
grep -q "cpu: ${cpu}m" "$TMPDIR_TEST/sized/deployments/k8s/statefulset.yaml" || fail "measured CPU request not in the manifest"
grep -q "# Measured: autocoder bench run [0-9][0-9]* of todo_api on " "$TMPDIR_TEST/sized/deployments/k8s/statefulset.yaml" ||
	fail "no provenance comment in the manifest"
grep -q "measured: autocoder bench run" "$TMPDIR_TEST/sized/deployments/docker-compose.yml" || fail "no provenance in compose"
# the profile travels in the system's blueprint.yaml: regenerating from it keeps the sizing
"$AUTOCODER" validate "$TMPDIR_TEST/sized/blueprint.yaml" 2>"$TMPDIR_TEST/v.err" || fail "validate sized blueprint"
! grep -q bench_profile "$TMPDIR_TEST/v.err" || fail "bench_profile reported as ignored"
"$AUTOCODER" generate -q "$TMPDIR_TEST/sized/blueprint.yaml" -o "$TMPDIR_TEST/again" || fail "regenerate"
cmp -s "$TMPDIR_TEST/sized/deployments/k8s/statefulset.yaml" "$TMPDIR_TEST/again/deployments/k8s/statefulset.yaml" ||
	fail "regenerating from blueprint.yaml lost the measured sizing"
echo '{"kind":"something else"}' >"$TMPDIR_TEST/bad.json"
st=0
"$AUTOCODER" generate -q "$TMPDIR_TEST/todo_slo.yaml" -o "$TMPDIR_TEST/bad" --profile "$TMPDIR_TEST/bad.json" 2>"$TMPDIR_TEST/bad.err" || st=$?
[ "$st" = 1 ] && grep -q "not a resource profile" "$TMPDIR_TEST/bad.err" || fail "bad profile accepted"
echo "t74 ok"

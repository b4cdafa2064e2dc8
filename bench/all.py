#!/usr/bin/env python3
"""all.py — `make bench-all`: every `make bench-*` in sequence, then one summary table.

Each benchmark runs as `make --no-print-directory bench-X` (its output is shown and kept in
build/bench-all/bench-X.log); the table gives, per benchmark, its exit status, wall time, the
CPU time (user + system) of everything it ran, the 1-minute load average when it started, and
its headline figures (the lines its output marks as results). The header gives the commit, the
date and the CPU model. Nothing tracked is rewritten (WRITE=1 is not passed on; bench-generated
writes docs/BENCHMARKS.md only with WRITE=1).

Environment: BENCHES (space-separated list; default all below), BUILD (make's build dir).
"""
import os
import re
import resource
import subprocess
import sys
import time

BENCHES = ["bench-blueprint", "bench-rules", "bench-analyzer", "bench-online", "bench-ingest", "bench-ingest-pg",
           "bench-generated", "bench-deploy"]
# lines worth repeating in the summary (each benchmark prints its figures in its own words)
HEADLINE = re.compile(r"(msg/s|req/s|events/s|messages/s|lines/s|µs|ms\b|GA|MB|speed-?up|"
                      r"p50|p99|MISSED|met\b|FAIL|SKIP)", re.I)


def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True).stdout.strip()
    except OSError:
        return "?"


def cpu_model():
    for ln in open("/proc/cpuinfo"):
        if ln.startswith("model name"):
            return ln.split(":", 1)[1].strip()
    return "?"


def run(target, logdir):
    load = open("/proc/loadavg").read().split()[0]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    env = dict(os.environ)
    env.pop("WRITE", None)
    log = os.path.join(logdir, target + ".log")
    with open(log, "w") as f:
        p = subprocess.Popen(["make", "--no-print-directory", target], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True, env=env)
        lines = []
        for ln in p.stdout:
            sys.stdout.write(ln)
            f.write(ln)
            lines.append(ln.rstrip("\n"))
        rc = p.wait()
    wall = time.monotonic() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    heads = [l.strip() for l in lines if HEADLINE.search(l) and not l.startswith(("cc ", "clang ", "|"))
             and len(l) < 220]
    return rc, wall, cpu, load, heads[-4:], log


def main():
    benches = os.environ.get("BENCHES", " ".join(BENCHES)).split()
    logdir = os.path.join(os.environ.get("BUILD", "build"), "bench-all")
    os.makedirs(logdir, exist_ok=True)
    commit = sh("git rev-parse --short HEAD") + ("" if sh("git status --porcelain -uno") == ""
                                                  else " (with uncommitted changes)")
    results = []
    for b in benches:
        print("==== %s" % b, flush=True)
        results.append((b,) + run(b, logdir))
    print()
    print("## bench-all summary")
    print("commit %s, %s, %d cores (%s)" % (commit, time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                                          os.cpu_count(), cpu_model()))
    print()
    print("| benchmark | status | wall | CPU (user+sys) | load avg at start | headline figures |")
    print("|---|---|---|---|---|---|")
    bad = 0
    for b, rc, wall, cpu, load, heads, log in results:
        bad += rc != 0
        status = "ok" if rc == 0 else "FAILED (exit %d, %s)" % (rc, log)
        print("| %s | %s | %.0f s | %.0f s | %s | %s |" % (b, status, wall, cpu, load,
                                                         "<br>".join(heads) or "(see log)"))
    print()
    print("logs: %s/; figures are noisy on a shared machine: compare CPU time per unit of work" % logdir)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

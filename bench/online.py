#!/usr/bin/env python3
"""online.py — online clustering speed of `autocoder serve --rules DIR` (make bench-online).

Two measurements against a real server on 127.0.0.1 with a fresh database:

1. Latency at a fixed rate: a sender posts RATE events/s (batches of BATCH events per request,
   paced on a fixed schedule) for SECONDS; it records when each batch was acknowledged (200).
   A watcher polls the database every 5 ms for events that got a cluster_id and records when it
   first saw each one. Latency = first seen clustered - acknowledged (the poll adds <= 5 ms).
   Reports p50/p95/p99/max and the share clustered within 2 s.
2. Throughput: the same server's analyzer is stopped from mattering by clustering offline:
   `autocoder analyze --rebuild` re-clusters every stored event; events / CPU second and / wall
   second of that process.

Events are lines of the loghub development set (data/loghub or $LOGHUB) as messages with
systems/components/levels, plus one crash report in 50 with one of 8 crash sites.
Usage: python3 bench/online.py [--rate 1000] [--seconds 20] [--batch 20]
"""
import argparse, json, os, random, resource, sqlite3, subprocess, sys, tempfile, threading, time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "build", "autocoder")


def loghub_lines():
    base = os.environ.get("LOGHUB") or os.path.join(ROOT, "data", "loghub")
    lines = []
    if base:
        for name in ("HDFS_2k.log", "Hadoop_2k.log", "Zookeeper_2k.log", "OpenSSH_2k.log"):
            p = os.path.join(base, name)
            if os.path.exists(p):
                with open(p, errors="replace") as f:
                    lines += [l.rstrip("\n") for l in f if l.strip()]
    if not lines:
        lines = [f"request {i} failed after {i % 97}ms for user u{i % 13}" for i in range(8000)]
    return lines


def make_events(n, seed=1):
    rnd = random.Random(seed)
    lines = loghub_lines()
    sites = ["parse_header", "parse_body", "route", "enqueue", "flush", "decode", "accept", "resolve"]
    out = []
    for i in range(n):
        if i % 50 == 0:
            out.append({"kind": "crash", "level": "fatal", "system": "edge", "component": "parser",
                        "exception": {"type": "SIGSEGV", "value": f"SIGSEGV at 0x{rnd.randrange(1 << 32):x}",
                                      "frames": [{"function": "main", "in_app": True},
                                                 {"function": rnd.choice(sites), "file": "src/x.c",
                                                  "line": rnd.randrange(1, 500), "in_app": True}]}})
        else:
            out.append({"message": lines[i % len(lines)], "level": rnd.choice(["info", "warning", "error"]),
                        "system": rnd.choice(["api", "web", "worker", "db"]),
                        "component": rnd.choice(["http", "pool", "cache"])})
    for i, e in enumerate(out):
        e["event_id"] = f"bench{i:08d}"
    return out


def post(base, token, body):
    req = urllib.request.Request(base + "/api/v1/events", data=body, method="POST",
                                 headers={"Authorization": "Bearer " + token,
                                          "Content-Type": "application/x-ndjson"})
    with urllib.request.urlopen(req, timeout=30) as r:
        r.read()
        return r.status


def start_server(tmp, rules):
    db = os.path.join(tmp, "bench.db")
    port_file = os.path.join(tmp, "port")
    out = subprocess.run([BIN, "keys", "create", "bench", "--db", db, "--json"], check=True,
                         capture_output=True, text=True).stdout
    token = json.loads(out)["token"]
    log = open(os.path.join(tmp, "server.log"), "w")
    proc = subprocess.Popen([BIN, "serve", "--listen", "127.0.0.1:0", "--db", db, "--port-file", port_file,
                             "--rules", rules, "--log-level", "warn"], stderr=log)
    for _ in range(200):
        if os.path.exists(port_file) and open(port_file).read().strip():
            break
        time.sleep(0.05)
    port = int(open(port_file).read())
    return proc, db, token, f"http://127.0.0.1:{port}"


def latency_run(base, token, db, events, rate, batch):
    acked = {}          # batch index -> ack time
    seen = {}           # event row order -> first time seen clustered
    stop = threading.Event()
    nbatches = len(events) // batch

    def watcher():
        conn = sqlite3.connect(db, timeout=10)
        last = 0
        while not stop.is_set() or len(seen) < nbatches * batch:
            rows = conn.execute("SELECT id, event_id FROM events WHERE cluster_id IS NOT NULL AND id > ?"
                                " ORDER BY id", (last,)).fetchall()
            now = time.monotonic()
            for rid, eid in rows:
                seen.setdefault(eid, now)
                last = max(last, rid)
            if stop.is_set() and time.monotonic() > stop_time[0] + 30:
                break
            time.sleep(0.005)
        conn.close()

    stop_time = [0.0]
    w = threading.Thread(target=watcher)
    w.start()
    t0 = time.monotonic()
    bodies = ["\n".join(json.dumps(e) for e in events[i * batch:(i + 1) * batch]).encode() for i in range(nbatches)]
    for i, body in enumerate(bodies):
        due = t0 + i * batch / rate
        d = due - time.monotonic()
        if d > 0:
            time.sleep(d)
        if post(base, token, body) != 200:
            raise SystemExit("post failed")
        acked[i] = time.monotonic()
    send_secs = time.monotonic() - t0
    stop_time[0] = time.monotonic()
    stop.set()
    w.join()
    lat = []
    for i in range(nbatches):
        for e in events[i * batch:(i + 1) * batch]:
            if e["event_id"] in seen:
                lat.append(seen[e["event_id"]] - acked[i])
    lat.sort()
    missing = nbatches * batch - len(lat)
    q = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))] * 1000
    return {"events": nbatches * batch, "send_seconds": round(send_secs, 2),
            "achieved_rate": round(nbatches * batch / send_secs), "p50_ms": round(q(0.50), 1),
            "p95_ms": round(q(0.95), 1), "p99_ms": round(q(0.99), 1), "max_ms": round(lat[-1] * 1000, 1),
            "within_2s": round(sum(1 for x in lat if x <= 2.0) / (nbatches * batch), 4), "never_clustered": missing}


def throughput_run(db, rules):
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    out = subprocess.run([BIN, "analyze", "--db", db, "--rules", rules, "--rebuild"], check=True,
                         capture_output=True, text=True).stdout
    wall = time.monotonic() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    n = int(out.split()[1])
    return {"events": n, "wall_s": round(wall, 2), "cpu_s": round(cpu, 2),
            "events_per_wall_s": round(n / wall), "events_per_cpu_s": round(n / cpu),
            "peak_rss_mib": round(r1.ru_maxrss / 1024, 1)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rate", type=float, default=1000)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--batch", type=int, default=20)
    ap.add_argument("--rules", default=os.path.join(ROOT, "rules"))
    a = ap.parse_args()
    events = make_events(int(a.rate * a.seconds))
    with tempfile.TemporaryDirectory() as tmp:
        proc, db, token, base = start_server(tmp, a.rules)
        try:
            lat = latency_run(base, token, db, events, a.rate, a.batch)
        finally:
            proc.terminate()
            proc.wait()
        print("online, %d events/s for %.0f s:" % (a.rate, a.seconds), json.dumps(lat))
        thr = throughput_run(db, a.rules)
        print("re-clustering the same database (analyze --rebuild):", json.dumps(thr))
        clusters = sqlite3.connect(db).execute(
            "SELECT COUNT(*) FROM clusters WHERE merged_into IS NULL AND split=0").fetchone()[0]
        print("clusters:", clusters, " load average:", os.getloadavg())


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""ingest_load.py — concurrent native-event client for the collector's durability test (t22).

Several threads, each with its own keep-alive connection, POST events with unique event_ids
to /api/v1/events — single events and small JSON-array batches — until STOP_FILE exists.
Every event_id whose request got a 2xx is written to ACKED_FILE (one per line); ids whose
request failed without an answer (connection reset when the server was killed) go to
UNKNOWN_FILE. A progress file holds the running count of acknowledged ids so the test can
kill the server once real load is flowing. Exit status 1 if the server answered anything but
2xx, 429 or 503 (those are the only answers a healthy but loaded/stopping server may give).
With INGEST_LOAD_PROXY=1 (a load balancer in front of several collectors, t99), 502 and 504
are the balancer saying the collector it chose died or hung mid-request: no acknowledgement,
so those ids count as without an answer.

usage: ingest_load.py PORT TOKEN PREFIX ACKED_FILE UNKNOWN_FILE PROGRESS_FILE STOP_FILE [THREADS]
"""
import http.client
import json
import os
import sys
import threading
import time

port, token, prefix, acked_path, unknown_path, progress_path, stop_path = sys.argv[1:8]
threads_n = int(sys.argv[8]) if len(sys.argv) > 8 else 6
behind_proxy = os.environ.get("INGEST_LOAD_PROXY") == "1"
lock = threading.Lock()
acked, unknown, bad = [], [], []
filler = "x" * 700  # events of about 1 KB


def event(eid):
    return {"event_id": eid, "level": "error", "kind": "error", "system": "durability",
            "component": "load", "release": "1.0.0", "environment": "test",
            "message": "durability probe " + eid,
            "exception": {"type": "ProbeError", "value": "probe " + eid,
                          "frames": [{"function": "probe", "file": "load.py", "line": 1}]},
            "context": {"filler": filler}}


def worker(n):
    conn, seq = None, 0
    while not os.path.exists(stop_path):
        batch = 1 if n % 2 == 0 else 10  # even threads: single events; odd: arrays of 10
        ids = ["%s-%d-%d" % (prefix, n, seq + i) for i in range(batch)]
        seq += batch
        body = json.dumps(event(ids[0]) if batch == 1 else [event(i) for i in ids])
        try:
            if conn is None:
                conn = http.client.HTTPConnection("127.0.0.1", int(port), timeout=10)
            conn.request("POST", "/api/v1/events", body=body,
                         headers={"Authorization": "Bearer " + token,
                                  "Content-Type": "application/json"})
            resp = conn.getresponse()
            data = resp.read()
            status = resp.status
        except (OSError, http.client.HTTPException):
            with lock:
                unknown.extend(ids)
            if conn is not None:
                conn.close()
            conn = None
            time.sleep(0.02)
            continue
        with lock:
            if 200 <= status < 300:
                acked.extend(ids)
            elif behind_proxy and status in (502, 504):
                unknown.extend(ids)
            elif status not in (429, 503):
                bad.append("%d %s" % (status, data[:200]))
        if status in (429, 502, 503, 504):
            time.sleep(0.05)


def progress():
    while not os.path.exists(stop_path):
        with lock:
            n = len(acked)
        with open(progress_path + ".tmp", "w") as f:
            f.write("%d\n" % n)
        os.replace(progress_path + ".tmp", progress_path)
        time.sleep(0.05)


ts = [threading.Thread(target=worker, args=(i,)) for i in range(threads_n)]
ts.append(threading.Thread(target=progress))
for t in ts:
    t.start()
for t in ts:
    t.join()
with open(acked_path, "w") as f:
    f.write("".join(i + "\n" for i in acked))
with open(unknown_path, "w") as f:
    f.write("".join(i + "\n" for i in unknown))
print("client: %d acknowledged, %d without an answer, %d unexpected answers"
      % (len(acked), len(unknown), len(bad)))
for b in bad[:5]:
    print("unexpected answer:", b, file=sys.stderr)
sys.exit(1 if bad else 0)

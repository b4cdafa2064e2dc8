#!/usr/bin/env python3
"""gen.py — writes corpus.jsonl, the error-grouping corpus checked by tests/unit/check_grouping.c.

Each line is {"group": "<expected group>", "event": {...collector-normalised event...}}.
The events are invented in the shapes of real error reports (Python, Java, Node, Go, C
crashes): the same bug with different ids, paths, uuids, line numbers, bundle hashes, callers,
recursion depths and vendor frames must land in one group; different bugs (another crash
site, another word in the message) in another. Deterministic; run it to rewrite the file.
"""
import json, os, random

R = random.Random(7)
out = []

def ev(group, type_, value, frames, message=None, **extra):
    e = {"kind": "error", "level": "error", "exception": {"type": type_, "value": value,
         "frames": frames}}
    if message:
        e["message"] = message
    e.update(extra)
    out.append({"group": group, "event": e})

def fr(fn, file, line=None, in_app=True):
    return {"function": fn, "file": file, "line": line or R.randint(1, 900), "in_app": in_app}

def uuid():
    return "%08x-%04x-4%03x-a%03x-%012x" % (R.getrandbits(32), R.getrandbits(16),
                                           R.getrandbits(12), R.getrandbits(12), R.getrandbits(48))

# P1: Python KeyError in load_profile, reached from three different callers, ids vary
callers = [("handle_login", "app/views/auth.py"), ("sync_account", "app/jobs/sync.py"),
           ("render_settings", "app/views/settings.py")]
for i in range(6):
    c = callers[i % 3]
    ev("P1", "KeyError", "'user_%d'" % R.randint(100, 99999),
       [fr("_handle_request", "/usr/lib/python3/site-packages/flask/app.py", 1820, False),
        fr(c[0], c[1]), fr("load_profile", "app/models/profile.py")])
# P2: same function, another word in the message: another bug
for i in range(3):
    ev("P2", "ValueError", "token expired for session %s" % uuid(),
       [fr("handle_login", "app/views/auth.py"), fr("check_token", "app/auth/tokens.py")])
for i in range(3):
    ev("P3", "ValueError", "token revoked for session %s" % uuid(),
       [fr("handle_login", "app/views/auth.py"), fr("check_token", "app/auth/tokens.py")])
# J1: Java NPE, recursion at different depths, vendor frames around it
for depth in (1, 3, 7, 12):
    frames = [fr("java.lang.Thread.run", "Thread.java", 833, False),
              fr("org.springframework.web.servlet.FrameworkServlet.service", "FrameworkServlet.java", 897, False),
              fr("com.shop.api.CatalogController.get", "CatalogController.java")]
    frames += [fr("com.shop.tree.CategoryTree.walk", "CategoryTree.java", 41)] * depth
    frames += [fr("com.shop.tree.CategoryTree.label", "CategoryTree.java", 88)]
    ev("J1", "java.lang.NullPointerException", "Cannot invoke \"String.length()\" because \"name\" is null", frames)
# J2: mutual recursion (a cycle) at different depths, chained cause in the message
for depth in (1, 2, 5):
    frames = [fr("com.shop.Main.main", "Main.java", 10)]
    frames += [fr("com.shop.json.Parser.value", "Parser.java", 120), fr("com.shop.json.Parser.array", "Parser.java", 200)] * depth
    frames += [fr("com.shop.json.Parser.fail", "Parser.java", 300)]
    ev("J2", "com.shop.json.ParseException", "Unexpected token at offset %d" % R.randint(1, 5000), frames)
# N1: Node TypeError in a minified bundle whose hash changes per release
for h in ("3f9a2c1b", "77e01d9a", "a0b1c2d3"):
    ev("N1", "TypeError", "Cannot read properties of undefined (reading 'map')",
       [fr("processTicksAndRejections", "node:internal/process/task_queues", 96, False),
        fr("renderCart", "/srv/www/static/js/main.%s.chunk.js" % h, R.randint(1, 9)),
        fr("CartItems", "/srv/www/static/js/main.%s.chunk.js" % h, R.randint(1, 9))])
# N2: same site, another property read: a quoted name is a variable, so it joins N1? no:
# another crash site function
for i in range(2):
    ev("N2", "TypeError", "Cannot read properties of undefined (reading 'map')",
       [fr("renderCart", "/srv/www/static/js/main.3f9a2c1b.chunk.js", 1),
        fr("CartTotals", "/srv/www/static/js/main.3f9a2c1b.chunk.js", 2)])
# G1: Go panic with file paths and goroutine ids in the message
for i in range(4):
    ev("G1", "panic", "runtime error: index out of range [%d] with length %d" % (R.randint(3, 90), R.randint(0, 3)),
       [fr("main.main", "/home/ci/build-%d/cmd/api/main.go" % R.randint(1, 999)),
        fr("main.(*Server).handle", "/home/ci/build-%d/internal/server.go" % R.randint(1, 999)),
        fr("main.pickShard", "/home/ci/build-%d/internal/shard.go" % R.randint(1, 999))])
# C1: SIGSEGV in one function reached from different callers, addresses vary
for caller in ("handle_get", "handle_put", "replay_log", "handle_get"):
    addr = "0x%x" % R.getrandbits(44)
    ev("C1", "SIGSEGV", "invalid read at %s" % addr,
       [fr("__libc_start_main+0xf3", "", 0, False),
        fr("./kvd(main+0x1d) [%s]" % addr, "src/main.c"),
        fr("./kvd(%s+0x4a) [%s]" % (caller, addr), "src/%s.c" % caller),
        fr("./kvd(bucket_lookup+0x10) [%s]" % addr, "src/table.c")])
# C2: SIGSEGV elsewhere
for i in range(2):
    ev("C2", "SIGSEGV", "invalid read at 0x%x" % R.getrandbits(44),
       [fr("./kvd(main+0x1d) [0x55d0]", "src/main.c"), fr("./kvd(wal_append+0x22) [0x55d0]", "src/wal.c")])
# M1/M2: no frames: type + message; paths and uuids vary, a word differs between M1 and M2
for i in range(3):
    ev("M1", "OSError", "could not open %s: permission denied" % R.choice(["/var/lib/app/%s.db" % uuid(), "/tmp/x%d/cache" % i]), [])
for i in range(3):
    ev("M2", "OSError", "could not open %s: disk full" % ("/var/lib/app/%s.db" % uuid()), [])

path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus.jsonl")
with open(path, "w") as f:
    for o in out:
        f.write(json.dumps(o, sort_keys=True) + "\n")

#!/bin/sh
# t73 — direct reads of the todo API (APIEndpoint config direct_reads, default true): a GET is
# answered from the store by the HTTP thread instead of travelling api -> controller -> store
# -> api. What a client sees must not change:
#   - the same script of requests (CRUD, 404s, odd ids, list paging with odd query strings, a
#     GET with a bad body; documents whose stored text is sent as it is and documents with
#     reals, non-ASCII or control characters that are parsed and serialised again) gives
#     byte-identical statuses, Content-Types and bodies, and the
#     same message counters, latency observations and HTTP counters, with direct reads on and
#     with API_DIRECT_READS=false (every request through the components);
#   - read-your-writes: a GET on another connection right after a write's reply sees it;
#   - readers on several connections never see a document go back in time while it is
#     updated, and all see the last update once the writer is done;
#   - direct reads are off when AUTOCODER_CRASH_AFTER names one of the three components.
. "$(dirname "$0")/gen-lib.sh"

dir=$(gen_build "$BLUEPRINTS/todo_api.yaml" todo)

cat >"$TMPDIR_TEST/script.py" <<'PY'
import http.client, json, sys, threading, time

port = int(sys.argv[1])
out = []

def conn():
    return http.client.HTTPConnection("127.0.0.1", port, timeout=10)

def req(c, method, path, body=None):
    return req3(c, method, path, body)[::2]

def req3(c, method, path, body=None):
    c.request(method, path, body=body, headers={"Content-Type": "application/json"} if body is not None else {})
    r = c.getresponse()
    data = r.read()
    return r.status, r.getheader("Content-Type"), data

w, rd = conn(), conn()   # writes on one keep-alive connection, reads on another

def rec(c, method, path, body=None):
    st, ct, data = req3(c, method, path, body)
    out.append("%s %s -> %d %s %s" % (method, path, st, ct, data.decode("utf-8", "replace")))
    return st, data

# CRUD and errors; explicit ids keep the transcript deterministic
rec(w, "POST", "/todos", json.dumps({"id": "t1", "title": "one \u00e9 \"q\" /", "done": False,
                                     "n": 1.5, "big": 12345678901234, "f": 0.1, "nested": {"a": [1, None, True]}}))
rec(rd, "GET", "/todos/t1")
rec(w, "PUT", "/todos/t1", json.dumps({"done": True, "f": 2.0000000000000004}))
rec(rd, "GET", "/todos/t1")
# stored text that is sent as it is (ASCII, escapes, integers) and text that is not (a real,
# a \u escape that jansson writes as UTF-8, a key given twice)
rec(w, "POST", "/todos", json.dumps({"id": "t0", "title": "tab\there \"q\" \\ /", "n": -12,
                                     "deep": [[[{}]]], "ok": None}))
rec(rd, "GET", "/todos/t0")
rec(w, "POST", "/todos", '{"id": "tu", "title": "\\u0041 \\/ \\u0001", "n": 1.25, "n": 2}')
rec(rd, "GET", "/todos/tu")
rec(rd, "GET", "/todos/nope")
rec(rd, "GET", "/todos/" + "x" * 300)
rec(rd, "GET", "/todos/t1/extra")
rec(rd, "GET", "/todos/t1?x=1")
rec(rd, "GET", "/todos/t1", "{bad")            # a GET with a body that is not JSON: 400
rec(rd, "GET", "/todos/t1", '{"ignored": 1}')  # a GET with a JSON body: the body is ignored
for i in range(2, 8):
    rec(w, "POST", "/todos", json.dumps({"id": "t%d" % i, "title": "item %d" % i}))
for q in ["", "?limit=2", "?limit=2&offset=1", "?limit=2&offset=3", "?limit=abc", "?offset=-3", "?limit=2&limit=3",
          "?limit=0", "?limit=5000", "?offset=100", "?limit=1&offset=6&other=x"]:
    rec(rd, "GET", "/todos" + q)
rec(w, "DELETE", "/todos/t1")
rec(rd, "GET", "/todos/t1")
rec(rd, "HEAD", "/todos/t2")

# read-your-writes across connections
for i in range(300):
    st, data = req(w, "POST", "/todos", json.dumps({"id": "r%d" % i, "title": "v0"}))
    assert st == 201, (st, data)
    st, data = req(rd, "GET", "/todos/r%d" % i)
    assert st == 200 and json.loads(data)["title"] == "v0", ("create not visible", i, st, data)
    st, data = req(w, "PUT", "/todos/r%d" % i, json.dumps({"title": "v1"}))
    assert st == 200, (st, data)
    st, data = req(rd, "GET", "/todos/r%d" % i)
    assert st == 200 and json.loads(data)["title"] == "v1", ("update not visible", i, st, data)
    st, data = req(w, "DELETE", "/todos/r%d" % i)
    assert st == 200, (st, data)
    st, data = req(rd, "GET", "/todos/r%d" % i)
    assert st == 404, ("delete not visible", i, st, data)
out.append("read-your-writes ok")

print("\n".join(out))
if sys.argv[2] != "concurrent":
    sys.exit(0)

# concurrent readers while one document is updated: monotonic per connection, final value seen
req(w, "POST", "/todos", json.dumps({"id": "ctr", "title": "counter", "n": 0}))
errors = []
done = threading.Event()
def reader():
    c, last = conn(), -1
    while not done.is_set():
        st, data = req(c, "GET", "/todos/ctr")
        n = json.loads(data)["n"]
        if st != 200 or n < last:
            errors.append((st, n, last))
        last = n
threads = [threading.Thread(target=reader) for _ in range(4)]
for t in threads:
    t.start()
N = 200
for n in range(1, N + 1):
    st, data = req(w, "PUT", "/todos/ctr", json.dumps({"n": n}))
    assert st == 200 and json.loads(data)["n"] == n
done.set()
for t in threads:
    t.join()
assert not errors, errors[:5]
for _ in range(4):
    st, data = req(conn(), "GET", "/todos/ctr")
    assert json.loads(data)["n"] == N, data
print("concurrent readers ok")
PY

# run MODE [VAR=value ...]: start the system, run the script, keep transcript and metrics
run() {
	mode=$1; shift
	port=$(free_port)
	DATA_DIR=$TMPDIR_TEST/data-$mode start "$dir" todo_api API_PORT=$port "$@"
	wait_http "http://127.0.0.1:$port/health"
	python3 "$TMPDIR_TEST/script.py" "$port" script >"$TMPDIR_TEST/$mode.txt" ||
		fail "$mode: script failed: $(tail -5 "$TMPDIR_TEST/$mode.txt")"
	# the components record a batch's latency after its replies went out: wait until the
	# counters stop moving (three equal snapshots in a row), not for a fixed time
	snap() {
		curl -s "http://127.0.0.1:$port/metrics" |
			grep -E '^app_(messages_(in|out)_total|errors_total|http_requests_total|processing_seconds_count)' |
			grep -v 'route="/metrics"' | sort   # the scrapes themselves are counted
	}
	snap >"$TMPDIR_TEST/$mode.metrics"
	same=0 i=0
	while [ $same -lt 2 ]; do
		i=$((i + 1)); [ $i -lt 300 ] || fail "$mode: metrics still moving after 60 s"
		sleep 0.2
		snap >"$TMPDIR_TEST/$mode.metrics.next"
		if cmp -s "$TMPDIR_TEST/$mode.metrics" "$TMPDIR_TEST/$mode.metrics.next"; then
			same=$((same + 1))
		else
			same=0
		fi
		mv "$TMPDIR_TEST/$mode.metrics.next" "$TMPDIR_TEST/$mode.metrics"
	done
	python3 "$TMPDIR_TEST/script.py" "$port" concurrent >"$TMPDIR_TEST/$mode-concurrent.txt" ||
		fail "$mode: concurrent readers: $(tail -5 "$TMPDIR_TEST/$mode-concurrent.txt")"
	grep -q '"msg":"api listening"' "$SYS_LOG" || fail "$mode: no listening line"
	grep '"msg":"api listening"' "$SYS_LOG" >"$TMPDIR_TEST/$mode.listening"
	stop $SYS_PID
}
run direct
run components API_DIRECT_READS=false
grep -q '"direct_reads":true' "$TMPDIR_TEST/direct.listening" || fail "direct reads not on by default"
grep -q '"direct_reads":false' "$TMPDIR_TEST/components.listening" || fail "API_DIRECT_READS=false ignored"

# the crash hook counts the messages a component's own function sees: direct reads step aside
port=$(free_port)
DATA_DIR=$TMPDIR_TEST/data-hook start "$dir" todo_api API_PORT=$port AUTOCODER_CRASH_AFTER=1000 \
	AUTOCODER_CRASH_COMPONENT=store
wait_http "http://127.0.0.1:$port/health"
grep -q '"msg":"api listening".*"direct_reads":false' "$SYS_LOG" ||
	fail "direct reads on although the crash hook names the store"
stop $SYS_PID

grep -q '^GET /todos/t1 -> 200 application/json {"id":"t1","title":"one' "$TMPDIR_TEST/direct.txt" ||
	fail "get by id: $(grep -m1 '^GET /todos/t1' "$TMPDIR_TEST/direct.txt")"
grep -qx 'GET /todos/nope -> 404 application/json {"error":"not found"}' "$TMPDIR_TEST/direct.txt" ||
	fail "404 body"
grep -q '^GET /todos?limit=2&offset=3 -> 200 application/json \[{"id":"t2","title":"item 2"},{"id":"t3"' "$TMPDIR_TEST/direct.txt" ||
	fail "list paging: $(grep -F 'GET /todos?limit=2&offset=3' "$TMPDIR_TEST/direct.txt")"
diff -u "$TMPDIR_TEST/components.txt" "$TMPDIR_TEST/direct.txt" ||
	fail "direct reads answer differently from the component path"
diff -u "$TMPDIR_TEST/components.metrics" "$TMPDIR_TEST/direct.metrics" ||
	fail "direct reads count differently from the component path"
grep -q 'component="store",type="Store"} [1-9]' "$TMPDIR_TEST/direct.metrics" || fail "store counters"
echo "t73 ok"

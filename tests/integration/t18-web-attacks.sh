#!/bin/sh
# The web side under attack (issue 9), with the collector on --open-read: in headless
# Chromium a page from another origin can neither read events nor change a cluster (no CORS
# outside ingest; text/plain and cross-origin JSON changes refused) while cross-origin ingest
# with a DSN key works; a rebound DNS name is refused by the Host check; event text crafted as
# markup stays text in the UI, and in the Markdown guide it cannot close its code span or
# fence. Without a browser: the static server refuses dotfiles and symlinks out of web/, and
# only ingest routes answer CORS preflights.
. "$(dirname "$0")/../lib.sh"

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BROWSER_DIR="$ROOT/tests/browser"
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
[ -x "$CHROMIUM" ] || fail "chromium not found at $CHROMIUM (install it: scripts/deps.sh)"
command -v node >/dev/null 2>&1 || fail "node not found (install nodejs: scripts/deps.sh)"
[ -d "$BROWSER_DIR/node_modules/playwright-core" ] ||
	(cd "$BROWSER_DIR" && npm ci --no-audit --no-fund --loglevel=error) >"$TMPDIR_TEST/npm.log" 2>&1 ||
	{ cat "$TMPDIR_TEST/npm.log" >&2; fail "npm ci in tests/browser failed"; }

# a web dir with a dotfile and a symlink pointing out of it
WEB="$TMPDIR_TEST/web"
cp -r "$ROOT/web" "$WEB"
echo "secret" >"$TMPDIR_TEST/outside.txt"
echo "dot" >"$WEB/.env"
ln -s "$TMPDIR_TEST/outside.txt" "$WEB/leak.txt"
start_server --open-read --rules "$ROOT/rules" --web "$WEB"
create_key shop --role admin
AUTH="Authorization: Bearer $TOKEN"

req GET /web/.env; expect_status 404 "dotfile refused"
req GET /web/leak.txt; expect_status 404 "symlink out of web/ refused"
req GET /web/app.js; expect_status 200 "a real UI file"
req OPTIONS /api/v1/events -H 'Origin: http://evil.example' -H 'Access-Control-Request-Method: POST'
expect_header "Access-Control-Allow-Origin: \*" "ingest preflight allowed"
req OPTIONS "/api/v1/clusters/1/status" -H 'Origin: http://evil.example' -H 'Access-Control-Request-Method: POST'
printf '%s' "$HEADERS" | grep -qi '^Access-Control-Allow-Origin' && fail "a change route answered a CORS preflight"
req GET /api/v1/events
printf '%s' "$HEADERS" | grep -qi '^Access-Control-Allow-Origin' && fail "a read route carries CORS"
pass "static files and CORS"

# event text crafted to break out of Markdown code spans and fences and of HTML
XSS='<img src=x onerror=\"window.__xss=1;alert(1)\">'
for m in "pay \`\` $XSS \`\` done" "crash \`\`\` ~~~~ $XSS"; do
	req POST /api/v1/events -H "$AUTH" -d "{\"message\":\"$m\",\"level\":\"error\",\"system\":\"shop\",\"exception\":{\"type\":\"Err$XSS\",\"value\":\"$m\"}}"
	expect_status 200 "hostile event"
done
for _ in $(seq 1 100); do
	[ "$(sql "SELECT COUNT(*) FROM events WHERE cluster_id IS NULL")" = 0 ] && break; sleep 0.1
done
CLUSTER=$(sql "SELECT id FROM clusters WHERE status='open' ORDER BY id LIMIT 1")
[ -n "$CLUSTER" ] || fail "no cluster"
req GET "/api/v1/guide?format=md" -H "$AUTH"; expect_status 200 "markdown guide"
printf '%s' "$BODY" >"$TMPDIR_TEST/guide.md"
python3 - "$TMPDIR_TEST/guide.md" <<'PY' || fail "event text escaped its code span or fence in the Markdown guide"
# CommonMark's code rules, enough to find text that would render as markup: fenced blocks end
# only at a fence line of the same character at least as long; a code span ends at the next
# backtick run of exactly its length. What is left must not hold an unescaped "<img".
import re, sys
lines, out, fence = open(sys.argv[1]).read().split("\n"), [], None
for l in lines:
    s = l.lstrip(" ")
    m = re.match(r"(`{3,}|~{3,})", s)
    if fence:
        if m and m.group(1)[0] == fence[0] and len(m.group(1)) >= len(fence) and s.strip() == m.group(1):
            fence = None
        continue
    if m:
        fence = m.group(1); continue
    out.append(l)
text = "\n".join(out)
res, i = [], 0
while i < len(text):
    if text[i] == "\\":
        res.append(text[i:i + 2]); i += 2; continue
    if text[i] == "`":
        n = len(re.match(r"`+", text[i:]).group(0))
        m = re.compile(r"(?<!`)`{%d}(?!`)" % n).search(text, i + n)
        if m:
            i = m.end(); continue
        res.append("`" * n); i += n; continue
    res.append(text[i]); i += 1
rest = "".join(res)
bad = [m.start() for m in re.finditer(r"(?<!\\)<img", rest)]
if bad:
    print("markup outside code:", rest[max(0, bad[0] - 80):bad[0] + 80], file=sys.stderr)
    sys.exit(1)
PY
pass "Markdown guide keeps event text in code"

# the other origin: a static page on another port
mkdir -p "$TMPDIR_TEST/evil"
echo '<!doctype html><title>evil</title><p>evil' >"$TMPDIR_TEST/evil/evil.html"
python3 -m http.server 0 --bind 127.0.0.1 --directory "$TMPDIR_TEST/evil" >"$TMPDIR_TEST/evil.log" 2>&1 &
EVILPID=$!
for _ in $(seq 1 100); do
	EVILPORT=$(sed -n 's/.*port \([0-9]*\).*/\1/p' "$TMPDIR_TEST/evil.log" | head -n 1)
	[ -n "$EVILPORT" ] && break; sleep 0.1
done
[ -n "$EVILPORT" ] || { kill "$EVILPID"; fail "the other-origin server did not start"; }
BASE="$BASE" EVIL="http://127.0.0.1:$EVILPORT" PUBKEY="$PUBKEY" PROJECT_ID="$PROJECT_ID" CLUSTER="$CLUSTER" \
	TMPDIR_TEST="$TMPDIR_TEST" CHROMIUM="$CHROMIUM" \
	node --test --test-reporter=spec "$BROWSER_DIR/attack.test.mjs"
rc=$?
kill "$EVILPID" 2>/dev/null; wait "$EVILPID" 2>/dev/null
[ $rc = 0 ] || fail "browser attack test failed"
[ "$(sql "SELECT status FROM clusters WHERE id=$CLUSTER")" = open ] || fail "the cluster was changed by the attacks"
pass "web attacks"

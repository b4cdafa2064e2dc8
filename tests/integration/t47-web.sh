#!/bin/sh
# The web UI in a real browser: the real server (fresh database, --rules rules --web web
# --open-read) gets events over HTTP — payment errors whose messages differ only by ids,
# a port conflict a rule recognises, and crashes at two different sites — and, once they are
# clustered, headless Chromium (playwright-core) drives the UI: the clusters list with the
# expected clusters and counts, filters, a cluster's rule, fix steps and events, resolving it
# (checked through the API) and its regression when it recurs, ignore, reopen, merge, split,
# the events explorer, the guide, API errors with their detail text, the read-token form, and
# an accessibility check (axe-core) of every view. Screenshots go to $TMPDIR_TEST.
#
# Needs Debian's chromium and npm (scripts/deps.sh installs both): without them the test
# fails, it does not skip. playwright-core and axe-core are installed by `npm ci` into
# tests/browser (package-lock.json pins them).
. "$(dirname "$0")/../lib.sh"

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BROWSER_DIR="$ROOT/tests/browser"
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}

[ -x "$CHROMIUM" ] || fail "chromium not found at $CHROMIUM (install it: scripts/deps.sh)"
command -v node >/dev/null 2>&1 || fail "node not found (install nodejs: scripts/deps.sh)"
command -v npm >/dev/null 2>&1 || fail "npm not found (install npm: scripts/deps.sh)"

# playwright-core and axe-core, pinned by package-lock.json; `npm ci` when one is missing or
# of another version than package.json names
installed() {
	(cd "$BROWSER_DIR" && node -e '
		const deps = require("./package.json").dependencies;
		for (const [name, want] of Object.entries(deps)) {
			let have;
			try { have = require(`./node_modules/${name}/package.json`).version; } catch {}
			if (have !== want) process.exit(1);
		}')
}
if ! installed; then
	(cd "$BROWSER_DIR" && npm ci --no-audit --no-fund --loglevel=error) >"$TMPDIR_TEST/npm.log" 2>&1 \
		|| { cat "$TMPDIR_TEST/npm.log" >&2; fail "npm ci in tests/browser failed"; }
fi

start_server --open-read --rules "$ROOT/rules" --web "$ROOT/web"
create_key shop
AUTH="Authorization: Bearer $TOKEN"

# --- the UI is served
req GET /
expect_status 200 "GET / serves the UI"
expect_body '<script type="module" src="/web/app.js">' "index.html"
req GET /web/app.js
expect_status 200 "GET /web/app.js"
expect_header "Content-Type: text/javascript" "app.js type"

# --- events: ids in messages (one group), a rule's pattern, two crash sites
uuid() { cat /proc/sys/kernel/random/uuid; }
for i in 1 2 3 4 5 6; do
	printf '{"message":"payment %s for order %s failed after %sms","level":"error","system":"shop","component":"pay","release":"1.%s"}\n' \
		"$(uuid)" "$((i * 7919))" "$((i * 13))" "$((i % 2))"
done >"$TMPDIR_TEST/pay.nd"
req POST /api/v1/events -H "$AUTH" -H 'Content-Type: application/x-ndjson' --data-binary @"$TMPDIR_TEST/pay.nd"
expect_status 200 "payment errors"
for port in 8080 8443 9090; do
	req POST /api/v1/events -H "$AUTH" -d "{\"message\":\"bind 0.0.0.0:$port: Address already in use\",\"level\":\"error\",\"system\":\"billing\"}"
	expect_status 200 "port conflict $port"
done
crash() { # function fault-address line
	req POST /api/v1/crashes -H "$AUTH" -d "{\"signal\":\"SIGSEGV\",\"fault_address\":\"$2\",\"thread\":\"io\",\"system\":\"edge\",\"component\":\"io\",\"frames\":[{\"function\":\"$1\",\"file\":\"src/http.c\",\"line\":$3,\"in_app\":true},{\"function\":\"main\",\"file\":\"src/main.c\",\"line\":9,\"in_app\":true}]}"
	expect_status 200 "crash in $1"
}
crash parse_header 0x10 41
crash parse_header 0x7ffd12 41
crash parse_body 0x20 80

for _ in $(seq 1 100); do
	[ "$(sql "SELECT COUNT(*) FROM events WHERE cluster_id IS NULL")" = 0 ] && break
	sleep 0.1
done
[ "$(sql "SELECT COUNT(*) FROM events WHERE cluster_id IS NULL")" = 0 ] || fail "events not clustered within 10 s"
pass "12 events clustered"

# --- the browser
BASE="$BASE" TOKEN="$TOKEN" TMPDIR_TEST="$TMPDIR_TEST" CHROMIUM="$CHROMIUM" \
	node --test --test-reporter=spec "$BROWSER_DIR/web.test.mjs" || fail "browser test failed"
pass "web UI in chromium"

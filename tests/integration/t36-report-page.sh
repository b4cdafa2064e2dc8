#!/bin/sh
# t36 — the "Report a problem" page (web/report.html) in headless Chromium: with only the DSN,
# a user uploads a log with a note and sees the upload progress and the one cluster it landed
# in (posix.addr-in-use), not the project's other cluster; the events carry the note; the
# clusters route answers only about the caller's own project. Needs chromium and npm like t47.
. "$(dirname "$0")/../lib.sh"

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BROWSER_DIR="$ROOT/tests/browser"
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
[ -x "$CHROMIUM" ] || fail "chromium not found at $CHROMIUM (install it: scripts/deps.sh)"
command -v node >/dev/null 2>&1 || fail "node not found (install nodejs: scripts/deps.sh)"
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

start_server --rules "$ROOT/rules" --web "$ROOT/web"
create_key beta
# the project's other data: a cluster the page must not show
req POST /api/v1/events -H "Authorization: Bearer $TOKEN" -d '{"message":"payment declined for order 77","level":"error","system":"shop"}'
expect_status 200 "other event"
printf 'ERROR bind 0.0.0.0:8080: Address already in use\nERROR bind 0.0.0.0:8081: Address already in use\nERROR bind 0.0.0.0:9090: Address already in use\n' >"$TMPDIR_TEST/app.log"

BASE="$BASE" DSN="$DSN" OTHER_TITLE="payment declined" LOG_FILE="$TMPDIR_TEST/app.log" TMPDIR_TEST="$TMPDIR_TEST" \
	CHROMIUM="$CHROMIUM" node --test --test-reporter=spec "$BROWSER_DIR/report.test.mjs" || fail "browser test failed"
[ "$(sql "SELECT count(*) FROM events WHERE json_extract(raw, '\$.context.report.note') = 'started a second copy of the service'")" = 3 ] ||
	fail "the note is not on the events"
pass "report page: upload, progress, only its own cluster"

# the clusters route: another project's key learns nothing about these events
ids=$(sql "SELECT json_group_array(event_id) FROM events WHERE message LIKE 'ERROR bind%'")
PUB1=$PUBKEY
create_key other
req POST /api/v1/report/clusters -H "Authorization: Bearer $PUBKEY" -d "{\"ids\":$ids}"
expect_status 200 "other project's key"
expect_body '"clusters":[],"found":0' "nothing about another project's events"
req POST /api/v1/report/clusters -H "Authorization: Bearer $PUB1" -d '{"ids":"x"}'
expect_status 400 "ids must be a list"
req POST /api/v1/report/clusters -d "{\"ids\":$ids}"
expect_status 401 "no key"
stop_server
echo "t36 ok"

# proto-clients.inc.sh — helpers for the real-client tests of issue 10 (t25–t29), on top of
# coll-clients.inc.sh. Sourced, not run.
#
# need_current_clients  npm ci in tests/clients/current (the current-major SDKs, pinned by its
#                       package-lock; a stamp makes a changed lock reinstall); fails, never skips.
# need_deb PKG VERSION  apt-get install PKG=VERSION when that version is not installed; fails
#                       (never skips) when it cannot be installed.
# store_body DB WHERE   prints the stored JSON of the one event matching WHERE.
. "$(dirname "$0")/coll-clients.inc.sh"

CURRENT_DIR="$CLIENTS_DIR/current"

need_current_clients() {
	command -v node >/dev/null || fail "node is not installed (needed for the real-client tests)"
	command -v npm >/dev/null || fail "npm is not installed (needed for the real-client tests)"
	stamp="$CURRENT_DIR/node_modules/.autocoder-lock-stamp"
	if [ -f "$stamp" ] && cmp -s "$stamp" "$CURRENT_DIR/package-lock.json"; then
		return 0
	fi
	echo "installing the pinned current-major test clients (npm ci in $CURRENT_DIR)"
	if ! (cd "$CURRENT_DIR" && npm ci --no-audit --no-fund >"$TMPDIR_TEST/npm.log" 2>&1); then
		tail -n 30 "$TMPDIR_TEST/npm.log" >&2
		fail "npm ci failed in $CURRENT_DIR — the registry must be reachable for this test"
	fi
	cp "$CURRENT_DIR/package-lock.json" "$stamp"
}

need_deb() {
	have=$(dpkg-query -W -f='${Status} ${Version}' "$1" 2>/dev/null)
	[ "$have" = "install ok installed $2" ] && return 0
	echo "installing $1=$2 with apt-get"
	if ! DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$1=$2" \
		>"$TMPDIR_TEST/apt.log" 2>&1; then
		tail -n 20 "$TMPDIR_TEST/apt.log" >&2
		fail "apt-get install $1=$2 failed — this test needs the Debian package"
	fi
}

store_body() {
	sql "$1" "select raw from events where $2"
}

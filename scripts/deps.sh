#!/bin/sh
# deps.sh — install the Debian packages autocoder needs, only those missing, and say which.
# Idempotent: prints "all dependencies present" and changes nothing when everything is there.
#
#   scripts/deps.sh run    what building and running autocoder needs (make run)
#   scripts/deps.sh test   that plus what the tests and benchmarks drive: clang and its
#                          sanitizer/fuzzer runtimes, Check, real SDK clients (node, npm), a
#                          headless browser, a Docker engine with debootstrap, wrk (make test)
set -eu

RUN_PKGS="build-essential pkg-config libmicrohttpd-dev libjansson-dev libsqlite3-dev sqlite3
libyaml-dev libpcre2-dev zlib1g-dev libprotobuf-c-dev protobuf-c-compiler
libcurl4-openssl-dev libpq-dev"
TEST_PKGS="postgresql haproxy clang libclang-rt-14-dev check curl wrk python3 nodejs npm docker.io docker-compose
debootstrap chromium strace python3-sentry-sdk golang-go golang-github-getsentry-sentry-go-dev"

case "${1:-test}" in
run) PKGS=$RUN_PKGS ;;
test) PKGS="$RUN_PKGS $TEST_PKGS" ;;
*) echo "usage: scripts/deps.sh [run|test]" >&2; exit 2 ;;
esac

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done

if [ -z "$missing" ]; then
	echo "deps: all dependencies present"
	exit 0
fi

# node/npm may come from elsewhere (nodesource, nvm): accept working binaries.
case "$missing" in *nodejs*|*npm*)
	if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
		missing=$(echo "$missing" | sed -e 's/ nodejs//' -e 's/ npm//')
	fi;;
esac
[ -z "$missing" ] && { echo "deps: all dependencies present"; exit 0; }

echo "deps: installing:$missing"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
echo "deps: installed:$missing"

#!/bin/sh
# t94 — configuration and CLI conventions: a YAML config file, AUTOCODER_* variables and flags
# with precedence flags > env > file > defaults (serve --print-config says where each value
# came from, and the server really uses them); an address in use names the setting; every
# command answers --help and `help CMD`; --json on version/generate/analyze; `version` prints
# the commit; validate says ok; guide's --output-format (old --format warns); missing
# --rules/--web directories are errors naming the flag.
. "$(dirname "$0")/../lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
T=$TMPDIR_TEST

# 1. precedence, as printed
cat > "$T/autocoder.yaml" <<YAML
# a config file
listen: 127.0.0.1:7001
db: $T/from-file.db
log-level: warn
retention_max_age: 30d
open-read: true
YAML
AUTOCODER_DB="$T/from-env.db" AUTOCODER_LOG_LEVEL=debug \
	"$AUTOCODER" serve --config "$T/autocoder.yaml" --log-level error --print-config > "$T/printed" ||
	fail "print-config: $(cat "$T/printed")"
check() { grep -q "^$1 *$2 *($3" "$T/printed" || fail "print-config $1: $(grep "^$1 " "$T/printed")"; }
check listen 127.0.0.1:7001 "file $T/autocoder.yaml:2"
check db "$T/from-env.db" "env AUTOCODER_DB"
check log-level error "flag --log-level"
check retention-max-age 30d "file $T/autocoder.yaml:5"
check open-read true "file"
check queue 20000 "default"
pass "print-config: flag > env > file > default"
AUTOCODER_CONFIG="$T/autocoder.yaml" "$AUTOCODER" serve --print-config | grep -q "^db *$T/from-file.db *(file" ||
	fail "AUTOCODER_CONFIG not read"
printf 'listen: 127.0.0.1:1\nlisten_twice: [1]\n' > "$T/bad.yaml"
"$AUTOCODER" serve --config "$T/bad.yaml" 2>"$T/err" && fail "bad config accepted"
grep -q "bad.yaml:2:1: unknown option listen_twice" "$T/err" || fail "bad config message: $(cat "$T/err")"
AUTOCODER_OPEN_READ=perhaps "$AUTOCODER" serve --print-config 2>"$T/err" && fail "bad boolean variable accepted"
grep -q "AUTOCODER_OPEN_READ" "$T/err" || fail "bad variable not named: $(cat "$T/err")"
AUTOCODER_QUEUE=lots "$AUTOCODER" serve --print-config 2>"$T/err" >/dev/null && fail "bad queue variable accepted"
pass "config errors name file:line:column or the variable"

# 2. the server uses them: db from env, access log off from env, retention from the file
printf 'db: %s\nretention-max-age: 1h\nlog-level: info\n' "$T/from-file.db" > "$T/run.yaml"
DB="$T/from-env.db"
# not start_server: it passes --db itself
AUTOCODER_DB="$DB" AUTOCODER_ACCESS_LOG=off AUTOCODER_LISTEN=127.0.0.1:0 AUTOCODER_PORT_FILE="$T/port" \
	"$AUTOCODER" serve --config "$T/run.yaml" 2>>"$T/server.log" &
SERVER_PID=$!
i=0
until [ -s "$T/port" ]; do
	i=$((i + 1)); [ $i -lt 200 ] || fail "server from config did not start: $(cat "$T/server.log")"; sleep 0.05
done
BASE="http://127.0.0.1:$(cat "$T/port")"
req GET /health
expect_status 200 "server from config + env"
stop_server
[ -f "$T/from-env.db" ] && [ ! -f "$T/from-file.db" ] || fail "the server did not use AUTOCODER_DB over the file"
grep -q '"msg":"request"' "$T/server.log" && fail "AUTOCODER_ACCESS_LOG=off ignored"
grep -q '"retention_max_age_s":"3600"' "$T/server.log" || fail "retention from the file not used: $(grep limits "$T/server.log")"
pass "server ran with db from env, access log off from env, retention from file"

# 3. address in use names the flag and the variable
python3 -c '
import socket, sys, time, os
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen()
open(sys.argv[1] + ".tmp", "w").write(str(s.getsockname()[1])); os.rename(sys.argv[1] + ".tmp", sys.argv[1])
time.sleep(30)' "$T/busy" &
BUSY=$!
i=0; until [ -s "$T/busy" ]; do i=$((i + 1)); [ $i -lt 100 ] || fail "port holder"; sleep 0.05; done
AUTOCODER_LISTEN="127.0.0.1:$(cat "$T/busy")" "$AUTOCODER" serve --db "$T/busy.db" 2>"$T/err" && { kill $BUSY; fail "serve started on a busy port"; }
kill $BUSY
grep -q "in use" "$T/err" && grep -q "comes from AUTOCODER_LISTEN" "$T/err" && grep -q -- "--listen" "$T/err" ||
	fail "address-in-use message: $(cat "$T/err")"
pass "address in use names AUTOCODER_LISTEN and --listen"

# 4. --help and help CMD for every command listed by --help
cmds=$("$AUTOCODER" --help | awk '/^commands:/{on=1; next} on && /^  [a-z]/{print $1}')
[ "$(printf '%s\n' $cmds | wc -l)" -ge 10 ] || fail "command list: $cmds"
for c in $cmds; do
	"$AUTOCODER" "$c" --help > "$T/h1" 2>"$T/e1" || fail "$c --help exits $?: $(cat "$T/e1")"
	grep -q "usage: autocoder $c" "$T/h1" || fail "$c --help: $(head -2 "$T/h1")"
	"$AUTOCODER" help "$c" > "$T/h2" || fail "help $c"
	cmp -s "$T/h1" "$T/h2" || fail "help $c differs from $c --help"
done
pass "--help and help CMD for: $(echo $cmds)"

# 5. version with the commit, --json results
"$AUTOCODER" version | grep -Eq '^autocoder [0-9.]+ \(commit [0-9a-z.-]+, schema [0-9]+\)$' || fail "version: $("$AUTOCODER" version)"
"$AUTOCODER" version --json | python3 -c 'import json,sys; o=json.load(sys.stdin); assert o["version"] and o["commit"] and o["schema_version"] > 0, o' ||
	fail "version --json"
BP="$ROOT/tests/golden/normalize/pipeline/form1_canonical.yaml"
[ "$("$AUTOCODER" validate "$BP")" = ok ] || fail "validate does not say ok"
"$AUTOCODER" generate "$BP" -o "$T/sys" --json | python3 -c 'import json,sys; o=json.load(sys.stdin); assert o["generated"].endswith("/sys") and o["build"].startswith("make -C"), o' ||
	fail "generate --json"
"$AUTOCODER" analyze --db "$T/from-env.db" --json | python3 -c 'import json,sys; o=json.load(sys.stdin); assert "clustered" in o and "seconds" in o, o' ||
	fail "analyze --json"
pass "version (commit), validate ok, --json on version/generate/analyze"

# 6. guide --output-format, deprecated --format; nonexistent --rules/--web name the flag
"$AUTOCODER" guide --db "$T/from-env.db" --output-format html -o "$T/g.html" 2>"$T/err" || fail "guide --output-format"
grep -qi "<html" "$T/g.html" || fail "guide html"
[ -s "$T/err" ] && fail "guide --output-format warned: $(cat "$T/err")"
"$AUTOCODER" guide --db "$T/from-env.db" --format md -o "$T/g.md" 2>"$T/err" || fail "guide --format still works"
grep -q -- "--format is deprecated, use --output-format" "$T/err" || fail "no deprecation warning"
for c in "serve --db $T/x.db --rules $T/nope" "serve --db $T/x.db --web $T/nope" "analyze --db $T/from-env.db --rules $T/nope" \
	 "guide --db $T/from-env.db --rules $T/nope"; do
	flag=$(printf '%s' "$c" | grep -o -- '--rules\|--web')
	# shellcheck disable=SC2086
	"$AUTOCODER" $c >/dev/null 2>"$T/err" && fail "$c succeeded"
	grep -q -- "$flag $T/nope" "$T/err" || fail "$c: message does not name $flag: $(cat "$T/err")"
done
[ -e "$T/x.db" ] && fail "serve created the database before refusing its flags"
pass "guide --output-format; missing --rules/--web named"

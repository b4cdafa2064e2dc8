#!/bin/sh
# t95 — make install (PREFIX, DESTDIR): the binary that runs is the one under test, rules and
# UI land under share/autocoder, the systemd unit points at the prefix and only uses options
# the binary has, bash completion loads and completes commands and options.
. "$(dirname "$0")/../lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
: "${BUILD:?BUILD must name the build directory of \$AUTOCODER}"
D="$TMPDIR_TEST/dest"
want=$("$AUTOCODER" version) || fail "version of the binary under test"
make -s -C "$ROOT" install BUILD="$BUILD" PREFIX=/opt/ac DESTDIR="$D" >"$TMPDIR_TEST/make.log" 2>&1 ||
	fail "make install: $(tail -5 "$TMPDIR_TEST/make.log")"
[ "$("$D/opt/ac/bin/autocoder" version)" = "$want" ] || fail "installed binary: $("$D/opt/ac/bin/autocoder" version) != $want"
[ "$(ls "$D/opt/ac/share/autocoder/rules/"*.yaml | wc -l)" -ge 1 ] || fail "rules not installed"
[ -f "$D/opt/ac/share/autocoder/web/index.html" ] || fail "web UI not installed"
U="$D/opt/ac/lib/systemd/system/autocoder.service"
grep -q '^ExecStart=/opt/ac/bin/autocoder serve$' "$U" || fail "unit ExecStart: $(grep ExecStart "$U")"
grep -q '@PREFIX@' "$U" && fail "unit still has @PREFIX@"
# the unit's AUTOCODER_* settings are real options: print-config accepts them
env $(sed -n 's/^Environment=//p' "$U" | sed "s#/var/lib/autocoder#$TMPDIR_TEST#; s#/opt/ac#$D/opt/ac#g") \
	"$D/opt/ac/bin/autocoder" serve --print-config > "$TMPDIR_TEST/cfg" || fail "unit environment rejected"
grep -q "^rules .*(env AUTOCODER_RULES)" "$TMPDIR_TEST/cfg" || fail "AUTOCODER_RULES from the unit: $(cat "$TMPDIR_TEST/cfg")"
pass "make install PREFIX=/opt/ac: binary, rules, web, systemd unit"

C="$D/opt/ac/share/bash-completion/completions/autocoder"
bash -n "$C" || fail "completion script syntax"
got=$(bash -c ". '$C'; COMP_WORDS=(autocoder ba); COMP_CWORD=1; _autocoder; echo \${COMPREPLY[*]}")
[ "$got" = backup ] || fail "completing 'ba': '$got'"
got=$(bash -c ". '$C'; COMP_WORDS=(autocoder serve --retention-max-a); COMP_CWORD=2; _autocoder; echo \${COMPREPLY[*]}")
[ "$got" = --retention-max-age ] || fail "completing a serve option: '$got'"
# every serve option the binary documents is completed
for o in $("$AUTOCODER" serve --help | grep -o -- '--[a-z-]*' | sort -u); do
	grep -q -- "$o\b" "$C" || fail "completion lacks serve $o"
done
pass "bash completion"

#!/bin/sh
# t50-validate-golden.sh — golden tests of the blueprint front end.
#
# tests/golden/validate/NAME.yaml is run through `autocoder validate` (extra arguments from a
# first line "# args: ..."); the exit code and the exact diagnostics on stderr must equal
# NAME.expected ("exit: N" then the diagnostics). A mismatch prints a unified diff.
# tests/golden/normalize/GROUP/*.yaml are valid blueprints in different dialects: each must
# validate (exit 0) and print, with --print-normalized, exactly tests/golden/normalize/GROUP.json.
# `make update-golden` (AC_UPDATE_GOLDEN=1) rewrites the expected files from the current output
# (review the diff before committing); nothing else does (a generic UPDATE=1 is ignored).
set -u
: "${AUTOCODER:?}"
here=$(cd "$(dirname "$0")/.." && pwd)
tmp=${TMPDIR_TEST:-$(mktemp -d)}
fail=0 count=0

cd "$here/golden/validate" || exit 1
for f in *.yaml; do
	name=${f%.yaml}
	args=$(sed -n '1s/^# args: //p' "$f")
	# shellcheck disable=SC2086
	"$AUTOCODER" validate $args "$f" >"$tmp/stdout" 2>"$tmp/stderr"
	rc=$?
	{ echo "exit: $rc"; cat "$tmp/stderr"; } >"$tmp/$name.actual"
	count=$((count + 1))
	if [ "${AC_UPDATE_GOLDEN:-}" = 1 ]; then
		cp "$tmp/$name.actual" "$name.expected"
	elif ! diff -u "$name.expected" "$tmp/$name.actual"; then
		echo "FAIL validate/$name"
		fail=1
	fi
done

cd "$here/golden/normalize" || exit 1
for group in */; do
	group=${group%/}
	for f in "$group"/*.yaml; do
		count=$((count + 1))
		if ! "$AUTOCODER" validate --print-normalized "$f" >"$tmp/model.json" 2>"$tmp/stderr"; then
			echo "FAIL normalize/$f: not valid"
			cat "$tmp/stderr"
			fail=1
			continue
		fi
		if [ "${AC_UPDATE_GOLDEN:-}" = 1 ] && [ ! -e "$group.json" ]; then
			cp "$tmp/model.json" "$group.json"
		elif ! diff -u "$group.json" "$tmp/model.json"; then
			echo "FAIL normalize/$f differs from $group.json"
			fail=1
		fi
	done
done

# --json carries the same diagnostics as structured data
cd "$here/golden/validate" || exit 1
"$AUTOCODER" validate --json missing_port.yaml >"$tmp/out.json"
rc=$?
python3 - "$tmp/out.json" <<'PY' || fail=1
import json, sys
d = json.load(open(sys.argv[1]))
assert d["ok"] is False, d
first = d["diagnostics"][0]
assert first == {"severity": "error", "file": "missing_port.yaml", "line": 13, "column": 11,
                 "message": "binding target 'store.inptu' has no input port 'inptu' (ports: input, query)",
                 "hint": "did you mean 'input'?"}, first
PY
[ "$rc" = 1 ] || { echo "FAIL --json exit $rc"; fail=1; }
"$AUTOCODER" validate --json port_conflict.yaml | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["ok"] is True and d["diagnostics"][0]["severity"] == "warning", d' || fail=1

# usage errors exit 2, unreadable files 1
"$AUTOCODER" validate >/dev/null 2>&1; [ $? = 2 ] || { echo "FAIL no-arg exit"; fail=1; }
"$AUTOCODER" validate --bogus x.yaml >/dev/null 2>&1; [ $? = 2 ] || { echo "FAIL bad option exit"; fail=1; }
"$AUTOCODER" validate /nonexistent/blueprint.yaml 2>"$tmp/err"; [ $? = 1 ] || { echo "FAIL missing file exit"; fail=1; }
grep -q "nonexistent/blueprint.yaml" "$tmp/err" || { echo "FAIL missing file message"; fail=1; }

# docs/BLUEPRINT.md carries the catalog table exactly as the catalog prints it
"$AUTOCODER" validate --catalog-markdown >"$tmp/catalog.md"
sed -n '/<!-- catalog:begin -->/,/<!-- catalog:end -->/p' "$here/../docs/BLUEPRINT.md" |
	sed '1d;$d' >"$tmp/catalog.doc"
diff -u "$tmp/catalog.doc" "$tmp/catalog.md" || { echo "FAIL docs/BLUEPRINT.md catalog is stale"; fail=1; }

echo "$count golden cases"
exit $fail

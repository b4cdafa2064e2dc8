#!/bin/sh
# t41-cluster-cli.sh — `autocoder cluster`: templates most frequent first, --labels (one id per
# input line, also from stdin), --json, header split by --format, and usage errors.
set -eu
cd "$TMPDIR_TEST"
cat > app.log <<'LOG'
2026-11-24 10:00:01 INFO db: Connected to 10.0.0.1:5432 in 12ms
2026-11-24 10:00:02 WARN http: Request 4711 failed with status 503
2026-11-24 10:00:03 INFO db: Connected to 10.0.0.2:5432 in 9ms
2026-11-24 10:00:04 WARN http: Request 4712 failed with status 502
2026-11-24 10:00:05 INFO db: Connected to 10.0.0.3:5432 in 30ms
LOG
fmt='<Date> <Time> <Level> <Component>: <Content>'

"$AUTOCODER" cluster --format "$fmt" app.log > out.txt
cat out.txt
head -n 1 out.txt | grep -q '^ *3  *1  *Connected to <IP> in <DUR>$'
sed -n 2p out.txt | grep -q '^ *2  *2  *Request <NUM> failed with status <NUM>$'
[ "$(wc -l < out.txt)" -eq 2 ]

# --labels: one id per input line, in input order; same from stdin
"$AUTOCODER" cluster --labels --format "$fmt" app.log > labels.txt
printf '1\n2\n1\n2\n1\n' | cmp - labels.txt
"$AUTOCODER" cluster --labels --format "$fmt" < app.log | cmp - labels.txt
cat app.log | "$AUTOCODER" cluster --labels --format "$fmt" - | cmp - labels.txt

# --json parses and carries counts and templates
"$AUTOCODER" cluster --json --format "$fmt" app.log > out.json
python3 - out.json <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
c = doc["clusters"]
assert [x["count"] for x in c] == [3, 2], c
assert c[0]["template"] == "Connected to <IP> in <DUR>", c
assert c[1]["id"] == 2
PY
"$AUTOCODER" cluster --json --labels --format "$fmt" app.log | python3 -c \
	'import json,sys; assert json.load(sys.stdin) == [1,2,1,2,1]'

# without --format the whole line is mined; a line that does not fit --format is mined whole
printf 'just a line 1\nnot matching\n' | "$AUTOCODER" cluster --labels --format "$fmt" \
	2> warn.txt | wc -l | grep -q '^2$'
grep -q 'did not fit --format' warn.txt

# logparser's own notation: escaped brackets and an optional "(\[<PID>\])?" part
printf 'Jun 14 15:16:01 combo sshd(pam_unix)[19939]: check pass; user unknown\nJun 14 15:16:02 combo su: check pass; user unknown\n' > linux.log
"$AUTOCODER" cluster --labels --format '<Month> <Date> <Time> <Level> <Component>(\[<PID>\])?: <Content>' \
	linux.log 2> warn.txt | tr '\n' ' ' | grep -q '^1 1 $'
[ ! -s warn.txt ]
"$AUTOCODER" cluster --labels --format '<Date> <Time> <Level> <Component>: <Content>' app.log |
	cmp - labels.txt

# user masks
printf 'tenant acme-red over quota\ntenant acme-blue over quota\n' |
	"$AUTOCODER" cluster --mask 'tenant=acme-[a-z]+' | grep -q '<TENANT> over quota'

# usage errors exit 2 and name the problem
set +e
"$AUTOCODER" cluster --format '<Date> <Time' app.log 2> err.txt; rc=$?
[ $rc -eq 2 ] || { echo "bad --format exit $rc"; exit 1; }
grep -q 'expected <Field>' err.txt
"$AUTOCODER" cluster --format '<Date> <Time>' app.log 2> err.txt; rc=$?
[ $rc -eq 2 ] && grep -q 'Content' err.txt || { echo "missing <Content> accepted"; exit 1; }
"$AUTOCODER" cluster --threshold 2 app.log 2> err.txt; rc=$?
[ $rc -eq 2 ] || { echo "bad --threshold exit $rc"; exit 1; }
"$AUTOCODER" cluster --masks nosuch app.log 2> err.txt; rc=$?
[ $rc -eq 2 ] && grep -q "unknown mask 'nosuch'" err.txt || { echo "bad --masks"; exit 1; }
"$AUTOCODER" cluster --mask 'x=(' app.log 2> err.txt; rc=$?
[ $rc -eq 2 ] && grep -q 'pattern error' err.txt || { echo "bad --mask"; exit 1; }
"$AUTOCODER" cluster --bogus 2> err.txt; rc=$?
[ $rc -eq 2 ] || { echo "unknown option exit $rc"; exit 1; }
"$AUTOCODER" cluster missing-file.log 2> err.txt; rc=$?
[ $rc -eq 1 ] && grep -q 'missing-file.log' err.txt || { echo "missing file exit $rc"; exit 1; }
set -e
echo ok

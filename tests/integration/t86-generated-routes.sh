#!/bin/sh
# t86 — the generated REST routes match whole path segments and DELETE of a missing id is 404
# (docs/GENERATED.md "HTTP"). On the todo API: `POST /todosXYZ`, `/todos-x`, `/todo` and
# `/todos/a/b` are 404 and store nothing; DELETE of an id that does not exist is 404; DELETE
# of a stored one is 200, and a second DELETE of it is 404; PUT of a missing id is 404.
. "$(dirname "$0")/gen-lib.sh"

dir=$(gen_build "$BLUEPRINTS/todo_api.yaml" todo)
port=$(free_port)
start "$dir" todo_api API_PORT=$port
B=http://127.0.0.1:$port
wait_http "$B/health"
http() { curl -s -o "$TMPDIR_TEST/body" -w '%{http_code}' "$@"; }
count() { curl -sf "$B/todos?limit=1000" | json 'len(d)'; }

code=$(http -XPOST "$B/todos" -d '{"title":"keep"}')
[ "$code" = 201 ] || fail "create: $code $(cat "$TMPDIR_TEST/body")"
id=$(json 'd["id"]' <"$TMPDIR_TEST/body")
[ "$(count)" = 1 ] || fail "one todo expected after the create"

for path in /todosXYZ /todos-x /todo /todos/a/b "/todos/$id/extra"; do
	code=$(http -XPOST "$B$path" -d '{"title":"stray"}')
	[ "$code" = 404 ] || fail "POST $path answered $code (whole segments only): $(cat "$TMPDIR_TEST/body")"
	code=$(http "$B$path")
	[ "$code" = 404 ] || fail "GET $path answered $code"
done
[ "$(count)" = 1 ] || fail "a POST to a non-matching path stored a todo: $(curl -s "$B/todos")"
echo "ok: routes match whole path segments; nothing stored by the 404s"

code=$(http -XDELETE "$B/todos/no-such-id")
[ "$code" = 404 ] || fail "DELETE of a missing id answered $code: $(cat "$TMPDIR_TEST/body")"
code=$(http -XPUT "$B/todos/no-such-id" -d '{"done":true}')
[ "$code" = 404 ] || fail "PUT of a missing id answered $code: $(cat "$TMPDIR_TEST/body")"
[ "$(count)" = 1 ] || fail "the PUT of a missing id created something"
code=$(http -XDELETE "$B/todos/$id")
[ "$code" = 200 ] || fail "DELETE of a stored id answered $code"
code=$(http -XDELETE "$B/todos/$id")
[ "$code" = 404 ] || fail "second DELETE of the same id answered $code"
[ "$(count)" = 0 ] || fail "the deleted todo is still listed"
echo "ok: DELETE missing -> 404, DELETE stored -> 200 then 404; PUT missing -> 404"
stop $SYS_PID
echo "t86 ok"

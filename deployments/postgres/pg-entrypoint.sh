#!/bin/sh
# First start: initdb, a role and database `autocoder` with the password from
# POSTGRES_PASSWORD. Every start: postgres in the foreground (SIGTERM = smart shutdown),
# listening on PG_LISTEN (default 127.0.0.1; the compose file uses host networking),
# synchronous_commit on (the collectors' "a 2xx means committed" depends on it).
set -eu
bin=/usr/lib/postgresql/15/bin
: "${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD}"
mkdir -p "$PGDATA" && chmod 700 "$PGDATA"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
	pw=$(mktemp)
	printf '%s\n' "$POSTGRES_PASSWORD" > "$pw"
	"$bin/initdb" -D "$PGDATA" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
		--pwfile="$pw" >/dev/null
	rm -f "$pw"
	# password logins from other hosts (initdb's file covers loopback only)
	echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
	"$bin/pg_ctl" -D "$PGDATA" -o "-c listen_addresses= -k /tmp" -w start >/dev/null
	psql -h /tmp -U postgres -v ON_ERROR_STOP=1 -q \
		-v pw="$POSTGRES_PASSWORD" <<'SQL'
CREATE ROLE autocoder LOGIN PASSWORD :'pw';
CREATE DATABASE autocoder OWNER autocoder;
SQL
	"$bin/pg_ctl" -D "$PGDATA" -m fast -w stop >/dev/null
fi
exec "$bin/postgres" -D "$PGDATA" -k /tmp \
	-c listen_addresses="${PG_LISTEN:-127.0.0.1}" -c port="${PG_PORT:-5432}" \
	-c synchronous_commit=on -c max_connections=200

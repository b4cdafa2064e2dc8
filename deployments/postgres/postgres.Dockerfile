# PostgreSQL 15 from Debian's packages, for trials of the PostgreSQL mode (docker-compose.yml
# here). Production: a managed or replicated PostgreSQL, its URL in AUTOCODER_DB.
FROM debian:bookworm-slim
# a fixed uid/gid (999) so a volume's fsGroup can be set to it; the package reuses the user
RUN groupadd -r -g 999 postgres \
 && useradd -r -u 999 -g postgres -d /var/lib/postgresql -s /bin/sh postgres \
 && apt-get update \
 && apt-get install -y --no-install-recommends postgresql-15 \
 && rm -rf /var/lib/apt/lists/*
COPY pg-entrypoint.sh /usr/local/bin/pg-entrypoint.sh
RUN mkdir -p /var/lib/postgresql/data && chown postgres:postgres /var/lib/postgresql/data
USER postgres
# a directory below the volume's root: a fresh volume may hold lost+found
ENV PGDATA=/var/lib/postgresql/data/pgdata
VOLUME /var/lib/postgresql/data
ENTRYPOINT ["/bin/sh", "/usr/local/bin/pg-entrypoint.sh"]

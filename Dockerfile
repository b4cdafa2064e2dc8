# The autocoder collector image: `autocoder serve` with its SQLite database on a volume.
#
#   docker build -t autocoder:0.1.0 .           (DOCKER_BUILDKIT=0 works; no registry pulls
#                                                 besides the debian:bookworm-slim base)
#   docker run -d -p 8080:8080 -v autocoder-db:/data autocoder:0.1.0
#
# Build stage: the -dev packages the binary links against. Runtime stage: the same base with
# the runtime libraries only, a non-root user, the database under /data (a volume), and a
# HEALTHCHECK that uses a 15 kB libc-only probe instead of installing curl (see
# generator/deploy/healthcheck.c). SIGTERM makes `autocoder serve` stop accepting, answer every
# queued request after its commit, and exit.
FROM debian:bookworm-slim AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends gcc make libc6-dev pkg-config \
      libmicrohttpd-dev libjansson-dev libsqlite3-dev libyaml-dev libpcre2-dev zlib1g-dev \
      libprotobuf-c-dev protobuf-c-compiler \
      libcurl4-openssl-dev libpq-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN mkdir -p rules web \
 && make -j2 build/autocoder \
 && gcc -std=c11 -O2 -Wall -Wextra -Werror -o build/healthcheck generator/deploy/healthcheck.c \
 && strip build/autocoder build/healthcheck

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libmicrohttpd12 libjansson4 libsqlite3-0 libyaml-0-2 libpcre2-8-0 zlib1g libprotobuf-c1 libcurl4 libpq5 \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 autocoder \
 && useradd --system --uid 10001 --gid autocoder --home-dir /data --shell /usr/sbin/nologin autocoder \
 && mkdir -p /data /usr/share/autocoder \
 && chown autocoder:autocoder /data
COPY --from=build /src/build/autocoder /usr/local/bin/autocoder
COPY --from=build /src/build/healthcheck /usr/local/bin/healthcheck
COPY --from=build /src/rules /usr/share/autocoder/rules
COPY --from=build /src/web /usr/share/autocoder/web
VOLUME ["/data"]
WORKDIR /data
USER 10001:10001
ENV AUTOCODER_PORT=8080
EXPOSE 8080/tcp
HEALTHCHECK --interval=5s --timeout=3s --start-period=20s --retries=3 \
  CMD ["/usr/local/bin/healthcheck", "-e", "AUTOCODER_PORT", "-p", "8080", "/health"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/autocoder"]
CMD ["serve", "--listen", "0.0.0.0:8080", "--db", "/data/autocoder.db", \
     "--rules", "/usr/share/autocoder/rules", "--web", "/usr/share/autocoder/web"]

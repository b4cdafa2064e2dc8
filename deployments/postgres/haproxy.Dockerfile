# haproxy from Debian's packages in front of the collectors (haproxy.cfg).
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends haproxy \
 && rm -rf /var/lib/apt/lists/*
COPY haproxy.cfg /etc/haproxy/haproxy.cfg
USER haproxy
ENTRYPOINT ["haproxy", "-db", "-W", "-f", "/etc/haproxy/haproxy.cfg"]

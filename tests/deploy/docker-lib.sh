# docker-lib.sh — a private Docker engine and a locally built debian:bookworm-slim for the
# deployment tests (sourced by tests/integration/t8*.sh and `make bench-deploy`; bash).
#
# There is no image registry here, so the base image is made with debootstrap and imported.
# The engine runs with its own data-root, exec-root, socket and pidfile under a cache directory
# (kept between runs so image layers and the debootstrap root filesystem are reused), without a
# bridge network or iptables rules: containers use host networking only. One engine at a time:
# dk_start takes an exclusive lock that dk_stop releases, so concurrent suites queue up.
#
#   dk_start || { echo "SKIP: ..."; exit 0; }   # sets DOCKER_HOST, DOCKER, dk_pid
#   dk_base_image                                 # debian:bookworm-slim exists afterwards
#   ...; dk_stop                                  # kills the engine by its pid
#
# Environment: AUTOCODER_CACHE (default /var/cache/autocoder, or ~/.cache/autocoder when that
# is not writable).

dk_cache_dir() {
	if [ -n "${AUTOCODER_CACHE:-}" ]; then
		echo "$AUTOCODER_CACHE"
	elif mkdir -p /var/cache/autocoder 2>/dev/null && [ -w /var/cache/autocoder ]; then
		echo /var/cache/autocoder
	else
		echo "${HOME:-/tmp}/.cache/autocoder"
	fi
}

DK_CACHE=$(dk_cache_dir)
DK_DIR="$DK_CACHE/docker"
# The Debian package's client: /usr/local/bin may hold a different docker CLI.
DOCKER=/usr/bin/docker
DOCKER_COMPOSE=/usr/bin/docker-compose
export DOCKER_BUILDKIT=0 COMPOSE_DOCKER_CLI_BUILD=0
dk_pid=""

dk_log() { echo "[docker-lib] $*" >&2; }

# Start dockerd; 0 when it answers, 1 when it cannot start (the caller skips with a message).
dk_start() {
	mkdir -p "$DK_DIR/data" "$DK_DIR/exec" || return 1
	if [ ! -x /usr/sbin/dockerd ] || [ ! -x "$DOCKER" ]; then
		dk_log "dockerd or docker client missing (scripts/deps.sh installs docker.io)"
		return 1
	fi
	exec 9>"$DK_DIR/lock"
	if ! flock -w 3600 9; then
		dk_log "could not get the engine lock $DK_DIR/lock"
		return 1
	fi
	# A previous run killed hard may have left its engine: stop it by its recorded pid.
	if [ -s "$DK_DIR/dockerd.pid" ]; then
		old=$(cat "$DK_DIR/dockerd.pid")
		if kill -0 "$old" 2>/dev/null && grep -q dockerd "/proc/$old/cmdline" 2>/dev/null; then
			dk_log "stopping stale engine pid $old"
			kill "$old"; dk_wait_gone "$old"
		fi
		rm -f "$DK_DIR/dockerd.pid"
	fi
	local i old
	export DOCKER_HOST="unix://$DK_DIR/docker.sock"
	/usr/sbin/dockerd --data-root "$DK_DIR/data" --exec-root "$DK_DIR/exec" \
		--pidfile "$DK_DIR/dockerd.pid" -H "$DOCKER_HOST" \
		--bridge=none --iptables=false --ip6tables=false --ip-masq=false \
		>"$DK_DIR/dockerd.log" 2>&1 &
	dk_pid=$!
	i=0
	while [ $i -lt 60 ]; do
		if "$DOCKER" version >/dev/null 2>&1; then
			dk_log "engine up (pid $dk_pid, $DOCKER_HOST)"
			return 0
		fi
		if ! kill -0 "$dk_pid" 2>/dev/null; then break; fi
		sleep 0.5; i=$((i + 1))
	done
	dk_log "dockerd did not start; last log lines:"
	tail -n 15 "$DK_DIR/dockerd.log" >&2
	[ -n "$dk_pid" ] && kill "$dk_pid" 2>/dev/null
	dk_pid=""
	flock -u 9
	return 1
}

dk_wait_gone() {
	local i=0
	while kill -0 "$1" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.2; i=$((i + 1)); done
}

# Stop the engine this shell started (by pid) and release the lock.
dk_stop() {
	if [ -n "$dk_pid" ]; then
		kill "$dk_pid" 2>/dev/null
		dk_wait_gone "$dk_pid"
		dk_log "engine stopped (pid $dk_pid)"
		dk_pid=""
	fi
	flock -u 9 2>/dev/null || true
}

# Make debian:bookworm-slim from a cached debootstrap root filesystem (built once).
dk_base_image() {
	if "$DOCKER" image inspect debian:bookworm-slim >/dev/null 2>&1; then
		return 0
	fi
	local tarball="$DK_CACHE/base/bookworm-minbase.tar"
	if [ ! -s "$tarball" ]; then
		dk_build_rootfs "$tarball" || return 1
	fi
	dk_log "importing $tarball as debian:bookworm-slim"
	"$DOCKER" import --change 'CMD ["bash"]' \
		--change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
		"$tarball" debian:bookworm-slim >/dev/null
}

dk_build_rootfs() {
	local out=$1 root
	if ! command -v debootstrap >/dev/null 2>&1; then
		dk_log "debootstrap missing (scripts/deps.sh installs it)"
		return 1
	fi
	root="$DK_CACHE/base/rootfs.tmp"
	rm -rf "$root"; mkdir -p "$DK_CACHE/base"
	dk_log "debootstrap --variant=minbase bookworm (once; cached in $out)"
	if ! debootstrap --variant=minbase bookworm "$root" http://deb.debian.org/debian \
		>"$DK_CACHE/base/debootstrap.log" 2>&1; then
		tail -n 20 "$DK_CACHE/base/debootstrap.log" >&2
		return 1
	fi
	# Like the official slim image: the same sources (with updates and security), no package
	# cache, no apt lists, and apt told to clean up after itself.
	rm -f "$root/etc/apt/sources.list"
	cat >"$root/etc/apt/sources.list.d/debian.sources" <<'SRC'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
	cat >"$root/etc/apt/apt.conf.d/docker-clean" <<'SRC'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
SRC
	echo 'APT::Install-Recommends "false";' >"$root/etc/apt/apt.conf.d/docker-no-recommends"
	rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* \
		"$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/*
	tar --numeric-owner -C "$root" -cf "$out.tmp" . && mv "$out.tmp" "$out"
	rm -rf "$root"
}

# Seconds since the epoch with fractions (for timings).
dk_now() { date +%s.%N; }

# A free TCP port on 127.0.0.1 (bind port 0).
dk_free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# Wait until a container's health is "healthy" (timeout seconds); prints the status.
dk_wait_healthy() {
	local c=$1 t=${2:-120} i=0 st=""
	while [ $i -lt $((t * 5)) ]; do
		st=$("$DOCKER" inspect -f '{{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}} {{.State.Status}}' "$c" 2>/dev/null)
		case "$st" in
		healthy*) echo healthy; return 0;;
		*exited*|*dead*) echo "$st"; return 1;;
		esac
		sleep 0.2; i=$((i + 1))
	done
	echo "timeout: $st"
	return 1
}

# Debian's kubectl (package kubernetes-client, 1.20 with kustomize built in), unpacked into the
# cache with `apt-get download` + `dpkg-deb -x` so it never conflicts with another kubectl
# installed on the machine. Prints its path; 1 when it cannot be had.
dk_debian_kubectl() {
	local d kc="$DK_CACHE/kubernetes-client/usr/bin/kubectl"
	if [ ! -x "$kc" ]; then
		d=$(mktemp -d)
		if ! (cd "$d" && apt-get download kubernetes-client >/dev/null 2>&1); then
			apt-get update -qq >/dev/null 2>&1
			(cd "$d" && apt-get download kubernetes-client >/dev/null 2>&1) || { rm -rf "$d"; return 1; }
		fi
		mkdir -p "$DK_CACHE/kubernetes-client"
		dpkg-deb -x "$d"/kubernetes-client_*.deb "$DK_CACHE/kubernetes-client" || { rm -rf "$d"; return 1; }
		rm -rf "$d"
	fi
	echo "$kc"
}

# Install the pinned npm packages of tests/deploy (kubernetes-models, yaml) when missing.
dk_node_modules() {
	local dir=$1
	if [ ! -d "$dir/node_modules/kubernetes-models" ] || [ ! -d "$dir/node_modules/yaml" ]; then
		(cd "$dir" && npm ci --no-audit --no-fund >/dev/null 2>&1) || return 1
	fi
}

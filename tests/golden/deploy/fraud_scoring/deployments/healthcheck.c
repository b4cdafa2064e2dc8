/*
 * healthcheck.c — the container health probe of generated systems and of the autocoder image.
 *
 * The runtime images are debian:bookworm-slim with runtime libraries only: no curl or wget
 * (curl would add libcurl and its TLS/LDAP/SSH libraries, 12 MiB measured, to probe a loopback
 * port). This program does one thing: GET a path on 127.0.0.1 over HTTP/1.0 and exit 0 when
 * the status is 2xx, 1 otherwise (refused, timeout, non-2xx), printing why on stderr. It uses
 * libc only, so it is built in the build stage with one gcc command and needs nothing at run
 * time.
 *
 *   healthcheck [-e PORT_ENV] [-p PORT] [-t TIMEOUT_MS] [PATH]
 *
 * The port is $PORT_ENV when that variable is set (the same variable the system reads, so a
 * port overridden at run time is probed where it really is), else -p (default 8080). PATH
 * defaults to /health. The deploy emitter embeds this file into every generated system as
 * deployments/healthcheck.c; the project's root Dockerfile compiles it from here.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct probe {
	long port;
	long timeout_ms;
	const char *path;
};

static long parse_port(const char *s)
{
	char *end = NULL;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || !end || *end || v < 1 || v > 65535)
		return -1;
	return v;
}

static int parse_args(int argc, char **argv, struct probe *p)
{
	const char *env = NULL;
	int opt;

	p->port = 8080;
	p->timeout_ms = 3000;
	p->path = "/health";
	while ((opt = getopt(argc, argv, "e:p:t:")) != -1) {
		switch (opt) {
		case 'e': env = optarg; break;
		case 'p': p->port = parse_port(optarg); break;
		case 't': p->timeout_ms = strtol(optarg, NULL, 10); break;
		default: return -1;
		}
	}
	if (optind < argc)
		p->path = argv[optind];
	if (env && getenv(env) && *getenv(env))
		p->port = parse_port(getenv(env));
	if (p->port < 0 || p->timeout_ms <= 0 || p->path[0] != '/')
		return -1;
	return 0;
}

static long elapsed_ms(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - start->tv_sec) * 1000 + (now.tv_nsec - start->tv_nsec) / 1000000;
}

/* Wait for fd to become ready for events; 0 when ready, -1 on timeout or error. */
static int wait_fd(int fd, short events, const struct timespec *start, long timeout_ms)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	long left = timeout_ms - elapsed_ms(start);
	int rc;

	if (left <= 0)
		return -1;
	do
		rc = poll(&pfd, 1, (int)left);
	while (rc < 0 && errno == EINTR);
	return rc == 1 ? 0 : -1;
}

static int connect_loopback(long port, const struct timespec *start, long timeout_ms)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((unsigned short)port) };
	int fd, soerr = 0;
	socklen_t len = sizeof(soerr);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
		return fd;
	if (errno != EINPROGRESS || wait_fd(fd, POLLOUT, start, timeout_ms) < 0 ||
	    getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0 || soerr) {
		if (soerr)
			errno = soerr;
		close(fd);
		return -1;
	}
	return fd;
}

static int send_all(int fd, const char *s, size_t n, const struct timespec *start, long tmo)
{
	while (n > 0) {
		ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
		if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
			if (wait_fd(fd, POLLOUT, start, tmo) < 0)
				return -1;
			continue;
		}
		if (w <= 0)
			return -1;
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Read until the status line is complete; returns the status code or -1. */
static int read_status(int fd, const struct timespec *start, long tmo)
{
	char buf[256];
	size_t used = 0;
	int code;

	while (used < sizeof(buf) - 1) {
		ssize_t r = recv(fd, buf + used, sizeof(buf) - 1 - used, 0);
		if (r < 0 && (errno == EAGAIN || errno == EINTR)) {
			if (wait_fd(fd, POLLIN, start, tmo) < 0)
				return -1;
			continue;
		}
		if (r <= 0)
			break;
		used += (size_t)r;
		buf[used] = '\0';
		if (strchr(buf, '\n'))
			break;
	}
	buf[used] = '\0';
	if (sscanf(buf, "HTTP/%*d.%*d %3d", &code) != 1)
		return -1;
	return code;
}

int main(int argc, char **argv)
{
	struct probe p;
	struct timespec start;
	char req[512];
	int fd, n, code;

	if (parse_args(argc, argv, &p) < 0) {
		fprintf(stderr, "usage: healthcheck [-e PORT_ENV] [-p PORT] [-t TIMEOUT_MS] [/PATH]\n");
		return 2;
	}
	clock_gettime(CLOCK_MONOTONIC, &start);
	fd = connect_loopback(p.port, &start, p.timeout_ms);
	if (fd < 0) {
		fprintf(stderr, "healthcheck: 127.0.0.1:%ld: %s\n", p.port,
			errno ? strerror(errno) : "timeout");
		return 1;
	}
	n = snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\nHost: 127.0.0.1:%ld\r\n"
		     "User-Agent: autocoder-healthcheck\r\nConnection: close\r\n\r\n", p.path, p.port);
	if (n < 0 || (size_t)n >= sizeof(req) ||
	    send_all(fd, req, (size_t)n, &start, p.timeout_ms) < 0) {
		fprintf(stderr, "healthcheck: cannot send request\n");
		close(fd);
		return 1;
	}
	code = read_status(fd, &start, p.timeout_ms);
	close(fd);
	if (code < 200 || code > 299) {
		fprintf(stderr, "healthcheck: GET %s on port %ld: %s %d\n", p.path, p.port,
			code < 0 ? "no valid HTTP status" : "status", code);
		return 1;
	}
	printf("healthcheck: GET %s on port %ld: %d\n", p.path, p.port, code);
	return 0;
}

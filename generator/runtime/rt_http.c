/*
 * rt_http.c — HTTP plumbing shared by the runtime: JSON replies and the built-in routes
 * (/health, /ready, /metrics) for libmicrohttpd handlers, the stand-alone metrics server used
 * when a system has no APIEndpoint (METRICS_PORT), and a minimal blocking HTTP/1.1 client for
 * POSTing JSON to the collector and to HTTP sinks.
 *
 * The client speaks plain http:// only (a collector is normally on the same host or network);
 * it sends Content-Length bodies with Connection: close and reads just the status line, with a
 * deadline on connect, send and receive.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include "rt_int.h"
#include "rt_util.h"

enum MHD_Result rt_http_send_json(struct MHD_Connection *conn, int status, json_t *body,
				  const char *route)
{
	char *text = body ? json_dumps(body, JSON_COMPACT | JSON_REAL_PRECISION(15)) : NULL;
	json_decref(body);
	return rt_http_send_text(conn, status, text, text ? strlen(text) : 0, route);
}

enum MHD_Result rt_http_send_text(struct MHD_Connection *conn, int status, char *text,
				  size_t len, const char *route)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(len, text ? text : (char *)"", text ?
					    MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
	if (!r) {
		free(text);
		return MHD_NO;
	}
	MHD_add_response_header(r, "Content-Type", "application/json");
	if (status == 503)
		MHD_add_response_header(r, "Retry-After", "1");
	ret = MHD_queue_response(conn, (unsigned)status, r);
	MHD_destroy_response(r);
	if (route)
		rt_metrics_http(route, status);
	return ret;
}

enum MHD_Result rt_http_builtin(struct MHD_Connection *conn, const char *url, bool *handled)
{
	struct rt_system *s = rt_sys;
	*handled = true;
	if (!strcmp(url, "/health")) {
		json_t *report = NULL;
		bool ok = rt_all_healthy(&report);
		return rt_http_send_json(conn, ok ? 200 : 503, report, "/health");
	}
	if (!strcmp(url, "/ready")) {
		bool ready = atomic_load(&s->ready_count) == (int)s->ncomps &&
			     !atomic_load(&s->draining);
		return rt_http_send_json(conn, ready ? 200 : 503,
					 json_pack("{s:s}", "status", ready ? "ready" : "not ready"),
					 "/ready");
	}
	if (!strcmp(url, "/metrics")) {
		size_t len = 0;
		char *text;
		struct MHD_Response *r;
		enum MHD_Result ret;
		rt_metrics_http("/metrics", 200);
		text = rt_metrics_render(&len);
		if (!text)
			return rt_http_send_json(conn, 500, json_pack("{s:s}", "error", "out of memory"),
						 NULL);
		r = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
		if (!r) {
			free(text);
			return MHD_NO;
		}
		MHD_add_response_header(r, "Content-Type", "text/plain; version=0.0.4");
		ret = MHD_queue_response(conn, 200, r);
		MHD_destroy_response(r);
		return ret;
	}
	*handled = false;
	return MHD_NO;
}

static enum MHD_Result metrics_handler(void *cls, struct MHD_Connection *conn, const char *url,
				       const char *method, const char *version,
				       const char *upload_data, size_t *upload_data_size,
				       void **con_cls)
{
	bool handled;
	enum MHD_Result r;
	(void)cls;
	(void)version;
	(void)upload_data;
	if (!*con_cls) {
		*con_cls = (void *)1;
		return MHD_YES;
	}
	*upload_data_size = 0;
	if (strcmp(method, "GET"))
		return rt_http_send_json(conn, 405, json_pack("{s:s}", "error", "method not allowed"),
					 "other");
	r = rt_http_builtin(conn, url, &handled);
	if (handled)
		return r;
	return rt_http_send_json(conn, 404, json_pack("{s:s}", "error", "not found"), "other");
}

int rt_metrics_server_start(struct rt_system *s, int port)
{
	struct sockaddr_in sa;
	char shown[256];

	if (rt_bind_address(NULL, port, &sa, shown, sizeof shown)) {
		rt_log(NULL, "error", NULL, "BIND_ADDRESS does not resolve",
		       json_pack("{s:s}", "address", shown));
		return -1;
	}
	s->metrics_daemon = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
					     MHD_USE_ERROR_LOG,
					     (uint16_t)port, NULL, NULL, metrics_handler, NULL,
					     MHD_OPTION_SOCK_ADDR, &sa,
					     MHD_OPTION_EXTERNAL_LOGGER, rt_mhd_log, NULL,
					     MHD_OPTION_CONNECTION_TIMEOUT, 30u,
					     MHD_OPTION_PER_IP_CONNECTION_LIMIT, RT_HTTP_PER_IP_LIMIT,
					     MHD_OPTION_END);
	if (!s->metrics_daemon) {
		rt_log(NULL, "error", NULL, "cannot listen for /metrics",
		       json_pack("{s:i}", "port", port));
		return -1;
	}
	rt_log(NULL, "info", NULL, "metrics listening", json_pack("{s:i}", "port", port));
	return 0;
}

void rt_metrics_server_stop(struct rt_system *s)
{
	if (s->metrics_daemon)
		MHD_stop_daemon(s->metrics_daemon);
	s->metrics_daemon = NULL;
}

/* ---------------------------------------------------------------- client */

/* Why this thread's last rt_http_post failed, for the caller's message (rt_int.h). */
static _Thread_local char post_failure[160];

const char *rt_http_post_failure(void)
{
	return post_failure;
}

/* Record errno e (0: nothing to say) as the reason of a failed step (connect, write, read):
 * "connect: ECONNREFUSED (Connection refused)"; a timeout reads "read timed out" (the
 * words the posix rules know; ETIMEDOUT alone is taken for a Node.js error). Returns -1. */
static int post_failed(const char *doing, int e)
{
	char t[128];
	if (!e) {
		post_failure[0] = '\0';
		return -1;
	}
	rt_errno_text(e, t, sizeof t);
	if (e == ETIMEDOUT)
		snprintf(post_failure, sizeof post_failure, "%s timed out", doing);
	else
		snprintf(post_failure, sizeof post_failure, "%s: %s", doing, t);
	errno = e;
	return -1;
}

static int wait_fd(int fd, short ev, double deadline)
{
	struct pollfd p = { .fd = fd, .events = ev };
	for (;;) {
		double left = deadline - rt_mono();
		int rc;
		if (left <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		rc = poll(&p, 1, (int)(left * 1000) + 1);
		if (rc > 0)
			return 0;
		if (rc < 0 && errno != EINTR)
			return -1;
	}
}

static int connect_to(const char *host, const char *port, double deadline)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *ai, *a;
	int fd = -1, e = 0, gai;
	if ((gai = getaddrinfo(host, port, &hints, &ai))) {
		snprintf(post_failure, sizeof post_failure, "cannot resolve host '%.60s': %s", host,
			 gai_strerror(gai));
		return -1;
	}
	for (a = ai; a; a = a->ai_next) {
		int err = 0;
		socklen_t el = sizeof err;
		fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			post_failed("socket", e = errno);
			continue;
		}
		if (connect(fd, a->ai_addr, a->ai_addrlen) == 0)
			break;
		if (errno != EINPROGRESS)
			e = errno;
		else if (wait_fd(fd, POLLOUT, deadline))
			e = errno;
		else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) == 0 && err == 0)
			break;
		else
			e = err ? err : errno;
		post_failed("connect", e);
		close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	if (fd < 0)
		errno = e;
	return fd;
}

static int send_all(int fd, const char *p, size_t n, double deadline)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
			if (wait_fd(fd, POLLOUT, deadline))
				return -1;
			continue;
		}
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Split "http://host:port/base" into host, port and base path. 0 or -1. */
static int parse_url(const char *url, char *host, size_t hn, char *port, size_t pn, char *path,
		     size_t pathn)
{
	const char *p, *slash, *colon;
	if (strncmp(url, "http://", 7))
		return -1;
	p = url + 7;
	slash = strchr(p, '/');
	if (!slash)
		slash = p + strlen(p);
	colon = memchr(p, ':', (size_t)(slash - p));
	if (p[0] == '[') {   /* [::1]:port */
		const char *rb = memchr(p, ']', (size_t)(slash - p));
		if (!rb)
			return -1;
		snprintf(host, hn, "%.*s", (int)(rb - p - 1), p + 1);
		colon = rb[1] == ':' ? rb + 1 : NULL;
	} else {
		snprintf(host, hn, "%.*s", (int)((colon ? colon : slash) - p), p);
	}
	if (colon)
		snprintf(port, pn, "%.*s", (int)(slash - colon - 1), colon + 1);
	else
		snprintf(port, pn, "80");
	snprintf(path, pathn, "%s", slash);
	/* drop a trailing slash so base + "/api/v1/events" has one slash */
	size_t l = strlen(path);
	if (l && path[l - 1] == '/')
		path[l - 1] = 0;
	return host[0] ? 0 : -1;
}

int rt_http_post(const char *url, const char *path_suffix, const char *bearer, const char *body,
		 size_t len, int timeout_ms)
{
	char host[256], port[16], path[512], head[1536], resp[256];
	double deadline = rt_mono() + timeout_ms / 1000.0;
	int fd, hl, status = -1;
	size_t got = 0;

	post_failure[0] = '\0';
	if (parse_url(url, host, sizeof host, port, sizeof port, path, sizeof path))
		return -1;
	fd = connect_to(host, port, deadline);
	if (fd < 0)
		return -1;
	post_failure[0] = '\0';   /* an earlier address may have failed */
	hl = snprintf(head, sizeof head,
		      "POST %s%s HTTP/1.1\r\nHost: %s:%s\r\nContent-Type: application/json\r\n"
		      "Content-Length: %zu\r\nConnection: close\r\n%s%s%s\r\n",
		      path[0] ? path : "", path_suffix ? path_suffix : (path[0] ? "" : "/"), host,
		      port, len, bearer ? "Authorization: Bearer " : "", bearer ? bearer : "",
		      bearer ? "\r\n" : "");
	if (hl < 0 || (size_t)hl >= sizeof head)
		goto out;
	if (send_all(fd, head, (size_t)hl, deadline) || send_all(fd, body, len, deadline)) {
		post_failed("write", errno);
		goto out;
	}
	while (got < sizeof resp - 1) {
		ssize_t r;
		if (wait_fd(fd, POLLIN, deadline)) {
			if (errno == ETIMEDOUT)
				snprintf(post_failure, sizeof post_failure, "read timed out (no "
					 "response within %d ms)", timeout_ms);
			else
				post_failed("read", errno);
			goto out;
		}
		r = recv(fd, resp + got, sizeof resp - 1 - got, 0);
		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (r < 0)
			post_failed("read", errno);
		if (r <= 0)
			break;
		got += (size_t)r;
		resp[got] = 0;
		if (strstr(resp, "\r\n"))
			break;
	}
	resp[got] = 0;
	if (!strncmp(resp, "HTTP/1.", 7) && got > 12)
		status = (int)strtol(resp + 9, NULL, 10);
out:
	close(fd);
	return status;
}

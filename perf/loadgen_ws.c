/*
 * loadgen_ws.c — the WebSocket side of `autocoder bench`'s load generator (perf.h): clients
 * that send messages into a WebSocket ingress.
 *
 * Plain non-blocking sockets, one epoll set per thread, like loadgen.c. Each connection does
 * the RFC 6455 client handshake (GET with Upgrade: websocket, a random Sec-WebSocket-Key,
 * version 13; the answer must be 101 with Upgrade: websocket) and then sends text frames,
 * masked as a client must (each prepared frame has its own random masking key; frames are
 * built once, before the step, so the loop only copies bytes). Two modes:
 *   closed loop (rate 0): every connection writes frames as fast as its socket takes them, so
 *     the system's reading speed (and its backpressure: a full queue stops its reader, then
 *     TCP stops us) sets the pace;
 *   open loop (rate r): message k of a thread is due at t0 + k / (r / threads) and goes out on
 *     the next connection whose previous frame is written; messages still waiting at the end
 *     are counted as not sent.
 * A message counts when its last byte was written inside the measured window. What the server
 * sends (pings, broadcasts) is read and discarded. The system does not answer a message, so
 * latency is measured end to end by the bench from the Sinks (bench.c), not here.
 */
#include "core/common.h"
#include "perf/perf.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum ws_state { W_CONNECTING, W_HANDSHAKE, W_UPGRADING, W_OPEN, W_DEAD };

struct ws_conn {
	int fd;
	enum ws_state st;
	char hs[512];            /* the handshake request */
	size_t hs_len, hs_sent;
	char in[1024];           /* the handshake answer */
	size_t in_len;
	const struct perf_request *frame;   /* being written */
	size_t sent;
	bool writable;
	double retry_at;         /* refused during the warm-up: connect again then (0: never) */
};

struct ws_worker {
	const struct perf_ws_load *cfg;
	int index, epfd, nconns;
	struct ws_conn *conns;
	struct sockaddr_in addr;
	double t0, warm_end, end, rate;
	uint64_t next_msg, due_sent;
	struct perf_ws_result res;
};

static double mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void b64(const unsigned char *in, size_t n, char *out)
{
	static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t o = 0;
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)in[i] << 16 | (i + 1 < n ? (unsigned)in[i + 1] << 8 : 0) |
			     (i + 2 < n ? in[i + 2] : 0);
		out[o++] = t[v >> 18 & 63];
		out[o++] = t[v >> 12 & 63];
		out[o++] = i + 1 < n ? t[v >> 6 & 63] : '=';
		out[o++] = i + 2 < n ? t[v & 63] : '=';
	}
	out[o] = 0;
}

int perf_ws_frame(const char *payload, size_t len, struct perf_request *out)
{
	unsigned char mask[4];
	size_t hl = len < 126 ? 6 : len < 65536 ? 8 : 14;
	unsigned char *f = malloc(hl + len);
	if (!f)
		return -1;
	if (getrandom(mask, sizeof mask, 0) != sizeof mask)
		memset(mask, 0x5a, sizeof mask);
	f[0] = 0x81;   /* FIN, text */
	if (len < 126) {
		f[1] = (unsigned char)(0x80 | len);
	} else if (len < 65536) {
		f[1] = 0x80 | 126;
		f[2] = (unsigned char)(len >> 8);
		f[3] = (unsigned char)len;
	} else {
		f[1] = 0x80 | 127;
		for (int i = 0; i < 8; i++)
			f[2 + i] = (unsigned char)((uint64_t)len >> (56 - 8 * i));
	}
	memcpy(f + hl - 4, mask, 4);
	for (size_t i = 0; i < len; i++)
		f[hl + i] = (unsigned char)payload[i] ^ mask[i % 4];
	out->data = (char *)f;
	out->len = hl + len;
	return 0;
}

static void conn_drop(struct ws_worker *w, struct ws_conn *c)
{
	if (c->fd >= 0) {
		epoll_ctl(w->epfd, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
	}
	c->fd = -1;
	c->st = W_DEAD;
	c->frame = NULL;
}

static int conn_open(struct ws_worker *w, struct ws_conn *c)
{
	unsigned char key[16];
	char k64[32];
	int one = 1;
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLET, .data.ptr = c };
	if (getrandom(key, sizeof key, 0) != sizeof key)
		memset(key, 7, sizeof key);
	b64(key, sizeof key, k64);
	c->hs_len = (size_t)snprintf(c->hs, sizeof c->hs, "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
				     "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
				     "Sec-WebSocket-Version: 13\r\n\r\n", w->cfg->path, w->cfg->port, k64);
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return -1;
	c->hs_sent = c->in_len = 0;
	c->retry_at = 0;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	/* a small send buffer: a frame counts as sent when the kernel took it, so keep what
	 * waits in the socket (written, not yet read by the system) small */
	int sndbuf = 32768;
	setsockopt(c->fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
	if ((connect(c->fd, (struct sockaddr *)&w->addr, sizeof w->addr) && errno != EINPROGRESS) ||
	    epoll_ctl(w->epfd, EPOLL_CTL_ADD, c->fd, &ev)) {
		close(c->fd);
		c->fd = -1;
		return -1;
	}
	c->st = W_CONNECTING;
	return 0;
}

/* Write what c has to write: the handshake, or frames — at most WRITE_BURST of them, so one
 * fast connection does not starve the others (c->writable stays true: the loop comes back). */
#define WRITE_BURST 64
static void conn_write(struct ws_worker *w, struct ws_conn *c, double now)
{
	int burst = 0;
	while (c->st == W_HANDSHAKE && c->hs_sent < c->hs_len) {
		ssize_t n = send(c->fd, c->hs + c->hs_sent, c->hs_len - c->hs_sent, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK) {
				w->res.handshake_errors++;
				conn_drop(w, c);
			}
			return;
		}
		c->hs_sent += (size_t)n;
		if (c->hs_sent == c->hs_len)
			c->st = W_UPGRADING;
	}
	while (c->st == W_OPEN && c->frame && burst < WRITE_BURST) {
		ssize_t n = send(c->fd, c->frame->data + c->sent, c->frame->len - c->sent, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				c->writable = false;
			else {
				if (now >= w->warm_end && now <= w->end)
					w->res.conn_errors++;
				conn_drop(w, c);
			}
			return;
		}
		c->sent += (size_t)n;
		if (c->sent < c->frame->len)
			continue;
		if (now >= w->warm_end && now <= w->end)
			w->res.sent++;
		burst++;
		c->frame = NULL;
		c->sent = 0;
		if (w->rate <= 0 && now <= w->end) {   /* closed loop: the next one right away */
			c->frame = &w->cfg->messages[w->next_msg++ % w->cfg->nmessages];
		}
	}
}

/* Read what arrived: the handshake answer, then server frames (discarded). */
static void conn_read(struct ws_worker *w, struct ws_conn *c, double now)
{
	for (;;) {
		char buf[8192];
		ssize_t n;
		if (c->st == W_UPGRADING)
			n = recv(c->fd, c->in + c->in_len, sizeof c->in - 1 - c->in_len, 0);
		else
			n = recv(c->fd, buf, sizeof buf, 0);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			if (c->st != W_OPEN)
				w->res.handshake_errors++;
			else if (now <= w->end)
				w->res.conn_errors++;
			conn_drop(w, c);
			return;
		}
		if (c->st != W_UPGRADING)
			continue;
		c->in_len += (size_t)n;
		c->in[c->in_len] = 0;
		if (!strstr(c->in, "\r\n\r\n")) {
			if (c->in_len >= sizeof c->in - 1) {
				w->res.handshake_errors++;
				conn_drop(w, c);
				return;
			}
			continue;
		}
		if (strncmp(c->in, "HTTP/1.1 101", 12) || !strcasestr(c->in, "upgrade: websocket")) {
			/* during the warm-up a refusal is retried (the previous step's connections may
			 * still count against max_connections for a moment); later it is an error */
			if (now < w->warm_end) {
				c->retry_at = now + 0.05;
			} else {
				w->res.handshake_errors++;
				c->in[strcspn(c->in, "\r\n")] = 0;
				snprintf(w->res.refused, sizeof w->res.refused, "%.120s", c->in);
			}
			conn_drop(w, c);
			return;
		}
		c->st = W_OPEN;
		c->writable = true;
		w->res.connected++;
		if (w->rate <= 0)
			c->frame = &w->cfg->messages[w->next_msg++ % w->cfg->nmessages];
		conn_write(w, c, now);
	}
}

/* Open loop: hand due messages to connections with nothing in progress. */
static void dispatch(struct ws_worker *w, double now)
{
	if (w->rate <= 0 || now > w->end)
		return;
	uint64_t due = (uint64_t)((now - w->t0) * w->rate) + 1;
	for (int i = 0; i < w->nconns && w->due_sent < due; i++) {
		struct ws_conn *c = &w->conns[(w->due_sent + (uint64_t)i) % (uint64_t)w->nconns];
		if (c->st != W_OPEN || c->frame)
			continue;
		c->frame = &w->cfg->messages[w->next_msg++ % w->cfg->nmessages];
		c->sent = 0;
		w->due_sent++;
		conn_write(w, c, now);
	}
}

static void *ws_worker_main(void *arg)
{
	struct ws_worker *w = arg;
	struct epoll_event evs[128];
	for (int i = 0; i < w->nconns; i++)
		if (conn_open(w, &w->conns[i]))
			w->res.handshake_errors++;
	bool backlog = false;   /* a connection stopped at its burst, not at a full socket */
	for (;;) {
		double now = mono();
		if (now > w->end)
			break;
		int ms = backlog ? 0 : w->rate > 0 ? 1 : (int)((w->end - now) * 1000) + 1;
		int n = epoll_wait(w->epfd, evs, 128, ms > 50 ? 50 : ms);
		if (n < 0 && errno != EINTR)
			break;
		now = mono();
		for (int i = 0; i < n; i++) {
			struct ws_conn *c = evs[i].data.ptr;
			if (c->fd < 0)
				continue;
			if (c->st == W_CONNECTING && (evs[i].events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
				int e = 0;
				socklen_t l = sizeof e;
				getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &e, &l);
				if (e || (evs[i].events & EPOLLERR)) {
					w->res.handshake_errors++;
					conn_drop(w, c);
					continue;
				}
				c->st = W_HANDSHAKE;
			}
			if (evs[i].events & EPOLLOUT) {
				c->writable = true;
				conn_write(w, c, now);
			}
			if (c->fd >= 0 && (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
				conn_read(w, c, now);
		}
		dispatch(w, now);
		for (int i = 0; i < w->nconns; i++) {
			struct ws_conn *c = &w->conns[i];
			if (c->st == W_DEAD && c->retry_at > 0 && c->retry_at <= now && conn_open(w, c))
				w->res.handshake_errors++;
		}
		backlog = false;
		for (int i = 0; i < w->nconns; i++) {
			struct ws_conn *c = &w->conns[i];
			if (c->st == W_OPEN && c->frame && c->writable) {
				conn_write(w, c, mono());
				backlog |= c->st == W_OPEN && c->frame && c->writable;
			}
		}
	}
	if (w->rate > 0) {
		uint64_t due = (uint64_t)((w->end - w->t0) * w->rate);
		uint64_t due_before = (uint64_t)((w->warm_end - w->t0) * w->rate);
		uint64_t in_window = due > due_before ? due - due_before : 0;
		if (in_window > w->res.sent)
			w->res.not_sent = in_window - w->res.sent;
	}
	for (int i = 0; i < w->nconns; i++)
		conn_drop(w, &w->conns[i]);
	return NULL;
}

int perf_ws_run(const struct perf_ws_load *cfg, struct perf_ws_result *out, struct ac_error *err)
{
	int nthreads = cfg->threads > 0 ? cfg->threads : 1, rc = 0;
	struct ws_worker *ws;
	pthread_t *th;
	double t0 = mono();

	memset(out, 0, sizeof *out);
	if (!cfg->nmessages || cfg->connections < 1)
		return ac_error_set(err, AC_EINVAL, NULL, "websocket load: no messages or no connections");
	if (nthreads > cfg->connections)
		nthreads = cfg->connections;
	ws = calloc((size_t)nthreads, sizeof *ws);
	th = calloc((size_t)nthreads, sizeof *th);
	if (!ws || !th) {
		free(ws);
		free(th);
		return ac_error_set(err, AC_ENOMEM, NULL, "out of memory");
	}
	for (int i = 0; i < nthreads; i++) {
		struct ws_worker *w = &ws[i];
		w->cfg = cfg;
		w->index = i;
		w->addr.sin_family = AF_INET;
		w->addr.sin_port = htons((uint16_t)cfg->port);
		inet_pton(AF_INET, "127.0.0.1", &w->addr.sin_addr);
		w->nconns = cfg->connections / nthreads + (i < cfg->connections % nthreads);
		w->conns = calloc((size_t)w->nconns, sizeof *w->conns);
		w->epfd = epoll_create1(EPOLL_CLOEXEC);
		w->t0 = t0;
		w->warm_end = t0 + cfg->warmup;
		w->end = t0 + cfg->warmup + cfg->duration;
		w->rate = cfg->rate > 0 ? cfg->rate / nthreads : 0;
		w->next_msg = (uint64_t)i * 7919;
		if (!w->conns || w->epfd < 0) {
			rc = ac_error_set(err, AC_EIO, NULL, "websocket load: cannot set up epoll");
			break;
		}
		for (int k = 0; k < w->nconns; k++)
			w->conns[k].fd = -1;
	}
	int started = 0;
	for (; !rc && started < nthreads; started++)
		if (pthread_create(&th[started], NULL, ws_worker_main, &ws[started])) {
			rc = ac_error_set(err, AC_EIO, NULL, "websocket load: cannot start a thread");
			break;
		}
	for (int i = 0; i < nthreads; i++) {
		struct ws_worker *w = &ws[i];
		if (i < started)
			pthread_join(th[i], NULL);
		out->sent += w->res.sent;
		out->connected += w->res.connected;
		out->handshake_errors += w->res.handshake_errors;
		out->conn_errors += w->res.conn_errors;
		out->not_sent += w->res.not_sent;
		if (!out->refused[0] && w->res.refused[0])
			memcpy(out->refused, w->res.refused, sizeof out->refused);
		if (w->epfd > 0)
			close(w->epfd);
		free(w->conns);
	}
	out->seconds = cfg->duration;
	free(ws);
	free(th);
	return rc;
}

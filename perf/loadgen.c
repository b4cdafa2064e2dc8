/*
 * loadgen.c — the HTTP/1.1 load generator of `autocoder bench` (perf.h).
 *
 * Plain non-blocking sockets and one epoll set per thread; every connection is keep-alive and
 * has at most one request in flight. Two modes:
 *   closed loop (rate 0): each connection sends its next request as soon as the previous answer
 *     arrived, so the offered load is the concurrency;
 *   open loop (rate r): request k of a thread is due at t0 + k / (r / threads). A due request
 *     goes out on any idle connection; when none is idle it waits, and its latency still runs
 *     from the time it was due (no coordinated omission, as wrk2 does). A timerfd wakes the
 *     thread at the next due time.
 * Latencies go into a log-linear histogram (64 sub-buckets per power of two of microseconds,
 * about 1.6 % resolution), answers are counted by status, failed connections and unparseable
 * answers as connection errors. Responses are parsed far enough to find their end
 * (Content-Length or chunked); the body is discarded.
 */
#include "core/common.h"
#include "perf/perf.h"

#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <stdatomic.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define RBUF 16384
#define GRACE 2.0   /* seconds to wait for answers after the window */

/* ---------------------------------------------------------------- histogram */

static int hist_index(uint64_t us)
{
	if (us < PERF_HIST_SUB)
		return (int)us;
	int msb = 63 - __builtin_clzll(us);          /* >= 6 */
	int shift = msb - 6;
	int idx = (shift + 1) * PERF_HIST_SUB + (int)((us >> shift) - PERF_HIST_SUB);
	return idx < PERF_HIST_BUCKETS ? idx : PERF_HIST_BUCKETS - 1;
}

static uint64_t hist_value(int idx)
{
	if (idx < PERF_HIST_SUB)
		return (uint64_t)idx;
	int shift = idx / PERF_HIST_SUB - 1;
	uint64_t base = (uint64_t)(idx % PERF_HIST_SUB + PERF_HIST_SUB) << shift;
	return base + ((1ull << shift) >> 1);       /* middle of the bucket */
}

void perf_hist_add(struct perf_hist *h, uint64_t us)
{
	h->count[hist_index(us)]++;
	h->n++;
	h->sum_us += us;
	if (us > h->max_us)
		h->max_us = us;
}

void perf_hist_merge(struct perf_hist *into, const struct perf_hist *h)
{
	for (int i = 0; i < PERF_HIST_BUCKETS; i++)
		into->count[i] += h->count[i];
	into->n += h->n;
	into->sum_us += h->sum_us;
	if (h->max_us > into->max_us)
		into->max_us = h->max_us;
}

double perf_hist_quantile_ms(const struct perf_hist *h, double q)
{
	uint64_t want, seen = 0;
	if (!h->n)
		return 0;
	want = (uint64_t)ceil(q * (double)h->n);
	if (want < 1)
		want = 1;
	for (int i = 0; i < PERF_HIST_BUCKETS; i++) {
		seen += h->count[i];
		if (seen >= want) {
			uint64_t v = hist_value(i);
			return (double)(v > h->max_us ? h->max_us : v) / 1000.0;
		}
	}
	return (double)h->max_us / 1000.0;
}

/* ---------------------------------------------------------------- connections */

enum conn_state { C_IDLE, C_CONNECTING, C_SENDING, C_READING };

struct conn {
	int fd;
	enum conn_state st;
	const struct perf_request *req;
	size_t sent;
	double intended, started;
	double retry_at;          /* after a failed connection: not before this time */
	size_t skip;              /* body bytes still to discard (a body larger than buf) */
	int skip_status;
	bool skip_close;
	char buf[RBUF];
	size_t have;
};

struct worker {
	const struct perf_load *cfg;
	atomic_ullong *answers;       /* shared by all threads, for the progress callback */
	int index;
	double next_progress;
	struct sockaddr_in addr;
	struct conn *conns;
	int nconns, epfd, tfd;
	double t0, warm_end, end, rate;
	uint64_t next_req, sent_idx;
	struct perf_load_result res;
	int err;
};

static double mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void count_status_n(struct perf_load_result *r, int status, uint64_t n)
{
	for (int i = 0; i < r->nstatus; i++)
		if (r->status[i].code == status) {
			r->status[i].count += n;
			return;
		}
	if (r->nstatus < PERF_MAX_STATUS) {
		r->status[r->nstatus].code = status;
		r->status[r->nstatus++].count = n;
	}
}

static void count_status(struct perf_load_result *r, int status)
{
	count_status_n(r, status, 1);
}

static void conn_close(struct worker *w, struct conn *c)
{
	if (c->fd >= 0) {
		epoll_ctl(w->epfd, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
	}
	c->fd = -1;
	c->st = C_IDLE;
	c->have = 0;
}

static int conn_open(struct worker *w, struct conn *c)
{
	int one = 1;
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLET, .data.ptr = c };
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return -1;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (connect(c->fd, (struct sockaddr *)&w->addr, sizeof w->addr) && errno != EINPROGRESS) {
		close(c->fd);
		c->fd = -1;
		return -1;
	}
	if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, c->fd, &ev)) {
		close(c->fd);
		c->fd = -1;
		return -1;
	}
	c->st = C_CONNECTING;
	return 0;
}

/* A request counts when it was due (open loop) or sent (closed loop) inside the window;
 * its answer may come in the grace period after it. */
static bool recording(const struct worker *w, const struct conn *c)
{
	double t = w->rate > 0 ? c->intended : c->started;
	return t >= w->warm_end && t <= w->end;
}

/* The request failed on the wire: count it (when in the window), reconnect later. */
static void conn_failed(struct worker *w, struct conn *c, double now)
{
	if (c->req && recording(w, c))
		w->res.conn_errors++;
	c->req = NULL;
	c->retry_at = now + 0.01;   /* a refusing server is not hammered */
	c->skip = 0;
	conn_close(w, c);
}

static int try_send(struct worker *w, struct conn *c, double now)
{
	while (c->sent < c->req->len) {
		ssize_t n = send(c->fd, c->req->data + c->sent, c->req->len - c->sent, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOTCONN) {
				c->st = C_SENDING;
				return 0;
			}
			conn_failed(w, c, now);
			return -1;
		}
		c->sent += (size_t)n;
	}
	c->st = C_READING;
	return 0;
}

/* Start the next request on connection c (intended: when it was due). */
static void conn_start(struct worker *w, struct conn *c, double intended, double now)
{
	const struct perf_load *cfg = w->cfg;
	c->req = &cfg->requests[w->next_req++ % cfg->nrequests];
	c->sent = 0;
	c->have = 0;
	c->intended = intended;
	c->started = now;
	if (c->fd < 0 && conn_open(w, c)) {
		conn_failed(w, c, now);
		return;
	}
	if (c->st == C_CONNECTING)
		return;   /* sent when the socket becomes writable */
	try_send(w, c, now);
}

/* Parse what arrived: 1 when a whole response is in c->buf (status set, *close when the
 * server closes), 0 when more is needed, -1 when it is not HTTP. */
static int parse_response(struct conn *c, int *status, bool *close_after)
{
	char *hdr_end = memmem(c->buf, c->have, "\r\n\r\n", 4);
	size_t head, need;
	long clen = -1;
	bool chunked = false;
	if (!hdr_end)
		return c->have >= sizeof c->buf ? -1 : 0;
	head = (size_t)(hdr_end - c->buf) + 4;
	if (c->have < 12 || memcmp(c->buf, "HTTP/1.", 7))
		return -1;
	*status = (int)strtol(c->buf + 9, NULL, 10);
	*close_after = false;
	for (char *p = memchr(c->buf, '\n', head); p && p < hdr_end; p = memchr(p + 1, '\n', (size_t)(hdr_end - p))) {
		char *l = p + 1;
		if (!strncasecmp(l, "content-length:", 15))
			clen = strtol(l + 15, NULL, 10);
		else if (!strncasecmp(l, "transfer-encoding:", 18) && strstr(l, "chunked") &&
			 strstr(l, "chunked") < hdr_end)
			chunked = true;
		else if (!strncasecmp(l, "connection:", 11) && !strncasecmp(l + 11 + strspn(l + 11, " "), "close", 5))
			*close_after = true;
	}
	if (chunked) {
		size_t pos = head;
		for (;;) {
			char *eol = memmem(c->buf + pos, c->have - pos, "\r\n", 2);
			if (!eol)
				return c->have >= sizeof c->buf ? -1 : 0;
			size_t sz = strtoul(c->buf + pos, NULL, 16);
			pos = (size_t)(eol - c->buf) + 2 + sz + 2;
			if (pos > c->have)
				return pos > sizeof c->buf ? -1 : 0;
			if (!sz)
				break;
		}
		return 1;
	}
	if (clen < 0)
		clen = 0;   /* no length: our servers always send one; treat as empty */
	need = head + (size_t)clen;
	if (need > c->have) {
		if (need > sizeof c->buf) {
			/* a body larger than the buffer: discard it as it arrives */
			c->skip = need - c->have;
			c->skip_status = *status;
			c->skip_close = *close_after;
			c->have = 0;
		}
		return 0;
	}
	return 1;
}

static void conn_readable(struct worker *w, struct conn *c, double now)
{
	for (;;) {
		ssize_t n = recv(c->fd, c->buf + c->have, sizeof c->buf - c->have, 0);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
			conn_failed(w, c, now);
			return;
		}
		if (n < 0)
			return;
		int status;
		bool close_after;
		if (c->skip) {
			if ((size_t)n < c->skip) {
				c->skip -= (size_t)n;
				continue;
			}
			c->skip = 0;
			status = c->skip_status;
			close_after = c->skip_close;
		} else {
			c->have += (size_t)n;
			if (c->st != C_READING)
				continue;
			int p = parse_response(c, &status, &close_after);
			if (p < 0) {
				conn_failed(w, c, now);
				return;
			}
			if (p == 0)
				continue;
		}
		if (recording(w, c)) {
			double lat = now - (w->rate > 0 ? c->intended : c->started);
			perf_hist_add(&w->res.hist, (uint64_t)(lat * 1e6));
			count_status(&w->res, status);
			w->res.responses++;
		}
		atomic_fetch_add_explicit(w->answers, 1, memory_order_relaxed);
		c->req = NULL;
		c->st = C_IDLE;
		c->have = 0;
		if (close_after)
			conn_close(w, c);
		return;
	}
}

static void arm_timer(struct worker *w, double at)
{
	struct itimerspec its = { 0 };
	double d = at - mono();
	if (d < 1e-6)
		d = 1e-6;
	its.it_value.tv_sec = (time_t)d;
	its.it_value.tv_nsec = (long)((d - (double)(time_t)d) * 1e9);
	timerfd_settime(w->tfd, 0, &its, NULL);
}

/* Send what is due: closed loop, every idle connection; open loop, due requests in order. */
static void dispatch(struct worker *w, double now)
{
	if (now > w->end)
		return;
	if (w->rate <= 0) {
		for (int i = 0; i < w->nconns; i++)
			if (w->conns[i].st == C_IDLE && w->conns[i].retry_at <= now)
				conn_start(w, &w->conns[i], now, now);
		return;
	}
	uint64_t due = (uint64_t)((now - w->t0) * w->rate) + 1;
	for (int i = 0; i < w->nconns && w->sent_idx < due; i++)
		if (w->conns[i].st == C_IDLE && w->conns[i].retry_at <= now) {
			conn_start(w, &w->conns[i], w->t0 + (double)w->sent_idx / w->rate, now);
			w->sent_idx++;
		}
	if (w->sent_idx >= due)
		arm_timer(w, w->t0 + (double)w->sent_idx / w->rate);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct epoll_event evs[256];
	uint64_t ticks;

	dispatch(w, mono());
	for (;;) {
		double now = mono();
		/* after the window: no new requests (dispatch stops), answers to those still out
		 * are awaited for up to GRACE seconds */
		if (now > w->end) {
			bool out = false;
			for (int i = 0; i < w->nconns && !out; i++)
				out = w->conns[i].req != NULL;
			if (!out || now > w->end + GRACE)
				break;
		}
		double until = now > w->end ? w->end + GRACE : w->end;
		int ms = (int)((until - now) * 1000) + 1;
		int n = epoll_wait(w->epfd, evs, 256, ms > 100 ? 100 : ms);
		if (n < 0 && errno != EINTR)
			break;
		now = mono();
		for (int i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;
			if (!c) {
				if (read(w->tfd, &ticks, sizeof ticks) < 0)
					(void)0;
				continue;
			}
			if (c->fd < 0)
				continue;
			if (evs[i].events & (EPOLLERR | EPOLLHUP) && !(evs[i].events & EPOLLIN)) {
				conn_failed(w, c, now);
				continue;
			}
			if (c->st == C_CONNECTING && (evs[i].events & EPOLLOUT)) {
				int e = 0;
				socklen_t l = sizeof e;
				getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &e, &l);
				if (e) {
					conn_failed(w, c, now);
					continue;
				}
				c->st = C_SENDING;
			}
			if (c->st == C_SENDING && (evs[i].events & EPOLLOUT))
				if (try_send(w, c, now))
					continue;
			if (evs[i].events & EPOLLIN)
				conn_readable(w, c, now);
		}
		dispatch(w, now);
		if (!w->index && w->cfg->progress && now >= w->next_progress) {
			w->next_progress = now + 0.5;
			w->cfg->progress(w->cfg->progress_arg, now - w->t0,
					 atomic_load_explicit(w->answers, memory_order_relaxed));
		}
		if (w->rate <= 0 && n == 0) {
			/* failed connections in closed loop: retry, but not in a tight loop */
			struct timespec ts = { 0, 1000000 };
			nanosleep(&ts, NULL);
		}
	}
	/* requests still out at the end: in open loop a request due long ago and unanswered
	 * is a latency we must not drop; count it at its age */
	double now = mono();
	for (int i = 0; i < w->nconns; i++) {
		struct conn *c = &w->conns[i];
		if (c->req && recording(w, c)) {
			/* no answer within the grace period: an error, and in open loop a latency
			 * we must not drop (counted at its age) */
			if (w->rate > 0)
				perf_hist_add(&w->res.hist, (uint64_t)((now - c->intended) * 1e6));
			w->res.unanswered++;
		}
		conn_close(w, c);
	}
	if (w->rate > 0) {
		uint64_t due = (uint64_t)((w->end - w->t0) * w->rate);
		if (due > w->sent_idx)
			w->res.not_sent = due - w->sent_idx;
	}
	return NULL;
}

/* Many connections need many descriptors: raise the soft limit towards the hard one. */
static void raise_fd_limit(int connections)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur >= (rlim_t)connections + 64)
		return;
	rl.rlim_cur = rl.rlim_max < (rlim_t)connections + 64 ? rl.rlim_max : (rlim_t)connections + 64;
	setrlimit(RLIMIT_NOFILE, &rl);
}

int perf_load_run(const struct perf_load *cfg, struct perf_load_result *out, struct ac_error *err)
{
	int nthreads = cfg->threads > 0 ? cfg->threads : 1;
	struct worker *ws;
	pthread_t *th;
	int rc = 0;
	double t0;
	atomic_ullong answers = 0;

	memset(out, 0, sizeof *out);
	raise_fd_limit(cfg->connections);
	if (!cfg->nrequests || cfg->connections < 1)
		return ac_error_set(err, AC_EINVAL, NULL, "load: no requests or no connections");
	if (nthreads > cfg->connections)
		nthreads = cfg->connections;
	ws = calloc((size_t)nthreads, sizeof *ws);
	th = calloc((size_t)nthreads, sizeof *th);
	if (!ws || !th) {
		free(ws);
		free(th);
		return ac_error_set(err, AC_ENOMEM, NULL, "out of memory");
	}
	t0 = mono();
	for (int i = 0; i < nthreads; i++) {
		struct worker *w = &ws[i];
		w->cfg = cfg;
		w->answers = &answers;
		w->index = i;
		w->addr.sin_family = AF_INET;
		w->addr.sin_port = htons((uint16_t)cfg->port);
		inet_pton(AF_INET, "127.0.0.1", &w->addr.sin_addr);
		w->nconns = cfg->connections / nthreads + (i < cfg->connections % nthreads);
		w->conns = calloc((size_t)w->nconns, sizeof *w->conns);
		w->epfd = epoll_create1(EPOLL_CLOEXEC);
		w->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
		w->next_req = (uint64_t)i * 7919;   /* threads start at different requests */
		w->t0 = t0;
		w->warm_end = t0 + cfg->warmup;
		w->end = t0 + cfg->warmup + cfg->duration;
		w->rate = cfg->rate > 0 ? cfg->rate / nthreads : 0;
		if (!w->conns || w->epfd < 0 || w->tfd < 0) {
			rc = ac_error_set(err, AC_EIO, NULL, "load: cannot set up epoll");
			continue;
		}
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
		epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->tfd, &ev);
		for (int k = 0; k < w->nconns; k++)
			w->conns[k].fd = -1;
	}
	for (int i = 0; i < nthreads && !rc; i++)
		if (pthread_create(&th[i], NULL, worker_main, &ws[i]))
			rc = ac_error_set(err, AC_EIO, NULL, "load: cannot start a thread");
		else
			ws[i].err = 1;   /* started */
	for (int i = 0; i < nthreads; i++) {
		struct worker *w = &ws[i];
		if (w->err)
			pthread_join(th[i], NULL);
		perf_hist_merge(&out->hist, &w->res.hist);
		out->responses += w->res.responses;
		out->conn_errors += w->res.conn_errors;
		out->unanswered += w->res.unanswered;
		out->not_sent += w->res.not_sent;
		for (int k = 0; k < w->res.nstatus; k++)
			count_status_n(out, w->res.status[k].code, w->res.status[k].count);
		if (w->epfd >= 0)
			close(w->epfd);
		if (w->tfd >= 0)
			close(w->tfd);
		free(w->conns);
	}
	out->seconds = cfg->duration;
	free(ws);
	free(th);
	return rc;
}

/*
 * rt_ws.c — the WebSocket component: broadcasts every input message, as a JSON text frame, to
 * all connected clients (RFC 6455, handshake and upgrade through libmicrohttpd).
 *
 * MHD answers the HTTP handshake (101 with Sec-WebSocket-Accept = base64(SHA-1(key + GUID)))
 * and hands the raw socket to upgrade_cb, which adds the client to a list. From then on only
 * the component's thread touches client sockets: process() writes each message to every
 * client (a client that cannot take a frame within 1 s is dropped, so one slow browser cannot
 * stall the pipeline), and tick() reads what clients sent — answering pings, honouring close
 * frames — and sends a ping every heartbeat_interval seconds. max_connections caps the list
 * (a handshake beyond it gets 503). Every upgraded connection is released with
 * MHD_upgrade_action(CLOSE), never close(2), as MHD requires.
 *
 * Ingress: when the component's `messages` output is bound, clients' text frames carrying a
 * JSON object are emitted there. A reader thread ("<instance>-ws") then owns the clients'
 * input instead of tick(): it polls the sockets, parses frames under the list lock (pings and
 * closes answered as tick() does), and emits the messages after releasing it, blocking while
 * the next queue is full, so TCP pushes back on the clients (backpressure) and the lock is
 * never held across a full queue (a pipeline that broadcasts back cannot deadlock).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "rt_int.h"
#include "rt_util.h"

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define WS_INBUF 4096

#define WS_BATCH 64

struct ws_client {
	MHD_socket fd;
	struct MHD_UpgradeResponseHandle *urh;
	unsigned char in[WS_INBUF];
	size_t inlen;
	bool dead;
};

struct ws_state {
	struct MHD_Daemon *d;
	struct rt_component *c;
	pthread_mutex_t lock;     /* guards the list between MHD's thread and ours */
	struct ws_client **cl;
	size_t n, max;
	double heartbeat, last_ping;
	atomic_ullong sent_frames;
	bool ingress;             /* `messages` bound: the reader thread reads the clients */
	pthread_t reader;
	atomic_bool stop;
	json_t *pending[WS_BATCH];  /* parsed client messages, emitted by the reader thread */
	size_t npending;
};

static void *ws_reader(void *arg);

static int send_all(MHD_socket fd, const unsigned char *p, size_t n, int timeout_ms)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
			struct pollfd pf = { .fd = fd, .events = POLLOUT };
			if (poll(&pf, 1, timeout_ms) <= 0)
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

/* Write one unmasked server frame. */
static int send_frame(struct ws_client *cl, int opcode, const void *payload, size_t len)
{
	unsigned char head[10];
	size_t hl = 2;
	head[0] = (unsigned char)(0x80 | opcode);
	if (len < 126) {
		head[1] = (unsigned char)len;
	} else if (len < 65536) {
		head[1] = 126;
		head[2] = (unsigned char)(len >> 8);
		head[3] = (unsigned char)len;
		hl = 4;
	} else {
		head[1] = 127;
		for (int i = 0; i < 8; i++)
			head[2 + i] = (unsigned char)((uint64_t)len >> (56 - 8 * i));
		hl = 10;
	}
	if (send_all(cl->fd, head, hl, 1000) || send_all(cl->fd, payload, len, 1000)) {
		cl->dead = true;
		return -1;
	}
	return 0;
}

static void upgrade_cb(void *cls, struct MHD_Connection *conn, void *con_cls,
		       const char *extra_in, size_t extra_in_size, MHD_socket sock,
		       struct MHD_UpgradeResponseHandle *urh)
{
	struct ws_state *st = cls;
	struct ws_client *cl = calloc(1, sizeof *cl);
	(void)conn;
	(void)con_cls;
	pthread_mutex_lock(&st->lock);
	if (!cl || st->n >= st->max) {
		pthread_mutex_unlock(&st->lock);
		free(cl);
		MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
		return;
	}
	cl->fd = sock;
	cl->urh = urh;
	if (extra_in_size && extra_in_size <= WS_INBUF) {
		memcpy(cl->in, extra_in, extra_in_size);
		cl->inlen = extra_in_size;
	}
	st->cl[st->n++] = cl;
	pthread_mutex_unlock(&st->lock);
	rt_log(st->c, "info", NULL, "websocket client connected",
	       json_pack("{s:i}", "clients", (int)st->n));
}

static enum MHD_Result ws_handler(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version,
				  const char *upload_data, size_t *upload_data_size, void **con_cls)
{
	struct ws_state *st = cls;
	const char *upgrade, *key;
	unsigned char digest[20];
	char buf[128], accept[32];
	struct MHD_Response *r;
	enum MHD_Result ret;
	bool handled;
	size_t n;
	(void)version;
	(void)upload_data;

	if (!*con_cls) {
		*con_cls = (void *)1;
		return MHD_YES;
	}
	*upload_data_size = 0;
	ret = rt_http_builtin(conn, url, &handled);
	if (handled)
		return ret;
	if (strcmp(url, rt_cfg_str(st->c, "path", "/ws")) && strcmp(url, "/"))
		return rt_http_send_json(conn, 404, json_pack("{s:s, s:s}", "error", "not found",
							      "websocket", rt_cfg_str(st->c, "path",
										      "/ws")), "ws");
	upgrade = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Upgrade");
	key = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Sec-WebSocket-Key");
	if (strcmp(method, "GET") || !upgrade || strcasecmp(upgrade, "websocket") || !key ||
	    strlen(key) > 64)
		return rt_http_send_json(conn, 400, json_pack("{s:s}", "error",
							      "WebSocket upgrade expected"), "ws");
	pthread_mutex_lock(&st->lock);
	n = st->n;
	pthread_mutex_unlock(&st->lock);
	if (n >= st->max || atomic_load(&rt_sys->draining))
		return rt_http_send_json(conn, 503, json_pack("{s:s}", "error",
							      "too many connections"), "ws");
	snprintf(buf, sizeof buf, "%s%s", key, WS_GUID);
	rt_sha1((const unsigned char *)buf, strlen(buf), digest);
	rt_base64(digest, 20, accept);
	r = MHD_create_response_for_upgrade(upgrade_cb, st);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, "Upgrade", "websocket");
	MHD_add_response_header(r, "Sec-WebSocket-Accept", accept);
	ret = MHD_queue_response(conn, MHD_HTTP_SWITCHING_PROTOCOLS, r);
	MHD_destroy_response(r);
	rt_metrics_http("ws", 101);
	return ret;
}

static int ws_init(struct rt_component *c)
{
	struct ws_state *st = calloc(1, sizeof *st);
	int port = rt_port_of(c, 8081);
	struct sockaddr_in sa;
	char shown[256];

	if (!st)
		return rt_fail(c, "out of memory");
	c->state = st;
	st->c = c;
	pthread_mutex_init(&st->lock, NULL);
	st->max = (size_t)rt_cfg_num(c, "max_connections", 100);
	st->heartbeat = rt_cfg_num(c, "heartbeat_interval", 30);
	st->last_ping = rt_mono();
	st->cl = calloc(st->max + 1, sizeof *st->cl);
	if (!st->cl)
		return rt_fail(c, "out of memory");
	if (rt_bind_address(rt_cfg_str(c, "host", NULL), port, &sa, shown, sizeof shown))
		return rt_fail(c, "host '%s' does not resolve to an IPv4 address", shown);
	st->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_UPGRADE |
				 MHD_USE_ERROR_LOG,
				 (uint16_t)port, NULL, NULL, ws_handler, st,
				 MHD_OPTION_SOCK_ADDR, &sa,
				 MHD_OPTION_EXTERNAL_LOGGER, rt_mhd_log, c,
				 MHD_OPTION_CONNECTION_TIMEOUT, 60u,
				 MHD_OPTION_PER_IP_CONNECTION_LIMIT, RT_HTTP_PER_IP_LIMIT, MHD_OPTION_END);
	if (!st->d)
		return rt_fail(c, "cannot listen on port %d", port);
	st->ingress = rt_port_bound(c, "messages", false);
	if (st->ingress && pthread_create(&st->reader, NULL, ws_reader, c)) {
		st->ingress = false;
		return rt_fail(c, "cannot start the websocket reader thread");
	}
	rt_log(c, "info", NULL, "websocket listening", json_pack("{s:i, s:b}", "port", port,
								 "ingress", st->ingress));
	return 0;
}

static void drop_dead(struct ws_state *st)
{
	pthread_mutex_lock(&st->lock);
	for (size_t i = st->n; i-- > 0;) {
		struct ws_client *cl = st->cl[i];
		if (!cl->dead)
			continue;
		MHD_upgrade_action(cl->urh, MHD_UPGRADE_ACTION_CLOSE);
		free(cl);
		st->cl[i] = st->cl[--st->n];
	}
	pthread_mutex_unlock(&st->lock);
}

static int ws_process(struct rt_component *c, struct rt_msg *m)
{
	struct ws_state *st = c->state;
	char *text = json_dumps(m->data, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(15));
	size_t len;
	if (!text)
		return rt_fail(c, "cannot serialise message");
	len = strlen(text);
	pthread_mutex_lock(&st->lock);
	for (size_t i = 0; i < st->n; i++)
		if (!st->cl[i]->dead && send_frame(st->cl[i], 0x1, text, len) == 0)
			atomic_fetch_add(&st->sent_frames, 1);
	pthread_mutex_unlock(&st->lock);
	free(text);
	drop_dead(st);
	/* bound outputs (a broadcast log) get what was broadcast; `messages` carries the clients' */
	if (!c->noutq)
		return 0;
	if (!st->ingress)
		return rt_emit(c, NULL, m, json_incref(m->data));
	for (size_t i = 0; i < c->noutq; i++)
		if (strcmp(c->outq[i]->def->from_port, "messages"))
			return rt_emit(c, c->outq[i]->def->from_port, m, json_incref(m->data));
	return 0;
}

/* Parse complete client frames in cl->in; answer pings and closes; with st->ingress, text
 * frames with a JSON object go to st->pending (until it is full: the rest waits in cl->in). */
static void handle_input(struct ws_state *st, struct ws_client *cl)
{
	for (;;) {
		unsigned char *p = cl->in;
		size_t have = cl->inlen, hl = 2, len;
		int opcode;
		if (have < 2)
			return;
		opcode = p[0] & 0x0f;
		len = p[1] & 0x7f;
		if (len == 126) {
			if (have < 4)
				return;
			len = (size_t)p[2] << 8 | p[3];
			hl = 4;
		} else if (len == 127) {
			cl->dead = true;   /* nothing we accept is that large */
			return;
		}
		if (p[1] & 0x80)
			hl += 4;
		if (hl + len > WS_INBUF) {
			cl->dead = true;
			return;
		}
		if (have < hl + len)
			return;
		unsigned char *payload = p + hl;
		if (p[1] & 0x80)
			for (size_t i = 0; i < len; i++)
				payload[i] ^= p[hl - 4 + i % 4];
		if (opcode == 0x8) {
			send_frame(cl, 0x8, payload, len < 2 ? len : 2);
			cl->dead = true;
			return;
		}
		if (opcode == 0x9)
			send_frame(cl, 0xA, payload, len);
		if (opcode == 0x1 && st->ingress) {
			json_t *j;
			if (st->npending == WS_BATCH) {
				if (p[1] & 0x80)   /* parsed again next time: mask it back */
					for (size_t i = 0; i < len; i++)
						payload[i] ^= p[hl - 4 + i % 4];
				return;
			}
			j = json_loadb((const char *)payload, len, 0, NULL);
			if (json_is_object(j))
				st->pending[st->npending++] = j;
			else
				json_decref(j);
		}
		memmove(cl->in, cl->in + hl + len, have - hl - len);
		cl->inlen = have - hl - len;
	}
}

/* Read what the clients sent (tick(), or the reader thread when the ingress is on). */
static void read_clients(struct ws_state *st)
{
	for (size_t i = 0; i < st->n; i++) {
		struct ws_client *cl = st->cl[i];
		if (st->ingress && cl->inlen)
			handle_input(st, cl);   /* frames left over when the batch was full */
		for (;;) {
			ssize_t r;
			if (cl->dead || cl->inlen == WS_INBUF)
				break;
			r = recv(cl->fd, cl->in + cl->inlen, WS_INBUF - cl->inlen, MSG_DONTWAIT);
			if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
				cl->dead = true;
				break;
			}
			if (r < 0)
				break;
			cl->inlen += (size_t)r;
			handle_input(st, cl);
			if (st->npending == WS_BATCH)
				break;
		}
	}
}

static void *ws_reader(void *arg)
{
	struct rt_component *c = arg;
	struct ws_state *st = c->state;
	char tname[16];
	snprintf(tname, sizeof tname, "%.12s-ws", c->def->name);
	pthread_setname_np(pthread_self(), tname);
	bool more = false;   /* the last batch was full: frames may wait in the buffers */
	while (!atomic_load(&st->stop)) {
		struct pollfd pf[WS_BATCH];
		size_t n = 0;
		pthread_mutex_lock(&st->lock);
		for (size_t i = 0; i < st->n && n < WS_BATCH; i++)
			if (!st->cl[i]->dead) {
				pf[n].fd = st->cl[i]->fd;
				pf[n++].events = POLLIN;
			}
		pthread_mutex_unlock(&st->lock);
		if (poll(pf, n, more ? 0 : 100) <= 0 && !more)
			continue;
		json_t *batch[WS_BATCH];
		size_t nb;
		pthread_mutex_lock(&st->lock);
		read_clients(st);
		nb = st->npending;
		memcpy(batch, st->pending, nb * sizeof *batch);
		st->npending = 0;
		more = nb == WS_BATCH;
		pthread_mutex_unlock(&st->lock);
		for (size_t i = 0; i < nb; i++) {
			if (atomic_load(&rt_sys->draining)) {
				json_decref(batch[i]);
				continue;
			}
			atomic_fetch_add(&c->msgs_in, 1);
			rt_emit(c, "messages", NULL, batch[i]);
		}
	}
	return NULL;
}

static void ws_tick(struct rt_component *c, double now)
{
	struct ws_state *st = c->state;
	bool ping = st->heartbeat > 0 && now - st->last_ping >= st->heartbeat;
	if (ping)
		st->last_ping = now;
	pthread_mutex_lock(&st->lock);
	if (!st->ingress)
		read_clients(st);
	for (size_t i = 0; ping && i < st->n; i++)
		if (!st->cl[i]->dead)
			send_frame(st->cl[i], 0x9, "hb", 2);
	pthread_mutex_unlock(&st->lock);
	drop_dead(st);
}

static void ws_fini(struct rt_component *c)
{
	struct ws_state *st = c->state;
	if (st->ingress) {
		atomic_store(&st->stop, true);
		pthread_join(st->reader, NULL);
		for (size_t i = 0; i < st->npending; i++)
			json_decref(st->pending[i]);
	}
	pthread_mutex_lock(&st->lock);
	for (size_t i = 0; i < st->n; i++) {
		send_frame(st->cl[i], 0x8, "\x03\xe9", 2);   /* 1001 going away */
		st->cl[i]->dead = true;
	}
	pthread_mutex_unlock(&st->lock);
	drop_dead(st);
	if (st->d)
		MHD_stop_daemon(st->d);
	free(st->cl);
	pthread_mutex_destroy(&st->lock);
	free(st);
	c->state = NULL;
}

const struct rt_type_ops rt_websocket_ops = {
	.type_name = "WebSocket", .init = ws_init, .process = ws_process, .tick = ws_tick,
	.fini = ws_fini,
};

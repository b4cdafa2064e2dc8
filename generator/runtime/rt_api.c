/*
 * rt_api.c — the APIEndpoint: a libmicrohttpd server (epoll, a small thread pool, suspend and
 * resume) serving REST CRUD routes `/<resource>` and `/<resource>/{id}`, or an endpoint_path
 * whose POSTs feed the pipeline, plus /health, /ready and /metrics.
 *
 * Request/response correlation: when the endpoint's `response` input is bound (the usual
 * api -> controller -> store -> api loop) a request becomes a message carrying origin = this
 * component and a fresh correlation id; the handler registers the request in the pending table,
 * emits it (waiting at most ingress_timeout_ms for queue space, else 503 + Retry-After) and
 * suspends the connection. Whoever answers — the Store's reply arriving on `response`, or a
 * Controller rejecting the request via rt_reply — ends in rt_deliver_reply(), which fills the
 * request under the pending lock and resumes the connection; MHD then calls the handler again
 * and the response is queued. Suspension and the reply are ordered by the same lock, so a reply
 * that comes back before the handler has suspended is simply sent without suspending.
 * Requests that get no reply within request_timeout_ms are answered 504 from tick().
 * Without a bound `response` input, the request body itself is emitted and answered 202.
 *
 * Direct reads (config direct_reads, default true): when the endpoint is wired the usual way —
 * its only output goes to a Controller whose only output goes to a Store whose only output is
 * `response` back to this endpoint, no binding conditions, no crash hook on the three — a GET
 * of /<resource>/{id} or /<resource> is answered in the HTTP thread from a per-thread
 * read-only connection to the store's SQLite file (WAL lets it read while the store writes).
 * That skips two thread hops, the suspend/resume and the reply queue; a document whose stored
 * text is already what serialising it would give (rt_json_canonical) is sent as stored,
 * without parsing it (a list page of such documents too). The answer is what the store would have answered (same status, body,
 * counters: each of the three components counts the request in and out, and the read time
 * is observed in the store's latency histogram).
 * Writes still travel through the components, so their ordering, retries and dead letters
 * are unchanged, and a write's reply is sent after it committed, so a later GET sees it. A read
 * that SQLite fails (or a reader that cannot open) falls back to the component path.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "rt_int.h"
#include "rt_util.h"

enum req_state { REQ_NEW, REQ_WAITING, REQ_DONE };

struct api_req {
	struct rt_body *body;
	struct MHD_Connection *conn;
	enum req_state state;
	bool suspended, pending;
	uint64_t corr;
	double deadline;
	int status;
	json_t *resp;
	const char *route;        /* the route template (api_state strings) for metrics */
};

struct api_state {
	struct MHD_Daemon *d;
	struct rt_component *c;
	char collection[256];     /* "/todos" */
	char item_route[300];     /* "/todos/{id}" */
	char endpoint[256];       /* endpoint_path when it differs from the collection */
	json_t *methods;
	const json_t *body_schema; /* config body_schema (POST/PUT/PATCH bodies), or NULL */
	size_t max_body;
	int ingress_timeout_ms;
	double request_timeout;
	bool wait_reply;
	pthread_mutex_t lock;
	struct api_req **pending;
	size_t npending, cap;
	atomic_ullong next_corr;

	/* direct reads: the controller and store of the request loop, NULL when off */
	struct rt_component *ctl, *store;
	struct api_reader *readers;   /* every thread's reader, closed in fini (under lock) */
};

/* One MHD worker thread's connection to the store; tl_reader finds it again. */
struct api_reader {
	struct api_state *owner;
	struct rt_store_reader *rd;   /* NULL after a failed open, until retry_at */
	double retry_at;
	struct api_reader *next;
};

static _Thread_local struct api_reader *tl_reader;

static int pending_add(struct api_state *st, struct api_req *r)
{
	int rc = 0;
	pthread_mutex_lock(&st->lock);
	if (st->npending == st->cap) {
		size_t ncap = st->cap ? st->cap * 2 : 64;
		struct api_req **np = realloc(st->pending, ncap * sizeof *np);
		if (!np) {
			rc = -1;
			goto out;
		}
		st->pending = np;
		st->cap = ncap;
	}
	st->pending[st->npending++] = r;
	r->pending = true;
out:
	pthread_mutex_unlock(&st->lock);
	return rc;
}

/* Caller holds st->lock. */
static void pending_remove_locked(struct api_state *st, struct api_req *r)
{
	for (size_t i = 0; i < st->npending; i++)
		if (st->pending[i] == r) {
			st->pending[i] = st->pending[--st->npending];
			break;
		}
	r->pending = false;
}

/* Caller holds st->lock: complete r with status/body and wake its connection. */
static void complete_locked(struct api_state *st, struct api_req *r, int status, json_t *body)
{
	pending_remove_locked(st, r);
	r->status = status;
	r->resp = body;
	r->state = REQ_DONE;
	if (r->suspended) {
		r->suspended = false;
		MHD_resume_connection(r->conn);
	}
}

int rt_deliver_reply(struct rt_component *origin, uint64_t corr, int status, json_t *body)
{
	struct api_state *st = origin->state;
	int rc = -1;
	if (!st || origin->def->type != RT_API_ENDPOINT) {
		json_decref(body);
		return -1;
	}
	pthread_mutex_lock(&st->lock);
	for (size_t i = 0; i < st->npending; i++)
		if (st->pending[i]->corr == corr) {
			complete_locked(st, st->pending[i], status, body);
			body = NULL;
			rc = 0;
			break;
		}
	pthread_mutex_unlock(&st->lock);
	json_decref(body);   /* the client went away or timed out already */
	return rc;
}

/* A reply message {status, data | error} arriving on `response`. */
static int api_process(struct rt_component *c, struct rt_msg *m)
{
	json_t *msg = m->data, *st = json_object_get(msg, "status");
	json_t *data = json_object_get(msg, "data"), *body;
	int status = json_is_integer(st) ? (int)json_integer_value(st) : 200;
	if (!m->origin)
		return 0;   /* not a reply to one of our requests */
	if (data)
		body = json_incref(data);
	else if (json_object_get(msg, "error"))
		body = json_pack("{s:O}", "error", json_object_get(msg, "error"));
	else
		body = json_incref(msg);
	if (m->origin != c) {
		json_decref(body);
		return rt_fail(c, "reply for another endpoint");
	}
	rt_deliver_reply(c, m->corr, status, body);
	return 0;
}

static bool method_allowed(struct api_state *st, const char *method)
{
	size_t i;
	json_t *v;
	if (!json_is_array(st->methods) || !json_array_size(st->methods))
		return true;
	json_array_foreach(st->methods, i, v)
		if (json_is_string(v) && !strcasecmp(json_string_value(v), method))
			return true;
	return false;
}

static enum MHD_Result collect_query(void *cls, enum MHD_ValueKind kind, const char *key,
				     const char *value)
{
	(void)kind;
	json_object_set_new(cls, key, json_string(value ? value : ""));
	return MHD_YES;
}

static enum MHD_Result send_done(struct MHD_Connection *conn, struct api_req *r)
{
	json_t *body = r->resp;
	r->resp = NULL;
	if (r->status == 204) {
		json_decref(body);
		body = NULL;
	}
	return rt_http_send_json(conn, r->status, body, r->route);
}

/* ---------------------------------------------------------------- direct reads */

/* The only binding leaving c, when it has no condition; else NULL. */
static struct rt_queue *single_out(struct rt_component *c)
{
	return c->noutq == 1 && !c->outq[0]->cond ? c->outq[0] : NULL;
}

/* Decide at start-up whether GETs may be answered from the store directly (see the top). */
static void direct_setup(struct api_state *st)
{
	struct rt_component *c = st->c;
	struct rt_queue *q1 = single_out(c), *q2, *q3;

	if (!st->wait_reply || !rt_cfg_bool(c, "direct_reads", true) || !q1 ||
	    q1->to->def->type != RT_CONTROLLER)
		return;
	q2 = single_out(q1->to);
	if (!q2 || q2->to->def->type != RT_STORE)
		return;
	q3 = single_out(q2->to);
	if (!q3 || strcmp(q3->def->from_port, "response") || q3->to != c)
		return;
	/* the crash hook counts the messages a component's own function sees */
	if (c->crash_after || q1->to->crash_after || q2->to->crash_after)
		return;
	st->ctl = q1->to;
	st->store = q2->to;
}

/* This thread's reader of the store, opened on first use; NULL when it cannot be opened (the
 * component path answers meanwhile; the open is tried again after a second). */
static struct rt_store_reader *thread_reader(struct api_state *st)
{
	struct api_reader *ar = tl_reader;
	if (!ar || ar->owner != st) {
		ar = calloc(1, sizeof *ar);
		if (!ar)
			return NULL;
		ar->owner = st;
		pthread_mutex_lock(&st->lock);
		ar->next = st->readers;
		st->readers = ar;
		pthread_mutex_unlock(&st->lock);
		tl_reader = ar;
	}
	if (!ar->rd && rt_mono() >= ar->retry_at) {
		/* under the lock: api_tick walks the readers */
		struct rt_store_reader *rd = rt_store_reader_open(st->store);
		pthread_mutex_lock(&st->lock);
		ar->rd = rd;
		pthread_mutex_unlock(&st->lock);
		if (!rd) {
			ar->retry_at = rt_mono() + 1.0;
			rt_log(st->c, "warn", NULL, "direct reads: cannot open the store, using the "
			       "component path", json_pack("{s:s}", "store", st->store->def->name));
		}
	}
	return ar->rd;
}

/* The list command's limit and offset, taken from the query like the Controller does (the
 * last occurrence of a key wins, a non-number is 0). */
struct page_args {
	json_int_t limit, offset;
};

static enum MHD_Result collect_page(void *cls, enum MHD_ValueKind kind, const char *key,
				    const char *value)
{
	struct page_args *pa = cls;
	(void)kind;
	if (!strcmp(key, "limit"))
		pa->limit = value ? strtoll(value, NULL, 10) : 0;
	else if (!strcmp(key, "offset"))
		pa->offset = value ? strtoll(value, NULL, 10) : 0;
	return MHD_YES;
}

/* Count one request through controller and store as the component path would: the endpoint
 * receives the request and the reply and emits once; controller and store take one message
 * and emit one, each observing its part of the time. */
static void direct_account(struct api_state *st, double t0, double t1, double t2)
{
	atomic_fetch_add_explicit(&st->c->msgs_in, 2, memory_order_relaxed);
	atomic_fetch_add_explicit(&st->c->msgs_out, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&st->ctl->msgs_in, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&st->ctl->msgs_out, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&st->store->msgs_in, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&st->store->msgs_out, 1, memory_order_relaxed);
	rt_metrics_observe(st->ctl, t1 - t0);
	rt_metrics_observe(st->store, t2 - t1);
}

/* Answer GET /<resource>/{id} (id non-NULL) or GET /<resource> from the store. Returns true
 * when the request was answered (*res set), false when the component path must answer it. */
static bool direct_read(struct api_state *st, struct MHD_Connection *conn, struct api_req *r,
			const char *id, enum MHD_Result *res)
{
	struct rt_store_reader *rd;
	struct page_args pa = { 0, 0 };
	json_t *doc;
	char *text = NULL;
	size_t len = 0;
	double t0, t1, t2;
	int rc;

	if (!st->store || atomic_load(&rt_sys->ready_count) != (int)rt_sys->ncomps)
		return false;
	rd = thread_reader(st);
	if (!rd)
		return false;
	t0 = rt_mono();
	if (!id)
		MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, collect_page, &pa);
	t1 = rt_mono();
	rc = id ? rt_store_reader_get(rd, id, &doc, &text, &len) :
		  rt_store_reader_list(rd, pa.limit, pa.offset, &doc, &text, &len);
	if (rc)
		return false;
	t2 = rt_mono();
	direct_account(st, t0, t1, t2);
	r->state = REQ_DONE;
	if (text)   /* the stored text is exactly what serialising it again would give */
		*res = rt_http_send_text(conn, 200, text, len, r->route);
	else if (!doc)
		*res = rt_http_send_json(conn, 404, json_pack("{s:s}", "error", "not found"),
					 r->route);
	else
		*res = rt_http_send_json(conn, 200, doc, r->route);
	return true;
}

/* ---------------------------------------------------------------- requests */

static enum MHD_Result handle_request(struct api_state *st, struct MHD_Connection *conn,
				      struct api_req *r, const char *url, const char *method)
{
	struct rt_component *c = st->c;
	const char *id = NULL;
	size_t cl = strlen(st->collection);
	json_t *body = NULL, *data;
	struct rt_msg m;
	int rc;

	if (st->endpoint[0] && !strcmp(url, st->endpoint)) {
		r->route = st->endpoint;
	} else if (!strncmp(url, st->collection, cl) && (url[cl] == 0 || url[cl] == '/')) {
		if (url[cl] == '/' && url[cl + 1]) {
			id = url + cl + 1;
			if (strchr(id, '/'))
				return rt_http_send_json(conn, 404, json_pack("{s:s}", "error",
									      "not found"), "other");
			r->route = st->item_route;
		} else {
			r->route = st->collection;
		}
	} else {
		return rt_http_send_json(conn, 404, json_pack("{s:s}", "error", "not found"),
					 "other");
	}
	if (!method_allowed(st, method))
		return rt_http_send_json(conn, 405, json_pack("{s:s}", "error",
							      "method not allowed"), r->route);
	if (r->body->too_big)
		return rt_http_send_json(conn, 413, json_pack("{s:s, s:I}", "error",
							      "request body too large", "max_bytes",
							      (json_int_t)st->max_body), r->route);
	if (atomic_load(&rt_sys->draining))
		return rt_http_send_json(conn, 503, json_pack("{s:s}", "error", "shutting down"),
					 r->route);
	if (st->store && !r->body->len && !strcmp(method, "GET") && r->route != st->endpoint) {
		enum MHD_Result res;
		if (direct_read(st, conn, r, id, &res))
			return res;
	}
	if (r->body->len) {
		json_error_t je;
		body = json_loadb(r->body->data, r->body->len, 0, &je);
		if (!body) {
			rt_log(c, "warn", NULL, "invalid JSON body",
			       json_pack("{s:s, s:s, s:s, s:i}", "route", r->route, "method", method,
					 "detail", je.text, "column", je.column));
			return rt_http_send_json(conn, 400, json_pack("{s:s, s:s, s:i}", "error",
								      "invalid JSON body", "detail",
								      je.text, "column", je.column),
						 r->route);
		}
	}
	if (st->body_schema && (body || !strcmp(method, "POST")) &&
	    (!strcmp(method, "POST") || !strcmp(method, "PUT") || !strcmp(method, "PATCH"))) {
		char field[256], why[400];
		if (rt_schema_check(st->body_schema, body ? body : json_null(),
				    strcmp(method, "POST") != 0, field, sizeof field, why, sizeof why)) {
			json_decref(body);
			return rt_http_send_json(conn, 400, json_pack("{s:s, s:s, s:s}", "error",
								      "body does not match the schema",
								      "field", field, "detail", why),
						 r->route);
		}
	}
	rt_msg_init(&m, NULL);
	if (!st->wait_reply) {
		/* pipeline ingress: the body is the message */
		if (!json_is_object(body)) {
			json_decref(body);
			return rt_http_send_json(conn, 400, json_pack("{s:s}", "error",
								      "body must be a JSON object"),
						 r->route);
		}
		atomic_fetch_add(&c->msgs_in, 1);
		if (rt_emit_timeout(c, &m, body, st->ingress_timeout_ms))
			return rt_http_send_json(conn, 503, json_pack("{s:s}", "error",
								      "overloaded, retry later"),
						 r->route);
		return rt_http_send_json(conn, 202, json_pack("{s:b, s:s}", "accepted", 1,
							      "trace_id", m.trace_id), r->route);
	}
	data = json_pack("{s:s, s:s, s:s}", "method", method, "path", url, "resource",
			 st->collection + 1);
	json_object_set_new(data, "id", id ? json_string(id) : json_null());
	json_object_set_new(data, "body", body ? body : json_null());
	json_t *q = json_object();
	MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, collect_query, q);
	json_object_set_new(data, "query", q);
	m.origin = c;
	m.corr = r->corr = atomic_fetch_add(&st->next_corr, 1) + 1;
	r->conn = conn;
	r->deadline = rt_mono() + st->request_timeout;
	r->state = REQ_WAITING;
	if (pending_add(st, r)) {
		json_decref(data);
		return rt_http_send_json(conn, 500, json_pack("{s:s}", "error", "out of memory"),
					 r->route);
	}
	atomic_fetch_add(&c->msgs_in, 1);
	rc = rt_emit_timeout(c, &m, data, st->ingress_timeout_ms);
	pthread_mutex_lock(&st->lock);
	if (r->state == REQ_DONE) {
		pthread_mutex_unlock(&st->lock);
		return send_done(conn, r);
	}
	if (rc) {
		pending_remove_locked(st, r);
		pthread_mutex_unlock(&st->lock);
		r->state = REQ_DONE;
		return rt_http_send_json(conn, 503, json_pack("{s:s}", "error",
							      "overloaded, retry later"), r->route);
	}
	MHD_suspend_connection(conn);
	r->suspended = true;
	pthread_mutex_unlock(&st->lock);
	return MHD_YES;
}

static enum MHD_Result api_handler(void *cls, struct MHD_Connection *conn, const char *url,
				   const char *method, const char *version,
				   const char *upload_data, size_t *upload_data_size, void **con_cls)
{
	struct api_state *st = cls;
	struct api_req *r = *con_cls;
	bool handled;
	enum MHD_Result res;
	(void)version;

	if (!r) {
		rt_http_thread_named(st->c);
		rt_bench_delay(st->c);
		r = calloc(1, sizeof *r);
		if (!r)
			return MHD_NO;
		r->body = rt_body_new(st->max_body);
		if (!r->body) {
			free(r);
			return MHD_NO;
		}
		*con_cls = r;
		return MHD_YES;
	}
	if (*upload_data_size) {
		rt_body_append(r->body, upload_data, *upload_data_size);
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (r->state == REQ_DONE)
		return send_done(conn, r);
	if (r->state == REQ_WAITING)
		return MHD_YES;   /* spurious call while suspended */
	res = rt_http_builtin(conn, url, &handled);
	if (handled) {
		r->state = REQ_DONE;
		return res;
	}
	return handle_request(st, conn, r, url, method);
}

static void api_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			  enum MHD_RequestTerminationCode toe)
{
	struct api_state *st = cls;
	struct api_req *r = *con_cls;
	(void)conn;
	(void)toe;
	if (!r)
		return;
	pthread_mutex_lock(&st->lock);
	if (r->pending)
		pending_remove_locked(st, r);
	pthread_mutex_unlock(&st->lock);
	json_decref(r->resp);
	rt_body_free(r->body);
	free(r);
	*con_cls = NULL;
}

static int api_init(struct rt_component *c)
{
	struct api_state *st = calloc(1, sizeof *st);
	const char *resource, *endpoint, *host;
	char shown[256];
	int port, threads;
	struct sockaddr_in sa;

	if (!st)
		return rt_fail(c, "out of memory");
	c->state = st;
	st->c = c;
	pthread_mutex_init(&st->lock, NULL);
	resource = rt_cfg_str(c, "resource", c->def->name);
	while (*resource == '/')
		resource++;
	snprintf(st->collection, sizeof st->collection, "/%s", resource);
	snprintf(st->item_route, sizeof st->item_route, "%s/{id}", st->collection);
	endpoint = rt_cfg_str(c, "endpoint_path", NULL);
	if (endpoint && strcmp(endpoint, st->collection) && strcmp(endpoint, "/"))
		snprintf(st->endpoint, sizeof st->endpoint, "%s", endpoint);
	st->methods = json_object_get(c->config, "http_methods");
	st->body_schema = json_object_get(c->config, "body_schema");
	if (!json_is_object(st->body_schema))
		st->body_schema = NULL;
	st->max_body = (size_t)rt_cfg_num(c, "max_body_bytes", 1048576);
	st->ingress_timeout_ms = (int)rt_cfg_num(c, "ingress_timeout_ms", 2000);
	st->request_timeout = rt_cfg_num(c, "request_timeout_ms", 30000) / 1000.0;
	st->wait_reply = c->ninq > 0;
	port = rt_port_of(c, 8080);
	threads = (int)rt_cfg_num(c, "threads", 2);
	host = shown;
	if (rt_bind_address(rt_cfg_str(c, "host", NULL), port, &sa, shown, sizeof shown))
		return rt_fail(c, "host '%s' does not resolve to an IPv4 address", shown);
	direct_setup(st);
	st->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
				 MHD_ALLOW_SUSPEND_RESUME | MHD_USE_TURBO | MHD_USE_ERROR_LOG,
				 (uint16_t)port, NULL, NULL, api_handler, st,
				 MHD_OPTION_SOCK_ADDR, &sa,
				 MHD_OPTION_EXTERNAL_LOGGER, rt_mhd_log, c,
				 MHD_OPTION_THREAD_POOL_SIZE, (unsigned)(threads > 0 ? threads : 1),
				 MHD_OPTION_NOTIFY_COMPLETED, api_completed, st,
				 MHD_OPTION_CONNECTION_TIMEOUT, 60u,
				 MHD_OPTION_CONNECTION_LIMIT, 4096u,
				 MHD_OPTION_PER_IP_CONNECTION_LIMIT, RT_HTTP_PER_IP_LIMIT, MHD_OPTION_END);
	if (!st->d)
		return rt_fail(c, "cannot listen on %s:%d", host, port);
	rt_log(c, "info", NULL, "api listening",
	       json_pack("{s:s, s:i, s:s, s:b, s:b}", "host", host, "port", port, "resource",
			 st->collection, "request_reply", st->wait_reply, "direct_reads",
			 st->store != NULL));
	return 0;
}

/* Answer requests that waited too long for a reply; end idle direct-read snapshots. */
static void api_tick(struct rt_component *c, double now)
{
	struct api_state *st = c->state;
	pthread_mutex_lock(&st->lock);
	for (struct api_reader *ar = st->readers; ar; ar = ar->next)
		if (ar->rd)
			rt_store_reader_idle(ar->rd, now, 0.1);
	for (size_t i = st->npending; i-- > 0;) {
		struct api_req *r = st->pending[i];
		if (now >= r->deadline && r->suspended)
			complete_locked(st, r, 504, json_pack("{s:s}", "error",
							      "no reply within request_timeout_ms"));
	}
	pthread_mutex_unlock(&st->lock);
}

static void api_stop_ingress(struct rt_component *c)
{
	(void)c;   /* the handler answers 503 while draining; replies in flight still arrive */
}

static void api_fini(struct rt_component *c)
{
	struct api_state *st = c->state;
	pthread_mutex_lock(&st->lock);
	for (size_t i = st->npending; i-- > 0;)
		if (st->pending[i]->suspended)
			complete_locked(st, st->pending[i], 503,
					json_pack("{s:s}", "error", "shutting down"));
	pthread_mutex_unlock(&st->lock);
	if (st->d)
		MHD_stop_daemon(st->d);
	/* the worker threads are gone: their readers can be closed */
	while (st->readers) {
		struct api_reader *next = st->readers->next;
		rt_store_reader_close(st->readers->rd);
		free(st->readers);
		st->readers = next;
	}
	free(st->pending);
	pthread_mutex_destroy(&st->lock);
	free(st);
	c->state = NULL;
}

const struct rt_type_ops rt_api_ops = {
	.type_name = "APIEndpoint", .init = api_init, .process = api_process, .tick = api_tick,
	.fini = api_fini, .stop_ingress = api_stop_ingress,
};

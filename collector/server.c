/*
 * server.c — the collector's HTTP side: libmicrohttpd with an epoll thread pool, one route
 * table, bounded body accumulation, authentication, and replies.
 *
 * A storing request goes: headers -> body chunks appended to a bounded buffer (past the
 * limit the rest is discarded and the reply is 413) -> decode (gzip/deflate) -> parse and
 * normalise the whole body -> authenticate (Sentry may carry its key inside the envelope)
 * -> rate limit -> suspend the connection and submit one job to the writer. The writer
 * resumes the connection after COMMIT, and the handler then answers 200 with what was stored,
 * or 503 if the transaction failed. Nothing is stored unless everything in the body parsed.
 *
 * Ownership: per-request state (struct request) is allocated on the first callback and
 * freed only in the request-completed callback; a suspended request is never freed before
 * the writer has called its done().
 */
#include "core/common.h"
#include "collector/internal.h"
#include "collector/ops.h"
#include "analyzer/analyzer.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <math.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <malloc.h>

/* Who may call a route (docs/API.md, "Keys and roles"): anyone; any key of the project (a DSN
 * key too); a Sentry key; a read or admin token; an admin token. With --open-read, READ needs
 * no token and ADMIN accepts a same-origin JSON request from the served UI instead. */
enum auth_kind { AUTH_NONE, AUTH_INGEST, AUTH_SENTRY, AUTH_READ, AUTH_ADMIN };

struct request;
typedef enum MHD_Result (*route_fn)(struct request *r);

struct route {
	const char *method;
	const char *path;        /* exact; '*' stands for one path segment */
	enum metrics_route metric;
	enum auth_kind auth;
	route_fn handle;
};

#define RATE_SLOTS 64
struct rate_bucket {
	long long project_id;
	double tokens, updated;
};

struct collector {
	struct collector_config cfg;
	struct MHD_Daemon *daemon;
	struct writer *writer;
	struct metrics *metrics;
	struct key_cache *keys;
	struct reader_pool *readers;
	struct analyzer *analyzer;   /* an-clusters: clusters new events; NULL without --rules */
	struct ingest_limits limits;
	pthread_mutex_t rate_lock;
	struct rate_bucket rate[RATE_SLOTS];
	int listen_fd;
	unsigned port;
	int stop_pipe[2];
	atomic_int active;
	atomic_int offloads;         /* req_offload() threads still running */
	atomic_size_t inflight;      /* body bytes held by requests being received */
	bool stopped;
};

enum req_state { REQ_READING, REQ_WAITING, REQ_DONE, REQ_OFFLOADED, REQ_OFFLOAD_DONE };

/* Seconds a connection may stay silent before its request headers are complete (slowloris:
 * idle half-sent connections are dropped quickly; see also the per-address cap). */
#define HEADER_TIMEOUT 10

struct request {
	struct collector *c;
	struct MHD_Connection *conn;
	const struct route *route;
	char arg[160];             /* the path segment matched by '*' */
	bool method_mismatch;
	bool preflight;            /* OPTIONS on an ingest route */
	char allow[64];            /* methods the path supports, for 405 */
	struct ac_buf body;
	size_t charged;            /* bytes of body counted in c->inflight */
	bool over_budget;          /* the collector's body budget ran out: 503 */
	bool authed;               /* authenticated from the headers at the first callback */
	bool big;                  /* the body passed 1 MiB */
	bool body_too_large;
	enum req_state state;
	struct write_job job;
	json_t *events, *counts;
	char reply_id[65];
	bool otlp_pb;              /* /v1/logs in protobuf: answer in protobuf */
	struct otlp_result otlp;   /* /v1/logs: records rejected alone */
	long long project_id;      /* -1: all projects (open read) */
	char project[128];
	int role;                  /* enum collector_role of the key used, 0 before auth */
	bool scrub_user;           /* the project filters user.email / user.ip_address */
	/* ops: for the access log (access_log.c) */
	double started;
	unsigned status;
	size_t bytes_in, bytes_out;
	char method[8], reason[48], detail[160];
	/* req_offload(): work done on its own thread, then reply() on the connection's thread */
	void (*offload_work)(void *ctx);
	enum MHD_Result (*offload_reply)(struct request *r, void *ctx);
	void *offload_ctx;
	void (*offload_free)(void *ctx);
};

static int split_listen(const char *listen, char *host, size_t hn, char *port, size_t pn,
			struct ac_error *err);

static struct collector *volatile signal_target;
static _Thread_local bool lowered_priority;

/* ---------------------------------------------------------------- replies */

static enum MHD_Result reply_raw(struct request *r, unsigned status, const char *ctype,
				 char *body, size_t len, const char *const *headers)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(resp, "Content-Type", ctype);
	/* browser SDKs post events from any origin; nothing else is readable cross-origin */
	if (r->route && (r->route->auth == AUTH_INGEST || r->route->auth == AUTH_SENTRY))
		MHD_add_response_header(resp, "Access-Control-Allow-Origin", "*");
	for (size_t i = 0; headers && headers[i]; i += 2)
		MHD_add_response_header(resp, headers[i], headers[i + 1]);
	ret = MHD_queue_response(r->conn, status, resp);
	MHD_destroy_response(resp);
	r->status = status;
	r->bytes_out = len;
	metrics_request(r->c->metrics, r->route ? r->route->metric : ROUTE_NOT_FOUND, status);
	return ret;
}

/* Steals obj. */
static enum MHD_Result reply_json_h(struct request *r, unsigned status, json_t *obj,
				    const char *const *headers)
{
	char *s = json_dumps(obj, JSON_COMPACT);
	json_decref(obj);
	if (!s)
		return MHD_NO;
	return reply_raw(r, status, "application/json", s, strlen(s), headers);
}

static enum MHD_Result reply_json(struct request *r, unsigned status, json_t *obj)
{
	return reply_json_h(r, status, obj, NULL);
}

static unsigned status_of(int code)
{
	switch (code) {
	case AC_EINVAL: return 400;
	case AC_EAUTH: return 401;
	case AC_EFORBID: return 403;
	case AC_ENOTFOUND: return 404;
	case AC_ETOOBIG: return 413;
	case AC_EUNSUPP: return 415;
	case AC_EBUSY: return 429;
	case AC_EDB: case AC_EIO: return 503;
	default: return 500;
	}
}

static bool is_sentry_route(const struct request *r)
{
	return r->route && r->route->auth == AUTH_SENTRY;
}

static enum MHD_Result reply_error_retry(struct request *r, int code, const char *what,
					 const char *detail, unsigned retry_after)
{
	char ra[16], limits[64];
	const char *headers[5] = { NULL };
	json_t *obj = json_pack("{s:s,s:s}", "error", what && *what ? what : ac_strerror(code),
				"detail", detail ? detail : "");

	snprintf(r->reason, sizeof r->reason, "%s", what && *what ? what : ac_strerror(code));
	snprintf(r->detail, sizeof r->detail, "%s", detail ? detail : "");

	if (code == AC_EBUSY) {
		snprintf(ra, sizeof ra, "%u", retry_after ? retry_after : 1);
		headers[0] = "Retry-After";
		headers[1] = ra;
		if (is_sentry_route(r)) {
			snprintf(limits, sizeof limits, "%s::organization", ra);
			headers[2] = "X-Sentry-Rate-Limits";
			headers[3] = limits;
		}
	} else if (code == AC_EDB || code == AC_EIO) {
		/* the database failed or is unreachable (PostgreSQL down): nothing was stored */
		headers[0] = "Retry-After";
		headers[1] = "1";
	} else if (code == AC_EAUTH) {
		headers[0] = "WWW-Authenticate";
		headers[1] = "Bearer realm=\"autocoder\"";
	}
	return reply_json_h(r, status_of(code), obj, headers);
}

static enum MHD_Result reply_error(struct request *r, const struct ac_error *err)
{
	return reply_error_retry(r, err->code, err->what, err->msg, 1);
}

static enum MHD_Result reply_simple_error(struct request *r, int code, const char *what,
					  const char *detail)
{
	return reply_error_retry(r, code, what, detail, 1);
}

/* ---------------------------------------------------------------- helpers */

static const char *header(struct request *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

static const char *query_arg(struct request *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

static const char *param(struct request *r, const char *qname, const char *hname)
{
	const char *v = query_arg(r, qname);
	return v && *v ? v : header(r, hname);
}

/* Media type without parameters, lowercased, "" if absent. */
static void content_type(struct request *r, char *out, size_t n)
{
	const char *ct = header(r, "Content-Type");
	size_t i = 0;

	for (; ct && ct[i] && ct[i] != ';' && i + 1 < n; i++)
		out[i] = (char)((ct[i] >= 'A' && ct[i] <= 'Z') ? ct[i] + 32 : ct[i]);
	while (i > 0 && out[i - 1] == ' ')
		i--;
	out[i] = '\0';
}

static bool type_in(const char *ct, const char *const *allowed)
{
	if (!*ct)
		return true;
	for (size_t i = 0; allowed[i]; i++)
		if (!strcmp(ct, allowed[i]))
			return true;
	return false;
}

static const char *bearer_token(struct request *r)
{
	const char *a = header(r, "Authorization");
	if (a && !strncasecmp(a, "Bearer ", 7))
		return a + 7;
	a = header(r, "X-Autocoder-Key");
	return a && *a ? a : NULL;
}

/* ---------------------------------------------------------------- auth & limits */

static int authenticate_key(struct request *r, const char *key, struct ac_error *err)
{
	int rc;

	if (!key || !*key)
		return ac_error_set(err, AC_EAUTH, "unauthorized",
				    is_sentry_route(r)
					    ? "missing sentry_key: send X-Sentry-Auth, ?sentry_key= or a dsn in the envelope header"
					    : "missing key: send 'Authorization: Bearer <token>' (create one with 'autocoder keys create NAME')");
	rc = key_cache_lookup(r->c->keys, key, &r->project_id, r->project, sizeof r->project,
			      &r->role, &r->scrub_user);
	if (rc == AC_EAUTH)
		return ac_error_set(err, AC_EAUTH, "unauthorized", "unknown or revoked key");
	if (rc)
		return ac_error_set(err, AC_EDB, "unavailable", "cannot read keys from the database");
	return 0;
}

/* The Sentry key sent outside the body: X-Sentry-Auth, Authorization: Sentry ..., or
 * ?sentry_key=. Returns NULL when there is none (the envelope's dsn may carry it). */
static const char *sentry_key_outside(struct request *r, struct sentry_auth *a)
{
	const char *k;

	sentry_parse_auth_header(header(r, "X-Sentry-Auth"), a);
	if (!a->key[0]) {
		const char *az = header(r, "Authorization");
		if (az && !strncasecmp(az, "Sentry ", 7))
			sentry_parse_auth_header(az, a);
	}
	if (a->key[0])
		return a->key;
	k = query_arg(r, "sentry_key");
	return k && *k ? k : NULL;
}

/* Authenticate a Sentry request with key k; the project in the URL must be the key's
 * project (numeric id or name). */
static int authenticate_sentry(struct request *r, const char *k, struct ac_error *err)
{
	char *end;
	long long pid;
	int rc;

	if ((rc = authenticate_key(r, k, err)))
		return rc;
	pid = strtoll(r->arg, &end, 10);
	if (*end ? strcmp(r->arg, r->project) != 0 : pid != r->project_id)
		return ac_error_set(err, AC_EFORBID, "forbidden",
				    "this key belongs to project %lld (%s), not '%s'", r->project_id,
				    r->project, r->arg);
	return 0;
}

/* A request the served UI made: JSON body and an Origin equal to this server's (browsers
 * send Origin on every POST; a cross-site form or text/plain POST cannot pass both). */
static bool same_origin_json(struct request *r)
{
	const char *origin = header(r, "Origin"), *host = header(r, "Host");
	char ct[64];

	content_type(r, ct, sizeof ct);
	if (strcmp(ct, "application/json") || !origin || !host || strncmp(origin, "http://", 7))
		return false;
	return !strcmp(origin + 7, host);
}

static int check_project_param(struct request *r, struct ac_error *err)
{
	const char *want = query_arg(r, "project");
	if (want && *want && r->project_id > 0 && strcmp(want, r->project))
		return ac_error_set(err, AC_EFORBID, "forbidden",
				    "this key belongs to project '%s', not '%s'", r->project, want);
	return 0;
}

static int authenticate(struct request *r, struct ac_error *err)
{
	int rc;

	switch (r->route->auth) {
	case AUTH_NONE:
	case AUTH_SENTRY:
		return 0;
	case AUTH_READ:
	case AUTH_ADMIN:
		if (r->c->cfg.open_read && !bearer_token(r)) {
			if (r->route->auth == AUTH_ADMIN && !same_origin_json(r))
				return ac_error_set(err, AC_EFORBID, "forbidden",
						    "changes need an admin token, or a same-origin application/json request from the web UI");
			r->project_id = -1;
			return 0;
		}
		if ((rc = authenticate_key(r, bearer_token(r), err)))
			return rc;
		if (r->role < COLLECTOR_ROLE_READ)
			return ac_error_set(err, AC_EFORBID, "forbidden",
					    "a DSN key may only send events; reading needs a token ('autocoder keys create' prints one)");
		if (r->route->auth == AUTH_ADMIN && r->role < COLLECTOR_ROLE_ADMIN)
			return ac_error_set(err, AC_EFORBID, "forbidden",
					    "changing clusters needs an admin token ('autocoder keys token %s --role admin')",
					    r->project);
		return check_project_param(r, err);
	case AUTH_INGEST:
		if ((rc = authenticate_key(r, bearer_token(r), err)))
			return rc;
		return check_project_param(r, err);
	}
	return 0;
}

/* Token bucket per project. Returns 0 or the seconds to wait. */
static unsigned rate_check(struct collector *c, long long project_id, unsigned n)
{
	struct rate_bucket *b = NULL;
	double now = ac_monotonic(), rate = c->cfg.rate_limit, burst = c->cfg.rate_burst, need;
	unsigned wait = 0;

	if (rate <= 0)
		return 0;
	if (burst < 1)
		burst = fmax(rate, 1) * 2;
	pthread_mutex_lock(&c->rate_lock);
	for (size_t i = 0; i < RATE_SLOTS && !b; i++)
		if (c->rate[i].project_id == project_id || c->rate[i].project_id == 0)
			b = &c->rate[i];
	if (!b)
		b = &c->rate[(unsigned long long)project_id % RATE_SLOTS];
	if (b->project_id != project_id) {
		b->project_id = project_id;
		b->tokens = burst;
		b->updated = now;
	}
	b->tokens = fmin(burst, b->tokens + (now - b->updated) * rate);
	b->updated = now;
	/* a batch larger than the burst is admitted once the bucket is full and borrows the rest
	 * (the balance goes negative and the next requests wait until it is repaid): otherwise
	 * it would be refused forever (an OTLP exporter's 512-record batch at burst 200) */
	need = fmin((double)n, burst);
	if (b->tokens >= need)
		b->tokens -= n;
	else
		wait = (unsigned)ceil((need - b->tokens) / rate);
	pthread_mutex_unlock(&c->rate_lock);
	return wait;
}

/* ---------------------------------------------------------------- storing */

/* Give r's body bytes back to the collector's budget (the body is freed or about to be). */
static void uncharge(struct request *r)
{
	if (r->charged) {
		atomic_fetch_sub(&r->c->inflight, r->charged);
		r->charged = 0;
	}
}

/* Take n more body bytes from the budget; false when that would pass --max-inflight. */
static bool charge(struct request *r, size_t n)
{
	size_t before = atomic_fetch_add(&r->c->inflight, n);

	if (before + n > r->c->cfg.max_inflight_bytes) {
		atomic_fetch_sub(&r->c->inflight, n);
		return false;
	}
	r->charged += n;
	return true;
}

static void job_done(struct write_job *job, void *arg)
{
	struct request *r = arg;
	(void)job;
	r->state = REQ_DONE;
	MHD_resume_connection(r->conn);
}

/* Queue r->job's rows (+ r->events, + r->counts) for the writer and suspend until committed. */
static enum MHD_Result submit(struct request *r)
{
	unsigned wait;
	struct ac_error err;
	int rc;

	if ((rc = writer_job_add_events(&r->job, r->events, r->c->cfg.max_event_bytes, &err)))
		return reply_error(r, &err);
	/* privacy: the one place every stored event passes, whatever route or format */
	if (scrub_job(&r->job, r->scrub_user))
		return reply_simple_error(r, AC_ENOMEM, "internal", "out of memory while scrubbing");
	wait = rate_check(r->c, r->project_id, r->job.n_events ? r->job.n_events : 1);
	if (wait) {
		metrics_rejected(r->c->metrics, "rate_limit");
		return reply_error_retry(r, AC_EBUSY, "rate_limited",
					 "this project is over its event rate limit; retry later", wait);
	}
	r->job.item_counts = r->counts && json_object_size(r->counts) ? r->counts : NULL;
	r->job.project_id = r->project_id;
	r->job.done = job_done;
	r->job.arg = r;
	/* while suspended, hold only the rows: the body and the event trees can go */
	json_decref(r->events);
	r->events = NULL;
	ac_buf_release(&r->body);
	uncharge(r);
	r->state = REQ_WAITING;
	MHD_suspend_connection(r->conn);
	rc = writer_submit(r->c->writer, &r->job);
	if (rc) {
		r->job.status = rc == AC_EBUSY ? AC_EBUSY : AC_EIO;
		snprintf(r->job.detail, sizeof r->job.detail, "%s",
			 rc == AC_EBUSY ? "the collector's write queue is full; retry later"
					: "the collector is shutting down");
		if (rc == AC_EBUSY)
			metrics_rejected(r->c->metrics, "queue_full");
		r->state = REQ_DONE;
		MHD_resume_connection(r->conn);
	}
	return MHD_YES;
}

static void *offload_main(void *arg)
{
	struct request *r = arg;
	struct collector *c = r->c;

	r->offload_work(r->offload_ctx);
	r->state = REQ_OFFLOAD_DONE;
	MHD_resume_connection(r->conn);
	atomic_fetch_sub(&c->offloads, 1);
	return NULL;
}

enum MHD_Result req_offload(struct request *r, void (*work)(void *ctx),
			    enum MHD_Result (*reply)(struct request *r, void *ctx),
			    void (*ctx_free)(void *ctx), void *ctx)
{
	pthread_t t;
	pthread_attr_t attr;
	int rc;

	r->offload_work = work;
	r->offload_reply = reply;
	r->offload_ctx = ctx;
	r->offload_free = ctx_free;
	r->state = REQ_OFFLOADED;
	atomic_fetch_add(&r->c->offloads, 1);
	MHD_suspend_connection(r->conn);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	rc = pthread_create(&t, &attr, offload_main, r);
	pthread_attr_destroy(&attr);
	if (rc)  /* no thread: do it here */
		offload_main(r);
	return MHD_YES;
}

/* {"accepted":N,"stored":N,"duplicates":N,"ids":[...]}, written directly: this reply goes
 * out once per ingest request, and event ids never need escaping (see event.c). */
static enum MHD_Result reply_ids(struct request *r)
{
	struct ac_buf b;
	char *s;
	size_t len;
	int rc;

	ac_buf_init(&b, (size_t)r->job.n_events * 70 + 128);
	rc = ac_buf_printf(&b, "{\"accepted\":%u,\"stored\":%u,\"duplicates\":%u,\"ids\":[",
			   r->job.n_events, r->job.stored, r->job.duplicates);
	for (unsigned i = 0; i < r->job.n_events && !rc; i++) {
		const char *id = r->job.rows[i].col[COL_EVENT_ID];
		rc = ac_buf_append(&b, i ? ",\"" : "\"", i ? 2 : 1);
		if (!rc)
			rc = ac_buf_append(&b, id, strlen(id));
		if (!rc)
			rc = ac_buf_append(&b, "\"", 1);
	}
	if (!rc)
		rc = ac_buf_append(&b, "]}", 2);
	if (rc) {
		ac_buf_release(&b);
		return MHD_NO;
	}
	s = ac_buf_detach(&b, &len);
	return reply_raw(r, 200, "application/json", s, len, NULL);
}

static enum MHD_Result reply_stored(struct request *r)
{
	if (r->job.status)
		return reply_simple_error(r, r->job.status,
					  r->job.status == AC_EBUSY ? "queue_full" : "unavailable",
					  r->job.detail);
	metrics_items_counted(r->c->metrics, r->counts ? json_object_size(r->counts) : 0);
	if (is_sentry_route(r))
		return reply_json(r, 200, json_pack("{s:s}", "id", r->reply_id));
	if (r->route->metric == ROUTE_OTLP_LOGS && r->otlp_pb) {
		size_t n;
		char *pb = otlp_response_pb(&r->otlp, &n);
		return pb ? reply_raw(r, 200, "application/x-protobuf", pb, n, NULL) : MHD_NO;
	}
	if (r->route->metric == ROUTE_OTLP_LOGS)
		return reply_json(r, 200, otlp_response_json(&r->otlp));
	return reply_ids(r);
}

/* Decode the body per Content-Encoding; on return body and len describe the usable bytes. */
static int decoded_body(struct request *r, char **owned, const char **body, size_t *len,
			struct ac_error *err)
{
	int rc = decode_body(header(r, "Content-Encoding"), r->body.data ? r->body.data : "",
			     r->body.len, r->c->cfg.max_decoded_bytes, owned, len, err);
	if (rc)
		return rc;
	*body = *owned ? *owned : (r->body.data ? r->body.data : "");
	return 0;
}

static void request_defaults(struct request *r, struct event_defaults *d)
{
	memset(d, 0, sizeof *d);
	d->system = param(r, "system", "X-Autocoder-System");
	d->component = param(r, "component", "X-Autocoder-Component");
	d->release = param(r, "release", "X-Autocoder-Release");
	d->environment = param(r, "environment", "X-Autocoder-Environment");
	d->level = NULL;
}

typedef int (*body_parser)(struct request *r, const char *body, size_t len,
			   const struct event_defaults *d, struct ac_error *err);

/* Common path of every storing route: content type, decode, parse, auth, submit. */
static enum MHD_Result ingest(struct request *r, const char *const *types, body_parser parse)
{
	struct ac_error err;
	struct event_defaults d;
	char ct[64], *owned = NULL;
	const char *body;
	size_t len;
	int rc;
	enum MHD_Result ret;

	ac_error_clear(&err);
	if (r->route->auth != AUTH_SENTRY && !r->authed && (rc = authenticate(r, &err)))
		return reply_error(r, &err);
	content_type(r, ct, sizeof ct);
	if (types && !type_in(ct, types)) {
		ac_error_set(&err, AC_EUNSUPP, "unsupported_media_type",
			     "Content-Type '%s' is not accepted here; send application/json%s", ct,
			     r->route->metric == ROUTE_LOGS_POST ? ", application/x-ndjson or text/plain"
			     : r->route->metric == ROUTE_OTLP_LOGS ? " or application/x-protobuf (OTLP/HTTP)"
								    : " or application/x-ndjson");
		return reply_error(r, &err);
	}
	if ((rc = decoded_body(r, &owned, &body, &len, &err)))
		return reply_error(r, &err);
	request_defaults(r, &d);
	writer_job_release(&r->job);
	memset(&r->job, 0, sizeof r->job);
	r->job.max_rows = r->c->cfg.max_batch_events;
	r->events = json_array();
	r->counts = json_object();
	rc = parse(r, body, len, &d, &err);
	free(owned);
	if (!rc && r->c->cfg.max_batch_events &&
	    r->job.n_events + json_array_size(r->events) > r->c->cfg.max_batch_events)
		r->job.too_many = true;
	if (r->job.too_many) {
		ac_error_set(&err, AC_ETOOBIG, "too_many_events",
			     "more than %u events in one request (--max-batch); split the batch",
			     r->c->cfg.max_batch_events);
		return reply_error(r, &err);
	}
	if (rc) {
		if (r->route->auth == AUTH_SENTRY && r->project_id <= 0 && rc != AC_EAUTH &&
		    rc != AC_EFORBID) {
			/* a body that failed before its dsn was read: an unauthenticated client
			 * learns nothing about the body beyond "unauthorized" */
			struct ac_error aerr;
			ac_error_set(&aerr, AC_EAUTH, "unauthorized",
				     "missing sentry_key: send X-Sentry-Auth, ?sentry_key= or a dsn in the envelope header");
			return reply_error(r, &aerr);
		}
		return reply_error(r, &err);
	}
	ret = submit(r);
	return ret;
}

static int parse_events(struct request *r, const char *body, size_t len,
			const struct event_defaults *d, struct ac_error *err)
{
	return ingest_rows(body, len, false, d, &r->c->limits, &r->job, err);
}

static int parse_logs(struct request *r, const char *body, size_t len,
		      const struct event_defaults *d, struct ac_error *err)
{
	char ct[64];
	struct event_defaults dl = *d;
	const char *p = body;
	bool text;

	content_type(r, ct, sizeof ct);
	dl.level = param(r, "level", "X-Autocoder-Level");
	if (dl.level && !event_level_name(dl.level))
		return ac_error_set(err, AC_EINVAL, "invalid_parameter",
				    "level '%.32s' is not one of debug, info, warning, error, fatal", dl.level);
	if (dl.level)
		dl.level = event_level_name(dl.level);
	while (p < body + len && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
		p++;
	text = !strcmp(ct, "text/plain") || (!*ct && (p == body + len || *p != '{'));
	if (!text)
		return ingest_rows(body, len, true, &dl, &r->c->limits, &r->job, err);
	return ingest_parse_logs(body, len, text, &dl, &r->c->limits, r->events, err);
}

static int parse_crash(struct request *r, const char *body, size_t len,
		       const struct event_defaults *d, struct ac_error *err)
{
	return ingest_parse_crash(body, len, d, &r->c->limits, r->events, err);
}

static int parse_otlp(struct request *r, const char *body, size_t len,
		      const struct event_defaults *d, struct ac_error *err)
{
	return otlp_parse_logs(body, len, d, &r->c->limits, r->events, &r->otlp, err);
}

static int parse_otlp_pb(struct request *r, const char *body, size_t len,
			 const struct event_defaults *d, struct ac_error *err)
{
	return otlp_parse_logs_pb(body, len, d, &r->c->limits, r->events, &r->otlp, err);
}

/* The Sentry protocol allows one event per envelope; items without their own event_id take
 * the envelope's, so several would collapse into one id and all but the first be dropped as
 * duplicates behind a 200. Refuse that; events with distinct ids are each stored. */
static int one_id_per_event(const json_t *events, struct ac_error *err)
{
	size_t n = json_array_size(events);

	for (size_t i = 1; i < n && i < 1000; i++)
		for (size_t j = 0; j < i; j++) {
			const char *a = json_string_value(json_object_get(json_array_get(events, i), "event_id"));
			const char *b = json_string_value(json_object_get(json_array_get(events, j), "event_id"));
			if (a && b && !strcmp(a, b))
				return ac_error_set(err, AC_EINVAL, "duplicate_event_items",
						    "envelope items %zu and %zu are both event '%.64s': send one "
						    "event per envelope (or give each its own event_id)", j, i, a);
		}
	return 0;
}

static int parse_sentry(struct request *r, const char *body, size_t len,
			const struct event_defaults *d, struct ac_error *err, bool envelope)
{
	char dsn_key[65] = "", event_id[65] = "";
	struct event_defaults sd = *d;
	struct sentry_auth a;
	const char *key = sentry_key_outside(r, &a);
	int rc;

	/* with the key outside the body, authenticate before parsing (and learn the project) */
	if (key || !envelope) {
		if ((rc = authenticate_sentry(r, key, err)))
			return rc;
		if (!sd.system)
			sd.system = r->project;
	}
	struct envelope_side es = { NULL, json_object(), r->c->cfg.max_attachment_bytes };
	if (envelope)
		rc = sentry_parse_envelope(body, len, &sd, &r->c->limits, r->events, r->counts,
					   &es, dsn_key, event_id, err);
	else
		rc = sentry_parse_store(body, len, &sd, &r->c->limits, r->events, err);
	r->job.side = es.side;   /* the job owns them now (freed with its rows) */
	r->job.attachment_quota = r->c->cfg.attachment_quota_bytes;
	if (rc && !key && dsn_key[0]) {
		struct ac_error aerr;
		if (authenticate_sentry(r, dsn_key, &aerr)) {
			json_decref(es.discards);
			*err = aerr;
			return aerr.code;
		}
	}
	if (rc) {
		json_decref(es.discards);
		return rc;
	}
	if (!key && envelope) {
		size_t i;
		json_t *ev;
		if ((rc = authenticate_sentry(r, dsn_key[0] ? dsn_key : NULL, err))) {
			json_decref(es.discards);
			return rc;
		}
		/* events parsed before the project was known get its name as system */
		json_array_foreach(r->events, i, ev)
			if (!json_object_get(ev, "system"))
				json_object_set_new(ev, "system", json_string(r->project));
	}
	if (envelope && (rc = one_id_per_event(r->events, err))) {
		json_decref(es.discards);
		return rc;
	}
	/* only an authenticated client's reports reach /metrics */
	metrics_client_discards(r->c->metrics, es.discards);
	json_decref(es.discards);
	if (event_id[0])
		snprintf(r->reply_id, sizeof r->reply_id, "%s", event_id);
	else if (json_array_size(r->events))
		snprintf(r->reply_id, sizeof r->reply_id, "%s",
			 json_string_value(json_object_get(json_array_get(r->events, 0), "event_id")));
	return 0;
}

static int parse_envelope(struct request *r, const char *body, size_t len,
			  const struct event_defaults *d, struct ac_error *err)
{
	return parse_sentry(r, body, len, d, err, true);
}

static int parse_store(struct request *r, const char *body, size_t len,
		       const struct event_defaults *d, struct ac_error *err)
{
	return parse_sentry(r, body, len, d, err, false);
}

static const char *const json_types[] = { "application/json", "application/x-ndjson",
					  "application/ndjson", "application/jsonl",
					  "application/x-jsonlines", "text/plain",
					  "application/octet-stream",
					  "application/x-www-form-urlencoded", NULL };
static const char *const log_types[] = { "application/json", "application/x-ndjson",
					 "application/ndjson", "application/jsonl",
					 "application/x-jsonlines", "text/plain",
					 "application/octet-stream",
					 "application/x-www-form-urlencoded", NULL };
static const char *const otlp_types[] = { "application/json", NULL };
static const char *const otlp_pb_types[] = { "application/x-protobuf", "application/protobuf", NULL };

static enum MHD_Result h_events_post(struct request *r)
{
	return ingest(r, json_types, parse_events);
}

static enum MHD_Result h_logs_post(struct request *r)
{
	return ingest(r, log_types, parse_logs);
}

static enum MHD_Result h_crashes_post(struct request *r)
{
	return ingest(r, json_types, parse_crash);
}

static enum MHD_Result h_envelope(struct request *r)
{
	return ingest(r, NULL, parse_envelope);
}

static enum MHD_Result h_store(struct request *r)
{
	return ingest(r, NULL, parse_store);
}

static enum MHD_Result h_otlp(struct request *r)
{
	char ct[64];
	content_type(r, ct, sizeof ct);
	r->otlp_pb = type_in(ct, otlp_pb_types) && *ct;
	if (r->otlp_pb)
		return ingest(r, otlp_pb_types, parse_otlp_pb);
	return ingest(r, otlp_types, parse_otlp);
}

/* ---------------------------------------------------------------- reading */

static int time_param(struct request *r, const char *name, double *out, struct ac_error *err)
{
	const char *v = query_arg(r, name);
	*out = 0;
	if (v && *v && ac_parse_time(v, out))
		return ac_error_set(err, AC_EINVAL, "invalid_parameter",
				    "'%s' must be an RFC 3339 time or unix seconds, got '%.40s'", name, v);
	return 0;
}

static const char *const event_params[] = { "system", "component", "level", "kind", "release",
					   "environment", "q", "since", "until", "limit", "before",
					   "cluster", "project", "tag", NULL };

struct param_check {
	const char *const *known;
	const char *bad;
};

static enum MHD_Result check_param(void *cls, enum MHD_ValueKind kind, const char *key,
				   const char *value)
{
	struct param_check *pc = cls;
	(void)kind;
	(void)value;
	for (size_t i = 0; pc->known[i]; i++)
		if (!strcmp(key, pc->known[i]))
			return MHD_YES;
	pc->bad = key;
	return MHD_NO;
}

/* docs/API.md promises 400 for a parameter the route does not know (a typo must not
 * silently widen a query). */
static int unknown_param(struct request *r, const char *const *known, struct ac_error *err)
{
	struct param_check pc = { known, NULL };
	char list[256] = "";

	MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, check_param, &pc);
	if (!pc.bad)
		return 0;
	for (size_t i = 0; known[i]; i++)
		snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "", known[i]);
	return ac_error_set(err, AC_EINVAL, "invalid_parameter",
			    "unknown query parameter '%.40s'; this route takes %s", pc.bad, list);
}

/* ?cluster=ID, ?project=NAME, ?tag=KEY:VALUE */
static int event_filters(struct request *r, struct event_query *q, struct ac_error *err)
{
	const char *v = query_arg(r, "cluster"), *colon;
	int64_t n;

	if (v && (ac_parse_i64(v, &n) || n < 1))
		return ac_error_set(err, AC_EINVAL, "invalid_parameter",
				    "cluster must be a positive cluster id, got '%.40s'", v);
	q->cluster_id = v ? n : 0;
	v = query_arg(r, "project");
	q->project = v && *v ? v : NULL;
	v = query_arg(r, "tag");
	if (!v)
		return 0;
	colon = strchr(v, ':');
	if (!colon || colon == v || strlen(v) > 120 || strpbrk(v, "\"\\"))
		return ac_error_set(err, AC_EINVAL, "invalid_parameter",
				    "tag must be KEY:VALUE (like region:eu), got '%.40s'", v);
	snprintf(q->tag_path, sizeof q->tag_path, "$.tags.\"%.*s\"", (int)(colon - v), v);
	q->tag_value = colon + 1;
	return 0;
}

static enum MHD_Result h_events_get(struct request *r)
{
	struct ac_error err;
	struct event_query q;
	const char *v;
	int64_t n;
	json_t *out = NULL;
	ac_sql *db;
	int rc;

	ac_error_clear(&err);
	if ((rc = authenticate(r, &err)))
		return reply_error(r, &err);
	memset(&q, 0, sizeof q);
	q.system = query_arg(r, "system");
	q.component = query_arg(r, "component");
	q.level = query_arg(r, "level");
	q.kind = query_arg(r, "kind");
	q.release = query_arg(r, "release");
	q.environment = query_arg(r, "environment");
	q.q = query_arg(r, "q");
	q.project_id = r->project_id;
	q.limit = 50;
	if (unknown_param(r, event_params, &err) || event_filters(r, &q, &err))
		return reply_error(r, &err);
	if (q.level && *q.level) {
		q.level = event_level_name(q.level);
		if (!q.level)
			return reply_simple_error(r, AC_EINVAL, "invalid_parameter",
						  "level must be debug, info, warning, error or fatal");
	}
	if (time_param(r, "since", &q.since, &err) || time_param(r, "until", &q.until, &err))
		return reply_error(r, &err);
	if ((v = query_arg(r, "limit"))) {
		if (ac_parse_i64(v, &n) || n < 1 || n > 1000)
			return reply_simple_error(r, AC_EINVAL, "invalid_parameter",
						  "limit must be an integer from 1 to 1000");
		q.limit = (unsigned)n;
	}
	if ((v = query_arg(r, "before"))) {
		if (ac_parse_i64(v, &n) || n < 1)
			return reply_simple_error(r, AC_EINVAL, "invalid_parameter",
						  "before must be a positive event id (the previous page's 'next')");
		q.before_id = n;
	}
	db = reader_pool_get(r->c->readers);
	rc = query_events(db, &q, &out, &err);
	reader_pool_put(r->c->readers, db);
	if (rc)
		return reply_error(r, &err);
	return reply_json(r, 200, out);
}

static enum MHD_Result h_event_get(struct request *r)
{
	struct ac_error err;
	json_t *out = NULL;
	ac_sql *db;
	int rc;

	ac_error_clear(&err);
	if ((rc = authenticate(r, &err)))
		return reply_error(r, &err);
	db = reader_pool_get(r->c->readers);
	rc = query_event(db, r->arg, r->project_id, &out, &err);
	if (!rc && (rc = attachments_decorate(db, out, r->project_id, &err))) {
		json_decref(out);
		out = NULL;
	}
	reader_pool_put(r->c->readers, db);
	if (rc)
		return reply_error(r, &err);
	return reply_json(r, 200, out);
}

/* 200 only when an event sent now could be stored: the database answers, the last write
 * did not fail, the disk has room and is writable. Otherwise 503 with the reason. */
static enum MHD_Result h_health(struct request *r)
{
	ac_sql *db = reader_pool_get(r->c->readers);
	int ok = ac_sql_exec(db, "SELECT 1 FROM events LIMIT 1", NULL, NULL, NULL) == AC_SQL_OK;
	char why[300] = "";
	bool ro = false;
	long long free_bytes = writer_free_bytes(r->c->cfg.db_path, &ro);
	json_t *out;

	reader_pool_put(r->c->readers, db);
	if (!ok)
		snprintf(why, sizeof why, "the database cannot be read");
	else if (ro)
		snprintf(why, sizeof why, "the database's file system is read-only");
	else if (free_bytes >= 0 && free_bytes < 65536)
		snprintf(why, sizeof why, "disk full: %lld bytes free next to the database", free_bytes);
	else
		writer_failing(r->c->writer, why, sizeof why);
	out = json_pack("{s:s,s:s,s:i,s:i,s:I,s:I,s:I}", "status", why[0] ? "unavailable" : "ok",
			"database", why[0] ? "error" : "ok", "queue_depth",
			(int)writer_depth(r->c->writer), "queue_capacity",
			(int)writer_capacity(r->c->writer), "bodies_in_flight_bytes",
			(json_int_t)atomic_load(&r->c->inflight), "bodies_in_flight_limit",
			(json_int_t)r->c->cfg.max_inflight_bytes, "disk_free_bytes",
			(json_int_t)free_bytes);
	if (why[0])
		json_object_set_new(out, "reason", json_string(why));
	return reply_json(r, why[0] ? 503 : 200, out);
}

static enum MHD_Result h_metrics(struct request *r)
{
	struct ac_buf b;
	size_t len;
	char *s;

	ac_buf_init(&b, 1 << 20);
	metrics_render(r->c->metrics, &b, writer_depth(r->c->writer), writer_capacity(r->c->writer));
	ac_sql *db = reader_pool_get(r->c->readers);
	ops_metrics_render(&b, r->c->cfg.db_path, r->c->analyzer ? db : NULL);  /* lag: with --rules */
	reader_pool_put(r->c->readers, db);
	evidence_metrics(r, &b);   /* evidence: api_feedback.c */
	s = ac_buf_detach(&b, &len);
	if (!s)
		return MHD_NO;
	return reply_raw(r, 200, "text/plain; version=0.0.4", s, len, NULL);
}

static const char *mime_of(const char *path)
{
	static const struct { const char *ext, *type; } types[] = {
		{ ".html", "text/html; charset=utf-8" }, { ".js", "text/javascript" },
		{ ".css", "text/css" }, { ".json", "application/json" }, { ".svg", "image/svg+xml" },
		{ ".png", "image/png" }, { ".ico", "image/x-icon" },
	};
	const char *dot = strrchr(path, '.');
	for (size_t i = 0; dot && i < AC_ARRAY_SIZE(types); i++)
		if (!strcmp(dot, types[i].ext))
			return types[i].type;
	return "application/octet-stream";
}

/* path resolves (symlinks followed) to a file under web_dir: a link pointing out is refused */
static bool inside_web_dir(const char *web_dir, const char *path)
{
	char *root = realpath(web_dir, NULL), *real = realpath(path, NULL);
	size_t n = root ? strlen(root) : 0;
	bool ok = root && real && !strncmp(real, root, n) && real[n] == '/';

	free(root);
	free(real);
	return ok;
}

static enum MHD_Result h_static(struct request *r)
{
	char path[1024];
	struct stat st;
	struct MHD_Response *resp;
	enum MHD_Result ret;
	int fd;

	if (!r->c->cfg.web_dir)
		return reply_simple_error(r, AC_ENOTFOUND, "not_found", "no web UI configured (--web DIR)");
	if (strstr(r->arg, "..") || strchr(r->arg, '\\') || r->arg[0] == '.')
		return reply_simple_error(r, AC_ENOTFOUND, "not_found", "no such file");
	snprintf(path, sizeof path, "%s/%s", r->c->cfg.web_dir, *r->arg ? r->arg : "index.html");
	if (!inside_web_dir(r->c->cfg.web_dir, path))
		return reply_simple_error(r, AC_ENOTFOUND, "not_found", "no such file");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		if (fd >= 0)
			close(fd);
		return reply_simple_error(r, AC_ENOTFOUND, "not_found", "no such file");
	}
	resp = MHD_create_response_from_fd((uint64_t)st.st_size, fd);
	if (!resp) {
		close(fd);
		return MHD_NO;
	}
	MHD_add_response_header(resp, "Content-Type", mime_of(path));
	MHD_add_response_header(resp, "Cache-Control", "no-cache");
	ret = MHD_queue_response(r->conn, 200, resp);
	MHD_destroy_response(resp);
	metrics_request(r->c->metrics, ROUTE_STATIC, 200);
	return ret;
}

static enum MHD_Result h_options(struct request *r)
{
	static const char *const headers[] = {
		"Access-Control-Allow-Origin", "*",
		"Access-Control-Allow-Methods", "POST, OPTIONS",
		"Access-Control-Allow-Headers",
		"Content-Type, Content-Encoding, Authorization, X-Sentry-Auth, X-Autocoder-Key",
		"Access-Control-Max-Age", "86400", NULL,
	};
	char *empty = strdup("");
	return empty ? reply_raw(r, 204, "text/plain", empty, 0, headers) : MHD_NO;
}

/* ---------------------------------------------------------------- request API */

const char *req_query(struct request *r, const char *name) { return query_arg(r, name); }
int req_check_params(struct request *r, const char *const *known, struct ac_error *err)
{
	return unknown_param(r, known, err);
}
const char *req_header(struct request *r, const char *name) { return header(r, name); }
const char *req_arg(struct request *r) { return r->arg; }
long long req_project(struct request *r) { return r->project_id; }
const struct collector_config *req_config(struct request *r) { return &r->c->cfg; }
ac_sql *req_reader(struct request *r) { return reader_pool_get(r->c->readers); }
void req_reader_put(struct request *r, ac_sql *db) { reader_pool_put(r->c->readers, db); }
int req_authenticate(struct request *r, struct ac_error *err) { return authenticate(r, err); }
struct analyzer *req_analyzer(struct request *r) { return r->c->analyzer; }

const char *req_body(struct request *r, size_t *len)
{
	if (len)
		*len = r->body.len;
	return r->body.data ? r->body.data : "";
}

enum MHD_Result req_reply_json(struct request *r, unsigned status, json_t *obj)
{
	return reply_json(r, status, obj);
}

enum MHD_Result req_reply_text(struct request *r, unsigned status, const char *ctype,
			       char *body, size_t len)
{
	return reply_raw(r, status, ctype, body, len, NULL);
}

enum MHD_Result req_reply_error_retry(struct request *r, int code, const char *what,
				      const char *detail, unsigned retry_after)
{
	return reply_error_retry(r, code, what, detail, retry_after);
}

enum MHD_Result req_reply_error(struct request *r, int code, const char *what,
				const char *detail)
{
	return reply_simple_error(r, code, what, detail);
}

/* ---------------------------------------------------------------- routing */

static const struct route routes[] = {
	{ "POST", "/api/v1/events", ROUTE_EVENTS_POST, AUTH_INGEST, h_events_post },
	{ "GET", "/api/v1/events", ROUTE_EVENTS_GET, AUTH_READ, h_events_get },
	{ "GET", "/api/v1/events/*", ROUTE_EVENT_GET, AUTH_READ, h_event_get },
	{ "GET", "/api/v1/attachments/*", ROUTE_API_OTHER, AUTH_READ, api_attachment_get },
	{ "POST", "/api/v1/logs", ROUTE_LOGS_POST, AUTH_INGEST, h_logs_post },
	{ "POST", "/api/v1/crashes", ROUTE_CRASHES_POST, AUTH_INGEST, h_crashes_post },
	{ "POST", "/api/*/envelope/", ROUTE_SENTRY_ENVELOPE, AUTH_SENTRY, h_envelope },
	{ "POST", "/api/*/envelope", ROUTE_SENTRY_ENVELOPE, AUTH_SENTRY, h_envelope },
	{ "POST", "/api/*/store/", ROUTE_SENTRY_STORE, AUTH_SENTRY, h_store },
	{ "POST", "/api/*/store", ROUTE_SENTRY_STORE, AUTH_SENTRY, h_store },
	{ "POST", "/v1/logs", ROUTE_OTLP_LOGS, AUTH_INGEST, h_otlp },
	{ "GET", "/health", ROUTE_HEALTH, AUTH_NONE, h_health },
	{ "GET", "/metrics", ROUTE_METRICS, AUTH_NONE, h_metrics },
	{ "GET", "/", ROUTE_STATIC, AUTH_NONE, h_static },
	{ "GET", "/web/*", ROUTE_STATIC, AUTH_NONE, h_static },
	/* an-clusters (collector/api_clusters.c); mutations need an admin token (docs/API.md) */
	{ "GET", "/api/v1/clusters", ROUTE_CLUSTERS_GET, AUTH_READ, api_clusters_list },
	{ "POST", "/api/v1/clusters/merge", ROUTE_CLUSTERS_MERGE, AUTH_ADMIN, api_clusters_merge },
	{ "GET", "/api/v1/clusters/*", ROUTE_CLUSTER_GET, AUTH_READ, api_cluster_get },
	{ "POST", "/api/v1/clusters/*/status", ROUTE_CLUSTER_STATUS, AUTH_ADMIN, api_cluster_status },
	{ "POST", "/api/v1/clusters/*/split", ROUTE_CLUSTER_SPLIT, AUTH_ADMIN, api_cluster_split },
	{ "POST", "/api/v1/clusters/*/unmerge", ROUTE_CLUSTER_UNMERGE, AUTH_ADMIN, api_cluster_unmerge },
	{ "GET", "/api/v1/guide", ROUTE_GUIDE, AUTH_READ, api_guide },
	{ "GET", "/api/v1/alerts/deliveries", ROUTE_ALERT_DELIVERIES, AUTH_READ, api_alert_deliveries },
	/* perf: `autocoder bench` runs stored in this database (collector/api_bench.c) */
	{ "GET", "/api/v1/bench/runs", ROUTE_BENCH_RUNS, AUTH_READ, api_bench_runs },
	/* evidence (collector/api_feedback.c): any key of the project, the DSN's too */
	{ "POST", "/api/v1/clusters/*/feedback", ROUTE_CLUSTER_FEEDBACK, AUTH_INGEST,
	  api_cluster_feedback },
	{ "POST", "/api/v1/report/clusters", ROUTE_REPORT_CLUSTERS, AUTH_INGEST, api_report_clusters },
	{ "POST", "/api/v1/feedback/*/hide", ROUTE_FEEDBACK_MODERATE, AUTH_ADMIN, api_feedback_moderate },
	/* evidence: fault-injection results stored in this database (collector/api_faults.c) */
	{ "GET", "/api/v1/faults/runs", ROUTE_FAULTS_RUNS, AUTH_READ, api_faults_runs },
};

/* Match url against a pattern; '*' captures one non-empty segment into arg. */
static bool path_match(const char *pat, const char *url, char *arg, size_t arglen)
{
	while (*pat && *url) {
		if (*pat == '*') {
			size_t n = strcspn(url, "/");
			if (n == 0 || n >= arglen)
				return false;
			memcpy(arg, url, n);
			arg[n] = '\0';
			url += n;
			pat++;
			continue;
		}
		if (*pat != *url)
			return false;
		pat++;
		url++;
	}
	return !*pat && !*url;
}

/* Find the route for method and url. HEAD is served as GET (libmicrohttpd sends no body);
 * a known path with another method gets 405 with Allow; OPTIONS (CORS preflight) is
 * answered only on ingest routes. */
static void route_request(struct request *r, const char *method, const char *url)
{
	bool head = !strcmp(method, "HEAD"), options = !strcmp(method, "OPTIONS");

	r->allow[0] = '\0';
	for (size_t i = 0; i < AC_ARRAY_SIZE(routes); i++) {
		char arg[sizeof r->arg] = "";
		if (!path_match(routes[i].path, url, arg, sizeof arg))
			continue;
		if (options && (routes[i].auth == AUTH_INGEST || routes[i].auth == AUTH_SENTRY)) {
			r->preflight = true;
			return;
		}
		if (!strcmp(method, routes[i].method) || (head && !strcmp(routes[i].method, "GET"))) {
			r->route = &routes[i];
			memcpy(r->arg, arg, sizeof arg);
			return;
		}
		if (!strstr(r->allow, routes[i].method)) {
			size_t n = strlen(r->allow);
			snprintf(r->allow + n, sizeof r->allow - n, "%s%s%s", n ? ", " : "",
				 routes[i].method, strcmp(routes[i].method, "GET") ? "" : ", HEAD");
		}
	}
	if (!r->allow[0] && (!strncmp(url, "/web/", 5) || !strcmp(url, "/")))
		snprintf(r->allow, sizeof r->allow, "GET, HEAD");
	r->method_mismatch = r->allow[0] != '\0';
}

/* With --open-read the API answers without a token, so a page whose DNS name was rebound to
 * 127.0.0.1 must not reach it: only loopback names and the listening address are accepted. */
static bool host_allowed(struct collector *c, const char *host)
{
	char name[256], lhost[256], lport[16];
	size_t n;

	if (!c->cfg.open_read)
		return true;
	if (!host || !*host)
		return false;
	if (host[0] == '[') {
		n = strcspn(host, "]");
		snprintf(name, sizeof name, "%.*s", (int)(n > 0 ? n - 1 : 0), host + 1);
	} else {
		n = strcspn(host, ":");
		snprintf(name, sizeof name, "%.*s", (int)n, host);
	}
	if (!strcasecmp(name, "localhost") || !strcmp(name, "::1") || !strncmp(name, "127.", 4))
		return true;
	return split_listen(c->cfg.listen, lhost, sizeof lhost, lport, sizeof lport, NULL) == 0 &&
	       *lhost && !strcasecmp(name, lhost);
}

/* ---------------------------------------------------------------- MHD callbacks */

static enum MHD_Result reply_over_budget(struct request *r)
{
	static const char *const headers[] = { "Retry-After", "1", NULL };

	metrics_rejected(r->c->metrics, "memory_budget");
	return reply_json_h(r, 503, json_pack("{s:s,s:s}", "error", "over_capacity", "detail",
					      "the collector is receiving too much data at once "
					      "(--max-inflight); retry later"), headers);
}

/* Before any body byte is read: refuse a request whose key is missing or wrong, whose
 * Content-Length is over the limit or over what the memory budget has left. Only a Sentry
 * envelope with its key solely inside (the dsn header) is read unauthenticated, up to
 * max_unauth_bytes. A reply queued here makes libmicrohttpd close the connection without
 * reading the body. */
static enum MHD_Result first_checks(struct request *r)
{
	const char *cl = header(r, "Content-Length");
	struct sentry_auth a;
	struct ac_error err;
	int64_t len = -1;

	if (!r->route || (r->route->auth != AUTH_INGEST && r->route->auth != AUTH_SENTRY))
		return MHD_YES;
	if (!host_allowed(r->c, header(r, "Host")))
		return MHD_YES;  /* answered 403 once the request is complete */
	ac_error_clear(&err);
	if (r->route->auth == AUTH_INGEST) {
		if (authenticate(r, &err))
			return reply_error(r, &err);
		r->authed = true;
	} else {
		const char *key = sentry_key_outside(r, &a);
		bool envelope = r->route->metric == ROUTE_SENTRY_ENVELOPE;
		if (key || !envelope) {
			if (authenticate_sentry(r, key, &err))
				return reply_error(r, &err);
		} else {
			r->body.max = r->c->cfg.max_unauth_bytes;
		}
	}
	if (cl && !ac_parse_i64(cl, &len) && len > 0) {
		if ((uint64_t)len > r->body.max) {
			ac_error_set(&err, AC_ETOOBIG, "body_too_large",
				     "request body of %lld bytes is larger than the limit of %zu bytes%s",
				     (long long)len, r->body.max,
				     r->body.max == r->c->cfg.max_unauth_bytes && r->route->auth == AUTH_SENTRY
					     ? " for an envelope whose key is only inside it (send X-Sentry-Auth or ?sentry_key=)"
					     : "");
			return reply_error(r, &err);
		}
		if (atomic_load(&r->c->inflight) + (size_t)len > r->c->cfg.max_inflight_bytes)
			return reply_over_budget(r);
	}
	return MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	struct collector *c = cls;
	struct request *r = *con_cls;

	(void)version;
	if (!lowered_priority) {
		/* The single writer thread is the pipeline's serialisation point: when the HTTP
		 * threads outcompete it for CPU, every waiting request pays. Lowering their
		 * priority needs no privilege; raising the writer's would. */
		lowered_priority = true;
		if (setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 5) < 0)
			ac_log(AC_LOG_DEBUG, "cannot lower HTTP thread priority", NULL);
	}
	if (!r) {
		r = calloc(1, sizeof *r);
		if (!r)
			return MHD_NO;
		r->c = c;
		r->conn = conn;
		r->project_id = 0;
		r->started = ac_monotonic();
		snprintf(r->method, sizeof r->method, "%s", method);
		ac_buf_init(&r->body, c->cfg.max_body_bytes);
		atomic_fetch_add(&c->active, 1);
		*con_cls = r;
		MHD_set_connection_option(conn, MHD_CONNECTION_OPTION_TIMEOUT, (unsigned)60);
		route_request(r, method, url);
		return first_checks(r);
	}
	if (*upload_size) {
		r->bytes_in += *upload_size;
		if (r->body_too_large || r->over_budget)
			;  /* discard: the reply is already decided */
		else if (!charge(r, *upload_size))
			r->over_budget = true;
		else if (ac_buf_append(&r->body, upload, *upload_size))
			r->body_too_large = true;
		if (r->body.len > (1 << 20))
			r->big = true;
		if (r->over_budget || r->body_too_large) {
			ac_buf_release(&r->body);
			uncharge(r);
		}
		*upload_size = 0;
		return MHD_YES;
	}
	if (r->state == REQ_DONE)
		return reply_stored(r);
	if (r->state == REQ_WAITING || r->state == REQ_OFFLOADED)
		return MHD_YES; /* spurious wake-up while suspended */
	if (r->state == REQ_OFFLOAD_DONE) {
		enum MHD_Result ret = r->offload_reply(r, r->offload_ctx);
		r->offload_free(r->offload_ctx);
		r->offload_ctx = NULL;
		return ret;
	}
	if (!host_allowed(c, header(r, "Host")))
		return reply_simple_error(r, AC_EFORBID, "forbidden_host",
					  "Host is not a loopback name or the listening address (DNS rebinding "
					  "protection of --open-read); use http://127.0.0.1:PORT or localhost");
	if (r->preflight)
		return h_options(r);
	if (!r->route) {
		char detail[400];
		const char *allow[] = { "Allow", r->allow, NULL };
		snprintf(detail, sizeof detail, "%s %.200s is not an endpoint of this server%s%s", method,
			 url, r->method_mismatch ? "; allowed: " : "", r->method_mismatch ? r->allow : "");
		if (r->method_mismatch)
			return reply_json_h(r, 405, json_pack("{s:s,s:s}", "error", "method_not_allowed",
							      "detail", detail), allow);
		return reply_simple_error(r, AC_ENOTFOUND, "not_found", detail);
	}
	if (r->over_budget)
		return reply_over_budget(r);
	if (r->body_too_large) {
		struct ac_error err;
		ac_error_set(&err, AC_ETOOBIG, "body_too_large",
			     "request body is larger than the limit of %zu bytes", r->body.max);
		return reply_error(r, &err);
	}
	return r->route->handle(r);
}

static void log_request(struct request *r)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	char remote[INET6_ADDRSTRLEN + 1] = "";
	struct access_entry e = {
		.method = r->method, .status = r->status, .bytes_in = r->bytes_in,
		.bytes_out = r->bytes_out, .seconds = ac_monotonic() - r->started,
		.project_id = r->project_id, .project = r->project, .remote = remote,
		.user_agent = header(r, "User-Agent"),
		.route = metrics_route_path(r->route ? r->route->metric : ROUTE_NOT_FOUND),
		.reason = r->status >= 400 ? r->reason : NULL,
		.detail = r->status >= 400 ? r->detail : NULL,
	};

	if (ci && ci->client_addr)
		getnameinfo(ci->client_addr, ci->client_addr->sa_family == AF_INET6
			    ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in),
			    remote, sizeof remote, NULL, 0, NI_NUMERICHOST);
	access_log_write(&e);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct collector *c = cls;
	struct request *r = *con_cls;

	(void)conn;
	(void)toe;
	if (!r)
		return;
	log_request(r);
	if (r->offload_ctx)     /* the reply never ran (client gone) */
		r->offload_free(r->offload_ctx);
	writer_job_release(&r->job);
	json_decref(r->events);
	json_decref(r->counts);
	ac_buf_release(&r->body);
	uncharge(r);
	/* after a burst of large bodies, give the freed heap back to the system */
	if (r->big && atomic_load(&c->inflight) == 0)
		malloc_trim(0);
	free(r);
	*con_cls = NULL;
	atomic_fetch_sub(&c->active, 1);
}

/* ---------------------------------------------------------------- lifecycle */

void collector_config_defaults(struct collector_config *cfg)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	memset(cfg, 0, sizeof *cfg);
	cfg->listen = "127.0.0.1:8080";
	cfg->db_path = "data/autocoder.db";
	cfg->max_event_bytes = 1 << 20;
	cfg->max_body_bytes = 20 << 20;
	cfg->max_decoded_bytes = 20 << 20;
	cfg->queue_events = 20000;
	cfg->threads = cpus > 0 ? (unsigned)cpus : 2;
	cfg->max_group_events = 5000;
	cfg->max_inflight_bytes = (size_t)256 << 20;
	cfg->max_unauth_bytes = 1 << 20;
	cfg->max_conn_per_ip = 256;
	cfg->max_batch_events = 100000;
	cfg->max_attachment_bytes = AC_ATTACHMENT_MAX;
	cfg->attachment_quota_bytes = AC_ATTACHMENT_QUOTA;
}

/* Split "host:port", "[v6]:port" or ":port". */
static int split_listen(const char *listen, char *host, size_t hn, char *port, size_t pn,
			struct ac_error *err)
{
	const char *colon;

	if (listen[0] == '[') {
		const char *close = strchr(listen, ']');
		if (!close || close[1] != ':')
			goto bad;
		snprintf(host, hn, "%.*s", (int)(close - listen - 1), listen + 1);
		snprintf(port, pn, "%s", close + 2);
	} else {
		colon = strrchr(listen, ':');
		if (!colon)
			goto bad;
		snprintf(host, hn, "%.*s", (int)(colon - listen), listen);
		snprintf(port, pn, "%s", colon + 1);
	}
	if (!*port)
		goto bad;
	return 0;
bad:
	return ac_error_set(err, AC_EINVAL, "usage",
			    "--listen '%s' must be HOST:PORT, [IPv6]:PORT or :PORT", listen);
}

static bool is_loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
	if (sa->sa_family == AF_INET6)
		return IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)sa)->sin6_addr);
	return false;
}

static int open_listener(struct collector *c, struct ac_error *err)
{
	char host[256], port[16];
	struct addrinfo hints, *res = NULL;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	int fd = -1, one = 1, rc;

	if ((rc = split_listen(c->cfg.listen, host, sizeof host, port, sizeof port, err)))
		return rc;
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((rc = getaddrinfo(*host ? host : NULL, port, &hints, &res)) != 0)
		return ac_error_set(err, AC_EINVAL, "usage", "--listen %s: %s", c->cfg.listen,
				    gai_strerror(rc));
	if (c->cfg.open_read && !is_loopback(res->ai_addr)) {
		rc = ac_error_set(err, AC_EINVAL, "usage",
				  "--open-read is only allowed when listening on loopback (127.0.0.1 or ::1)");
		goto out;
	}
	fd = socket(res->ai_family, res->ai_socktype | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
	    bind(fd, res->ai_addr, res->ai_addrlen) < 0 || listen(fd, 1024) < 0 ||
	    getsockname(fd, (struct sockaddr *)&ss, &sl) < 0) {
		rc = ac_error_set(err, AC_EIO, "listen", "cannot listen on %s: %s", c->cfg.listen,
				  strerror(errno));
		if (fd >= 0)
			close(fd);
		goto out;
	}
	c->listen_fd = fd;
	c->port = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
						: ((struct sockaddr_in6 *)&ss)->sin6_port);
	rc = 0;
out:
	freeaddrinfo(res);
	return rc;
}

static int start_daemon(struct collector *c, struct ac_error *err)
{
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
			 MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ITC;

	c->daemon = MHD_start_daemon(
		flags, 0, NULL, NULL, on_request, c,
		MHD_OPTION_LISTEN_SOCKET, c->listen_fd,
		MHD_OPTION_THREAD_POOL_SIZE, c->cfg.threads,
		MHD_OPTION_NOTIFY_COMPLETED, on_completed, c,
		/* a new connection has HEADER_TIMEOUT s of silence to finish its headers; once they
		 * are in (on_request's first call) it gets the normal 60 s */
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)HEADER_TIMEOUT,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned)4000,
		/* one address cannot take every connection (slowloris): the rest stay for others */
		MHD_OPTION_PER_IP_CONNECTION_LIMIT, c->cfg.max_conn_per_ip ? c->cfg.max_conn_per_ip : 256,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024),
		MHD_OPTION_END);
	if (!c->daemon)
		return ac_error_set(err, AC_EIO, "listen", "cannot start the HTTP server on %s",
				    c->cfg.listen);
	return 0;
}

int collector_start(const struct collector_config *cfg, struct collector **out,
		    struct ac_error *err)
{
	struct collector *c = calloc(1, sizeof *c);
	int rc;

	if (!c)
		return ac_error_set(err, AC_ENOMEM, "internal", "out of memory");
	c->cfg = *cfg;
	c->listen_fd = -1;
	c->stop_pipe[0] = c->stop_pipe[1] = -1;
	c->limits.max_event_bytes = cfg->max_event_bytes;
	c->limits.max_decoded_bytes = cfg->max_decoded_bytes;
	pthread_mutex_init(&c->rate_lock, NULL);
	if (pipe2(c->stop_pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
		rc = ac_error_set(err, AC_EIO, "internal", "pipe: %s", strerror(errno));
		goto fail;
	}
	if (!(c->metrics = metrics_new()) || !(c->keys = key_cache_new(cfg->db_path))) {
		rc = ac_error_set(err, AC_ENOMEM, "internal", "out of memory");
		goto fail;
	}
	if ((rc = writer_start(cfg->db_path, cfg->queue_events, cfg->max_group_events, c->metrics,
			       &c->writer, err)) ||
	    (rc = keys_upgrade_legacy(cfg->db_path, err)))
		goto fail;
	if (!(c->readers = reader_pool_new(cfg->db_path, cfg->threads + 2, err))) {
		rc = AC_EDB;
		goto fail;
	}
	/* an-clusters: with --rules, an analyzer thread clusters events after each commit */
	if (cfg->rules_dir) {
		if ((rc = analyzer_open(cfg->db_path, cfg->rules_dir, &c->analyzer, err)) ||
		    (rc = analyzer_start(c->analyzer, err)))
			goto fail;
		writer_set_commit_hook(c->writer, analyzer_notify, c->analyzer);
	}
	if ((rc = open_listener(c, err)) || (rc = start_daemon(c, err)))
		goto fail;
	*out = c;
	return 0;
fail:
	collector_free(c);
	return rc;
}

unsigned collector_port(const struct collector *c)
{
	return c->port;
}

void collector_stop(struct collector *c)
{
	ssize_t w = write(c->stop_pipe[1], "x", 1);
	(void)w;
}

void collector_wait(struct collector *c)
{
	struct pollfd pfd = { .fd = c->stop_pipe[0], .events = POLLIN };
	double deadline;
	char buf[16];

	while (poll(&pfd, 1, -1) < 0 && errno == EINTR)
		;
	while (read(c->stop_pipe[0], buf, sizeof buf) > 0)
		;
	ac_log(AC_LOG_INFO, "stopping: draining the write queue", NULL);
	MHD_quiesce_daemon(c->daemon);
	/* a cluster operation still running uses the analyzer and a suspended connection */
	while (atomic_load(&c->offloads) > 0)
		usleep(10000);
	writer_stop(c->writer);
	analyzer_stop(c->analyzer);  /* an-clusters: one last batch of the final commits */
	/* give resumed connections time to send their replies */
	deadline = ac_monotonic() + 5.0;
	while (atomic_load(&c->active) > 0 && ac_monotonic() < deadline)
		usleep(10000);
	MHD_stop_daemon(c->daemon);
	c->daemon = NULL;
	c->stopped = true;
	ac_log(AC_LOG_INFO, "stopped", NULL);
}

void collector_free(struct collector *c)
{
	if (!c)
		return;
	if (c->daemon)
		MHD_stop_daemon(c->daemon);
	writer_free(c->writer);
	analyzer_close(c->analyzer);  /* an-clusters: after the writer, whose hook points here */
	reader_pool_free(c->readers);
	key_cache_free(c->keys);
	metrics_free(c->metrics);
	if (c->listen_fd >= 0)
		close(c->listen_fd);
	if (c->stop_pipe[0] >= 0)
		close(c->stop_pipe[0]);
	if (c->stop_pipe[1] >= 0)
		close(c->stop_pipe[1]);
	pthread_mutex_destroy(&c->rate_lock);
	free(c);
}

static void on_signal(int sig)
{
	(void)sig;
	if (signal_target)
		collector_stop(signal_target);
}

void collector_handle_signals(struct collector *c)
{
	struct sigaction sa;

	signal_target = c;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
}

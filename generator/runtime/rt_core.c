/*
 * rt_core.c — system start-up, wiring, component threads, queues, delivery, logging, shutdown.
 *
 * rt_main() loads config/system.json, applies environment overrides, builds one queue per
 * binding (capacity qos.buffering) and one thread per component, then waits for SIGTERM or
 * SIGINT in the main thread (the signals are blocked everywhere else). Shutdown drains: ingress
 * stops (sources, HTTP endpoints answer 503), the main thread waits until every queue is empty
 * and no component is mid-message, asks every component to flush what it holds (open
 * aggregator batches, partial windows) from its own thread and waits again — all within
 * shutdown_timeout_ms — then stops the threads and runs each component's fini (sinks write
 * their last batch, accumulators persist).
 *
 * Delivery (rt_emit): for each binding leaving the port whose condition holds, the message is
 * pushed into the target's queue; the first target gets the original reference, others a deep
 * copy, so no two threads share a mutable object. A push waits at most timeout_ms per attempt.
 * error_handling.strategy: "retry" makes retry_count more attempts and then writes the message
 * to the binding's dead-letter file (so nothing is lost silently); "dead_letter" writes it
 * there after the first failure; "ignore" drops it (counted). A processing error on the
 * receiving side is handled the same way.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "rt_util.h"
#include "rt_int.h"

struct rt_system *rt_sys;

/* How long a component that just worked polls for the next message before sleeping. */
#define SPIN_SECONDS 50e-6

static const struct rt_type_ops *const type_ops[] = {
	[RT_SOURCE] = &rt_source_ops,
	[RT_TRANSFORMER] = &rt_transformer_ops,
	[RT_FILTER] = &rt_filter_ops,
	[RT_ROUTER] = &rt_router_ops,
	[RT_AGGREGATOR] = &rt_aggregator_ops,
	[RT_ACCUMULATOR] = &rt_accumulator_ops,
	[RT_STREAM_PROCESSOR] = &rt_stream_ops,
	[RT_MODEL] = &rt_model_ops,
	[RT_STORE] = &rt_store_ops,
	[RT_CONTROLLER] = &rt_controller_ops,
	[RT_API_ENDPOINT] = &rt_api_ops,
	[RT_SINK] = &rt_sink_ops,
	[RT_WEBSOCKET] = &rt_websocket_ops,
};

static const char *const level_names[] = { "debug", "info", "warn", "error" };

/* ---------------------------------------------------------------- small helpers */

double rt_mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void rt_iso_now(char *buf, size_t n)
{
	struct timespec ts;
	struct tm tm;
	char date[32];
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	if (!strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm))
		date[0] = 0;
	snprintf(buf, n, "%.24s.%03dZ", date, (int)(ts.tv_nsec / 1000000) % 1000);
}

void rt_random_hex(char *out, size_t nbytes)
{
	static const char hex[] = "0123456789abcdef";
	static __thread uint64_t s;
	if (!s)
		s = ((uint64_t)(rt_mono() * 1e9) * 1000003u) ^ (uint64_t)pthread_self() ^
		    (uint64_t)getpid() << 32 ^ (uint64_t)time(NULL) ^ 0x9e3779b97f4a7c15ull;
	for (size_t i = 0; i < nbytes; i++) {
		s ^= s << 13;
		s ^= s >> 7;
		s ^= s << 17;
		out[2 * i] = hex[(s >> 4) & 15];
		out[2 * i + 1] = hex[s & 15];
	}
	out[2 * nbytes] = 0;
}

void rt_msg_init(struct rt_msg *m, json_t *data)
{
	memset(m, 0, sizeof *m);
	m->data = data;
	m->binding = UINT32_MAX;
	rt_random_hex(m->trace_id, 16);
}

const char *rt_name(const struct rt_component *c)
{
	return c->def->name;
}

json_t *rt_config(struct rt_component *c)
{
	return c->config;
}

struct rt_component *rt_find(struct rt_system *s, const char *name)
{
	for (size_t i = 0; i < s->ncomps; i++)
		if (!strcmp(s->comps[i].def->name, name))
			return &s->comps[i];
	return NULL;
}

bool rt_port_bound(struct rt_component *c, const char *port, bool incoming)
{
	struct rt_queue **qs = incoming ? c->inq : c->outq;
	size_t n = incoming ? c->ninq : c->noutq;
	for (size_t i = 0; i < n; i++) {
		const char *p = incoming ? qs[i]->def->to_port : qs[i]->def->from_port;
		if (!strcmp(p, port))
			return true;
	}
	return false;
}

double rt_cfg_num(struct rt_component *c, const char *key, double dflt)
{
	json_t *v = json_object_get(c->config, key);
	return json_is_number(v) ? json_number_value(v) : dflt;
}

const char *rt_cfg_str(struct rt_component *c, const char *key, const char *dflt)
{
	json_t *v = json_object_get(c->config, key);
	return json_is_string(v) ? json_string_value(v) : dflt;
}

bool rt_cfg_bool(struct rt_component *c, const char *key, bool dflt)
{
	json_t *v = json_object_get(c->config, key);
	return json_is_boolean(v) ? json_is_true(v) : dflt;
}

int rt_port_of(struct rt_component *c, int dflt)
{
	return (int)rt_cfg_num(c, "port", dflt);
}

void rt_sqlite_path(struct rt_component *c, const char *url, char *out, size_t n)
{
	const char *p = url;
	if (!strncmp(p, "sqlite:///", 10))
		p += 10;
	else if (!strncmp(p, "sqlite://", 9))
		p += 9;
	if (!*p) {
		snprintf(out, n, "%s/%s.db", c->sys->data_dir, c->def->name);
		return;
	}
	/* "data/x.db" and "./data/x.db" live under DATA_DIR so every instance keeps its own files */
	if (!strncmp(p, "./", 2))
		p += 2;
	if (!strncmp(p, "data/", 5))
		p += 5;
	if (p[0] == '/')
		snprintf(out, n, "%s", p);
	else
		snprintf(out, n, "%s/%s", c->sys->data_dir, p);
}

/* ---------------------------------------------------------------- logging */

static int level_index(const char *level)
{
	for (int i = 0; i < 4; i++)
		if (!strcmp(level, level_names[i]))
			return i;
	if (!strcmp(level, "warning"))
		return 2;
	return 1;
}

/* Warnings and errors also become collector events (kind log/error). */
static void ship_log_event(struct rt_system *s, struct rt_component *c, const struct rt_msg *m,
			   int li, const char *ts, const char *msg, json_t *fields)
{
	char id[33];
	json_t *ev, *tags;

	rt_random_hex(id, 16);
	ev = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}",
		       "event_id", id, "timestamp", ts, "level", li == 2 ? "warning" : "error",
		       "kind", li == 2 ? "log" : "error", "system", s->def->name, "component",
		       c ? c->def->name : "system", "release", s->release, "environment",
		       s->environment, "logger", c ? c->ops->type_name : "runtime", "message", msg,
		       "platform", "c");
	if (!ev)
		return;
	tags = json_object();
	if (m && m->trace_id[0])
		json_object_set_new(tags, "trace_id", json_string(m->trace_id));
	json_object_set_new(ev, "tags", tags);
	if (fields && json_object_size(fields))
		json_object_set_new(ev, "context", json_deep_copy(fields));
	rt_shipper_push(ev);
}

/* The line when the JSON could not be built (out of memory): level and message, from the
 * stack, so an allocation failure is still reported. */
static void log_without_memory(const char *level, const char *msg)
{
	char line[640], ts[40];
	size_t n;
	rt_iso_now(ts, sizeof ts);
	n = (size_t)snprintf(line, sizeof line, "{\"ts\":\"%s\",\"level\":\"%s\",\"msg\":\"", ts,
			     level);
	for (const char *p = msg; *p && n < sizeof line - 80; p++)
		if ((unsigned char)*p >= 0x20 && *p != '"' && *p != '\\')
			line[n++] = *p;
	n += (size_t)snprintf(line + n, sizeof line - n, "\",\"fields\":{\"logging\":\"out of "
			      "memory (ENOMEM): fields dropped\"}}\n");
	if (write(2, line, n) < 0) {
		/* stderr is gone: nothing sensible left to do */
	}
}

void rt_log(struct rt_component *c, const char *level, const struct rt_msg *m, const char *msg,
	    json_t *fields)
{
	struct rt_system *s = rt_sys;
	int li = level_index(level);
	char ts[40];
	json_t *line;
	char *text;

	if (!fields)
		fields = json_object();
	if (s && li < s->log_level) {
		json_decref(fields);
		return;
	}
	rt_iso_now(ts, sizeof ts);
	line = json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:o}", "ts", ts, "level",
			 level_names[li], "system", s && s->def ? s->def->name : "", "component",
			 c ? c->def->name : "", "msg", msg, "trace_id",
			 m && m->trace_id[0] ? json_string(m->trace_id) : json_null(), "fields",
			 fields);
	if (!line) {
		log_without_memory(level_names[li], msg);
		return;
	}
	text = json_dumps(line, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (text) {
		size_t n = strlen(text);
		text[n] = '\n';   /* replaces the NUL: one write(2) keeps lines whole */
		if (write(2, text, n + 1) < 0) {
			/* stderr is gone: nothing sensible left to do */
		}
		free(text);
	}
	if (li >= 2 && s && s->def)
		ship_log_event(s, c, m, li, ts, msg, json_object_get(line, "fields"));
	json_decref(line);
}

int rt_fail(struct rt_component *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->last_error, sizeof c->last_error, fmt, ap);
	va_end(ap);
	return -1;
}

void rt_set_unhealthy(struct rt_component *c, const char *reason)
{
	snprintf(c->unhealthy_reason, sizeof c->unhealthy_reason, "%s", reason);
	atomic_store(&c->unhealthy, true);
}

void rt_set_healthy(struct rt_component *c)
{
	atomic_store(&c->unhealthy, false);
}

bool rt_all_healthy(json_t **report)
{
	struct rt_system *s = rt_sys;
	bool ok = true;
	json_t *comps = json_object();
	for (size_t i = 0; i < s->ncomps; i++) {
		struct rt_component *c = &s->comps[i];
		if (atomic_load(&c->unhealthy)) {
			ok = false;
			json_object_set_new(comps, c->def->name,
					    json_pack("{s:s, s:s}", "status", "unhealthy", "reason",
						      c->unhealthy_reason));
		} else {
			json_object_set_new(comps, c->def->name, json_pack("{s:s}", "status", "ok"));
		}
	}
	if (report)
		*report = json_pack("{s:s, s:s, s:o}", "status", ok ? "ok" : "unhealthy", "system",
				    s->def->name, "components", comps);
	else
		json_decref(comps);
	return ok;
}

/* ---------------------------------------------------------------- dead letters */

void rt_dead_letter(struct rt_queue *q, json_t *data, const char *why, int attempts)
{
	struct rt_system *s = rt_sys;
	char path[1024], ts[40];
	json_t *rec;
	char *text;
	FILE *f;

	atomic_fetch_add(&q->dead_lettered, 1);
	rt_iso_now(ts, sizeof ts);
	rec = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:O}", "ts", ts, "from",
			q->def->from, "from_port", q->def->from_port, "to", q->def->to, "to_port",
			q->def->to_port, "error", why, "attempts", attempts, "message",
			data ? data : json_null());
	if (!rec)
		return;
	text = json_dumps(rec, JSON_COMPACT);
	json_decref(rec);
	if (!text)
		return;
	snprintf(path, sizeof path, "%s/dead_letter", s->data_dir);
	pthread_mutex_lock(&s->deadletter_lock);
	rt_mkdirs(path);
	snprintf(path, sizeof path, "%s/dead_letter/%s.%s-%s.%s.jsonl", s->data_dir, q->def->from,
		 q->def->from_port, q->def->to, q->def->to_port);
	f = fopen(path, "a");
	if (f) {
		fprintf(f, "%s\n", text);
		fclose(f);
	}
	pthread_mutex_unlock(&s->deadletter_lock);
	free(text);
}

/* ---------------------------------------------------------------- queues and delivery */

static void abs_deadline(struct timespec *ts, int ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

/* Push one message into q, waiting at most timeout_ms while it is full. 0 or -1 (timeout or
 * shutdown). On success the queue owns m->data. */
static int queue_push(struct rt_queue *q, const struct rt_msg *m, int timeout_ms)
{
	struct rt_component *to = q->to;
	struct timespec dl;
	bool have_deadline = false, wake;
	struct rt_msg *slot;
	size_t tail;

	pthread_mutex_lock(&to->lock);
	while (q->count + q->reserved >= q->cap && !atomic_load(&rt_sys->stopping)) {
		int rc;
		if (!have_deadline) {   /* the clock is read only when the queue is full */
			abs_deadline(&dl, timeout_ms);
			have_deadline = true;
		}
		q->waiting_senders++;
		rc = pthread_cond_timedwait(&q->nonfull, &to->lock, &dl);
		q->waiting_senders--;
		if (rc == ETIMEDOUT && q->count + q->reserved >= q->cap)
			break;
	}
	if (q->count + q->reserved >= q->cap || atomic_load(&rt_sys->stopping)) {
		pthread_mutex_unlock(&to->lock);
		return -1;
	}
	tail = q->head + q->count;
	if (tail >= q->cap)
		tail -= q->cap;
	slot = &q->ring[tail];
	*slot = *m;
	slot->port = q->def->to_port;
	slot->binding = q->index;
	q->count++;
	atomic_fetch_add_explicit(&to->pending, 1, memory_order_relaxed);
	wake = to->receiver_waiting;
	pthread_mutex_unlock(&to->lock);
	if (wake)
		pthread_cond_signal(&to->nonempty);
	return 0;
}

/* ---------------------------------------------------------------- batched hand-over */

struct out_slot {
	size_t reserved, n;             /* slots promised by the queue; messages staged in them */
	struct rt_msg msgs[RT_BATCH];
};

struct outbox {
	struct rt_component *owner;
	bool active;
	struct out_slot *slot;          /* one per owner->outq */
};

static _Thread_local struct outbox *tl_outbox;

/* Publish q's staged messages and give back the unused promised slots, then (want > 0) promise
 * up to want free slots again — all under one lock. */
static void outbox_sync(struct rt_queue *q, struct out_slot *s, size_t want)
{
	struct rt_component *to = q->to;
	size_t published = s->n, tail;
	bool wake;

	pthread_mutex_lock(&to->lock);
	tail = q->head + q->count;
	for (size_t i = 0; i < published; i++, tail++) {
		if (tail >= q->cap)
			tail -= q->cap;
		q->ring[tail] = s->msgs[i];
	}
	q->count += published;
	q->reserved -= s->reserved;
	s->n = s->reserved = 0;
	if (want && !atomic_load(&rt_sys->stopping)) {
		size_t room = q->cap - q->count - q->reserved;
		s->reserved = room < want ? room : want;
		q->reserved += s->reserved;
	}
	if (published)
		atomic_fetch_add_explicit(&to->pending, published, memory_order_relaxed);
	if (q->waiting_senders && q->count + q->reserved < q->cap)   /* slots given back */
		pthread_cond_broadcast(&q->nonfull);
	wake = published && to->receiver_waiting;
	pthread_mutex_unlock(&to->lock);
	if (wake)
		pthread_cond_signal(&to->nonempty);
}

void rt_outbox_begin(struct rt_component *c)
{
	if (!tl_outbox) {
		tl_outbox = calloc(1, sizeof *tl_outbox);
		if (tl_outbox && c->noutq)
			tl_outbox->slot = calloc(c->noutq, sizeof *tl_outbox->slot);
		if (!tl_outbox || (c->noutq && !tl_outbox->slot)) {
			free(tl_outbox);
			tl_outbox = NULL;
			return;   /* out of memory: every message takes the ordinary path */
		}
		tl_outbox->owner = c;
	}
	tl_outbox->active = tl_outbox->owner == c;
}

void rt_outbox_flush(void)
{
	struct outbox *ob = tl_outbox;
	if (!ob)
		return;
	ob->active = false;
	for (size_t i = 0; i < ob->owner->noutq; i++)
		if (ob->slot[i].reserved)
			outbox_sync(ob->owner->outq[i], &ob->slot[i], 0);
}

/* Thread exit: nothing may stay staged. */
static void outbox_free(void)
{
	rt_outbox_flush();
	if (tl_outbox)
		free(tl_outbox->slot);
	free(tl_outbox);
	tl_outbox = NULL;
}

/* Stage m for q when c's thread has an active outbox and q has (or now promises) a free slot.
 * True when staged (q then owns m->data, as after a successful push). */
static bool outbox_stage(struct rt_component *c, struct rt_queue *q, const struct rt_msg *m)
{
	struct outbox *ob = tl_outbox;
	struct out_slot *s;
	struct rt_msg *slot;

	if (!ob || !ob->active || ob->owner != c)
		return false;
	s = &ob->slot[q->out_index];
	if (s->n == s->reserved)
		outbox_sync(q, s, RT_BATCH);
	if (s->n == s->reserved) {
		/* q is full: whatever is staged goes out first (order, and nothing is held while
		 * this thread blocks), then the blocking path */
		rt_outbox_flush();
		ob->active = true;
		return false;
	}
	slot = &s->msgs[s->n++];
	*slot = *m;
	slot->port = q->def->to_port;
	slot->binding = q->index;
	return true;
}

static int deliver(struct rt_component *c, struct rt_queue *q, struct rt_msg *m)
{
	int attempts = 1 + (!strcmp(q->def->strategy, "retry") ? q->def->retry_count : 0);

	/* A reply for a request waiting at this APIEndpoint is handed over directly: the
	 * endpoint's processing function runs in the replying thread (it only completes the
	 * request and resumes its connection, under the endpoint's own lock), which saves a
	 * thread hop and a wake-up per HTTP request. */
	if (q->to->def->type == RT_API_ENDPOINT && m->origin == q->to) {
		struct rt_msg r = *m;
		r.port = q->def->to_port;
		r.binding = q->index;
		atomic_fetch_add(&c->msgs_out, 1);
		atomic_fetch_add(&q->to->msgs_in, 1);
		q->to->def->process(q->to, &r);
		json_decref(r.data);
		return 0;
	}
	if (outbox_stage(c, q, m)) {
		atomic_fetch_add(&c->msgs_out, 1);
		return 0;
	}
	for (int a = 1; a <= attempts; a++) {
		if (queue_push(q, m, q->def->timeout_ms > 0 ? q->def->timeout_ms : 5000) == 0) {
			atomic_fetch_add(&c->msgs_out, 1);
			return 0;
		}
		if (atomic_load(&rt_sys->stopping))
			break;
	}
	if (!strcmp(q->def->strategy, "ignore")) {
		atomic_fetch_add(&q->dropped, 1);
		rt_note_drop(c, q);
	} else {
		rt_dead_letter(q, m->data, "queue full", attempts);
		rt_log(c, "warn", m, "queue full: message dead-lettered",
		       json_pack("{s:s, s:i}", "to", q->def->to, "attempts", attempts));
	}
	json_decref(m->data);
	return -1;
}

int rt_emit(struct rt_component *c, const char *port, const struct rt_msg *parent, json_t *data)
{
	struct rt_queue *targets[RT_MAX_FANOUT];
	size_t nt = 0;
	int rc = 0;

	if (!data)
		return rt_fail(c, "out of memory building a message");
	for (size_t i = 0; i < c->noutq && nt < RT_MAX_FANOUT; i++) {
		struct rt_queue *q = c->outq[i];
		if (port && strcmp(q->def->from_port, port))
			continue;
		if (q->cond && !expr_eval(q->cond, data))
			continue;
		targets[nt++] = q;
	}
	for (size_t i = 0; i < nt; i++) {
		struct rt_msg m;
		if (parent) {
			m = *parent;
		} else {
			rt_msg_init(&m, NULL);
		}
		m.data = i + 1 == nt ? data : json_deep_copy(data);
		if (!m.data)
			continue;
		if (deliver(c, targets[i], &m))
			rc = -1;
	}
	if (nt == 0)
		json_decref(data);
	return rc;
}

int rt_emit_timeout(struct rt_component *c, const struct rt_msg *parent, json_t *data,
		    int timeout_ms)
{
	struct rt_queue *targets[RT_MAX_FANOUT];
	size_t nt = 0;
	int rc = 0;

	for (size_t i = 0; i < c->noutq && nt < RT_MAX_FANOUT; i++)
		if (!c->outq[i]->cond || expr_eval(c->outq[i]->cond, data))
			targets[nt++] = c->outq[i];
	for (size_t i = 0; i < nt; i++) {
		struct rt_msg m = *parent;
		m.data = i + 1 == nt ? data : json_deep_copy(data);
		if (queue_push(targets[i], &m, timeout_ms)) {
			json_decref(m.data);
			rc = -1;
		} else {
			atomic_fetch_add(&c->msgs_out, 1);
		}
	}
	if (!nt)
		json_decref(data);
	return rc;
}

void rt_reply(struct rt_component *c, const struct rt_msg *m, int status, json_t *body)
{
	(void)c;
	if (!m || !m->origin) {
		json_decref(body);
		return;
	}
	rt_deliver_reply(m->origin, m->corr, status, body);
}

int rt_component_process(struct rt_component *c, struct rt_msg *m)
{
	return c->ops->process ? c->ops->process(c, m) : 0;
}

bool rt_crash_due(struct rt_component *c)
{
	if (!c->crash_after)
		return false;
	return ++c->crash_count >= c->crash_after;
}

/* ---------------------------------------------------------------- component threads */

static void note_result(struct rt_component *c, int rc)
{
	if (rc == 0) {
		if (c->consecutive_errors >= 5)
			rt_set_healthy(c);
		c->consecutive_errors = 0;
		return;
	}
	atomic_fetch_add(&c->errors, 1);
	if (++c->consecutive_errors == 5)
		rt_set_unhealthy(c, c->last_error);
}

/* Process one message with the binding's retry policy; releases m->data. Returns 0 when the
 * first attempt succeeded (the caller times whole batches, see rt_queue_loop). */
int rt_process_message(struct rt_component *c, struct rt_msg *m);
int rt_process_message(struct rt_component *c, struct rt_msg *m)
{
	struct rt_queue *q = m->binding < rt_sys->nqueues ? &rt_sys->queues[m->binding] : NULL;
	int attempts = 1, rc = 0;

	if (q && !strcmp(q->def->strategy, "retry"))
		attempts += q->def->retry_count;
	atomic_fetch_add_explicit(&c->msgs_in, 1, memory_order_relaxed);
	for (int a = 1; a <= attempts; a++) {
		c->last_error[0] = 0;
		rt_bench_delay(c);
		rc = c->def->process(c, m);
		note_result(c, rc);
		if (rc == 0)
			break;
		if (atomic_load(&rt_sys->stopping))
			attempts = a;   /* no more retries during shutdown: dead-letter it now */
		rt_log(c, a < attempts ? "warn" : "error", m, c->last_error[0] ? c->last_error :
		       "processing failed", json_pack("{s:i, s:i}", "attempt", a, "of", attempts));
		if (a == attempts) {
			if (q && strcmp(q->def->strategy, "ignore"))
				rt_dead_letter(q, m->data, c->last_error, attempts);
			else if (q)
				atomic_fetch_add(&q->dropped, 1);
		}
	}
	json_decref(m->data);
	m->data = NULL;
	return rc;
}

/* Take one message from the head of q. Caller holds the lock. */
static inline void queue_pop(struct rt_queue *q, struct rt_msg *out)
{
	*out = q->ring[q->head];
	if (++q->head == q->cap)
		q->head = 0;
	q->count--;
}

/* Take up to n messages (round-robin over the incoming queues). Caller holds c->lock. Blocked
 * senders are woken once per batch, not once per message taken. */
static size_t take_batch(struct rt_component *c, struct rt_msg *out, size_t n)
{
	size_t got = 0;
	bool progress = true;

	if (c->ninq == 1) {
		struct rt_queue *q = c->inq[0];
		while (got < n && q->count)
			queue_pop(q, &out[got++]);
	}
	while (c->ninq > 1 && got < n && progress) {
		progress = false;
		for (size_t k = 0; k < c->ninq && got < n; k++) {
			struct rt_queue *q = c->inq[(c->rr + k) % c->ninq];
			if (!q->count)
				continue;
			queue_pop(q, &out[got++]);
			progress = true;
		}
		c->rr++;
	}
	if (!got)
		return 0;
	atomic_fetch_sub_explicit(&c->pending, got, memory_order_relaxed);
	for (size_t k = 0; k < c->ninq; k++) {
		struct rt_queue *q = c->inq[k];
		if (q->count + q->reserved >= q->cap)
			continue;
		if (q->waiting_senders == 1)
			pthread_cond_signal(&q->nonfull);
		else if (q->waiting_senders > 1)
			pthread_cond_broadcast(&q->nonfull);
	}
	return got;
}

/* ---------------------------------------------------------------- bench hooks */

/* The deliberate slowdown knob of `autocoder bench` (docs/BENCH.md): with
 * AUTOCODER_SLOW_COMPONENT=<instance> and AUTOCODER_SLOW_US=<n>, that instance sleeps n µs per
 * message (per request for an APIEndpoint), so a regression gate can be shown to fail. */
static const char *slow_name;
static long slow_us;
static pthread_once_t slow_once = PTHREAD_ONCE_INIT;

static void slow_setup(void)
{
	const char *v = getenv("AUTOCODER_SLOW_US");
	slow_name = getenv("AUTOCODER_SLOW_COMPONENT");
	slow_us = v ? strtol(v, NULL, 10) : 0;
}

void rt_bench_delay(struct rt_component *c)
{
	pthread_once(&slow_once, slow_setup);
	if (slow_us > 0 && slow_name && !strcmp(slow_name, c->def->name)) {
		struct timespec ts = { slow_us / 1000000, (slow_us % 1000000) * 1000 };
		nanosleep(&ts, NULL);
	}
}

/* HTTP server threads (libmicrohttpd's pool) take the name "<instance>-http" on their first
 * request, so per-thread CPU (/proc/PID/task/TID/stat) is attributed to the component. */
void rt_http_thread_named(struct rt_component *c)
{
	static _Thread_local bool named;
	char tname[16];
	if (named)
		return;
	named = true;
	snprintf(tname, sizeof tname, "%.10s-http", c->def->name);
	pthread_setname_np(pthread_self(), tname);
}

/* Exported (like rt_component_thread) so crash backtraces name it instead of an offset. */
void rt_queue_loop(struct rt_component *c);
void rt_queue_loop(struct rt_component *c)
{
	struct rt_msg batch[RT_BATCH];
	double next_tick = rt_mono() + 0.1;
	bool busy_streak = false;

	for (;;) {
		size_t n;
		/* once stopping, the drain is over (done or timed out): what is still queued is
		 * dead-lettered at teardown rather than processed late */
		if (atomic_load(&rt_sys->stopping))
			break;
		pthread_mutex_lock(&c->lock);
		n = take_batch(c, batch, RT_BATCH);
		if (!n && busy_streak) {
			/* We just processed a batch: poll (yielding the CPU) for up to SPIN_SECONDS
			 * before sleeping. Under load the next message usually arrives within that
			 * time, which saves a futex sleep/wake pair and its scheduling latency per
			 * hop; an idle system stops polling after one such interval. */
			double until = rt_mono() + SPIN_SECONDS;
			pthread_mutex_unlock(&c->lock);
			do
				sched_yield();
			while (!atomic_load_explicit(&c->pending, memory_order_relaxed) &&
			       rt_mono() < until);
			pthread_mutex_lock(&c->lock);
			n = take_batch(c, batch, RT_BATCH);
		}
		busy_streak = n > 0;
		while (!n && !atomic_load(&rt_sys->stopping)) {
			struct timespec dl;
			double wait = next_tick - rt_mono();
			abs_deadline(&dl, wait > 0 ? (int)(wait * 1000) + 1 : 0);
			c->receiver_waiting = true;
			pthread_cond_timedwait(&c->nonempty, &c->lock, &dl);
			c->receiver_waiting = false;
			n = take_batch(c, batch, RT_BATCH);
			if (!n && (rt_mono() >= next_tick ||
				   atomic_load(&rt_sys->flush_round) != atomic_load(&c->flushed_round)))
				break;
		}
		if (n)
			atomic_store(&c->busy, true);
		pthread_mutex_unlock(&c->lock);
		/* Two clock reads per batch, not per message: each message of the batch is
		 * recorded with the batch's mean processing time (exact when the queue is short,
		 * which is when latency matters). */
		double t0 = rt_mono(), t1;
		rt_outbox_begin(c);
		for (size_t i = 0; i < n; i++)
			rt_process_message(c, &batch[i]);
		rt_outbox_flush();
		t1 = rt_mono();
		if (n)
			rt_metrics_observe_n(c, (t1 - t0) / (double)n, (unsigned)n);
		atomic_store(&c->busy, false);
		int fr = atomic_load(&rt_sys->flush_round);
		if (fr != atomic_load(&c->flushed_round) && !n) {
			atomic_store(&c->busy, true);
			if (c->ops->flush)
				c->ops->flush(c);
			atomic_store(&c->flushed_round, fr);
			atomic_store(&c->busy, false);
		}
		if (t1 >= next_tick) {
			if (c->ops->tick)
				c->ops->tick(c, rt_mono());
			next_tick = rt_mono() + 0.1;
		}
		if (!n && atomic_load(&rt_sys->stopping))
			break;
	}
}

void *rt_component_thread(void *arg);
void *rt_component_thread(void *arg)
{
	struct rt_component *c = arg;
	char tname[16];

	snprintf(tname, sizeof tname, "%s", c->def->name);
	pthread_setname_np(pthread_self(), tname);
	rt_crash_thread_init(c->def->name);
	if (c->ops->run)
		c->ops->run(c);
	else
		rt_queue_loop(c);
	outbox_free();
	rt_crash_thread_fini();
	return NULL;
}

/* ---------------------------------------------------------------- configuration */

static void upper_name(const char *in, char *out, size_t n)
{
	size_t i = 0;
	for (; in[i] && i + 1 < n; i++)
		out[i] = isalnum((unsigned char)in[i]) ? (char)toupper((unsigned char)in[i]) : '_';
	out[i] = 0;
}

/* <COMPONENT>_<KEY>=value overrides a scalar top-level config key; the port's variable
 * (e.g. API_PORT) overrides config.port. Values parse as JSON when they can (numbers, bools). */
static void apply_env_overrides(struct rt_component *c, json_t *entry)
{
	char var[256], uname[96], ukey[96];
	const char *key, *val;
	json_t *v;
	const char *port_env = json_string_value(json_object_get(entry, "port_env"));

	upper_name(c->def->name, uname, sizeof uname);
	json_object_foreach(c->config, key, v) {
		if (json_is_object(v) || json_is_array(v))
			continue;
		upper_name(key, ukey, sizeof ukey);
		snprintf(var, sizeof var, "%s_%s", uname, ukey);
		val = getenv(var);
		if (!val)
			continue;
		json_t *nv = json_loads(val, JSON_DECODE_ANY, NULL);
		if (!nv || (json_is_string(v) && !json_is_string(nv))) {
			json_decref(nv);
			nv = json_string(val);
		}
		json_object_set_new(c->config, key, nv);
	}
	if (port_env && (val = getenv(port_env)) && *val) {
		long p = strtol(val, NULL, 10);
		if (p > 0 && p < 65536)
			json_object_set_new(c->config, "port", json_integer(p));
	}
}

static json_t *load_config(const char *path_arg)
{
	const char *path = path_arg ? path_arg : getenv("AUTOCODER_CONFIG");
	char exe_cfg[PATH_MAX + 32];
	json_error_t je;
	json_t *cfg;

	if (!path) {
		path = "config/system.json";
		if (access(path, R_OK)) {
			/* started from elsewhere: look next to the binary's directory (build/../config) */
			char exe[PATH_MAX];
			ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
			if (n > 0) {
				exe[n] = 0;
				char *slash = strrchr(exe, '/');
				if (slash)
					*slash = 0;
				snprintf(exe_cfg, sizeof exe_cfg, "%s/../config/system.json", exe);
				path = exe_cfg;
			}
		}
	}
	cfg = json_load_file(path, 0, &je);
	if (!cfg)
		fprintf(stderr, "{\"level\":\"error\",\"msg\":\"cannot load config %s: %s (line %d)\"}\n",
			path, je.text, je.line);
	return cfg;
}

static int setup_system(struct rt_system *s, const struct rt_system_def *def, json_t *cfg)
{
	json_t *sys = json_object_get(cfg, "system"), *comps = json_object_get(cfg, "components");
	const char *v;

	s->def = def;
	s->config = cfg;
	if (!(v = getenv("LOG_LEVEL")))
		v = getenv("AUTOCODER_LOG_LEVEL");   /* the name the deployments' configmap uses */
	s->log_level = level_index(v ? v :
				   json_string_value(json_object_get(sys, "log_level")) ?
				   json_string_value(json_object_get(sys, "log_level")) : "info");
	s->shutdown_timeout_ms = (v = getenv("SHUTDOWN_TIMEOUT_MS")) ? (int)strtol(v, NULL, 10) :
		(int)json_integer_value(json_object_get(sys, "shutdown_timeout_ms"));
	if (s->shutdown_timeout_ms <= 0)
		s->shutdown_timeout_ms = 10000;
	snprintf(s->data_dir, sizeof s->data_dir, "%s", (v = getenv("DATA_DIR")) ? v : "data");
	snprintf(s->spool_dir, sizeof s->spool_dir, "%s",
		 (v = getenv("AUTOCODER_SPOOL_DIR")) ? v : "");
	if (!s->spool_dir[0])
		snprintf(s->spool_dir, sizeof s->spool_dir, "%s/crash_spool", s->data_dir);
	snprintf(s->release, sizeof s->release, "%s",
		 (v = getenv("AUTOCODER_RELEASE")) ? v : def->version);
	snprintf(s->environment, sizeof s->environment, "%s",
		 (v = getenv("AUTOCODER_ENVIRONMENT")) ? v :
		 json_string_value(json_object_get(sys, "environment")) ?
		 json_string_value(json_object_get(sys, "environment")) : "development");
	if (rt_mkdirs(s->data_dir)) {
		fprintf(stderr, "cannot create data directory %s: %s\n", s->data_dir, strerror(errno));
		return -1;
	}
	pthread_mutex_init(&s->route_lock, NULL);
	pthread_mutex_init(&s->deadletter_lock, NULL);

	s->ncomps = def->ncomponents;
	s->comps = calloc(s->ncomps, sizeof *s->comps);
	s->nqueues = def->nbindings;
	s->queues = calloc(s->nqueues ? s->nqueues : 1, sizeof *s->queues);
	if (!s->comps || !s->queues)
		return -1;
	for (size_t i = 0; i < s->ncomps; i++) {
		struct rt_component *c = &s->comps[i];
		json_t *entry = json_object_get(comps, def->components[i].name);
		pthread_condattr_t ca;
		c->def = &def->components[i];
		c->ops = type_ops[c->def->type];
		c->sys = s;
		c->index = (int)i;
		c->config = json_deep_copy(json_object_get(entry, "config"));
		if (!json_is_object(c->config)) {
			json_decref(c->config);
			c->config = json_object();
		}
		apply_env_overrides(c, entry);
		pthread_mutex_init(&c->lock, NULL);
		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&c->nonempty, &ca);
		pthread_condattr_destroy(&ca);
		c->inq = calloc(def->nbindings + 1, sizeof *c->inq);
		c->outq = calloc(def->nbindings + 1, sizeof *c->outq);
		if (!c->inq || !c->outq)
			return -1;
	}
	for (size_t i = 0; i < s->nqueues; i++) {
		struct rt_queue *q = &s->queues[i];
		const struct rt_binding_def *b = &def->bindings[i];
		struct rt_component *from = rt_find(s, b->from), *to = rt_find(s, b->to);
		pthread_condattr_t ca;
		if (!from || !to) {
			fprintf(stderr, "binding %zu names an unknown component\n", i);
			return -1;
		}
		q->def = b;
		q->index = (uint32_t)i;
		q->to = to;
		q->cap = b->buffering > 0 ? (size_t)b->buffering : 1000;
		q->ring = calloc(q->cap, sizeof *q->ring);
		if (!q->ring)
			return -1;
		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&q->nonfull, &ca);
		pthread_condattr_destroy(&ca);
		if (b->condition && *b->condition) {
			char eb[256];
			int col = 0;
			if (expr_compile(b->condition, &q->cond, eb, sizeof eb, &col)) {
				fprintf(stderr, "binding %s.%s -> %s.%s: condition column %d: %s\n",
					b->from, b->from_port, b->to, b->to_port, col, eb);
				return -1;
			}
		}
		q->out_index = (uint32_t)from->noutq;
		from->outq[from->noutq++] = q;
		to->inq[to->ninq++] = q;
		if (from->noutq > RT_MAX_FANOUT) {
			fprintf(stderr, "component %s: more than %d outgoing bindings\n", b->from,
				RT_MAX_FANOUT);
			return -1;
		}
	}
	return 0;
}

static void setup_crash_hook(struct rt_system *s)
{
	const char *after = getenv("AUTOCODER_CRASH_AFTER"), *who = getenv("AUTOCODER_CRASH_COMPONENT");
	struct rt_component *c;
	long n;
	if (!after || !who)
		return;
	n = strtol(after, NULL, 10);
	c = rt_find(s, who);
	if (n > 0 && c)
		c->crash_after = (uint64_t)n;
}

/* ---------------------------------------------------------------- lifecycle */

static bool system_idle(struct rt_system *s)
{
	for (size_t i = 0; i < s->ncomps; i++) {
		struct rt_component *c = &s->comps[i];
		size_t depth = 0;
		pthread_mutex_lock(&c->lock);
		for (size_t k = 0; k < c->ninq; k++)
			depth += c->inq[k]->count;
		pthread_mutex_unlock(&c->lock);
		if (depth || atomic_load(&c->busy))
			return false;
	}
	return true;
}

/* Wait until every queue is empty and no component is mid-message (three checks in a row),
 * or the deadline passes. True when idle. */
static bool wait_idle(struct rt_system *s, double deadline)
{
	int idle_rounds = 0;
	while (rt_mono() < deadline) {
		idle_rounds = system_idle(s) ? idle_rounds + 1 : 0;
		if (idle_rounds >= 3)
			return true;
		usleep(20000);
	}
	return false;
}

static void wake_all(struct rt_system *s)
{
	for (size_t i = 0; i < s->ncomps; i++) {
		struct rt_component *c = &s->comps[i];
		pthread_mutex_lock(&c->lock);
		pthread_cond_broadcast(&c->nonempty);
		for (size_t k = 0; k < c->ninq; k++)
			pthread_cond_broadcast(&c->inq[k]->nonfull);
		pthread_mutex_unlock(&c->lock);
	}
}

/* Ask every component to flush what it holds (open batches, partial windows) from its own
 * thread, and wait for all of them; repeated so a batch flushed into a downstream aggregator
 * is flushed there too. */
static bool flush_round(struct rt_system *s, double deadline)
{
	int round = atomic_fetch_add(&s->flush_round, 1) + 1;
	wake_all(s);
	for (;;) {
		bool done = true;
		for (size_t i = 0; i < s->ncomps; i++)
			if (s->comps[i].started && !s->comps[i].ops->run &&
			    atomic_load(&s->comps[i].flushed_round) < round)
				done = false;
		if (done)
			return wait_idle(s, deadline);
		if (rt_mono() >= deadline)
			return false;
		usleep(5000);
	}
}

static void drain_and_stop(struct rt_system *s)
{
	double deadline = rt_mono() + s->shutdown_timeout_ms / 1000.0;
	bool idle;

	atomic_store(&s->draining, true);
	for (size_t i = 0; i < s->ncomps; i++)
		if (s->comps[i].ops->stop_ingress && s->comps[i].started)
			s->comps[i].ops->stop_ingress(&s->comps[i]);
	idle = wait_idle(s, deadline);
	for (int r = 0; idle && r < 3; r++)
		idle = flush_round(s, deadline);
	if (!idle)
		rt_log(NULL, "warn", NULL, "shutdown timeout: queues not empty, stopping anyway",
		       json_pack("{s:i}", "shutdown_timeout_ms", s->shutdown_timeout_ms));
	atomic_store(&s->stopping, true);
	wake_all(s);
	for (size_t i = 0; i < s->ncomps; i++)
		if (s->comps[i].started)
			pthread_join(s->comps[i].thread, NULL);
}

/* {component: {in, out, errors}} for the last log line, so an operator (and the tests) can
 * see that a drain lost nothing. */
static json_t *final_counts(struct rt_system *s)
{
	json_t *all = json_object();
	for (size_t i = 0; i < s->ncomps; i++) {
		struct rt_component *c = &s->comps[i];
		json_object_set_new(all, c->def->name,
				    json_pack("{s:I, s:I, s:I}", "in", (json_int_t)atomic_load(&c->msgs_in),
					      "out", (json_int_t)atomic_load(&c->msgs_out), "errors",
					      (json_int_t)atomic_load(&c->errors)));
	}
	return json_pack("{s:o}", "components", all);
}

static void teardown(struct rt_system *s)
{
	for (size_t i = 0; i < s->ncomps; i++) {
		struct rt_component *c = &s->comps[i];
		if (c->ops && c->ops->fini && c->state)
			c->ops->fini(c);
	}
	rt_metrics_server_stop(s);
	for (size_t i = 0; i < s->nqueues; i++) {
		struct rt_queue *q = &s->queues[i];
		for (size_t k = 0; k < q->count; k++) {
			json_t *d = q->ring[(q->head + k) % q->cap].data;
			/* left over when the drain timed out: kept, not silently lost */
			if (strcmp(q->def->strategy, "ignore"))
				rt_dead_letter(q, d, "not processed before shutdown", 0);
			json_decref(d);
		}
		free(q->ring);
		expr_free(q->cond);
		pthread_cond_destroy(&q->nonfull);
	}
	for (size_t i = 0; i < s->ncomps; i++) {
		struct rt_component *c = &s->comps[i];
		json_decref(c->config);
		free(c->inq);
		free(c->outq);
		pthread_mutex_destroy(&c->lock);
		pthread_cond_destroy(&c->nonempty);
	}
	free(s->queues);
	free(s->comps);
	json_decref(s->config);
}

static int start_metrics_if_needed(struct rt_system *s)
{
	const char *v = getenv("METRICS_PORT");
	json_t *sys = json_object_get(s->config, "system");
	int port;
	for (size_t i = 0; i < s->ncomps; i++)
		if (s->comps[i].def->type == RT_API_ENDPOINT)
			return 0;
	port = v ? (int)strtol(v, NULL, 10) : (int)json_integer_value(json_object_get(sys, "metrics_port"));
	if (port <= 0)
		return 0;
	return rt_metrics_server_start(s, port);
}

static void usage(const char *prog)
{
	fprintf(stderr, "usage: %s [--config PATH]\n"
		"Environment: see README.md (ports, DATA_DIR, LOG_LEVEL, METRICS_PORT,\n"
		"AUTOCODER_COLLECTOR_URL, AUTOCODER_KEY, AUTOCODER_SPOOL_DIR, ...)\n", prog);
}

int rt_main(int argc, char **argv, const struct rt_system_def *def)
{
	static struct rt_system sys;
	struct rt_system *s = &sys;
	const char *cfg_path = NULL;
	sigset_t set;
	json_t *cfg;
	int sig = 0, rc = 1;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--config") && i + 1 < argc) {
			cfg_path = argv[++i];
		} else {
			usage(argv[0]);
			return 2;
		}
	}
	signal(SIGPIPE, SIG_IGN);
	rt_pool_install();
	rt_sys = s;
	s->def = def;
	cfg = load_config(cfg_path);
	if (!cfg)
		return 1;
	if (setup_system(s, def, cfg))
		goto out;
	rt_crash_init(s);
	setup_crash_hook(s);
	rt_shipper_start(s);
	rt_crash_upload_spool(s);

	/* The main thread is the only one that takes SIGTERM/SIGINT. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);

	for (size_t i = 0; i < s->ncomps; i++) {
		struct rt_component *c = &s->comps[i];
		if (c->ops->init && c->ops->init(c)) {
			/* an allocation that failed says so in the message (the rules read it) */
			rt_log(c, "error", NULL, strstr(c->last_error, "out of memory") ||
			       strstr(c->last_error, strerror(ENOMEM)) ?
			       "out of memory: component failed to start (ENOMEM)" :
			       "component failed to start",
			       json_pack("{s:s}", "error", c->last_error));
			goto out_stop;
		}
	}
	if (start_metrics_if_needed(s))
		goto out_stop;
	for (size_t i = 0; i < s->ncomps; i++) {
		struct rt_component *c = &s->comps[i];
		int err = pthread_create(&c->thread, NULL, rt_component_thread, c);
		if (err) {
			rt_log_thread_failure(c, "the component's thread", err);
			goto out_stop;
		}
		c->started = true;
	}
	atomic_store(&s->ready_count, (int)s->ncomps);
	rt_log(NULL, "info", NULL, "system started",
	       json_pack("{s:s, s:i, s:i}", "version", def->version, "components", (int)s->ncomps,
			 "bindings", (int)s->nqueues));
	sigwait(&set, &sig);
	rt_log(NULL, "info", NULL, "shutdown requested: draining",
	       json_pack("{s:s}", "signal", sig == SIGINT ? "SIGINT" : "SIGTERM"));
	rc = 0;
out_stop:
	drain_and_stop(s);
	rt_shipper_stop();
	rt_log(NULL, "info", NULL, "system stopped", final_counts(s));
out:
	teardown(s);
	rt_crash_thread_fini();
	return rc;
}

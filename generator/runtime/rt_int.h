/*
 * rt_int.h — internals shared by the runtime's files (not for generated code).
 *
 * Threads and queues: every component owns one mutex and one "non-empty" condition; each of its
 * incoming bindings is a ring buffer (struct rt_queue) guarded by that mutex with its own
 * "non-full" condition. A sender blocks on non-full (backpressure); the receiver waits on
 * non-empty with a timeout so time-driven work (batch timeouts, flushes, windows, heartbeats)
 * runs from the same thread through the type's tick().
 */
#ifndef RT_INT_H
#define RT_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include <microhttpd.h>

#include "expr.h"
#include "rt.h"

#define RT_LAT_BUCKETS 12      /* latency histogram buckets (µs upper bounds in rt_metrics.c) */
#define AC_RT_ROUTES 64        /* distinct (route, status) pairs counted */
#define RT_MAX_FANOUT 64       /* outgoing bindings of one component (checked at start) */
#define RT_BATCH 64            /* messages taken from the queues per lock */

struct rt_system;

struct rt_queue {
	struct rt_msg *ring;
	size_t cap, head, count;
	pthread_cond_t nonfull;
	int waiting_senders;
	const struct rt_binding_def *def;
	uint32_t index;           /* binding index */
	struct rt_component *to;
	struct expr *cond;        /* compiled binding condition or NULL */
	size_t reserved;          /* free slots promised to the sender's outbox (rt_core.c) */
	uint32_t out_index;       /* position among the sender's outq */
	atomic_ullong dead_lettered, dropped;
};

/* Per-type behaviour. init parses config (0 or -1 with rt_fail); process handles one message;
 * tick runs about every 100 ms from the component's thread; fini flushes and frees. run, when
 * set, replaces the queue loop (sources). */
struct rt_type_ops {
	const char *type_name;
	int (*init)(struct rt_component *c);
	int (*process)(struct rt_component *c, struct rt_msg *m);
	void (*tick)(struct rt_component *c, double now);
	void (*fini)(struct rt_component *c);
	void (*run)(struct rt_component *c);
	void (*stop_ingress)(struct rt_component *c);
	void (*flush)(struct rt_component *c);   /* emit held state now (shutdown drain) */
};

struct rt_component {
	const struct rt_component_def *def;
	const struct rt_type_ops *ops;
	struct rt_system *sys;
	json_t *config;
	int index;
	pthread_t thread;
	bool started;

	pthread_mutex_t lock;
	pthread_cond_t nonempty;
	bool receiver_waiting;
	struct rt_queue **inq;
	size_t ninq, rr;
	atomic_bool busy;
	atomic_size_t pending;    /* messages in all incoming queues (a lock-free hint) */

	struct rt_queue **outq;   /* bindings leaving this component */
	size_t noutq;

	void *state;
	char last_error[256];
	int consecutive_errors;

	atomic_ullong msgs_in, msgs_out, errors;
	atomic_ullong lat_bucket[RT_LAT_BUCKETS + 1];
	atomic_ullong lat_sum_us;
	atomic_bool unhealthy;
	char unhealthy_reason[256];

	uint64_t crash_after, crash_count;
	atomic_ullong store_writes;   /* Store: write statements run (rt_store.c readers) */
	atomic_ullong pool_waits;     /* Store: waits for a free pooled connection (/metrics) */
	atomic_int flushed_round;   /* last shutdown flush round this component completed */
};

struct rt_route_stat {
	char route[64];
	int status;
	atomic_ullong count;
};

struct rt_system {
	const struct rt_system_def *def;
	json_t *config;             /* whole config/system.json */
	struct rt_component *comps;
	size_t ncomps;
	struct rt_queue *queues;    /* one per binding */
	size_t nqueues;

	char data_dir[512];
	char spool_dir[600];
	char build_id[80];
	char release[64];
	char environment[32];
	int log_level;              /* 0 debug 1 info 2 warn 3 error */
	int shutdown_timeout_ms;

	atomic_bool draining;       /* SIGTERM seen: ingress stops, queues drain */
	atomic_bool stopping;       /* threads leave their loops */
	atomic_int ready_count;
	atomic_int flush_round;     /* shutdown: incremented to ask components to flush */

	pthread_mutex_t route_lock;
	struct rt_route_stat routes[AC_RT_ROUTES];
	atomic_size_t nroutes;      /* raised (release) after an entry is filled; see rt_metrics.c */

	struct MHD_Daemon *metrics_daemon;  /* only when no APIEndpoint serves /metrics */
	pthread_mutex_t deadletter_lock;
};

extern struct rt_system *rt_sys;

/* rt_core.c */
struct rt_component *rt_find(struct rt_system *s, const char *name);
bool rt_port_bound(struct rt_component *c, const char *port, bool incoming);
/* rt_schema.c: check body against a blueprint schema (partial: a PUT/PATCH, whose top-level
 * required fields may be absent). 0, or -1 with the dotted field path and a message naming
 * it ("title must be a string, found an object"). */
int rt_schema_check(const json_t *schema, const json_t *body, bool partial, char *field,
		    size_t fn, char *why, size_t n);
double rt_mono(void);
void rt_msg_init(struct rt_msg *m, json_t *data);
/* Ingress push: one attempt per target waiting at most timeout_ms, no retry or dead letter
 * (the HTTP client is told 503 instead). data is stolen. 0 or -1. */
int rt_emit_timeout(struct rt_component *c, const struct rt_msg *parent, json_t *data,
		    int timeout_ms);
int rt_deliver_reply(struct rt_component *origin, uint64_t corr, int status, json_t *body);
void rt_dead_letter(struct rt_queue *q, json_t *data, const char *why, int attempts);
/* Batched hand-over (rt_core.c): between rt_outbox_begin(c) and rt_outbox_flush(), messages c's
 * thread emits go into slots reserved in the target queues (one lock per queue for up to
 * RT_BATCH messages, not one per message) and become visible at the flush; a queue without a
 * free slot takes the ordinary blocking path after everything staged is flushed, so a staged
 * message is always one whose delivery had already succeeded. Only the calling thread's own
 * component stages; other threads' emits are unaffected. */
void rt_outbox_begin(struct rt_component *c);
void rt_outbox_flush(void);
bool rt_all_healthy(json_t **report);
void rt_set_unhealthy(struct rt_component *c, const char *reason);
void rt_set_healthy(struct rt_component *c);
/* config helpers: value or default */
double rt_cfg_num(struct rt_component *c, const char *key, double dflt);
const char *rt_cfg_str(struct rt_component *c, const char *key, const char *dflt);
bool rt_cfg_bool(struct rt_component *c, const char *key, bool dflt);
int rt_port_of(struct rt_component *c, int dflt);
/* "sqlite:///data/x.db" -> path relative to data_dir rules; writes into out. */
void rt_sqlite_path(struct rt_component *c, const char *url, char *out, size_t n);
void rt_iso_now(char *buf, size_t n);
/* 2*nbytes lowercase hex chars + NUL (not cryptographic: ids and trace ids). */
void rt_random_hex(char *out, size_t nbytes);

/* bench hooks (rt_core.c, docs/BENCH.md): the AUTOCODER_SLOW_* delay of one component, and
 * naming an HTTP server thread after its component. */
void rt_bench_delay(struct rt_component *c);
void rt_http_thread_named(struct rt_component *c);

/* rt_store.c: read-only access to a Store's documents from other threads (the direct reads
 * of an APIEndpoint). A reader is one SQLite connection meant for one thread; it keeps a read
 * snapshot open between queries and renews it when the store has written since (so every
 * write whose reply was sent is visible). */
struct rt_store_reader;
/* Open a reader on an initialised Store; NULL when store is no Store or SQLite fails. Free it
 * with rt_store_reader_close (safe on NULL). */
struct rt_store_reader *rt_store_reader_open(struct rt_component *store);
void rt_store_reader_close(struct rt_store_reader *r);
/* What the Store's `get` command reads: 0 with *doc a new reference, or NULL when the store
 * would answer 404; -1 (nothing returned) when SQLite failed. When text is non-NULL and the
 * stored JSON is what serialising *doc would give (rt_json_canonical), *text gets a malloc'd
 * copy of it (*len bytes, no NUL) instead and *doc stays NULL. */
int rt_store_reader_get(struct rt_store_reader *r, const char *id, json_t **doc, char **text,
			size_t *len);
/* What the Store's `list` command reads for limit and offset (0: the defaults): 0 with *arr a
 * new array, or -1 when SQLite failed. With text non-NULL and every document canonical, *text
 * gets the serialised array instead (malloc'd, *len bytes) and *arr stays NULL. */
int rt_store_reader_list(struct rt_store_reader *r, json_int_t limit, json_int_t offset,
			 json_t **arr, char **text, size_t *len);
/* From another thread: end r's snapshot when it is outdated or older than max_age seconds
 * (an open snapshot keeps the WAL file from being reset). Skips a reader in use. */
void rt_store_reader_idle(struct rt_store_reader *r, double now, double max_age);

/* rt_pool.c: jansson's allocator becomes per-thread free lists of small blocks (message
 * objects and their members); call before any thread starts. AUTOCODER_NO_POOL=1 leaves
 * malloc in charge (for comparisons and memory debuggers); off under AddressSanitizer. */
void rt_pool_install(void);

/* rt_metrics.c */
void rt_metrics_observe(struct rt_component *c, double seconds);
/* n observations of the same duration (a batch's mean). */
void rt_metrics_observe_n(struct rt_component *c, double seconds, unsigned n);
void rt_metrics_http(const char *route, int status);
char *rt_metrics_render(size_t *len);   /* malloc'd Prometheus text */

/* rt_http.c: shared HTTP helpers */
/* Connections one client address may hold on any HTTP listener of a generated system: idle
 * half-sent connections from one address (slowloris) cannot take every slot. Pass it as
 * MHD_OPTION_PER_IP_CONNECTION_LIMIT to every MHD_start_daemon. */
#define RT_HTTP_PER_IP_LIMIT 256u
enum MHD_Result rt_http_send_json(struct MHD_Connection *conn, int status, json_t *body,
				  const char *route);
/* The same with the body already serialised: text (malloc'd, len bytes; taken over) or NULL
 * for an empty body. */
enum MHD_Result rt_http_send_text(struct MHD_Connection *conn, int status, char *text,
				  size_t len, const char *route);
/* Serve /health /ready /metrics; returns MHD_NO when url is none of them (*handled false). */
enum MHD_Result rt_http_builtin(struct MHD_Connection *conn, const char *url, bool *handled);
int rt_metrics_server_start(struct rt_system *s, int port);
void rt_metrics_server_stop(struct rt_system *s);
/* Minimal HTTP/1.1 POST of a JSON body to an http:// URL; returns the status or -1. */
int rt_http_post(const char *url, const char *path_suffix, const char *bearer, const char *body,
		 size_t len, int timeout_ms);

/* rt_resource.c: truthful reports of resource exhaustion */
const char *rt_errno_name(int e);                 /* "EMFILE", ... or NULL */
void rt_errno_text(int e, char *buf, size_t n);   /* "EMFILE (Too many open files)" */
/* MHD_OPTION_EXTERNAL_LOGGER for every daemon (with MHD_USE_ERROR_LOG), cls = the component
 * (NULL: the system): accept and allocation failures become error events, rate-limited. */
void rt_mhd_log(void *cls, const char *fmt, va_list ap);
/* A thread could not start (err from pthread_create): out of memory when no stack fits. */
void rt_log_thread_failure(struct rt_component *c, const char *what, int err);
/* A message was dropped on q (strategy ignore): a rate-limited warning. */
void rt_note_drop(struct rt_component *c, struct rt_queue *q);
/* Why the calling thread's last rt_http_post returned -1 ("ECONNREFUSED (Connection
 * refused)", ...), or "" when it was not a system error. */
const char *rt_http_post_failure(void);

/* rt_shipper.c */
int rt_shipper_start(struct rt_system *s);
void rt_shipper_stop(void);
void rt_shipper_push(json_t *event);   /* steals event; never blocks */
/* Collector URL and key when shipping is on, else NULL. */
const char *rt_shipper_url(void);
const char *rt_shipper_key(void);
void rt_shipper_stats(unsigned long long *sent, unsigned long long *dropped,
		      unsigned long long *failed);

/* rt_crash.c */
int rt_crash_init(struct rt_system *s);
void rt_crash_thread_init(const char *name);  /* per-thread alt stack + name */
void rt_crash_thread_fini(void);             /* before a thread exits */
void rt_crash_upload_spool(struct rt_system *s);

/* type ops tables */
extern const struct rt_type_ops rt_source_ops, rt_transformer_ops, rt_filter_ops,
	rt_router_ops, rt_aggregator_ops, rt_accumulator_ops, rt_stream_ops, rt_model_ops,
	rt_store_ops, rt_controller_ops, rt_api_ops, rt_sink_ops, rt_websocket_ops;

#endif

/*
 * internal.h — the collector's private interfaces, shared by its files and its unit tests.
 * Not for other modules: they use collector.h.
 *
 * Pipeline of one request:
 *   server.c   route table, body accumulation (bounded), auth, replies, suspend/resume
 *   decode.c   Content-Encoding gzip/deflate (bounded inflate)
 *   event.c    normalisation of one event object to the stored shape (types checked)
 *   ingest.c   native bodies: events (object/array/NDJSON), logs (NDJSON/text), crashes
 *   sentry.c   Sentry envelopes, /store/ bodies, X-Sentry-Auth parsing
 *   otlp.c     OTLP/HTTP JSON logs
 *   writer.c   the single writer thread: bounded queue, group commit, one SAVEPOINT per job
 *   keys.c     projects, keys, the key cache used for auth
 *   query.c    GET /api/v1/events and /api/v1/events/<id>
 *   metrics.c  counters and the commit latency histogram, Prometheus text
 *
 * The stored (normalised) event is a JSON object:
 *   event_id    32 lowercase hex (UUID dashes removed) or the client's id (<= 64 chars)
 *   timestamp   ISO-8601 UTC with milliseconds; received_at likewise (server clock)
 *   level       debug|info|warning|error|fatal
 *   kind        log|error|crash
 *   system, component, release, environment, logger, message, platform   strings or absent
 *   exception   {type, value, module, frames: [{function, module, file, line, column, in_app}]}
 *               frames are ordered outermost first, the frame that raised last (Sentry order)
 *   fingerprint array of strings, or absent
 *   tags        object of string values;  context  object (anything);  sdk  {name, version}
 *   source      native|log|crash|sentry|otlp
 */
#ifndef AC_COLLECTOR_INTERNAL_H
#define AC_COLLECTOR_INTERNAL_H

#include <jansson.h>
#include <microhttpd.h>
#include <pthread.h>
#include "core/sql.h"
#include <stdbool.h>
#include <stddef.h>

#include "collector/collector.h"

struct ac_error;
struct ac_buf;

/* Error codes map to HTTP: AC_EINVAL 400, AC_ETOOBIG 413, AC_EUNSUPP 415, AC_EAUTH 401,
 * AC_EFORBID 403, AC_EBUSY 429, AC_ENOTFOUND 404, others 500/503. err->what is the JSON
 * "error" code, err->msg the "detail". */

/* Timestamps from the year 10000 on are rejected: ISO-8601 has four year digits. */
#define AC_TIME_MAX 253402300800.0

struct ingest_limits {
	size_t max_event_bytes;
	size_t max_decoded_bytes;
};
#define AC_ATTACHMENT_MAX (10u << 20)
#define AC_ATTACHMENT_QUOTA (100ull << 20)   /* per project, when not configured */

/* Rows stored with a job's events that are not events: user feedback and attachments from
 * Sentry envelopes (envelope_items.c), inserted by the writer in the job's transaction. */
enum side_kind { SIDE_FEEDBACK, SIDE_ATTACHMENT };
struct side_row {
	enum side_kind kind;
	char event_id[65];                            /* normalised like event.c does */
	char *name, *email, *comments;                /* feedback */
	char *filename, *content_type, *attachment_type, *data;   /* attachment */
	size_t len;
	struct side_row *next;
};
void side_rows_free(struct side_row *s);
void side_event_id(const char *in, char out[65]);
/* What an envelope yields besides events: side rows and client-report discards
 * ("reason\tcategory" -> quantity). */
struct envelope_side {
	struct side_row *side;
	json_t *discards;
	size_t max_attachment_bytes;   /* one attachment; 0 = AC_ATTACHMENT_MAX */
};

/* Defaults a request supplies to events that lack them (query parameters, headers, the
 * project's name). Strings are borrowed; any may be NULL. */
struct event_defaults {
	const char *system;
	const char *component;
	const char *release;
	const char *environment;
	const char *level;
};

/* ---- decode.c ---- */
/* Decode body per Content-Encoding (NULL/"identity", "gzip", "x-gzip", "deflate" as zlib or
 * raw). On success *out is a new buffer the caller frees (NUL-terminated), or NULL when the
 * body is passed through unchanged (then *out_len == len). 0, AC_EINVAL (corrupt data),
 * AC_ETOOBIG (more than max after decoding), AC_EUNSUPP (unknown encoding). */
int decode_body(const char *encoding, const char *in, size_t len, size_t max, char **out,
		size_t *out_len, struct ac_error *err);

/* Legacy Sentry /store/ bodies sent without Content-Encoding: a body not starting with '{'
 * that is gzip/zlib data, or base64 text of gzip/zlib/raw deflate data (or of JSON), is
 * decoded into *out (NUL-terminated, caller frees), inflated output bounded by max. *out is
 * NULL when the body is JSON (or blank) and passes through. 0, AC_EINVAL (names the form),
 * AC_ETOOBIG, AC_ENOMEM. */
int decode_sniff_legacy(const char *in, size_t len, size_t max, char **out, size_t *out_len,
			struct ac_error *err);

/* ---- event.c ---- */
/* Check that body[0..len) is valid UTF-8 with JSON nesting <= 64; AC_EINVAL naming the
 * offset otherwise. `what` names the document in the message ("body", "line 3"). */
int json_text_check(const char *body, size_t len, const char *what, struct ac_error *err);
/* Parse one JSON document with the checks above. Returns a new reference or NULL. */
json_t *json_parse_checked(const char *text, size_t len, const char *what, struct ac_error *err);
/* Normalise a native event object (borrowed) into a new object in the stored shape.
 * source is "native", "log", "crash", "sentry" or "otlp". `what` prefixes messages
 * ("event 3"). Returns a new reference or NULL with err (AC_EINVAL/AC_ETOOBIG). */
json_t *event_normalize(const json_t *in, const char *source, const struct event_defaults *d,
			const struct ingest_limits *lim, const char *what, struct ac_error *err);
/* Normalise a level name ("warn" -> "warning", "critical" -> "fatal", ...); NULL if unknown. */
const char *event_level_name(const char *s);

/* ---- event_fast.c ---- the fast path for native event documents (see the file's header) */
struct job_row;
/* One clock reading shared by the events of a request: "now" for events without a
 * timestamp, and their received_at. */
struct fast_clock {
	double now, received_at;
	char received_iso[40];
};
void event_fast_clock(struct fast_clock *c);
/* Normalise the JSON object at the start of text[0..len) (after whitespace) straight into
 * row, as event_normalize() + serialisation would. 1: done, *consumed = bytes up to the end
 * of the object. 0: declined, row left empty — the document needs the general path, which
 * stores the same event or reports its error (the fast path never reports errors). AC_ENOMEM.
 * depth: containers around the object (0 for a document, 1 in an array); source is "native"
 * or "log". */
int event_fast_row(const char *text, size_t len, int depth, const char *source,
		   const struct event_defaults *d, const struct fast_clock *clock,
		   size_t max_event_bytes, struct job_row *row, size_t *consumed);

/* ---- ingest.c ---- (each appends normalised events to `out`, an array; on error `out` may
 * hold partial results, which the caller discards) */
int ingest_parse_events(const char *body, size_t len, const struct event_defaults *d,
			const struct ingest_limits *lim, json_t *out, struct ac_error *err);
/* The level a text log line's leading words name ("ERROR", "[warn]", "level=info"), or NULL;
 * what /api/v1/logs applies to text lines (also used by `autocoder send`). */
const char *ingest_text_level(const char *line, size_t n);
/* text: true for text/plain bodies (one message per line), false for NDJSON. */
int ingest_parse_logs(const char *body, size_t len, bool text, const struct event_defaults *d,
		      const struct ingest_limits *lim, json_t *out, struct ac_error *err);
/* The events route (logs = false) and NDJSON logs (logs = true) straight into job->rows:
 * documents take the fast path and fall back to the general path one by one; any error
 * reruns the whole body through ingest_parse_events/_logs so the error is theirs. Same
 * stored rows, replies and errors as those + writer_job_add_events. */
struct write_job;
int ingest_rows(const char *body, size_t len, bool logs, const struct event_defaults *d,
		const struct ingest_limits *lim, struct write_job *job, struct ac_error *err);
int ingest_parse_crash(const char *body, size_t len, const struct event_defaults *d,
		       const struct ingest_limits *lim, json_t *out, struct ac_error *err);

/* ---- sentry.c ---- */
struct sentry_auth {
	char key[65];    /* sentry_key / public key, "" when absent */
};
/* Parse "Sentry sentry_key=abc, sentry_version=7, ..." (header value). */
void sentry_parse_auth_header(const char *value, struct sentry_auth *out);
/* Extract the public key from a DSN "https://KEY@host/1". 0 or AC_EINVAL. */
int sentry_dsn_key(const char *dsn, char *key, size_t keylen);
/* Parse an envelope. Events go to `out`; other item types are counted in `counts` (an object
 * type -> integer). dsn_key receives the envelope header's DSN key ("" if none); event_id the
 * envelope or first event id ("" if none). */
int sentry_parse_envelope(const char *body, size_t len, const struct event_defaults *d,
			  const struct ingest_limits *lim, json_t *out, json_t *counts,
			  struct envelope_side *es, char dsn_key[65], char event_id[65],
			  struct ac_error *err);
/* envelope_items.c: an item other than `event` (log, user_report, feedback, attachment,
 * client_report; others ignored). es may be NULL (side rows and discards are not wanted). */
int envelope_other_item(const char *type, const json_t *ih, const char *payload, size_t len,
			const char *envelope_id, const struct event_defaults *d,
			const struct ingest_limits *lim, json_t *out, struct envelope_side *es,
			const char *what, struct ac_error *err);
/* Parse a /store/ body (one Sentry event JSON). */
int sentry_parse_store(const char *body, size_t len, const struct event_defaults *d,
		       const struct ingest_limits *lim, json_t *out, struct ac_error *err);
/* Convert one Sentry event object to a native event object (new reference). */
json_t *sentry_event_to_native(const json_t *sev, const char *what, struct ac_error *err);

/* ---- logentry.c ---- */
/* Format a Sentry logentry template with its params (array or object; %-style or brace
 * style, see logentry.c). New string of at most max bytes, NULL when it would be longer or
 * tmpl is NULL. */
char *logentry_format(const char *tmpl, const json_t *params, size_t max);

/* ---- otlp.c / otlp_pb.c ---- */
/* One log record as both encodings decode it (see otlp.c). */
struct otlp_rec {
	json_t *attrs;            /* typed attributes object (owned by the decoder) */
	json_t *body;             /* typed body or NULL (owned by the decoder) */
	const char *severity_text;
	long long severity_number;
	double time;              /* unix seconds; 0 = absent */
	char trace_id[33], span_id[17];   /* lowercase hex, "" = absent */
	const char *event_name;
};
struct otlp_scope {
	const json_t *resource;   /* typed resource attributes */
	const char *scope_name;
};
/* Records rejected alone (partial success) and the first reason. */
struct otlp_result {
	unsigned long rejected;
	char first_error[512];
};
/* Normalise one record into out. 0 or an AC_E* code with err set. */
int otlp_emit(struct otlp_rec *rec, const struct otlp_scope *sc, const struct event_defaults *d,
	      const struct ingest_limits *lim, json_t *out, const char *what, struct ac_error *err);
/* rc from a record: AC_EINVAL is counted as rejected (returns 0), others returned. */
int otlp_reject(struct otlp_result *res, int rc, const struct ac_error *err);
/* OTLP/JSON ExportLogsServiceRequest. */
int otlp_parse_logs(const char *body, size_t len, const struct event_defaults *d,
		    const struct ingest_limits *lim, json_t *out, struct otlp_result *res,
		    struct ac_error *err);
/* OTLP protobuf ExportLogsServiceRequest (protobuf-c; nesting bounded before decoding). */
int otlp_parse_logs_pb(const char *body, size_t len, const struct event_defaults *d,
		       const struct ingest_limits *lim, json_t *out, struct otlp_result *res,
		       struct ac_error *err);
/* The ExportLogsServiceResponse for res: protobuf bytes (malloc'd, possibly 0 bytes long)
 * or the OTLP/JSON object. */
char *otlp_response_pb(const struct otlp_result *res, size_t *len);
json_t *otlp_response_json(const struct otlp_result *res);

/* ---- stacktrace.c ---- */
/* Parse the text of a stack trace (Python, Java/JVM with "Caused by:", JavaScript/V8, Go
 * panics, .NET) into frames in the stored shape, outermost first (Sentry order); NULL when
 * no line is a frame. type (capacity cap) receives the exception type named by the text,
 * "" if none. */
json_t *stacktrace_parse(const char *text, char *type, size_t cap);

/* ---- metrics.c ---- */
enum metrics_route {
	ROUTE_EVENTS_POST, ROUTE_LOGS_POST, ROUTE_CRASHES_POST, ROUTE_SENTRY_ENVELOPE,
	ROUTE_SENTRY_STORE, ROUTE_OTLP_LOGS, ROUTE_EVENTS_GET, ROUTE_EVENT_GET, ROUTE_HEALTH,
	ROUTE_METRICS, ROUTE_API_OTHER, ROUTE_STATIC, ROUTE_NOT_FOUND,
	/* an-clusters: api_clusters.c */
	ROUTE_CLUSTERS_GET, ROUTE_CLUSTER_GET, ROUTE_CLUSTER_STATUS, ROUTE_CLUSTERS_MERGE,
	ROUTE_CLUSTER_SPLIT, ROUTE_GUIDE,
	ROUTE_CLUSTER_UNMERGE, /* issue 12 */
	ROUTE_ALERT_DELIVERIES,  /* ops: alerts_admin.c */
	ROUTE_BENCH_RUNS,   /* perf: api_bench.c */
	/* evidence: api_feedback.c */
	ROUTE_CLUSTER_FEEDBACK, ROUTE_REPORT_CLUSTERS, ROUTE_FEEDBACK_MODERATE,
	ROUTE_FAULTS_RUNS,  /* evidence: api_faults.c */
	ROUTE__COUNT
};
struct metrics;
struct metrics *metrics_new(void);
void metrics_free(struct metrics *m);
void metrics_request(struct metrics *m, enum metrics_route route, unsigned status);
/* The route's path pattern as in the metrics' route label ("/api/v1/events/{id}"). */
const char *metrics_route_path(enum metrics_route route);
void metrics_events_stored(struct metrics *m, unsigned long n, unsigned long duplicates);
void metrics_items_counted(struct metrics *m, unsigned long n);
void metrics_commit(struct metrics *m, double seconds, unsigned events);
void metrics_rejected(struct metrics *m, const char *reason);
/* Envelope feedback/attachments committed, and attachments dropped over the project quota. */
void metrics_side_rows(struct metrics *m, unsigned long stored, unsigned long dropped_over_quota);
/* Sentry client reports: quantity discarded by the SDK for reason/category. */
void metrics_client_discards(struct metrics *m, const json_t *discards);
/* Render Prometheus text exposition into b. */
int metrics_render(struct metrics *m, struct ac_buf *b, unsigned queue_depth,
		   unsigned queue_capacity);

/* ---- writer.c ---- */
enum job_col {
	COL_EVENT_ID, COL_LEVEL, COL_KIND, COL_SYSTEM, COL_COMPONENT, COL_RELEASE,
	COL_ENVIRONMENT, COL_MESSAGE, COL_EXC_TYPE, COL_EXC_VALUE, COL_FINGERPRINT, COL_SOURCE,
	COL__COUNT
};
/* One event ready to insert: its compact JSON and the extracted column values. */
struct job_row {
	char *raw;                    /* owned */
	size_t raw_len;
	char *cols;                   /* owned block the col[] pointers point into */
	const char *col[COL__COUNT];  /* NULL = SQL NULL */
	double timestamp, received_at;
};
struct write_job {
	struct job_row *rows;      /* n_events rows (cap_rows allocated), see writer_job_add_* */
	unsigned n_events, cap_rows;
	unsigned max_rows;         /* 0 = unbounded; past it add_row fails and sets too_many */
	bool too_many;
	json_t *item_counts;       /* object type -> count, or NULL (owned by the creator) */
	struct side_row *side;     /* feedback/attachments (owned by the job) */
	unsigned long long attachment_quota;  /* bytes per project; 0 = AC_ATTACHMENT_QUOTA */
	unsigned side_stored, side_dropped;   /* results: side rows stored / over quota */
	long long project_id;
	/* results, set by the writer before done() */
	int status;                /* 0 or AC_E* */
	char detail[256];
	unsigned stored, duplicates;
	void (*done)(struct write_job *job, void *arg);  /* called in the writer thread */
	void *arg;
	struct write_job *next;
};
/* Append normalised events (borrowed; may be freed afterwards) to job->rows: each event is
 * serialised once here, in the request thread, and checked against max_event_bytes.
 * 0, AC_ETOOBIG ("event 3: event is N bytes ...") or AC_ENOMEM, with err set. */
int writer_job_add_events(struct write_job *job, const json_t *events, size_t max_event_bytes,
			  struct ac_error *err);
/* Append a zeroed row to job->rows for the caller to fill (NULL: out of memory), and drop
 * the last row again (freeing what it holds). */
struct job_row *writer_job_add_row(struct write_job *job);
void writer_job_drop_row(struct write_job *job);
/* Replace a row's JSON and columns by ev's (the scrubber's rewrite); times are kept. */
int writer_row_rebuild(struct job_row *row, const json_t *ev);
/* Column text is searched with LIKE: a NUL inside would cut it; it becomes a space. */
void writer_col_denul(char *s, size_t n);
/* Free job->rows. Safe on a zeroed job. */
void writer_job_release(struct write_job *job);
struct writer;
int writer_start(const char *db_path, unsigned queue_events, unsigned max_group,
		 struct metrics *m, struct writer **out, struct ac_error *err);
/* Queue a job. 0 (done() will be called exactly once), or AC_EBUSY when the queue cannot
 * take job->n_events more events (done() is not called), or AC_EINVAL when stopping. */
int writer_submit(struct writer *w, struct write_job *job);
unsigned writer_depth(struct writer *w);
unsigned writer_capacity(struct writer *w);
/* true (and why) when the last transaction failed and none has succeeded since. */
bool writer_failing(struct writer *w, char *why, size_t n);
/* Bytes free next to the database (-1 unknown); *read_only for a read-only mount. */
long long writer_free_bytes(const char *db_path, bool *read_only);
/* an-clusters: call fn(arg) in the writer thread after every group commit (the
 * analyzer's wake-up). fn must be cheap and must not call back into the writer. */
void writer_set_commit_hook(struct writer *w, void (*fn)(void *arg), void *arg);
/* Stop taking jobs, commit everything queued, join the thread, close the database. */
void writer_stop(struct writer *w);
void writer_free(struct writer *w);

/* ---- scrub.c ---- */
/* Filter secrets and card numbers (and with scrub_user, user.email/ip_address) out of the
 * job's rows before they are stored; see scrub.c. 0 or AC_ENOMEM. */
int scrub_job(struct write_job *job, bool scrub_user);

/* ---- event_id.c ---- */
enum { EVENT_ID_EMPTY = 1, EVENT_ID_TOO_LONG, EVENT_ID_BAD_CHAR };
/* A client's event id s[0..n) as stored: kept as sent, except the Sentry form (32 hex or a
 * dashed UUID) which is lower-cased without dashes. 0, or an EVENT_ID_* reason. */
int event_id_canonical(const char *s, size_t n, char out[65]);

/* ---- keys.c ---- */
struct key_cache;
struct key_cache *key_cache_new(const char *db_path);
/* Hash plaintext tokens an older version left in keys (see keys.c). 0 or AC_EDB. */
int keys_upgrade_legacy(const char *db_path, struct ac_error *err);
void key_cache_free(struct key_cache *kc);
/* Resolve a public key or token to its project and role (enum collector_role). Answers
 * are cached for at most 1 s, so a revocation takes effect within a second.
 * 0, AC_EAUTH (unknown or revoked), AC_EDB. */
int key_cache_lookup(struct key_cache *kc, const char *key, long long *project_id,
		     char *project_name, size_t name_len, int *role, bool *scrub_user);

/* ---- query.c ---- */
struct reader_pool;
struct reader_pool *reader_pool_new(const char *db_path, unsigned n, struct ac_error *err);
void reader_pool_free(struct reader_pool *p);
ac_sql *reader_pool_get(struct reader_pool *p);
void reader_pool_put(struct reader_pool *p, ac_sql *db);

struct event_query {
	const char *system, *component, *level, *kind, *q, *release, *environment;
	double since, until;         /* 0 = unbounded */
	long long before_id;         /* paging cursor: rows with id < before_id; 0 = newest */
	long long project_id;        /* -1 = all projects */
	const char *project;         /* ?project=NAME (open read), NULL = any */
	long long cluster_id;        /* ?cluster=ID, 0 = any */
	char tag_path[160];          /* ?tag=KEY:VALUE as the JSON path $.tags."KEY", "" = none */
	const char *tag_value;
	unsigned limit;
};
/* Run a query; *out is a new object {"events": [...], "next": cursor|null}. */
int query_events(ac_sql *db, const struct event_query *q, json_t **out, struct ac_error *err);
/* Fetch one event by event_id; AC_ENOTFOUND when absent (or in another project). */
int query_event(ac_sql *db, const char *event_id, long long project_id, json_t **out,
		struct ac_error *err);

/* ---- attachments.c ---- */
/* Add "feedback" and "attachments" (metadata) arrays to an event object read by query_event. */
int attachments_decorate(ac_sql *db, json_t *ev, long long project_id, struct ac_error *err);
/* GET /api/v1/attachments/<id>: the bytes with their content type. */
struct request;
enum MHD_Result api_attachment_get(struct request *r);

/* ---- server.c: the request API for route handlers in other files ----
 * A route handler is `enum MHD_Result fn(struct request *r)` listed in server.c's routes[]
 * table with its method, path pattern ('*' = one segment, see req_arg), metrics route and
 * auth kind; the server has already authenticated it (req_project) and read the whole body
 * (req_body) when it runs. A handler answers exactly once with one of the req_reply_*
 * functions and returns what they return. */
struct request;
const char *req_query(struct request *r, const char *name);   /* NULL when absent */
/* 0, or AC_EINVAL with err naming a query parameter not in known (NULL-terminated). */
int req_check_params(struct request *r, const char *const *known, struct ac_error *err);
const char *req_header(struct request *r, const char *name);  /* NULL when absent */
const char *req_arg(struct request *r);                       /* the '*' segment */
const char *req_body(struct request *r, size_t *len);         /* raw body, NUL-terminated */
long long req_project(struct request *r);                     /* -1: all projects (open read) */
const struct collector_config *req_config(struct request *r);
/* A read-only connection from the pool; give it back with req_reader_put(). */
ac_sql *req_reader(struct request *r);
void req_reader_put(struct request *r, ac_sql *db);
/* Replies. req_reply_json steals obj; req_reply_text takes ownership of body (malloc'd). */
enum MHD_Result req_reply_json(struct request *r, unsigned status, json_t *obj);
enum MHD_Result req_reply_text(struct request *r, unsigned status, const char *ctype,
			       char *body, size_t len);
/* {"error": what, "detail": detail} with the status that fits code (AC_EINVAL 400, ...). */
enum MHD_Result req_reply_error(struct request *r, int code, const char *what,
				const char *detail);
/* The same with Retry-After: SECONDS on a 429/503 (AC_EBUSY). */
enum MHD_Result req_reply_error_retry(struct request *r, int code, const char *what,
				      const char *detail, unsigned retry_after);
/* Run work(ctx) on its own thread with the connection suspended (so a long operation does
 * not stall the other connections of this HTTP thread), then reply(r, ctx) on the
 * connection's thread, which answers; ctx_free(ctx) follows either way (also when the client
 * went away first). Returns what the handler returns. */
enum MHD_Result req_offload(struct request *r, void (*work)(void *ctx),
			    enum MHD_Result (*reply)(struct request *r, void *ctx),
			    void (*ctx_free)(void *ctx), void *ctx);
/* an-clusters: the online analyzer (analyzer/analyzer.h), NULL when serve runs without
 * --rules. Thread-safe; owned by the collector. */
struct analyzer *req_analyzer(struct request *r);
/* Authenticate per the route's auth kind (done by the server before POST handlers that
 * ingest; GET handlers call it first). 0 or an AC_E* code with err set. */
int req_authenticate(struct request *r, struct ac_error *err);

/* ---- api_clusters.c (an-clusters): the cluster and guide routes ---- */
enum MHD_Result api_clusters_list(struct request *r);
enum MHD_Result api_cluster_get(struct request *r);
enum MHD_Result api_cluster_status(struct request *r);
enum MHD_Result api_clusters_merge(struct request *r);
enum MHD_Result api_cluster_split(struct request *r);
enum MHD_Result api_cluster_unmerge(struct request *r);
enum MHD_Result api_guide(struct request *r);

/* ---- alerts_admin.c (ops) ---- */
enum MHD_Result api_alert_deliveries(struct request *r);
/* ---- api_bench.c (perf): GET /api/v1/bench/runs?limit=N, the `autocoder bench` runs ---- */
enum MHD_Result api_bench_runs(struct request *r);
/* ---- api_feedback.c (evidence): feedback on clusters; moderation for the admin role ---- */
enum MHD_Result api_cluster_feedback(struct request *r);
enum MHD_Result api_feedback_moderate(struct request *r);   /* admin: hide/show feedback */
enum MHD_Result api_report_clusters(struct request *r);     /* the report page's clusters */
/* project < 0: any project (open read) */
int feedback_set_hidden(ac_sql *db, long long project, long long id, bool hidden,
			struct ac_error *err);
/* ---- api_faults.c (evidence): GET /api/v1/faults/runs, newest run per (rule, fault) ---- */
enum MHD_Result api_faults_runs(struct request *r);
/* The guide's documentation-confidence gauges for /metrics (all projects). */
void evidence_metrics(struct request *r, struct ac_buf *b);

#endif

/*
 * writer.c — the one thread that writes events to SQLite.
 *
 * Request threads submit jobs (one job = everything one request stores) into a bounded
 * FIFO measured in events. The writer takes as many queued jobs as fit in a group
 * (max_group events, at least one job), and commits them in one transaction; if that
 * transaction fails, each job is retried alone, so a failing job is reported failed while
 * the others commit. Only after COMMIT returns does the writer call each job's done() — which
 * resumes the suspended HTTP connection — so a 2xx always follows a durable commit
 * (synchronous=FULL in WAL mode). A busy database (another process holding the write lock)
 * is retried, never dropped: requests wait, the queue fills, and new requests get 429.
 *
 * On PostgreSQL (core/db_pg.c) the same loop runs over libpq: one transaction per group,
 * synchronous_commit=on, the replies after COMMIT returns; a lost server fails the group
 * with AC_SQL_IOERR (the replies are 503 + Retry-After) and the next group reconnects. The
 * writer also keeps the daily partitions of events ahead of the clock (hourly).
 */
#include "core/common.h"
#include "core/db.h"
#include "collector/internal.h"

#include <libgen.h>
#include <malloc.h>
#include <pthread.h>
#include <sys/statvfs.h>

struct writer {
	ac_sql *db;
	ac_sql_stmt *insert, *count_item;
	ac_sql_stmt *side[3];  /* feedback insert, attachment insert, attachment bytes in use */
	ac_sql_stmt *ctl[3];  /* BEGIN IMMEDIATE, COMMIT, ROLLBACK (see ctl_sql) */
	pthread_t thread, checkpointer;
	char *db_path;
	bool checkpointer_started;
	unsigned long commits;     /* guarded by lock; the checkpointer watches it */
	pthread_mutex_t lock;
	pthread_cond_t wake, checkpoint_wake;
	struct write_job *head, *tail;
	unsigned depth;        /* events queued, not yet committed */
	unsigned capacity;
	unsigned max_group;
	bool stopping;
	bool lingering;        /* the writer waits for company: wake it only when it has some */
	bool wal_behind;       /* the checkpointer fell behind the writer (see top_up_checkpoint) */
	struct metrics *metrics;
	int fail_rc;               /* the failing statement's extended code (before ROLLBACK) */
	char fail_msg[200];        /* ... and its message */
	bool failing;              /* the last transaction failed (for /health); guarded by lock */
	char failing_why[256];
	void (*on_commit)(void *arg);  /* an-clusters: analyzer wake-up, under lock */
	void *on_commit_arg;
	unsigned test_commit_delay_ms; /* AC_TEST_COMMIT_DELAY_MS, test-only (see test_delay_commit) */
	double next_partition_check;   /* PostgreSQL: when to extend the events partitions */
};

/* The event insert (idempotent on (project_id, event_id)) differs between the backends:
 * ac_db_sql(AC_DB_EVENT_INSERT) in core/db_pg.c. */
enum { CTL_BEGIN, CTL_COMMIT, CTL_ROLLBACK };
static const char *const ctl_sql[] = { "BEGIN IMMEDIATE", "COMMIT", "ROLLBACK" };

static const char count_sql[] =
	"INSERT INTO item_counts(project_id, item_type, count) VALUES(?,?,?)"
	" ON CONFLICT(project_id, item_type) DO UPDATE SET count = count + excluded.count";

/* Side rows of envelopes (envelope_items.c): prepared on first use. */
static const char *const side_sql[] = {
	"INSERT INTO event_feedback(project_id, event_id, name, email, comments, received_at)"
	" VALUES(?,?,?,?,?,?)",
	"INSERT INTO event_attachments(project_id, event_id, filename, content_type,"
	" attachment_type, size, data, received_at) VALUES(?,?,?,?,?,?,?,?)",
	"SELECT coalesce(sum(size), 0) FROM event_attachments WHERE project_id IS ?",
};

static const char *string_at(const json_t *obj, const char *key, size_t *len)
{
	const json_t *v = json_object_get(obj, key);
	if (!json_is_string(v))
		return NULL;
	*len = json_string_length(v);
	return json_string_value(v);
}

/* Copy the column values of ev into one block so the event tree can be freed. */
static int row_columns(struct job_row *row, const json_t *ev, char *fingerprint)
{
	static const char *const keys[COL__COUNT] = {
		[COL_EVENT_ID] = "event_id", [COL_LEVEL] = "level", [COL_KIND] = "kind",
		[COL_SYSTEM] = "system", [COL_COMPONENT] = "component", [COL_RELEASE] = "release",
		[COL_ENVIRONMENT] = "environment", [COL_MESSAGE] = "message",
		[COL_SOURCE] = "source",
	};
	const json_t *exc = json_object_get(ev, "exception");
	const char *val[COL__COUNT];
	size_t len[COL__COUNT], total = 0;
	char *p;

	for (int c = 0; c < COL__COUNT; c++) {
		len[c] = 0;
		val[c] = keys[c] ? string_at(ev, keys[c], &len[c]) : NULL;
	}
	val[COL_EXC_TYPE] = string_at(exc, "type", &len[COL_EXC_TYPE]);
	val[COL_EXC_VALUE] = string_at(exc, "value", &len[COL_EXC_VALUE]);
	if (fingerprint) {
		val[COL_FINGERPRINT] = fingerprint;
		len[COL_FINGERPRINT] = strlen(fingerprint);
	}
	for (int c = 0; c < COL__COUNT; c++)
		total += val[c] ? len[c] + 1 : 0;
	row->cols = p = malloc(total ? total : 1);
	if (!p)
		return AC_ENOMEM;
	for (int c = 0; c < COL__COUNT; c++) {
		row->col[c] = NULL;
		if (!val[c])
			continue;
		memcpy(p, val[c], len[c]);
		writer_col_denul(p, len[c]);
		p[len[c]] = '\0';
		row->col[c] = p;
		p += len[c] + 1;
	}
	return 0;
}

void writer_col_denul(char *s, size_t n)
{
	for (char *z; n && (z = memchr(s, '\0', n)); n -= (size_t)(z + 1 - s), s = z + 1)
		*z = ' ';
}

int writer_row_rebuild(struct job_row *row, const json_t *ev)
{
	const json_t *fp = json_object_get(ev, "fingerprint");
	char *fps = fp ? json_dumps(fp, JSON_COMPACT) : NULL;
	char *raw = json_dumps(ev, JSON_COMPACT);
	int rc;

	if (!raw) {
		free(fps);
		return AC_ENOMEM;
	}
	free(row->raw);
	free(row->cols);
	row->cols = NULL;
	row->raw = raw;
	row->raw_len = strlen(raw);
	rc = row_columns(row, ev, fps);
	free(fps);
	return rc;
}

static double json_time(const json_t *ev, const char *key)
{
	double t = 0;
	ac_parse_time(json_string_value(json_object_get(ev, key)), &t);
	return t;
}

struct job_row *writer_job_add_row(struct write_job *job)
{
	if (job->max_rows && job->n_events >= job->max_rows) {
		job->too_many = true;
		return NULL;
	}
	if (job->n_events == job->cap_rows) {
		unsigned cap = job->cap_rows ? 2 * job->cap_rows : 8;
		struct job_row *rows = realloc(job->rows, cap * sizeof *rows);
		if (!rows)
			return NULL;
		job->rows = rows;
		job->cap_rows = cap;
	}
	memset(&job->rows[job->n_events], 0, sizeof *job->rows);
	return &job->rows[job->n_events++];
}

void writer_job_drop_row(struct write_job *job)
{
	struct job_row *row = &job->rows[--job->n_events];
	free(row->raw);
	free(row->cols);
	memset(row, 0, sizeof *row);
}

/* One normalised event as the job's next row: serialised once, here, in the request thread. */
static int add_event(struct write_job *job, const json_t *ev, size_t max_event_bytes,
		     struct ac_error *err)
{
	const json_t *fp = json_object_get(ev, "fingerprint");
	struct job_row *row = writer_job_add_row(job);
	size_t index = job->n_events - 1, len;
	char *fps;
	int rc;

	if (!row)
		return ac_error_set(err, AC_ENOMEM, "internal", "out of memory");
	fps = fp ? json_dumps(fp, JSON_COMPACT) : NULL;
	row->raw = json_dumps(ev, JSON_COMPACT);
	rc = row->raw ? row_columns(row, ev, fps) : AC_ENOMEM;
	free(fps);
	if (rc)
		return ac_error_set(err, AC_ENOMEM, "internal", "out of memory");
	row->raw_len = len = strlen(row->raw);
	if (len > max_event_bytes)
		return ac_error_set(err, AC_ETOOBIG, "event_too_large",
				    "event %zu: event is %zu bytes, more than the limit of %zu",
				    index, len, max_event_bytes);
	row->timestamp = json_time(ev, "timestamp");
	row->received_at = json_time(ev, "received_at");
	return 0;
}

int writer_job_add_events(struct write_job *job, const json_t *events, size_t max_event_bytes,
			  struct ac_error *err)
{
	size_t i;
	const json_t *ev;
	int rc;

	json_array_foreach(events, i, ev)
		if ((rc = add_event(job, ev, max_event_bytes, err)))
			return rc;
	return 0;
}

void writer_job_release(struct write_job *job)
{
	side_rows_free(job->side);
	job->side = NULL;
	if (!job->rows)
		return;
	for (size_t i = 0; i < job->n_events; i++) {
		free(job->rows[i].raw);
		free(job->rows[i].cols);
	}
	free(job->rows);
	job->rows = NULL;
	job->n_events = job->cap_rows = 0;
}

static void bind_col(ac_sql_stmt *st, int idx, const struct job_row *row, enum job_col c)
{
	if (row->col[c])
		ac_sql_bind_text(st, idx, row->col[c], -1, AC_SQL_STATIC);
	else
		ac_sql_bind_null(st, idx);
}

static int insert_event(struct writer *w, struct write_job *job, size_t i)
{
	const struct job_row *row = &job->rows[i];
	ac_sql_stmt *st = w->insert;
	int rc;

	bind_col(st, 1, row, COL_EVENT_ID);
	if (job->project_id > 0)
		ac_sql_bind_int64(st, 2, job->project_id);
	else
		ac_sql_bind_null(st, 2);
	ac_sql_bind_double(st, 3, row->received_at);
	ac_sql_bind_double(st, 4, row->timestamp);
	bind_col(st, 5, row, COL_LEVEL);
	bind_col(st, 6, row, COL_KIND);
	bind_col(st, 7, row, COL_SYSTEM);
	bind_col(st, 8, row, COL_COMPONENT);
	bind_col(st, 9, row, COL_RELEASE);
	bind_col(st, 10, row, COL_ENVIRONMENT);
	bind_col(st, 11, row, COL_MESSAGE);
	bind_col(st, 12, row, COL_EXC_TYPE);
	bind_col(st, 13, row, COL_EXC_VALUE);
	bind_col(st, 14, row, COL_FINGERPRINT);
	bind_col(st, 15, row, COL_SOURCE);
	ac_sql_bind_text(st, 16, row->raw, (int)row->raw_len, AC_SQL_STATIC);
	rc = ac_sql_step(st);
	ac_sql_reset(st);
	if (rc != AC_SQL_DONE)
		return rc;
	if (ac_sql_changes(w->db))
		job->stored++;
	else
		job->duplicates++;
	return AC_SQL_DONE;
}

static int count_items(struct writer *w, struct write_job *job)
{
	const char *type;
	json_t *v;
	int rc = AC_SQL_DONE;

	json_object_foreach(job->item_counts, type, v) {
		ac_sql_bind_int64(w->count_item, 1, job->project_id);
		ac_sql_bind_text(w->count_item, 2, type, -1, AC_SQL_STATIC);
		ac_sql_bind_int64(w->count_item, 3, json_integer_value(v));
		rc = ac_sql_step(w->count_item);
		ac_sql_reset(w->count_item);
		if (rc != AC_SQL_DONE)
			break;
	}
	return rc;
}

/* Run one of the prepared control statements (transactions and savepoints are prepared
 * once: compiling them per job showed in profiles). */
static void test_delay_commit(struct writer *w);

static int ctl(struct writer *w, int which)
{
	if (which == CTL_COMMIT && w->test_commit_delay_ms)
		test_delay_commit(w);
	int rc = ac_sql_step(w->ctl[which]);
	ac_sql_reset(w->ctl[which]);
	return rc == AC_SQL_DONE ? AC_SQL_OK : rc;
}

static void bind_text_or_null(ac_sql_stmt *st, int idx, const char *s)
{
	if (s)
		ac_sql_bind_text(st, idx, s, -1, AC_SQL_STATIC);
	else
		ac_sql_bind_null(st, idx);
}

static void bind_project(ac_sql_stmt *st, int idx, const struct write_job *job)
{
	if (job->project_id > 0)
		ac_sql_bind_int64(st, idx, job->project_id);
	else
		ac_sql_bind_null(st, idx);
}

static int step_reset(ac_sql_stmt *st)
{
	int rc = ac_sql_step(st);
	ac_sql_reset(st);
	ac_sql_clear_bindings(st);
	return rc;
}

/* An attachment over the project's quota is dropped (counted), not an error: the events of
 * the envelope still commit. */
static int insert_side(struct writer *w, struct write_job *job, const struct side_row *s)
{
	unsigned long long quota = job->attachment_quota ? job->attachment_quota : AC_ATTACHMENT_QUOTA;
	ac_sql_stmt *st;
	int rc;

	for (size_t i = 0; i < AC_ARRAY_SIZE(w->side); i++)
		if (!w->side[i] && ac_sql_prepare_v2(w->db, side_sql[i], -1, &w->side[i], NULL) != AC_SQL_OK)
			return ac_sql_errcode(w->db);
	if (s->kind == SIDE_FEEDBACK) {
		st = w->side[0];
		bind_project(st, 1, job);
		ac_sql_bind_text(st, 2, s->event_id, -1, AC_SQL_STATIC);
		bind_text_or_null(st, 3, s->name);
		bind_text_or_null(st, 4, s->email);
		bind_text_or_null(st, 5, s->comments);
		ac_sql_bind_double(st, 6, ac_now());
	} else {
		bind_project(w->side[2], 1, job);
		rc = ac_sql_step(w->side[2]);
		unsigned long long used = rc == AC_SQL_ROW ? (unsigned long long)ac_sql_column_int64(w->side[2], 0) : 0;
		ac_sql_reset(w->side[2]);
		if (rc != AC_SQL_ROW)
			return rc;
		if (used + s->len > quota) {
			job->side_dropped++;
			return AC_SQL_DONE;
		}
		st = w->side[1];
		bind_project(st, 1, job);
		ac_sql_bind_text(st, 2, s->event_id, -1, AC_SQL_STATIC);
		bind_text_or_null(st, 3, s->filename);
		bind_text_or_null(st, 4, s->content_type);
		bind_text_or_null(st, 5, s->attachment_type);
		ac_sql_bind_int64(st, 6, (ac_sql_int64)s->len);
		ac_sql_bind_blob(st, 7, s->data, (int)s->len, AC_SQL_STATIC);
		ac_sql_bind_double(st, 8, ac_now());
	}
	rc = step_reset(st);
	if (rc == AC_SQL_DONE)
		job->side_stored++;
	return rc;
}

/* Inside a transaction: insert one job's rows. AC_SQL_DONE or the failing step's code. */
static int write_job(struct writer *w, struct write_job *job)
{
	int rc = AC_SQL_DONE;

	job->stored = job->duplicates = 0;
	job->side_stored = job->side_dropped = 0;
	for (size_t i = 0; i < job->n_events && rc == AC_SQL_DONE; i++)
		rc = insert_event(w, job, i);
	if (rc == AC_SQL_DONE && job->item_counts)
		rc = count_items(w, job);
	for (const struct side_row *s = job->side; s && rc == AC_SQL_DONE; s = s->next)
		rc = insert_side(w, job, s);
	return rc;
}

/* Runs a control statement, retrying while another connection holds the lock. */
static int exec_retry(struct writer *w, int which)
{
	for (int attempt = 0;; attempt++) {
		int rc = ctl(w, which);
		if (rc != AC_SQL_BUSY && rc != AC_SQL_LOCKED)
			return rc;
		if (attempt % 10 == 0)
			ac_log(AC_LOG_WARN, "database busy; writer retrying", "sql", ctl_sql[which], NULL);
		usleep(20000);
	}
}

/* Remember why the current transaction failed, before ROLLBACK replaces the message
 * ("cannot rollback - no transaction is active" after SQLite rolled back a full disk). */
static void note_failure(struct writer *w)
{
	w->fail_rc = ac_sql_extended_errcode(w->db);
	snprintf(w->fail_msg, sizeof w->fail_msg, "%s", ac_sql_errmsg(w->db));
}

/* Bytes free for unprivileged writes in the database's directory; -1 if unknown. */
long long writer_free_bytes(const char *db_path, bool *read_only)
{
	const char *file = ac_db_sqlite_path(db_path);
	char *copy = file ? strdup(file) : NULL;   /* PostgreSQL: unknown here */
	struct statvfs sv;
	long long n = -1;

	*read_only = false;
	if (copy && statvfs(dirname(copy), &sv) == 0) {
		n = (long long)sv.f_bavail * (long long)sv.f_frsize;
		*read_only = (sv.f_flag & ST_RDONLY) != 0;
	}
	free(copy);
	return n;
}

/* The cause of the last failure in words an operator can act on. */
static void failure_text(struct writer *w, const char *what, char *out, size_t n)
{
	bool ro;
	long long free_bytes = writer_free_bytes(w->db_path, &ro);

	if ((w->fail_rc & 0xff) == AC_SQL_FULL || (free_bytes >= 0 && free_bytes < 65536))
		snprintf(out, n, "%s: disk full (%lld bytes free next to %s)", what, free_bytes,
			 w->db_path);
	else if ((w->fail_rc & 0xff) == AC_SQL_READONLY || ro)
		snprintf(out, n, "%s: the database is read-only (%s)", what, w->fail_msg);
	else
		snprintf(out, n, "%s: %s", what, w->fail_msg[0] ? w->fail_msg : ac_sql_errmsg(w->db));
}

/* One transaction for the given jobs. AC_SQL_OK, or an error after ROLLBACK with
 * *failed pointing at the job whose insert failed (NULL when BEGIN/COMMIT failed). */
static int run_transaction(struct writer *w, struct write_job *jobs, struct write_job *end,
			   struct write_job **failed)
{
	*failed = NULL;
	w->fail_rc = 0;
	w->fail_msg[0] = '\0';
	if (ac_sql_backend(w->db) == AC_SQL_POSTGRES && ac_now() >= w->next_partition_check) {
		ac_db_prepare_partitions(w->db, ac_now(), NULL);
		w->next_partition_check = ac_now() + 3600;
	}
	if (exec_retry(w, CTL_BEGIN) != AC_SQL_OK) {
		note_failure(w);
		return AC_SQL_ERROR;
	}
	if (ac_db_ingest_guard(w->db, NULL)) { /* PostgreSQL: see ac_db_committed_horizon */
		note_failure(w);
		ctl(w, CTL_ROLLBACK);
		return AC_SQL_ERROR;
	}
	for (struct write_job *j = jobs; j != end; j = j->next)
		if (write_job(w, j) != AC_SQL_DONE) {
			*failed = j;
			note_failure(w);
			ctl(w, CTL_ROLLBACK);
			return AC_SQL_ERROR;
		}
	if (exec_retry(w, CTL_COMMIT) != AC_SQL_OK) {
		note_failure(w);
		ctl(w, CTL_ROLLBACK);
		return AC_SQL_ERROR;
	}
	return AC_SQL_OK;
}

static void mark_failed(struct writer *w, struct write_job *j, const char *what)
{
	j->status = AC_EDB;
	failure_text(w, what, j->detail, sizeof j->detail);
	j->stored = j->duplicates = 0;
	pthread_mutex_lock(&w->lock);
	w->failing = true;
	snprintf(w->failing_why, sizeof w->failing_why, "%s", j->detail);
	pthread_mutex_unlock(&w->lock);
}

/* All queued jobs in one transaction (group commit). Savepoints per job were measurable
 * on the hot path, so failures are handled after the fact instead: if the group fails, each
 * job is retried in its own transaction, so one bad job fails alone and the others commit. */
static void commit_group(struct writer *w, struct write_job *jobs, unsigned events)
{
	double t0 = ac_monotonic();
	unsigned long stored = 0, dups = 0, side_stored = 0, side_dropped = 0;
	struct write_job *failed;
	bool was_failing;

	pthread_mutex_lock(&w->lock);
	was_failing = w->failing;
	pthread_mutex_unlock(&w->lock);
	if (run_transaction(w, jobs, NULL, &failed) == AC_SQL_OK && was_failing) {
		/* recovered (space freed): give the WAL's grown file back too */
		ac_sql_exec(w->db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL);
		pthread_mutex_lock(&w->lock);
		w->failing = false;
		pthread_mutex_unlock(&w->lock);
		ac_log(AC_LOG_INFO, "writes succeed again", NULL);
	} else if (w->fail_rc || failed) {
		ac_log(AC_LOG_WARN, "group commit failed; retrying jobs one by one", "detail",
		       ac_sql_errmsg(w->db), NULL);
		for (struct write_job *j = jobs; j; j = j->next)
			if (run_transaction(w, j, j->next, &failed) != AC_SQL_OK)
				mark_failed(w, j, failed ? "insert failed" : "commit failed");
	}
	for (struct write_job *j = jobs; j; j = j->next) {
		stored += j->stored;
		dups += j->duplicates;
		if (!j->status) {
			side_stored += j->side_stored;
			side_dropped += j->side_dropped;
		}
	}
	if (stored || dups) {
		pthread_mutex_lock(&w->lock);
		w->failing = false;
		pthread_mutex_unlock(&w->lock);
	}
	metrics_commit(w->metrics, ac_monotonic() - t0, events);
	metrics_events_stored(w->metrics, stored, dups);
	if (side_stored || side_dropped)
		metrics_side_rows(w->metrics, side_stored, side_dropped);
}

/* Take jobs from the queue head up to max_group events (at least one job). */
static struct write_job *take_group(struct writer *w, unsigned *events)
{
	struct write_job *first = w->head, *last = w->head;
	unsigned n = last->n_events;

	while (last->next && n + last->next->n_events <= w->max_group) {
		last = last->next;
		n += last->n_events;
	}
	w->head = last->next;
	if (!w->head)
		w->tail = NULL;
	last->next = NULL;
	*events = n;
	return first;
}

/* With only a few events queued, wait up to LINGER_US for more before committing: every
 * commit pays an fsync, and under concurrent load the next requests are microseconds away.
 * Measured on 2 cores: 13-19 -> 27-30 events per commit, better rate and p99; a lone request
 * waits at most 0.1 ms longer (see the gap rule below). Called with w->lock held. */
#define LINGER_US 500
#define LINGER_GAP_US 100
#define LINGER_BELOW_EVENTS 32

static void deadline_in(struct timespec *t, long us)
{
	clock_gettime(CLOCK_REALTIME, t);
	t->tv_nsec += us * 1000L;
	while (t->tv_nsec >= 1000000000L) {
		t->tv_sec++;
		t->tv_nsec -= 1000000000L;
	}
}

/* Lingering stops early once LINGER_GAP_US pass without a new arrival: the rest of the
 * clients are waiting for this commit, not about to send. */
static void linger_for_company(struct writer *w)
{
	unsigned seen = w->depth;

	if (w->depth >= LINGER_BELOW_EVENTS || w->stopping)
		return;
	w->lingering = true;
	for (long waited = 0; waited < LINGER_US && w->depth < LINGER_BELOW_EVENTS &&
	     !w->stopping; waited += LINGER_GAP_US) {
		struct timespec until;
		deadline_in(&until, LINGER_GAP_US);
		while (w->depth < LINGER_BELOW_EVENTS && !w->stopping &&
		       pthread_cond_timedwait(&w->wake, &w->lock, &until) == 0)
			;
		if (w->depth == seen)
			break;
		seen = w->depth;
	}
	w->lingering = false;
}

/* The checkpointer copies the WAL into the database while the writer appends to it, so
 * under sustained load it never finds the WAL fully copied, SQLite never restarts it, and
 * the file grows — every append then allocates and zeroes new file pages (a tenth of the
 * writer's time in profiles). When the checkpointer reports that commits landed while it
 * copied, the writer copies those few frames itself, between commits (no transaction open,
 * no request waiting on it); its next transaction then starts the WAL over from the top. */
static void top_up_checkpoint(struct writer *w)
{
	bool behind;

	pthread_mutex_lock(&w->lock);
	behind = w->wal_behind;
	w->wal_behind = false;
	pthread_mutex_unlock(&w->lock);
	if (behind)
		ac_sql_wal_checkpoint_v2(w->db, NULL, AC_SQL_CHECKPOINT_PASSIVE, NULL, NULL);
}

static void *writer_main(void *arg)
{
	struct writer *w = arg;

	pthread_setname_np(pthread_self(), "writer");
	for (;;) {
		struct write_job *jobs, *next;
		unsigned events;
		bool idle;

		pthread_mutex_lock(&w->lock);
		while (!w->head && !w->stopping)
			pthread_cond_wait(&w->wake, &w->lock);
		if (!w->head) {
			pthread_mutex_unlock(&w->lock);
			break;
		}
		linger_for_company(w);
		jobs = take_group(w, &events);
		pthread_mutex_unlock(&w->lock);

		commit_group(w, jobs, events);

		pthread_mutex_lock(&w->lock);
		w->depth -= events;
		w->commits++;
		idle = w->head == NULL;
		if (w->on_commit)
			w->on_commit(w->on_commit_arg);
		pthread_mutex_unlock(&w->lock);
		for (struct write_job *j = jobs; j; j = next) {
			next = j->next;
			j->next = NULL;
			j->done(j, j->arg);
		}
		top_up_checkpoint(w);
		/* after a burst, hand the request threads' freed memory back to the system */
		if (idle && events > 1000)
			malloc_trim(0);
	}
	return NULL;
}

/* WAL checkpoints run here, on their own connection, instead of inside the writer's
 * COMMIT (SQLite's auto-checkpoint), where they stalled every waiting request. PASSIVE
 * never blocks the writer or readers. */
static void *checkpointer_main(void *arg)
{
	struct writer *w = arg;
	struct ac_error err;
	ac_sql *db = ac_db_open(w->db_path, AC_DB_READ, &err);
	unsigned long seen = 0;
	bool stop = false;

	pthread_setname_np(pthread_self(), "checkpointer");
	while (!stop) {
		unsigned long commits;
		struct timespec until;

		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += 250 * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_mutex_lock(&w->lock);
		if (!w->stopping)
			pthread_cond_timedwait(&w->checkpoint_wake, &w->lock, &until);
		stop = w->stopping;
		commits = w->commits;
		pthread_mutex_unlock(&w->lock);
		if (db && commits != seen) {
			ac_sql_wal_checkpoint_v2(db, NULL, AC_SQL_CHECKPOINT_PASSIVE, NULL, NULL);
			seen = commits;
			/* commits that landed while it copied are not copied yet */
			pthread_mutex_lock(&w->lock);
			w->wal_behind = w->commits != seen;
			pthread_mutex_unlock(&w->lock);
		}
	}
	ac_db_close(db);
	return NULL;
}

static void writer_close_db(struct writer *w)
{
	ac_sql_finalize(w->insert);
	ac_sql_finalize(w->count_item);
	for (size_t i = 0; i < AC_ARRAY_SIZE(w->ctl); i++)
		ac_sql_finalize(w->ctl[i]);
	for (size_t i = 0; i < AC_ARRAY_SIZE(w->side); i++)
		ac_sql_finalize(w->side[i]);
	memset(w->side, 0, sizeof w->side);
	w->insert = w->count_item = NULL;
	memset(w->ctl, 0, sizeof w->ctl);
	/* a final full checkpoint keeps the WAL file small for the next start */
	if (w->db)
		ac_sql_wal_checkpoint_v2(w->db, NULL, AC_SQL_CHECKPOINT_TRUNCATE, NULL, NULL);
	ac_db_close(w->db);
	w->db = NULL;
}

/* Test-only hook (tests/integration/t23-durability-order.sh): AC_TEST_COMMIT_DELAY_MS=N makes
 * the writer log "test hook: delaying COMMIT" and sleep N ms before every COMMIT, so a test can
 * prove that no reply leaves while the transaction is still open. Never set it in production:
 * every write waits N ms. */
static void test_delay_commit(struct writer *w)
{
	char ms[16];

	snprintf(ms, sizeof ms, "%u", w->test_commit_delay_ms);
	ac_log(AC_LOG_WARN, "test hook: delaying COMMIT", "ms", ms, NULL);
	usleep(w->test_commit_delay_ms * 1000u);
}

/* Says how durable a commit is, read back from the writer's own connection (not from the
 * PRAGMA the code meant to set): t23 requires synchronous=2 (FULL) and journal_mode=wal. */
static void log_durability(struct writer *w)
{
	ac_sql_stmt *st;
	char sync[16] = "?", journal[16] = "?";

	if (ac_sql_backend(w->db) == AC_SQL_POSTGRES) {
		if (ac_sql_prepare_v2(w->db, "SHOW synchronous_commit", -1, &st, NULL) == AC_SQL_OK) {
			if (ac_sql_step(st) == AC_SQL_ROW)
				snprintf(sync, sizeof sync, "%s", (const char *)ac_sql_column_text(st, 0));
			ac_sql_finalize(st);
		}
		ac_log(AC_LOG_INFO, "writer durability", "synchronous_commit", sync, "db",
		       ac_sql_db_filename(w->db, "main"), NULL);
		return;
	}
	if (ac_sql_prepare_v2(w->db, "PRAGMA synchronous", -1, &st, NULL) == AC_SQL_OK) {
		if (ac_sql_step(st) == AC_SQL_ROW)
			snprintf(sync, sizeof sync, "%d", ac_sql_column_int(st, 0));
		ac_sql_finalize(st);
	}
	if (ac_sql_prepare_v2(w->db, "PRAGMA journal_mode", -1, &st, NULL) == AC_SQL_OK) {
		if (ac_sql_step(st) == AC_SQL_ROW)
			snprintf(journal, sizeof journal, "%s", (const char *)ac_sql_column_text(st, 0));
		ac_sql_finalize(st);
	}
	ac_log(AC_LOG_INFO, "writer durability", "synchronous", sync, "journal_mode", journal, NULL);
}

int writer_start(const char *db_path, unsigned queue_events, unsigned max_group,
		 struct metrics *m, struct writer **out, struct ac_error *err)
{
	struct writer *w = calloc(1, sizeof *w);
	int rc;

	if (!w)
		return ac_error_set(err, AC_ENOMEM, "internal", "out of memory");
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->wake, NULL);
	pthread_cond_init(&w->checkpoint_wake, NULL);
	w->db_path = strdup(db_path);
	w->capacity = queue_events ? queue_events : 1;
	w->max_group = max_group ? max_group : 1;
	w->metrics = m;
	w->db = ac_db_open(db_path, AC_DB_WRITE, err);
	if (!w->db) {
		bool ro;
		rc = err ? err->code : AC_EDB;
		writer_free_bytes(db_path, &ro);
		if (ac_db_sqlite_path(db_path) &&
		    (ro || (access(ac_db_sqlite_path(db_path), F_OK) == 0 &&
			    access(ac_db_sqlite_path(db_path), W_OK) != 0)))
			rc = ac_error_set(err, AC_EDB, "read_only",
					  "database %s is read-only (file permissions or a read-only "
					  "mount): serve must be able to write it", db_path);
		goto fail;
	}
	if (ac_sql_db_readonly(w->db, "main") == 1) {
		rc = ac_error_set(err, AC_EDB, "read_only",
				  "database %s is read-only (file permissions or a read-only mount): "
				  "serve must be able to write it", db_path);
		goto fail;
	}
	if (ac_sql_prepare_v2(w->db, ac_db_sql(w->db, AC_DB_EVENT_INSERT), -1, &w->insert, NULL) != AC_SQL_OK ||
	    ac_sql_prepare_v2(w->db, count_sql, -1, &w->count_item, NULL) != AC_SQL_OK) {
		rc = ac_db_error(w->db, err, "preparing writer statements");
		goto fail;
	}
	for (size_t i = 0; i < AC_ARRAY_SIZE(ctl_sql); i++)
		if (ac_sql_prepare_v2(w->db, ctl_sql[i], -1, &w->ctl[i], NULL) != AC_SQL_OK) {
			rc = ac_db_error(w->db, err, "preparing writer statements");
			goto fail;
		}
	if ((rc = ac_db_exec(w->db, "PRAGMA wal_autocheckpoint=0", err)))
		goto fail;
	log_durability(w);
	if (getenv("AC_TEST_COMMIT_DELAY_MS"))
		w->test_commit_delay_ms = (unsigned)strtoul(getenv("AC_TEST_COMMIT_DELAY_MS"), NULL, 10);
	if (pthread_create(&w->checkpointer, NULL, checkpointer_main, w) != 0) {
		rc = ac_error_set(err, AC_EIO, "internal", "cannot start checkpoint thread");
		goto fail;
	}
	w->checkpointer_started = true;
	if (pthread_create(&w->thread, NULL, writer_main, w) != 0) {
		rc = ac_error_set(err, AC_EIO, "internal", "cannot start writer thread");
		goto fail;
	}
	*out = w;
	return 0;
fail:
	if (w->checkpointer_started) {
		pthread_mutex_lock(&w->lock);
		w->stopping = true;
		pthread_cond_signal(&w->checkpoint_wake);
		pthread_mutex_unlock(&w->lock);
		pthread_join(w->checkpointer, NULL);
	}
	writer_close_db(w);
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->wake);
	pthread_cond_destroy(&w->checkpoint_wake);
	free(w->db_path);
	free(w);
	return rc;
}

int writer_submit(struct writer *w, struct write_job *job)
{
	int rc = 0;

	job->next = NULL;
	job->status = 0;
	job->detail[0] = '\0';
	pthread_mutex_lock(&w->lock);
	if (w->stopping) {
		rc = AC_EINVAL;
	} else if (w->depth > 0 && w->depth + job->n_events > w->capacity) {
		/* An empty queue always takes a job, however large, so big batches can't starve. */
		rc = AC_EBUSY;
	} else {
		w->depth += job->n_events;
		if (w->tail)
			w->tail->next = job;
		else
			w->head = job;
		w->tail = job;
		if (!w->lingering || w->depth >= LINGER_BELOW_EVENTS)
			pthread_cond_signal(&w->wake);
	}
	pthread_mutex_unlock(&w->lock);
	return rc;
}

void writer_set_commit_hook(struct writer *w, void (*fn)(void *arg), void *arg)
{
	pthread_mutex_lock(&w->lock);
	w->on_commit = fn;
	w->on_commit_arg = arg;
	pthread_mutex_unlock(&w->lock);
}

unsigned writer_depth(struct writer *w)
{
	unsigned d;
	pthread_mutex_lock(&w->lock);
	d = w->depth;
	pthread_mutex_unlock(&w->lock);
	return d;
}

bool writer_failing(struct writer *w, char *why, size_t n)
{
	bool f;
	pthread_mutex_lock(&w->lock);
	f = w->failing;
	snprintf(why, n, "%s", f ? w->failing_why : "");
	pthread_mutex_unlock(&w->lock);
	return f;
}

unsigned writer_capacity(struct writer *w)
{
	return w->capacity;
}

void writer_stop(struct writer *w)
{
	if (!w || !w->db)
		return;
	pthread_mutex_lock(&w->lock);
	w->stopping = true;
	pthread_cond_signal(&w->wake);
	pthread_cond_signal(&w->checkpoint_wake);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	pthread_join(w->checkpointer, NULL);
	writer_close_db(w);
}

void writer_free(struct writer *w)
{
	if (!w)
		return;
	writer_stop(w);
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->wake);
	pthread_cond_destroy(&w->checkpoint_wake);
	free(w->db_path);
	free(w);
}

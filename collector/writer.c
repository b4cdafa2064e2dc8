/*
 * writer.c — the one thread that writes events to SQLite.
 *
 * Request threads submit jobs (one job = everything one request stores) into a bounded
 * FIFO measured in events. The writer takes as many queued jobs as fit in a group
 * (max_group events, at least one job), and commits them in one transaction: each job gets
 * its own SAVEPOINT so a failing job rolls back alone and is reported failed, while the
 * others commit. Only after COMMIT returns does the writer call each job's done() — which
 * resumes the suspended HTTP connection — so a 2xx always follows a durable commit
 * (synchronous=FULL in WAL mode). A busy database (another process holding the write lock)
 * is retried, never dropped: requests wait, the queue fills, and new requests get 429.
 */
#include "core/common.h"
#include "core/db.h"
#include "collector/internal.h"

#include <pthread.h>

struct writer {
	sqlite3 *db;
	sqlite3_stmt *insert, *count_item;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct write_job *head, *tail;
	unsigned depth;        /* events queued, not yet committed */
	unsigned capacity;
	unsigned max_group;
	bool stopping;
	struct metrics *metrics;
	void (*on_commit)(void *arg);  /* an-clusters: analyzer wake-up, under lock */
	void *on_commit_arg;
};

static const char insert_sql[] =
	"INSERT INTO events(event_id, project_id, received_at, timestamp, level, kind, system,"
	" component, release, environment, message, exc_type, exc_value, fingerprint, source, raw)"
	" VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT(event_id) DO NOTHING";
static const char count_sql[] =
	"INSERT INTO item_counts(project_id, item_type, count) VALUES(?,?,?)"
	" ON CONFLICT(project_id, item_type) DO UPDATE SET count = count + excluded.count";

int writer_job_prepare(struct write_job *job)
{
	size_t n = json_array_size(job->events);

	job->n_events = (unsigned)n;
	job->raw = calloc(n ? n : 1, sizeof *job->raw);
	if (!job->raw)
		return AC_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		job->raw[i] = json_dumps(json_array_get(job->events, i), JSON_COMPACT);
		if (!job->raw[i])
			return AC_ENOMEM;
	}
	return 0;
}

void writer_job_release(struct write_job *job)
{
	if (!job->raw)
		return;
	for (size_t i = 0; i < job->n_events; i++)
		free(job->raw[i]);
	free(job->raw);
	job->raw = NULL;
}

static void bind_text(sqlite3_stmt *st, int idx, const json_t *ev, const char *key)
{
	const json_t *v = json_object_get(ev, key);
	if (json_is_string(v))
		sqlite3_bind_text(st, idx, json_string_value(v), (int)json_string_length(v), SQLITE_STATIC);
	else
		sqlite3_bind_null(st, idx);
}

static double json_time(const json_t *ev, const char *key)
{
	double t = 0;
	ac_parse_time(json_string_value(json_object_get(ev, key)), &t);
	return t;
}

static int insert_event(struct writer *w, struct write_job *job, size_t i)
{
	const json_t *ev = json_array_get(job->events, i), *exc = json_object_get(ev, "exception");
	const json_t *fp = json_object_get(ev, "fingerprint");
	sqlite3_stmt *st = w->insert;
	char *fps = fp ? json_dumps(fp, JSON_COMPACT) : NULL;
	int rc;

	bind_text(st, 1, ev, "event_id");
	if (job->project_id > 0)
		sqlite3_bind_int64(st, 2, job->project_id);
	else
		sqlite3_bind_null(st, 2);
	sqlite3_bind_double(st, 3, json_time(ev, "received_at"));
	sqlite3_bind_double(st, 4, json_time(ev, "timestamp"));
	bind_text(st, 5, ev, "level");
	bind_text(st, 6, ev, "kind");
	bind_text(st, 7, ev, "system");
	bind_text(st, 8, ev, "component");
	bind_text(st, 9, ev, "release");
	bind_text(st, 10, ev, "environment");
	bind_text(st, 11, ev, "message");
	bind_text(st, 12, exc, "type");
	bind_text(st, 13, exc, "value");
	if (fps)
		sqlite3_bind_text(st, 14, fps, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, 14);
	bind_text(st, 15, ev, "source");
	sqlite3_bind_text(st, 16, job->raw[i], -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	free(fps);
	if (rc != SQLITE_DONE)
		return rc;
	if (sqlite3_changes(w->db))
		job->stored++;
	else
		job->duplicates++;
	return SQLITE_DONE;
}

static int count_items(struct writer *w, struct write_job *job)
{
	const char *type;
	json_t *v;
	int rc = SQLITE_DONE;

	json_object_foreach(job->item_counts, type, v) {
		sqlite3_bind_int64(w->count_item, 1, job->project_id);
		sqlite3_bind_text(w->count_item, 2, type, -1, SQLITE_STATIC);
		sqlite3_bind_int64(w->count_item, 3, json_integer_value(v));
		rc = sqlite3_step(w->count_item);
		sqlite3_reset(w->count_item);
		if (rc != SQLITE_DONE)
			break;
	}
	return rc;
}

/* Inside the group transaction: store one job or roll it back alone. */
static void write_job(struct writer *w, struct write_job *job)
{
	int rc = SQLITE_DONE;

	job->stored = job->duplicates = 0;
	if (sqlite3_exec(w->db, "SAVEPOINT job", NULL, NULL, NULL) != SQLITE_OK) {
		job->status = AC_EDB;
		snprintf(job->detail, sizeof job->detail, "%s", sqlite3_errmsg(w->db));
		return;
	}
	for (size_t i = 0; i < job->n_events && rc == SQLITE_DONE; i++)
		rc = insert_event(w, job, i);
	if (rc == SQLITE_DONE && job->item_counts)
		rc = count_items(w, job);
	if (rc != SQLITE_DONE) {
		job->status = AC_EDB;
		snprintf(job->detail, sizeof job->detail, "%s", sqlite3_errmsg(w->db));
		job->stored = job->duplicates = 0;
		sqlite3_exec(w->db, "ROLLBACK TO job", NULL, NULL, NULL);
	}
	sqlite3_exec(w->db, "RELEASE job", NULL, NULL, NULL);
}

/* Runs `sql`, retrying while another connection holds the lock. */
static int exec_retry(struct writer *w, const char *sql)
{
	for (int attempt = 0;; attempt++) {
		int rc = sqlite3_exec(w->db, sql, NULL, NULL, NULL);
		if (rc != SQLITE_BUSY && rc != SQLITE_LOCKED)
			return rc;
		if (attempt % 10 == 0)
			ac_log(AC_LOG_WARN, "database busy; writer retrying", "sql", sql, NULL);
		usleep(20000);
	}
}

static void fail_group(struct write_job *jobs, const char *detail)
{
	for (struct write_job *j = jobs; j; j = j->next) {
		if (j->status == 0) {
			j->status = AC_EDB;
			snprintf(j->detail, sizeof j->detail, "%s", detail);
		}
		j->stored = j->duplicates = 0;
	}
}

static void commit_group(struct writer *w, struct write_job *jobs, unsigned events)
{
	double t0 = ac_monotonic();
	unsigned long stored = 0, dups = 0;

	if (exec_retry(w, "BEGIN IMMEDIATE") != SQLITE_OK) {
		fail_group(jobs, sqlite3_errmsg(w->db));
		return;
	}
	for (struct write_job *j = jobs; j; j = j->next)
		write_job(w, j);
	if (exec_retry(w, "COMMIT") != SQLITE_OK) {
		char detail[256];
		snprintf(detail, sizeof detail, "commit failed: %s", sqlite3_errmsg(w->db));
		sqlite3_exec(w->db, "ROLLBACK", NULL, NULL, NULL);
		ac_log(AC_LOG_ERROR, "group commit failed", "detail", detail, NULL);
		fail_group(jobs, detail);
		return;
	}
	for (struct write_job *j = jobs; j; j = j->next) {
		stored += j->stored;
		dups += j->duplicates;
	}
	metrics_commit(w->metrics, ac_monotonic() - t0, events);
	metrics_events_stored(w->metrics, stored, dups);
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

static void *writer_main(void *arg)
{
	struct writer *w = arg;

	pthread_setname_np(pthread_self(), "writer");
	for (;;) {
		struct write_job *jobs, *next;
		unsigned events;

		pthread_mutex_lock(&w->lock);
		while (!w->head && !w->stopping)
			pthread_cond_wait(&w->wake, &w->lock);
		if (!w->head) {
			pthread_mutex_unlock(&w->lock);
			break;
		}
		jobs = take_group(w, &events);
		pthread_mutex_unlock(&w->lock);

		commit_group(w, jobs, events);

		pthread_mutex_lock(&w->lock);
		w->depth -= events;
		if (w->on_commit)
			w->on_commit(w->on_commit_arg);
		pthread_mutex_unlock(&w->lock);
		for (struct write_job *j = jobs; j; j = next) {
			next = j->next;
			j->next = NULL;
			j->done(j, j->arg);
		}
	}
	return NULL;
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
	w->capacity = queue_events ? queue_events : 1;
	w->max_group = max_group ? max_group : 1;
	w->metrics = m;
	w->db = ac_db_open(db_path, AC_DB_WRITE, err);
	if (!w->db) {
		rc = err ? err->code : AC_EDB;
		goto fail;
	}
	if (sqlite3_prepare_v2(w->db, insert_sql, -1, &w->insert, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(w->db, count_sql, -1, &w->count_item, NULL) != SQLITE_OK) {
		rc = ac_db_error(w->db, err, "preparing writer statements");
		goto fail;
	}
	if (pthread_create(&w->thread, NULL, writer_main, w) != 0) {
		rc = ac_error_set(err, AC_EIO, "internal", "cannot start writer thread");
		goto fail;
	}
	*out = w;
	return 0;
fail:
	sqlite3_finalize(w->insert);
	sqlite3_finalize(w->count_item);
	ac_db_close(w->db);
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->wake);
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
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	sqlite3_finalize(w->insert);
	sqlite3_finalize(w->count_item);
	w->insert = w->count_item = NULL;
	ac_db_close(w->db);
	w->db = NULL;
}

void writer_free(struct writer *w)
{
	if (!w)
		return;
	writer_stop(w);
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->wake);
	free(w);
}

/*
 * retention.c — retention passes, the retention thread, per-project policies and `db stats`.
 * See retention.h for the rules.
 *
 * A pass reads the ids to delete in a read transaction (the index events_project_received
 * gives a project's oldest events), then deletes them RETENTION_BATCH at a time, each batch
 * in its own BEGIN IMMEDIATE ... COMMIT, then leaves the lock free for as long as the batch
 * took (at least 2 ms), so the collector's writer (which polls for the lock every 0.1-0.5 ms,
 * core/db.c) gets at least half of the write time while a large pass runs.
 * Byte limits are estimated: the project's event count times the mean stored size
 * (length(raw) plus ~200 bytes of columns and index entries) of its newest 1,000 events, so
 * a pass never reads a whole project's events to size it.
 */
#include "core/common.h"
#include "core/db.h"
#include "collector/retention.h"

#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include "core/sql.h"
#include <stdatomic.h>
#include <sys/stat.h>

#define ROW_OVERHEAD 200

struct retention {
	char *db_path;
	struct retention_policy defaults;
	double interval;
	bool guard;
	pthread_t thread;
	bool started;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stop;
	atomic_ulong deleted, passes;
};

int retention_parse_age(const char *s, double *out)
{
	char *end;
	double v, mul = 1;

	errno = 0;
	v = strtod(s, &end);
	if (end == s || errno || v < 0 || !isfinite(v))
		return AC_EINVAL;
	if (*end == 'd')
		mul = 86400;
	else if (*end == 'h')
		mul = 3600;
	else if (*end == 'm')
		mul = 60;
	else if (*end == 's')
		mul = 1;
	else if (*end)
		return AC_EINVAL;
	if (*end && end[1])
		return AC_EINVAL;
	*out = v * mul;
	return 0;
}

/* ---------------------------------------------------------------- one pass */

struct pass {
	ac_sql *db;
	long long guard_id;     /* delete only ids <= guard_id; LLONG_MAX = no guard */
	unsigned long deleted;
	struct retention *owner; /* NULL outside the thread */
};

static bool stopping(struct pass *p)
{
	bool s;

	if (!p->owner)
		return false;
	pthread_mutex_lock(&p->owner->lock);
	s = p->owner->stop;
	pthread_mutex_unlock(&p->owner->lock);
	return s;
}

static int q_int64(ac_sql *db, const char *sql, long long a, bool a_null, long long *out,
		   struct ac_error *err)
{
	ac_sql_stmt *st = NULL;
	int rc;

	if (ac_sql_prepare_v2(db, sql, -1, &st, NULL) != AC_SQL_OK)
		return ac_db_error(db, err, "retention");
	if (a_null)
		ac_sql_bind_null(st, 1);
	else
		ac_sql_bind_int64(st, 1, a);
	rc = ac_sql_step(st);
	*out = rc == AC_SQL_ROW ? ac_sql_column_int64(st, 0) : 0;
	ac_sql_finalize(st);
	return rc == AC_SQL_ROW || rc == AC_SQL_DONE ? 0 : ac_db_error(db, err, "retention");
}

/* What goes with an event (run before the event's own row, which the first two look up): its
 * Sentry attachments and user feedback, then the event, then its grouping row. */
static const char *const delete_sql[] = {
	"DELETE FROM event_attachments WHERE (project_id, event_id) IN"
	" (SELECT project_id, event_id FROM events WHERE id=?1)",
	"DELETE FROM event_feedback WHERE (project_id, event_id) IN"
	" (SELECT project_id, event_id FROM events WHERE id=?1)",
	"DELETE FROM events WHERE id=?1",
	"DELETE FROM event_grouping WHERE event=?1",
};
enum { DEL_EVENT = 2, DEL_N = 4 };

/* Delete ids[0..n) (one transaction) with their attachments, feedback and event_grouping
 * rows. */
static int delete_batch(struct pass *p, const long long *ids, int n, struct ac_error *err)
{
	ac_sql_stmt *st[DEL_N] = { NULL };
	unsigned long deleted = 0;
	int rc = AC_EDB;

	if (ac_db_exec(p->db, "BEGIN IMMEDIATE", err))
		return AC_EDB;
	for (int k = 0; k < DEL_N; k++)
		if (ac_sql_prepare_v2(p->db, delete_sql[k], -1, &st[k], NULL) != AC_SQL_OK) {
			ac_db_error(p->db, err, "retention");
			goto out;
		}
	for (int i = 0; i < n; i++) {
		for (int k = 0; k < DEL_N; k++) {
			ac_sql_bind_int64(st[k], 1, ids[i]);
			if (ac_sql_step(st[k]) != AC_SQL_DONE) {
				ac_db_error(p->db, err, "retention: deleting events");
				goto out;
			}
			if (k == DEL_EVENT)
				deleted += ac_sql_changes(p->db) > 0;
			ac_sql_reset(st[k]);
		}
	}
	if ((rc = ac_db_exec(p->db, "COMMIT", err)) == 0)
		p->deleted += deleted;
out:
	for (int k = 0; k < DEL_N; k++)
		ac_sql_finalize(st[k]);
	if (rc)
		ac_db_exec(p->db, "ROLLBACK", NULL);
	return rc;
}

/* Delete the project's oldest events, up to `limit` (< 0: all) of those received before
 * `cutoff` (< 0: any time), in batches. */
static int delete_oldest(struct pass *p, long long project, bool project_null, double cutoff,
			 long long limit, struct ac_error *err)
{
	static const char sql[] =
		"SELECT id FROM events WHERE project_id IS ?1 AND received_at < ?2 AND id <= ?3"
		" ORDER BY received_at LIMIT ?4";
	long long ids[RETENTION_BATCH];
	ac_sql_stmt *st = NULL;
	int n, rc;

	while (limit != 0 && !stopping(p)) {
		long long want = limit < 0 || limit > RETENTION_BATCH ? RETENTION_BATCH : limit;
		if (ac_sql_prepare_v2(p->db, sql, -1, &st, NULL) != AC_SQL_OK)
			return ac_db_error(p->db, err, "retention");
		if (project_null)
			ac_sql_bind_null(st, 1);
		else
			ac_sql_bind_int64(st, 1, project);
		ac_sql_bind_double(st, 2, cutoff < 0 ? 1e300 : cutoff);
		ac_sql_bind_int64(st, 3, p->guard_id);
		ac_sql_bind_int64(st, 4, want);
		n = 0;
		while ((rc = ac_sql_step(st)) == AC_SQL_ROW)
			ids[n++] = ac_sql_column_int64(st, 0);
		ac_sql_finalize(st);
		if (rc != AC_SQL_DONE)
			return ac_db_error(p->db, err, "retention: finding old events");
		if (n == 0)
			break;
		double t0 = ac_monotonic();
		if ((rc = delete_batch(p, ids, n, err)))
			return rc;
		if (limit > 0)
			limit -= n;
		if (n < want)
			break;
		/* leave the lock free at least as long as the batch held it (>= 2 ms): the
		 * writer gets half of the write time or more while a large pass runs */
		usleep((useconds_t)(1e6 * fmax(0.002, ac_monotonic() - t0)));
	}
	return 0;
}

static int apply_policy(struct pass *p, long long project, bool project_null,
			const struct retention_policy *pol, struct ac_error *err)
{
	long long count = 0, excess = 0, avg = 0;
	int rc;

	if (pol->max_age_seconds > 0 &&
	    (rc = delete_oldest(p, project, project_null, ac_now() - pol->max_age_seconds, -1, err)))
		return rc;
	if (pol->max_events <= 0 && pol->max_bytes <= 0)
		return 0;
	if ((rc = q_int64(p->db, "SELECT count(*) FROM events WHERE project_id IS ?1", project,
			  project_null, &count, err)))
		return rc;
	if (pol->max_events > 0 && count > pol->max_events)
		excess = count - pol->max_events;
	if (pol->max_bytes > 0 && count > 0) {
		if ((rc = q_int64(p->db, "SELECT CAST(avg(length(raw)) AS INTEGER) FROM (SELECT raw FROM"
				  " events WHERE project_id IS ?1 ORDER BY received_at DESC LIMIT 1000)",
				  project, project_null, &avg, err)))
			return rc;
		avg += ROW_OVERHEAD;
		if (count * avg > pol->max_bytes) {
			long long over = (count * avg - pol->max_bytes + avg - 1) / avg;
			if (over > excess)
				excess = over;
		}
	}
	return excess > 0 ? delete_oldest(p, project, project_null, -1, excess, err) : 0;
}

static void policy_column(ac_sql_stmt *st, int col, double *d, long long *ll)
{
	if (ac_sql_column_type(st, col) == AC_SQL_NULL)
		return;
	if (d)
		*d = ac_sql_column_double(st, col);
	else
		*ll = ac_sql_column_int64(st, col);
}

/* Freed pages back to the file system, a few at a time, then a truncating checkpoint. */
static void shrink_file(ac_sql *db)
{
	long long freelist = 0;

	for (int i = 0; i < 100000; i++) {
		if (q_int64(db, "PRAGMA freelist_count", 0, true, &freelist, NULL) || freelist == 0)
			break;
		if (ac_db_exec(db, "PRAGMA incremental_vacuum(256)", NULL))
			break;
		usleep(1000);
	}
	ac_db_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL);
}

/* PostgreSQL: when every project has an age limit, the day partitions older than the
 * longest of them go whole (DROP TABLE, no row-by-row DELETE); the per-project passes below
 * then find little left to delete. */
static int drop_partitions(struct pass *p, const struct retention_policy *pols, int n,
			   struct ac_error *err)
{
	double longest = 0;
	long long dropped = 0;
	int rc;

	if (ac_sql_backend(p->db) != AC_SQL_POSTGRES || n == 0)
		return 0;
	for (int i = 0; i < n; i++) {
		if (pols[i].max_age_seconds <= 0)
			return 0;   /* a project keeps its events forever */
		if (pols[i].max_age_seconds > longest)
			longest = pols[i].max_age_seconds;
	}
	rc = ac_db_drop_partitions_before(p->db, ac_now() - longest, p->guard_id, &dropped, err);
	p->deleted += (unsigned long)dropped;
	return rc;
}

static int run_pass(struct pass *p, const struct retention_policy *defaults, bool guard,
		    struct ac_error *err)
{
	static const char sql[] =
		"SELECT p.id, r.max_age_seconds, r.max_events, r.max_bytes FROM"
		" (SELECT id FROM projects UNION ALL SELECT NULL) p"
		" LEFT JOIN retention r ON r.project_id = p.id ORDER BY p.id";
	ac_sql_stmt *st = NULL;
	struct retention_policy pols[256];
	long long projects[256];
	bool nulls[256];
	int n = 0, rc;

	p->guard_id = INT64_MAX;
	if (guard && (rc = q_int64(p->db, "SELECT coalesce((SELECT CAST(value AS INTEGER) FROM"
			     " analyzer_state WHERE key='last_event_id'), 0)", 0, true,
			     &p->guard_id, err)))
		return rc;
	/* ids and policies first (the statement must not stay open across the deletions);
	 * more than 256 projects are handled over several passes */
	if (ac_sql_prepare_v2(p->db, sql, -1, &st, NULL) != AC_SQL_OK)
		return ac_db_error(p->db, err, "retention");
	while (n < 256 && (rc = ac_sql_step(st)) == AC_SQL_ROW) {
		nulls[n] = ac_sql_column_type(st, 0) == AC_SQL_NULL;
		projects[n] = ac_sql_column_int64(st, 0);
		pols[n] = *defaults;
		policy_column(st, 1, &pols[n].max_age_seconds, NULL);
		policy_column(st, 2, NULL, &pols[n].max_events);
		policy_column(st, 3, NULL, &pols[n].max_bytes);
		n++;
	}
	ac_sql_finalize(st);
	if ((rc = drop_partitions(p, pols, n, err)))
		return rc;
	for (int i = 0; i < n && !stopping(p); i++)
		if ((rc = apply_policy(p, projects[i], nulls[i], &pols[i], err)))
			return rc;
	if (p->deleted)
		shrink_file(p->db);
	return 0;
}

int retention_pass(const char *db_path, const struct retention_policy *defaults,
		   bool guard_unclustered, unsigned long *deleted, struct ac_error *err)
{
	struct pass p = { 0 };
	int rc;

	if (!(p.db = ac_db_open(db_path, AC_DB_WRITE, err)))
		return AC_EDB;
	rc = run_pass(&p, defaults, guard_unclustered, err);
	if (deleted)
		*deleted = p.deleted;
	ac_db_close(p.db);
	return rc;
}

/* ---------------------------------------------------------------- the thread */

static void log_pass(unsigned long n, double secs)
{
	char a[32], b[32];

	snprintf(a, sizeof a, "%lu", n);
	snprintf(b, sizeof b, "%.3f", secs);
	ac_log(AC_LOG_INFO, "retention: deleted old events", "events", a, "seconds", b, NULL);
}

static void *retention_main(void *arg)
{
	struct retention *r = arg;
	struct pass p = { .owner = r };
	struct ac_error err;

	if (!(p.db = ac_db_open(r->db_path, AC_DB_WRITE, &err))) {
		ac_log(AC_LOG_ERROR, "retention: cannot open the database", "error", err.msg, NULL);
		return NULL;
	}
	for (;;) {
		struct timespec ts;
		double t0 = ac_monotonic(), at;

		p.deleted = 0;
		if (run_pass(&p, &r->defaults, r->guard, &err))
			ac_log(AC_LOG_ERROR, "retention pass failed", "error", err.msg, NULL);
		atomic_fetch_add(&r->deleted, p.deleted);
		atomic_fetch_add(&r->passes, 1);
		if (p.deleted)
			log_pass(p.deleted, ac_monotonic() - t0);
		pthread_mutex_lock(&r->lock);
		clock_gettime(CLOCK_REALTIME, &ts);
		at = (double)ts.tv_sec + ts.tv_nsec / 1e9 + r->interval;
		ts.tv_sec = (time_t)at;
		ts.tv_nsec = (long)((at - (double)ts.tv_sec) * 1e9);
		while (!r->stop && pthread_cond_timedwait(&r->cond, &r->lock, &ts) == 0)
			;
		if (r->stop) {
			pthread_mutex_unlock(&r->lock);
			break;
		}
		pthread_mutex_unlock(&r->lock);
	}
	ac_db_close(p.db);
	return NULL;
}

int retention_start(const char *db_path, const struct retention_policy *defaults,
		    double interval, bool guard_unclustered, struct retention **out,
		    struct ac_error *err)
{
	struct retention *r = calloc(1, sizeof *r);

	if (!r || !(r->db_path = strdup(db_path))) {
		free(r);
		return ac_error_set(err, AC_ENOMEM, "internal", "out of memory");
	}
	r->defaults = *defaults;
	r->interval = interval > 0 ? interval : 3600;
	r->guard = guard_unclustered;
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->cond, NULL);
	if (pthread_create(&r->thread, NULL, retention_main, r)) {
		retention_stop(r);
		return ac_error_set(err, AC_EIO, "internal", "cannot start the retention thread");
	}
	r->started = true;
	*out = r;
	return 0;
}

unsigned long retention_deleted_total(struct retention *r)
{
	return r ? atomic_load(&r->deleted) : 0;
}

unsigned long retention_passes(struct retention *r)
{
	return r ? atomic_load(&r->passes) : 0;
}

void retention_stop(struct retention *r)
{
	if (!r)
		return;
	pthread_mutex_lock(&r->lock);
	r->stop = true;
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->lock);
	if (r->started)
		pthread_join(r->thread, NULL);
	pthread_mutex_destroy(&r->lock);
	pthread_cond_destroy(&r->cond);
	free(r->db_path);
	free(r);
}

/* ---------------------------------------------------------------- policies, stats */

static void bind_policy_field(ac_sql_stmt *st, int col, double v)
{
	if (v < 0)
		ac_sql_bind_null(st, col);
	else
		ac_sql_bind_double(st, col, v);
}

int retention_set(const char *db_path, const char *project, const struct retention_policy *p,
		  bool reset, struct ac_error *err)
{
	static const char upsert[] =
		"INSERT INTO retention(project_id, max_age_seconds, max_events, max_bytes, updated_at)"
		" VALUES(?1, ?2, ?3, ?4, ?5) ON CONFLICT(project_id) DO UPDATE SET"
		" max_age_seconds=coalesce(?2, max_age_seconds), max_events=coalesce(?3, max_events),"
		" max_bytes=coalesce(?4, max_bytes), updated_at=?5";
	ac_sql *db = ac_db_open(db_path, AC_DB_WRITE, err);
	ac_sql_stmt *st = NULL;
	long long id = -1;
	int rc = AC_EDB;

	if (!db)
		return AC_EDB;
	if (ac_sql_prepare_v2(db, "SELECT id FROM projects WHERE name=?1", -1, &st, NULL) != AC_SQL_OK) {
		ac_db_error(db, err, "retention");
		goto out;
	}
	ac_sql_bind_text(st, 1, project, -1, AC_SQL_STATIC);
	if (ac_sql_step(st) == AC_SQL_ROW)
		id = ac_sql_column_int64(st, 0);
	ac_sql_finalize(st);
	st = NULL;
	if (id < 0) {
		rc = ac_error_set(err, AC_ENOTFOUND, "retention", "no project named '%s'", project);
		goto out;
	}
	if (ac_sql_prepare_v2(db, reset ? "DELETE FROM retention WHERE project_id=?1" : upsert, -1,
			       &st, NULL) != AC_SQL_OK) {
		ac_db_error(db, err, "retention");
		goto out;
	}
	ac_sql_bind_int64(st, 1, id);
	if (!reset) {
		bind_policy_field(st, 2, p->max_age_seconds);
		bind_policy_field(st, 3, (double)p->max_events);
		bind_policy_field(st, 4, (double)p->max_bytes);
		ac_sql_bind_double(st, 5, ac_now());
	}
	rc = ac_sql_step(st) == AC_SQL_DONE ? 0 : ac_db_error(db, err, "retention");
out:
	ac_sql_finalize(st);
	ac_db_close(db);
	return rc;
}

static json_t *stats_query(ac_sql *db, const char *sql, struct ac_error *err)
{
	ac_sql_stmt *st = NULL;
	json_t *arr = json_array();
	int rc, ncol;

	if (ac_sql_prepare_v2(db, sql, -1, &st, NULL) != AC_SQL_OK) {
		ac_db_error(db, err, "db stats");
		json_decref(arr);
		return NULL;
	}
	ncol = ac_sql_column_count(st);
	while ((rc = ac_sql_step(st)) == AC_SQL_ROW) {
		json_t *row = json_object();
		for (int i = 0; i < ncol; i++) {
			const char *name = ac_sql_column_name(st, i);
			if (ac_sql_column_type(st, i) == AC_SQL_INTEGER)
				json_object_set_new(row, name, json_integer(ac_sql_column_int64(st, i)));
			else if (ac_sql_column_type(st, i) == AC_SQL_NULL)
				json_object_set_new(row, name, json_null());
			else
				json_object_set_new(row, name, json_string((const char *)ac_sql_column_text(st, i)));
		}
		json_array_append_new(arr, row);
	}
	ac_sql_finalize(st);
	if (rc != AC_SQL_DONE) {
		ac_db_error(db, err, "db stats");
		json_decref(arr);
		return NULL;
	}
	return arr;
}

static long long file_size(const char *path, const char *suffix)
{
	char p[4096];
	struct stat sb;

	snprintf(p, sizeof p, "%s%s", path, suffix);
	return stat(p, &sb) == 0 ? (long long)sb.st_size : 0;
}

static void print_stats_text(const json_t *o)
{
	size_t i;
	json_t *row;

	printf("file %s: %lld bytes, WAL %lld bytes, %lld free pages of %lld bytes, schema %lld\n",
	       json_string_value(json_object_get(o, "db")),
	       (long long)json_integer_value(json_object_get(o, "file_bytes")),
	       (long long)json_integer_value(json_object_get(o, "wal_bytes")),
	       (long long)json_integer_value(json_object_get(o, "free_pages")),
	       (long long)json_integer_value(json_object_get(o, "page_size")),
	       (long long)json_integer_value(json_object_get(o, "schema_version")));
	printf("\n%-32s %14s %10s\n", "table/index", "bytes", "pages");
	json_array_foreach(json_object_get(o, "tables"), i, row)
		printf("%-32s %14lld %10lld\n", json_string_value(json_object_get(row, "name")),
		       (long long)json_integer_value(json_object_get(row, "bytes")),
		       (long long)json_integer_value(json_object_get(row, "pages")));
	printf("\n%-24s %10s %14s %24s %24s\n", "project", "events", "raw_bytes", "oldest_received",
	       "newest_received");
	json_array_foreach(json_object_get(o, "projects"), i, row) {
		const char *name = json_string_value(json_object_get(row, "project"));
		printf("%-24s %10lld %14lld %24s %24s\n", name ? name : "(none)",
		       (long long)json_integer_value(json_object_get(row, "events")),
		       (long long)json_integer_value(json_object_get(row, "raw_bytes")),
		       json_string_value(json_object_get(row, "oldest_received")) ?: "-",
		       json_string_value(json_object_get(row, "newest_received")) ?: "-");
	}
}

int retention_print_stats(const char *db_path, bool json, struct ac_error *err)
{
	ac_sql *db = NULL;
	json_t *o = NULL, *tables = NULL, *projects = NULL;
	long long pages = 0, free_pages = 0, page_size = 0;
	int version = 0, rc = AC_EDB;

	if (!ac_db_sqlite_path(db_path))
		return ac_error_set(err, AC_EUNSUPP, "db_stats",
				    "db stats reads SQLite's file layout; on PostgreSQL use its own "
				    "views (pg_total_relation_size, pg_stat_user_tables)");
	if ((rc = ac_db_file_version(db_path, &version, err)))
		return rc;
	rc = AC_EDB;
	if (!(db = ac_db_open(db_path, AC_DB_READ, err)))
		return AC_EDB;
	if (q_int64(db, "PRAGMA page_count", 0, true, &pages, err) ||
	    q_int64(db, "PRAGMA freelist_count", 0, true, &free_pages, err) ||
	    q_int64(db, "PRAGMA page_size", 0, true, &page_size, err))
		goto out;
	if (!(tables = stats_query(db, "SELECT name, sum(pgsize) AS bytes, count(*) AS pages FROM"
				   " dbstat GROUP BY name ORDER BY bytes DESC, name", err)) ||
	    !(projects = stats_query(db, "SELECT p.name AS project, e.project_id AS project_id,"
				     " count(*) AS events, sum(length(e.raw)) AS raw_bytes,"
				     " strftime('%Y-%m-%dT%H:%M:%SZ', min(e.received_at), 'unixepoch') AS oldest_received,"
				     " strftime('%Y-%m-%dT%H:%M:%SZ', max(e.received_at), 'unixepoch') AS newest_received"
				     " FROM events e LEFT JOIN projects p ON p.id = e.project_id"
				     " GROUP BY e.project_id ORDER BY events DESC", err)))
		goto out;
	o = json_pack("{s:s,s:I,s:I,s:I,s:I,s:I,s:i,s:O,s:O}", "db", db_path, "file_bytes",
		      (json_int_t)file_size(ac_db_sqlite_path(db_path), ""), "wal_bytes",
		      (json_int_t)file_size(ac_db_sqlite_path(db_path), "-wal"), "pages", (json_int_t)pages,
		      "free_pages", (json_int_t)free_pages, "page_size", (json_int_t)page_size,
		      "schema_version", version, "tables", tables, "projects", projects);
	if (!o) {
		rc = ac_error_set(err, AC_ENOMEM, "internal", "out of memory");
		goto out;
	}
	if (json) {
		json_dumpf(o, stdout, JSON_INDENT(2));
		putchar('\n');
	} else {
		print_stats_text(o);
	}
	rc = 0;
out:
	json_decref(o);
	json_decref(tables);
	json_decref(projects);
	ac_db_close(db);
	return rc;
}

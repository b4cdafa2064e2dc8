/*
 * query.c — reading events back: a small pool of read-only connections (WAL lets them run
 * beside the writer) and the queries behind GET /api/v1/events[/<id>].
 *
 * Paging is by cursor: results are newest first (by row id) and `next` is the id to pass as
 * `before` for the following page, so pages stay stable while new events arrive.
 */
#include "core/common.h"
#include "core/db.h"
#include "collector/internal.h"

#include <pthread.h>

struct reader_pool {
	pthread_mutex_t lock;
	pthread_cond_t freed;
	ac_sql **free_conns;
	unsigned n_free, n;
};

struct reader_pool *reader_pool_new(const char *db_path, unsigned n, struct ac_error *err)
{
	struct reader_pool *p = calloc(1, sizeof *p);

	if (!p || !(p->free_conns = calloc(n, sizeof *p->free_conns))) {
		free(p);
		ac_error_set(err, AC_ENOMEM, "internal", "out of memory");
		return NULL;
	}
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->freed, NULL);
	for (unsigned i = 0; i < n; i++) {
		ac_sql *db = ac_db_open(db_path, AC_DB_READ, err);
		if (!db) {
			reader_pool_free(p);
			return NULL;
		}
		p->free_conns[p->n_free++] = db;
		p->n++;
	}
	return p;
}

void reader_pool_free(struct reader_pool *p)
{
	if (!p)
		return;
	for (unsigned i = 0; i < p->n_free; i++)
		ac_db_close(p->free_conns[i]);
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->freed);
	free(p->free_conns);
	free(p);
}

ac_sql *reader_pool_get(struct reader_pool *p)
{
	ac_sql *db;
	pthread_mutex_lock(&p->lock);
	while (p->n_free == 0)
		pthread_cond_wait(&p->freed, &p->lock);
	db = p->free_conns[--p->n_free];
	pthread_mutex_unlock(&p->lock);
	return db;
}

void reader_pool_put(struct reader_pool *p, ac_sql *db)
{
	pthread_mutex_lock(&p->lock);
	p->free_conns[p->n_free++] = db;
	pthread_cond_signal(&p->freed);
	pthread_mutex_unlock(&p->lock);
}

/* Turn one row (id, raw, cluster_id, project_id, project name) into the API's event object;
 * every event carries its project, so an --open-read listing of all projects tells them apart. */
static json_t *row_event(ac_sql_stmt *st)
{
	json_error_t je;
	json_t *ev = json_loads((const char *)ac_sql_column_text(st, 1), JSON_ALLOW_NUL, &je);

	if (!ev)
		ev = json_object();
	json_object_set_new(ev, "id", json_integer(ac_sql_column_int64(st, 0)));
	if (ac_sql_column_type(st, 2) != AC_SQL_NULL)
		json_object_set_new(ev, "cluster_id", json_integer(ac_sql_column_int64(st, 2)));
	if (ac_sql_column_type(st, 3) != AC_SQL_NULL)
		json_object_set_new(ev, "project_id", json_integer(ac_sql_column_int64(st, 3)));
	if (ac_sql_column_type(st, 4) != AC_SQL_NULL)
		json_object_set_new(ev, "project", json_string((const char *)ac_sql_column_text(st, 4)));
	return ev;
}

/* "%" + s with LIKE's wildcards (% _) and the escape character itself escaped + "%". */
static void like_pattern(const char *s, char *out, size_t n)
{
	size_t o = 0;

	out[o++] = '%';
	for (; *s && o + 4 < n; s++) {
		if (*s == '%' || *s == '_' || *s == '\\')
			out[o++] = '\\';
		out[o++] = *s;
	}
	out[o++] = '%';
	out[o] = '\0';
}

static void add_text_filter(struct ac_buf *sql, const char *col, const char *val, int *n,
			    const char **binds)
{
	if (!val || !*val)
		return;
	ac_buf_printf(sql, " AND %s = ?%d", col, *n + 1);
	binds[(*n)++] = val;
}

int query_events(ac_sql *db, const struct event_query *q, json_t **out, struct ac_error *err)
{
	struct ac_buf sql;
	const char *binds[20];
	char like[600];
	int n = 0, rc = 0, step;
	ac_sql_stmt *st = NULL;
	json_t *events = json_array();
	long long last_id = 0;
	unsigned limit = q->limit ? q->limit : 50, count = 0;

	ac_buf_init(&sql, 4096);
	ac_buf_puts(&sql, "SELECT e.id, e.raw, e.cluster_id, e.project_id, p.name FROM events e"
			  " LEFT JOIN projects p ON p.id = e.project_id WHERE 1=1");
	add_text_filter(&sql, "e.system", q->system, &n, binds);
	add_text_filter(&sql, "e.component", q->component, &n, binds);
	add_text_filter(&sql, "e.level", q->level, &n, binds);
	add_text_filter(&sql, "e.kind", q->kind, &n, binds);
	add_text_filter(&sql, "e.release", q->release, &n, binds);
	add_text_filter(&sql, "e.environment", q->environment, &n, binds);
	add_text_filter(&sql, "p.name", q->project, &n, binds);
	if (q->q && *q->q) {
		like_pattern(q->q, like, sizeof like);
		ac_buf_printf(&sql, " AND (e.message LIKE ?%d ESCAPE '\\' OR e.exc_type LIKE ?%d ESCAPE '\\'"
			      " OR e.exc_value LIKE ?%d ESCAPE '\\')", n + 1, n + 1, n + 1);
		binds[n++] = like;
	}
	if (q->tag_path[0] && q->tag_value) {
		ac_buf_printf(&sql, " AND json_extract(e.raw, ?%d) = ?%d", n + 1, n + 2);
		binds[n++] = q->tag_path;
		binds[n++] = q->tag_value;
	}
	if (q->cluster_id > 0)
		ac_buf_printf(&sql, " AND e.cluster_id = %lld", q->cluster_id);
	if (q->since > 0)
		ac_buf_printf(&sql, " AND e.timestamp >= %.6f", q->since);
	if (q->until > 0)
		ac_buf_printf(&sql, " AND e.timestamp < %.6f", q->until);
	if (q->before_id > 0)
		ac_buf_printf(&sql, " AND e.id < %lld", q->before_id);
	if (q->project_id >= 0)
		ac_buf_printf(&sql, " AND e.project_id = %lld", q->project_id);
	ac_buf_printf(&sql, " ORDER BY e.id DESC LIMIT %u", limit + 1);
	if (ac_sql_prepare_v2(db, sql.data, -1, &st, NULL) != AC_SQL_OK) {
		rc = ac_db_error(db, err, "querying events");
		goto out;
	}
	for (int i = 0; i < n; i++)
		ac_sql_bind_text(st, i + 1, binds[i], -1, AC_SQL_STATIC);
	while ((step = ac_sql_step(st)) == AC_SQL_ROW) {
		if (count == limit)
			break;
		json_array_append_new(events, row_event(st));
		last_id = ac_sql_column_int64(st, 0);
		count++;
	}
	if (step != AC_SQL_ROW && step != AC_SQL_DONE) {
		rc = ac_db_error(db, err, "querying events");
		goto out;
	}
	*out = json_pack("{s:O,s:o}", "events", events,
			 "next", step == AC_SQL_ROW ? json_integer(last_id) : json_null());
out:
	ac_sql_finalize(st);
	json_decref(events);
	ac_buf_release(&sql);
	return rc;
}

int query_event(ac_sql *db, const char *event_id, long long project_id, json_t **out,
		struct ac_error *err)
{
	ac_sql_stmt *st = NULL;
	int rc = 0, step;

	/* ids are unique per project: with --open-read (project_id -1) the newest one */
	if (ac_sql_prepare_v2(db, "SELECT e.id, e.raw, e.cluster_id, e.project_id, p.name FROM events e"
				   " LEFT JOIN projects p ON p.id = e.project_id WHERE e.event_id = ?1"
				   " AND e.project_id IN (SELECT id FROM projects WHERE ?2 < 0 OR id = ?2)"
				   " ORDER BY e.id DESC LIMIT 1",
			       -1, &st, NULL) != AC_SQL_OK)
		return ac_db_error(db, err, "reading event");
	ac_sql_bind_text(st, 1, event_id, -1, AC_SQL_STATIC);
	ac_sql_bind_int64(st, 2, project_id);
	step = ac_sql_step(st);
	if (step == AC_SQL_ROW) {
		*out = row_event(st);
	} else if (step == AC_SQL_ROW || step == AC_SQL_DONE) {
		rc = ac_error_set(err, AC_ENOTFOUND, "not_found", "no event with id '%.64s'", event_id);
	} else {
		rc = ac_db_error(db, err, "reading event");
	}
	ac_sql_finalize(st);
	return rc;
}

/*
 * cluster_query.c — clusters as JSON for the API and the guide. See clusters.h.
 *
 * One SELECT list (CLUSTER_COLUMNS) serves the list and the detail, so a cluster looks the
 * same everywhere; the trend columns sum cluster_hourly over the 24 hours up to `now` and the
 * 24 hours before.
 */
#include "core/common.h"
#include "core/db.h"
#include "analyzer/clusters.h"
#include "analyzer/rules.h"

#include <math.h>

/* events of the cluster in the last 24 hours and the 24 before (?1 = the current hour) */
#define LAST24_SQL                                                                              \
	"(SELECT COALESCE(SUM(h.count),0) FROM cluster_hourly h WHERE h.cluster_id=c.id"        \
	" AND h.hour > ?1 - 24 AND h.hour <= ?1)"
#define PREV24_SQL                                                                              \
	"(SELECT COALESCE(SUM(h.count),0) FROM cluster_hourly h WHERE h.cluster_id=c.id"        \
	" AND h.hour > ?1 - 48 AND h.hour <= ?1 - 24)"

#define CLUSTER_COLUMNS                                                                         \
	"c.id, c.kind, c.title, c.basis, c.fingerprint, c.rule_id, c.template, c.max_level,"    \
	" c.count, (SELECT COUNT(*) FROM cluster_dims d WHERE d.cluster_id=c.id"                \
	" AND d.dim='system'), c.first_seen, c.last_seen, c.status, c.resolved_at,"            \
	" c.regressed_at, c.merged_into, c.split_from,"                                         \
	" (SELECT COALESCE(SUM(h.count),0) FROM cluster_hourly h WHERE h.cluster_id=c.id"       \
	"  AND h.hour > ?1 - 24 AND h.hour <= ?1) AS last24,"                                            \
	" (SELECT COALESCE(SUM(h.count),0) FROM cluster_hourly h WHERE h.cluster_id=c.id"       \
	"  AND h.hour > ?1 - 48 AND h.hour <= ?1 - 24) AS prev24, c.project_id"

const char *cluster_level_name(int rank)
{
	static const char *const names[] = { "debug", "info", "warning", "error", "fatal" };
	return names[rank < 0 ? 0 : rank > 4 ? 4 : rank];
}

static json_t *time_or_null(ac_sql_stmt *st, int i)
{
	char buf[40];
	if (ac_sql_column_type(st, i) == AC_SQL_NULL)
		return json_null();
	ac_format_iso8601(ac_sql_column_double(st, i), buf, sizeof buf);
	return json_string(buf);
}

static json_t *text_or_null(ac_sql_stmt *st, int i)
{
	const char *s = (const char *)ac_sql_column_text(st, i);
	return s ? json_string(s) : json_null();
}

static json_t *id_or_null(ac_sql_stmt *st, int i)
{
	return ac_sql_column_type(st, i) == AC_SQL_NULL ? json_null()
							  : json_integer(ac_sql_column_int64(st, i));
}

/* A row of CLUSTER_COLUMNS as the API's cluster object. */
static json_t *cluster_row(ac_sql_stmt *st)
{
	json_t *o = json_object();

	json_object_set_new(o, "id", json_integer(ac_sql_column_int64(st, 0)));
	json_object_set_new(o, "kind", text_or_null(st, 1));
	json_object_set_new(o, "title", text_or_null(st, 2));
	json_object_set_new(o, "basis", text_or_null(st, 3));
	json_object_set_new(o, "fingerprint", text_or_null(st, 4));
	json_object_set_new(o, "rule_id", text_or_null(st, 5));
	json_object_set_new(o, "template", text_or_null(st, 6));
	json_object_set_new(o, "level", json_string(cluster_level_name(ac_sql_column_int(st, 7))));
	json_object_set_new(o, "count", json_integer(ac_sql_column_int64(st, 8)));
	json_object_set_new(o, "systems", json_integer(ac_sql_column_int64(st, 9)));
	json_object_set_new(o, "first_seen", time_or_null(st, 10));
	json_object_set_new(o, "last_seen", time_or_null(st, 11));
	json_object_set_new(o, "status", text_or_null(st, 12));
	json_object_set_new(o, "resolved_at", time_or_null(st, 13));
	json_object_set_new(o, "regressed_at", time_or_null(st, 14));
	json_object_set_new(o, "merged_into", id_or_null(st, 15));
	json_object_set_new(o, "split_from", id_or_null(st, 16));
	json_object_set_new(o, "last_24h", json_integer(ac_sql_column_int64(st, 17)));
	json_object_set_new(o, "prev_24h", json_integer(ac_sql_column_int64(st, 18)));
	return o;
}

static long long now_hour(double now)
{
	return (long long)floor((now > 0 ? now : ac_now()) / 3600.0);
}

/* ---------------------------------------------------------------- list */

struct where {
	struct ac_buf sql;
	const char *binds[12];
	int n;                   /* text binds, numbered from ?2 */
};

static void where_text(struct where *w, const char *fmt, const char *val)
{
	if (!val || !*val)
		return;
	ac_buf_printf(&w->sql, fmt, w->n + 2);
	w->binds[w->n++] = val;
}

static int build_where(const struct cluster_query *q, struct where *w, char *like, size_t likelen,
		       struct ac_error *err)
{
	if (q->status && *q->status && strcmp(q->status, "all") && strcmp(q->status, "open") &&
	    strcmp(q->status, "resolved") && strcmp(q->status, "ignored"))
		return ac_error_set(err, AC_EINVAL, "invalid_status",
				    "status '%.40s' is not open, resolved, ignored or all", q->status);
	ac_buf_puts(&w->sql, " FROM clusters c WHERE c.merged_into IS NULL AND c.split=0");
	if (q->status && strcmp(q->status, "all"))
		where_text(w, " AND c.status=?%d", q->status);
	where_text(w, " AND c.kind=?%d", q->kind);
	where_text(w, " AND EXISTS(SELECT 1 FROM cluster_dims d WHERE d.cluster_id=c.id"
		      " AND d.dim='system' AND d.value=?%d)", q->system);
	where_text(w, " AND EXISTS(SELECT 1 FROM cluster_dims d WHERE d.cluster_id=c.id"
		      " AND d.dim='component' AND d.value=?%d)", q->component);
	where_text(w, " AND EXISTS(SELECT 1 FROM cluster_dims d WHERE d.cluster_id=c.id"
		      " AND d.dim='level' AND d.value=?%d)", q->level);
	if (q->q && *q->q) {
		snprintf(like, likelen, "%%%s%%", q->q);
		where_text(w, " AND (c.title LIKE ?%1$d OR c.template LIKE ?%1$d OR c.rule_id LIKE ?%1$d)",
			   like);
	}
	if (q->since > 0)
		ac_buf_printf(&w->sql, " AND c.last_seen >= %.6f", q->since);
	if (q->project >= 0)
		ac_buf_printf(&w->sql, " AND c.project_id = %lld", q->project);
	return 0;
}

static const char *order_by(const char *sort, struct ac_error *err)
{
	if (!sort || !*sort || !strcmp(sort, "count"))
		return " ORDER BY c.count DESC, c.id";
	if (!strcmp(sort, "last_seen"))
		return " ORDER BY c.last_seen DESC, c.id";
	/* the expressions, not their aliases: PostgreSQL orders by a bare alias only (SQLite
	 * substitutes the alias's expression anyway, so this costs it nothing) */
	if (!strcmp(sort, "trend"))
		return " ORDER BY " LAST24_SQL " - " PREV24_SQL " DESC, " LAST24_SQL " DESC,"
		       " c.count DESC, c.id";
	ac_error_set(err, AC_EINVAL, "invalid_sort", "sort '%.40s' is not count, last_seen or trend",
		     sort);
	return NULL;
}

static ac_sql_stmt *prepare_bound(ac_sql *db, const char *sql, const struct where *w,
				   long long hour, struct ac_error *err)
{
	ac_sql_stmt *st = NULL;

	if (ac_sql_prepare_v2(db, sql, -1, &st, NULL) != AC_SQL_OK) {
		ac_db_error(db, err, "querying clusters");
		return NULL;
	}
	ac_sql_bind_int64(st, 1, hour);
	for (int i = 0; i < w->n; i++)
		ac_sql_bind_text(st, i + 2, w->binds[i], -1, AC_SQL_STATIC);
	return st;
}

static int count_total(ac_sql *db, const struct where *w, long long hour, long long *total,
		       struct ac_error *err)
{
	struct ac_buf sql;
	ac_sql_stmt *st;
	int rc = 0;

	ac_buf_init(&sql, 8192);
	/* ?1 is unused here but keeps the numbering of the text binds */
	ac_buf_printf(&sql, "SELECT COUNT(*), ?1%s", w->sql.data);
	st = prepare_bound(db, sql.data, w, hour, err);
	if (!st)
		rc = AC_EDB;
	else if (ac_sql_step(st) == AC_SQL_ROW)
		*total = ac_sql_column_int64(st, 0);
	else
		rc = ac_db_error(db, err, "counting clusters");
	ac_sql_finalize(st);
	ac_buf_release(&sql);
	return rc;
}

int clusters_list(ac_sql *db, const struct cluster_query *q, json_t **out, struct ac_error *err)
{
	struct where w = { .n = 0 };
	struct ac_buf sql;
	ac_sql_stmt *st = NULL;
	const char *order;
	char like[600];
	unsigned limit = q->limit ? (q->limit > 500 ? 500 : q->limit) : 50;
	long long hour = now_hour(q->now), total = 0;
	json_t *list = json_array();
	int rc, step;

	ac_buf_init(&w.sql, 8192);
	ac_buf_init(&sql, 16384);
	if ((rc = build_where(q, &w, like, sizeof like, err)))
		goto out;
	if (!(order = order_by(q->sort, err))) {
		rc = AC_EINVAL;
		goto out;
	}
	if ((rc = count_total(db, &w, hour, &total, err)))
		goto out;
	ac_buf_printf(&sql, "SELECT " CLUSTER_COLUMNS "%s%s LIMIT %u OFFSET %u", w.sql.data, order,
		      limit, q->offset);
	if (!(st = prepare_bound(db, sql.data, &w, hour, err))) {
		rc = AC_EDB;
		goto out;
	}
	while ((step = ac_sql_step(st)) == AC_SQL_ROW)
		json_array_append_new(list, cluster_row(st));
	if (step != AC_SQL_DONE) {
		rc = ac_db_error(db, err, "querying clusters");
		goto out;
	}
	*out = json_pack("{s:O,s:I,s:o}", "clusters", list, "total", (json_int_t)total, "next_offset",
			 q->offset + json_array_size(list) < (unsigned long long)total
				 ? json_integer(q->offset + (json_int_t)json_array_size(list))
				 : json_null());
out:
	ac_sql_finalize(st);
	json_decref(list);
	ac_buf_release(&w.sql);
	ac_buf_release(&sql);
	return rc;
}

/* ---------------------------------------------------------------- detail */

static int add_dims(ac_sql *db, long long id, json_t *o, struct ac_error *err)
{
	ac_sql_stmt *st = NULL;
	json_t *dims = json_object();
	int step;

	json_object_set_new(o, "dims", dims);
	for (const char *const *d = (const char *const[]){ "system", "component", "release",
							   "environment", "level", NULL };
	     *d; d++)
		json_object_set_new(dims, *d, json_object());
	if (ac_sql_prepare_v2(db, "SELECT dim, value, count FROM cluster_dims WHERE cluster_id=?1"
				   " ORDER BY dim, count DESC, value", -1, &st, NULL) != AC_SQL_OK)
		return ac_db_error(db, err, "reading cluster breakdowns");
	ac_sql_bind_int64(st, 1, id);
	while ((step = ac_sql_step(st)) == AC_SQL_ROW) {
		json_t *d = json_object_get(dims, (const char *)ac_sql_column_text(st, 0));
		if (!d)
			json_object_set_new(dims, (const char *)ac_sql_column_text(st, 0), d = json_object());
		json_object_set_new(d, (const char *)ac_sql_column_text(st, 1),
				    json_integer(ac_sql_column_int64(st, 2)));
	}
	ac_sql_finalize(st);
	/* "reached from 3 callers": the callers of the crash site the error is grouped on */
	const json_t *callers = json_object_get(dims, "caller");
	if (json_object_size(callers) > 1)
		json_object_set_new(o, "reached_from", json_integer((json_int_t)json_object_size(callers)));
	return step == AC_SQL_DONE ? 0 : ac_db_error(db, err, "reading cluster breakdowns");
}

static int add_hourly(ac_sql *db, long long id, long long hour, json_t *o, struct ac_error *err)
{
	ac_sql_stmt *st = NULL;
	json_t *series = json_array();
	char buf[40];
	int step;

	json_object_set_new(o, "hourly", series);
	if (ac_sql_prepare_v2(db, "SELECT hour, count FROM cluster_hourly WHERE cluster_id=?1"
				   " AND hour > ?2 - 168 AND hour <= ?2 ORDER BY hour", -1, &st,
			       NULL) != AC_SQL_OK)
		return ac_db_error(db, err, "reading a cluster's series");
	ac_sql_bind_int64(st, 1, id);
	ac_sql_bind_int64(st, 2, hour);
	while ((step = ac_sql_step(st)) == AC_SQL_ROW) {
		ac_format_iso8601((double)ac_sql_column_int64(st, 0) * 3600.0, buf, sizeof buf);
		json_array_append_new(series, json_pack("{s:s,s:I}", "hour", buf, "count",
							(json_int_t)ac_sql_column_int64(st, 1)));
	}
	ac_sql_finalize(st);
	return step == AC_SQL_DONE ? 0 : ac_db_error(db, err, "reading a cluster's series");
}

static int add_events(ac_sql *db, long long id, unsigned n, json_t *o, struct ac_error *err)
{
	ac_sql_stmt *st = NULL;
	json_t *events = json_array(), *grouping = json_null();
	json_error_t je;
	int step;

	if (ac_sql_prepare_v2(db, "SELECT e.id, e.raw, g.basis, g.key, g.template_id, g.rule_id,"
				   " g.captures, g.explanation FROM events e"
				   " LEFT JOIN event_grouping g ON g.event=e.id"
				   " WHERE e.cluster_id=?1 ORDER BY e.id DESC LIMIT ?2",
			       -1, &st, NULL) != AC_SQL_OK) {
		json_decref(events);
		return ac_db_error(db, err, "reading a cluster's events");
	}
	ac_sql_bind_int64(st, 1, id);
	ac_sql_bind_int64(st, 2, n);
	while ((step = ac_sql_step(st)) == AC_SQL_ROW) {
		json_t *ev = json_loads((const char *)ac_sql_column_text(st, 1), 0, &je);
		if (!ev)
			ev = json_object();
		json_object_set_new(ev, "id", json_integer(ac_sql_column_int64(st, 0)));
		json_object_set_new(ev, "cluster_id", json_integer(id));
		json_object_set_new(ev, "explanation", text_or_null(st, 7));
		if (json_is_null(grouping)) {
			json_t *caps = ac_sql_column_type(st, 6) == AC_SQL_NULL
					       ? json_null()
					       : json_loads((const char *)ac_sql_column_text(st, 6), 0, &je);
			grouping = json_pack("{s:o,s:o,s:o,s:o,s:o,s:o}", "basis", text_or_null(st, 2),
					     "key", text_or_null(st, 3), "template_id", id_or_null(st, 4),
					     "rule_id", text_or_null(st, 5), "captures",
					     caps ? caps : json_null(), "explanation", text_or_null(st, 7));
		}
		json_array_append_new(events, ev);
	}
	ac_sql_finalize(st);
	json_object_set_new(o, "events", events);
	json_object_set_new(o, "grouping", grouping);
	return step == AC_SQL_DONE ? 0 : ac_db_error(db, err, "reading a cluster's events");
}

static int add_children(ac_sql *db, long long id, json_t *o, struct ac_error *err)
{
	ac_sql_stmt *st = NULL;
	json_t *kids = json_array();
	int step;

	json_object_set_new(o, "children", kids);
	if (ac_sql_prepare_v2(db, "SELECT id FROM clusters WHERE split_from=?1 ORDER BY id", -1, &st,
			       NULL) != AC_SQL_OK)
		return ac_db_error(db, err, "reading a cluster's children");
	ac_sql_bind_int64(st, 1, id);
	while ((step = ac_sql_step(st)) == AC_SQL_ROW)
		json_array_append_new(kids, json_integer(ac_sql_column_int64(st, 0)));
	ac_sql_finalize(st);
	return step == AC_SQL_DONE ? 0 : ac_db_error(db, err, "reading a cluster's children");
}

static json_t *rule_of(const struct rules *rules, const char *id)
{
	const struct rule *r = rules && id ? rules_find(rules, id) : NULL;
	if (r)
		return rule_json(r);
	return id ? json_pack("{s:s}", "id", id) : json_null();
}

int cluster_detail(ac_sql *db, const struct rules *rules, long long id, long long project,
		   double now, unsigned events, json_t **out, struct ac_error *err)
{
	ac_sql_stmt *st = NULL;
	long long hour = now_hour(now);
	json_t *o = NULL;
	int rc = 0, step;

	if (ac_sql_prepare_v2(db, "SELECT " CLUSTER_COLUMNS " FROM clusters c WHERE c.id=?2", -1,
			       &st, NULL) != AC_SQL_OK)
		return ac_db_error(db, err, "reading a cluster");
	ac_sql_bind_int64(st, 1, hour);
	ac_sql_bind_int64(st, 2, id);
	step = ac_sql_step(st);
	if (step == AC_SQL_ROW && (project < 0 || ac_sql_column_int64(st, 19) == project)) {
		o = cluster_row(st);
		json_object_set_new(o, "rule", rule_of(rules, (const char *)ac_sql_column_text(st, 5)));
	} else if (step == AC_SQL_ROW || step == AC_SQL_DONE) {
		rc = ac_error_set(err, AC_ENOTFOUND, "not_found", "no cluster %lld", id);
	} else {
		rc = ac_db_error(db, err, "reading a cluster");
	}
	ac_sql_finalize(st);
	if (rc)
		return rc;
	if ((rc = add_dims(db, id, o, err)) || (rc = add_hourly(db, id, hour, o, err)) ||
	    (rc = add_events(db, id, events ? events : 10, o, err)) ||
	    (rc = add_children(db, id, o, err))) {
		json_decref(o);
		return rc;
	}
	*out = o;
	return 0;
}

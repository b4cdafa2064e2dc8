/*
 * cluster_ops.c — what users do to clusters: status changes, merge, unmerge and split. See
 * analyzer.h.
 *
 * Each operation is one transaction on the analyzer's connection, under the analyzer's lock,
 * so it never interleaves with a batch of new events. A merge moves stored aggregates (counts,
 * breakdowns, series) in SQL instead of recounting events; a split re-applies the cluster's
 * events through cl_apply() with their stored grouping keys, which the split flag now routes
 * to child clusters. An unmerge does the same for the survivor's events: their stored keys find
 * the unmerged cluster again.
 */
#include "core/common.h"
#include "core/db.h"
#include "analyzer/cluster_int.h"

/* A cluster a user may act on: exists in the project, not merged away, not split. */
static int live_cluster(struct analyzer *a, long long id, long long project, char *status,
			struct ac_error *err)
{
	long long merged = 0, owner = 0;
	bool split = false;
	int rc = cl_cluster_row(a, id, &merged, &split, &owner, status, 16, err);

	if (rc)
		return rc;
	if (project >= 0 && owner != project)
		return ac_error_set(err, AC_ENOTFOUND, "not_found", "no cluster %lld", id);
	if (merged)
		return ac_error_set(err, AC_EINVAL, "merged",
				    "cluster %lld was merged into cluster %lld; use that one", id, merged);
	if (split)
		return ac_error_set(err, AC_EINVAL, "split",
				    "cluster %lld was split; act on its children (clusters with split_from=%lld)",
				    id, id);
	return 0;
}

int analyzer_set_status(struct analyzer *a, long long id, long long project, const char *status,
			struct ac_error *err)
{
	sqlite3_stmt *st = NULL;
	char old[16];
	int rc;

	if (!status || (strcmp(status, "open") && strcmp(status, "resolved") && strcmp(status, "ignored")))
		return ac_error_set(err, AC_EINVAL, "invalid_status",
				    "status must be \"open\", \"resolved\" or \"ignored\"");
	pthread_mutex_lock(&a->lock);
	if ((rc = live_cluster(a, id, project, old, err)) || (rc = cl_begin(a, err)))
		goto out;
	if (sqlite3_prepare_v2(a->db,
			       "UPDATE clusters SET status=?2,"
			       " resolved_at=CASE WHEN ?2='resolved' THEN ?3 ELSE NULL END,"
			       " updated_at=?3 WHERE id=?1",
			       -1, &st, NULL) != SQLITE_OK) {
		rc = ac_db_error(a->db, err, "changing a cluster's status");
		goto out;
	}
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2, status, -1, SQLITE_STATIC);
	sqlite3_bind_double(st, 3, ac_now());
	if (sqlite3_step(st) != SQLITE_DONE) {
		rc = ac_db_error(a->db, err, "changing a cluster's status");
		goto out;
	}
	rc = cl_commit(a, err);
out:
	sqlite3_finalize(st);
	cl_rollback(a);
	pthread_mutex_unlock(&a->lock);
	return rc;
}

/* Run one statement with ?1 = into and ?2 = from. */
static int exec2(struct analyzer *a, const char *sql, long long into, long long from,
		 struct ac_error *err)
{
	sqlite3_stmt *st = NULL;
	int rc = 0;

	if (sqlite3_prepare_v2(a->db, sql, -1, &st, NULL) != SQLITE_OK)
		return ac_db_error(a->db, err, "merging clusters");
	sqlite3_bind_int64(st, 1, into);
	sqlite3_bind_int64(st, 2, from);
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = ac_db_error(a->db, err, "merging clusters");
	sqlite3_finalize(st);
	return rc;
}

int cl_merge_rows(struct analyzer *a, long long into, long long from, struct ac_error *err)
{
	static const char *const steps[] = {
		"UPDATE events SET cluster_id=?1 WHERE cluster_id=?2",
		"UPDATE event_grouping SET cluster_id=?1, explanation=explanation ||"
		" '; cluster ' || ?2 || ' was merged into cluster ' || ?1 WHERE cluster_id=?2",
		"INSERT INTO cluster_dims(cluster_id, dim, value, count)"
		" SELECT ?1, dim, value, count FROM cluster_dims WHERE cluster_id=?2 AND true"
		" ON CONFLICT(cluster_id, dim, value) DO UPDATE SET count=count+excluded.count",
		"DELETE FROM cluster_dims WHERE cluster_id=?2",
		"INSERT INTO cluster_hourly(cluster_id, hour, count)"
		" SELECT ?1, hour, count FROM cluster_hourly WHERE cluster_id=?2 AND true"
		" ON CONFLICT(cluster_id, hour) DO UPDATE SET count=count+excluded.count",
		"DELETE FROM cluster_hourly WHERE cluster_id=?2",
		"UPDATE clusters SET (count, first_seen, last_seen, max_level, rule_id) ="
		" (SELECT a.count+b.count, MIN(COALESCE(a.first_seen,b.first_seen),"
		"   COALESCE(b.first_seen,a.first_seen)), MAX(COALESCE(a.last_seen,b.last_seen),"
		"   COALESCE(b.last_seen,a.last_seen)), MAX(a.max_level,b.max_level),"
		"   COALESCE(a.rule_id,b.rule_id)"
		"  FROM clusters a, clusters b WHERE a.id=?1 AND b.id=?2),"
		" updated_at=CAST(strftime('%s','now') AS REAL) WHERE id=?1",
		"UPDATE clusters SET count=0, first_seen=NULL, last_seen=NULL, merged_into=?1,"
		" updated_at=CAST(strftime('%s','now') AS REAL) WHERE id=?2",
		"UPDATE clusters SET merged_into=?1 WHERE merged_into=?2",
	};
	int rc;

	for (size_t i = 0; i < AC_ARRAY_SIZE(steps); i++)
		if ((rc = exec2(a, steps[i], into, from, err)))
			return rc;
	return 0;
}

int analyzer_merge(struct analyzer *a, long long into, const long long *from, size_t n,
		   long long project, struct ac_error *err)
{
	char status[16];
	int rc = 0;

	if (n == 0)
		return ac_error_set(err, AC_EINVAL, "invalid_merge", "\"from\" lists no clusters");
	for (size_t i = 0; i < n; i++) {
		if (from[i] == into)
			return ac_error_set(err, AC_EINVAL, "invalid_merge",
					    "cannot merge cluster %lld into itself", into);
		for (size_t j = 0; j < i; j++)
			if (from[j] == from[i])
				return ac_error_set(err, AC_EINVAL, "invalid_merge",
						    "cluster %lld is listed twice in \"from\"", from[i]);
	}
	pthread_mutex_lock(&a->lock);
	if ((rc = live_cluster(a, into, project, status, err)))
		goto out;
	for (size_t i = 0; i < n; i++)
		if ((rc = live_cluster(a, from[i], project, status, err)))
			goto out;
	if ((rc = cl_begin(a, err)))
		goto out;
	for (size_t i = 0; i < n && !rc; i++)
		rc = cl_merge_rows(a, into, from[i], err);
	if (!rc)
		rc = cl_commit(a, err);
out:
	cl_rollback(a);
	pthread_mutex_unlock(&a->lock);
	return rc;
}

/* ---------------------------------------------------------------- split */

struct member {
	long long event, project;
	double ts, received;
	int level;
	char *kind, *dim[CL_DIMS], *basis, *key, *rule_id, *captures, *explanation;
	long template_id;
	json_t *ev;
};

static void member_release(struct member *m)
{
	free(m->kind);
	for (int i = 0; i < CL_DIMS; i++)
		free(m->dim[i]);
	free(m->basis);
	free(m->key);
	free(m->rule_id);
	free(m->captures);
	free(m->explanation);
	json_decref(m->ev);
}

static char *col_dup(sqlite3_stmt *st, int i)
{
	const unsigned char *s = sqlite3_column_text(st, i);
	return s ? strdup((const char *)s) : NULL;
}

/* The base explanation without the notes a merge or split appended. */
static char *base_explanation(const char *s)
{
	const char *cut = s ? strstr(s, "; cluster ") : NULL;
	return s ? strndup(s, cut ? (size_t)(cut - s) : strlen(s)) : strdup("");
}

/* Read the events of cluster id with their stored groupings, in event order. */
static int load_members(struct analyzer *a, long long id, struct member **out, size_t *n,
			struct ac_error *err)
{
	static const char sql[] =
		"SELECT e.id, COALESCE(e.project_id,0), e.timestamp, e.received_at, e.level, e.kind,"
		" e.system, e.component, e.release, e.environment, e.raw, g.basis, g.key,"
		" g.template_id, g.rule_id, g.captures, g.explanation"
		" FROM events e JOIN event_grouping g ON g.event=e.id WHERE e.cluster_id=?1"
		" ORDER BY e.id";
	sqlite3_stmt *st = NULL;
	struct member *v = NULL, *m;
	size_t len = 0, cap = 0;
	json_error_t je;
	int rc = 0, step;

	if (sqlite3_prepare_v2(a->db, sql, -1, &st, NULL) != SQLITE_OK)
		return ac_db_error(a->db, err, "reading a cluster's events");
	sqlite3_bind_int64(st, 1, id);
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		if (len == cap) {
			struct member *nv = realloc(v, (cap = cap ? 2 * cap : 64) * sizeof *v);
			if (!nv) {
				rc = ac_error_set(err, AC_ENOMEM, "internal", "out of memory");
				break;
			}
			v = nv;
		}
		m = &v[len++];
		memset(m, 0, sizeof *m);
		m->event = sqlite3_column_int64(st, 0);
		m->project = sqlite3_column_int64(st, 1);
		m->ts = sqlite3_column_double(st, 2);
		m->received = sqlite3_column_double(st, 3);
		m->level = cl_level_rank((const char *)sqlite3_column_text(st, 4));
		m->kind = col_dup(st, 5);
		for (int i = 0; i < 4; i++)
			m->dim[i] = col_dup(st, 6 + i);
		m->dim[4] = col_dup(st, 4);
		m->ev = json_loads((const char *)sqlite3_column_text(st, 10), 0, &je);
		if (!m->ev)
			m->ev = json_object();
		m->basis = col_dup(st, 11);
		m->key = col_dup(st, 12);
		m->template_id = (long)sqlite3_column_int64(st, 13);
		m->rule_id = col_dup(st, 14);
		m->captures = col_dup(st, 15);
		m->explanation = base_explanation((const char *)sqlite3_column_text(st, 16));
	}
	if (!rc && step != SQLITE_DONE)
		rc = ac_db_error(a->db, err, "reading a cluster's events");
	sqlite3_finalize(st);
	*out = v;
	*n = len;
	return rc;
}

static int distinct_strict_keys(struct analyzer *a, struct member *v, size_t n, size_t *distinct)
{
	char (*keys)[17] = calloc(n ? n : 1, sizeof *keys);
	size_t d = 0;

	if (!keys)
		return AC_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		char *title = cl_strict_key(a, v[i].ev, keys[d]);
		bool seen = false;
		if (!title) {
			free(keys);
			return AC_ENOMEM;
		}
		free(title);
		for (size_t j = 0; j < d && !seen; j++)
			seen = !strcmp(keys[j], keys[d]);
		if (!seen)
			d++;
	}
	free(keys);
	*distinct = d;
	return 0;
}

static int add_child(long long **ids, size_t *n, long long id)
{
	long long *nv;
	for (size_t i = 0; i < *n; i++)
		if ((*ids)[i] == id)
			return 0;
	nv = realloc(*ids, (*n + 1) * sizeof *nv);
	if (!nv)
		return AC_ENOMEM;
	*ids = nv;
	(*ids)[(*n)++] = id;
	return 0;
}

static int cmp_ll(const void *x, const void *y)
{
	long long a = *(const long long *)x, b = *(const long long *)y;
	return (a > b) - (a < b);
}

static int reapply_members(struct analyzer *a, struct member *v, size_t n, long long **children,
			   size_t *nchildren, struct ac_error *err)
{
	for (size_t i = 0; i < n; i++) {
		struct grouping g = {
			.event = v[i].event, .project = v[i].project, .ts = v[i].ts,
			.received = v[i].received, .level = v[i].level, .kind = v[i].kind,
			.ev = v[i].ev, .basis = v[i].basis, .template_id = v[i].template_id,
			.rule_id = v[i].rule_id, .captures = v[i].captures,
			.explanation = v[i].explanation,
		};
		long long cluster = 0;
		int rc;

		memcpy(g.dim, v[i].dim, sizeof g.dim);
		snprintf(g.key, sizeof g.key, "%s", v[i].key ? v[i].key : "");
		if ((rc = cl_apply(a, &g, &cluster, err)))
			return rc;
		if (add_child(children, nchildren, cluster))
			return ac_error_set(err, AC_ENOMEM, "internal", "out of memory");
	}
	return 0;
}

int analyzer_split(struct analyzer *a, long long id, long long project, long long **children,
		   size_t *nchildren, struct ac_error *err)
{
	struct member *v = NULL;
	size_t n = 0, distinct = 0;
	char status[16];
	int rc;

	*children = NULL;
	*nchildren = 0;
	pthread_mutex_lock(&a->lock);
	if ((rc = live_cluster(a, id, project, status, err)) || (rc = cl_begin(a, err)))
		goto out;
	if ((rc = load_members(a, id, &v, &n, err)))
		goto out;
	if ((rc = distinct_strict_keys(a, v, n, &distinct))) {
		ac_error_set(err, rc, "internal", "out of memory");
		goto out;
	}
	if (distinct < 2) {
		rc = ac_error_set(err, AC_EINVAL, "nothing_to_split",
				  "cluster %lld cannot be split: its %zu event%s the same masked message and frames",
				  id, n, n == 1 ? " has" : "s share");
		goto out;
	}
	if ((rc = exec2(a, "UPDATE clusters SET split=1, count=0, first_seen=NULL, last_seen=NULL"
			   " WHERE id=?1", id, 0, err)) ||
	    (rc = exec2(a, "DELETE FROM cluster_dims WHERE cluster_id=?1", id, 0, err)) ||
	    (rc = exec2(a, "DELETE FROM cluster_hourly WHERE cluster_id=?1", id, 0, err)))
		goto out;
	if ((rc = reapply_members(a, v, n, children, nchildren, err)))
		goto out;
	rc = cl_commit(a, err);
	if (!rc)
		qsort(*children, *nchildren, sizeof **children, cmp_ll);
out:
	cl_rollback(a);
	pthread_mutex_unlock(&a->lock);
	for (size_t i = 0; i < n; i++)
		member_release(&v[i]);
	free(v);
	if (rc) {
		free(*children);
		*children = NULL;
		*nchildren = 0;
	}
	return rc;
}

/* ---------------------------------------------------------------- unmerge */

int analyzer_unmerge(struct analyzer *a, long long id, long long project, long long *into_out,
		     struct ac_error *err)
{
	struct member *v = NULL;
	long long into = 0, owner = 0;
	size_t n = 0, nchildren = 0;
	long long *children = NULL;
	char status[16];
	bool split = false;
	int rc;

	pthread_mutex_lock(&a->lock);
	if ((rc = cl_cluster_row(a, id, &into, &split, &owner, status, sizeof status, err)))
		goto out;
	if (project >= 0 && owner != project) {
		rc = ac_error_set(err, AC_ENOTFOUND, "not_found", "no cluster %lld", id);
		goto out;
	}
	if (!into) {
		rc = ac_error_set(err, AC_EINVAL, "not_merged", "cluster %lld is not merged into another", id);
		goto out;
	}
	/* the cluster it went to must be live: merges re-point earlier merges at the survivor */
	if ((rc = live_cluster(a, into, project, status, err)) || (rc = cl_begin(a, err)))
		goto out;
	if ((rc = load_members(a, into, &v, &n, err)))
		goto out;
	/* both start from zero; the survivor's events are applied again with their own keys,
	 * which now find the unmerged cluster again: events, counts, breakdowns and history
	 * return to it */
	if ((rc = exec2(a, "UPDATE clusters SET merged_into=NULL, updated_at=CAST(strftime('%s','now') AS REAL)"
			   " WHERE id=?2", into, id, err)) ||
	    (rc = exec2(a, "UPDATE clusters SET count=0, first_seen=NULL, last_seen=NULL, max_level=0"
			   " WHERE id IN (?1, ?2)", into, id, err)) ||
	    (rc = exec2(a, "DELETE FROM cluster_dims WHERE cluster_id IN (?1, ?2)", into, id, err)) ||
	    (rc = exec2(a, "DELETE FROM cluster_hourly WHERE cluster_id IN (?1, ?2)", into, id, err)))
		goto out;
	if ((rc = reapply_members(a, v, n, &children, &nchildren, err)))
		goto out;
	rc = cl_commit(a, err);
	if (!rc && into_out)
		*into_out = into;
out:
	cl_rollback(a);
	pthread_mutex_unlock(&a->lock);
	for (size_t i = 0; i < n; i++)
		member_release(&v[i]);
	free(v);
	free(children);
	return rc;
}

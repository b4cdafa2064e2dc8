/*
 * cluster_ops.c — what users do to clusters: status changes, merge, unmerge and split. See
 * analyzer.h.
 *
 * Each operation runs under the analyzer's lock, so it never interleaves with a batch of new
 * events, as a few transactions: a small first one, then chunks of events (see "chunked
 * operations" below: the write lock is released between chunks, and an interrupted operation
 * is resumed from a journal). A merge moves stored aggregates (counts,
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
	ac_sql_stmt *st = NULL;
	char old[16];
	int rc;

	if (!status || (strcmp(status, "open") && strcmp(status, "resolved") && strcmp(status, "ignored")))
		return ac_error_set(err, AC_EINVAL, "invalid_status",
				    "status must be \"open\", \"resolved\" or \"ignored\"");
	pthread_mutex_lock(&a->lock);
	if ((rc = live_cluster(a, id, project, old, err)) || (rc = cl_begin(a, err)))
		goto out;
	if (ac_sql_prepare_v2(a->db,
			       "UPDATE clusters SET status=?2,"
			       " resolved_at=CASE WHEN ?2='resolved' THEN ?3 ELSE NULL END,"
			       " updated_at=?3 WHERE id=?1",
			       -1, &st, NULL) != AC_SQL_OK) {
		rc = ac_db_error(a->db, err, "changing a cluster's status");
		goto out;
	}
	ac_sql_bind_int64(st, 1, id);
	ac_sql_bind_text(st, 2, status, -1, AC_SQL_STATIC);
	ac_sql_bind_double(st, 3, ac_now());
	if (ac_sql_step(st) != AC_SQL_DONE) {
		rc = ac_db_error(a->db, err, "changing a cluster's status");
		goto out;
	}
	rc = cl_commit(a, err);
out:
	ac_sql_finalize(st);
	cl_rollback(a);
	pthread_mutex_unlock(&a->lock);
	return rc;
}

/* Run one statement with ?1 = into and ?2 = from. */
static int exec2(struct analyzer *a, const char *sql, long long into, long long from,
		 struct ac_error *err)
{
	ac_sql_stmt *st = NULL;
	int rc = 0;

	if (ac_sql_prepare_v2(a->db, sql, -1, &st, NULL) != AC_SQL_OK)
		return ac_db_error(a->db, err, "merging clusters");
	ac_sql_bind_int64(st, 1, into);
	ac_sql_bind_int64(st, 2, from);
	if (ac_sql_step(st) != AC_SQL_DONE)
		rc = ac_db_error(a->db, err, "merging clusters");
	ac_sql_finalize(st);
	return rc;
}

/* Aggregates and routing of a merge: counts, first/last seen, breakdowns, series and
 * merged_into move from `from` to `into` in one small statement list (their size does not
 * grow with the number of events). The events' rows follow in chunks (merge_event_chunk). */
static int merge_aggregates(struct analyzer *a, long long into, long long from,
			    struct ac_error *err)
{
	static const char *const steps[] = {
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
		("UPDATE clusters SET count=0, first_seen=NULL, last_seen=NULL, merged_into=?1,"
		 " updated_at=CAST(strftime('%s','now') AS REAL) WHERE id=?2"),
		"UPDATE clusters SET merged_into=?1 WHERE merged_into=?2",
	};
	int rc;

	for (size_t i = 0; i < AC_ARRAY_SIZE(steps); i++)
		if ((rc = exec2(a, steps[i], into, from, err)))
			return rc;
	return 0;
}

/* Re-point up to cl_chunk_rows events of `from` (and their grouping rows) at `into`. *moved
 * receives how many events moved. Inside a transaction. */
static int merge_event_chunk(struct analyzer *a, long long into, long long from, size_t *moved,
			     struct ac_error *err)
{
	static const char *const steps[] = {
		"UPDATE event_grouping SET cluster_id=?1, explanation=explanation ||"
		" '; cluster ' || ?2 || ' was merged into cluster ' || ?1 WHERE event IN"
		" (SELECT id FROM events WHERE cluster_id=?2 ORDER BY id LIMIT ?3)",
		"UPDATE events SET cluster_id=?1 WHERE id IN"
		" (SELECT id FROM events WHERE cluster_id=?2 ORDER BY id LIMIT ?3)",
	};
	ac_sql_stmt *st = NULL;
	int rc = 0;

	*moved = 0;
	for (size_t i = 0; i < AC_ARRAY_SIZE(steps) && !rc; i++) {
		if (ac_sql_prepare_v2(a->db, steps[i], -1, &st, NULL) != AC_SQL_OK)
			return ac_db_error(a->db, err, "merging clusters");
		ac_sql_bind_int64(st, 1, into);
		ac_sql_bind_int64(st, 2, from);
		ac_sql_bind_int64(st, 3, (ac_sql_int64)cl_chunk_rows);
		if (ac_sql_step(st) != AC_SQL_DONE)
			rc = ac_db_error(a->db, err, "merging clusters");
		else if (i == 1)
			*moved = (size_t)ac_sql_changes(a->db);
		ac_sql_finalize(st);
	}
	return rc;
}

int cl_merge_rows(struct analyzer *a, long long into, long long from, struct ac_error *err)
{
	size_t moved;
	int rc;

	if ((rc = merge_aggregates(a, into, from, err)))
		return rc;
	do
		rc = merge_event_chunk(a, into, from, &moved, err);
	while (!rc && moved);
	return rc;
}

/* ---------------------------------------------------------------- chunked operations
 *
 * A merge, split or unmerge of a big cluster must not hold SQLite's write lock for seconds:
 * the collector's writer commits new events on the same file. Each operation therefore runs
 * as a first small transaction (checks, aggregates, and a journal entry in analyzer_state
 * under the key "cluster_op"), then chunks of cl_chunk_rows events, each its own transaction,
 * then a last transaction that drops the journal entry. Between chunks the write lock is
 * released (and the thread pauses about as long as the chunk took) so the writer gets in.
 * The analyzer's mutex stays held throughout, so no new event is clustered meanwhile; new
 * events are stored and wait for the analyzer, then are counted into the final clusters.
 *
 * A crash or error midway leaves a RESUMABLE state; analyzer_open() (and every later
 * operation) finishes it from the journal before doing anything else:
 *  - merge "merge INTO FROM": counts, first/last seen, series and breakdowns moved in the
 *    first transaction, so they are final at once (never counted twice nor lost); only events
 *    still carrying cluster_id=FROM are left to re-point. A merged cluster's events are
 *    pending moves to its survivor.
 *  - split "split ID 0 AFTER": the cluster was marked split and zeroed in the first transaction; each
 *    chunk re-applies events still carrying cluster_id=ID to the children. An event is counted
 *    in a child exactly when its row has moved (same transaction), never twice; events not yet
 *    moved are counted nowhere until the operation is finished.
 *  - unmerge "unmerge INTO ID AFTER": both clusters were zeroed and ID made live in the first
 *    transaction; each chunk re-applies the survivor's events with id > AFTER and stores the
 *    new AFTER in the same transaction, so each event is counted exactly once.
 */
#define CL_OP_KEY "cluster_op"

size_t cl_chunk_rows = 2000;

void analyzer_set_chunk_rows(size_t rows)
{
	cl_chunk_rows = rows ? rows : 2000;
}

static double mono_now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Commit a chunk and let other writers in: pause as long as the chunk held the lock (at
 * least 2 ms, at most 200 ms), so the write lock is free about half the time. */
static int chunk_commit(struct analyzer *a, double started, struct ac_error *err)
{
	int rc = cl_commit(a, err);
	double held = mono_now() - started;

	if (rc)
		return rc;
	if (held < 0.002)
		held = 0.002;
	if (held > 0.2)
		held = 0.2;
	struct timespec ts = { (time_t)held, (long)((held - (double)(time_t)held) * 1e9) };
	nanosleep(&ts, NULL);
	return 0;
}

static int op_journal(struct analyzer *a, const char *text, struct ac_error *err)
{
	if (!text)
		return exec2(a, "DELETE FROM analyzer_state WHERE key='" CL_OP_KEY "'", 0, 0, err);
	return cl_state_set(a, CL_OP_KEY, text, err);
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

static char *col_dup(ac_sql_stmt *st, int i)
{
	const unsigned char *s = ac_sql_column_text(st, i);
	return s ? strdup((const char *)s) : NULL;
}

/* The base explanation without the notes a merge or split appended. */
static char *base_explanation(const char *s)
{
	const char *cut = s ? strstr(s, "; cluster ") : NULL;
	return s ? strndup(s, cut ? (size_t)(cut - s) : strlen(s)) : strdup("");
}

/* Read the events of cluster id with their stored groupings, in event order. */
/* Load at most cl_chunk_rows events of cluster id with event id > after, in id order. */
static int load_members(struct analyzer *a, long long id, long long after, struct member **out,
			size_t *n, struct ac_error *err)
{
	static const char sql[] =
		"SELECT e.id, COALESCE(e.project_id,0), e.timestamp, e.received_at, e.level, e.kind,"
		" e.system, e.component, e.release, e.environment, e.raw, g.basis, g.key,"
		" g.template_id, g.rule_id, g.captures, g.explanation"
		" FROM events e JOIN event_grouping g ON g.event=e.id WHERE e.cluster_id=?1"
		" AND e.id>?2 ORDER BY e.id LIMIT ?3";
	ac_sql_stmt *st = NULL;
	struct member *v = NULL, *m;
	size_t len = 0, cap = 0;
	json_error_t je;
	int rc = 0, step;

	if (ac_sql_prepare_v2(a->db, sql, -1, &st, NULL) != AC_SQL_OK)
		return ac_db_error(a->db, err, "reading a cluster's events");
	ac_sql_bind_int64(st, 1, id);
	ac_sql_bind_int64(st, 2, after);
	ac_sql_bind_int64(st, 3, (ac_sql_int64)cl_chunk_rows);
	while ((step = ac_sql_step(st)) == AC_SQL_ROW) {
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
		m->event = ac_sql_column_int64(st, 0);
		m->project = ac_sql_column_int64(st, 1);
		m->ts = ac_sql_column_double(st, 2);
		m->received = ac_sql_column_double(st, 3);
		m->level = cl_level_rank((const char *)ac_sql_column_text(st, 4));
		m->kind = col_dup(st, 5);
		for (int i = 0; i < 4; i++)
			m->dim[i] = col_dup(st, 6 + i);
		m->dim[4] = col_dup(st, 4);
		m->ev = json_loads((const char *)ac_sql_column_text(st, 10), 0, &je);
		if (!m->ev)
			m->ev = json_object();
		m->basis = col_dup(st, 11);
		m->key = col_dup(st, 12);
		m->template_id = (long)ac_sql_column_int64(st, 13);
		m->rule_id = col_dup(st, 14);
		m->captures = col_dup(st, 15);
		m->explanation = base_explanation((const char *)ac_sql_column_text(st, 16));
	}
	if (!rc && step != AC_SQL_DONE)
		rc = ac_db_error(a->db, err, "reading a cluster's events");
	ac_sql_finalize(st);
	*out = v;
	*n = len;
	return rc;
}

static void members_free(struct member *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		member_release(&v[i]);
	free(v);
}

/* Whether cluster id's events have at least two stricter keys, read chunk by chunk (a read
 * transaction per chunk does not block writers). */
static int has_two_strict_keys(struct analyzer *a, long long id, bool *two, size_t *total,
			       struct ac_error *err)
{
	char first[17] = "", key[17];
	long long after = 0;
	int rc = 0;

	*two = false;
	*total = 0;
	for (;;) {
		struct member *v = NULL;
		size_t n = 0;
		if ((rc = load_members(a, id, after, &v, &n, err)) || n == 0) {
			members_free(v, n);
			return rc;
		}
		*total += n;
		for (size_t i = 0; i < n && !*two; i++) {
			char *title = cl_strict_key(a, v[i].ev, key);
			if (!title) {
				members_free(v, n);
				return ac_error_set(err, AC_ENOMEM, "internal", "out of memory");
			}
			free(title);
			if (!first[0])
				memcpy(first, key, sizeof key);
			else if (strcmp(first, key))
				*two = true;
		}
		after = v[n - 1].event;
		members_free(v, n);
		if (*two)
			return 0;
	}
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

/* Re-apply cluster id's events with event id > after, chunk by chunk; `journal` (a printf
 * format taking the new `after`) is stored in each chunk's transaction. Not in a
 * transaction; drops the journal entry at the end. */
static int reapply_chunks(struct analyzer *a, long long id, long long after, const char *what,
			  long long other, long long **children, size_t *nchildren,
			  struct ac_error *err)
{
	int rc = 0;

	for (;;) {
		struct member *v = NULL;
		size_t n = 0;
		double t0 = mono_now();
		char text[96];

		if ((rc = cl_begin(a, err)) || (rc = load_members(a, id, after, &v, &n, err)))
			break;
		if (n == 0) {
			if (!(rc = op_journal(a, NULL, err)))
				rc = cl_commit(a, err);
			break;
		}
		after = v[n - 1].event;
		snprintf(text, sizeof text, "%s %lld %lld %lld", what, id, other, after);
		rc = reapply_members(a, v, n, children, nchildren, err);
		members_free(v, n);
		if (rc || (rc = op_journal(a, text, err)) || (rc = chunk_commit(a, t0, err)))
			break;
	}
	cl_rollback(a);
	return rc;
}

/* Merge: re-point the events of every cluster merged into `into` that still carry their
 * own id, chunk by chunk, then drop the journal entry. Not in a transaction. */
static int merge_finish(struct analyzer *a, long long into, struct ac_error *err)
{
	ac_sql_stmt *st = NULL;
	long long *ids = NULL;
	size_t n = 0;
	int rc = 0, step;

	if (ac_sql_prepare_v2(a->db, "SELECT id FROM clusters WHERE merged_into=?1", -1, &st,
			       NULL) != AC_SQL_OK)
		return ac_db_error(a->db, err, "merging clusters");
	ac_sql_bind_int64(st, 1, into);
	while ((step = ac_sql_step(st)) == AC_SQL_ROW)
		if (add_child(&ids, &n, ac_sql_column_int64(st, 0))) {
			rc = ac_error_set(err, AC_ENOMEM, "internal", "out of memory");
			break;
		}
	if (!rc && step != AC_SQL_DONE)
		rc = ac_db_error(a->db, err, "merging clusters");
	ac_sql_finalize(st);
	for (size_t i = 0; i < n && !rc; i++) {
		size_t moved = 1;
		while (!rc && moved) {
			double t0 = mono_now();
			if (!(rc = cl_begin(a, err)) &&
			    !(rc = merge_event_chunk(a, into, ids[i], &moved, err)))
				rc = chunk_commit(a, t0, err);
		}
	}
	free(ids);
	if (!rc && !(rc = cl_begin(a, err)) && !(rc = op_journal(a, NULL, err)))
		rc = cl_commit(a, err);
	cl_rollback(a);
	return rc;
}

/* Finish an operation a crash or error interrupted (see the journal above). Under the lock
 * or before the analyzer is shared. */
int cl_resume_op(struct analyzer *a, struct ac_error *err)
{
	ac_sql_stmt *st = NULL;
	char what[16] = "";
	long long x = 0, y = 0, after = 0, *children = NULL;
	size_t nchildren = 0;
	int rc = 0, got = 0;

	if (ac_sql_prepare_v2(a->db, "SELECT value FROM analyzer_state WHERE key='" CL_OP_KEY "'",
			       -1, &st, NULL) != AC_SQL_OK)
		return ac_db_error(a->db, err, "reading analyzer state");
	if (ac_sql_step(st) == AC_SQL_ROW && ac_sql_column_text(st, 0))
		got = sscanf((const char *)ac_sql_column_text(st, 0), "%15s %lld %lld %lld", what,
			     &x, &y, &after);
	ac_sql_finalize(st);
	if (got >= 2 && !strcmp(what, "merge"))
		rc = merge_finish(a, x, err);
	else if (got == 4 && (!strcmp(what, "split") || !strcmp(what, "unmerge")))
		rc = reapply_chunks(a, x, after, what, y, &children, &nchildren, err);
	free(children);
	return rc;
}

int analyzer_merge(struct analyzer *a, long long into, const long long *from, size_t n,
		   long long project, struct ac_error *err)
{
	char status[16], text[64];
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
	if ((rc = cl_resume_op(a, err)) || (rc = cl_begin(a, err)) ||
	    (rc = live_cluster(a, into, project, status, err)))
		goto out;
	for (size_t i = 0; i < n; i++)
		if ((rc = live_cluster(a, from[i], project, status, err)))
			goto out;
	/* first transaction: all aggregates and routing, and the journal entry */
	snprintf(text, sizeof text, "merge %lld", into);
	for (size_t i = 0; i < n && !rc; i++)
		rc = merge_aggregates(a, into, from[i], err);
	if (rc || (rc = op_journal(a, text, err)) || (rc = cl_commit(a, err)))
		goto out;
	rc = merge_finish(a, into, err);
out:
	cl_rollback(a);
	pthread_mutex_unlock(&a->lock);
	return rc;
}

int analyzer_split(struct analyzer *a, long long id, long long project, long long **children,
		   size_t *nchildren, struct ac_error *err)
{
	size_t total = 0;
	char status[16], text[96];
	bool two = false;
	int rc;

	*children = NULL;
	*nchildren = 0;
	pthread_mutex_lock(&a->lock);
	if ((rc = cl_resume_op(a, err)) || (rc = live_cluster(a, id, project, status, err)) ||
	    (rc = has_two_strict_keys(a, id, &two, &total, err)))
		goto out;
	if (!two) {
		rc = ac_error_set(err, AC_EINVAL, "nothing_to_split",
				  "cluster %lld cannot be split: its %zu event%s the same masked message and frames",
				  id, total, total == 1 ? " has" : "s share");
		goto out;
	}
	snprintf(text, sizeof text, "split %lld 0 0", id);
	if ((rc = cl_begin(a, err)) || (rc = live_cluster(a, id, project, status, err)) ||
	    (rc = exec2(a, "UPDATE clusters SET split=1, count=0, first_seen=NULL, last_seen=NULL"
			   " WHERE id=?1", id, 0, err)) ||
	    (rc = exec2(a, "DELETE FROM cluster_dims WHERE cluster_id=?1", id, 0, err)) ||
	    (rc = exec2(a, "DELETE FROM cluster_hourly WHERE cluster_id=?1", id, 0, err)) ||
	    (rc = op_journal(a, text, err)) || (rc = cl_commit(a, err)))
		goto out;
	if ((rc = reapply_chunks(a, id, 0, "split", 0, children, nchildren, err)))
		goto out;
	qsort(*children, *nchildren, sizeof **children, cmp_ll);
out:
	cl_rollback(a);
	pthread_mutex_unlock(&a->lock);
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
	long long into = 0, owner = 0;
	size_t nchildren = 0;
	long long *children = NULL;
	char status[16], text[96];
	bool split = false;
	int rc;

	pthread_mutex_lock(&a->lock);
	if ((rc = cl_resume_op(a, err)) || (rc = cl_begin(a, err)) ||
	    (rc = cl_cluster_row(a, id, &into, &split, &owner, status, sizeof status, err)))
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
	if ((rc = live_cluster(a, into, project, status, err)))
		goto out;
	/* both start from zero; the survivor's events are applied again with their own keys,
	 * which now find the unmerged cluster again: events, counts, breakdowns and history
	 * return to it */
	snprintf(text, sizeof text, "unmerge %lld %lld 0", into, id);
	if ((rc = exec2(a, "UPDATE clusters SET merged_into=NULL, updated_at=CAST(strftime('%s','now') AS REAL)"
			   " WHERE id=?2", into, id, err)) ||
	    (rc = exec2(a, "UPDATE clusters SET count=0, first_seen=NULL, last_seen=NULL, max_level=0"
			   " WHERE id IN (?1, ?2)", into, id, err)) ||
	    (rc = exec2(a, "DELETE FROM cluster_dims WHERE cluster_id IN (?1, ?2)", into, id, err)) ||
	    (rc = exec2(a, "DELETE FROM cluster_hourly WHERE cluster_id IN (?1, ?2)", into, id, err)) ||
	    (rc = op_journal(a, text, err)) || (rc = cl_commit(a, err)))
		goto out;
	rc = reapply_chunks(a, into, 0, "unmerge", id, &children, &nchildren, err);
	if (!rc && into_out)
		*into_out = into;
out:
	cl_rollback(a);
	pthread_mutex_unlock(&a->lock);
	free(children);
	return rc;
}

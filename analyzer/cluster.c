/*
 * cluster.c — the online analyzer: turns new events into cluster updates. See analyzer.h.
 *
 * analyzer_process_new() reads events above analyzer_state.last_event_id in id order, in
 * batches; each batch is one transaction holding the cluster updates, the miner's changed
 * templates (miner_save) and the new last_event_id, so the in-database state always matches a
 * whole number of batches. If a batch fails, the miner is reloaded from the database so memory
 * and disk agree again.
 *
 * cl_apply() is the single place where an event joins a cluster; rebuild and split reuse it.
 * Key resolution follows merged_into links and routes keys of split clusters to children keyed
 * by "<parent key>/<stricter hash>"; a bounded number of hops guards against cycles that could
 * only come from a hand-edited database.
 */
#include "core/common.h"
#include "core/db.h"
#include "analyzer/cluster_int.h"
#include "analyzer/fingerprint.h"
#include "analyzer/mask.h"
#include "analyzer/miner.h"
#include "analyzer/rules.h"

#include <math.h>

#define MAX_HOPS 16
#define MESSAGE_MAX (16 * 1024)
#define TITLE_MAX 300

const char *const cl_dim_names[CL_DIMS] = { "system", "component", "release", "environment",
					    "level" };

static const char *const stmt_sql[ST__COUNT] = {
	/* the level is a breakdown, not part of the key: a log (warning) and an error event with
	 * the same key share a cluster (?4 is the twin kind; the oldest row wins) */
	[ST_FIND] = "SELECT id FROM clusters WHERE project_id=?1 AND kind IN (?2, ?4) AND fingerprint=?3"
		    " ORDER BY id LIMIT 1",
	/* a cluster that receives an error becomes an error cluster (unless a twin exists) */
	[ST_KIND_UP] = "UPDATE clusters SET kind='error' WHERE id=?1 AND kind='log' AND NOT EXISTS"
		       " (SELECT 1 FROM clusters t WHERE t.project_id=clusters.project_id"
		       " AND t.kind='error' AND t.fingerprint=clusters.fingerprint)",
	[ST_BY_ID] = "SELECT merged_into, split, fingerprint, project_id, status FROM clusters"
		     " WHERE id=?1",
	[ST_INSERT] = "INSERT INTO clusters(project_id, kind, fingerprint, basis, title, template,"
		      " status, split_from, created_at, updated_at)"
		      " VALUES(?1,?2,?3,?4,?5,?6,COALESCE(?7,'open'),?8,?9,?9)",
	[ST_UPDATE] = "UPDATE clusters SET count=count+1,"
		      " first_seen=MIN(COALESCE(first_seen,?2),?2),"
		      " last_seen=MAX(COALESCE(last_seen,?2),?2),"
		      " max_level=MAX(max_level,?3), rule_id=COALESCE(rule_id,?4),"
		      " title=CASE WHEN ?5 IS NOT NULL THEN ?5 ELSE title END,"
		      " template=CASE WHEN ?5 IS NOT NULL THEN ?6 ELSE template END,"
		      " regressed_at=CASE WHEN status='resolved' AND ?7>resolved_at THEN ?7"
		      "   ELSE regressed_at END,"
		      " status=CASE WHEN status='resolved' AND ?7>resolved_at THEN 'open'"
		      "   ELSE status END,"
		      " updated_at=?8 WHERE id=?1",
	[ST_DIM] = "INSERT INTO cluster_dims(cluster_id, dim, value, count) VALUES(?1,?2,?3,1)"
		   " ON CONFLICT(cluster_id, dim, value) DO UPDATE SET count=count+1",
	[ST_HOUR] = "INSERT INTO cluster_hourly(cluster_id, hour, count) VALUES(?1,?2,1)"
		    " ON CONFLICT(cluster_id, hour) DO UPDATE SET count=count+1",
	[ST_GROUPING] = "INSERT OR REPLACE INTO event_grouping(event, cluster_id, basis, key,"
			" template_id, rule_id, captures, explanation) VALUES(?1,?2,?3,?4,?5,?6,?7,?8)",
	[ST_EVENT_CLUSTER] = "UPDATE events SET cluster_id=?2 WHERE id=?1",
	[ST_STATE] = "INSERT INTO analyzer_state(key, value) VALUES(?1,?2)"
		     " ON CONFLICT(key) DO UPDATE SET value=excluded.value",
};

/* ---------------------------------------------------------------- small helpers */

int cl_level_rank(const char *level)
{
	static const char *const names[] = { "debug", "info", "warning", "error", "fatal" };
	for (int i = 0; level && i < (int)AC_ARRAY_SIZE(names); i++)
		if (!strcmp(level, names[i]))
			return i;
	return 1;
}

void cl_utf8_truncate(char *s, size_t max)
{
	size_t n = strlen(s);
	if (n <= max)
		return;
	n = max;
	while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
		n--;
	s[n] = '\0';
}

static char *dup_truncated(const char *s, size_t max)
{
	char *d = strdup(s ? s : "");
	if (d)
		cl_utf8_truncate(d, max);
	return d;
}

static uint64_t fnv64(uint64_t h, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

static const char *jstr(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

void analyzer_event_text(const json_t *ev, struct ac_buf *b)
{
	const json_t *exc = json_object_get(ev, "exception");
	const char *msg = jstr(ev, "message"), *type = jstr(exc, "type"), *value = jstr(exc, "value");

	if (msg && *msg)
		ac_buf_puts(b, msg);
	else if (type && value && *value)
		ac_buf_printf(b, "%s: %s", type, value);
	else if (type)
		ac_buf_puts(b, type);
	else if (value)
		ac_buf_puts(b, value);
}

/* Mask text into a new string (NULL on ENOMEM). */
static char *mask_text(struct masker *mk, const char *text, size_t n)
{
	size_t cap;
	char *out;

	if (n > MESSAGE_MAX)
		n = MESSAGE_MAX;
	cap = 4 * n + 64;
	out = malloc(cap);
	if (out)
		masker_apply(mk, text, n, out, cap);
	return out;
}

char *cl_strict_key(struct analyzer *a, const json_t *ev, char hex[17])
{
	const json_t *exc = json_object_get(ev, "exception"), *frames = json_object_get(exc, "frames");
	const json_t *f;
	uint64_t h = 0xcbf29ce484222325ULL;
	struct ac_buf text;
	char fn[256], *masked = NULL, *title = NULL;
	size_t i;

	ac_buf_init(&text, MESSAGE_MAX + 1024);
	analyzer_event_text(ev, &text);
	masked = mask_text(a->masker, text.data ? text.data : "", text.len);
	if (!masked)
		goto out;
	h = fnv64(h, "strict1\n", 8);
	if (jstr(exc, "type"))
		h = fnv64(h, jstr(exc, "type"), strlen(jstr(exc, "type")));
	json_array_foreach(frames, i, f) {
		const char *file = jstr(f, "file"), *slash = file ? strrchr(file, '/') : NULL;
		size_t n = fingerprint_function(jstr(f, "function") ? jstr(f, "function") : "", fn,
						sizeof fn);
		h = fnv64(h, "\n", 1);
		h = fnv64(h, fn, n);
		h = fnv64(h, "@", 1);
		if (file)
			h = fnv64(h, slash ? slash + 1 : file, strlen(slash ? slash + 1 : file));
	}
	h = fnv64(h, "\n", 1);
	h = fnv64(h, masked, strlen(masked));
	snprintf(hex, 17, "%016llx", (unsigned long long)h);
	title = dup_truncated(masked, TITLE_MAX);
out:
	free(masked);
	ac_buf_release(&text);
	return title;
}

/* ---------------------------------------------------------------- statements */

static ac_sql_stmt *stmt(struct analyzer *a, enum cl_stmt s)
{
	ac_sql_reset(a->st[s]);
	ac_sql_clear_bindings(a->st[s]);
	return a->st[s];
}

static void bind_str(ac_sql_stmt *st, int i, const char *s)
{
	if (s)
		ac_sql_bind_text(st, i, s, -1, AC_SQL_TRANSIENT);
	else
		ac_sql_bind_null(st, i);
}

static int step_done(struct analyzer *a, ac_sql_stmt *st, struct ac_error *err,
		     const char *what)
{
	int rc = ac_sql_step(st);
	ac_sql_reset(st);
	if (rc != AC_SQL_DONE)
		return ac_db_error(a->db, err, what);
	return 0;
}

int cl_state_set(struct analyzer *a, const char *key, const char *value, struct ac_error *err)
{
	ac_sql_stmt *st = stmt(a, ST_STATE);
	bind_str(st, 1, key);
	bind_str(st, 2, value);
	return step_done(a, st, err, "saving analyzer state");
}

/* An integer from analyzer_state (0 when absent). */
static int state_get(struct analyzer *a, const char *key, long long *out, struct ac_error *err)
{
	ac_sql_stmt *st = NULL;
	int64_t v = 0;

	if (ac_sql_prepare_v2(a->db, "SELECT value FROM analyzer_state WHERE key=?1", -1, &st,
			       NULL) != AC_SQL_OK)
		return ac_db_error(a->db, err, "reading analyzer state");
	ac_sql_bind_text(st, 1, key, -1, AC_SQL_STATIC);
	if (ac_sql_step(st) == AC_SQL_ROW &&
	    ac_parse_i64((const char *)ac_sql_column_text(st, 0), &v))
		v = 0;
	ac_sql_finalize(st);
	*out = v;
	return 0;
}

int cl_begin(struct analyzer *a, struct ac_error *err)
{
	/* one analyzer batch (or cluster operation) at a time across processes: SQLite's write
	 * lock, PostgreSQL's advisory lock (core/db.h) */
	return ac_db_begin_serialized(a->db, AC_DB_LOCK_ANALYZER, err);
}

int cl_commit(struct analyzer *a, struct ac_error *err)
{
	int rc = ac_db_exec(a->db, "COMMIT", err);
	if (rc)
		cl_rollback(a);
	return rc;
}

void cl_rollback(struct analyzer *a)
{
	if (!ac_sql_get_autocommit(a->db))
		ac_db_exec(a->db, "ROLLBACK", NULL);
}

int cl_cluster_row(struct analyzer *a, long long id, long long *merged, bool *split,
		   long long *project, char *status, size_t status_len, struct ac_error *err)
{
	ac_sql_stmt *st = stmt(a, ST_BY_ID);
	int rc;

	ac_sql_bind_int64(st, 1, id);
	rc = ac_sql_step(st);
	if (rc == AC_SQL_DONE) {
		ac_sql_reset(st);
		return ac_error_set(err, AC_ENOTFOUND, "not_found", "no cluster %lld", id);
	}
	if (rc != AC_SQL_ROW) {
		ac_sql_reset(st);
		return ac_db_error(a->db, err, "reading a cluster");
	}
	if (merged)
		*merged = ac_sql_column_int64(st, 0);
	if (split)
		*split = ac_sql_column_int(st, 1) != 0;
	if (project)
		*project = ac_sql_column_int64(st, 3);
	if (status)
		snprintf(status, status_len, "%s", (const char *)ac_sql_column_text(st, 4));
	ac_sql_reset(st);
	return 0;
}

/* ---------------------------------------------------------------- cl_apply */

/* Find the row for (project, kind, key): *id, or 0 when absent. */
static int find_cluster(struct analyzer *a, long long project, const char *kind, const char *key,
			long long *id, struct ac_error *err)
{
	ac_sql_stmt *st = stmt(a, ST_FIND);
	int rc;

	ac_sql_bind_int64(st, 1, project);
	bind_str(st, 2, kind);
	bind_str(st, 3, key);
	bind_str(st, 4, kind && !strcmp(kind, "log") ? "error" : kind && !strcmp(kind, "error") ? "log" : kind);
	rc = ac_sql_step(st);
	*id = rc == AC_SQL_ROW ? ac_sql_column_int64(st, 0) : 0;
	ac_sql_reset(st);
	if (rc != AC_SQL_ROW && rc != AC_SQL_DONE)
		return ac_db_error(a->db, err, "finding a cluster");
	return 0;
}

static int insert_cluster(struct analyzer *a, const struct grouping *g, const char *key,
			  const char *basis, const char *title, const char *tmpl,
			  const char *status, long long split_from, long long *id,
			  struct ac_error *err)
{
	ac_sql_stmt *st = stmt(a, ST_INSERT);
	int rc;

	ac_sql_bind_int64(st, 1, g->project);
	bind_str(st, 2, g->kind);
	bind_str(st, 3, key);
	bind_str(st, 4, basis);
	bind_str(st, 5, title ? title : "");
	bind_str(st, 6, tmpl);
	bind_str(st, 7, status);
	if (split_from)
		ac_sql_bind_int64(st, 8, split_from);
	ac_sql_bind_double(st, 9, ac_now());
	if ((rc = step_done(a, st, err, "creating a cluster")))
		return rc;
	*id = ac_sql_last_insert_rowid(a->db);
	return 0;
}

struct resolved {
	long long id;
	bool own;          /* the event's key is the cluster's own key: refresh title/template */
	char *title;       /* for a split child: its title (owned) */
	char note[200];    /* how the key was redirected, for the explanation */
};

/* Route a split parent's event to its child, creating it. */
static int route_split(struct analyzer *a, const struct grouping *g, long long parent,
		       const char *parent_key, const char *status, struct resolved *r,
		       struct ac_error *err)
{
	char hex[17], key[CL_KEY_MAX];
	long long child;
	int rc;

	free(r->title);
	r->title = cl_strict_key(a, g->ev, hex);
	if (!r->title)
		return ac_error_set(err, AC_ENOMEM, "internal", "out of memory");
	if ((size_t)snprintf(key, sizeof key, "%s/%s", parent_key, hex) >= sizeof key)
		return ac_error_set(err, AC_ETOOBIG, "key_too_long", "split keys nest too deep");
	if ((rc = find_cluster(a, g->project, g->kind, key, &child, err)))
		return rc;
	/* a child of an ignored cluster stays ignored; otherwise it starts open (a resolved
	 * parent has no resolved_at for the child to compare regressions with) */
	if (!child && (rc = insert_cluster(a, g, key, "split", r->title, r->title,
					   strcmp(status, "ignored") ? "open" : "ignored", parent,
					   &child, err)))
		return rc;
	snprintf(r->note + strlen(r->note), sizeof r->note - strlen(r->note),
		 "; cluster %lld was split by masked message and frames into cluster %lld", parent,
		 child);
	r->id = child;
	r->own = true;
	return 0;
}

static int resolve(struct analyzer *a, const struct grouping *g, struct resolved *r,
		   struct ac_error *err)
{
	long long id, merged;
	char key[CL_KEY_MAX], status[16];
	ac_sql_stmt *st;
	bool split;
	int rc;

	r->own = true;
	if ((rc = find_cluster(a, g->project, g->kind, g->key, &id, err)))
		return rc;
	if (!id) {
		rc = insert_cluster(a, g, g->key, g->basis, g->title, g->template, NULL, 0, &r->id, err);
		return rc;
	}
	for (int hop = 0; hop < MAX_HOPS; hop++) {
		st = stmt(a, ST_BY_ID);
		ac_sql_bind_int64(st, 1, id);
		if (ac_sql_step(st) != AC_SQL_ROW) {
			ac_sql_reset(st);
			return ac_db_error(a->db, err, "following a cluster link");
		}
		merged = ac_sql_column_int64(st, 0);
		split = ac_sql_column_int(st, 1) != 0;
		snprintf(key, sizeof key, "%s", (const char *)ac_sql_column_text(st, 2));
		snprintf(status, sizeof status, "%s", (const char *)ac_sql_column_text(st, 4));
		ac_sql_reset(st);
		if (merged) {
			snprintf(r->note + strlen(r->note), sizeof r->note - strlen(r->note),
				 "; cluster %lld was merged into cluster %lld", id, merged);
			id = merged;
			r->own = false;
			free(r->title);
			r->title = NULL;
			continue;
		}
		if (split) {
			if ((rc = route_split(a, g, id, key, status, r, err)))
				return rc;
			id = r->id;
			continue;
		}
		r->id = id;
		return 0;
	}
	return ac_error_set(err, AC_EDB, "corrupt", "cluster links of key %s form a cycle", g->key);
}

static int update_counts(struct analyzer *a, const struct grouping *g, const struct resolved *r,
			 struct ac_error *err)
{
	ac_sql_stmt *st = stmt(a, ST_UPDATE);
	const char *title = r->own ? (r->title ? r->title : g->title) : NULL;
	const char *tmpl = r->title ? r->title : g->template;
	int rc;

	ac_sql_bind_int64(st, 1, r->id);
	ac_sql_bind_double(st, 2, g->ts);
	ac_sql_bind_int(st, 3, g->level);
	bind_str(st, 4, g->rule_id);
	bind_str(st, 5, title);
	bind_str(st, 6, tmpl);
	ac_sql_bind_double(st, 7, g->received);
	ac_sql_bind_double(st, 8, ac_now());
	if ((rc = step_done(a, st, err, "updating a cluster")))
		return rc;
	if (g->kind && !strcmp(g->kind, "error")) {
		st = stmt(a, ST_KIND_UP);
		ac_sql_bind_int64(st, 1, r->id);
		if ((rc = step_done(a, st, err, "updating a cluster's kind")))
			return rc;
	}
	for (int i = 0; i < CL_DIMS; i++) {
		if (!g->dim[i] || !*g->dim[i])
			continue;
		st = stmt(a, ST_DIM);
		ac_sql_bind_int64(st, 1, r->id);
		bind_str(st, 2, cl_dim_names[i]);
		bind_str(st, 3, g->dim[i]);
		if ((rc = step_done(a, st, err, "counting a cluster breakdown")))
			return rc;
	}
	/* errors group on their crash site; the caller that reached it is a breakdown */
	char caller[256];
	if (g->ev && !fingerprint_caller(g->ev, caller, sizeof caller) && caller[0]) {
		st = stmt(a, ST_DIM);
		ac_sql_bind_int64(st, 1, r->id);
		bind_str(st, 2, "caller");
		bind_str(st, 3, caller);
		if ((rc = step_done(a, st, err, "counting a cluster breakdown")))
			return rc;
	}
	st = stmt(a, ST_HOUR);
	ac_sql_bind_int64(st, 1, r->id);
	ac_sql_bind_int64(st, 2, (long long)floor(g->ts / 3600.0));
	return step_done(a, st, err, "counting a cluster hour");
}

static int store_grouping(struct analyzer *a, const struct grouping *g, const struct resolved *r,
			  struct ac_error *err)
{
	ac_sql_stmt *st = stmt(a, ST_GROUPING);
	struct ac_buf why;
	int rc;

	ac_buf_init(&why, 4096);
	ac_buf_puts(&why, g->explanation ? g->explanation : "");
	if (g->rule_id)
		ac_buf_printf(&why, "; matched rule %s", g->rule_id);
	ac_buf_puts(&why, r->note);
	ac_sql_bind_int64(st, 1, g->event);
	ac_sql_bind_int64(st, 2, r->id);
	bind_str(st, 3, g->basis);
	bind_str(st, 4, g->key);
	if (g->template_id > 0)
		ac_sql_bind_int64(st, 5, g->template_id);
	bind_str(st, 6, g->rule_id);
	bind_str(st, 7, g->captures);
	bind_str(st, 8, why.data ? why.data : "");
	rc = step_done(a, st, err, "storing a grouping explanation");
	ac_buf_release(&why);
	if (rc)
		return rc;
	st = stmt(a, ST_EVENT_CLUSTER);
	ac_sql_bind_int64(st, 1, g->event);
	ac_sql_bind_int64(st, 2, r->id);
	return step_done(a, st, err, "setting an event's cluster");
}

int cl_apply(struct analyzer *a, const struct grouping *g, long long *cluster,
	     struct ac_error *err)
{
	struct resolved r = { 0 };
	int rc;

	if ((rc = resolve(a, g, &r, err)) || (rc = update_counts(a, g, &r, err)) ||
	    (rc = store_grouping(a, g, &r, err)))
		goto out;
	if (cluster)
		*cluster = r.id;
out:
	free(r.title);
	return rc;
}

/* ---------------------------------------------------------------- one new event */

struct event_work {
	struct grouping g;
	struct fingerprint fp;
	struct rule_match m;
	char *title, *tmpl, *explanation, *captures;
	json_t *ev;
};

static void work_release(struct event_work *w)
{
	fingerprint_release(&w->fp);
	free(w->title);
	free(w->tmpl);
	free(w->explanation);
	free(w->captures);
	json_decref(w->ev);
}

static bool uses_fingerprint(const json_t *ev)
{
	const json_t *exc = json_object_get(ev, "exception");
	return json_is_array(json_object_get(ev, "fingerprint")) ||
	       (json_is_object(exc) && (jstr(exc, "type") || json_array_size(json_object_get(exc, "frames"))));
}

static char *captures_json(const struct rule_match *m)
{
	json_t *o;
	char *s;

	if (!m->rule || !m->ncaptures)
		return NULL;
	o = json_object();
	for (size_t i = 0; i < m->ncaptures; i++)
		json_object_set_new(o, m->captures[i].name,
				    json_stringn(m->captures[i].value, m->captures[i].len));
	s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	return s;
}

/* Key an event by its fingerprint. */
static int key_by_fingerprint(struct analyzer *a, struct event_work *w, struct ac_error *err)
{
	struct ac_buf text;
	int rc;

	if ((rc = fingerprint_event(w->ev, a->masker, &w->fp, err)))
		return rc;
	snprintf(w->g.key, sizeof w->g.key, "%s", w->fp.hash);
	w->g.basis = fingerprint_basis_name(w->fp.basis);
	w->title = dup_truncated(w->fp.title, TITLE_MAX);
	ac_buf_init(&text, MESSAGE_MAX + 1024);
	analyzer_event_text(w->ev, &text);
	w->tmpl = mask_text(a->masker, text.data ? text.data : "", text.len);
	ac_buf_release(&text);
	if (w->tmpl)
		cl_utf8_truncate(w->tmpl, 2 * TITLE_MAX);
	w->explanation = w->fp.explanation ? strdup(w->fp.explanation) : strdup("fingerprint");
	if (!w->title || !w->tmpl || !w->explanation)
		return ac_error_set(err, AC_ENOMEM, "internal", "out of memory");
	return 0;
}

/* The live cluster a row forwards to (itself when live); 0 when the chain ends at a split
 * cluster or is too long. */
static long long live_target(struct analyzer *a, long long id, struct ac_error *err)
{
	for (int hop = 0; hop < MAX_HOPS; hop++) {
		long long merged = 0;
		bool split = false;
		if (cl_cluster_row(a, id, &merged, &split, NULL, NULL, 0, err))
			return 0;
		if (split)
			return 0;
		if (!merged)
			return id;
		id = merged;
	}
	return 0;
}

/* The miner folded template `from` into `into` (their templates turned out to differ only in
 * variable positions): the clusters keyed by the folded template join the survivor's, so one
 * message pattern stays one cluster. A folded cluster without a survivor cluster in its
 * project and kind just takes the survivor's key. */
static int fold_template(struct analyzer *a, long into, long from, struct ac_error *err)
{
	char key_from[32], key_into[32];
	long long rows[64][2];  /* id, project */
	char kinds[64][16];
	size_t n = 0;
	ac_sql_stmt *st = NULL;
	int rc = 0;

	snprintf(key_from, sizeof key_from, "tpl:%ld", from);
	snprintf(key_into, sizeof key_into, "tpl:%ld", into);
	if (ac_sql_prepare_v2(a->db, "SELECT id, project_id, kind FROM clusters WHERE fingerprint=?1"
				      " AND merged_into IS NULL AND split=0 ORDER BY id", -1, &st,
			       NULL) != AC_SQL_OK)
		return ac_db_error(a->db, err, "folding a template's clusters");
	ac_sql_bind_text(st, 1, key_from, -1, AC_SQL_STATIC);
	while (n < AC_ARRAY_SIZE(rows) && ac_sql_step(st) == AC_SQL_ROW) {
		rows[n][0] = ac_sql_column_int64(st, 0);
		rows[n][1] = ac_sql_column_int64(st, 1);
		snprintf(kinds[n], sizeof kinds[n], "%s", (const char *)ac_sql_column_text(st, 2));
		n++;
	}
	ac_sql_finalize(st);
	for (size_t i = 0; i < n && !rc; i++) {
		long long survivor = 0, target;
		if ((rc = find_cluster(a, rows[i][1], kinds[i], key_into, &survivor, err)))
			break;
		if (!survivor) {
			ac_sql_stmt *up = NULL;
			if (ac_sql_prepare_v2(a->db, "UPDATE clusters SET fingerprint=?2 WHERE id=?1", -1,
					       &up, NULL) != AC_SQL_OK)
				return ac_db_error(a->db, err, "folding a template's clusters");
			ac_sql_bind_int64(up, 1, rows[i][0]);
			ac_sql_bind_text(up, 2, key_into, -1, AC_SQL_STATIC);
			if (ac_sql_step(up) != AC_SQL_DONE)
				rc = ac_db_error(a->db, err, "folding a template's clusters");
			ac_sql_finalize(up);
			continue;
		}
		target = live_target(a, survivor, err);
		if (target && target != rows[i][0])
			rc = cl_merge_rows(a, target, rows[i][0], err);
	}
	return rc;
}

static int fold_templates(struct analyzer *a, const struct miner_info *info, struct ac_error *err)
{
	int rc = 0;

	if (info->nfolded > MINER_MAX_FOLDED)
		ac_log(AC_LOG_WARN, "the miner folded more templates than reported; some clusters stay apart",
		       NULL);
	for (unsigned i = 0; i < info->nfolded && i < MINER_MAX_FOLDED && !rc; i++)
		rc = fold_template(a, info->id, info->folded[i], err);
	return rc;
}

/* A leading level word of a text log line ("INFO ", "[WARN] ", "ERROR: "): its length with
 * the spaces after it, and the level it names (*level); 0 when there is none. The level is a
 * breakdown of a cluster, so it stays out of the template. */
static size_t level_prefix(const char *s, size_t n, const char **level)
{
	static const struct { const char *word, *level; } words[] = {
		{ "TRACE", "debug" }, { "DEBUG", "debug" }, { "INFO", "info" }, { "NOTICE", "info" },
		{ "WARN", "warning" }, { "WARNING", "warning" }, { "ERROR", "error" }, { "ERR", "error" },
		{ "SEVERE", "error" }, { "CRITICAL", "fatal" }, { "CRIT", "fatal" }, { "FATAL", "fatal" },
	};
	size_t i = 0, open = n && s[0] == '[';
	i += open;
	size_t w = i;
	while (w < n && w - i < 8 && ((s[w] | 0x20) >= 'a' && (s[w] | 0x20) <= 'z'))
		w++;
	for (size_t k = 0; k < AC_ARRAY_SIZE(words); k++) {
		size_t l = strlen(words[k].word);
		if (l != w - i || strncmp(s + i, words[k].word, l))
			continue; /* upper case only: "Error reading x" is a message, not a level */
		size_t j = w;
		if (open && (j >= n || s[j++] != ']'))
			return 0;
		if (j < n && s[j] == ':')
			j++;
		if (j >= n || s[j] != ' ')
			return 0;
		while (j < n && s[j] == ' ')
			j++;
		*level = words[k].level;
		return j;
	}
	return 0;
}

/* Key an event by the template the miner puts its message in. */
static int key_by_template(struct analyzer *a, struct event_work *w, struct ac_error *err)
{
	struct ac_buf text, why;
	struct miner_info info;
	const char *tmpl;
	char how[200];
	long id;
	int rc = 0;

	ac_buf_init(&text, MESSAGE_MAX + 1024);
	ac_buf_init(&why, 4096);
	analyzer_event_text(w->ev, &text);
	const char *level = NULL;
	size_t skip = text.data ? level_prefix(text.data, text.len, &level) : 0;
	if (level) {
		const json_t *given = json_object_get(w->ev, "level");
		if (!json_is_string(given) || !strcmp(json_string_value(given), "info")) {
			w->g.level = cl_level_rank(level);
			w->g.dim[4] = level;
			if (w->g.level >= 3 && w->g.kind && !strcmp(w->g.kind, "log"))
				w->g.kind = "error";
		}
	}
	id = miner_add_info(a->miner, text.data ? text.data + skip : "", text.len - skip, &info);
	if (id < 0) {
		/* the miner is full: group by the masked message's hash instead */
		ac_buf_release(&text);
		ac_buf_release(&why);
		return key_by_fingerprint(a, w, err);
	}
	if ((rc = fold_templates(a, &info, err))) {
		ac_buf_release(&text);
		ac_buf_release(&why);
		return rc;
	}
	tmpl = miner_template(a->miner, id);
	snprintf(w->g.key, sizeof w->g.key, "tpl:%ld", id);
	w->g.basis = "template";
	w->g.template_id = id;
	w->title = dup_truncated(tmpl, TITLE_MAX);
	w->tmpl = dup_truncated(tmpl, 4 * TITLE_MAX);
	miner_explain(&info, how, sizeof how);
	ac_buf_printf(&why, "message template #%ld: %s (%s)", id, w->tmpl ? w->tmpl : "", how);
	w->explanation = ac_buf_detach(&why, NULL);
	if (!w->title || !w->tmpl || !w->explanation)
		rc = ac_error_set(err, AC_ENOMEM, "internal", "out of memory");
	ac_buf_release(&text);
	ac_buf_release(&why);
	return rc;
}

static const char *col_text(ac_sql_stmt *st, int i)
{
	return (const char *)ac_sql_column_text(st, i);
}

/* Columns: id, project_id, timestamp, received_at, level, kind, system, component, release,
 * environment, raw. */
static int process_row(struct analyzer *a, ac_sql_stmt *row, struct ac_error *err)
{
	struct event_work w;
	json_error_t je;
	const char *raw = col_text(row, 10);
	int rc;

	memset(&w, 0, sizeof w);
	w.ev = raw ? json_loads(raw, 0, &je) : NULL;
	if (!json_is_object(w.ev)) {
		json_decref(w.ev);
		w.ev = json_pack("{s:s?}", "message", raw);
	}
	w.g.event = ac_sql_column_int64(row, 0);
	w.g.project = ac_sql_column_int64(row, 1);
	w.g.ts = ac_sql_column_double(row, 2);
	w.g.received = ac_sql_column_double(row, 3);
	w.g.level = cl_level_rank(col_text(row, 4));
	w.g.kind = col_text(row, 5) ? col_text(row, 5) : "log";
	for (int i = 0; i < 4; i++)
		w.g.dim[i] = col_text(row, 6 + i);
	w.g.dim[4] = col_text(row, 4);
	w.g.ev = w.ev;
	rules_match(a->rules, w.ev, &w.m);
	if (w.m.rule) {
		w.g.rule_id = rule_id(w.m.rule);
		w.captures = captures_json(&w.m);
		w.g.captures = w.captures;
	}
	rc = uses_fingerprint(w.ev) ? key_by_fingerprint(a, &w, err) : key_by_template(a, &w, err);
	if (rc)
		goto out;
	w.g.title = w.title;
	w.g.template = w.tmpl;
	w.g.explanation = w.explanation;
	rc = cl_apply(a, &w.g, NULL, err);
out:
	work_release(&w);
	return rc;
}

/* Inside the batch's transaction: if another analyzer on this database (say `autocoder
 * analyze` beside `serve --rules`) committed since our last batch, its miner state and last id
 * are newer than ours; reload them so both continue the same clusters. */
static int sync_generation(struct analyzer *a, struct ac_error *err)
{
	struct miner *m;
	long long g;
	int rc;

	if ((rc = state_get(a, "generation", &g, err)) || g == a->generation)
		return rc;
	if (!(m = miner_load(a->db, NULL, err)))
		return err ? err->code : AC_EDB;
	miner_free(a->miner);
	a->miner = m;
	if ((rc = state_get(a, "last_event_id", &a->last_id, err)))
		return rc;
	a->generation = g;
	return 0;
}

/* Record a change of the miner state or last id for other analyzers (see sync_generation). */
static int bump_generation(struct analyzer *a, struct ac_error *err)
{
	char val[32];
	snprintf(val, sizeof val, "%lld", a->generation + 1);
	return cl_state_set(a, "generation", val, err);
}

static long process_batch(struct analyzer *a, struct ac_error *err)
{
	static const char sql[] =
		"SELECT id, COALESCE(project_id,0), timestamp, received_at, level, kind, system,"
		" component, release, environment, raw FROM events WHERE id > ?1 AND id <= ?3"
		" ORDER BY id LIMIT ?2";
	ac_sql_stmt *st = NULL;
	long long last = a->last_id, horizon;
	long n = 0;
	char val[32];
	int rc, step;

	/* several collectors on PostgreSQL commit ids out of order: read only committed ones */
	if ((rc = ac_db_committed_horizon(a->db, &horizon, err)))
		return rc;
	if ((rc = cl_begin(a, err)))
		return rc;
	if ((rc = sync_generation(a, err)))
		goto fail;
	if (ac_sql_prepare_v2(a->db, sql, -1, &st, NULL) != AC_SQL_OK) {
		rc = ac_db_error(a->db, err, "reading new events");
		goto fail;
	}
	ac_sql_bind_int64(st, 1, a->last_id);
	ac_sql_bind_int64(st, 2, (long long)a->batch);
	ac_sql_bind_int64(st, 3, horizon);
	while ((step = ac_sql_step(st)) == AC_SQL_ROW) {
		if ((rc = process_row(a, st, err)))
			goto fail;
		last = ac_sql_column_int64(st, 0);
		n++;
	}
	if (step != AC_SQL_DONE) {
		rc = ac_db_error(a->db, err, "reading new events");
		goto fail;
	}
	ac_sql_finalize(st);
	st = NULL;
	if (n == 0) {
		cl_rollback(a);
		return 0;
	}
	snprintf(val, sizeof val, "%lld", last);
	if ((rc = miner_save(a->miner, a->db, err)) || (rc = cl_state_set(a, "last_event_id", val, err)) ||
	    (rc = bump_generation(a, err)) || (rc = cl_commit(a, err)))
		goto fail;
	a->last_id = last;
	a->generation++;
	return n;
fail:
	ac_sql_finalize(st);
	cl_rollback(a);
	{
		/* the miner learnt lines the database no longer has: reload it */
		struct ac_error lerr;
		struct miner *m = miner_load(a->db, NULL, &lerr);
		if (m) {
			miner_free(a->miner);
			a->miner = m;
		}
	}
	return rc;
}

static long process_locked(struct analyzer *a, struct ac_error *err)
{
	long total = 0, n;

	do {
		n = process_batch(a, err);
		if (n < 0)
			return n;
		total += n;
	} while (n > 0);
	return total;
}

/* The lock is taken per batch, not for the whole backlog, so a status change or merge from
 * the API waits for one batch at most even while a large backlog is being clustered. */
static bool stop_requested(struct analyzer *a)
{
	bool stop;
	pthread_mutex_lock(&a->wake_lock);
	stop = a->stopping;
	pthread_mutex_unlock(&a->wake_lock);
	return stop;
}

/* until_stop: return after the current batch once analyzer_stop() was called, so shutdown
 * never waits for a large backlog (the stored last id lets the next start continue). */
static long process_batches(struct analyzer *a, bool until_stop, struct ac_error *err)
{
	long total = 0, n;

	do {
		pthread_mutex_lock(&a->lock);
		n = process_batch(a, err);
		pthread_mutex_unlock(&a->lock);
		if (n < 0)
			return n;
		total += n;
	} while (n > 0 && !(until_stop && stop_requested(a)));
	return total;
}

/* New events are labelled by the current rules, old ones keep their labels: say so once. */
static void warn_rules_changed(struct analyzer *a)
{
	bool warn;

	pthread_mutex_lock(&a->lock);
	warn = a->rules_changed;
	a->rules_changed = false;
	pthread_mutex_unlock(&a->lock);
	if (warn)
		ac_log(AC_LOG_WARN,
		       "rule packs changed since events were clustered; run 'autocoder analyze --rebuild' to relabel",
		       NULL);
}

long analyzer_process_new(struct analyzer *a, struct ac_error *err)
{
	warn_rules_changed(a);
	return process_batches(a, false, err);
}

/* ---------------------------------------------------------------- rebuild */

static int reset_state(struct analyzer *a, struct ac_error *err)
{
	static const char sql[] =
		"UPDATE clusters SET count=0, first_seen=NULL, last_seen=NULL, max_level=0,"
		" rule_id=NULL;"
		"DELETE FROM cluster_dims; DELETE FROM cluster_hourly; DELETE FROM event_grouping;"
		"UPDATE events SET cluster_id=NULL WHERE cluster_id IS NOT NULL;"
		"DELETE FROM templates; DELETE FROM miner_config; DELETE FROM miner_families;"
		"DELETE FROM analyzer_state WHERE key='last_event_id';";
	struct miner *m;
	int rc;

	if ((rc = cl_begin(a, err)))
		return rc;
	if ((rc = ac_db_exec(a->db, sql, err)) || (rc = bump_generation(a, err)) ||
	    (rc = cl_commit(a, err))) {
		cl_rollback(a);
		return rc;
	}
	a->generation++;
	if (!(m = miner_new(NULL, err)))
		return err ? err->code : AC_ENOMEM;
	miner_free(a->miner);
	a->miner = m;
	a->last_id = 0;
	return 0;
}

/* Delete clusters the rebuild left without events, unless a decision hangs on them (a merge
 * target or source, a split parent). */
static int drop_empty(struct analyzer *a, struct ac_error *err)
{
	static const char sql[] =
		"DELETE FROM clusters WHERE count=0 AND split=0 AND merged_into IS NULL"
		" AND id NOT IN (SELECT merged_into FROM clusters WHERE merged_into IS NOT NULL)"
		" AND id NOT IN (SELECT split_from FROM clusters WHERE split_from IS NOT NULL)";
	return ac_db_exec(a->db, sql, err);
}

long analyzer_rebuild(struct analyzer *a, struct ac_error *err)
{
	long n;
	int rc;

	pthread_mutex_lock(&a->lock);
	if ((rc = reset_state(a, err))) {
		n = rc;
		goto out;
	}
	n = process_locked(a, err);
	if (n >= 0 && (rc = drop_empty(a, err)))
		n = rc;
	if (n >= 0) {
		cl_state_set(a, "rules_digest", a->rules ? rules_digest(a->rules) : "", NULL);
		a->rules_changed = false;
	}
out:
	pthread_mutex_unlock(&a->lock);
	return n;
}

/* ---------------------------------------------------------------- open / close */

/* Warn when the rules changed since the clusters were labelled: labels would mix versions. */
static void check_rules_digest(struct analyzer *a)
{
	ac_sql_stmt *st = NULL;
	const char *now = a->rules ? rules_digest(a->rules) : "";

	if (ac_sql_prepare_v2(a->db, "SELECT value FROM analyzer_state WHERE key='rules_digest'",
			       -1, &st, NULL) != AC_SQL_OK)
		return;
	if (ac_sql_step(st) == AC_SQL_ROW) {
		a->rules_changed = strcmp((const char *)ac_sql_column_text(st, 0), now) && a->last_id > 0;
	} else {
		cl_state_set(a, "rules_digest", now, NULL);
	}
	ac_sql_finalize(st);
}

int analyzer_open(const char *db_path, const char *rules_dir, struct analyzer **out,
		  struct ac_error *err)
{
	struct analyzer *a = calloc(1, sizeof *a);
	int rc;

	*out = NULL;
	if (!a)
		return ac_error_set(err, AC_ENOMEM, "internal", "out of memory");
	pthread_mutex_init(&a->lock, NULL);
	pthread_mutex_init(&a->wake_lock, NULL);
	pthread_cond_init(&a->wake, NULL);
	a->batch = ANALYZER_DEFAULT_BATCH;
	if (rules_dir && (rc = rules_load_dir(rules_dir, &a->rules, err)))
		goto fail;
	if (!(a->db = ac_db_open(db_path, AC_DB_WRITE, err))) {
		rc = err ? err->code : AC_EDB;
		goto fail;
	}
	/* clusters are derived data: a power loss may cost the last batch, which the stored
	 * last_event_id then replays, so the analyzer need not pay for synchronous=FULL */
	if ((rc = ac_db_exec(a->db, "PRAGMA synchronous=NORMAL", err)))
		goto fail;
	for (int i = 0; i < ST__COUNT; i++)
		if (ac_sql_prepare_v3(a->db, stmt_sql[i], -1, AC_SQL_PREPARE_PERSISTENT, &a->st[i],
				       NULL) != AC_SQL_OK) {
			rc = ac_db_error(a->db, err, "preparing analyzer statements");
			goto fail;
		}
	if (!(a->masker = masker_new(NULL, err)) || !(a->miner = miner_load(a->db, NULL, err))) {
		rc = err ? err->code : AC_ENOMEM;
		goto fail;
	}
	if ((rc = state_get(a, "last_event_id", &a->last_id, err)) ||
	    (rc = state_get(a, "generation", &a->generation, err)))
		goto fail;
	check_rules_digest(a);
	/* a merge, split or unmerge interrupted by a crash is finished first */
	if ((rc = cl_resume_op(a, err)))
		goto fail;
	*out = a;
	return 0;
fail:
	analyzer_close(a);
	return rc;
}

void analyzer_set_batch(struct analyzer *a, size_t batch)
{
	pthread_mutex_lock(&a->lock);
	a->batch = batch ? batch : ANALYZER_DEFAULT_BATCH;
	pthread_mutex_unlock(&a->lock);
}

const struct rules *analyzer_rules(const struct analyzer *a)
{
	return a ? a->rules : NULL;
}

void analyzer_close(struct analyzer *a)
{
	if (!a)
		return;
	analyzer_stop(a);
	for (int i = 0; i < ST__COUNT; i++)
		ac_sql_finalize(a->st[i]);
	ac_db_close(a->db);
	miner_free(a->miner);
	masker_free(a->masker);
	rules_free(a->rules);
	pthread_mutex_destroy(&a->lock);
	pthread_mutex_destroy(&a->wake_lock);
	pthread_cond_destroy(&a->wake);
	free(a);
}

/* ---------------------------------------------------------------- background thread */

static void *analyzer_main(void *arg)
{
	struct analyzer *a = arg;
	bool stopping = false;

	pthread_setname_np(pthread_self(), "analyzer");
	while (!stopping) {
		struct ac_error err;
		struct timespec until;

		pthread_mutex_lock(&a->wake_lock);
		if (!a->pending && !a->stopping) {
			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_nsec += 200 * 1000000L;
			if (until.tv_nsec >= 1000000000L) {
				until.tv_sec++;
				until.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&a->wake, &a->wake_lock, &until);
		}
		a->pending = false;
		stopping = a->stopping;
		pthread_mutex_unlock(&a->wake_lock);
		warn_rules_changed(a);
		if (process_batches(a, true, &err) < 0)
			ac_log(AC_LOG_ERROR, "clustering new events failed", "detail", err.msg, NULL);
	}
	return NULL;
}

int analyzer_start(struct analyzer *a, struct ac_error *err)
{
	if (a->running)
		return 0;
	a->stopping = false;
	if (pthread_create(&a->thread, NULL, analyzer_main, a) != 0)
		return ac_error_set(err, AC_EIO, "internal", "cannot start the analyzer thread");
	a->running = true;
	return 0;
}

void analyzer_notify(void *analyzer)
{
	struct analyzer *a = analyzer;
	pthread_mutex_lock(&a->wake_lock);
	a->pending = true;
	pthread_cond_signal(&a->wake);
	pthread_mutex_unlock(&a->wake_lock);
}

void analyzer_stop(struct analyzer *a)
{
	if (!a || !a->running)
		return;
	pthread_mutex_lock(&a->wake_lock);
	a->stopping = true;
	pthread_cond_signal(&a->wake);
	pthread_mutex_unlock(&a->wake_lock);
	pthread_join(a->thread, NULL);
	a->running = false;
}

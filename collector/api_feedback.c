/*
 * api_feedback.c — POST /api/v1/clusters/<id>/feedback: users say whether a fix step of the
 * cluster's rule worked, did not work, or that the cause was another one (docs/API.md).
 *
 * Accepted with any key of the cluster's project (the DSN's public key — what a beta user
 * has — or a token), rate-limited per project (a token bucket of FEEDBACK_BURST reports
 * refilled at FEEDBACK_PER_MIN a minute; past it 429). Stored in cluster_feedback with the
 * project, the time and the cluster's rule at that moment, through a short-lived write
 * connection (feedback is rare; the collector's writer thread stays for events). The guide
 * (analyzer/guide.c) ranks fix steps by it.
 *
 * Moderation is separate: POST /api/v1/feedback/<id>/hide (api_feedback_moderate) hides or
 * shows a report; the route needs an admin token of the feedback's project.
 */
#include "core/common.h"
#include "core/db.h"
#include "collector/internal.h"
#include "collector/collector.h"
#include "analyzer/analyzer.h"
#include "analyzer/guide.h"

#include <pthread.h>

#define FEEDBACK_PER_MIN 10.0
#define FEEDBACK_BURST 20.0
#define FEEDBACK_SLOTS 64
#define TEXT_MAX 2000
#define CONTACT_MAX 200

static struct {
	pthread_mutex_t lock;
	struct { long long project; double tokens, at; } slot[FEEDBACK_SLOTS];
} limiter = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* 0, or the seconds until the project may send feedback again. */
static unsigned feedback_rate_check(long long project)
{
	double now = ac_monotonic();
	unsigned wait = 0;

	pthread_mutex_lock(&limiter.lock);
	size_t i = (size_t)((unsigned long long)project % FEEDBACK_SLOTS);
	if (limiter.slot[i].project != project || limiter.slot[i].at == 0) {
		limiter.slot[i].project = project;
		limiter.slot[i].tokens = FEEDBACK_BURST;
		limiter.slot[i].at = now;
	}
	double t = limiter.slot[i].tokens + (now - limiter.slot[i].at) * FEEDBACK_PER_MIN / 60.0;
	limiter.slot[i].tokens = t > FEEDBACK_BURST ? FEEDBACK_BURST : t;
	limiter.slot[i].at = now;
	if (limiter.slot[i].tokens >= 1)
		limiter.slot[i].tokens -= 1;
	else
		wait = (unsigned)((1 - limiter.slot[i].tokens) * 60.0 / FEEDBACK_PER_MIN) + 1;
	pthread_mutex_unlock(&limiter.lock);
	return wait;
}

struct feedback {
	const char *outcome, *text, *contact;
	long long fix;
};

/* Validate the body into fb; 0 or AC_EINVAL with err naming the field. */
static int parse_feedback(const json_t *o, struct feedback *fb, struct ac_error *err)
{
	const json_t *v;

	fb->outcome = json_string_value(json_object_get(o, "outcome"));
	if (!fb->outcome || (strcmp(fb->outcome, "worked") && strcmp(fb->outcome, "failed") &&
			     strcmp(fb->outcome, "other_cause")))
		return ac_error_set(err, AC_EINVAL, "invalid_outcome",
				    "field 'outcome' must be \"worked\", \"failed\" or \"other_cause\"");
	v = json_object_get(o, "fix");
	fb->fix = 0;
	if (v && !json_is_null(v)) {
		if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 100)
			return ac_error_set(err, AC_EINVAL, "invalid_fix",
					    "field 'fix' must be the fix step's number, 1..100");
		fb->fix = json_integer_value(v);
	}
	if (strcmp(fb->outcome, "other_cause") && !fb->fix)
		return ac_error_set(err, AC_EINVAL, "invalid_fix",
				    "outcome '%s' needs 'fix': the number of the fix step you tried",
				    fb->outcome);
	static const char *const keys[] = { "text", "contact" };
	static const size_t max[] = { TEXT_MAX, CONTACT_MAX };
	const char **dst[] = { &fb->text, &fb->contact };
	for (size_t i = 0; i < 2; i++) {
		v = json_object_get(o, keys[i]);
		*dst[i] = NULL;
		if (!v || json_is_null(v))
			continue;
		if (!json_is_string(v) || json_string_length(v) > max[i])
			return ac_error_set(err, AC_EINVAL, "invalid_field",
					    "field '%s' must be a string of at most %zu bytes", keys[i],
					    max[i]);
		if (json_string_length(v))
			*dst[i] = json_string_value(v);
	}
	if (!strcmp(fb->outcome, "other_cause") && !fb->text)
		return ac_error_set(err, AC_EINVAL, "invalid_field",
				    "outcome 'other_cause' needs 'text': what the cause was");
	return 0;
}

/* The cluster's rule (and that it exists in the project). 0, AC_ENOTFOUND, AC_EDB. */
static int cluster_rule(ac_sql *db, long long id, long long project, char *rule, size_t n,
			struct ac_error *err)
{
	ac_sql_stmt *st = NULL;
	int rc;

	if (ac_sql_prepare_v2(db, "SELECT rule_id FROM clusters WHERE id = ? AND (? < 0 OR "
			       "project_id = ?)", -1, &st, NULL) != AC_SQL_OK)
		return ac_db_error(db, err, "reading the cluster");
	ac_sql_bind_int64(st, 1, id);
	ac_sql_bind_int64(st, 2, project);
	ac_sql_bind_int64(st, 3, project);
	rc = ac_sql_step(st);
	if (rc == AC_SQL_ROW) {
		const unsigned char *r = ac_sql_column_text(st, 0);
		snprintf(rule, n, "%s", r ? (const char *)r : "");
		rc = 0;
	} else if (rc == AC_SQL_DONE) {
		rc = ac_error_set(err, AC_ENOTFOUND, "not_found", "no cluster %lld in this project", id);
	} else {
		rc = ac_db_error(db, err, "reading the cluster");
	}
	ac_sql_finalize(st);
	return rc;
}

static long long store_feedback(const char *db_path, long long project, long long cluster,
				const char *rule, const struct feedback *fb, struct ac_error *err)
{
	ac_sql *db = ac_db_open(db_path, AC_DB_WRITE, err);
	ac_sql_stmt *st = NULL;
	long long id = -1;

	if (!db)
		return -1;
	if (ac_sql_prepare_v2(db, "INSERT INTO cluster_feedback(project_id, cluster_id, rule_id, "
			       "outcome, fix, text, contact, created_at) VALUES(?,?,?,?,?,?,?,?)", -1,
			       &st, NULL) != AC_SQL_OK) {
		ac_db_error(db, err, "storing feedback");
		goto out;
	}
	ac_sql_bind_int64(st, 1, project);
	ac_sql_bind_int64(st, 2, cluster);
	if (*rule)
		ac_sql_bind_text(st, 3, rule, -1, AC_SQL_STATIC);
	ac_sql_bind_text(st, 4, fb->outcome, -1, AC_SQL_STATIC);
	if (fb->fix)
		ac_sql_bind_int64(st, 5, fb->fix);
	if (fb->text)
		ac_sql_bind_text(st, 6, fb->text, -1, AC_SQL_STATIC);
	if (fb->contact)
		ac_sql_bind_text(st, 7, fb->contact, -1, AC_SQL_STATIC);
	ac_sql_bind_double(st, 8, ac_now());
	if (ac_sql_step(st) == AC_SQL_DONE)
		id = ac_sql_last_insert_rowid(db);
	else
		ac_db_error(db, err, "storing feedback");
out:
	ac_sql_finalize(st);
	ac_db_close(db);
	return id;
}

enum MHD_Result api_cluster_feedback(struct request *r)
{
	struct ac_error err;
	struct feedback fb;
	char rule[256] = "", detail[200];
	size_t len;
	int64_t cluster;
	json_t *o;
	int rc;

	ac_error_clear(&err);
	if (req_authenticate(r, &err))
		return req_reply_error(r, err.code, err.what, err.msg);
	if (ac_parse_i64(req_arg(r), &cluster) || cluster < 1) {
		snprintf(detail, sizeof detail, "cluster id must be a positive integer, got '%.60s'",
			 req_arg(r));
		return req_reply_error(r, AC_EINVAL, "invalid_cluster_id", detail);
	}
	unsigned wait = feedback_rate_check(req_project(r));
	if (wait) {
		snprintf(detail, sizeof detail, "too much feedback from this project; retry in %u s",
			 wait);
		return req_reply_error_retry(r, AC_EBUSY, "rate_limited", detail, wait);
	}
	const char *body = req_body(r, &len);
	if (!(o = json_parse_checked(body, len, "body", &err)))
		return req_reply_error(r, err.code, err.what, err.msg);
	if (!json_is_object(o)) {
		json_decref(o);
		return req_reply_error(r, AC_EINVAL, "invalid_body", "body must be a JSON object like "
				       "{\"outcome\": \"worked\", \"fix\": 2, \"text\": \"...\"}");
	}
	if ((rc = parse_feedback(o, &fb, &err))) {
		json_decref(o);
		return req_reply_error(r, err.code, err.what, err.msg);
	}
	ac_sql *db = req_reader(r);
	rc = cluster_rule(db, cluster, req_project(r), rule, sizeof rule, &err);
	req_reader_put(r, db);
	long long project = req_project(r) < 0 ? 0 : req_project(r);
	long long id = rc ? -1 : store_feedback(req_config(r)->db_path, project, cluster, rule, &fb,
						 &err);
	json_t *reply = id > 0 ? json_pack("{s:I, s:I, s:s, s:s?}", "id", (json_int_t)id,
					   "cluster", (json_int_t)cluster, "outcome", fb.outcome,
					   "rule", *rule ? rule : NULL) : NULL;
	if (reply && fb.fix)
		json_object_set_new(reply, "fix", json_integer(fb.fix));
	json_decref(o);
	if (!reply)
		return req_reply_error(r, err.code ? err.code : AC_EDB, err.what, err.msg);
	return req_reply_json(r, 201, reply);
}

/* ------------------------------------------------------------------ moderation */

int feedback_set_hidden(ac_sql *db, long long project, long long id, bool hidden,
			struct ac_error *err)
{
	ac_sql_stmt *st = NULL;
	int rc = 0;

	if (ac_sql_prepare_v2(db, "UPDATE cluster_feedback SET hidden = ?1 WHERE id = ?2 "
			       "AND (?3 < 0 OR project_id = ?3)", -1, &st,
			       NULL) != AC_SQL_OK)
		return ac_db_error(db, err, "moderating feedback");
	ac_sql_bind_int(st, 1, hidden);
	ac_sql_bind_int64(st, 2, id);
	ac_sql_bind_int64(st, 3, project);
	if (ac_sql_step(st) != AC_SQL_DONE)
		rc = ac_db_error(db, err, "moderating feedback");
	else if (!ac_sql_changes(db))
		rc = ac_error_set(err, AC_ENOTFOUND, "not_found", "no feedback %lld", id);
	ac_sql_finalize(st);
	return rc;
}

/* POST /api/v1/feedback/<id>/hide with {"hidden": true|false}: an admin token (the route's
 * AUTH_ADMIN); another project's feedback is a 404. */
enum MHD_Result api_feedback_moderate(struct request *r)
{
	struct ac_error err;
	size_t len;
	int64_t id;
	json_t *o;

	ac_error_clear(&err);
	if (req_authenticate(r, &err))
		return req_reply_error(r, err.code, err.what, err.msg);
	if (ac_parse_i64(req_arg(r), &id) || id < 1)
		return req_reply_error(r, AC_EINVAL, "invalid_feedback_id",
				       "feedback id must be a positive integer");
	const char *body = req_body(r, &len);
	o = json_parse_checked(body, len, "body", &err);
	if (!o || !json_is_boolean(json_object_get(o, "hidden"))) {
		json_decref(o);
		return req_reply_error(r, AC_EINVAL, "invalid_body",
				       "body must be {\"hidden\": true} or {\"hidden\": false}");
	}
	bool hidden = json_is_true(json_object_get(o, "hidden"));
	json_decref(o);
	ac_sql *db = ac_db_open(req_config(r)->db_path, AC_DB_WRITE, &err);
	int rc = db ? feedback_set_hidden(db, req_project(r), id, hidden, &err) : err.code;
	ac_db_close(db);
	if (rc)
		return req_reply_error(r, err.code, err.what, err.msg);
	return req_reply_json(r, 200, json_pack("{s:I, s:b}", "id", (json_int_t)id, "hidden", hidden));
}

/* ------------------------------------------------------------------ /metrics */

void evidence_metrics(struct request *r, struct ac_buf *b)
{
	struct guide_options go = { .format = GUIDE_MARKDOWN, .project = -1 };
	struct guide_stats st;
	struct analyzer *a = req_analyzer(r);
	ac_sql *db = req_reader(r);
	int rc = db ? guide_stats(db, a ? analyzer_rules(a) : NULL, &go, 10, &st, NULL) : AC_EDB;

	if (db)
		req_reader_put(r, db);
	if (rc)
		return;
	ac_buf_printf(b, "# HELP autocoder_guide_entries Entries of the debugging guide (top 25 open problems).\n"
		      "# TYPE autocoder_guide_entries gauge\nautocoder_guide_entries %lld\n"
		      "# TYPE autocoder_guide_entries_backed gauge\n"
		      "autocoder_guide_entries_backed{min_events=\"%u\"} %lld\n"
		      "# TYPE autocoder_guide_entries_validated gauge\n"
		      "autocoder_guide_entries_validated %lld\n"
		      "# TYPE autocoder_guide_entries_positive_feedback gauge\n"
		      "autocoder_guide_entries_positive_feedback %lld\n"
		      "# HELP autocoder_guide_confidence Share of guide entries backed, validated and with positive feedback.\n"
		      "# TYPE autocoder_guide_confidence gauge\nautocoder_guide_confidence %.4f\n",
		      st.entries, st.min_events, st.backed, st.validated, st.positive,
		      st.entries ? (double)st.all / (double)st.entries : 0.0);
}

/* ------------------------------------------------------------------ report page */

#define REPORT_IDS_MAX 5000

/* POST /api/v1/report/clusters {"ids": [event ids]}: the clusters those events landed in,
 * for the "Report a problem" page (web/report.html), which has a DSN key only: any key of the
 * project may ask, and only about its own events — the reply lists nothing else of the
 * project. "pending" counts the events not clustered yet (the page polls). */
enum MHD_Result api_report_clusters(struct request *r)
{
	struct ac_error err;
	size_t len, i;
	json_t *o, *ids, *id;
	ac_sql_stmt *st = NULL;

	ac_error_clear(&err);
	if (req_authenticate(r, &err))
		return req_reply_error(r, err.code, err.what, err.msg);
	const char *body = req_body(r, &len);
	if (!(o = json_parse_checked(body, len, "body", &err)))
		return req_reply_error(r, err.code, err.what, err.msg);
	ids = json_object_get(o, "ids");
	if (!json_is_array(ids) || json_array_size(ids) > REPORT_IDS_MAX) {
		json_decref(o);
		return req_reply_error(r, AC_EINVAL, "invalid_body",
				       "body must be {\"ids\": [event ids]} with at most 5000 ids");
	}
	ac_sql *db = req_reader(r);
	json_t *clusters = json_object(), *out = json_array();
	long long pending = 0, found = 0;
	if (ac_sql_prepare_v2(db, "SELECT e.cluster_id, c.title, c.rule_id, c.count, c.status, c.kind "
			       "FROM events e LEFT JOIN clusters c ON c.id = e.cluster_id "
			       "WHERE e.event_id = ?1 AND (?2 < 0 OR e.project_id = ?2)", -1, &st,
			       NULL) != AC_SQL_OK) {
		ac_db_error(db, &err, "reading events");
		goto out;
	}
	json_array_foreach(ids, i, id) {
		if (!json_is_string(id))
			continue;
		ac_sql_reset(st);
		ac_sql_bind_text(st, 1, json_string_value(id), -1, AC_SQL_STATIC);
		ac_sql_bind_int64(st, 2, req_project(r));
		if (ac_sql_step(st) != AC_SQL_ROW)
			continue;
		found++;
		if (ac_sql_column_type(st, 0) == AC_SQL_NULL) {
			pending++;
			continue;
		}
		char key[32];
		snprintf(key, sizeof key, "%lld", (long long)ac_sql_column_int64(st, 0));
		json_t *c = json_object_get(clusters, key);
		if (!c) {
			const unsigned char *rule = ac_sql_column_text(st, 2);
			c = json_pack("{s:I, s:s, s:s?, s:I, s:s, s:s, s:I}", "id",
				      (json_int_t)ac_sql_column_int64(st, 0), "title",
				      ac_sql_column_text(st, 1) ? (const char *)ac_sql_column_text(st, 1) : "",
				      "rule_id", rule ? (const char *)rule : NULL, "count",
				      (json_int_t)ac_sql_column_int64(st, 3), "status",
				      (const char *)ac_sql_column_text(st, 4), "kind",
				      (const char *)ac_sql_column_text(st, 5), "yours", (json_int_t)0);
			json_object_set_new(clusters, key, c);
			json_array_append(out, c);
		}
		json_object_set_new(c, "yours", json_integer(json_integer_value(json_object_get(c, "yours")) + 1));
	}
out:
	ac_sql_finalize(st);
	req_reader_put(r, db);
	json_decref(clusters);
	json_decref(o);
	if (err.code) {
		json_decref(out);
		return req_reply_error(r, err.code, err.what, err.msg);
	}
	return req_reply_json(r, 200, json_pack("{s:o, s:I, s:I}", "clusters", out, "found",
						(json_int_t)found, "pending", (json_int_t)pending));
}

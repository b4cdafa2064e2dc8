/*
 * alerts_admin.c — alert rules and the delivery log for people: `autocoder alerts` and
 * GET /api/v1/alerts/deliveries. The detector and the sender are in alerts.c.
 */
#include "core/common.h"
#include "core/db.h"
#include "collector/alerts.h"
#include "collector/internal.h"

#include <jansson.h>
#include "core/sql.h"

static bool one_of(const char *s, const char *const *list)
{
	for (; *list; list++)
		if (!strcmp(s, *list))
			return true;
	return false;
}

static int check_spec(const struct alert_rule_spec *s, struct ac_error *err)
{
	static const char *const kinds[] = { "new_cluster", "regression", "spike", "fatal", NULL };
	static const char *const formats[] = { "json", "slack", "text", NULL };

	if (!s->kind || !one_of(s->kind, kinds))
		return ac_error_set(err, AC_EINVAL, "usage",
				    "--on '%s': must be new_cluster, regression, spike or fatal",
				    s->kind ? s->kind : "");
	if (s->format && !one_of(s->format, formats))
		return ac_error_set(err, AC_EINVAL, "usage", "--payload '%s': must be json, slack or text", s->format);
	if (!s->target || (strncmp(s->target, "http://", 7) && strncmp(s->target, "https://", 8) &&
			   strncmp(s->target, "mailto:", 7)))
		return ac_error_set(err, AC_EINVAL, "usage",
				    "--webhook must be an http:// or https:// URL, or --email an address");
	if (strlen(s->target) >= 500)
		return ac_error_set(err, AC_EINVAL, "usage", "the target is longer than 500 bytes");
	return 0;
}

int alerts_rule_add(const char *db_path, const struct alert_rule_spec *s, long long *id,
		    struct ac_error *err)
{
	ac_sql *db;
	ac_sql_stmt *st = NULL;
	long long project = -1;
	int rc;

	if ((rc = check_spec(s, err)))
		return rc;
	if (!(db = ac_db_open(db_path, AC_DB_WRITE, err)))
		return AC_EDB;
	rc = AC_EDB;
	if (ac_sql_prepare_v2(db, "SELECT id FROM projects WHERE name=?1", -1, &st, NULL) != AC_SQL_OK)
		goto dberr;
	ac_sql_bind_text(st, 1, s->project ? s->project : "", -1, AC_SQL_STATIC);
	if (ac_sql_step(st) == AC_SQL_ROW)
		project = ac_sql_column_int64(st, 0);
	ac_sql_finalize(st);
	st = NULL;
	if (project < 0) {
		rc = ac_error_set(err, AC_ENOTFOUND, "alerts", "no project named '%s'", s->project ? s->project : "");
		goto out;
	}
	if (ac_sql_prepare_v2(db, "INSERT INTO alert_rules(project_id, kind, target, format,"
			       " min_interval, spike_factor, match, created_at) VALUES(?1,?2,?3,?4,?5,?6,?7,?8)",
			       -1, &st, NULL) != AC_SQL_OK)
		goto dberr;
	ac_sql_bind_int64(st, 1, project);
	ac_sql_bind_text(st, 2, s->kind, -1, AC_SQL_STATIC);
	ac_sql_bind_text(st, 3, s->target, -1, AC_SQL_STATIC);
	ac_sql_bind_text(st, 4, s->format ? s->format : "json", -1, AC_SQL_STATIC);
	ac_sql_bind_double(st, 5, s->min_interval >= 0 ? s->min_interval : 3600);
	ac_sql_bind_double(st, 6, s->spike_factor > 0 ? s->spike_factor : 5);
	if (s->match)
		ac_sql_bind_text(st, 7, s->match, -1, AC_SQL_STATIC);
	else
		ac_sql_bind_null(st, 7);
	ac_sql_bind_double(st, 8, ac_now());
	if (ac_sql_step(st) != AC_SQL_DONE)
		goto dberr;
	*id = ac_sql_last_insert_rowid(db);
	rc = 0;
	goto out;
dberr:
	rc = ac_db_error(db, err, "alerts");
out:
	ac_sql_finalize(st);
	ac_db_close(db);
	return rc;
}

int alerts_rule_remove(const char *db_path, long long id, struct ac_error *err)
{
	ac_sql *db = ac_db_open(db_path, AC_DB_WRITE, err);
	char sql[160];
	int rc;

	if (!db)
		return AC_EDB;
	snprintf(sql, sizeof sql, "DELETE FROM alert_rules WHERE id=%lld; DELETE FROM alert_state"
		 " WHERE rule_id=%lld", id, id);
	rc = ac_db_exec(db, sql, err);
	if (!rc && ac_sql_changes(db) == 0 &&
	    ac_sql_total_changes(db) == 0)
		rc = ac_error_set(err, AC_ENOTFOUND, "alerts", "no alert rule %lld", id);
	ac_db_close(db);
	return rc;
}

/* Rows of a query as an array of objects (column names as keys). */
static json_t *rows_json(ac_sql *db, ac_sql_stmt *st)
{
	json_t *arr = json_array();
	int ncol = ac_sql_column_count(st);

	(void)db;
	while (ac_sql_step(st) == AC_SQL_ROW) {
		json_t *row = json_object();
		for (int i = 0; i < ncol; i++) {
			const char *k = ac_sql_column_name(st, i);
			switch (ac_sql_column_type(st, i)) {
			case AC_SQL_INTEGER: json_object_set_new(row, k, json_integer(ac_sql_column_int64(st, i))); break;
			case AC_SQL_FLOAT: json_object_set_new(row, k, json_real(ac_sql_column_double(st, i))); break;
			case AC_SQL_NULL: json_object_set_new(row, k, json_null()); break;
			default: json_object_set_new(row, k, json_string((const char *)ac_sql_column_text(st, i)));
			}
		}
		json_array_append_new(arr, row);
	}
	return arr;
}

#define LOG_SQL "SELECT d.id, d.rule_id, p.name AS project, d.cluster_id, d.kind, d.target," \
	" d.status, d.attempts, strftime('%Y-%m-%dT%H:%M:%SZ', d.created_at, 'unixepoch') AS created_at," \
	" strftime('%Y-%m-%dT%H:%M:%SZ', d.last_attempt_at, 'unixepoch') AS last_attempt_at, d.response," \
	" d.payload FROM alert_deliveries d LEFT JOIN projects p ON p.id=d.project_id"

static json_t *query_log(ac_sql *db, long long project, unsigned limit)
{
	ac_sql_stmt *st = NULL;
	json_t *arr;

	if (ac_sql_prepare_v2(db, LOG_SQL " WHERE ?1 < 0 OR d.project_id=?1 ORDER BY d.id DESC LIMIT ?2",
			       -1, &st, NULL) != AC_SQL_OK)
		return NULL;
	ac_sql_bind_int64(st, 1, project);
	ac_sql_bind_int64(st, 2, limit);
	arr = rows_json(db, st);
	ac_sql_finalize(st);
	return arr;
}

static int print_query(const char *db_path, const char *sql, long long limit, bool json,
		       void (*text)(const json_t *row), struct ac_error *err)
{
	ac_sql *db = ac_db_open(db_path, AC_DB_READ, err);
	ac_sql_stmt *st = NULL;
	json_t *arr, *row;
	size_t i;

	if (!db)
		return AC_EDB;
	if (ac_sql_prepare_v2(db, sql, -1, &st, NULL) != AC_SQL_OK) {
		int rc = ac_db_error(db, err, "alerts");
		ac_db_close(db);
		return rc;
	}
	ac_sql_bind_int64(st, 1, -1);
	ac_sql_bind_int64(st, 2, limit);
	arr = rows_json(db, st);
	ac_sql_finalize(st);
	ac_db_close(db);
	if (json) {
		json_dumpf(arr, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		putchar('\n');
	} else {
		json_array_foreach(arr, i, row)
			text(row);
	}
	json_decref(arr);
	return 0;
}

static const char *str(const json_t *row, const char *k)
{
	const char *s = json_string_value(json_object_get(row, k));
	return s ? s : "-";
}

static void rule_text(const json_t *r)
{
	printf("%lld  %-12s project %-16s -> %s  (%s, every %gs at most",
	       (long long)json_integer_value(json_object_get(r, "id")), str(r, "kind"),
	       str(r, "project"), str(r, "target"), str(r, "format"),
	       json_number_value(json_object_get(r, "min_interval")));
	if (!strcmp(str(r, "kind"), "spike"))
		printf(", factor %g", json_number_value(json_object_get(r, "spike_factor")));
	if (json_is_string(json_object_get(r, "match")))
		printf(", rule %s*", str(r, "match"));
	printf(")\n");
}

static void log_text(const json_t *d)
{
	printf("%s  #%lld %-8s %-12s cluster %lld -> %s  %d attempt(s): %s\n", str(d, "created_at"),
	       (long long)json_integer_value(json_object_get(d, "id")), str(d, "status"),
	       str(d, "kind"), (long long)json_integer_value(json_object_get(d, "cluster_id")),
	       str(d, "target"), (int)json_integer_value(json_object_get(d, "attempts")),
	       str(d, "response"));
}

int alerts_print_rules(const char *db_path, bool json, struct ac_error *err)
{
	return print_query(db_path, "SELECT r.id, p.name AS project, r.kind, r.target, r.format,"
			   " r.min_interval, r.spike_factor, r.match FROM alert_rules r LEFT JOIN"
			   " projects p ON p.id=r.project_id WHERE ?1 < 0 OR r.project_id=?1"
			   " ORDER BY r.id LIMIT ?2", 1000000, json, rule_text, err);
}

int alerts_print_log(const char *db_path, unsigned limit, bool json, struct ac_error *err)
{
	return print_query(db_path, LOG_SQL " WHERE ?1 < 0 OR d.project_id=?1 ORDER BY d.id DESC"
			   " LIMIT ?2", limit, json, log_text, err);
}

/* Webhook URLs are secrets (a Slack hook URL is its own credential): the API shows the
 * scheme and host only; `autocoder alerts log` on the server shows them whole. */
static void redact_targets(json_t *arr)
{
	size_t i;
	json_t *row;

	json_array_foreach(arr, i, row) {
		const char *t = json_string_value(json_object_get(row, "target"));
		const char *host = t ? strstr(t, "://") : NULL;
		char buf[600];
		if (!t || !host)
			continue;
		host += 3;
		snprintf(buf, sizeof buf, "%.*s/...", (int)(strcspn(host, "/?#") + (size_t)(host - t)), t);
		json_object_set_new(row, "target", json_string(buf));
	}
}

/* GET /api/v1/alerts/deliveries?limit=N — the delivery log of the caller's project. */
enum MHD_Result api_alert_deliveries(struct request *r)
{
	struct ac_error err;
	const char *l = req_query(r, "limit");
	int64_t limit = 50;
	ac_sql *db;
	json_t *arr;
	int rc;

	if ((rc = req_authenticate(r, &err)))
		return req_reply_error(r, rc, err.what, err.msg);
	if (l && (ac_parse_i64(l, &limit) || limit < 1 || limit > 1000))
		return req_reply_error(r, AC_EINVAL, "invalid_parameter", "limit must be 1..1000");
	db = req_reader(r);
	arr = query_log(db, req_project(r), (unsigned)limit);
	req_reader_put(r, db);
	if (!arr)
		return req_reply_error(r, AC_EDB, "database", "cannot read the delivery log");
	redact_targets(arr);
	return req_reply_json(r, 200, json_pack("{s:o}", "deliveries", arr));
}

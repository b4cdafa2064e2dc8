/*
 * api_faults.c — GET /api/v1/faults/runs?limit=N (read token): the fault-injection results
 * stored in this database (`autocoder faults run --db` pointed at the collector's database),
 * for the web UI's Faults page (web/faults.js). Fault runs are not project data (like the
 * bench runs): any read token sees them.
 *
 * One entry per (rule, fault): its newest run, with outcome, fix outcome, date, system,
 * autocoder version, evidence event ids and what those events said (`samples`: id, timestamp,
 * level, component, message, cluster, context; kept with the run because the run's collector
 * database is thrown away), the number of runs, and `stale` — the newest run
 * did not validate the rule but an earlier run of the same fault did (the guide's STALE,
 * analyzer/faults_run.c) — with the date of that last validating run.
 */
#include "core/common.h"
#include "collector/internal.h"

static const char faults_sql[] =
	"SELECT f.id, f.fault, f.rule_id, f.outcome, f.fix_outcome, f.ran_at, f.system, f.version,"
	" f.events, f.evidence, f.detail, f.samples,"
	" (SELECT max(p.ran_at) FROM fault_runs p WHERE p.rule_id = f.rule_id AND p.fault = f.fault"
	"   AND p.outcome = 'validated' AND p.id <> f.id),"
	" (SELECT count(*) FROM fault_runs p WHERE p.rule_id = f.rule_id AND p.fault = f.fault)"
	" FROM fault_runs f"
	" WHERE f.id = (SELECT q.id FROM fault_runs q WHERE q.rule_id = f.rule_id"
	"   AND q.fault = f.fault ORDER BY q.ran_at DESC, q.id DESC LIMIT 1)"
	" ORDER BY f.ran_at DESC, f.id DESC LIMIT ?";

static json_t *run_row(ac_sql_stmt *st)
{
	char date[32], last[32] = "";
	const char *outcome = (const char *)ac_sql_column_text(st, 3);
	json_t *ids = json_loads((const char *)ac_sql_column_text(st, 9), 0, NULL);
	json_t *samples = json_loads((const char *)ac_sql_column_text(st, 11), 0, NULL);
	bool validated_before = ac_sql_column_type(st, 12) != AC_SQL_NULL;

	if (!json_is_array(ids)) {
		json_decref(ids);
		ids = json_array();
	}
	ac_format_iso8601(ac_sql_column_double(st, 5), date, sizeof date);
	if (!json_is_array(samples)) {
		json_decref(samples);
		samples = json_array();
	}
	if (validated_before)
		ac_format_iso8601(ac_sql_column_double(st, 12), last, sizeof last);
	return json_pack("{s:I, s:s, s:s, s:s, s:s?, s:s, s:s?, s:s, s:I, s:o, s:o, s:s?, s:b, s:s?, s:I}",
			 "id", (json_int_t)ac_sql_column_int64(st, 0),
			 "fault", ac_sql_column_text(st, 1), "rule", ac_sql_column_text(st, 2),
			 "outcome", outcome, "fix", ac_sql_column_text(st, 4), "date", date,
			 "system", ac_sql_column_text(st, 6), "version", ac_sql_column_text(st, 7),
			 "events", (json_int_t)ac_sql_column_int64(st, 8), "evidence", ids,
			 "samples", samples,
			 "detail", ac_sql_column_text(st, 10),
			 "stale", strcmp(outcome, "validated") != 0 && validated_before,
			 "last_validated", validated_before ? last : NULL,
			 "runs", (json_int_t)ac_sql_column_int64(st, 13));
}

/* The newest run of each (rule, fault), newest first; NULL with err set. */
static json_t *latest_runs(ac_sql *db, int limit, struct ac_error *err)
{
	ac_sql_stmt *st = NULL;
	json_t *arr = json_array();
	int rc;

	if (ac_sql_prepare_v2(db, faults_sql, -1, &st, NULL) != AC_SQL_OK) {
		ac_error_set(err, AC_EDB, "database", "cannot read fault_runs: %s", ac_sql_errmsg(db));
		json_decref(arr);
		return NULL;
	}
	ac_sql_bind_int(st, 1, limit);
	while ((rc = ac_sql_step(st)) == AC_SQL_ROW)
		json_array_append_new(arr, run_row(st));
	if (rc != AC_SQL_DONE) {
		ac_error_set(err, AC_EDB, "database", "cannot read fault_runs: %s", ac_sql_errmsg(db));
		json_decref(arr);
		arr = NULL;
	}
	ac_sql_finalize(st);
	return arr;
}

enum MHD_Result api_faults_runs(struct request *r)
{
	static const char *const known[] = { "limit", NULL };
	struct ac_error err;
	const char *lim = req_query(r, "limit");
	int64_t limit = 100;
	json_t *runs;
	ac_sql *db;

	ac_error_clear(&err);
	if (req_authenticate(r, &err) || req_check_params(r, known, &err))
		return req_reply_error(r, err.code, err.what, err.msg);
	if (lim && (ac_parse_i64(lim, &limit) || limit < 1 || limit > 500))
		return req_reply_error(r, AC_EINVAL, "invalid_parameter",
				       "limit must be an integer from 1 to 500");
	db = req_reader(r);
	runs = latest_runs(db, (int)limit, &err);
	req_reader_put(r, db);
	if (!runs)
		return req_reply_error(r, err.code, err.what, err.msg);
	return req_reply_json(r, 200, json_pack("{s:o}", "runs", runs));
}

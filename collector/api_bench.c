/*
 * api_bench.c — GET /api/v1/bench/runs?limit=N (read token): the latest `autocoder bench`
 * runs stored in this database (`autocoder bench --db` pointed at the collector's database),
 * newest first, for the web UI's Benchmarks page (web/bench.js). Each entry carries the run's
 * whole JSON (steps, criteria, gate), so the page draws its charts without another request.
 */
#include "core/common.h"
#include "collector/internal.h"
#include "perf/perf.h"

enum MHD_Result api_bench_runs(struct request *r)
{
	struct ac_error err;
	const char *lim = req_query(r, "limit");
	long limit = 20;
	char *end = NULL;
	json_t *runs;
	ac_sql *db;

	ac_error_clear(&err);
	if (req_authenticate(r, &err))
		return req_reply_error(r, err.code, err.what, err.msg);
	if (lim && *lim) {
		limit = strtol(lim, &end, 10);
		if (*end || limit < 1 || limit > 200)
			return req_reply_error(r, AC_EINVAL, "invalid_parameter",
					       "limit must be an integer from 1 to 200");
	}
	db = req_reader(r);
	runs = perf_runs_list(db, (int)limit, &err);
	req_reader_put(r, db);
	if (!runs)
		return req_reply_error(r, err.code, err.what, err.msg);
	return req_reply_json(r, 200, json_pack("{s:o}", "runs", runs));
}

/*
 * runs.c — what `autocoder bench` keeps (perf.h): runs in the bench_runs table (core/db.c),
 * baselines (runs saved under a name), the regression gate, and the resource profile.
 *
 * The gate compares headline figures: a run's headline is its best step throughput, one per
 * repeat (--repeat N). With medians m_b (baseline) and m_c (now), change = m_c / m_b - 1. A loss
 * larger than the threshold is a "regression" — unless the two sets of repeats overlap (the
 * fastest run now is at least as fast as the slowest baseline run: the noise is as large as
 * the change), which makes it "inconclusive"; anything else is "ok". The reported spread is
 * the larger of the two relative ranges (max - min) / median.
 *
 * Latency is gated the same way: each repeat also records p50 and p99 per step
 * ("headline_latencies": [{"c=8": {"p50_ms": .., "p99_ms": ..}, ..}, ..]); for every step and
 * percentile both runs have, a median increase beyond the latency threshold (twice the
 * throughput threshold: percentiles are noisier than rates) is a regression unless the repeats
 * overlap (the fastest baseline run is no faster than the slowest run now: inconclusive). The
 * overall verdict is the worst of all figures: regression, then inconclusive, then ok.
 */
#include "core/common.h"
#include "core/db.h"
#include "perf/perf.h"

#include <errno.h>
#include <math.h>

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* Median, relative spread, smallest and largest of a JSON array of numbers. */
static void stats(const json_t *arr, double *median, double *spread, double *lo, double *hi)
{
	size_t n = json_array_size(arr), i;
	double v[64];
	json_t *x;
	*median = *spread = *lo = *hi = 0;
	if (!n)
		return;
	if (n > 64)
		n = 64;
	json_array_foreach(arr, i, x)
		if (i < n)
			v[i] = json_number_value(x);
	qsort(v, n, sizeof *v, cmp_double);
	*median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
	*spread = *median > 0 ? (v[n - 1] - v[0]) / *median : 0;
	*lo = v[0];
	*hi = v[n - 1];
}

int perf_runs_save(const char *path, json_t *run, const char *baseline, long long *id,
		   struct ac_error *err)
{
	ac_sql *db = ac_db_open(path, AC_DB_WRITE, err);
	ac_sql_stmt *st = NULL;
	char *text = NULL, *heads = NULL;
	int rc = 0;

	if (!db)
		return err ? err->code : AC_EDB;
	text = json_dumps(run, JSON_COMPACT);
	heads = json_dumps(json_object_get(run, "headline_throughputs"), JSON_COMPACT);
	if (!text || !heads) {
		rc = ac_error_set(err, AC_ENOMEM, NULL, "out of memory");
		goto out;
	}
	if (ac_sql_prepare_v2(db, "INSERT INTO bench_runs(system, started, host, load_average, "
			       "baseline, passed, headline, result) VALUES (?,?,?,?,?,?,?,?)", -1, &st, NULL)) {
		rc = ac_db_error(db, err, "bench_runs");
		goto out;
	}
	ac_sql_bind_text(st, 1, json_string_value(json_object_get(run, "system")), -1, AC_SQL_STATIC);
	ac_sql_bind_text(st, 2, json_string_value(json_object_get(run, "started")), -1, AC_SQL_STATIC);
	ac_sql_bind_text(st, 3, json_string_value(json_object_get(run, "host")), -1, AC_SQL_STATIC);
	ac_sql_bind_double(st, 4, json_number_value(json_object_get(run, "load_average")));
	if (baseline)
		ac_sql_bind_text(st, 5, baseline, -1, AC_SQL_STATIC);
	ac_sql_bind_int(st, 6, json_is_true(json_object_get(run, "passed")));
	ac_sql_bind_text(st, 7, heads, -1, AC_SQL_STATIC);
	ac_sql_bind_text(st, 8, text, -1, AC_SQL_STATIC);
	if (ac_sql_step(st) != AC_SQL_DONE) {
		rc = ac_db_error(db, err, "bench_runs");
		goto out;
	}
	*id = (long long)ac_sql_last_insert_rowid(db);
out:
	ac_sql_finalize(st);
	free(text);
	free(heads);
	ac_db_close(db);
	return rc;
}

/* The values of figure fig at step key across repeats (a JSON array, new reference). */
static json_t *latencies_of(const json_t *reps, const char *key, const char *fig)
{
	json_t *out = json_array(), *r;
	size_t i;
	json_array_foreach(reps, i, r) {
		const json_t *v = json_object_get(json_object_get(r, key), fig);
		if (json_is_number(v))
			json_array_append_new(out, json_real(json_number_value(v)));
	}
	return out;
}

static int verdict_rank(const char *v)
{
	return !strcmp(v, "regression") ? 2 : !strcmp(v, "inconclusive") ? 1 : 0;
}

/* Latency figures of current against the baseline's: appends one entry per step and percentile
 * to figs; returns the worst verdict's rank. */
static int gate_latency(const json_t *base, const json_t *cur, double threshold, json_t *figs)
{
	static const char *const pcts[] = { "p50_ms", "p99_ms" };
	const json_t *first = json_array_get(cur, 0);
	const char *key;
	json_t *v;
	int worst = 0;
	json_object_foreach((json_t *)first, key, v) {
		(void)v;
		for (size_t k = 0; k < AC_ARRAY_SIZE(pcts); k++) {
			json_t *b = latencies_of(base, key, pcts[k]), *c = latencies_of(cur, key, pcts[k]);
			double mb, sb, lob, hib, mc, sc, loc, hic;
			if (json_array_size(b) && json_array_size(c)) {
				stats(b, &mb, &sb, &lob, &hib);
				stats(c, &mc, &sc, &loc, &hic);
				double change = mb > 0 ? mc / mb - 1 : 0;
				/* overlap: the best run now is no slower than the worst baseline run */
				const char *vd = change <= threshold ? "ok" : loc <= hib ? "inconclusive"
										     : "regression";
				char fig[128];
				snprintf(fig, sizeof fig, "%s at %s", pcts[k], key);
				json_array_append_new(figs, json_pack("{s:s, s:f, s:f, s:f, s:f, s:s}",
					"figure", fig, "baseline_median", mb, "current_median", mc,
					"change", change, "spread", sb > sc ? sb : sc, "verdict", vd));
				if (verdict_rank(vd) > worst)
					worst = verdict_rank(vd);
			}
			json_decref(b);
			json_decref(c);
		}
	}
	return worst;
}

int perf_runs_gate(const char *path, const char *name, const json_t *current, double threshold,
		   json_t **verdict, struct ac_error *err)
{
	json_t *base_lat = NULL;
	ac_sql *db = ac_db_open(path, AC_DB_WRITE, err);
	ac_sql_stmt *st = NULL;
	json_t *base = NULL;
	long long base_id = 0;
	int rc = 0;

	*verdict = NULL;
	if (!db)
		return err ? err->code : AC_EDB;
	if (ac_sql_prepare_v2(db, "SELECT id, headline, result FROM bench_runs WHERE baseline = ? AND system = ? "
			       "ORDER BY id DESC LIMIT 1", -1, &st, NULL)) {
		rc = ac_db_error(db, err, "bench_runs");
		goto out;
	}
	ac_sql_bind_text(st, 1, name, -1, AC_SQL_STATIC);
	ac_sql_bind_text(st, 2, json_string_value(json_object_get(current, "system")), -1, AC_SQL_STATIC);
	if (ac_sql_step(st) == AC_SQL_ROW) {
		base_id = ac_sql_column_int64(st, 0);
		base = json_loads((const char *)ac_sql_column_text(st, 1), 0, NULL);
		json_t *res = json_loads((const char *)ac_sql_column_text(st, 2), 0, NULL);
		base_lat = json_incref(json_object_get(res, "headline_latencies"));
		json_decref(res);
	}
	if (!base) {
		rc = ac_error_set(err, AC_ENOTFOUND, NULL, "no baseline '%s' for system %s in %s "
				  "(save one with --save-baseline %s)", name,
				  json_string_value(json_object_get(current, "system")), path, name);
		goto out;
	}
	double mb, sb, mc, sc, lob, hib, loc, hic;
	stats(base, &mb, &sb, &lob, &hib);
	stats(json_object_get(current, "headline_throughputs"), &mc, &sc, &loc, &hic);
	double change = mb > 0 ? mc / mb - 1 : 0, spread = sb > sc ? sb : sc;
	/* the noise covers the change when the repeats overlap: the fastest run now is at least
	 * as fast as the slowest baseline run */
	const char *tv = change >= -threshold ? "ok" : hic >= lob ? "inconclusive" : "regression";
	json_t *figs = json_array();
	json_array_append_new(figs, json_pack("{s:s, s:f, s:f, s:f, s:f, s:s}", "figure", "throughput",
					      "baseline_median", mb, "current_median", mc, "change",
					      change, "spread", spread, "verdict", tv));
	int worst = gate_latency(base_lat, json_object_get(current, "headline_latencies"),
				 2 * threshold, figs);
	if (verdict_rank(tv) > worst)
		worst = verdict_rank(tv);
	static const char *const names[] = { "ok", "inconclusive", "regression" };
	*verdict = json_pack("{s:s, s:I, s:f, s:f, s:f, s:f, s:f, s:f, s:O, s:O, s:s, s:s, s:o}",
			     "baseline", name, "baseline_run", (json_int_t)base_id,
			     "baseline_median", mb, "current_median", mc, "change", change,
			     "spread", spread, "threshold", threshold, "latency_threshold", 2 * threshold,
			     "baseline_headlines", base,
			     "current_headlines", json_object_get(current, "headline_throughputs"),
			     "throughput_verdict", tv, "verdict", names[worst], "figures", figs);
out:
	json_decref(base_lat);
	json_decref(base);
	ac_sql_finalize(st);
	ac_db_close(db);
	return rc;
}

json_t *perf_runs_list(ac_sql *db, int limit, struct ac_error *err)
{
	ac_sql_stmt *st = NULL;
	json_t *out = json_array();
	if (ac_sql_prepare_v2(db, "SELECT id, system, started, host, load_average, baseline, passed, "
			       "headline, result FROM bench_runs ORDER BY id DESC LIMIT ?", -1, &st, NULL)) {
		ac_db_error(db, err, "bench_runs");
		json_decref(out);
		out = NULL;
		goto done;
	}
	ac_sql_bind_int(st, 1, limit);
	while (ac_sql_step(st) == AC_SQL_ROW) {
		json_t *res = json_loads((const char *)ac_sql_column_text(st, 8), 0, NULL);
		json_array_append_new(out, json_pack("{s:I, s:s, s:s, s:s, s:f, s:s?, s:b, s:o?, s:o?}",
			"id", (json_int_t)ac_sql_column_int64(st, 0),
			"system", (const char *)ac_sql_column_text(st, 1),
			"started", (const char *)ac_sql_column_text(st, 2),
			"host", (const char *)ac_sql_column_text(st, 3),
			"load_average", ac_sql_column_double(st, 4),
			"baseline", (const char *)ac_sql_column_text(st, 5),
			"passed", ac_sql_column_int(st, 6),
			"headline", json_loads((const char *)ac_sql_column_text(st, 7), 0, NULL),
			"result", res));
	}
done:
	ac_sql_finalize(st);
	return out;
}

int perf_profile_write(const char *path, const json_t *run, double headroom, struct ac_error *err)
{
	const json_t *sz = json_object_get(run, "sizing_step");
	const json_t *steps = json_object_get(run, "steps"), *step = NULL, *s;
	size_t i;
	if (json_is_integer(sz))
		step = json_array_get(steps, (size_t)json_integer_value(sz));
	if (!step)
		return ac_error_set(err, AC_EINVAL, "no_sizing_point",
				    "no step held the SLO: no load to size for (see the criteria above)");
	/* memory: the peak of the whole run (it only grows) */
	double hwm = 0;
	json_array_foreach(steps, i, s)
		if (json_number_value(json_object_get(s, "rss_peak_kb")) > hwm)
			hwm = json_number_value(json_object_get(s, "rss_peak_kb"));
	double cores = json_number_value(json_object_get(step, "cpu_cores"));
	long cpu_req = (long)ceil(cores * 1000 * (1 + headroom));
	long mem_req = (long)ceil(hwm / 1024 * (1 + headroom));
	if (cpu_req < 10)
		cpu_req = 10;
	if (mem_req < 32)
		mem_req = 32;
	char source[512], which[48] = "a run (not stored)";
	if (json_is_integer(json_object_get(run, "run_id")))
		snprintf(which, sizeof which, "run %lld", (long long)json_integer_value(json_object_get(run, "run_id")));
	snprintf(source, sizeof source, "autocoder bench %s of %s on %s (%d cores, load average %.2f) at %s: "
		 "%.0f/s at the sizing step using %.2f cores, peak RSS %.1f MiB, headroom %.0f%%",
		 which, json_string_value(json_object_get(run, "system")), json_string_value(json_object_get(run, "host")),
		 (int)json_integer_value(json_object_get(run, "cores")),
		 json_number_value(json_object_get(run, "load_average")),
		 json_string_value(json_object_get(run, "started")),
		 json_number_value(json_object_get(step, "throughput")), cores, hwm / 1024, headroom * 100);
	/* the HPA keeps each pod at the measured load: utilisation = measured / request */
	long hpa = (long)(100.0 / (1 + headroom));
	json_t *prof = json_pack("{s:s, s:s, s:f, s:I, s:I, s:I, s:I, s:I, s:s}",
		"kind", "autocoder-resource-profile", "system", json_string_value(json_object_get(run, "system")),
		"throughput_at_sizing", json_number_value(json_object_get(step, "throughput")),
		"cpu_request_m", (json_int_t)cpu_req, "cpu_limit_m", (json_int_t)(2 * cpu_req),
		"mem_request_mi", (json_int_t)mem_req, "mem_limit_mi", (json_int_t)(2 * mem_req),
		"hpa_cpu_target", (json_int_t)(hpa < 10 ? 10 : hpa),
		"source", source);
	int rc = json_dump_file(prof, path, JSON_INDENT(2)) ?
		 ac_error_set(err, AC_EIO, NULL, "%s: cannot write: %s", path, strerror(errno)) : 0;
	json_decref(prof);
	return rc;
}

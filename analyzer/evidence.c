/*
 * evidence.c — feedback on fix steps for the guide (see evidence.h): counts per step from
 * cluster_feedback, the Wilson lower bound that ranks them, the newest comments and the
 * causes users reported that no rule names.
 */
#include "core/common.h"
#include "core/db.h"
#include "analyzer/evidence.h"

#include <math.h>

double evidence_wilson_lower(long long k, long long n)
{
	const double z = 1.96;
	if (n <= 0)
		return 0;
	double p = (double)k / (double)n, nn = (double)n;
	double centre = p + z * z / (2 * nn);
	double margin = z * sqrt(p * (1 - p) / nn + z * z / (4 * nn * nn));
	return (centre - margin) / (1 + z * z / nn);
}

/* "WHERE ..." for the entry: the rule's clusters, or the one cluster. */
static const char *scope_sql(const char *rule_id)
{
	return rule_id ? "rule_id = ?1 AND (?2 < 0 OR project_id = ?2) AND hidden = 0"
		       : "cluster_id = ?1 AND (?2 < 0 OR project_id = ?2) AND hidden = 0";
}

static void bind_scope(ac_sql_stmt *st, const char *rule_id, long long cluster, long long project)
{
	if (rule_id)
		ac_sql_bind_text(st, 1, rule_id, -1, AC_SQL_STATIC);
	else
		ac_sql_bind_int64(st, 1, cluster);
	ac_sql_bind_int64(st, 2, project);
}

int evidence_feedback(ac_sql *db, const char *rule_id, long long cluster, long long project,
		      struct entry_feedback *out, struct ac_error *err)
{
	char sql[512];
	ac_sql_stmt *st = NULL;

	memset(out, 0, sizeof *out);
	out->comments = json_array();
	out->other_causes = json_array();
	snprintf(sql, sizeof sql, "SELECT outcome, fix, text, created_at FROM cluster_feedback "
		 "WHERE %s ORDER BY created_at DESC, id DESC", scope_sql(rule_id));
	if (ac_sql_prepare_v2(db, sql, -1, &st, NULL) != AC_SQL_OK)
		return ac_db_error(db, err, "reading feedback");
	bind_scope(st, rule_id, cluster, project);
	while (ac_sql_step(st) == AC_SQL_ROW) {
		const char *outcome = (const char *)ac_sql_column_text(st, 0);
		long long fix = ac_sql_column_int64(st, 1);
		const char *text = (const char *)ac_sql_column_text(st, 2);
		char at[32];
		ac_format_iso8601(ac_sql_column_double(st, 3), at, sizeof at);
		at[10] = '\0';
		if (!strcmp(outcome, "other_cause")) {
			out->other++;
			if (text && json_array_size(out->other_causes) < 5)
				json_array_append_new(out->other_causes,
						      json_pack("{s:s, s:s}", "text", text, "at", at));
			continue;
		}
		bool worked = !strcmp(outcome, "worked");
		worked ? out->worked++ : out->failed++;
		if (fix >= 1 && fix <= EVIDENCE_MAX_STEPS)
			worked ? out->step[fix - 1].worked++ : out->step[fix - 1].failed++;
		if (text && json_array_size(out->comments) < 3)
			json_array_append_new(out->comments,
					      json_pack("{s:s, s:I, s:s, s:s}", "outcome", outcome, "fix",
							(json_int_t)fix, "text", text, "at", at));
	}
	ac_sql_finalize(st);
	for (size_t i = 0; i < EVIDENCE_MAX_STEPS; i++)
		out->step[i].lower = evidence_wilson_lower(out->step[i].worked,
							   out->step[i].worked + out->step[i].failed);
	return 0;
}

void evidence_feedback_release(struct entry_feedback *fb)
{
	json_decref(fb->comments);
	json_decref(fb->other_causes);
	fb->comments = fb->other_causes = NULL;
}

void evidence_fix_order(const struct entry_feedback *fb, size_t nsteps, size_t *order)
{
	for (size_t i = 0; i < nsteps; i++)
		order[i] = i;
	/* insertion sort: stable, a handful of steps */
	for (size_t i = 1; i < nsteps; i++) {
		size_t v = order[i], j = i;
		double lv = v < EVIDENCE_MAX_STEPS ? fb->step[v].lower : 0;
		while (j > 0) {
			size_t u = order[j - 1];
			double lu = u < EVIDENCE_MAX_STEPS ? fb->step[u].lower : 0;
			if (lu >= lv)
				break;
			order[j] = u;
			j--;
		}
		order[j] = v;
	}
}

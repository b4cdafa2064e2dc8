/*
 * evidence.h — what backs a guide entry beyond its event count: user feedback on the rule's
 * fix steps (cluster_feedback, written by POST /api/v1/clusters/<id>/feedback); the guide
 * (guide.c) ranks fix steps and quotes comments with it, and its --stats figures count it.
 *
 * Fix steps are ranked by the Wilson score lower bound (95 %) of "worked" among the reports
 * on that step: a step that worked 9 times of 10 ranks above one that worked once of once.
 * Feedback is counted per rule (every cluster of the rule) when the cluster has one, else
 * per cluster; hidden (moderated) reports are ignored.
 */
#ifndef AC_EVIDENCE_H
#define AC_EVIDENCE_H

#include <jansson.h>
#include "core/sql.h"
#include <stdbool.h>
#include <stddef.h>

struct ac_error;

#define EVIDENCE_MAX_STEPS 32

struct fix_feedback {
	long long worked, failed;
	double lower;        /* Wilson lower bound of worked / (worked + failed); 0 when none */
};

struct entry_feedback {
	struct fix_feedback step[EVIDENCE_MAX_STEPS];   /* index = step - 1 */
	long long worked, failed, other;               /* all reports */
	json_t *comments;      /* newest texts on fix steps: [{outcome, fix, text, at}] (<= 3) */
	json_t *other_causes;  /* newest "other cause" texts: [{text, at}] (<= 5) */
};

/* Wilson score interval lower bound at 95 % for k successes of n; 0 when n is 0. */
double evidence_wilson_lower(long long k, long long n);

/* Feedback for a guide entry: by rule when rule_id is set, else by cluster. 0 or AC_EDB. */
int evidence_feedback(ac_sql *db, const char *rule_id, long long cluster, long long project,
		      struct entry_feedback *out, struct ac_error *err);
void evidence_feedback_release(struct entry_feedback *fb);

/* Step order by feedback: order[i] = 0-based step shown i-th (by Wilson lower bound, then the
 * rule's order). */
void evidence_fix_order(const struct entry_feedback *fb, size_t nsteps, size_t *order);

#endif

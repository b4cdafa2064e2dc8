/*
 * guide.h — the debugging guide: the open problems in a database, ranked by impact, with what
 * the rules know about them, in Markdown or HTML.
 *
 * Which clusters: live (not merged, not split), status open, with events, and either of kind
 * error/crash or with an event at level warning or above. Ranked by impact = events x systems
 * affected (at least 1), then events in the last 24 hours, then cluster id. For each: the
 * symptom (template, or the crash site for fingerprinted errors), numbers (events, systems,
 * components, releases, first/last seen, a 7-day trend from cluster_hourly ending at `now`),
 * the matched rule's causes and fix steps, 1-3 example events with their stack, and how well
 * backed the entry is (rule or not, number of observations). Clusters no rule matches are
 * listed under "Unknown patterns" with a suggested rule (rules_suggest_rule) to paste into a
 * pack. Every number comes from stored counts; the output depends only on the database, the
 * rules and `now`, so it can be compared byte for byte (golden tests).
 */
#ifndef AC_GUIDE_H
#define AC_GUIDE_H

#include "core/sql.h"
#include <stddef.h>

struct ac_error;
struct rules;

enum guide_format { GUIDE_MARKDOWN, GUIDE_HTML };

struct guide_options {
	enum guide_format format;
	double now;          /* end of the trend window, "generated at"; 0: the clock */
	unsigned limit;      /* clusters in the guide (default 25) */
	long long project;   /* -1: every project */
};

/* Render the guide. rules may be NULL (entries then name the rule id only). On success *out is
 * a new NUL-terminated string the caller frees and *len its length. 0, AC_EDB, AC_ENOMEM or
 * AC_ETOOBIG (larger than 16 MiB). */
int guide_render(ac_sql *db, const struct rules *rules, const struct guide_options *o,
		 char **out, size_t *len, struct ac_error *err);

/* Documentation confidence (evidence, issue 14): over the guide's entries (same selection and
 * limit as guide_render), how many are backed by >= min_events events, validated by a fault
 * run (analyzer/faults.h), with positive feedback (analyzer/evidence.h), and all three. */
struct guide_stats {
	unsigned min_events;
	long long entries, with_rule, backed, validated, stale, positive, all;
};
int guide_stats(ac_sql *db, const struct rules *rules, const struct guide_options *o,
		unsigned min_events, struct guide_stats *st, struct ac_error *err);

/* "md"/"markdown" or "html" -> format; AC_EINVAL otherwise. */
int guide_parse_format(const char *s, enum guide_format *out);

#endif

/*
 * clusters.h — reading clusters back (the API's JSON and the guide's numbers) from any
 * connection, read-only. The stored aggregates (count, breakdowns, hourly series) are the only
 * source of numbers: nothing here recounts events.
 *
 * JSON of a cluster (clusters_list items, and the top of cluster_detail):
 *   {id, kind, title, basis, fingerprint, rule_id|null, rule_title|null, template|null,
 *    level ("debug".."fatal", the highest seen), count, systems (distinct systems), first_seen,
 *    last_seen (ISO-8601), status, resolved_at, regressed_at (ISO or null), merged_into,
 *    split_from (ids or null), last_24h, prev_24h (events in the 24 h before `now` and the
 *    24 h before that: the trend)}
 * cluster_detail adds:
 *   rule      the matched rule (rule_json: causes, fix steps, ...) or {"id": ...} when the rule
 *             is not loaded, or null
 *   dims      {"system": {"value": count}, "component": ..., "release": ..., "environment": ...,
 *              "level": ...}
 *   hourly    [{"hour": ISO, "count": n}] for the 7 days (168 hours) up to `now`, hours without
 *             events omitted, oldest first
 *   events    the newest events (API shape + "explanation": why it joined)
 *   grouping  {"basis", "key", "explanation": the newest event's explanation}
 *   children  ids of clusters a split made from it (split clusters only)
 */
#ifndef AC_CLUSTERS_H
#define AC_CLUSTERS_H

#include <jansson.h>
#include "core/sql.h"

struct ac_error;
struct rules;

struct cluster_query {
	const char *q;          /* substring of title, template or rule id */
	const char *status;     /* open|resolved|ignored; NULL or "all": any */
	const char *system, *component, *level, *kind;  /* exact; NULL: any */
	double since;           /* last_seen >= since (0: any) */
	const char *sort;       /* count (default) | last_seen | trend */
	unsigned limit;         /* default 50, at most 500 */
	unsigned offset;        /* paging */
	long long project;      /* -1: every project */
	double now;             /* for last_24h/prev_24h; 0: the clock */
};

/* {"clusters": [...], "total": n, "next_offset": n|null}. Merged and split clusters are never
 * listed. 0; AC_EINVAL (bad status or sort, naming it); AC_EDB. *out is a new reference. */
int clusters_list(ac_sql *db, const struct cluster_query *q, json_t **out, struct ac_error *err);

/* One cluster with details (see above); `events` newest events (default 10 when 0). rules may
 * be NULL. 0; AC_ENOTFOUND (absent or in another project); AC_EDB. */
int cluster_detail(ac_sql *db, const struct rules *rules, long long id, long long project,
		   double now, unsigned events, json_t **out, struct ac_error *err);

/* The level name of a rank 0..4 ("debug" .. "fatal"). */
const char *cluster_level_name(int rank);

#endif

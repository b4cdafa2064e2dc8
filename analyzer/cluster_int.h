/*
 * cluster_int.h — private to analyzer/cluster*.c: the analyzer's state and the one routine
 * that puts an event into a cluster (used by online processing, rebuild and split).
 */
#ifndef AC_CLUSTER_INT_H
#define AC_CLUSTER_INT_H

#include <jansson.h>
#include <pthread.h>
#include "core/sql.h"
#include <stdbool.h>

#include "analyzer/analyzer.h"

struct masker;
struct miner;
struct rules;

enum cl_stmt {
	ST_FIND, ST_BY_ID, ST_INSERT, ST_UPDATE, ST_DIM, ST_HOUR, ST_GROUPING, ST_EVENT_CLUSTER,
	ST_STATE, ST_KIND_UP, ST__COUNT
};

struct analyzer {
	ac_sql *db;
	struct rules *rules;
	struct miner *miner;
	struct masker *masker;
	ac_sql_stmt *st[ST__COUNT];
	long long last_id;
	long long generation;      /* analyzer_state.generation this analyzer's memory matches */
	size_t batch;
	bool rules_changed;        /* the rule packs differ from those the clusters were labelled by */
	pthread_mutex_t lock;      /* serialises every public call */
	/* background thread */
	pthread_mutex_t wake_lock;
	pthread_cond_t wake;
	pthread_t thread;
	bool running, stopping, pending;
};

#define CL_KEY_MAX 256
#define CL_DIMS 5

/* One event on its way into a cluster. Strings are borrowed unless noted. */
struct grouping {
	long long event, project;
	double ts, received;
	int level;                       /* 0 debug .. 4 fatal */
	const char *kind;
	const char *dim[CL_DIMS];        /* system, component, release, environment, level */
	const json_t *ev;                /* the stored event, for a split's stricter key */
	char key[CL_KEY_MAX];
	const char *basis;
	const char *title;               /* for the cluster when the key is its own */
	const char *template;
	long template_id;                /* 0: not a mined message */
	const char *rule_id;             /* NULL: no rule */
	const char *captures;            /* JSON text or NULL */
	const char *explanation;         /* why this key */
};

extern const char *const cl_dim_names[CL_DIMS];

/* Put g's event into its cluster (resolving merges and splits, creating rows) and update
 * counts, breakdowns, series, the event's cluster_id and its explanation. Inside a
 * transaction. *cluster (optional) receives the cluster id. 0 or AC_EDB/AC_ENOMEM. */
int cl_apply(struct analyzer *a, const struct grouping *g, long long *cluster,
	     struct ac_error *err);
/* Rank of a level name: debug 0, info 1, warning 2, error 3, fatal 4 (unknown: 1). */
int cl_level_rank(const char *level);
/* The stricter key a split uses, as 16 hex digits, and a title for the child (new string the
 * caller frees, or NULL on ENOMEM). */
char *cl_strict_key(struct analyzer *a, const json_t *ev, char hex[17]);
/* Truncate s in place to at most max bytes without cutting a UTF-8 sequence. */
void cl_utf8_truncate(char *s, size_t max);
/* BEGIN IMMEDIATE / COMMIT / ROLLBACK on the analyzer's connection. */
int cl_begin(struct analyzer *a, struct ac_error *err);
int cl_commit(struct analyzer *a, struct ac_error *err);
void cl_rollback(struct analyzer *a);
/* Load a cluster row: *merged (0 = none), *split, project, status (buffer >= 16). 0,
 * AC_ENOTFOUND or AC_EDB. */
int cl_cluster_row(struct analyzer *a, long long id, long long *merged, bool *split,
		   long long *project, char *status, size_t status_len, struct ac_error *err);
/* Move cluster `from` into `into` (events, counts, breakdowns, series; from.merged_into =
 * into). Inside a transaction; no checks. 0 or AC_EDB. */
int cl_merge_rows(struct analyzer *a, long long into, long long from, struct ac_error *err);
/* Events per transaction in merge, split and unmerge (analyzer_set_chunk_rows). */
extern size_t cl_chunk_rows;
/* Finish a merge, split or unmerge a crash or error interrupted (journal in analyzer_state,
 * see cluster_ops.c). Not in a transaction. 0 or AC_EDB/AC_ENOMEM. */
int cl_resume_op(struct analyzer *a, struct ac_error *err);
/* Set an analyzer_state value. 0 or AC_EDB. */
int cl_state_set(struct analyzer *a, const char *key, const char *value, struct ac_error *err);

#endif

/*
 * retention.h — deleting old events so the database stops growing, and reporting its size.
 *
 * A policy bounds a project's events by age (seconds since received_at), by count and by
 * estimated bytes; 0 means unlimited. `serve --retention-*` gives the defaults (90 days, no
 * count or byte limit); the retention table (core/db.h) holds per-project overrides set with
 * `autocoder db retention`. A pass deletes each project's oldest events beyond its policy in
 * transactions of at most RETENTION_BATCH events (the collector's writer takes its turn
 * between them), with their event_grouping rows; clusters, their counts, first/last seen,
 * dimensions and hourly series are not touched, so a cluster whose last event is gone stays
 * with its history. When the analyzer runs (serve --rules) events it has not clustered yet
 * are never deleted. After a pass that deleted something, freed pages go back to the file
 * system (PRAGMA incremental_vacuum in small steps) and the WAL is checkpointed and truncated.
 */
#ifndef AC_RETENTION_H
#define AC_RETENTION_H

#include <stdbool.h>

struct ac_error;
struct retention;

#define RETENTION_BATCH 500

struct retention_policy {
	double max_age_seconds;   /* 0 = unlimited */
	long long max_events;     /* 0 = unlimited */
	long long max_bytes;      /* 0 = unlimited; estimated, see retention.c */
};

/* Parse "90d", "12h", "30m", "45s" or plain seconds into seconds (> 0, or "0" = unlimited). */
int retention_parse_age(const char *s, double *out);

/* One pass over every project. *deleted (may be NULL) receives the events deleted.
 * guard_unclustered: keep events above analyzer_state.last_event_id. */
int retention_pass(const char *db_path, const struct retention_policy *defaults,
		   bool guard_unclustered, unsigned long *deleted, struct ac_error *err);

/* A thread running retention_pass every interval seconds (first pass right away). */
int retention_start(const char *db_path, const struct retention_policy *defaults,
		    double interval, bool guard_unclustered, struct retention **out,
		    struct ac_error *err);
/* Events deleted since start (for /metrics), and passes completed. */
unsigned long retention_deleted_total(struct retention *r);
unsigned long retention_passes(struct retention *r);
/* Stop and join the thread (a pass in progress finishes its current batch). Safe on NULL. */
void retention_stop(struct retention *r);

/* Per-project overrides. A negative field leaves the stored value (or default) unchanged;
 * reset = true removes the project's row (back to the serve defaults). */
int retention_set(const char *db_path, const char *project, const struct retention_policy *p,
		  bool reset, struct ac_error *err);

/* Print the database's size per table/index (dbstat) and per project to stdout; json = one
 * JSON object instead of text. */
int retention_print_stats(const char *db_path, bool json, struct ac_error *err);

#endif

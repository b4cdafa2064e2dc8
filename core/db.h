/*
 * db.h — the SQLite database: opening, pragmas, schema and forward migrations.
 *
 * The schema version lives in PRAGMA user_version. Migrations are an ordered table of SQL
 * scripts in db.c; db_open() applies every migration newer than the file's version, each in
 * its own transaction, so a database is always at a whole version. Never edit a shipped
 * migration: append a new one.
 *
 * Schema (version 1):
 *   projects(id, name UNIQUE, created_at)
 *   keys(id, project_id, public_key UNIQUE, token UNIQUE, scope 'ingest'|'read'|'admin',
 *        created_at, revoked)
 *   events(id INTEGER PRIMARY KEY, event_id TEXT UNIQUE, project_id, received_at REAL,
 *          timestamp REAL, level, kind 'log'|'error'|'crash', system, component, release,
 *          environment, message, exc_type, exc_value, fingerprint (JSON text or NULL),
 *          source 'native'|'log'|'crash'|'sentry'|'otlp', raw (normalised event JSON),
 *          cluster_id)
 *   item_counts(project_id, item_type, count)  -- Sentry envelope items accepted but not stored
 *
 * -- an-mining block (template miner state, analyzer/miner.h; version 2 on the an-mining branch)
 *   templates(id INTEGER PRIMARY KEY  -- cluster id of the miner, 1..N dense, creation order
 *             template TEXT           -- tokens joined by single spaces, <*> and <IP>... params
 *             tokens INTEGER          -- number of tokens (the tree's first level)
 *             count INTEGER           -- lines that joined the cluster
 *             merged_into INTEGER     -- NULL while live; else the older cluster that absorbed
 *                                     -- it (its template turned out to differ only in
 *                                     -- variable positions)
 *             updated_at REAL)        -- unix seconds of the last save that changed the row
 *   miner_config(key TEXT PRIMARY KEY, value TEXT)
 *             -- sim_threshold, depth, max_children, masks (built-in list), user_masks
 *             -- ("NAME=PCRE" lines); the stored configuration wins when the state is loaded
 * -- end an-mining block
 *   miner_families(key INTEGER PRIMARY KEY -- (appended by analyzer2, issue 12) hash of a
 *                                          -- template's tokens but one position
 *             pos INTEGER, merged INTEGER  -- that position; 0 or the cluster it merged into
 *             ids TEXT)                    -- space-separated cluster ids, one per word seen
 *             -- the miner's constant/variable evidence, saved so a restart groups the same
 *
 * -- an-clusters block (clusters of events, analyzer/analyzer.h; version 3 on an-clusters)
 *   clusters(id INTEGER PRIMARY KEY,
 *            project_id     -- events.project_id (0 when NULL); clusters never span projects
 *            kind           -- 'log'|'error'|'crash' (the events' kind)
 *            fingerprint    -- grouping key within (project, kind): a fingerprint hash
 *                              (32 hex), 'tpl:<templates.id>' for mined messages, or
 *                              '<parent key>/<hash>' for a cluster made by a split
 *            basis          -- in_app_frames|all_frames|type_message|message|custom|template
 *            title, rule_id (first matching rule, or NULL), template (mined template or
 *            masked "Type: value"), max_level (0 debug .. 4 fatal),
 *            count, first_seen, last_seen (event timestamps, unix seconds),
 *            status 'open'|'resolved'|'ignored', resolved_at (server clock),
 *            regressed_at (an event received after resolved_at reopened it),
 *            merged_into    -- cluster that now holds this one's events (NULL = live)
 *            split          -- 1: events with this key are routed to children by a stricter
 *                              key (the row stays as the routing parent, count 0)
 *            split_from     -- the parent of a split child,
 *            created_at, updated_at)
 *            UNIQUE(project_id, kind, fingerprint)
 *   cluster_dims(cluster_id, dim 'system'|'component'|'release'|'environment'|'level',
 *                value, count)  PRIMARY KEY(cluster_id, dim, value)
 *   cluster_hourly(cluster_id, hour (unix seconds / 3600, floor), count)
 *   event_grouping(event (= events.id) PRIMARY KEY, cluster_id, basis, key, template_id,
 *                  rule_id, captures (JSON object or NULL), explanation (human text))
 *                  -- why each event joined its cluster
 *   analyzer_state(key TEXT PRIMARY KEY, value TEXT)
 *                  -- last_event_id (highest events.id clustered), rules_digest
 * -- end an-clusters block
 *   bench_runs     id, system, started, host, load_average, baseline (name or NULL), passed,
 *                  headline (JSON array: best throughput per repeat), result (the run's JSON)
 *                  -- `autocoder bench` (perf/perf.h)
 *
 * -- ops block (collector/retention.c)
 *   retention(project_id PRIMARY KEY, max_age_seconds, max_events, max_bytes, updated_at)
 *                  -- per-project overrides of serve's --retention-* defaults; NULL = the
 *                  -- default, 0 = unlimited. Index events_project_received(project_id,
 *                  -- received_at) serves the retention passes.
 *   alert_rules(id, project_id, kind 'new_cluster'|'regression'|'spike'|'fatal', target
 *               (http(s) URL or mailto:ADDR), format 'json'|'slack'|'text', min_interval (s),
 *               spike_factor, match (rule id prefix for 'fatal', or NULL), created_at)
 *   alert_state(rule_id, cluster_id, last_sent_at, last_regressed_at, suppressed)
 *   alert_deliveries(id, rule_id, project_id, cluster_id, kind, target, payload, status
 *               'pending'|'sent'|'failed', attempts, created_at, next_attempt_at,
 *               last_attempt_at, response)   -- the delivery log
 *   alert_meta(key, value)   -- last_cluster_id, scanned_at (the detector's watermarks)
 * -- end ops block
 *
 * Files are created with auto_vacuum=INCREMENTAL (older files are converted once, with a
 * VACUUM, when first opened for writing) and journal_size_limit=64 MiB.
 *
 * -- evidence block (issue 14: analyzer/faults.h, collector/api_feedback.c)
 *   fault_runs(id, fault, rule_id, outcome 'validated'|'failed', fix_outcome 'recovered'|
 *              'not_recovered'|NULL, detail, ran_at (unix s), system, version (autocoder),
 *              events (evidence count), evidence (JSON array of event ids))
 *   cluster_feedback(id, project_id, cluster_id, rule_id (the cluster's rule then), outcome
 *              'worked'|'failed'|'other_cause', fix (1-based step), text, contact,
 *              created_at (unix s), hidden (moderation))
 * -- end evidence block
 *
 * Connections: one writer connection (collector writer thread), any number of readers.
 * All connections use WAL, synchronous=FULL for the writer (a 2xx means durable), a busy
 * timeout, and foreign keys on.
 *
 * PostgreSQL (a locator "postgres://..." or "postgresql://..."; see core/db_pg.c): the same
 * tables and version, created and migrated by ac_db_open(AC_DB_WRITE) under an advisory
 * lock, the version in table ac_schema. events is partitioned by received_at (one partition
 * per UTC day plus a default one); (project_id, event_id) idempotency is kept by the
 * non-partitioned table event_ids, written in the same statement as the event. Statements
 * that must differ between the backends are named in enum ac_db_stmt (ac_db_sql()).
 */
#ifndef AC_DB_H
#define AC_DB_H

#include "core/sql.h"

#include <stdbool.h>

struct ac_error;

enum ac_db_mode { AC_DB_READ, AC_DB_WRITE };

/* A database locator: "postgres://..." / "postgresql://..." (PostgreSQL, a libpq URI),
 * "sqlite:PATH" or PATH (an SQLite file). */
bool ac_db_is_postgres(const char *locator);
/* The SQLite file of a locator, or NULL for PostgreSQL. */
const char *ac_db_sqlite_path(const char *locator);

/* Open (creating if needed, and migrating when mode is AC_DB_WRITE) the database at path.
 * Returns a connection the caller closes with ac_db_close(), or NULL with err set.
 * A read connection on a database whose schema is older than this binary fails. */
ac_sql *ac_db_open(const char *path, enum ac_db_mode mode, struct ac_error *err);
void ac_db_close(ac_sql *db);
/* Current schema version of this binary. */
int ac_db_schema_version(void);
/* The schema version (PRAGMA user_version) of the file at path, opened read-only and not
 * migrated. AC_ENOTFOUND when the file does not exist. */
int ac_db_file_version(const char *path, int *version, struct ac_error *err);
/* Copy the database at src_path to the new file dst_path with SQLite's online backup API
 * (safe while `serve` writes), then run PRAGMA integrity_check on the copy. Fails without
 * leaving dst_path behind; refuses an existing dst_path. */
struct ac_db_backup_info {
	int schema_version;
	int pages;
	char integrity[64];
};
int ac_db_backup(const char *src_path, const char *dst_path, struct ac_db_backup_info *info,
		 struct ac_error *err);
/* Run SQL (no results). 0 or AC_EDB with err set to SQLite's message. */
int ac_db_exec(ac_sql *db, const char *sql, struct ac_error *err);
/* Fill err from the connection's last error; returns AC_EDB. */
int ac_db_error(ac_sql *db, struct ac_error *err, const char *context);


/* Begin a write transaction serialised with every other transaction begun with the same
 * lock, in any process: SQLite "BEGIN IMMEDIATE" (its one write lock); PostgreSQL "BEGIN" and
 * pg_advisory_xact_lock(lock), released at COMMIT/ROLLBACK or when the session dies. */
enum { AC_DB_LOCK_ANALYZER = 7123010 };
int ac_db_begin_serialized(ac_sql *db, long long lock, struct ac_error *err);

/* Event ids are allocated in order but, with several collectors on PostgreSQL, committed out
 * of order: an analyzer that read "id > last" could step over an id whose transaction had not
 * committed yet and never see it. So every writer transaction takes a shared advisory lock at
 * its start (ac_db_ingest_guard, held until COMMIT/ROLLBACK), and the analyzer asks for the
 * committed horizon: it takes that lock exclusively for a moment (no writer transaction is in
 * flight then) and reads the highest id; every id at or below it is committed or gone for
 * good, and ids allocated later are higher. SQLite has one writer: the guard does nothing and
 * the horizon is LLONG_MAX. */
enum { AC_DB_LOCK_INGEST = 7123011 };
int ac_db_ingest_guard(ac_sql *db, struct ac_error *err);
int ac_db_committed_horizon(ac_sql *db, long long *horizon, struct ac_error *err);

/* Statements whose text differs between SQLite and PostgreSQL (core/db_sql.c holds both). */
enum ac_db_stmt {
	AC_DB_EVENT_INSERT,       /* the writer's event insert, idempotent on (project, event_id) */
	AC_DB_STMT__COUNT
};
const char *ac_db_sql(ac_sql *db, enum ac_db_stmt which);

/* PostgreSQL housekeeping (no-ops returning 0 on SQLite): make sure the daily partitions of
 * events around now exist; drop the day partitions that hold only events received before
 * cutoff (unix seconds) with ids <= max_id, adding the number of events they held to
 * *dropped. */
int ac_db_prepare_partitions(ac_sql *db, double now, struct ac_error *err);
/* The same for every day from `from` to `to` (unix seconds; at most ten years). */
int ac_db_partition_days(ac_sql *db, double from, double to, struct ac_error *err);
int ac_db_drop_partitions_before(ac_sql *db, double cutoff, long long max_id,
				 long long *dropped, struct ac_error *err);

/* Copy every table of the database `from` into the empty database `to` (both are created or
 * migrated to this binary's schema first), ids kept, in one transaction on `to`, and verify
 * the row counts of every table before COMMIT. progress (may be NULL) is called per table. */
typedef void (*ac_db_copy_progress)(void *arg, const char *table, long long rows);
int ac_db_copy(const char *from, const char *to, ac_db_copy_progress progress, void *arg,
	       struct ac_error *err);

#endif
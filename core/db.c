/*
 * db.c — opening connections, pragmas and the migration table. See db.h for the schema.
 */
#include "core/common.h"
#include "core/db.h"

#include <pthread.h>

#include <stdio.h>

/* Append-only: migrations[i] takes the database from version i to i+1. */
static const char *const migrations[] = {
	/* 1: projects, keys, events */
	"CREATE TABLE projects("
	"  id INTEGER PRIMARY KEY,"
	"  name TEXT NOT NULL UNIQUE,"
	"  created_at REAL NOT NULL);"
	"CREATE TABLE keys("
	"  id INTEGER PRIMARY KEY,"
	"  project_id INTEGER NOT NULL REFERENCES projects(id),"
	"  public_key TEXT NOT NULL UNIQUE,"
	"  token TEXT NOT NULL UNIQUE,"
	"  scope TEXT NOT NULL DEFAULT 'ingest',"
	"  created_at REAL NOT NULL,"
	"  revoked INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE events("
	"  id INTEGER PRIMARY KEY,"
	"  event_id TEXT NOT NULL UNIQUE,"
	"  project_id INTEGER,"
	"  received_at REAL NOT NULL,"
	"  timestamp REAL NOT NULL,"
	"  level TEXT NOT NULL,"
	"  kind TEXT NOT NULL,"
	"  system TEXT,"
	"  component TEXT,"
	"  release TEXT,"
	"  environment TEXT,"
	"  message TEXT,"
	"  exc_type TEXT,"
	"  exc_value TEXT,"
	"  fingerprint TEXT,"
	"  source TEXT NOT NULL,"
	"  raw TEXT NOT NULL,"
	"  cluster_id INTEGER);"
	"CREATE INDEX events_ts ON events(timestamp);"
	"CREATE INDEX events_system_ts ON events(system, timestamp);"
	"CREATE INDEX events_kind_ts ON events(kind, timestamp);"
	"CREATE INDEX events_cluster ON events(cluster_id) WHERE cluster_id IS NOT NULL;"
	"CREATE TABLE item_counts("
	"  project_id INTEGER NOT NULL,"
	"  item_type TEXT NOT NULL,"
	"  count INTEGER NOT NULL,"
	"  PRIMARY KEY(project_id, item_type));",
	/* ---- an-mining: template miner state (analyzer/miner.c) ---- */
	/* 2: templates, miner_config */
	"CREATE TABLE templates("
	"  id INTEGER PRIMARY KEY,"
	"  template TEXT NOT NULL,"
	"  tokens INTEGER NOT NULL,"
	"  count INTEGER NOT NULL,"
	"  merged_into INTEGER,"
	"  updated_at REAL NOT NULL);"
	"CREATE TABLE miner_config("
	"  key TEXT PRIMARY KEY,"
	"  value TEXT NOT NULL);",
	/* ---- end an-mining ---- */
	/* ---- an-clusters: clusters, breakdowns, groupings, analyzer state (analyzer/cluster*.c) ---- */
	/* 3: clusters, cluster_dims, cluster_hourly, event_grouping, analyzer_state */
	"CREATE TABLE clusters("
	"  id INTEGER PRIMARY KEY,"
	"  project_id INTEGER NOT NULL DEFAULT 0,"
	"  kind TEXT NOT NULL,"
	"  fingerprint TEXT NOT NULL,"
	"  basis TEXT NOT NULL,"
	"  title TEXT NOT NULL DEFAULT '',"
	"  rule_id TEXT,"
	"  template TEXT,"
	"  max_level INTEGER NOT NULL DEFAULT 0,"
	"  count INTEGER NOT NULL DEFAULT 0,"
	"  first_seen REAL,"
	"  last_seen REAL,"
	"  status TEXT NOT NULL DEFAULT 'open' CHECK(status IN ('open','resolved','ignored')),"
	"  resolved_at REAL,"
	"  regressed_at REAL,"
	"  merged_into INTEGER REFERENCES clusters(id),"
	"  split INTEGER NOT NULL DEFAULT 0,"
	"  split_from INTEGER REFERENCES clusters(id),"
	"  created_at REAL NOT NULL,"
	"  updated_at REAL NOT NULL,"
	"  UNIQUE(project_id, kind, fingerprint));"
	"CREATE INDEX clusters_last_seen ON clusters(last_seen);"
	"CREATE INDEX clusters_count ON clusters(count);"
	"CREATE TABLE cluster_dims("
	"  cluster_id INTEGER NOT NULL,"
	"  dim TEXT NOT NULL,"
	"  value TEXT NOT NULL,"
	"  count INTEGER NOT NULL,"
	"  PRIMARY KEY(cluster_id, dim, value)) WITHOUT ROWID;"
	"CREATE INDEX cluster_dims_value ON cluster_dims(dim, value);"
	"CREATE TABLE cluster_hourly("
	"  cluster_id INTEGER NOT NULL,"
	"  hour INTEGER NOT NULL,"
	"  count INTEGER NOT NULL,"
	"  PRIMARY KEY(cluster_id, hour)) WITHOUT ROWID;"
	"CREATE TABLE event_grouping("
	"  event INTEGER PRIMARY KEY,"
	"  cluster_id INTEGER NOT NULL,"
	"  basis TEXT NOT NULL,"
	"  key TEXT NOT NULL,"
	"  template_id INTEGER,"
	"  rule_id TEXT,"
	"  captures TEXT,"
	"  explanation TEXT NOT NULL);"
	"CREATE INDEX event_grouping_cluster ON event_grouping(cluster_id);"
	"CREATE TABLE analyzer_state("
	"  key TEXT PRIMARY KEY,"
	"  value TEXT NOT NULL);",
	/* ---- end an-clusters ---- */
	/* ---- evidence (issue 14): fault runs and cluster feedback ---- */
	"CREATE TABLE fault_runs("
	"  id INTEGER PRIMARY KEY,"
	"  fault TEXT NOT NULL,"
	"  rule_id TEXT NOT NULL,"
	"  outcome TEXT NOT NULL,"          /* validated | failed */
	"  fix_outcome TEXT,"               /* recovered | not_recovered | NULL (no fix recipe) */
	"  detail TEXT,"
	"  ran_at REAL NOT NULL,"
	"  system TEXT,"
	"  version TEXT NOT NULL,"
	"  events INTEGER NOT NULL DEFAULT 0,"
	"  evidence TEXT NOT NULL DEFAULT '[]');"   /* JSON array of event ids */
	"CREATE INDEX fault_runs_rule ON fault_runs(rule_id, ran_at);"
	"CREATE TABLE cluster_feedback("
	"  id INTEGER PRIMARY KEY,"
	"  project_id INTEGER NOT NULL,"
	"  cluster_id INTEGER NOT NULL,"
	"  rule_id TEXT,"                   /* the cluster's rule when the feedback came */
	"  outcome TEXT NOT NULL,"          /* worked | failed | other_cause */
	"  fix INTEGER,"                    /* 1-based fix step (worked/failed) */
	"  text TEXT,"
	"  contact TEXT,"
	"  created_at REAL NOT NULL,"
	"  hidden INTEGER NOT NULL DEFAULT 0);"
	"CREATE INDEX cluster_feedback_cluster ON cluster_feedback(cluster_id, created_at);"
	"CREATE INDEX cluster_feedback_rule ON cluster_feedback(rule_id, created_at);",
	/* ---- end evidence ---- */
};

int ac_db_schema_version(void)
{
	return (int)AC_ARRAY_SIZE(migrations);
}

int ac_db_error(sqlite3 *db, struct ac_error *err, const char *context)
{
	return ac_error_set(err, AC_EDB, "database", "%s: %s", context,
			    db ? sqlite3_errmsg(db) : "cannot allocate connection");
}

int ac_db_exec(sqlite3 *db, const char *sql, struct ac_error *err)
{
	char *msg = NULL;
	int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);

	if (rc != SQLITE_OK) {
		ac_error_set(err, AC_EDB, "database", "%s", msg ? msg : sqlite3_errstr(rc));
		sqlite3_free(msg);
		return AC_EDB;
	}
	return 0;
}

static int db_user_version(sqlite3 *db, int *version, struct ac_error *err)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
		return ac_db_error(db, err, "reading schema version");
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*version = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : ac_db_error(db, err, "reading schema version");
}

static int db_migrate(sqlite3 *db, struct ac_error *err)
{
	int version = 0, rc;
	char sql[64];

	rc = db_user_version(db, &version, err);
	if (rc)
		return rc;
	if (version > ac_db_schema_version())
		return ac_error_set(err, AC_EDB, "schema",
				    "database schema version %d is newer than this binary (%d)",
				    version, ac_db_schema_version());
	for (int v = version; v < ac_db_schema_version(); v++) {
		rc = ac_db_exec(db, "BEGIN IMMEDIATE", err);
		if (rc)
			return rc;
		snprintf(sql, sizeof sql, "PRAGMA user_version=%d", v + 1);
		if (ac_db_exec(db, migrations[v], err) || ac_db_exec(db, sql, err)) {
			char msg[sizeof err->msg];
			snprintf(msg, sizeof msg, "%s", err ? err->msg : "");
			ac_db_exec(db, "ROLLBACK", NULL);
			return ac_error_set(err, AC_EDB, "schema", "migration %d failed: %s", v + 1, msg);
		}
		rc = ac_db_exec(db, "COMMIT", err);
		if (rc)
			return rc;
	}
	return 0;
}

/* Waiting for another connection's write lock (the collector's writer and the analyzer take
 * turns): poll every 0.1-0.5 ms for up to ~10 s. SQLite's own busy timeout sleeps 1, 2, 5,
 * 10 ... 100 ms between tries, which left the lock idle most of the time the other side
 * waited: NDJSON ingest with the analyzer on went from 6,000-9,800 to 15,300-17,500 events/s
 * (wrk, batches of 100, same machine, alternating runs). */
static int busy_wait(void *arg, int count)
{
	(void)arg;
	if (count >= 20000)
		return 0;
	usleep(count < 10 ? 100 : 500);
	return 1;
}

/* Before SQLite initialises: no memory statistics (nothing reads them), which takes a global
 * mutex off every SQLite allocation — the writer thread allocates per inserted row. */
static void configure_sqlite(void)
{
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

sqlite3 *ac_db_open(const char *path, enum ac_db_mode mode, struct ac_error *err)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	sqlite3 *db = NULL;
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
	int version = 0;

	pthread_once(&once, configure_sqlite);
	if (sqlite3_open_v2(path, &db, flags, NULL) != SQLITE_OK) {
		ac_db_error(db, err, path);
		goto fail;
	}
	sqlite3_busy_handler(db, busy_wait, NULL);
	/* 8 KiB pages (set while the file is still empty; ignored afterwards): an event row is
	 * 1-2 KiB, and against 4 KiB pages the writer spent 15 % less CPU per batched event */
	if (ac_db_exec(db, "PRAGMA page_size=8192", err) ||
	    ac_db_exec(db, "PRAGMA journal_mode=WAL", err) ||
	    ac_db_exec(db, "PRAGMA foreign_keys=ON", err) ||
	    ac_db_exec(db, mode == AC_DB_WRITE ? "PRAGMA synchronous=FULL"
					       : "PRAGMA synchronous=NORMAL", err))
		goto fail;
	if (mode == AC_DB_WRITE) {
		if (db_migrate(db, err))
			goto fail;
	} else {
		if (db_user_version(db, &version, err))
			goto fail;
		if (version != ac_db_schema_version()) {
			ac_error_set(err, AC_EDB, "schema",
				     "%s: schema version %d, expected %d (open it for writing once to migrate)",
				     path, version, ac_db_schema_version());
			goto fail;
		}
	}
	return db;
fail:
	sqlite3_close(db);
	return NULL;
}

void ac_db_close(sqlite3 *db)
{
	sqlite3_close(db);
}

/*
 * db.c — opening connections, pragmas and the migration table. See db.h for the schema.
 *
 * A database locator names the backend: "postgres://..." / "postgresql://..." opens
 * PostgreSQL (core/db_pg.c creates and migrates its schema), anything else is an SQLite
 * file ("sqlite:PATH" or PATH), handled here. The SQLite-only operations (pragmas, the
 * ac_sha256 SQL function, online backup, integrity check) use SQLite's own API on the raw
 * handle behind the connection.
 */
#include "core/common.h"
#include "core/db.h"
#include "core/db_int.h"
#include "core/sql_int.h"
#include "core/sha256.h"
#include "core/log.h"

#include <pthread.h>
#include <sqlite3.h>

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
	/* ---- trust: tokens with roles, stored hashed (collector/keys.c) ---- */
	/* tokens: read or admin bearer tokens of a project, stored as SHA-256 hex (ac_sha256() is
	 * registered on every connection by ac_db_open). The keys' old plaintext tokens move here
	 * as read tokens (they keep ingesting and reading; mutations now need an admin token) and
	 * keys.token keeps only a non-secret placeholder. */
	"CREATE TABLE tokens("
	"  id INTEGER PRIMARY KEY,"
	"  project_id INTEGER NOT NULL REFERENCES projects(id),"
	"  role TEXT NOT NULL CHECK(role IN ('read','admin')),"
	"  hash TEXT NOT NULL UNIQUE,"
	"  hint TEXT NOT NULL,"
	"  created_at REAL NOT NULL,"
	"  revoked INTEGER NOT NULL DEFAULT 0);"
	"INSERT INTO tokens(project_id, role, hash, hint, created_at, revoked)"
	"  SELECT project_id, 'read', ac_sha256(token), substr(token, 1, 8), created_at, revoked"
	"  FROM keys WHERE token LIKE 'act!_%' ESCAPE '!';"
	"UPDATE keys SET token = 'dsn:' || public_key, scope = 'ingest';",
	/* events: event_id unique per project, not across projects (one project's ids must
	 * neither drop nor reveal another's). SQLite cannot drop a column's UNIQUE, so the table
	 * is rebuilt; SELECT * fails loudly (rolling the migration back) should the table have
	 * gained columns this statement does not know. No index on event_id alone: lookups
	 * without a project go through the projects (collector/query.c). */
	"CREATE TABLE events_new("
	"  id INTEGER PRIMARY KEY,"
	"  event_id TEXT NOT NULL,"
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
	"  cluster_id INTEGER,"
	"  UNIQUE(project_id, event_id));"
	"INSERT INTO events_new SELECT * FROM events;"
	"DROP TABLE events;"
	"ALTER TABLE events_new RENAME TO events;"
	"CREATE INDEX events_ts ON events(timestamp);"
	"CREATE INDEX events_system_ts ON events(system, timestamp);"
	"CREATE INDEX events_kind_ts ON events(kind, timestamp);"
	"CREATE INDEX events_cluster ON events(cluster_id) WHERE cluster_id IS NOT NULL;",
	/* projects.scrub_user: 1 = user.email and user.ip_address become [Filtered] before storage
	 * (collector/scrub.c); 0 = kept, Sentry's default. `autocoder keys privacy` sets it. */
	"ALTER TABLE projects ADD COLUMN scrub_user INTEGER NOT NULL DEFAULT 0;",
	/* ---- end trust ---- */
	/* ---- issue 10 (proto): Sentry user feedback and attachments, per event ---- */
	"CREATE TABLE event_feedback("
	"  id INTEGER PRIMARY KEY,"
	"  project_id INTEGER,"
	"  event_id TEXT NOT NULL,"
	"  name TEXT,"
	"  email TEXT,"
	"  comments TEXT NOT NULL,"
	"  received_at REAL NOT NULL);"
	"CREATE INDEX event_feedback_event ON event_feedback(event_id);"
	"CREATE TABLE event_attachments("
	"  id INTEGER PRIMARY KEY,"
	"  project_id INTEGER,"
	"  event_id TEXT NOT NULL,"
	"  filename TEXT NOT NULL,"
	"  content_type TEXT,"
	"  attachment_type TEXT,"
	"  size INTEGER NOT NULL,"
	"  data BLOB NOT NULL,"
	"  received_at REAL NOT NULL);"
	"CREATE INDEX event_attachments_event ON event_attachments(event_id);"
	"CREATE INDEX event_attachments_project ON event_attachments(project_id);",
	/* ---- ops: retention policies (collector/retention.c) ---- */
	/* retention: per-project overrides of serve's --retention-* defaults (NULL = default,
	 * 0 = unlimited); the index lets a retention pass find a project's oldest events */
	"CREATE TABLE retention("
	"  project_id INTEGER PRIMARY KEY,"
	"  max_age_seconds REAL,"
	"  max_events INTEGER,"
	"  max_bytes INTEGER,"
	"  updated_at REAL NOT NULL);"
	"CREATE INDEX events_project_received ON events(project_id, received_at);",
	/* alerts (collector/alerts.c): rules, per-(rule, cluster) state, the delivery log */
	"CREATE TABLE alert_rules("
	"  id INTEGER PRIMARY KEY,"
	"  project_id INTEGER NOT NULL,"
	"  kind TEXT NOT NULL CHECK(kind IN ('new_cluster','regression','spike','fatal')),"
	"  target TEXT NOT NULL,"
	"  format TEXT NOT NULL DEFAULT 'json' CHECK(format IN ('json','slack','text')),"
	"  min_interval REAL NOT NULL DEFAULT 3600,"
	"  spike_factor REAL NOT NULL DEFAULT 5,"
	"  match TEXT,"
	"  created_at REAL NOT NULL);"
	"CREATE TABLE alert_state("
	"  rule_id INTEGER NOT NULL,"
	"  cluster_id INTEGER NOT NULL,"
	"  last_sent_at REAL NOT NULL,"
	"  last_regressed_at REAL,"
	"  suppressed INTEGER NOT NULL DEFAULT 0,"
	"  PRIMARY KEY(rule_id, cluster_id)) WITHOUT ROWID;"
	"CREATE TABLE alert_deliveries("
	"  id INTEGER PRIMARY KEY,"
	"  rule_id INTEGER NOT NULL,"
	"  project_id INTEGER NOT NULL,"
	"  cluster_id INTEGER,"
	"  kind TEXT NOT NULL,"
	"  target TEXT NOT NULL,"
	"  payload TEXT NOT NULL,"
	"  status TEXT NOT NULL DEFAULT 'pending' CHECK(status IN ('pending','sent','failed')),"
	"  attempts INTEGER NOT NULL DEFAULT 0,"
	"  created_at REAL NOT NULL,"
	"  next_attempt_at REAL NOT NULL,"
	"  last_attempt_at REAL,"
	"  response TEXT);"
	"CREATE INDEX alert_deliveries_pending ON alert_deliveries(status, next_attempt_at);"
	"CREATE TABLE alert_meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);",
	/* ---- end ops ---- */
	/* ---- perf (issue 15): `autocoder bench` runs; baseline names the runs of a baseline,
	 * headline is the run's best step throughput (per repeat: a JSON array) ---- */
	"CREATE TABLE bench_runs("
	"  id INTEGER PRIMARY KEY,"
	"  system TEXT NOT NULL,"
	"  started TEXT NOT NULL,"
	"  host TEXT NOT NULL,"
	"  load_average REAL,"
	"  baseline TEXT,"
	"  passed INTEGER NOT NULL,"
	"  headline TEXT NOT NULL,"
	"  result TEXT NOT NULL);"
	"CREATE INDEX bench_runs_system ON bench_runs(system, id);"
	"CREATE INDEX bench_runs_baseline ON bench_runs(baseline, id);",
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
	/* ---- analyzer2 (issue 12): the template miner's family statistics (analyzer/miner.c) ---- */
	"CREATE TABLE miner_families("
	"  key INTEGER PRIMARY KEY,"        /* 64-bit hash of the tokens but one position */
	"  pos INTEGER NOT NULL,"           /* that position */
	"  merged INTEGER NOT NULL,"        /* 0, or the cluster the family merged into */
	"  ids TEXT NOT NULL);"             /* space-separated cluster ids, one per word seen */
	/* the tree keys of a template's first line (its first tokens), so that a loaded template
	 * goes to the same tree leaf after its leading tokens generalised */
	"ALTER TABLE templates ADD COLUMN route TEXT;",
	/* evidence (issue 14): what each evidence event said (time, level, component, message,
	 * context), kept with the fault run: the run's own collector database is thrown away */
	"ALTER TABLE fault_runs ADD COLUMN samples TEXT NOT NULL DEFAULT '[]';",
};

int ac_db_schema_version(void)
{
	return (int)AC_ARRAY_SIZE(migrations);
}

const char *ac_db_migration_sql(int v)
{
	return v >= 0 && v < ac_db_schema_version() ? migrations[v] : NULL;
}

bool ac_db_is_postgres(const char *locator)
{
	return locator && (!strncmp(locator, "postgres://", 11) ||
			   !strncmp(locator, "postgresql://", 13));
}

const char *ac_db_sqlite_path(const char *locator)
{
	if (ac_db_is_postgres(locator))
		return NULL;
	return !strncmp(locator, "sqlite:", 7) ? locator + 7 : locator;
}

int ac_db_error(ac_sql *db, struct ac_error *err, const char *context)
{
	return ac_error_set(err, AC_EDB, "database", "%s: %s", context,
			    db ? ac_sql_errmsg(db) : "cannot allocate connection");
}

int ac_db_exec(ac_sql *db, const char *sql, struct ac_error *err)
{
	char *msg = NULL;
	int rc = ac_sql_exec(db, sql, NULL, NULL, &msg);

	if (rc != AC_SQL_OK) {
		ac_error_set(err, AC_EDB, "database", "%s", msg ? msg : ac_sql_errstr(rc));
		ac_sql_free(msg);
		return AC_EDB;
	}
	ac_sql_free(msg);
	return 0;
}

static int db_user_version(ac_sql *db, int *version, struct ac_error *err)
{
	ac_sql_stmt *st = NULL;
	int rc;

	if (ac_sql_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) != AC_SQL_OK)
		return ac_db_error(db, err, "reading schema version");
	rc = ac_sql_step(st);
	if (rc == AC_SQL_ROW)
		*version = ac_sql_column_int(st, 0);
	ac_sql_finalize(st);
	return rc == AC_SQL_ROW ? 0 : ac_db_error(db, err, "reading schema version");
}

static int db_pragma_int(ac_sql *db, const char *sql, int *out, struct ac_error *err)
{
	ac_sql_stmt *st = NULL;
	int rc;

	if (ac_sql_prepare_v2(db, sql, -1, &st, NULL) != AC_SQL_OK)
		return ac_db_error(db, err, sql);
	rc = ac_sql_step(st);
	if (rc == AC_SQL_ROW)
		*out = ac_sql_column_int(st, 0);
	ac_sql_finalize(st);
	return rc == AC_SQL_ROW ? 0 : ac_db_error(db, err, sql);
}

/* New files get auto_vacuum=INCREMENTAL from ac_db_open's pragmas (before the first table);
 * a file created before that (auto_vacuum NONE) is converted once here, which needs a full
 * VACUUM: it rewrites the file, so it is logged. Afterwards the retention task returns freed
 * pages to the file system with PRAGMA incremental_vacuum. */
static int db_enable_auto_vacuum(ac_sql *db, struct ac_error *err)
{
	int mode = 0;
	double t0;
	char secs[32];

	if (db_pragma_int(db, "PRAGMA auto_vacuum", &mode, err))
		return AC_EDB;
	if (mode == 2)
		return 0;
	ac_log(AC_LOG_INFO, "converting the database to incremental auto_vacuum (one VACUUM)",
	       "db", ac_sql_db_filename(db, "main"), NULL);
	t0 = ac_monotonic();
	if (ac_db_exec(db, "PRAGMA auto_vacuum=INCREMENTAL", err) || ac_db_exec(db, "VACUUM", err))
		return ac_error_set(err, AC_EDB, "schema", "enabling auto_vacuum: %s", err ? err->msg : "");
	snprintf(secs, sizeof secs, "%.3f", ac_monotonic() - t0);
	ac_log(AC_LOG_INFO, "auto_vacuum enabled", "seconds", secs, NULL);
	return 0;
}

static int db_migrate(ac_sql *db, struct ac_error *err)
{
	int version = 0, rc;
	char sql[64];

	rc = db_user_version(db, &version, err);
	if (rc)
		return rc;
	if (version > ac_db_schema_version())
		return ac_error_set(err, AC_EDB, "schema",
				    "database schema version %d is newer than this binary's (%d): it "
				    "was written by a newer autocoder; downgrades are not supported "
				    "(run the newer binary, or restore a backup made before the upgrade)",
				    version, ac_db_schema_version());
	if (version < ac_db_schema_version()) {
		char from[16], to[16];
		snprintf(from, sizeof from, "%d", version);
		snprintf(to, sizeof to, "%d", ac_db_schema_version());
		ac_log(version ? AC_LOG_INFO : AC_LOG_DEBUG, version ? "migrating database schema"
				   : "creating database schema", "db", ac_sql_db_filename(db, "main"),
		       "from", from, "to", to, NULL);
	}
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
		if (version) {
			char from[16], to[16];
			snprintf(from, sizeof from, "%d", v);
			snprintf(to, sizeof to, "%d", v + 1);
			ac_log(AC_LOG_INFO, "migration applied", "from", from, "to", to, NULL);
		}
	}
	return db_enable_auto_vacuum(db, err);
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

/* SQL function ac_sha256(text) -> 64 hex: lets the migration above hash existing tokens. */
static void sql_sha256(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	char hex[2 * AC_SHA256_LEN + 1];
	const unsigned char *s = sqlite3_value_text(argv[0]);

	(void)argc;
	if (!s) {
		sqlite3_result_null(ctx);
		return;
	}
	ac_sha256_hex(s, (size_t)sqlite3_value_bytes(argv[0]), hex);
	sqlite3_result_text(ctx, hex, -1, SQLITE_TRANSIENT);
}

static ac_sql *sqlite_open(const char *path, enum ac_db_mode mode, struct ac_error *err)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	ac_sql *db = NULL;
	sqlite3 *raw;
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
	int version = 0;

	pthread_once(&once, configure_sqlite);
	if (ac_sql_sqlite_open(path, flags, &db) != SQLITE_OK) {
		ac_db_error(db, err, path);
		goto fail;
	}
	raw = ac_sql_sqlite_handle(db);
	sqlite3_busy_handler(raw, busy_wait, NULL);
	sqlite3_create_function(raw, "ac_sha256", 1, SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL,
				sql_sha256, NULL, NULL);
	/* 8 KiB pages (set while the file is still empty; ignored afterwards): an event row is
	 * 1-2 KiB, and against 4 KiB pages the writer spent 15 % less CPU per batched event */
	/* auto_vacuum=INCREMENTAL too, for the same reason (see db_enable_auto_vacuum); the
	 * WAL is truncated to 64 MiB after checkpoints instead of keeping its largest size */
	if (ac_db_exec(db, "PRAGMA page_size=8192", err) ||
	    (mode == AC_DB_WRITE && ac_db_exec(db, "PRAGMA auto_vacuum=INCREMENTAL", err)) ||
	    ac_db_exec(db, "PRAGMA journal_size_limit=67108864", err) ||
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
	ac_sql_close(db);
	return NULL;
}

ac_sql *ac_db_open(const char *locator, enum ac_db_mode mode, struct ac_error *err)
{
	if (ac_db_is_postgres(locator))
		return ac_db_pg_open(locator, mode, err);
	return sqlite_open(ac_db_sqlite_path(locator), mode, err);
}

void ac_db_close(ac_sql *db)
{
	ac_sql_close(db);
}

/* Open path read-only, without pragmas that write (no WAL switch, no migration). */
static ac_sql *db_open_readonly(const char *path, struct ac_error *err)
{
	ac_sql *db = NULL;

	if (access(path, F_OK) != 0) {
		ac_error_set(err, AC_ENOTFOUND, "database", "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (ac_sql_sqlite_open(path, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, &db) != SQLITE_OK) {
		ac_db_error(db, err, path);
		ac_sql_close(db);
		return NULL;
	}
	sqlite3_busy_handler(ac_sql_sqlite_handle(db), busy_wait, NULL);
	return db;
}

int ac_db_file_version(const char *locator, int *version, struct ac_error *err)
{
	ac_sql *db;
	int rc;

	if (ac_db_is_postgres(locator))
		return ac_db_pg_version(locator, version, err);
	if (!(db = db_open_readonly(ac_db_sqlite_path(locator), err)))
		return err ? err->code : AC_EDB;
	rc = db_user_version(db, version, err);
	ac_sql_close(db);
	return rc;
}

/* The copy is taken in one backup step: one read transaction on the source, which in WAL
 * mode does not block the writer, gives a consistent snapshot (stepping in chunks would
 * restart whenever the collector commits). The destination must not exist: writing over a
 * database that has a -wal file beside it would mix two databases. */
int ac_db_backup(const char *src_locator, const char *dst_path, struct ac_db_backup_info *info,
		 struct ac_error *err)
{
	const char *src_path = ac_db_sqlite_path(src_locator);
	ac_sql *src = NULL;
	sqlite3 *dst = NULL;
	sqlite3_backup *b = NULL;
	sqlite3_stmt *st = NULL;
	int rc = AC_EDB;

	memset(info, 0, sizeof *info);
	if (!src_path)
		return ac_error_set(err, AC_EINVAL, "backup",
				    "db backup copies SQLite files; back up PostgreSQL with its own "
				    "tools (pg_dump, pg_basebackup)");
	dst_path = ac_db_sqlite_path(dst_path);
	if (!dst_path)
		return ac_error_set(err, AC_EINVAL, "backup", "the backup target must be a file");
	if (access(dst_path, F_OK) == 0)
		return ac_error_set(err, AC_EINVAL, "backup",
				    "%s already exists: back up to a new file", dst_path);
	if (!(src = db_open_readonly(src_path, err)))
		return err ? err->code : AC_EDB;
	if (db_user_version(src, &info->schema_version, err))
		goto out;
	if (sqlite3_open_v2(dst_path, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK) {
		ac_error_set(err, AC_EDB, "database", "%s: %s", dst_path,
			     dst ? sqlite3_errmsg(dst) : "cannot allocate connection");
		goto out;
	}
	if (!(b = sqlite3_backup_init(dst, "main", ac_sql_sqlite_handle(src), "main"))) {
		ac_error_set(err, AC_EDB, "database", "starting the backup: %s", sqlite3_errmsg(dst));
		goto out;
	}
	while ((rc = sqlite3_backup_step(b, -1)) == SQLITE_BUSY || rc == SQLITE_LOCKED)
		usleep(10000);
	info->pages = sqlite3_backup_pagecount(b);
	sqlite3_backup_finish(b);
	if (rc != SQLITE_DONE) {
		rc = ac_error_set(err, AC_EDB, "backup", "copying %s: %s", src_path, sqlite3_errstr(rc));
		goto out;
	}
	rc = AC_EDB;
	if (sqlite3_prepare_v2(dst, "PRAGMA integrity_check", -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW) {
		ac_error_set(err, AC_EDB, "database", "integrity_check on the copy: %s",
			     sqlite3_errmsg(dst));
		goto out;
	}
	snprintf(info->integrity, sizeof info->integrity, "%s", (const char *)sqlite3_column_text(st, 0));
	if (strcmp(info->integrity, "ok")) {
		ac_error_set(err, AC_EDB, "backup", "integrity_check on %s failed: %s", dst_path,
			     info->integrity);
		goto out;
	}
	rc = 0;
out:
	sqlite3_finalize(st);
	ac_sql_close(src);
	if (sqlite3_close(dst) != SQLITE_OK)
		rc = ac_error_set(err, AC_EDB, "backup", "closing %s", dst_path);
	if (rc && dst)
		unlink(dst_path);
	return rc;
}

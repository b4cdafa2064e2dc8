/*
 * db_copy.c — `autocoder db migrate`: copy every table of one database into another, empty one
 * (typically an SQLite file into PostgreSQL), then verify the row counts.
 *
 * Both databases are opened for writing (so both are at this binary's schema version; the
 * destination's schema is created). The destination must hold no events, projects or
 * clusters. Tables are copied in dependency order with every column by name and the ids kept
 * (so event_grouping, clusters.merged_into, ... stay valid), in one transaction on the
 * destination; on PostgreSQL the identity sequences are then moved past the copied ids and
 * event_ids gets one row per event with a project (the idempotency key). Counts of source and
 * destination are compared per table before COMMIT: any difference rolls everything back.
 */
#include "core/common.h"
#include "core/db.h"

/* Parents before children (keys and tokens reference projects; clusters reference clusters). */
static const char *const tables[] = {
	"projects", "keys", "tokens", "retention", "events", "item_counts", "templates",
	"miner_config", "clusters", "cluster_dims", "cluster_hourly", "event_grouping",
	"analyzer_state", "event_feedback", "event_attachments", "alert_rules", "alert_state",
	"alert_deliveries", "alert_meta", "bench_runs", "fault_runs", "cluster_feedback",
};

/* Tables whose id column is an identity (PostgreSQL): its sequence follows the copied ids. */
static const char *const identity_tables[] = {
	"projects", "keys", "tokens", "clusters", "event_feedback", "event_attachments",
	"alert_rules", "alert_deliveries", "bench_runs", "fault_runs", "cluster_feedback",
};

static int count_rows(ac_sql *db, const char *table, long long *n, struct ac_error *err)
{
	char sql[128];
	ac_sql_stmt *st = NULL;
	int rc;

	snprintf(sql, sizeof sql, "SELECT count(*) FROM %s", table);
	if (ac_sql_prepare_v2(db, sql, -1, &st, NULL) != AC_SQL_OK)
		return ac_db_error(db, err, table);
	rc = ac_sql_step(st);
	*n = rc == AC_SQL_ROW ? ac_sql_column_int64(st, 0) : -1;
	ac_sql_finalize(st);
	return rc == AC_SQL_ROW ? 0 : ac_db_error(db, err, table);
}

static void bind_like(ac_sql_stmt *ins, int i, ac_sql_stmt *src, int c)
{
	switch (ac_sql_column_type(src, c)) {
	case AC_SQL_INTEGER: ac_sql_bind_int64(ins, i, ac_sql_column_int64(src, c)); break;
	case AC_SQL_FLOAT: ac_sql_bind_double(ins, i, ac_sql_column_double(src, c)); break;
	case AC_SQL_BLOB:
		ac_sql_bind_blob(ins, i, ac_sql_column_blob(src, c), ac_sql_column_bytes(src, c),
				 AC_SQL_TRANSIENT);
		break;
	case AC_SQL_NULL: ac_sql_bind_null(ins, i); break;
	default:
		ac_sql_bind_text(ins, i, (const char *)ac_sql_column_text(src, c), -1, AC_SQL_TRANSIENT);
	}
}

/* INSERT INTO table(columns of the source's SELECT *) VALUES(?, ...) */
static int insert_sql(ac_sql_stmt *src, const char *table, struct ac_buf *b)
{
	int n = ac_sql_column_count(src);

	ac_buf_printf(b, "INSERT INTO %s(", table);
	for (int c = 0; c < n; c++)
		ac_buf_printf(b, "%s%s", c ? ", " : "", ac_sql_column_name(src, c));
	ac_buf_puts(b, ") VALUES(");
	for (int c = 0; c < n; c++)
		ac_buf_printf(b, "%s?", c ? ", " : "");
	return ac_buf_puts(b, ")");
}

static int copy_table(ac_sql *from, ac_sql *to, const char *table, long long *copied,
		      struct ac_error *err)
{
	ac_sql_stmt *src = NULL, *ins = NULL;
	struct ac_buf sql;
	char sel[128];
	int rc = 0, step;

	*copied = 0;
	ac_buf_init(&sql, 1 << 16);
	snprintf(sel, sizeof sel, "SELECT * FROM %s", table);
	if (ac_sql_prepare_v2(from, sel, -1, &src, NULL) != AC_SQL_OK) {
		rc = ac_db_error(from, err, table);
		goto out;
	}
	while ((step = ac_sql_step(src)) == AC_SQL_ROW) {
		if (!ins && (insert_sql(src, table, &sql) ||
			     ac_sql_prepare_v2(to, sql.data, -1, &ins, NULL) != AC_SQL_OK)) {
			rc = ac_db_error(to, err, table);
			goto out;
		}
		for (int c = 0; c < ac_sql_column_count(src); c++)
			bind_like(ins, c + 1, src, c);
		if (ac_sql_step(ins) != AC_SQL_DONE) {
			rc = ac_db_error(to, err, table);
			goto out;
		}
		ac_sql_reset(ins);
		(*copied)++;
	}
	if (step != AC_SQL_DONE)
		rc = ac_db_error(from, err, table);
out:
	ac_sql_finalize(src);
	ac_sql_finalize(ins);
	ac_buf_release(&sql);
	return rc;
}

/* PostgreSQL: sequences past the copied ids, the idempotency keys of the copied events. */
static int finish_postgres(ac_sql *to, struct ac_error *err)
{
	char sql[256];

	for (size_t i = 0; i < AC_ARRAY_SIZE(identity_tables); i++) {
		snprintf(sql, sizeof sql, "SELECT setval(pg_get_serial_sequence('%s', 'id'),"
			 " (SELECT coalesce(max(id), 0) + 1 FROM %s), false)", identity_tables[i],
			 identity_tables[i]);
		if (ac_db_exec(to, sql, err))
			return AC_EDB;
	}
	return ac_db_exec(to, "SELECT setval('events_id_seq', (SELECT coalesce(max(id), 0) + 1"
			  " FROM events), false);"
			  "INSERT INTO event_ids(project_id, event_id, received_at)"
			  " SELECT project_id, event_id, max(received_at) FROM events"
			  " WHERE project_id IS NOT NULL GROUP BY project_id, event_id"
			  " ON CONFLICT DO NOTHING", err);
}

/* PostgreSQL: a day partition for every day the source has events of (else they would all
 * land in the default partition, out of reach of retention's partition drops). */
static int partitions_for(ac_sql *from, ac_sql *to, struct ac_error *err)
{
	ac_sql_stmt *st = NULL;
	int rc = 0;

	if (ac_sql_backend(to) != AC_SQL_POSTGRES)
		return 0;
	if (ac_sql_prepare_v2(from, "SELECT min(received_at), max(received_at) FROM events", -1,
			      &st, NULL) != AC_SQL_OK)
		return ac_db_error(from, err, "events");
	if (ac_sql_step(st) == AC_SQL_ROW && ac_sql_column_type(st, 0) != AC_SQL_NULL)
		rc = ac_db_partition_days(to, ac_sql_column_double(st, 0), ac_sql_column_double(st, 1), err);
	ac_sql_finalize(st);
	return rc;
}

static int must_be_empty(ac_sql *to, struct ac_error *err)
{
	static const char *const check[] = { "projects", "events", "clusters" };
	long long n;

	for (size_t i = 0; i < AC_ARRAY_SIZE(check); i++) {
		if (count_rows(to, check[i], &n, err))
			return AC_EDB;
		if (n)
			return ac_error_set(err, AC_EINVAL, "migrate",
					    "the destination already has %lld rows in %s: migrate "
					    "into an empty database", n, check[i]);
	}
	return 0;
}

int ac_db_copy(const char *from_loc, const char *to_loc, ac_db_copy_progress progress, void *arg,
	       struct ac_error *err)
{
	ac_sql *from = NULL, *to = NULL;
	int rc = AC_EDB;

	if (!strcmp(from_loc, to_loc))
		return ac_error_set(err, AC_EINVAL, "migrate", "--from and --to are the same database");
	if (!(from = ac_db_open(from_loc, AC_DB_WRITE, err)) ||
	    !(to = ac_db_open(to_loc, AC_DB_WRITE, err)))
		goto out;
	if ((rc = must_be_empty(to, err)) || (rc = partitions_for(from, to, err)) ||
	    (rc = ac_db_exec(to, "BEGIN", err)))
		goto out;
	/* ids are copied as they are: a row may reference one copied after it */
	if ((rc = ac_db_exec(to, ac_sql_backend(to) == AC_SQL_POSTGRES ? "SET CONSTRAINTS ALL DEFERRED"
			     : "PRAGMA defer_foreign_keys=ON", err)))
		goto rollback;
	for (size_t i = 0; i < AC_ARRAY_SIZE(tables); i++) {
		long long copied = 0, n_from = 0, n_to = 0;
		if ((rc = copy_table(from, to, tables[i], &copied, err)) ||
		    (rc = count_rows(from, tables[i], &n_from, err)) ||
		    (rc = count_rows(to, tables[i], &n_to, err)))
			goto rollback;
		if (n_from != n_to || copied != n_from) {
			rc = ac_error_set(err, AC_EDB, "migrate", "%s: %lld rows in the source, %lld "
					  "copied, %lld in the destination", tables[i], n_from,
					  copied, n_to);
			goto rollback;
		}
		if (progress)
			progress(arg, tables[i], n_to);
	}
	if (ac_sql_backend(to) == AC_SQL_POSTGRES && (rc = finish_postgres(to, err)))
		goto rollback;
	rc = ac_db_exec(to, "COMMIT", err);
	if (!rc)
		goto out;
rollback:
	ac_sql_exec(to, "ROLLBACK", NULL, NULL, NULL);
out:
	ac_db_close(from);
	ac_db_close(to);
	return rc;
}

/*
 * sql_sqlite.c — the SQLite backend of the storage interface (sql.h): each operation hands
 * the call to SQLite unchanged. A connection and a statement are small wrappers that hold
 * the SQLite handle after the operation table; return codes and types are SQLite's own.
 */
#include "core/sql_int.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

struct lite_db {
	struct ac_sql base;
	sqlite3 *db;
};

struct lite_stmt {
	struct ac_sql_stmt base;
	sqlite3_stmt *st;
};

#define DB(d) (((struct lite_db *)(d))->db)
#define ST(s) (((struct lite_stmt *)(s))->st)

static const struct ac_sql_ops lite_ops;

static int lite_prepare(ac_sql *db, const char *sql, int nbyte, ac_sql_stmt **out,
			const char **tail, unsigned flags)
{
	struct lite_stmt *s = malloc(sizeof *s);
	sqlite3_stmt *st = NULL;
	int rc;

	*out = NULL;
	if (!s)
		return SQLITE_NOMEM;
	rc = sqlite3_prepare_v3(DB(db), sql, nbyte,
				(flags & AC_SQL_PREPARE_PERSISTENT) ? SQLITE_PREPARE_PERSISTENT : 0,
				&st, tail);
	if (rc != SQLITE_OK || !st) {
		free(s);
		return rc;
	}
	s->base.ops = &lite_ops;
	s->st = st;
	*out = &s->base;
	return SQLITE_OK;
}

static int lite_step(ac_sql_stmt *s) { return sqlite3_step(ST(s)); }
static int lite_reset(ac_sql_stmt *s) { return sqlite3_reset(ST(s)); }
static int lite_clear(ac_sql_stmt *s) { return sqlite3_clear_bindings(ST(s)); }

static int lite_finalize(ac_sql_stmt *s)
{
	int rc = sqlite3_finalize(ST(s));
	free(s);
	return rc;
}

static int lite_bind_int64(ac_sql_stmt *s, int i, ac_sql_int64 v) { return sqlite3_bind_int64(ST(s), i, v); }
static int lite_bind_double(ac_sql_stmt *s, int i, double v) { return sqlite3_bind_double(ST(s), i, v); }
static int lite_bind_null(ac_sql_stmt *s, int i) { return sqlite3_bind_null(ST(s), i); }

static int lite_bind_text(ac_sql_stmt *s, int i, const char *p, int n, ac_sql_destructor d)
{
	return sqlite3_bind_text(ST(s), i, p, n, d);
}

static int lite_bind_blob(ac_sql_stmt *s, int i, const void *p, int n, ac_sql_destructor d)
{
	return sqlite3_bind_blob(ST(s), i, p, n, d);
}

static int lite_column_count(ac_sql_stmt *s) { return sqlite3_column_count(ST(s)); }
static const char *lite_column_name(ac_sql_stmt *s, int i) { return sqlite3_column_name(ST(s), i); }
static int lite_column_type(ac_sql_stmt *s, int i) { return sqlite3_column_type(ST(s), i); }
static ac_sql_int64 lite_column_int64(ac_sql_stmt *s, int i) { return sqlite3_column_int64(ST(s), i); }
static double lite_column_double(ac_sql_stmt *s, int i) { return sqlite3_column_double(ST(s), i); }
static const unsigned char *lite_column_text(ac_sql_stmt *s, int i) { return sqlite3_column_text(ST(s), i); }
static const void *lite_column_blob(ac_sql_stmt *s, int i) { return sqlite3_column_blob(ST(s), i); }
static int lite_column_bytes(ac_sql_stmt *s, int i) { return sqlite3_column_bytes(ST(s), i); }

static int lite_exec(ac_sql *db, const char *sql, char **errmsg)
{
	char *msg = NULL;
	int rc = sqlite3_exec(DB(db), sql, NULL, NULL, errmsg ? &msg : NULL);

	if (errmsg && msg) {
		/* handed out to be freed with ac_sql_free (free()) */
		size_t n = strlen(msg) + 1;
		*errmsg = malloc(n);
		if (*errmsg)
			memcpy(*errmsg, msg, n);
		sqlite3_free(msg);
	}
	return rc;
}

static int lite_changes(ac_sql *db) { return sqlite3_changes(DB(db)); }
static int lite_total_changes(ac_sql *db) { return sqlite3_total_changes(DB(db)); }
static ac_sql_int64 lite_last_id(ac_sql *db) { return sqlite3_last_insert_rowid(DB(db)); }
static int lite_autocommit(ac_sql *db) { return sqlite3_get_autocommit(DB(db)); }
static int lite_readonly(ac_sql *db) { return sqlite3_db_readonly(DB(db), "main"); }
static const char *lite_filename(ac_sql *db) { return sqlite3_db_filename(DB(db), "main"); }
static const char *lite_errmsg(ac_sql *db) { return sqlite3_errmsg(DB(db)); }
static int lite_errcode(ac_sql *db) { return sqlite3_errcode(DB(db)); }
static int lite_extended_errcode(ac_sql *db) { return sqlite3_extended_errcode(DB(db)); }

static int lite_checkpoint(ac_sql *db, int mode)
{
	return sqlite3_wal_checkpoint_v2(DB(db), NULL, mode, NULL, NULL);
}

static int lite_close(ac_sql *db)
{
	int rc = sqlite3_close(DB(db));
	free(db);
	return rc;
}

static const struct ac_sql_ops lite_ops = {
	.kind = AC_SQL_SQLITE,
	.prepare = lite_prepare, .step = lite_step, .reset = lite_reset,
	.clear_bindings = lite_clear, .finalize = lite_finalize,
	.bind_int64 = lite_bind_int64, .bind_double = lite_bind_double,
	.bind_text = lite_bind_text, .bind_blob = lite_bind_blob, .bind_null = lite_bind_null,
	.column_count = lite_column_count, .column_name = lite_column_name,
	.column_type = lite_column_type, .column_int64 = lite_column_int64,
	.column_double = lite_column_double, .column_text = lite_column_text,
	.column_blob = lite_column_blob, .column_bytes = lite_column_bytes,
	.exec = lite_exec, .changes = lite_changes, .total_changes = lite_total_changes,
	.last_insert_rowid = lite_last_id, .get_autocommit = lite_autocommit,
	.db_readonly = lite_readonly, .db_filename = lite_filename, .errmsg = lite_errmsg,
	.errcode = lite_errcode, .extended_errcode = lite_extended_errcode,
	.wal_checkpoint = lite_checkpoint, .close = lite_close,
};

/* On failure *out still holds a connection (for its error message) when SQLite made one:
 * the caller closes it either way. */
int ac_sql_sqlite_open(const char *path, int flags, ac_sql **out)
{
	struct lite_db *d = calloc(1, sizeof *d);
	int rc;

	*out = NULL;
	if (!d)
		return SQLITE_NOMEM;
	d->base.ops = &lite_ops;
	rc = sqlite3_open_v2(path, &d->db, flags, NULL);
	if (!d->db) {
		free(d);
		return rc ? rc : SQLITE_NOMEM;
	}
	*out = &d->base;
	return rc;
}

sqlite3 *ac_sql_sqlite_handle(ac_sql *db)
{
	return db && db->ops == &lite_ops ? DB(db) : NULL;
}

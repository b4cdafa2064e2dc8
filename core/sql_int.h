/*
 * sql_int.h — what the two storage backends (sql_sqlite.c, sql_pg.c) implement for sql.c.
 *
 * Every ac_sql and ac_sql_stmt starts with a pointer to its backend's operation table;
 * sql.c's public calls are one indirect call through it. Only core/ includes this header.
 */
#ifndef AC_SQL_INT_H
#define AC_SQL_INT_H

#include "core/sql.h"

struct ac_error;

struct ac_sql_ops {
	enum ac_sql_backend_kind kind;
	int (*prepare)(ac_sql *db, const char *sql, int nbyte, ac_sql_stmt **st, const char **tail,
		       unsigned flags);
	int (*step)(ac_sql_stmt *st);
	int (*reset)(ac_sql_stmt *st);
	int (*clear_bindings)(ac_sql_stmt *st);
	int (*finalize)(ac_sql_stmt *st);
	int (*bind_int64)(ac_sql_stmt *st, int i, ac_sql_int64 v);
	int (*bind_double)(ac_sql_stmt *st, int i, double v);
	int (*bind_text)(ac_sql_stmt *st, int i, const char *s, int n, ac_sql_destructor d);
	int (*bind_blob)(ac_sql_stmt *st, int i, const void *p, int n, ac_sql_destructor d);
	int (*bind_null)(ac_sql_stmt *st, int i);
	int (*column_count)(ac_sql_stmt *st);
	const char *(*column_name)(ac_sql_stmt *st, int i);
	int (*column_type)(ac_sql_stmt *st, int i);
	ac_sql_int64 (*column_int64)(ac_sql_stmt *st, int i);
	double (*column_double)(ac_sql_stmt *st, int i);
	const unsigned char *(*column_text)(ac_sql_stmt *st, int i);
	const void *(*column_blob)(ac_sql_stmt *st, int i);
	int (*column_bytes)(ac_sql_stmt *st, int i);
	int (*exec)(ac_sql *db, const char *sql, char **errmsg);
	int (*changes)(ac_sql *db);
	int (*total_changes)(ac_sql *db);
	ac_sql_int64 (*last_insert_rowid)(ac_sql *db);
	int (*get_autocommit)(ac_sql *db);
	int (*db_readonly)(ac_sql *db);
	const char *(*db_filename)(ac_sql *db);
	const char *(*errmsg)(ac_sql *db);
	int (*errcode)(ac_sql *db);
	int (*extended_errcode)(ac_sql *db);
	int (*wal_checkpoint)(ac_sql *db, int mode);
	int (*close)(ac_sql *db);
};

struct ac_sql {
	const struct ac_sql_ops *ops;
};

struct ac_sql_stmt {
	const struct ac_sql_ops *ops;
};

/* SQLite backend (sql_sqlite.c). flags: SQLITE_OPEN_*. The raw handle is for core/db.c's
 * SQLite-only operations (backup, pragmas, functions). */
int ac_sql_sqlite_open(const char *path, int flags, ac_sql **out);
struct sqlite3 *ac_sql_sqlite_handle(ac_sql *db);

/* PostgreSQL backend (sql_pg.c): conninfo is a libpq URI or key=value string. */
int ac_sql_pg_open(const char *conninfo, ac_sql **out, struct ac_error *err);
/* The PostgreSQL text of an SQLite-dialect statement (malloc'd), as prepare translates it;
 * *nparams: the number of parameters. For tests. */
char *ac_sql_pg_translate(const char *sql, int *nparams);

#endif

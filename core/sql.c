/*
 * sql.c — the storage interface's public calls (sql.h): one indirect call into the
 * connection's or statement's backend (sql_sqlite.c, sql_pg.c).
 */
#include "core/sql_int.h"

#include <stdlib.h>

enum ac_sql_backend_kind ac_sql_backend(ac_sql *db) { return db->ops->kind; }

int ac_sql_prepare_v2(ac_sql *db, const char *sql, int nbyte, ac_sql_stmt **st, const char **tail)
{
	return db->ops->prepare(db, sql, nbyte, st, tail, 0);
}

int ac_sql_prepare_v3(ac_sql *db, const char *sql, int nbyte, unsigned flags, ac_sql_stmt **st,
		      const char **tail)
{
	return db->ops->prepare(db, sql, nbyte, st, tail, flags);
}

int ac_sql_step(ac_sql_stmt *st) { return st->ops->step(st); }
int ac_sql_reset(ac_sql_stmt *st) { return st ? st->ops->reset(st) : AC_SQL_OK; }
int ac_sql_clear_bindings(ac_sql_stmt *st) { return st->ops->clear_bindings(st); }
int ac_sql_finalize(ac_sql_stmt *st) { return st ? st->ops->finalize(st) : AC_SQL_OK; }

int ac_sql_bind_int64(ac_sql_stmt *st, int i, ac_sql_int64 v) { return st->ops->bind_int64(st, i, v); }
int ac_sql_bind_int(ac_sql_stmt *st, int i, int v) { return st->ops->bind_int64(st, i, v); }
int ac_sql_bind_double(ac_sql_stmt *st, int i, double v) { return st->ops->bind_double(st, i, v); }
int ac_sql_bind_null(ac_sql_stmt *st, int i) { return st->ops->bind_null(st, i); }

int ac_sql_bind_text(ac_sql_stmt *st, int i, const char *s, int n, ac_sql_destructor d)
{
	return st->ops->bind_text(st, i, s, n, d);
}

int ac_sql_bind_blob(ac_sql_stmt *st, int i, const void *p, int n, ac_sql_destructor d)
{
	return st->ops->bind_blob(st, i, p, n, d);
}

int ac_sql_column_count(ac_sql_stmt *st) { return st->ops->column_count(st); }
const char *ac_sql_column_name(ac_sql_stmt *st, int i) { return st->ops->column_name(st, i); }
int ac_sql_column_type(ac_sql_stmt *st, int i) { return st->ops->column_type(st, i); }
ac_sql_int64 ac_sql_column_int64(ac_sql_stmt *st, int i) { return st->ops->column_int64(st, i); }
int ac_sql_column_int(ac_sql_stmt *st, int i) { return (int)st->ops->column_int64(st, i); }
double ac_sql_column_double(ac_sql_stmt *st, int i) { return st->ops->column_double(st, i); }
const unsigned char *ac_sql_column_text(ac_sql_stmt *st, int i) { return st->ops->column_text(st, i); }
const void *ac_sql_column_blob(ac_sql_stmt *st, int i) { return st->ops->column_blob(st, i); }
int ac_sql_column_bytes(ac_sql_stmt *st, int i) { return st->ops->column_bytes(st, i); }

int ac_sql_exec(ac_sql *db, const char *sql, int (*callback)(void *, int, char **, char **),
		void *arg, char **errmsg)
{
	(void)arg;
	if (errmsg)
		*errmsg = NULL;
	if (callback)
		return AC_SQL_MISUSE;
	return db->ops->exec(db, sql, errmsg);
}

void ac_sql_free(void *p) { free(p); }
int ac_sql_changes(ac_sql *db) { return db->ops->changes(db); }
int ac_sql_total_changes(ac_sql *db) { return db->ops->total_changes(db); }
ac_sql_int64 ac_sql_last_insert_rowid(ac_sql *db) { return db->ops->last_insert_rowid(db); }
int ac_sql_get_autocommit(ac_sql *db) { return db->ops->get_autocommit(db); }
int ac_sql_db_readonly(ac_sql *db, const char *name) { (void)name; return db->ops->db_readonly(db); }
const char *ac_sql_db_filename(ac_sql *db, const char *name) { (void)name; return db->ops->db_filename(db); }
const char *ac_sql_errmsg(ac_sql *db) { return db ? db->ops->errmsg(db) : "out of memory"; }
int ac_sql_errcode(ac_sql *db) { return db ? db->ops->errcode(db) : AC_SQL_NOMEM; }
int ac_sql_extended_errcode(ac_sql *db) { return db ? db->ops->extended_errcode(db) : AC_SQL_NOMEM; }

int ac_sql_wal_checkpoint_v2(ac_sql *db, const char *name, int mode, int *log, int *ckpt)
{
	(void)name;
	if (log)
		*log = -1;
	if (ckpt)
		*ckpt = -1;
	return db->ops->wal_checkpoint(db, mode);
}

int ac_sql_close(ac_sql *db) { return db ? db->ops->close(db) : AC_SQL_OK; }

const char *ac_sql_errstr(int rc)
{
	switch (rc & 0xff) {
	case AC_SQL_OK: return "not an error";
	case AC_SQL_BUSY: return "database is locked";
	case AC_SQL_LOCKED: return "database table is locked";
	case AC_SQL_NOMEM: return "out of memory";
	case AC_SQL_READONLY: return "attempt to write a readonly database";
	case AC_SQL_IOERR: return "disk I/O error or lost connection";
	case AC_SQL_CORRUPT: return "database disk image is malformed";
	case AC_SQL_FULL: return "database or disk is full";
	case AC_SQL_CANTOPEN: return "unable to open database";
	case AC_SQL_CONSTRAINT: return "constraint failed";
	case AC_SQL_MISUSE: return "bad parameter or other API misuse";
	case AC_SQL_RANGE: return "column index out of range";
	case AC_SQL_ROW: return "another row available";
	case AC_SQL_DONE: return "no more rows available";
	default: return "SQL logic error";
	}
}

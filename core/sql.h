/*
 * sql.h — the one storage interface of autocoder: SQLite or PostgreSQL behind the same calls.
 *
 * A connection (ac_sql) and its statements (ac_sql_stmt) are opaque handles. The calls
 * deliberately keep the shape of SQLite's C API (same argument lists, same return codes,
 * "ac_sql_" for "sqlite3_", "AC_SQL_" for "SQLITE_") so the modules were converted by a
 * mechanical rename and read the same as before. Behind each handle sits a backend:
 *
 *   core/sql_sqlite.c  a thin pass-through to SQLite (one indirect call per operation);
 *   core/sql_pg.c      libpq: '?' and '?NNN' placeholders become '$n', every step runs
 *                      PQexecParams with the bound values (int64 as int8, double as float8,
 *                      text untyped so the server infers it, blobs as binary bytea), results
 *                      come back as text and are converted by the column getters.
 *
 * Return codes and column types carry SQLite's numeric values on both backends, so
 * "(rc & 0xff) == AC_SQL_FULL" classifies a PostgreSQL failure too: the PG backend maps
 * SQLSTATEs onto them (disk full -> FULL, read-only transaction -> READONLY, integrity
 * violations -> CONSTRAINT, serialization failure/deadlock -> BUSY, lock not available ->
 * LOCKED, a lost connection -> IOERR; the next call reconnects).
 *
 * Connections are opened by core/db.h (ac_db_open), which picks the backend from the
 * database locator: "postgres://..." or "postgresql://..." is PostgreSQL, anything else
 * ("sqlite:PATH" or a plain path) is an SQLite file. One connection per thread, as before.
 *
 * SQLite-only operations (WAL checkpoints, PRAGMAs) are accepted by the PG backend as
 * no-ops: ac_sql_exec() of a PRAGMA succeeds without doing anything, a prepared PRAGMA
 * returns no rows, checkpoints return AC_SQL_OK. Use ac_sql_backend() where the behaviour
 * must really differ (see core/db.h for the per-backend operations such as backups).
 */
#ifndef AC_SQL_H
#define AC_SQL_H

#include <stddef.h>

typedef struct ac_sql ac_sql;
typedef struct ac_sql_stmt ac_sql_stmt;
typedef long long ac_sql_int64;
typedef void (*ac_sql_destructor)(void *);

enum ac_sql_backend_kind { AC_SQL_SQLITE = 1, AC_SQL_POSTGRES = 2 };

/* Result codes (SQLite's values). */
#define AC_SQL_OK         0
#define AC_SQL_ERROR      1
#define AC_SQL_INTERNAL   2
#define AC_SQL_BUSY       5
#define AC_SQL_LOCKED     6
#define AC_SQL_NOMEM      7
#define AC_SQL_READONLY   8
#define AC_SQL_IOERR     10
#define AC_SQL_CORRUPT   11
#define AC_SQL_FULL      13
#define AC_SQL_CANTOPEN  14
#define AC_SQL_CONSTRAINT 19
#define AC_SQL_MISUSE    21
#define AC_SQL_RANGE     25
#define AC_SQL_ROW      100
#define AC_SQL_DONE     101

/* Column types (SQLite's values). */
#define AC_SQL_INTEGER 1
#define AC_SQL_FLOAT   2
#define AC_SQL_TEXT    3
#define AC_SQL_BLOB    4
#define AC_SQL_NULL    5

#define AC_SQL_STATIC    ((ac_sql_destructor)0)
#define AC_SQL_TRANSIENT ((ac_sql_destructor)-1)

#define AC_SQL_PREPARE_PERSISTENT 0x01

#define AC_SQL_CHECKPOINT_PASSIVE  0
#define AC_SQL_CHECKPOINT_FULL     1
#define AC_SQL_CHECKPOINT_RESTART  2
#define AC_SQL_CHECKPOINT_TRUNCATE 3

/* Which backend serves the connection. */
enum ac_sql_backend_kind ac_sql_backend(ac_sql *db);

/* Statements. nbyte < 0: sql is NUL-terminated; tail may be NULL (only the first statement
 * of sql is prepared). */
int ac_sql_prepare_v2(ac_sql *db, const char *sql, int nbyte, ac_sql_stmt **st, const char **tail);
int ac_sql_prepare_v3(ac_sql *db, const char *sql, int nbyte, unsigned flags, ac_sql_stmt **st,
		      const char **tail);
int ac_sql_step(ac_sql_stmt *st);
int ac_sql_reset(ac_sql_stmt *st);
int ac_sql_clear_bindings(ac_sql_stmt *st);
int ac_sql_finalize(ac_sql_stmt *st);

/* Bind (1-based). Text/blob with AC_SQL_STATIC must stay valid until the next step/reset. */
int ac_sql_bind_int64(ac_sql_stmt *st, int i, ac_sql_int64 v);
int ac_sql_bind_int(ac_sql_stmt *st, int i, int v);
int ac_sql_bind_double(ac_sql_stmt *st, int i, double v);
int ac_sql_bind_text(ac_sql_stmt *st, int i, const char *s, int n, ac_sql_destructor d);
int ac_sql_bind_blob(ac_sql_stmt *st, int i, const void *p, int n, ac_sql_destructor d);
int ac_sql_bind_null(ac_sql_stmt *st, int i);

/* Columns of the current row (0-based). */
int ac_sql_column_count(ac_sql_stmt *st);
const char *ac_sql_column_name(ac_sql_stmt *st, int i);
int ac_sql_column_type(ac_sql_stmt *st, int i);
ac_sql_int64 ac_sql_column_int64(ac_sql_stmt *st, int i);
int ac_sql_column_int(ac_sql_stmt *st, int i);
double ac_sql_column_double(ac_sql_stmt *st, int i);
const unsigned char *ac_sql_column_text(ac_sql_stmt *st, int i);
const void *ac_sql_column_blob(ac_sql_stmt *st, int i);
int ac_sql_column_bytes(ac_sql_stmt *st, int i);

/* Connection. */
/* Run one or more statements without parameters. callback must be NULL (kept for the
 * shape of sqlite3_exec); *errmsg (if errmsg) gets a message to free with ac_sql_free. */
int ac_sql_exec(ac_sql *db, const char *sql, int (*callback)(void *, int, char **, char **),
		void *arg, char **errmsg);
void ac_sql_free(void *p);
/* Rows changed by the last INSERT/UPDATE/DELETE, and the sum over the connection. */
int ac_sql_changes(ac_sql *db);
int ac_sql_total_changes(ac_sql *db);
/* The id the last INSERT on this connection gave its row (PostgreSQL: lastval(), i.e. the
 * last identity value drawn in this session). */
ac_sql_int64 ac_sql_last_insert_rowid(ac_sql *db);
/* 1 outside a transaction, 0 inside one. */
int ac_sql_get_autocommit(ac_sql *db);
/* 1 when the connection cannot write, 0 when it can, -1 unknown (name: "main"). */
int ac_sql_db_readonly(ac_sql *db, const char *name);
/* The file name (SQLite) or the host/database (PostgreSQL), for messages. */
const char *ac_sql_db_filename(ac_sql *db, const char *name);
const char *ac_sql_errmsg(ac_sql *db);
int ac_sql_errcode(ac_sql *db);
int ac_sql_extended_errcode(ac_sql *db);
const char *ac_sql_errstr(int rc);
/* WAL checkpoint (SQLite); AC_SQL_OK without effect on PostgreSQL. */
int ac_sql_wal_checkpoint_v2(ac_sql *db, const char *name, int mode, int *log, int *ckpt);
/* Close the connection (finalize its statements first). NULL is fine. */
int ac_sql_close(ac_sql *db);

#endif

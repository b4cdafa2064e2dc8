/*
 * db_int.h — between core/db.c (SQLite, the migration table) and core/db_pg.c (PostgreSQL).
 */
#ifndef AC_DB_INT_H
#define AC_DB_INT_H

#include "core/db.h"

/* The SQLite migration that takes version v to v+1 (0-based), or NULL. */
const char *ac_db_migration_sql(int v);
/* Open, create or migrate (AC_DB_WRITE) a PostgreSQL database. */
ac_sql *ac_db_pg_open(const char *uri, enum ac_db_mode mode, struct ac_error *err);
/* Its schema version without migrating. */
int ac_db_pg_version(const char *uri, int *version, struct ac_error *err);

#endif

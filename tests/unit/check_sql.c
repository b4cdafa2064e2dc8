/*
 * check_sql.c — unit tests for the storage interface (core/sql.h): the SQLite backend through
 * the interface (statements, binds, columns, changes, ids, error codes), the database locator,
 * and the PostgreSQL backend's translation of SQLite-dialect statements. The PostgreSQL
 * backend against a live server is covered by the integration tests (t96-t98, AC_TEST_DB=pg).
 */
#include "core/common.h"
#include "core/db.h"
#include "core/sql.h"
#include "core/sql_int.h"

#include <check.h>

#include "tests/unit/check_run.h"

static void expect_pg(const char *sqlite, const char *pg, int nparams)
{
	int n = -1;
	char *t = ac_sql_pg_translate(sqlite, &n);

	ck_assert_ptr_nonnull(t);
	ck_assert_str_eq(t, pg);
	ck_assert_int_eq(n, nparams);
	free(t);
}

START_TEST(pg_translation_numbers_placeholders)
{
	expect_pg("SELECT a FROM t WHERE b = ? AND c = ?", "SELECT a FROM t WHERE b = $1 AND c = $2", 2);
	expect_pg("UPDATE t SET a=?2 WHERE id=?1", "UPDATE t SET a=$2 WHERE id=$1", 2);
	/* SQLite's rule: a bare ? takes the largest number so far plus one */
	expect_pg("SELECT ?3, ?", "SELECT $3, $4", 4);
	/* nothing inside literals or quoted identifiers */
	expect_pg("SELECT '?', \"a?\" FROM t WHERE x = ?", "SELECT '?', \"a?\" FROM t WHERE x = $1", 1);
}
END_TEST

START_TEST(pg_translation_rewrites_sqlite_spellings)
{
	expect_pg("BEGIN IMMEDIATE", "BEGIN ", 0);
	expect_pg("SET CONSTRAINTS ALL DEFERRED", "SET CONSTRAINTS ALL DEFERRED", 0);
	/* a bare column in DO UPDATE SET is the existing row's: qualified for PostgreSQL */
	expect_pg("INSERT INTO d(id, n, count) VALUES(?1,?2,1) ON CONFLICT(id, n) DO UPDATE SET"
		  " count=count+excluded.count WHERE n > 0",
		  "INSERT INTO d(id, n, count) VALUES($1,$2,1) ON CONFLICT(id, n) DO UPDATE SET"
		  " count=d.count+excluded.count WHERE n > 0", 2);
	expect_pg("SELECT ifnull(a, 0) FROM t", "SELECT COALESCE(a, 0) FROM t", 0);
	expect_pg("SELECT max(a, b), max(c), min(a, (b)) FROM t",
		  "SELECT GREATEST(a, b), max(c), LEAST(a, (b)) FROM t", 0);
	expect_pg("SELECT 1 FROM t WHERE p IS ? AND q IS NOT ? AND r IS NOT NULL",
		  "SELECT 1 FROM t WHERE p IS NOT DISTINCT FROM $1 AND q IS DISTINCT FROM $2 AND r IS NOT NULL", 2);
	expect_pg("SELECT 1 FROM t WHERE m LIKE ? ESCAPE '\\'",
		  "SELECT 1 FROM t WHERE m ILIKE $1 ESCAPE '\\'", 1);
	expect_pg("INSERT OR IGNORE INTO t(a) VALUES(?); UPDATE t SET a = 1",
		  "INSERT INTO t(a) VALUES($1) ON CONFLICT DO NOTHING; UPDATE t SET a = 1", 1);
	expect_pg("INSERT OR REPLACE INTO miner_config(key, value) VALUES(?, ?)",
		  "INSERT INTO miner_config(key, value) VALUES($1, $2)"
		  " ON CONFLICT (key) DO UPDATE SET value = excluded.value", 2);
	expect_pg("INSERT OR REPLACE INTO alert_state(rule_id, cluster_id, last_sent_at) VALUES(?1,?2,?3)",
		  "INSERT INTO alert_state(rule_id, cluster_id, last_sent_at) VALUES($1,$2,$3)"
		  " ON CONFLICT (rule_id,cluster_id) DO UPDATE SET last_sent_at = excluded.last_sent_at", 3);
}
END_TEST

START_TEST(locators_pick_the_backend)
{
	ck_assert(ac_db_is_postgres("postgres://u@h/db"));
	ck_assert(ac_db_is_postgres("postgresql://h:5432/db?sslmode=disable"));
	ck_assert(!ac_db_is_postgres("data/autocoder.db"));
	ck_assert(!ac_db_is_postgres("sqlite:postgres://x"));
	ck_assert_str_eq(ac_db_sqlite_path("sqlite:/tmp/x.db"), "/tmp/x.db");
	ck_assert_str_eq(ac_db_sqlite_path("/tmp/x.db"), "/tmp/x.db");
	ck_assert_ptr_null(ac_db_sqlite_path("postgresql://h/db"));
}
END_TEST

START_TEST(sqlite_through_the_interface)
{
	char path[] = "/tmp/ac-check-sql-XXXXXX", loc[64];
	int fd = mkstemp(path);
	struct ac_error err;
	ac_sql *db;
	ac_sql_stmt *st;
	static const unsigned char blob[4] = { 0, 1, 0xfe, 0xff };

	ck_assert_int_ge(fd, 0);
	close(fd);
	unlink(path);
	snprintf(loc, sizeof loc, "sqlite:%s", path);
	db = ac_db_open(loc, AC_DB_WRITE, &err);
	ck_assert_msg(db != NULL, "%s", err.msg);
	ck_assert_int_eq(ac_sql_backend(db), AC_SQL_SQLITE);
	ck_assert_int_eq(ac_db_exec(db, "CREATE TABLE t(id INTEGER PRIMARY KEY, i INTEGER,"
				    " d REAL, s TEXT UNIQUE, b BLOB)", &err), 0);
	ck_assert_int_eq(ac_sql_prepare_v2(db, "INSERT INTO t(i, d, s, b) VALUES(?, ?, ?, ?)", -1,
					   &st, NULL), AC_SQL_OK);
	ac_sql_bind_int64(st, 1, 1LL << 40);
	ac_sql_bind_double(st, 2, 2.5);
	ac_sql_bind_text(st, 3, "abc", -1, AC_SQL_TRANSIENT);
	ac_sql_bind_blob(st, 4, blob, 4, AC_SQL_STATIC);
	ck_assert_int_eq(ac_sql_step(st), AC_SQL_DONE);
	ck_assert_int_eq(ac_sql_changes(db), 1);
	ck_assert_int_eq(ac_sql_last_insert_rowid(db), 1);
	ac_sql_reset(st);
	/* the same text again: a constraint error, classified */
	ck_assert_int_eq(ac_sql_step(st) & 0xff, AC_SQL_CONSTRAINT);
	ck_assert_int_eq(ac_sql_extended_errcode(db) & 0xff, AC_SQL_CONSTRAINT);
	ac_sql_finalize(st);
	ck_assert_int_eq(ac_sql_prepare_v2(db, "SELECT i, d, s, b, NULL FROM t", -1, &st, NULL), AC_SQL_OK);
	ck_assert_int_eq(ac_sql_step(st), AC_SQL_ROW);
	ck_assert_int_eq(ac_sql_column_count(st), 5);
	ck_assert_int_eq(ac_sql_column_type(st, 0), AC_SQL_INTEGER);
	ck_assert(ac_sql_column_int64(st, 0) == 1LL << 40);
	ck_assert_int_eq(ac_sql_column_type(st, 1), AC_SQL_FLOAT);
	ck_assert(ac_sql_column_double(st, 1) == 2.5);
	ck_assert_str_eq((const char *)ac_sql_column_text(st, 2), "abc");
	ck_assert_int_eq(ac_sql_column_type(st, 3), AC_SQL_BLOB);
	ck_assert_int_eq(ac_sql_column_bytes(st, 3), 4);
	ck_assert_mem_eq(ac_sql_column_blob(st, 3), blob, 4);
	ck_assert_int_eq(ac_sql_column_type(st, 4), AC_SQL_NULL);
	ck_assert_int_eq(ac_sql_step(st), AC_SQL_DONE);
	ac_sql_finalize(st);
	ck_assert_int_eq(ac_sql_get_autocommit(db), 1);
	ck_assert_int_eq(ac_db_begin_serialized(db, AC_DB_LOCK_ANALYZER, &err), 0);
	ck_assert_int_eq(ac_sql_get_autocommit(db), 0);
	ck_assert_int_eq(ac_db_exec(db, "COMMIT", &err), 0);
	ck_assert_int_ne(ac_db_exec(db, "SELECT nope FROM t", &err), 0);
	ck_assert_ptr_nonnull(strstr(err.msg, "nope"));
	/* the partition housekeeping is PostgreSQL's: nothing to do on SQLite */
	ck_assert_int_eq(ac_db_prepare_partitions(db, ac_now(), &err), 0);
	ac_db_close(db);
	unlink(path);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("sql");
	TCase *tc = tcase_create("sql");

	tcase_add_test(tc, pg_translation_numbers_placeholders);
	tcase_add_test(tc, pg_translation_rewrites_sqlite_spellings);
	tcase_add_test(tc, locators_pick_the_backend);
	tcase_add_test(tc, sqlite_through_the_interface);
	suite_add_tcase(s, tc);
	return ac_check_run(s);
}

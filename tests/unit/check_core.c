/*
 * check_core.c — unit tests for core/: bounded buffers, time parsing, UTF-8 validation,
 * sizes and the database migrations.
 */
#include "core/common.h"
#include "core/db.h"

#include <check.h>

#include "tests/unit/check_run.h"

START_TEST(buf_respects_its_maximum)
{
	struct ac_buf b;
	ac_buf_init(&b, 8);
	ck_assert_int_eq(ac_buf_puts(&b, "12345"), 0);
	ck_assert_int_eq(ac_buf_puts(&b, "6789"), AC_ETOOBIG);
	ck_assert_str_eq(b.data, "12345");
	ck_assert_int_eq(ac_buf_printf(&b, "%d", 678), 0);
	ck_assert_str_eq(b.data, "12345678");
	ck_assert_int_eq(ac_buf_append(&b, "x", 1), AC_ETOOBIG);
	ac_buf_release(&b);
}
END_TEST

START_TEST(time_parses_rfc3339_and_epoch)
{
	double t;
	ck_assert_int_eq(ac_parse_time("2026-11-24T23:05:01.5Z", &t), 0);
	ck_assert_double_eq_tol(t, 1795561501.5, 1e-6);
	ck_assert_int_eq(ac_parse_time("2026-11-25T00:05:01.5+01:00", &t), 0);
	ck_assert_double_eq_tol(t, 1795561501.5, 1e-6);
	ck_assert_int_eq(ac_parse_time("1795561501500", &t), 0);
	ck_assert_double_eq_tol(t, 1795561501.5, 1e-6);
	ck_assert_int_eq(ac_parse_time("2026-13-01", &t), AC_EINVAL);
	ck_assert_int_eq(ac_parse_time("yesterday", &t), AC_EINVAL);
	char buf[40];
	ac_format_iso8601(1795561501.5, buf, sizeof buf);
	ck_assert_str_eq(buf, "2026-11-24T23:05:01.500Z");
}
END_TEST

START_TEST(utf8_rejects_overlong_and_surrogates)
{
	size_t off = 0;
	ck_assert(ac_utf8_valid("h\xc3\xa9llo \xf0\x9f\x98\x80", 11, NULL));
	ck_assert(!ac_utf8_valid("ab\xc0\xaf", 4, &off));
	ck_assert_uint_eq(off, 2);
	ck_assert(!ac_utf8_valid("\xed\xa0\x80", 3, NULL));
	ck_assert(!ac_utf8_valid("\xe2\x82", 2, NULL));
	ck_assert(!ac_utf8_valid("\xff", 1, NULL));
}
END_TEST

START_TEST(sizes_accept_suffixes)
{
	size_t n;
	ck_assert_int_eq(ac_parse_size("20M", &n), 0);
	ck_assert_uint_eq(n, 20u << 20);
	ck_assert_int_eq(ac_parse_size("64Mi", &n), 0);
	ck_assert_uint_eq(n, 64u << 20);
	ck_assert_int_eq(ac_parse_size("1k", &n), 0);
	ck_assert_uint_eq(n, 1024);
	ck_assert_int_eq(ac_parse_size("12q", &n), AC_EINVAL);
	ck_assert_int_eq(ac_parse_size("-1", &n), AC_EINVAL);
}
END_TEST

START_TEST(db_migrates_a_new_file_to_current_version)
{
	char path[] = "/tmp/ac-check-db-XXXXXX";
	int fd = mkstemp(path);
	struct ac_error err;
	ac_sql *db, *ro;
	ac_sql_stmt *st;

	ck_assert_int_ge(fd, 0);
	close(fd);
	unlink(path);
	db = ac_db_open(path, AC_DB_WRITE, &err);
	ck_assert_msg(db != NULL, "%s", err.msg);
	ck_assert_int_eq(ac_sql_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL), AC_SQL_OK);
	ck_assert_int_eq(ac_sql_step(st), AC_SQL_ROW);
	ck_assert_int_eq(ac_sql_column_int(st, 0), ac_db_schema_version());
	ac_sql_finalize(st);
	ro = ac_db_open(path, AC_DB_READ, &err);
	ck_assert_msg(ro != NULL, "%s", err.msg);
	ac_db_close(ro);
	ac_db_close(db);
	/* reopening an up-to-date database applies nothing and succeeds */
	db = ac_db_open(path, AC_DB_WRITE, &err);
	ck_assert_msg(db != NULL, "%s", err.msg);
	ac_db_close(db);
	unlink(path);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("core");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, buf_respects_its_maximum);
	tcase_add_test(tc, time_parses_rfc3339_and_epoch);
	tcase_add_test(tc, utf8_rejects_overlong_and_surrogates);
	tcase_add_test(tc, sizes_accept_suffixes);
	tcase_add_test(tc, db_migrates_a_new_file_to_current_version);
	suite_add_tcase(s, tc);
	return ac_check_run(s);
}

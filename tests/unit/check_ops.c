/*
 * check_ops.c — unit tests for the operations code: config file and environment arguments
 * (core/config.c), retention ages, the access-log mode, retention passes on a real SQLite
 * file (counts, ages, event_grouping kept consistent), backup and the schema helpers.
 */
#include "core/common.h"
#include "core/config.h"
#include "core/db.h"
#include "collector/ops.h"
#include "collector/retention.h"

#include <check.h>
#include "core/sql.h"

#include "tests/unit/check_run.h"

static const struct option opts[] = {
	{ "listen", required_argument, NULL, 'l' }, { "open-read", no_argument, NULL, 'o' },
	{ "retention-max-age", required_argument, NULL, 1 }, { "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};
static const char *const skip[] = { "help", NULL };

static char *write_tmp(const char *text)
{
	static char path[64];
	int fd;

	snprintf(path, sizeof path, "/tmp/check_ops.XXXXXX");
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

START_TEST(config_file_becomes_arguments)
{
	struct ac_strv out = { 0 };
	struct ac_error err;
	char *p = write_tmp("# c\nlisten: 127.0.0.1:9\nretention_max_age: 30d\nopen-read: true\n");

	ck_assert_int_eq(ac_config_file_args(p, opts, skip, &out, &err), 0);
	ck_assert_uint_eq(out.n, 3);
	ck_assert_str_eq(out.v[0], "--listen=127.0.0.1:9");
	ck_assert_uint_eq(out.line[0], 2);
	ck_assert_str_eq(out.v[1], "--retention-max-age=30d");
	ck_assert_str_eq(out.v[2], "--open-read");
	ac_strv_free(&out);
	unlink(p);
}
END_TEST

START_TEST(config_file_errors_name_line_and_column)
{
	struct ac_strv out = { 0 };
	struct ac_error err;
	char *p = write_tmp("listen: x\n  help: true\n");

	ck_assert_int_eq(ac_config_file_args(p, opts, skip, &out, &err), AC_EINVAL);
	ac_strv_free(&out);
	unlink(p);
	p = write_tmp("listen: x\nhelp: true\n");
	ck_assert_int_eq(ac_config_file_args(p, opts, skip, &out, &err), AC_EINVAL);
	ck_assert_msg(strstr(err.msg, ":2:1: unknown option help"), "%s", err.msg);
	ac_strv_free(&out);
	unlink(p);
	p = write_tmp("open-read: maybe\n");
	ck_assert_int_eq(ac_config_file_args(p, opts, skip, &out, &err), AC_EINVAL);
	ck_assert_msg(strstr(err.msg, "must be true or false"), "%s", err.msg);
	ac_strv_free(&out);
	unlink(p);
	ck_assert_int_eq(ac_config_file_args("/nonexistent/x.yaml", opts, skip, &out, &err), AC_EIO);
	ck_assert_msg(strstr(err.msg, "--config /nonexistent/x.yaml"), "%s", err.msg);
}
END_TEST

START_TEST(env_variables_become_arguments)
{
	struct ac_strv out = { 0 };
	struct ac_error err;
	char name[64];

	ac_config_env_name("AUTOCODER_", "retention-max-age", name, sizeof name);
	ck_assert_str_eq(name, "AUTOCODER_RETENTION_MAX_AGE");
	setenv("ACTEST_LISTEN", ":1", 1);
	setenv("ACTEST_OPEN_READ", "0", 1);
	setenv("ACTEST_HELP", "1", 1);
	ck_assert_int_eq(ac_config_env_args("ACTEST_", opts, skip, &out, &err), 0);
	ck_assert_uint_eq(out.n, 1);  /* open-read off adds nothing; help is not configurable */
	ck_assert_str_eq(out.v[0], "--listen=:1");
	ac_strv_free(&out);
	setenv("ACTEST_OPEN_READ", "sometimes", 1);
	ck_assert_int_eq(ac_config_env_args("ACTEST_", opts, skip, &out, &err), AC_EINVAL);
	ck_assert_msg(strstr(err.msg, "ACTEST_OPEN_READ"), "%s", err.msg);
	ac_strv_free(&out);
}
END_TEST

START_TEST(ages_and_access_log_modes_parse)
{
	double s;
	enum access_log_mode m;
	unsigned n;

	ck_assert_int_eq(retention_parse_age("90d", &s), 0);
	ck_assert_double_eq(s, 90 * 86400.0);
	ck_assert_int_eq(retention_parse_age("1.5h", &s), 0);
	ck_assert_double_eq(s, 5400.0);
	ck_assert_int_eq(retention_parse_age("45", &s), 0);
	ck_assert_double_eq(s, 45.0);
	ck_assert_int_eq(retention_parse_age("0", &s), 0);
	ck_assert_int_eq(retention_parse_age("-1d", &s), AC_EINVAL);
	ck_assert_int_eq(retention_parse_age("3w", &s), AC_EINVAL);
	ck_assert_int_eq(retention_parse_age("3dd", &s), AC_EINVAL);
	ck_assert_int_eq(access_log_parse("sample:10", &m, &n), 0);
	ck_assert_int_eq(m, ACCESS_LOG_ON);
	ck_assert_uint_eq(n, 10);
	ck_assert_int_eq(access_log_parse("off", &m, &n), 0);
	ck_assert_int_eq(m, ACCESS_LOG_OFF);
	ck_assert_int_eq(access_log_parse("sample:0", &m, &n), AC_EINVAL);
	ck_assert_int_eq(access_log_parse("loud", &m, &n), AC_EINVAL);
}
END_TEST

static void exec_ok(ac_sql *db, const char *sql)
{
	char *msg = NULL;
	ck_assert_msg(ac_sql_exec(db, sql, NULL, NULL, &msg) == AC_SQL_OK, "%s: %s", sql, msg ? msg : "");
}

static long long count(ac_sql *db, const char *sql)
{
	ac_sql_stmt *st;
	long long v;
	ck_assert_int_eq(ac_sql_prepare_v2(db, sql, -1, &st, NULL), AC_SQL_OK);
	ck_assert_int_eq(ac_sql_step(st), AC_SQL_ROW);
	v = ac_sql_column_int64(st, 0);
	ac_sql_finalize(st);
	return v;
}

START_TEST(retention_pass_deletes_oldest_and_their_groupings)
{
	char path[] = "/tmp/check_ops_db.XXXXXX", backup[64], sql[512];
	struct retention_policy pol = { 3600, 0, 0 };
	struct ac_db_backup_info info;
	struct ac_error err;
	unsigned long n = 0;
	ac_sql *db;
	int fd = mkstemp(path), version = 0;

	ck_assert_int_ge(fd, 0);
	close(fd);
	unlink(path);
	db = ac_db_open(path, AC_DB_WRITE, &err);
	ck_assert_msg(db != NULL, "%s", err.msg);
	exec_ok(db, "INSERT INTO projects(id, name, created_at) VALUES(1, 'a', 0), (2, 'b', 0)");
	/* project 1: 1200 events two hours old, 10 new; project 2: 30 new, max 20 by policy */
	for (int i = 0; i < 1240; i++) {
		int proj = i < 1210 ? 1 : 2;
		double age = i < 1200 ? 7200 : 0;
		snprintf(sql, sizeof sql, "INSERT INTO events(event_id, project_id, received_at, timestamp,"
			 " level, kind, source, raw) VALUES('e%d', %d, %f, 0, 'error', 'error', 'native', '{}');"
			 "INSERT INTO event_grouping(event, cluster_id, basis, key, explanation)"
			 " SELECT last_insert_rowid(), 1, 'message', 'k', 'x' WHERE %d %% 2 = 0",
			 i, proj, ac_now() - age, i);
		exec_ok(db, sql);
	}
	/* an old event's attachment and feedback go with it; a new event's stay */
	exec_ok(db, "INSERT INTO event_attachments(project_id, event_id, filename, size, data, received_at)"
		    " VALUES(1, 'e0', 'old.txt', 3, x'616263', 0), (1, 'e1205', 'new.txt', 3, x'616263', 0)");
	exec_ok(db, "INSERT INTO event_feedback(project_id, event_id, comments, received_at)"
		    " VALUES(1, 'e0', 'old', 0), (1, 'e1205', 'new', 0)");
	exec_ok(db, "INSERT INTO retention(project_id, max_age_seconds, max_events, updated_at) VALUES(2, 0, 20, 0)");
	ck_assert_int_eq(retention_pass(path, &pol, false, &n, &err), 0);
	ck_assert_uint_eq(n, 1200 + 10);
	ck_assert_int_eq(count(db, "SELECT count(*) FROM event_attachments WHERE event_id='e0'"), 0);
	ck_assert_int_eq(count(db, "SELECT count(*) FROM event_feedback WHERE event_id='e0'"), 0);
	ck_assert_int_eq(count(db, "SELECT count(*) FROM event_attachments WHERE event_id='e1205'"), 1);
	ck_assert_int_eq(count(db, "SELECT count(*) FROM event_feedback WHERE event_id='e1205'"), 1);
	ck_assert_int_eq(count(db, "SELECT count(*) FROM events WHERE project_id=1"), 10);
	ck_assert_int_eq(count(db, "SELECT count(*) FROM events WHERE project_id=2"), 20);
	/* the newest 20 of project 2 stayed */
	ck_assert_int_eq(count(db, "SELECT count(*) FROM events WHERE project_id=2 AND id > (SELECT max(id) - 20 FROM events)"), 20);
	/* only every other event had a grouping row; none is left for a deleted event */
	ck_assert_int_eq(count(db, "SELECT count(*) FROM event_grouping g LEFT JOIN events e ON e.id=g.event WHERE e.id IS NULL"), 0);
	ck_assert_int_eq(count(db, "SELECT count(*) FROM event_grouping"), 15);
	ck_assert_int_eq(count(db, "PRAGMA auto_vacuum"), 2);
	ck_assert_int_eq(count(db, "PRAGMA freelist_count"), 0);
	/* max bytes: 10 events of ~202 estimated bytes each (raw "{}" + 200), limit 1010 -> 5 */
	exec_ok(db, "INSERT INTO retention(project_id, max_bytes, updated_at) VALUES(1, 1010, 0)");
	ck_assert_int_eq(retention_pass(path, &pol, false, &n, &err), 0);
	ck_assert_uint_eq(n, 5);
	ck_assert_int_eq(count(db, "SELECT count(*) FROM events WHERE project_id=1"), 5);
	/* the guard keeps events above the analyzer's position */
	exec_ok(db, "INSERT INTO analyzer_state(key, value) VALUES('last_event_id', '0')");
	pol.max_age_seconds = 0.001;
	ck_assert_int_eq(retention_pass(path, &pol, true, &n, &err), 0);
	ck_assert_uint_eq(n, 0);
	/* backup: a verified copy at the same schema; an existing target is refused */
	snprintf(backup, sizeof backup, "%s.bak", path);
	ck_assert_int_eq(ac_db_backup(path, backup, &info, &err), 0);
	ck_assert_str_eq(info.integrity, "ok");
	ck_assert_int_eq(info.schema_version, ac_db_schema_version());
	ck_assert_int_eq(ac_db_file_version(backup, &version, &err), 0);
	ck_assert_int_eq(version, ac_db_schema_version());
	ck_assert_int_eq(ac_db_backup(path, backup, &info, &err), AC_EINVAL);
	ck_assert_int_eq(ac_db_file_version("/nonexistent.db", &version, &err), AC_ENOTFOUND);
	ac_db_close(db);
	unlink(backup);
	snprintf(sql, sizeof sql, "%s-wal", path);
	unlink(sql);
	snprintf(sql, sizeof sql, "%s-shm", path);
	unlink(sql);
	unlink(path);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("ops");
	TCase *tc = tcase_create("ops");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, config_file_becomes_arguments);
	tcase_add_test(tc, config_file_errors_name_line_and_column);
	tcase_add_test(tc, env_variables_become_arguments);
	tcase_add_test(tc, ages_and_access_log_modes_parse);
	tcase_add_test(tc, retention_pass_deletes_oldest_and_their_groupings);
	suite_add_tcase(s, tc);
	return ac_check_run(s);
}

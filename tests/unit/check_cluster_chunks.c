/*
 * check_cluster_chunks.c — merge, split and unmerge run in chunks of events (one transaction
 * each, analyzer_set_chunk_rows) and must end exactly as a single-chunk operation does:
 * counts, first/last seen, breakdowns, hourly series, each event's cluster and explanation.
 * An operation interrupted midway (a trigger makes a chunk fail) leaves no event counted twice,
 * and reopening the analyzer finishes it to the same end state.
 */
#include "core/common.h"
#include "core/db.h"
#include "analyzer/analyzer.h"

#include <check.h>

#include "tests/unit/check_run.h"

struct fixture {
	char path[64];
	ac_sql *db;
	struct analyzer *a;
};

static void open_fixture(struct fixture *f)
{
	struct ac_error err;
	int fd;

	snprintf(f->path, sizeof f->path, "/tmp/check_chunks_XXXXXX");
	fd = mkstemp(f->path);
	ck_assert_int_ge(fd, 0);
	close(fd);
	f->db = ac_db_open(f->path, AC_DB_WRITE, &err);
	ck_assert_msg(f->db != NULL, "%s", err.msg);
	ck_assert_msg(analyzer_open(f->path, NULL, &f->a, &err) == 0, "%s", err.msg);
}

static void reopen_analyzer(struct fixture *f)
{
	struct ac_error err;
	analyzer_close(f->a);
	ck_assert_msg(analyzer_open(f->path, NULL, &f->a, &err) == 0, "%s", err.msg);
}

static void close_fixture(struct fixture *f)
{
	char p[80];
	analyzer_close(f->a);
	ac_db_close(f->db);
	unlink(f->path);
	snprintf(p, sizeof p, "%s-wal", f->path);
	unlink(p);
	snprintf(p, sizeof p, "%s-shm", f->path);
	unlink(p);
}

static void exec(struct fixture *f, const char *sql)
{
	char *msg = NULL;
	ck_assert_msg(ac_sql_exec(f->db, sql, NULL, NULL, &msg) == AC_SQL_OK, "%s: %s", sql, msg);
}

static long long q_int(struct fixture *f, const char *sql)
{
	ac_sql_stmt *st;
	long long v = -1;
	ck_assert_msg(ac_sql_prepare_v2(f->db, sql, -1, &st, NULL) == AC_SQL_OK, "%s", sql);
	if (ac_sql_step(st) == AC_SQL_ROW)
		v = ac_sql_column_int64(st, 0);
	ac_sql_finalize(st);
	return v;
}

/* Everything an operation derives, as one text (updated_at left out: it is a clock). */
static char *snapshot(struct fixture *f)
{
	static const char sql[] =
		"SELECT (SELECT group_concat(x, '|') FROM (SELECT id||','||count||','||"
		"  COALESCE(first_seen,'-')||','||COALESCE(last_seen,'-')||','||max_level||','||"
		"  COALESCE(merged_into,'-')||','||split||','||COALESCE(split_from,'-')||','||fingerprint||','||title AS x"
		"  FROM clusters ORDER BY id))"
		" || '#' || (SELECT group_concat(x, '|') FROM (SELECT cluster_id||','||dim||','||"
		"  value||','||count AS x FROM cluster_dims WHERE count<>0 ORDER BY 1))"
		" || '#' || (SELECT group_concat(x, '|') FROM (SELECT cluster_id||','||hour||','||count AS x"
		"  FROM cluster_hourly WHERE count<>0 ORDER BY 1))"
		" || '#' || (SELECT group_concat(x, '|') FROM (SELECT e.id||','||e.cluster_id||','||"
		"  g.cluster_id||','||g.explanation AS x FROM events e JOIN event_grouping g ON g.event=e.id"
		"  ORDER BY e.id))";
	ac_sql_stmt *st;
	char *s;

	ck_assert_int_eq(ac_sql_prepare_v2(f->db, sql, -1, &st, NULL), AC_SQL_OK);
	ck_assert_int_eq(ac_sql_step(st), AC_SQL_ROW);
	s = strdup((const char *)ac_sql_column_text(st, 0));
	ac_sql_finalize(st);
	return s;
}

/* 60 events in three clusters (1: logins by four users, splittable; 2: connection refused;
 * 3: database unreachable), spread over several hours and systems. */
static void add_events(struct fixture *f)
{
	static const char *const users[] = { "alice", "bob", "carol", "12" };
	static const char sql[] =
		"INSERT INTO events(event_id, received_at, timestamp, level, kind, system, message, source, raw)"
		" SELECT ?1, ?2, ?2, json_extract(?3,'$.level'), 'log', json_extract(?3,'$.system'),"
		" json_extract(?3,'$.message'), 'native', ?3";
	struct ac_error err;

	for (int i = 0; i < 60; i++) {
		char json[256], id[16];
		ac_sql_stmt *st;

		if (i % 3 == 0)
			snprintf(json, sizeof json, "{\"message\":\"login failed for user %s\",\"level\":\"%s\",\"system\":\"s%d\"}",
				 users[(i / 3) % 4], i % 2 ? "error" : "warning", i % 5);
		else if (i % 3 == 1)
			snprintf(json, sizeof json, "{\"message\":\"connection refused to db:%d\",\"level\":\"error\",\"system\":\"s%d\"}",
				 5000 + i, i % 4);
		else
			snprintf(json, sizeof json, "{\"message\":\"could not reach the database after %d attempts\",\"level\":\"%s\",\"system\":\"s%d\"}",
				 i, i % 4 ? "warning" : "fatal", i % 3);
		snprintf(id, sizeof id, "ev%d", i);
		ck_assert_int_eq(ac_sql_prepare_v2(f->db, sql, -1, &st, NULL), AC_SQL_OK);
		ac_sql_bind_text(st, 1, id, -1, AC_SQL_TRANSIENT);
		ac_sql_bind_double(st, 2, 1764000000.0 + i * 1100.0);
		ac_sql_bind_text(st, 3, json, -1, AC_SQL_TRANSIENT);
		ck_assert_int_eq(ac_sql_step(st), AC_SQL_DONE);
		ac_sql_finalize(st);
	}
	ck_assert_int_eq(analyzer_process_new(f->a, &err), 60);
	ck_assert_int_eq(q_int(f, "SELECT COUNT(*) FROM clusters WHERE count=20 AND id<=3"), 3);
}

enum op { OP_MERGE, OP_UNMERGE, OP_SPLIT };

static int run(struct fixture *f, enum op op, struct ac_error *err)
{
	long long *kids = NULL, into = 0;
	size_t n = 0;
	int rc;

	switch (op) {
	case OP_MERGE:
		return analyzer_merge(f->a, 2, (long long[]){ 3 }, 1, -1, err);
	case OP_UNMERGE:
		return analyzer_unmerge(f->a, 3, -1, &into, err);
	default:
		rc = analyzer_split(f->a, 1, -1, &kids, &n, err);
		free(kids);
		return rc;
	}
}

/* Build the database and run ops[0..n) with the given chunk size; return the snapshot. */
static char *scenario(size_t chunk, const enum op *ops, size_t n)
{
	struct fixture f;
	struct ac_error err;
	char *s;

	analyzer_set_chunk_rows(chunk);
	open_fixture(&f);
	add_events(&f);
	for (size_t i = 0; i < n; i++)
		ck_assert_msg(run(&f, ops[i], &err) == 0, "op %zu: %s", i, err.msg);
	ck_assert_int_eq(q_int(&f, "SELECT SUM(count) FROM clusters"), 60);
	ck_assert_int_eq(q_int(&f, "SELECT COUNT(*) FROM analyzer_state WHERE key='cluster_op'"), 0);
	s = snapshot(&f);
	close_fixture(&f);
	analyzer_set_chunk_rows(0);
	return s;
}

START_TEST(chunked_operations_end_as_one_chunk_does)
{
	static const enum op ops[] = { OP_MERGE, OP_UNMERGE, OP_MERGE, OP_SPLIT };

	for (size_t k = 1; k <= AC_ARRAY_SIZE(ops); k++) {
		char *one = scenario(100000, ops, k);
		for (size_t chunk = 1; chunk <= 7; chunk += 3) {
			char *many = scenario(chunk, ops, k);
			ck_assert_msg(!strcmp(one, many), "after %zu ops, chunk %zu:\n%s\n!=\n%s", k,
				      chunk, many, one);
			free(many);
		}
		free(one);
	}
}
END_TEST

/* A chunk fails after `after` events moved (a trigger aborts); the counts still add up, and
 * reopening the analyzer finishes the operation to the uninterrupted end state. */
static void interrupted(const enum op *ops, size_t n, int after)
{
	struct fixture f;
	struct ac_error err;
	char trig[512], *want = scenario(100000, ops, n), *got;

	analyzer_set_chunk_rows(2);
	open_fixture(&f);
	add_events(&f);
	for (size_t i = 0; i + 1 < n; i++)
		ck_assert_msg(run(&f, ops[i], &err) == 0, "%s", err.msg);
	snprintf(trig, sizeof trig,
		 "CREATE TABLE fail_after(n INTEGER); INSERT INTO fail_after VALUES(%d);"
		 "CREATE TRIGGER boom BEFORE UPDATE OF cluster_id ON events BEGIN"
		 " UPDATE fail_after SET n=n-1;"
		 " SELECT RAISE(ABORT, 'injected failure') WHERE (SELECT n FROM fail_after) < 0; END;",
		 after);
	exec(&f, trig);
	ck_assert_int_ne(run(&f, ops[n - 1], &err), 0);
	ck_assert_int_eq(q_int(&f, "SELECT COUNT(*) FROM analyzer_state WHERE key='cluster_op'"), 1);
	/* some events moved, not all; none counted twice */
	ck_assert_int_le(q_int(&f, "SELECT SUM(count) FROM clusters"), 60);
	if (ops[n - 1] == OP_MERGE)   /* aggregates moved first: already final */
		ck_assert_int_eq(q_int(&f, "SELECT count FROM clusters WHERE id=2"), 40);
	exec(&f, "DROP TRIGGER boom; DROP TABLE fail_after");
	reopen_analyzer(&f);
	ck_assert_int_eq(q_int(&f, "SELECT COUNT(*) FROM analyzer_state WHERE key='cluster_op'"), 0);
	ck_assert_int_eq(q_int(&f, "SELECT SUM(count) FROM clusters"), 60);
	got = snapshot(&f);
	ck_assert_msg(!strcmp(want, got), "resumed:\n%s\n!=\n%s", got, want);
	free(got);
	free(want);
	close_fixture(&f);
	analyzer_set_chunk_rows(0);
}

START_TEST(interrupted_merge_resumes)
{
	interrupted((const enum op[]){ OP_MERGE }, 1, 7);
}
END_TEST

START_TEST(interrupted_unmerge_resumes)
{
	interrupted((const enum op[]){ OP_MERGE, OP_UNMERGE }, 2, 9);
}
END_TEST

START_TEST(interrupted_split_resumes)
{
	interrupted((const enum op[]){ OP_SPLIT }, 1, 5);
}
END_TEST

START_TEST(a_later_operation_finishes_an_interrupted_one)
{
	struct fixture f;
	struct ac_error err;
	long long *kids = NULL;
	size_t n = 0;

	analyzer_set_chunk_rows(2);
	open_fixture(&f);
	add_events(&f);
	exec(&f, "CREATE TABLE fail_after(n INTEGER); INSERT INTO fail_after VALUES(3);"
		 "CREATE TRIGGER boom BEFORE UPDATE OF cluster_id ON events BEGIN"
		 " UPDATE fail_after SET n=n-1;"
		 " SELECT RAISE(ABORT, 'injected failure') WHERE (SELECT n FROM fail_after) < 0; END;");
	ck_assert_int_ne(run(&f, OP_MERGE, &err), 0);
	exec(&f, "DROP TRIGGER boom; DROP TABLE fail_after");
	/* the same analyzer's next operation finishes the merge first */
	ck_assert_msg(analyzer_split(f.a, 1, -1, &kids, &n, &err) == 0, "%s", err.msg);
	free(kids);
	ck_assert_int_eq(q_int(&f, "SELECT COUNT(*) FROM events WHERE cluster_id=3"), 0);
	ck_assert_int_eq(q_int(&f, "SELECT COUNT(*) FROM events WHERE cluster_id=2"), 40);
	ck_assert_int_eq(q_int(&f, "SELECT SUM(count) FROM clusters"), 60);
	close_fixture(&f);
	analyzer_set_chunk_rows(0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("cluster_chunks");
	TCase *tc = tcase_create("cluster_chunks");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, chunked_operations_end_as_one_chunk_does);
	tcase_add_test(tc, interrupted_merge_resumes);
	tcase_add_test(tc, interrupted_unmerge_resumes);
	tcase_add_test(tc, interrupted_split_resumes);
	tcase_add_test(tc, a_later_operation_finishes_an_interrupted_one);
	suite_add_tcase(s, tc);
	return ac_check_run(s);
}

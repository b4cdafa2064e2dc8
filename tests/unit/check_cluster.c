/*
 * check_cluster.c — unit tests for the analyzer's clustering (analyzer/analyzer.h) on a real
 * SQLite database: ids and numbers in messages do not split a group, different crash sites do
 * not merge, an SDK fingerprint wins, a resolved cluster that recurs is a regression, merge and
 * split (and where later events go), rebuild and a fresh run give the same clusters, rules label
 * clusters, and the list/detail queries report the stored numbers.
 */
#include "core/common.h"
#include "core/db.h"
#include "analyzer/analyzer.h"
#include "analyzer/clusters.h"

#include <check.h>

#include "tests/unit/check_run.h"

struct fixture {
	char path[64];
	ac_sql *db;           /* test's own connection, to insert events and inspect */
	struct analyzer *a;
	int seq;
};

static void open_fixture(struct fixture *f, const char *rules_dir)
{
	struct ac_error err;
	int fd;

	snprintf(f->path, sizeof f->path, "/tmp/check_cluster_XXXXXX");
	fd = mkstemp(f->path);
	ck_assert_int_ge(fd, 0);
	close(fd);
	f->db = ac_db_open(f->path, AC_DB_WRITE, &err);
	ck_assert_msg(f->db != NULL, "%s", err.msg);
	ck_assert_msg(analyzer_open(f->path, rules_dir, &f->a, &err) == 0, "%s", err.msg);
	f->seq = 0;
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

/* Store an event like the collector does (columns extracted from the normalised JSON). */
static void add_event_at(struct fixture *f, const char *json, double ts, double received)
{
	static const char sql[] =
		"INSERT INTO events(event_id, received_at, timestamp, level, kind, system, component,"
		" release, environment, message, exc_type, exc_value, fingerprint, source, raw)"
		" SELECT ?2, ?4, ?3, COALESCE(json_extract(?1,'$.level'),'error'),"
		" COALESCE(json_extract(?1,'$.kind'),'log'), json_extract(?1,'$.system'),"
		" json_extract(?1,'$.component'), json_extract(?1,'$.release'),"
		" json_extract(?1,'$.environment'), json_extract(?1,'$.message'),"
		" json_extract(?1,'$.exception.type'), json_extract(?1,'$.exception.value'),"
		" json_extract(?1,'$.fingerprint'), 'native', ?1";
	ac_sql_stmt *st;
	char id[32];

	snprintf(id, sizeof id, "ev%d", ++f->seq);
	ck_assert_int_eq(ac_sql_prepare_v2(f->db, sql, -1, &st, NULL), AC_SQL_OK);
	ac_sql_bind_text(st, 1, json, -1, AC_SQL_STATIC);
	ac_sql_bind_text(st, 2, id, -1, AC_SQL_TRANSIENT);
	ac_sql_bind_double(st, 3, ts);
	ac_sql_bind_double(st, 4, received);
	ck_assert_int_eq(ac_sql_step(st), AC_SQL_DONE);
	ac_sql_finalize(st);
}

static void add_event(struct fixture *f, const char *json)
{
	add_event_at(f, json, 1764000000.0 + f->seq * 60, ac_now());
}

static long process(struct fixture *f)
{
	struct ac_error err;
	long n = analyzer_process_new(f->a, &err);
	ck_assert_msg(n >= 0, "%s", err.msg);
	return n;
}

static long long q_int(struct fixture *f, const char *sql)
{
	ac_sql_stmt *st;
	long long v = -1;
	ck_assert_msg(ac_sql_prepare_v2(f->db, sql, -1, &st, NULL) == AC_SQL_OK, "%s: %s", sql,
		      ac_sql_errmsg(f->db));
	if (ac_sql_step(st) == AC_SQL_ROW)
		v = ac_sql_column_int64(st, 0);
	ac_sql_finalize(st);
	return v;
}

/* The cluster of the n-th event added (1-based). */
static long long cluster_of(struct fixture *f, int n)
{
	char sql[128];
	snprintf(sql, sizeof sql, "SELECT cluster_id FROM events WHERE event_id='ev%d'", n);
	return q_int(f, sql);
}

static long long count_of(struct fixture *f, long long cluster)
{
	char sql[128];
	snprintf(sql, sizeof sql, "SELECT count FROM clusters WHERE id=%lld", cluster);
	return q_int(f, sql);
}

START_TEST(ids_and_numbers_do_not_split_a_group)
{
	struct fixture f;
	open_fixture(&f, NULL);
	add_event(&f, "{\"message\":\"order 18231 failed for user 5f0c9f3e-1a2b-4c3d-9e8f-001122334455 after 3200ms\",\"system\":\"shop\"}");
	add_event(&f, "{\"message\":\"order 77 failed for user 6a0c9f3e-1a2b-4c3d-9e8f-001122334466 after 12s\",\"system\":\"shop\"}");
	add_event(&f, "{\"message\":\"order 990001 failed for user 7b0c9f3e-1a2b-4c3d-9e8f-001122334477 after 5ms\",\"system\":\"billing\"}");
	add_event(&f, "{\"message\":\"disk /var/lib/db is full\",\"system\":\"shop\"}");
	ck_assert_int_eq(process(&f), 4);
	ck_assert_int_eq(cluster_of(&f, 1), cluster_of(&f, 2));
	ck_assert_int_eq(cluster_of(&f, 1), cluster_of(&f, 3));
	ck_assert_int_ne(cluster_of(&f, 1), cluster_of(&f, 4));
	ck_assert_int_eq(count_of(&f, cluster_of(&f, 1)), 3);
	/* breakdowns and series come from the same events */
	ck_assert_int_eq(q_int(&f, "SELECT count FROM cluster_dims WHERE cluster_id=1 AND dim='system' AND value='shop'"), 2);
	ck_assert_int_eq(q_int(&f, "SELECT count FROM cluster_dims WHERE cluster_id=1 AND dim='system' AND value='billing'"), 1);
	ck_assert_int_eq(q_int(&f, "SELECT SUM(count) FROM cluster_hourly WHERE cluster_id=1"), 3);
	/* every event has an explanation naming its template */
	ck_assert_int_eq(q_int(&f, "SELECT COUNT(*) FROM event_grouping WHERE explanation LIKE 'message template #1:%'"), 3);
	/* nothing new: nothing processed, nothing counted twice */
	ck_assert_int_eq(process(&f), 0);
	ck_assert_int_eq(count_of(&f, 1), 3);
	close_fixture(&f);
}
END_TEST

#define CRASH(fn, addr, line) \
	"{\"kind\":\"crash\",\"level\":\"fatal\",\"exception\":{\"type\":\"SIGSEGV\",\"value\":\"SIGSEGV at " addr "\"," \
	"\"frames\":[{\"function\":\"main\",\"file\":\"main.c\",\"line\":3,\"in_app\":true}," \
	"{\"function\":\"" fn "\",\"file\":\"http.c\",\"line\":" line ",\"in_app\":true}]}}"

START_TEST(different_crash_sites_do_not_merge)
{
	struct fixture f;
	open_fixture(&f, NULL);
	add_event(&f, CRASH("parse_header", "0x10", "41"));
	add_event(&f, CRASH("parse_header", "0x7ffd1234", "57"));   /* same site, other address/line */
	add_event(&f, CRASH("parse_body", "0x10", "41"));           /* another site */
	ck_assert_int_eq(process(&f), 3);
	ck_assert_int_eq(cluster_of(&f, 1), cluster_of(&f, 2));
	ck_assert_int_ne(cluster_of(&f, 1), cluster_of(&f, 3));
	ck_assert_int_eq(q_int(&f, "SELECT COUNT(*) FROM clusters WHERE kind='crash' AND basis='in_app_frames'"), 2);
	ck_assert_int_eq(q_int(&f, "SELECT COUNT(*) FROM clusters WHERE title='SIGSEGV in parse_body'"), 1);
	ck_assert_int_eq(q_int(&f, "SELECT max_level FROM clusters WHERE id=1"), 4);
	close_fixture(&f);
}
END_TEST

START_TEST(sdk_fingerprint_wins)
{
	struct fixture f;
	open_fixture(&f, NULL);
	add_event(&f, "{\"kind\":\"error\",\"message\":\"card declined\",\"fingerprint\":[\"checkout\"],"
		      "\"exception\":{\"type\":\"CardError\",\"frames\":[{\"function\":\"charge\",\"in_app\":true}]}}");
	add_event(&f, "{\"kind\":\"error\",\"message\":\"timeout talking to bank\",\"fingerprint\":[\"checkout\"],"
		      "\"exception\":{\"type\":\"Timeout\",\"frames\":[{\"function\":\"call_bank\",\"in_app\":true}]}}");
	add_event(&f, "{\"kind\":\"error\",\"message\":\"card declined\","
		      "\"exception\":{\"type\":\"CardError\",\"frames\":[{\"function\":\"charge\",\"in_app\":true}]}}");
	ck_assert_int_eq(process(&f), 3);
	ck_assert_int_eq(cluster_of(&f, 1), cluster_of(&f, 2));
	ck_assert_int_ne(cluster_of(&f, 1), cluster_of(&f, 3));
	ck_assert_int_eq(q_int(&f, "SELECT COUNT(*) FROM clusters WHERE basis='custom' AND count=2"), 1);
	close_fixture(&f);
}
END_TEST

START_TEST(resolved_cluster_that_recurs_is_a_regression)
{
	struct fixture f;
	struct ac_error err;
	double t0 = ac_now();

	open_fixture(&f, NULL);
	add_event(&f, "{\"message\":\"cache miss storm on shard 3\",\"level\":\"warning\"}");
	ck_assert_int_eq(process(&f), 1);
	ck_assert_int_eq(analyzer_set_status(f.a, 1, -1, "resolved", &err), 0);
	/* an event received before the fix, clustered late, does not reopen it */
	add_event_at(&f, "{\"message\":\"cache miss storm on shard 4\",\"level\":\"warning\"}", t0, t0 - 10);
	ck_assert_int_eq(process(&f), 1);
	ck_assert_int_eq(q_int(&f, "SELECT status='resolved' AND regressed_at IS NULL FROM clusters WHERE id=1"), 1);
	/* one received after it does */
	add_event_at(&f, "{\"message\":\"cache miss storm on shard 5\",\"level\":\"warning\"}", t0, ac_now() + 1);
	ck_assert_int_eq(process(&f), 1);
	ck_assert_int_eq(q_int(&f, "SELECT status='open' AND regressed_at IS NOT NULL FROM clusters WHERE id=1"), 1);
	ck_assert_int_eq(count_of(&f, 1), 3);
	/* ignored stays ignored whatever arrives */
	ck_assert_int_eq(analyzer_set_status(f.a, 1, -1, "ignored", &err), 0);
	add_event(&f, "{\"message\":\"cache miss storm on shard 6\",\"level\":\"warning\"}");
	process(&f);
	ck_assert_int_eq(q_int(&f, "SELECT status='ignored' FROM clusters WHERE id=1"), 1);
	/* bad input is refused, naming the problem */
	ck_assert_int_eq(analyzer_set_status(f.a, 1, -1, "closed", &err), AC_EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "resolved"));
	ck_assert_int_eq(analyzer_set_status(f.a, 99, -1, "open", &err), AC_ENOTFOUND);
	ck_assert_int_eq(analyzer_set_status(f.a, 1, 5, "open", &err), AC_ENOTFOUND); /* other project */
	close_fixture(&f);
}
END_TEST

START_TEST(unmerge_returns_events_counts_and_history)
{
	struct fixture f;
	struct ac_error err;
	long long into = 0;

	open_fixture(&f, NULL);
	add_event(&f, "{\"message\":\"connection refused to db:5432\",\"system\":\"api\"}");
	add_event(&f, "{\"message\":\"could not reach the database after 3 attempts\",\"system\":\"worker\"}");
	add_event(&f, "{\"message\":\"could not reach the database after 5 attempts\",\"system\":\"worker\"}");
	process(&f);
	ck_assert_int_eq(analyzer_merge(f.a, 1, (long long[]){ 2 }, 1, -1, &err), 0);
	ck_assert_int_eq(analyzer_unmerge(f.a, 1, -1, &into, &err), AC_EINVAL); /* not merged */
	ck_assert_str_eq(err.what, "not_merged");
	ck_assert_int_eq(analyzer_unmerge(f.a, 2, 5, &into, &err), AC_ENOTFOUND); /* other project */
	ck_assert_int_eq(analyzer_unmerge(f.a, 2, -1, &into, &err), 0);
	ck_assert_int_eq(into, 1);
	ck_assert_int_eq(q_int(&f, "SELECT merged_into IS NULL FROM clusters WHERE id=2"), 1);
	ck_assert_int_eq(count_of(&f, 1), 1);
	ck_assert_int_eq(count_of(&f, 2), 2);
	ck_assert_int_eq(q_int(&f, "SELECT COUNT(*) FROM events WHERE cluster_id=2"), 2);
	ck_assert_int_eq(q_int(&f, "SELECT count FROM cluster_dims WHERE cluster_id=2 AND dim='system' AND value='worker'"), 2);
	ck_assert_int_eq(q_int(&f, "SELECT COUNT(*) FROM cluster_dims WHERE cluster_id=1 AND value='worker'"), 0);
	ck_assert_int_eq(q_int(&f, "SELECT SUM(count) FROM cluster_hourly WHERE cluster_id=2"), 2);
	ck_assert_int_eq(q_int(&f, "SELECT SUM(count) FROM cluster_hourly WHERE cluster_id=1"), 1);
	/* later events with its key go to it again */
	add_event(&f, "{\"message\":\"could not reach the database after 9 attempts\",\"system\":\"worker\"}");
	process(&f);
	ck_assert_int_eq(cluster_of(&f, 4), 2);
	ck_assert_int_eq(count_of(&f, 2), 3);
	close_fixture(&f);
}
END_TEST

START_TEST(merge_moves_events_and_future_events)
{
	struct fixture f;
	struct ac_error err;
	long long from[] = { 2 };

	open_fixture(&f, NULL);
	add_event(&f, "{\"message\":\"connection refused to db:5432\",\"system\":\"api\"}");
	add_event(&f, "{\"message\":\"could not reach the database after 3 attempts\",\"system\":\"worker\"}");
	add_event(&f, "{\"message\":\"could not reach the database after 5 attempts\",\"system\":\"worker\"}");
	process(&f);
	ck_assert_int_eq(cluster_of(&f, 1), 1);
	ck_assert_int_eq(cluster_of(&f, 2), 2);
	ck_assert_int_eq(analyzer_merge(f.a, 1, from, 1, -1, &err), 0);
	ck_assert_int_eq(count_of(&f, 1), 3);
	ck_assert_int_eq(count_of(&f, 2), 0);
	ck_assert_int_eq(q_int(&f, "SELECT merged_into FROM clusters WHERE id=2"), 1);
	ck_assert_int_eq(q_int(&f, "SELECT COUNT(*) FROM events WHERE cluster_id=1"), 3);
	ck_assert_int_eq(q_int(&f, "SELECT count FROM cluster_dims WHERE cluster_id=1 AND dim='system' AND value='worker'"), 2);
	ck_assert_int_eq(q_int(&f, "SELECT SUM(count) FROM cluster_hourly WHERE cluster_id=1"), 3);
	ck_assert_int_eq(q_int(&f, "SELECT COUNT(*) FROM cluster_dims WHERE cluster_id=2"), 0);
	/* a later event with the merged cluster's key goes to the target, and says why */
	add_event(&f, "{\"message\":\"could not reach the database after 9 attempts\",\"system\":\"worker\"}");
	process(&f);
	ck_assert_int_eq(cluster_of(&f, 4), 1);
	ck_assert_int_eq(count_of(&f, 1), 4);
	ck_assert_int_eq(q_int(&f, "SELECT COUNT(*) FROM event_grouping WHERE explanation LIKE '%cluster 2 was merged into cluster 1%'"), 3);
	/* the merged cluster is not listed, and cannot be acted on */
	ck_assert_int_eq(analyzer_set_status(f.a, 2, -1, "resolved", &err), AC_EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "merged into cluster 1"));
	ck_assert_int_eq(analyzer_merge(f.a, 1, (long long[]){ 1 }, 1, -1, &err), AC_EINVAL);
	ck_assert_int_eq(analyzer_merge(f.a, 1, (long long[]){ 42 }, 1, -1, &err), AC_ENOTFOUND);
	ck_assert_int_eq(analyzer_merge(f.a, 1, NULL, 0, -1, &err), AC_EINVAL);
	close_fixture(&f);
}
END_TEST

START_TEST(split_by_stricter_key)
{
	struct fixture f;
	struct ac_error err;
	long long *kids = NULL;
	size_t n = 0;

	open_fixture(&f, NULL);
	/* words, not numbers, differ: the miner joins them under "login failed for user <*>" */
	add_event(&f, "{\"message\":\"login failed for user alice\"}");
	add_event(&f, "{\"message\":\"login failed for user bob\"}");
	add_event(&f, "{\"message\":\"login failed for user alice\"}");
	add_event(&f, "{\"message\":\"login failed for user 12\"}");
	process(&f);
	ck_assert_int_eq(count_of(&f, 1), 4);
	ck_assert_int_eq(analyzer_split(f.a, 1, -1, &kids, &n, &err), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_int_eq(cluster_of(&f, 1), cluster_of(&f, 3));
	ck_assert_int_ne(cluster_of(&f, 1), cluster_of(&f, 2));
	ck_assert_int_eq(count_of(&f, cluster_of(&f, 1)), 2);
	ck_assert_int_eq(q_int(&f, "SELECT split=1 AND count=0 FROM clusters WHERE id=1"), 1);
	ck_assert_int_eq(q_int(&f, "SELECT COUNT(*) FROM clusters WHERE split_from=1"), 3);
	ck_assert_int_eq(q_int(&f, "SELECT SUM(count) FROM cluster_hourly WHERE cluster_id IN (SELECT id FROM clusters WHERE split_from=1)"), 4);
	/* new events with the parent's key go to the matching child, or a new one */
	add_event(&f, "{\"message\":\"login failed for user bob\"}");
	add_event(&f, "{\"message\":\"login failed for user carol\"}");
	process(&f);
	ck_assert_int_eq(cluster_of(&f, 5), cluster_of(&f, 2));
	ck_assert_int_eq(q_int(&f, "SELECT COUNT(*) FROM clusters WHERE split_from=1"), 4);
	free(kids);
	kids = NULL;
	ck_assert_int_eq(analyzer_split(f.a, 1, -1, &kids, &n, &err), AC_EINVAL);  /* split already */
	ck_assert_ptr_nonnull(strstr(err.msg, "was split"));
	/* a cluster whose events share one stricter key cannot be split */
	kids = NULL;
	ck_assert_int_eq(analyzer_split(f.a, cluster_of(&f, 1), -1, &kids, &n, &err), AC_EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "cannot be split"));
	ck_assert_ptr_null(kids);
	close_fixture(&f);
}
END_TEST

static void add_mixed(struct fixture *f)
{
	add_event(f, "{\"message\":\"bind 0.0.0.0:8080: Address already in use\",\"system\":\"api\"}");
	add_event(f, "{\"message\":\"bind 0.0.0.0:9090: Address already in use\",\"system\":\"web\"}");
	add_event(f, CRASH("parse_header", "0x10", "41"));
	add_event(f, "{\"message\":\"worker 7 started\",\"level\":\"info\"}");
	add_event(f, "{\"message\":\"worker 8 started\",\"level\":\"info\"}");
	add_event(f, CRASH("parse_body", "0x10", "41"));
	add_event(f, "{\"message\":\"database is locked\",\"level\":\"error\",\"system\":\"api\"}");
}

/* Every cluster as one text line, for comparing two states. */
static char *snapshot(struct fixture *f)
{
	ac_sql_stmt *st;
	struct ac_buf b;
	char *s;

	ac_buf_init(&b, 1 << 20);
	ck_assert_int_eq(ac_sql_prepare_v2(f->db,
		"SELECT id, kind, fingerprint, title, COALESCE(rule_id,'-'), count, first_seen,"
		" last_seen, status, (SELECT group_concat(dim||'='||value||':'||count) FROM"
		" (SELECT * FROM cluster_dims d WHERE d.cluster_id=c.id ORDER BY dim, value))"
		" FROM clusters c ORDER BY id", -1, &st, NULL), AC_SQL_OK);
	while (ac_sql_step(st) == AC_SQL_ROW) {
		for (int i = 0; i < ac_sql_column_count(st); i++)
			ac_buf_printf(&b, "%s|", ac_sql_column_text(st, i));
		ac_buf_puts(&b, "\n");
	}
	ac_sql_finalize(st);
	s = ac_buf_detach(&b, NULL);
	return s;
}

START_TEST(rebuild_gives_the_same_clusters)
{
	struct fixture f, g;
	struct ac_error err;
	char *before, *after, *fresh;

	open_fixture(&f, "rules");
	add_mixed(&f);
	process(&f);
	ck_assert_int_eq(analyzer_set_status(f.a, 1, -1, "resolved", &err), 0);
	before = snapshot(&f);
	ck_assert_int_eq(analyzer_rebuild(f.a, &err), 7);
	after = snapshot(&f);
	ck_assert_str_eq(before, after);   /* same ids, keys, counts, labels and the status */
	ck_assert_int_eq(q_int(&f, "SELECT COUNT(*) FROM events WHERE cluster_id IS NULL"), 0);
	/* rules label clusters */
	ck_assert_int_eq(q_int(&f, "SELECT COUNT(*) FROM clusters WHERE rule_id='posix.addr-in-use' AND count=2"), 1);
	ck_assert_int_eq(q_int(&f, "SELECT COUNT(*) FROM event_grouping WHERE rule_id='posix.addr-in-use' AND captures LIKE '%8080%'"), 1);

	/* a fresh database with the same events gives the same clusters (status aside) */
	open_fixture(&g, "rules");
	add_mixed(&g);
	process(&g);
	ck_assert_int_eq(analyzer_set_status(g.a, 1, -1, "resolved", &err), 0);
	fresh = snapshot(&g);
	ck_assert_str_eq(before, fresh);
	free(before);
	free(after);
	free(fresh);
	close_fixture(&g);
	close_fixture(&f);
}
END_TEST

START_TEST(list_and_detail_report_stored_numbers)
{
	struct fixture f;
	struct ac_error err;
	struct cluster_query q = { .project = -1, .now = 1764000000.0 + 3600 };
	json_t *out = NULL, *first;

	open_fixture(&f, "rules");
	add_mixed(&f);
	process(&f);
	ck_assert_int_eq(clusters_list(f.db, &q, &out, &err), 0);
	ck_assert_int_eq(json_integer_value(json_object_get(out, "total")), 5);
	first = json_array_get(json_object_get(out, "clusters"), 0);
	ck_assert_str_eq(json_string_value(json_object_get(first, "rule_id")), "posix.addr-in-use");
	ck_assert_int_eq(json_integer_value(json_object_get(first, "count")), 2);
	ck_assert_int_eq(json_integer_value(json_object_get(first, "systems")), 2);
	ck_assert_int_eq(json_integer_value(json_object_get(first, "last_24h")), 2);
	json_decref(out);
	q.system = "web";
	ck_assert_int_eq(clusters_list(f.db, &q, &out, &err), 0);
	ck_assert_int_eq(json_integer_value(json_object_get(out, "total")), 1);
	json_decref(out);
	q.system = NULL;
	q.kind = "crash";
	q.limit = 1;
	ck_assert_int_eq(clusters_list(f.db, &q, &out, &err), 0);
	ck_assert_int_eq(json_integer_value(json_object_get(out, "total")), 2);
	ck_assert_int_eq(json_integer_value(json_object_get(out, "next_offset")), 1);
	json_decref(out);
	q.sort = "loudest";
	ck_assert_int_eq(clusters_list(f.db, &q, &out, &err), AC_EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "loudest"));

	ck_assert_int_eq(cluster_detail(f.db, NULL, 1, -1, q.now, 0, &out, &err), 0);
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(json_object_get(out, "dims"), "system"), "api")), 1);
	ck_assert_uint_eq(json_array_size(json_object_get(out, "events")), 2);
	ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(json_object_get(out, "grouping"), "explanation")),
				     "matched rule posix.addr-in-use"));
	json_decref(out);
	ck_assert_int_eq(cluster_detail(f.db, NULL, 77, -1, 0, 0, &out, &err), AC_ENOTFOUND);
	close_fixture(&f);
}
END_TEST

START_TEST(level_is_a_breakdown_not_a_key)
{
	struct fixture f;

	open_fixture(&f, NULL);
	/* the same message at warning and error: one cluster, the levels are its breakdown */
	add_event(&f, "{\"message\":\"disk almost full on volume data\",\"level\":\"warning\"}");
	add_event(&f, "{\"message\":\"disk almost full on volume data\",\"level\":\"error\"}");
	/* a text line's level word goes to the level, not into the template */
	add_event(&f, "{\"message\":\"INFO request served in 12 ms\"}");
	add_event(&f, "{\"message\":\"[ERROR] request served in 9000 ms\"}");
	add_event(&f, "{\"message\":\"WARN: request served in 800 ms\"}");
	process(&f);
	ck_assert_int_eq(q_int(&f, "SELECT COUNT(*) FROM clusters WHERE merged_into IS NULL"), 2);
	ck_assert_int_eq(q_int(&f, "SELECT COUNT(*) FROM clusters WHERE template='request served in <DUR>'"
				   " AND count=3 AND kind='error'"), 1);
	ck_assert_int_eq(q_int(&f, "SELECT COUNT(*) FROM cluster_dims WHERE dim='level'"), 5);
	ck_assert_int_eq(q_int(&f, "SELECT count FROM clusters WHERE title LIKE 'disk almost full%'"), 2);
	close_fixture(&f);
}
END_TEST

START_TEST(two_analyzers_on_one_database_continue_each_other)
{
	struct fixture f;
	struct analyzer *b = NULL;
	struct ac_error err;

	open_fixture(&f, NULL);
	/* b opens before a has clustered anything: its memory is empty */
	ck_assert_int_eq(analyzer_open(f.path, NULL, &b, &err), 0);
	add_event(&f, "{\"message\":\"slow query took 812 ms on table orders\"}");
	add_event(&f, "{\"message\":\"replica 3 is 12 seconds behind\"}");
	ck_assert_int_eq(process(&f), 2);
	add_event(&f, "{\"message\":\"slow query took 1312 ms on table orders\"}");
	ck_assert_int_eq(analyzer_process_new(b, &err), 1);      /* not 3: it picked up a's state */
	ck_assert_int_eq(cluster_of(&f, 3), cluster_of(&f, 1));
	add_event(&f, "{\"message\":\"replica 4 is 2 seconds behind\"}");
	ck_assert_int_eq(process(&f), 1);
	ck_assert_int_eq(cluster_of(&f, 4), cluster_of(&f, 2));
	ck_assert_int_eq(q_int(&f, "SELECT SUM(count) FROM clusters"), 4);
	ck_assert_int_eq(q_int(&f, "SELECT COUNT(*) FROM clusters"), 2);
	analyzer_close(b);
	close_fixture(&f);
}
END_TEST

START_TEST(templates_the_miner_folds_become_one_cluster)
{
	static const char *lines[] = {
		"open file alpha for reader beta", "open file gamma for reader beta",
		"open file zeta for reader beta", "open file eta for reader beta",
		"open file omega for reader beta",
	};
	struct fixture f;
	struct ac_error err;
	char json[200];

	open_fixture(&f, NULL);
	for (size_t i = 0; i < AC_ARRAY_SIZE(lines); i++) {
		snprintf(json, sizeof json, "{\"message\":\"%s\",\"system\":\"s%zu\"}", lines[i], i % 2);
		add_event(&f, json);
		if (i == 1)
			ck_assert_int_eq(process(&f), 2);   /* two templates, two clusters so far */
	}
	ck_assert_int_eq(q_int(&f, "SELECT COUNT(*) FROM clusters WHERE count > 0"), 2);
	process(&f);
	/* the miner folded template 2 into 1: one live cluster holds all five events */
	ck_assert_int_eq(q_int(&f, "SELECT COUNT(*) FROM clusters WHERE merged_into IS NULL AND split=0"), 1);
	ck_assert_int_eq(q_int(&f, "SELECT count FROM clusters WHERE merged_into IS NULL"), 5);
	ck_assert_int_eq(q_int(&f, "SELECT COUNT(DISTINCT cluster_id) FROM events"), 1);
	ck_assert_int_eq(q_int(&f, "SELECT SUM(count) FROM cluster_dims WHERE dim='system'"), 5);
	/* and a rebuild agrees */
	ck_assert_int_eq(analyzer_rebuild(f.a, &err), 5);
	ck_assert_int_eq(q_int(&f, "SELECT COUNT(*) FROM clusters WHERE merged_into IS NULL AND split=0 AND count > 0"), 1);
	ck_assert_int_eq(q_int(&f, "SELECT COUNT(DISTINCT cluster_id) FROM events"), 1);
	ck_assert_int_eq(q_int(&f, "SELECT SUM(count) FROM clusters"), 5);
	close_fixture(&f);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("cluster");
	TCase *tc = tcase_create("cluster");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, ids_and_numbers_do_not_split_a_group);
	tcase_add_test(tc, different_crash_sites_do_not_merge);
	tcase_add_test(tc, sdk_fingerprint_wins);
	tcase_add_test(tc, resolved_cluster_that_recurs_is_a_regression);
	tcase_add_test(tc, merge_moves_events_and_future_events);
	tcase_add_test(tc, split_by_stricter_key);
	tcase_add_test(tc, rebuild_gives_the_same_clusters);
	tcase_add_test(tc, list_and_detail_report_stored_numbers);
	tcase_add_test(tc, two_analyzers_on_one_database_continue_each_other);
	tcase_add_test(tc, level_is_a_breakdown_not_a_key);
	tcase_add_test(tc, unmerge_returns_events_counts_and_history);
	tcase_add_test(tc, templates_the_miner_folds_become_one_cluster);
	suite_add_tcase(s, tc);
	return ac_check_run(s);
}

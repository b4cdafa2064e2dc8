/*
 * check_miner2.c — unit tests for the miner behaviours of issue 12's second round, with
 * made-up lines of the shapes seen in real logs:
 *   - optional parts: a line with the same literal words as a template of another length,
 *     plus or minus one run of parameters ("(2.1 MB)"), joins it; a differing word, a
 *     substitution, two differing places or a short skeleton do not;
 *   - the leaf index: a leaf holding hundreds of templates still gives each line its most
 *     similar template (ties to the oldest), also for lines without literal tokens;
 *   - two positions that vary together merge; recurring pairs stay apart;
 *   - persistence of the family statistics: mining half, saving, loading and mining the rest
 *     groups every line as mining everything at once does (made-up lines, and the loghub
 *     development logs and held-out-style files, read from the repository root).
 */
#include "core/common.h"
#include "core/db.h"
#include "analyzer/miner.h"

#include <check.h>
#include <glob.h>

#include "tests/unit/check_run.h"

static long add(struct miner *m, const char *line)
{
	long id = miner_add(m, line, strlen(line));
	ck_assert_int_gt(id, 0);
	return id;
}

/* Category 2: an optional part of parameters does not make another message. */
START_TEST(optional_parts_join)
{
	struct miner *m = miner_new(NULL, NULL);
	struct miner_info info;
	char why[200];
	long a = add(m, "upload done, 3 files in 4 s");
	const char *l = "upload done, 7 files (2.1 MB) in 9 s";
	ck_assert_int_eq(miner_add_info(m, l, strlen(l), &info), a);
	ck_assert_int_eq(info.how, MINER_OPTIONAL);
	miner_explain(&info, why, sizeof why);
	ck_assert_ptr_nonnull(strstr(why, "optional part"));
	ck_assert_int_eq(add(m, "upload done, 12 files (300 KB) in 1.5 s"), a);
	ck_assert_uint_eq(miner_size(m, a), 3);
	l = "upload done, 1 files (1 GB) in 2 s";
	ck_assert_int_eq(miner_match(m, l, strlen(l)), a);
	/* the longer shape first works the same way */
	long b = add(m, "backup of volume vol-7 finished [12 MB, 4 s] with checksum 0xdeadbeef");
	ck_assert_int_eq(add(m, "backup of volume vol-9 finished with checksum 0xfeedface"), b);
	/* a list of parameters of varying length (types differ, so it does not collapse) */
	long c = add(m, "peers now connected: 10.0.0.1, node-17.example.org:7000 to cluster main");
	ck_assert_int_eq(add(m, "peers now connected: 10.0.0.2 to cluster main"), c);
	miner_free(m);
}
END_TEST

START_TEST(optional_parts_need_strong_evidence)
{
	struct miner *m = miner_new(NULL, NULL);
	long a = add(m, "upload done, 3 files in 4 s");
	/* an added word is not an optional part of parameters */
	ck_assert_int_ne(add(m, "upload done, 3 files (cached) in 4 s"), a);
	ck_assert_int_ne(add(m, "upload done, 3 files skipped in 4 s"), a);
	/* two places that differ */
	ck_assert_int_ne(add(m, "upload done, 3 files (2 MB) in 4 s (5)"), a);
	/* a substitution: a parameter replaced by another stretch, not added */
	ck_assert_int_ne(add(m, "upload done, [-] files in 4 s"), a);
	/* words in another order */
	ck_assert_int_ne(add(m, "done upload, 3 files (2 MB) in 4 s"), a);
	/* a skeleton of two words is too little evidence */
	long b = add(m, "checkpoint reached");
	ck_assert_int_ne(add(m, "checkpoint reached (42)"), b);
	/* --no-merge keeps lengths apart */
	struct miner_config cfg;
	miner_config_default(&cfg);
	cfg.no_merge = true;
	struct miner *p = miner_new(&cfg, NULL);
	long x = add(p, "upload done, 3 files in 4 s");
	ck_assert_int_ne(add(p, "upload done, 3 files (2 MB) in 4 s"), x);
	miner_free(p);
	miner_free(m);
}
END_TEST

/* Many templates in one leaf (a number first: every line goes to the wildcard branch). */
START_TEST(large_leaves_find_the_most_similar)
{
	struct miner *m = miner_new(NULL, NULL);
	char line[160];
	long ids[400];
	for (int i = 0; i < 400; i++) {
		snprintf(line, sizeof line, "%d - alpha%c%c beta%c%c gamma%c%c delta epsilon zeta eta "
			 "theta iota kappa", i, 'a' + i % 26, 'a' + i / 26 % 26, 'a' + i % 13,
			 'a' + i / 13 % 26, 'a' + i % 7, 'a' + i / 7 % 26);
		ids[i] = add(m, line);
	}
	ck_assert_uint_eq(miner_count(m), 400);
	/* the same words with another number join their own template */
	for (int i = 0; i < 400; i += 37) {
		snprintf(line, sizeof line, "%d - alpha%c%c beta%c%c gamma%c%c delta epsilon zeta eta "
			 "theta iota kappa", i + 9000, 'a' + i % 26, 'a' + i / 26 % 26, 'a' + i % 13,
			 'a' + i / 13 % 26, 'a' + i % 7, 'a' + i / 7 % 26);
		ck_assert_int_eq(add(m, line), ids[i]);
	}
	ck_assert_uint_eq(miner_count(m), 400);
	/* two templates 4 of 11 literals apart; a line 2 away from each joins the oldest, as a
	 * scan of the leaf in id order would */
	long t1 = add(m, "1 - red green blue white cyan magenta ~ ~ ~ ~");
	long t2 = add(m, "2 - red green blue white cyan magenta ! ! ! !");
	ck_assert_int_ne(t1, t2);
	ck_assert_int_eq(add(m, "3 - red green blue white cyan magenta ~ ~ ! !"), t1);
	ck_assert_int_eq(add(m, "4 - red green blue white cyan magenta ! ! ! ~"), t2);
	/* a line of parameters only has no literal to look up: the leaf is scanned */
	for (int i = 0; i < 20; i++) {
		snprintf(line, sizeof line, "%d 10.0.0.%d word%c other%c", i, i, 'a' + i % 26,
			 'a' + i * 7 % 26);
		add(m, line);
	}
	long p = add(m, "10.0.0.1 5 10.0.0.2 6");
	ck_assert_int_eq(add(m, "10.0.0.7 9 10.0.0.8 x7"), p);
	ck_assert_str_eq(miner_template(m, p), "<IP> <NUM> <IP> <*>");
	miner_free(m);
}
END_TEST

/* Category 4: two positions that vary together (found among the templates of the line's tree
 * leaf, so past the first two tokens, which key the tree). */
START_TEST(co_varying_positions)
{
	static const char *who[][2] = { { "alice", "host-a" }, { "bob", "host-b" },
					 { "carol", "host-c" }, { "dave", "host-d" },
					 { "erin", "host-e" } };
	struct miner *m = miner_new(NULL, NULL);
	char line[128];
	long ids[5];
	for (int i = 0; i < 5; i++) {
		snprintf(line, sizeof line, "accepted login for user %s from host %s via ssh",
			 who[i][0], who[i][1]);
		ids[i] = add(m, line);
	}
	ck_assert_int_ne(ids[0], ids[1]); /* two pairs: not yet evidence */
	for (int i = 1; i < 5; i++)
		ck_assert_int_eq(miner_resolve(m, ids[i]), miner_resolve(m, ids[0]));
	ck_assert_str_eq(miner_template(m, ids[0]), "accepted login for user <*> from host <*> via ssh");
	/* pairs that recur are constants: each transition keeps its cluster */
	static const char *tr[][2] = { { "idle", "busy" }, { "busy", "idle" }, { "busy", "done" },
				       { "done", "idle" } };
	long t[4];
	for (int i = 0; i < 4; i++)
		for (int k = 0; k < 3; k++) {
			snprintf(line, sizeof line, "backup of pool main went from %s to %s today", tr[i][0],
				 tr[i][1]);
			t[i] = add(m, line);
		}
	for (int i = 0; i < 4; i++)
		for (int k = i + 1; k < 4; k++)
			ck_assert_int_ne(miner_resolve(m, t[i]), miner_resolve(m, t[k]));
	miner_free(m);
}
END_TEST

/* Lines of several shapes: families that become variables (user names), constants that
 * recur (states), optional parts and first-word variables, spread so that families are
 * half-counted when the miner is saved. */
static size_t corpus(char lines[][128], size_t cap)
{
	static const char *users[] = { "alice", "bob", "carol", "dave", "erin", "frank", "grace" };
	static const char *states[] = { "Queued", "Running", "Done" };
	static const char *daemons[] = { "crond", "sshd", "ntpd", "cupsd", "smartd", "acpid" };
	static const char *hosts[] = { "ha", "hb", "hc", "hd", "he", "hf", "hg" };
	size_t n = 0;
	for (int i = 0; n + 5 <= cap && i < 60; i++) {
		snprintf(lines[n++], 128, "login of %s on %s granted by policy", users[(i / 9) % 7],
			 hosts[(i / 9) % 7]);
		snprintf(lines[n++], 128, "session opened for user %s by uid %d", users[(i / 8) % 7], i);
		snprintf(lines[n++], 128, "backup job %d is %s now", 100 + i, states[(i * 5) % 3]);
		snprintf(lines[n++], 128, "%s restarted after %d retries", daemons[(i / 10) % 6], i % 5);
		if (i % 2)
			snprintf(lines[n++], 128, "sync done, %d items (%d KB) sent to peer node-%d", i, i * 3, i);
		else
			snprintf(lines[n++], 128, "sync done, %d items sent to peer node-%d", i, i);
	}
	return n;
}

START_TEST(restart_groups_like_one_run)
{
	static char lines[320][128];
	size_t n = corpus(lines, 320), half = n / 2;
	char path[] = "/tmp/check_miner2_XXXXXX";
	int fd = mkstemp(path);
	struct ac_error err = { 0 };
	ck_assert_int_ge(fd, 0);
	close(fd);

	struct miner *once = miner_new(NULL, NULL), *first = miner_new(NULL, NULL);
	long *want = calloc(n, sizeof *want);
	for (size_t i = 0; i < n; i++)
		want[i] = add(once, lines[i]);
	for (size_t i = 0; i < half; i++)
		ck_assert_int_eq(add(first, lines[i]), want[i]);
	ac_sql *db = ac_db_open(path, AC_DB_WRITE, &err);
	ck_assert_msg(db != NULL, "%s", err.msg);
	ck_assert_int_eq(miner_save(first, db, &err), 0);
	miner_free(first);
	ac_db_close(db);

	db = ac_db_open(path, AC_DB_WRITE, &err);
	struct miner *again = miner_load(db, NULL, &err);
	ck_assert_msg(again != NULL, "%s", err.msg);
	for (size_t i = half; i < n; i++) {
		/* save and reload once more in the middle of the second half */
		if (i == half + (n - half) / 2) {
			ck_assert_int_eq(miner_save(again, db, &err), 0);
			miner_free(again);
			again = miner_load(db, NULL, &err);
			ck_assert_msg(again != NULL, "%s", err.msg);
		}
		long got = add(again, lines[i]);
		ck_assert_msg(got == want[i], "line %zu '%s': %ld after a restart, %ld in one run", i,
			      lines[i], got, want[i]);
	}
	ck_assert_uint_eq(miner_count(again), miner_count(once));
	for (long id = 1; id <= (long)miner_count(once); id++) {
		ck_assert_int_eq(miner_resolve(again, id), miner_resolve(once, id));
		ck_assert_str_eq(miner_template(again, id), miner_template(once, id));
		ck_assert_uint_eq(miner_size(again, id), miner_size(once, id));
	}
	/* the families did their work after the restart (their sixth word came in the second
	 * half): users and daemons merged, states did not; optional parts joined */
	ck_assert_str_eq(miner_template(once, want[0]), "login of <*> on <*> granted by policy");
	ck_assert_str_eq(miner_template(once, want[1]), "session opened for user <*> by uid <NUM>");
	ck_assert_str_eq(miner_template(once, want[3]), "<*> restarted after <NUM> retries");
	ck_assert_int_ne(miner_resolve(once, want[2]), miner_resolve(once, want[7]));
	ck_assert_int_eq(miner_resolve(once, want[4]), miner_resolve(once, want[9]));
	miner_free(again);
	miner_free(once);
	free(want);

	/* a corrupt family row is reported, not guessed around */
	ck_assert_int_eq(ac_db_exec(db, "UPDATE miner_families SET ids = '1 99999' WHERE rowid = "
					"(SELECT min(rowid) FROM miner_families)", &err), 0);
	ck_assert_ptr_null(miner_load(db, NULL, &err));
	ck_assert_ptr_nonnull(strstr(err.msg, "miner_families"));
	ac_db_close(db);
	unlink(path);
}
END_TEST

/* The same on real-shaped logs: the loghub development set (whole lines) and both held-out-style
 * sets, each mined in one run and in two halves with a save and a load in between. */
static void restart_file(const char *path, const char *dbpath)
{
	FILE *f = fopen(path, "r");
	ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
	char **lines = NULL, buf[16384];
	size_t n = 0, cap = 0;
	while (fgets(buf, sizeof buf, f)) {
		if (n == cap) {
			cap = cap ? 2 * cap : 1024;
			lines = realloc(lines, cap * sizeof *lines);
			ck_assert_ptr_nonnull(lines);
		}
		lines[n++] = strdup(buf);
	}
	fclose(f);
	ck_assert_uint_gt(n, 100);

	struct ac_error err = { 0 };
	struct miner *once = miner_new(NULL, NULL), *first = miner_new(NULL, NULL);
	long *want = calloc(n, sizeof *want);
	for (size_t i = 0; i < n; i++)
		want[i] = add(once, lines[i]);
	for (size_t i = 0; i < n / 2; i++)
		add(first, lines[i]);
	ac_sql *db = ac_db_open(dbpath, AC_DB_WRITE, &err);
	ck_assert_msg(db != NULL, "%s", err.msg);
	ck_assert_int_eq(ac_db_exec(db, "PRAGMA synchronous=OFF", &err), 0); /* a scratch file */
	ck_assert_int_eq(miner_save(first, db, &err), 0);
	miner_free(first);
	struct miner *again = miner_load(db, NULL, &err);
	ck_assert_msg(again != NULL, "%s", err.msg);
	for (size_t i = n / 2; i < n; i++) {
		long got = add(again, lines[i]);
		ck_assert_msg(got == want[i], "%s:%zu: %ld after a restart, %ld in one run", path,
			      i + 1, got, want[i]);
	}
	for (size_t i = 0; i < n; i++)
		ck_assert_int_eq(miner_resolve(again, want[i]), miner_resolve(once, want[i]));
	for (long id = 1; id <= (long)miner_count(once); id++)
		ck_assert_str_eq(miner_template(again, id), miner_template(once, id));
	miner_free(again);
	miner_free(once);
	ac_db_close(db);
	unlink(dbpath);
	free(want);
	for (size_t i = 0; i < n; i++)
		free(lines[i]);
	free(lines);
}

START_TEST(restart_groups_like_one_run_on_logs)
{
	static const char *patterns[] = { "data/loghub/*_2k.log", "tests/data/heldout/*.log",
					  "tests/data/heldout2/*.log" };
	size_t files = 0;
	for (size_t k = 0; k < AC_ARRAY_SIZE(patterns); k++) {
		glob_t g;
		ck_assert_int_eq(glob(patterns[k], 0, NULL, &g), 0);
		for (size_t i = 0; i < g.gl_pathc; i++, files++) {
			char path[] = "/tmp/check_miner2_logs_XXXXXX";
			int fd = mkstemp(path);
			ck_assert_int_ge(fd, 0);
			close(fd);
			restart_file(g.gl_pathv[i], path);
		}
		globfree(&g);
	}
	ck_assert_uint_ge(files, 24);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("miner2");
	TCase *tc = tcase_create("miner2");
	tcase_set_timeout(tc, 120); /* about 30,000 lines mined twice; slow under the sanitizers */

	tcase_add_test(tc, optional_parts_join);
	tcase_add_test(tc, optional_parts_need_strong_evidence);
	tcase_add_test(tc, large_leaves_find_the_most_similar);
	tcase_add_test(tc, co_varying_positions);
	tcase_add_test(tc, restart_groups_like_one_run);
	tcase_add_test(tc, restart_groups_like_one_run_on_logs);
	suite_add_tcase(s, tc);
	return ac_check_run(s);
}

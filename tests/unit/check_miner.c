/*
 * check_miner.c — unit tests for analyzer/miner: ids and numbers do not split a template,
 * different messages stay apart, determinism, classification without learning, limits, and
 * persistence: a miner saved to SQLite and loaded again continues the same clusters.
 */
#include "core/common.h"
#include "core/db.h"
#include "analyzer/miner.h"

#include <check.h>

#include "tests/unit/check_run.h"

static long add(struct miner *m, const char *line)
{
	long id = miner_add(m, line, strlen(line));
	ck_assert_int_gt(id, 0);
	return id;
}

START_TEST(ids_do_not_split_a_group)
{
	struct miner *m = miner_new(NULL, NULL);
	long a = add(m, "Received block blk_-1608999687919862906 of size 91178 from /10.250.10.6");
	long b = add(m, "Received block blk_7503483334202473044 of size 233217 from /10.251.71.16");
	long c = add(m, "Received block blk_-3544583377289625738 of size 67108864 from /10.251.199.19");
	ck_assert_int_eq(a, b);
	ck_assert_int_eq(b, c);
	ck_assert_str_eq(miner_template(m, a), "Received block blk_<ID> of size <NUM> from /<IP>");
	ck_assert_uint_eq(miner_size(m, a), 3);
	long d = add(m, "session 0x14ed93111f20027 expired after 3200ms for user 5f0c9f3e-1a2b-4c3d-9e8f-001122334455");
	long e = add(m, "session 0x24ed93119420016 expired after 12s for user 6a0c9f3e-1a2b-4c3d-9e8f-001122334466");
	ck_assert_int_eq(d, e);
	ck_assert_int_ne(a, d);
	miner_free(m);
}
END_TEST

START_TEST(half_similar_lines_stay_apart)
{
	/* The similarity threshold (0.7 by default) still decides lines that differ in tokens
	 * that are not words: half of the tokens the same is not the same message. */
	struct miner *m = miner_new(NULL, NULL);
	long a = add(m, "phase done ~~ ||");
	long b = add(m, "phase done ^^ &&");
	long c = add(m, "phase done ~~ ||");
	ck_assert_int_ne(a, b);
	ck_assert_int_eq(a, c);
	miner_free(m);
}
END_TEST

START_TEST(variable_words_become_wildcards)
{
	/* one differing word keeps lines apart until the position has shown itself variable:
	 * four words, most of them seen once (issue 12, category 1) */
	static const char *users[] = { "admin", "oracle", "guest", "test", "pi" };
	struct miner *m = miner_new(NULL, NULL);
	char line[128];
	long first = 0;
	for (size_t i = 0; i < AC_ARRAY_SIZE(users); i++) {
		snprintf(line, sizeof line, "Invalid user %s from 1.2.3.%zu port 22 on server alpha today",
			 users[i], i);
		long id = add(m, line);
		if (i == 0)
			first = id;
		if (i == 1)
			ck_assert_int_ne(id, first); /* two words: not yet evidence */
	}
	for (long id = 1; id <= (long)miner_count(m); id++)
		ck_assert_int_eq(miner_resolve(m, id), first);
	ck_assert_str_eq(miner_template(m, first), "Invalid user <*> from <IP> port <NUM> on server alpha today");
	ck_assert_uint_eq(miner_size(m, first), AC_ARRAY_SIZE(users));
	miner_free(m);
}
END_TEST

START_TEST(different_messages_stay_apart)
{
	struct miner *m = miner_new(NULL, NULL);
	long a = add(m, "Connection refused by 10.0.0.1:5432");
	long b = add(m, "Connection reset by 10.0.0.1:5432");
	long c = add(m, "Disk full on /var/lib/db");
	long d = add(m, "Connection refused by 10.0.0.2:5433");
	ck_assert_int_ne(a, b);
	ck_assert_int_ne(a, c);
	ck_assert_int_eq(a, d);
	ck_assert_uint_eq(miner_count(m), 3);
	ck_assert_int_eq(miner_match(m, "Connection reset by 10.9.9.9:1", 30), b);
	ck_assert_int_eq(miner_match(m, "Totally new message here", 24), 0);
	ck_assert_uint_eq(miner_count(m), 3); /* match does not learn */
	ck_assert_ptr_null(miner_template(m, 0));
	ck_assert_ptr_null(miner_template(m, 4));
	miner_free(m);
}
END_TEST

START_TEST(explains_why_a_line_joined)
{
	struct miner *m = miner_new(NULL, NULL);
	struct miner_info info;
	char why[160];
	const char *a = "Invalid user admin from 1.2.3.4 port 22";
	ck_assert_int_eq(miner_add_info(m, a, strlen(a), &info), 1);
	ck_assert_int_eq(info.how, MINER_NEW);
	miner_explain(&info, why, sizeof why);
	ck_assert_str_eq(why, "new template 1: no template with this token count and leading tokens");
	a = "Invalid user 4711 from 1.2.3.9 port 23";
	ck_assert_int_eq(miner_add_info(m, a, strlen(a), &info), 1);
	ck_assert_int_eq(info.how, MINER_SIMILAR);
	miner_explain(&info, why, sizeof why);
	ck_assert_str_eq(why, "template 1: 80% of the literal tokens agree (threshold 70%)");
	a = "Invalid user 4712 from 5.5.5.5 port 24";
	ck_assert_int_eq(miner_add_info(m, a, strlen(a), &info), 1);
	ck_assert_int_eq(info.how, MINER_SAME_TEXT);
	a = "Invalid user oracle to 5.5.5.5 via 24";
	ck_assert_int_eq(miner_add_info(m, a, strlen(a), &info), 2);
	miner_explain(&info, why, sizeof why);
	ck_assert_str_eq(why, "new template 2: the closest one agrees on 50% of the literal tokens "
			      "(threshold 70%)");
	miner_free(m);
}
END_TEST

START_TEST(different_constants_do_not_merge)
{
	struct miner *m = miner_new(NULL, NULL);
	long a = add(m, "Job 12 entered state RUNNING now");
	long b = add(m, "Job 13 entered state FAILED now");
	long c = add(m, "Job 14 entered state RUNNING now");
	ck_assert_int_ne(a, b); /* enum values: two situations */
	ck_assert_int_eq(a, c);
	/* lower-case words may be variables: they merge once four came, most of them once */
	long d = add(m, "Job 15 owned by alice today");
	long e = add(m, "Job 16 owned by bob today");
	ck_assert_int_ne(d, e);
	add(m, "Job 17 owned by carol today");
	add(m, "Job 18 owned by dave today");
	ck_assert_int_eq(miner_resolve(m, d), miner_resolve(m, e));
	ck_assert_str_eq(miner_template(m, d), "Job <NUM> owned by <*> today");
	miner_free(m);
}
END_TEST

/* Category 1: one constant word differs ("job Queued" / "job Done"); the values recur, so the
 * position is a constant and every state keeps its cluster, also with a fourth state. */
START_TEST(recurring_words_are_constants)
{
	static const char *states[] = { "Queued", "Running", "Done", "Queued", "Running", "Done",
					"Queued", "Done", "Failed", "Running", "Failed" };
	struct miner *m = miner_new(NULL, NULL);
	long ids[AC_ARRAY_SIZE(states)];
	char line[64];
	for (size_t i = 0; i < AC_ARRAY_SIZE(states); i++) {
		snprintf(line, sizeof line, "backup job %zu %s", 100 + i, states[i]);
		ids[i] = add(m, line);
	}
	ck_assert_int_eq(miner_resolve(m, ids[0]), miner_resolve(m, ids[6]));
	ck_assert_int_ne(miner_resolve(m, ids[0]), miner_resolve(m, ids[1]));
	ck_assert_int_ne(miner_resolve(m, ids[2]), miner_resolve(m, ids[8]));
	ck_assert_int_eq(miner_resolve(m, ids[8]), miner_resolve(m, ids[10]));
	ck_assert_str_eq(miner_template(m, ids[8]), "backup job <NUM> Failed");
	/* a two-line group does not swallow a large one that differs in one word */
	long a = add(m, "backup finished on pool A.");
	for (int i = 0; i < 20; i++)
		ck_assert_int_ne(add(m, "backup finished on pool B."), a);
	miner_free(m);
}
END_TEST

/* Category 2/4: delimiters are tokens; the template keeps them and the spacing. */
START_TEST(delimiters_are_tokens)
{
	struct miner *m = miner_new(NULL, NULL);
	long a = add(m, "set a=1,b=2,mode=fast (rev 3) [ok]");
	long b = add(m, "set a=7,b=9,mode=fast (rev 4) [ok]");
	long c = add(m, "set a=1,b=2,mode=safe (rev 3) [ok]");
	ck_assert_int_eq(a, b);
	ck_assert_int_ne(a, c); /* mode=fast and mode=safe are different events */
	ck_assert_str_eq(miner_template(m, a), "set a=<NUM>,b=<NUM>,mode=fast (rev <NUM>) [ok]");
	/* single-token lines no longer compare as all-parameter */
	long d = add(m, "onExtend:1514038530000");
	long e = add(m, "onStandStepChanged:3579");
	ck_assert_int_ne(d, e);
	/* comma lists of parameters of any length are one parameter */
	long f = add(m, "fans at 3000, 3100, 2900 rpm");
	long g = add(m, "fans at 3000, 3100 rpm");
	ck_assert_int_eq(f, g);
	miner_free(m);
}
END_TEST

/* Category 5: a short message with a variable first word; the tree keys on the first token,
 * the family still finds the other lines once the word has shown itself variable. */
START_TEST(short_messages_and_first_words)
{
	static const char *daemons[] = { "syslogd", "klogd", "portmap", "crond", "sshd", "cups" };
	struct miner *m = miner_new(NULL, NULL);
	long ids[AC_ARRAY_SIZE(daemons)];
	char line[64];
	for (size_t i = 0; i < AC_ARRAY_SIZE(daemons); i++) {
		snprintf(line, sizeof line, "%s startup succeeded", daemons[i]);
		ids[i] = add(m, line);
	}
	for (size_t i = 1; i < AC_ARRAY_SIZE(daemons); i++)
		ck_assert_int_eq(miner_resolve(m, ids[i]), miner_resolve(m, ids[0]));
	ck_assert_str_eq(miner_template(m, ids[0]), "<*> startup succeeded");
	ck_assert_int_eq(add(m, "xinetd startup succeeded"), miner_resolve(m, ids[0]));
	/* two-word messages that differ in the word are two messages until proven otherwise */
	ck_assert_int_ne(add(m, "Step_LSC"), add(m, "Step_SPLIT"));
	ck_assert_int_ne(add(m, "link up"), add(m, "link down"));
	miner_free(m);
}
END_TEST

/* Category 6: numbers with units are one variable. */
START_TEST(units_go_with_numbers)
{
	struct miner *m = miner_new(NULL, NULL);
	long a = add(m, "stored block (estimated size 5.2 KB, free 300.1 MB) in 300 ms");
	long b = add(m, "stored block (estimated size 17 B, free 1.5 GB) in 1.5 s");
	ck_assert_int_eq(a, b);
	ck_assert_str_eq(miner_template(m, a), "stored block (estimated size <SIZE>, free <SIZE>) in <DUR>");
	miner_free(m);
}
END_TEST

START_TEST(mining_is_deterministic)
{
	static const char *lines[] = {
		"User alice logged in from 10.0.0.1", "User bob logged in from 10.0.0.2",
		"Job 12 finished in 30ms", "Job 13 finished in 31ms", "Cache miss for key abc",
		"Cache miss for key def", "User carol logged out",
	};
	struct miner *m1 = miner_new(NULL, NULL), *m2 = miner_new(NULL, NULL);
	for (size_t i = 0; i < AC_ARRAY_SIZE(lines); i++)
		ck_assert_int_eq(add(m1, lines[i]), add(m2, lines[i]));
	ck_assert_uint_eq(miner_count(m1), miner_count(m2));
	for (size_t id = 1; id <= miner_count(m1); id++)
		ck_assert_str_eq(miner_template(m1, (long)id), miner_template(m2, (long)id));
	miner_free(m1);
	miner_free(m2);
}
END_TEST

START_TEST(config_is_validated_and_limits_hold)
{
	struct ac_error err = { 0 };
	struct miner_config cfg;
	miner_config_default(&cfg);
	cfg.sim_threshold = 1.5;
	ck_assert_ptr_null(miner_new(&cfg, &err));
	ck_assert_int_eq(err.code, AC_EINVAL);
	miner_config_default(&cfg);
	cfg.masks = "nope";
	ck_assert_ptr_null(miner_new(&cfg, &err));
	miner_config_default(&cfg);
	cfg.max_clusters = 2;
	struct miner *m = miner_new(&cfg, &err);
	add(m, "alpha beta");
	add(m, "gamma delta epsilon");
	ck_assert_int_eq(miner_add(m, "zeta", 4), AC_ETOOBIG);
	ck_assert_int_eq(miner_add(m, "alpha beta", 10), 1);
	/* empty and whitespace-only lines are one cluster, not a crash */
	miner_free(m);
	m = miner_new(NULL, NULL);
	ck_assert_int_eq(miner_add(m, "", 0), miner_add(m, "  \n", 3));
	miner_free(m);
}
END_TEST

static const char *phase1[] = {
	"Accepted password for root from 1.2.3.4 port 22 ssh2",
	"Failed password for invalid user test from 5.6.7.8 port 4444 ssh2",
	"Accepted password for admin from 1.2.3.9 port 23 ssh2",
	"Connection closed by 9.9.9.9 [preauth]",
};

START_TEST(persistence_continues_the_same_clusters)
{
	char path[] = "/tmp/check_miner_XXXXXX";
	int fd = mkstemp(path);
	struct ac_error err = { 0 };
	ck_assert_int_ge(fd, 0);
	close(fd);

	ac_sql *db = ac_db_open(path, AC_DB_WRITE, &err);
	ck_assert_msg(db != NULL, "%s", err.msg);
	struct miner *m = miner_new(NULL, &err);
	ck_assert_int_eq(miner_add_mask(m, "tenant=acme-[a-z]+", &err), 0);
	long ids[AC_ARRAY_SIZE(phase1)];
	for (size_t i = 0; i < AC_ARRAY_SIZE(phase1); i++)
		ids[i] = add(m, phase1[i]);
	ck_assert_int_eq(miner_save(m, db, &err), 0);
	/* a second save after more lines only rewrites what changed */
	add(m, "tenant acme-red over quota");
	ck_assert_int_eq(miner_save(m, db, &err), 0);
	size_t count = miner_count(m);
	ac_db_close(db);

	db = ac_db_open(path, AC_DB_WRITE, &err);
	struct miner *r = miner_load(db, NULL, &err);
	ck_assert_msg(r != NULL, "%s", err.msg);
	ck_assert_uint_eq(miner_count(r), count);
	for (size_t id = 1; id <= count; id++) {
		ck_assert_str_eq(miner_template(r, (long)id), miner_template(m, (long)id));
		ck_assert_uint_eq(miner_size(r, (long)id), miner_size(m, (long)id));
	}
	/* new lines go where the original miner puts them */
	const char *next[] = {
		"Accepted password for root from 7.7.7.7 port 99 ssh2",
		"Connection closed by 8.8.8.8 [preauth]",
		"tenant acme-green over quota",
		"Something never seen before",
	};
	for (size_t i = 0; i < AC_ARRAY_SIZE(next); i++)
		ck_assert_int_eq(add(r, next[i]), add(m, next[i]));
	ck_assert_int_eq(add(r, next[0]), ids[0]);
	miner_free(m);
	miner_free(r);

	/* an empty database gives an empty miner */
	ck_assert_int_eq(ac_db_exec(db, "DELETE FROM templates; DELETE FROM miner_config;"
				    " DELETE FROM miner_families", &err), 0);
	r = miner_load(db, NULL, &err);
	ck_assert_ptr_nonnull(r);
	ck_assert_uint_eq(miner_count(r), 0);
	miner_free(r);
	/* a gap in the ids is reported, not guessed around */
	ck_assert_int_eq(ac_db_exec(db, "INSERT INTO templates(id, template, tokens, count,"
				    " merged_into, updated_at) VALUES(2,'a b',2,1,NULL,0)", &err), 0);
	ck_assert_ptr_null(miner_load(db, NULL, &err));
	ck_assert_ptr_nonnull(strstr(err.msg, "expected id 1"));
	ac_db_close(db);
	unlink(path);
}
END_TEST

static const char *merging[] = {
	"open file alpha for reader beta", "open file gamma for reader beta",
	"open file zeta for reader beta", "open file eta for reader beta",
	"open file omega for reader beta",
};

START_TEST(templates_differing_only_in_variables_merge)
{
	struct miner_config cfg;
	struct ac_error err = { 0 };
	long ids[AC_ARRAY_SIZE(merging)];
	miner_config_default(&cfg);
	cfg.no_merge = true;
	struct miner *plain = miner_new(&cfg, NULL);
	struct miner *m = miner_new(NULL, NULL);
	struct miner_info info;
	for (size_t i = 0; i < 4; i++) {
		add(plain, merging[i]);
		ids[i] = miner_add_info(m, merging[i], strlen(merging[i]), &info);
	}
	/* the fourth word, all seen once: the position is a variable; the caller learns the folds */
	ck_assert_int_eq(info.id, 1);
	ck_assert_uint_eq(info.nfolded, 3);
	ck_assert_int_eq(info.folded[0], 2);
	ck_assert_int_eq(info.folded[2], 4);
	/* without merging, four clusters */
	ck_assert_int_eq(miner_next(plain, miner_next(plain, miner_next(plain, miner_next(plain, 0)))), 4);
	ids[4] = miner_add_info(m, merging[4], strlen(merging[4]), &info);
	ck_assert_int_eq(ids[4], 1);
	ck_assert_int_eq(info.how, MINER_SIMILAR);
	ck_assert_int_eq(miner_next(m, 0), 1);
	ck_assert_int_eq(miner_next(m, 1), 0); /* one live cluster */
	ck_assert_uint_eq(miner_count(m), 4);  /* four ids handed out */
	ck_assert_int_eq(miner_resolve(m, ids[1]), 1);
	ck_assert_uint_eq(miner_size(m, 2), 5);
	ck_assert_str_eq(miner_template(m, 2), "open file <*> for reader beta");

	/* the merge survives a restart */
	char path[] = "/tmp/check_miner_merge_XXXXXX";
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	close(fd);
	ac_sql *db = ac_db_open(path, AC_DB_WRITE, &err);
	ck_assert_msg(db != NULL, "%s", err.msg);
	ck_assert_int_eq(miner_save(m, db, &err), 0);
	struct miner *r = miner_load(db, NULL, &err);
	ck_assert_msg(r != NULL, "%s", err.msg);
	ck_assert_int_eq(miner_resolve(r, 2), 1);
	ck_assert_int_eq(miner_next(r, 1), 0);
	ck_assert_int_eq(add(r, "open file kappa for reader beta"), 1);
	ck_assert_int_eq(add(m, "open file kappa for reader beta"), 1);
	miner_free(r);
	ac_db_close(db);
	unlink(path);
	miner_free(m);
	miner_free(plain);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("miner");
	TCase *tc = tcase_create("miner");

	tcase_add_test(tc, ids_do_not_split_a_group);
	tcase_add_test(tc, half_similar_lines_stay_apart);
	tcase_add_test(tc, variable_words_become_wildcards);
	tcase_add_test(tc, different_messages_stay_apart);
	tcase_add_test(tc, explains_why_a_line_joined);
	tcase_add_test(tc, different_constants_do_not_merge);
	tcase_add_test(tc, mining_is_deterministic);
	tcase_add_test(tc, config_is_validated_and_limits_hold);
	tcase_add_test(tc, persistence_continues_the_same_clusters);
	tcase_add_test(tc, templates_differing_only_in_variables_merge);
	tcase_add_test(tc, recurring_words_are_constants);
	tcase_add_test(tc, delimiters_are_tokens);
	tcase_add_test(tc, short_messages_and_first_words);
	tcase_add_test(tc, units_go_with_numbers);
	suite_add_tcase(s, tc);
	return ac_check_run(s);
}

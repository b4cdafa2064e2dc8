/*
 * check_grouping.c — the error-grouping corpus (tests/data/grouping/corpus.jsonl, written by
 * tests/data/grouping/gen.py): every event is fingerprinted and the groups must be exactly the
 * expected ones — the same bug with other ids, paths, uuids, line numbers, bundle hashes,
 * callers, recursion depths and vendor frames in one group; another crash site or another word
 * in the message in another. Also: collapsed recursion, callers as a breakdown.
 * Run from the source tree (make test does); GROUPING_CORPUS overrides the path.
 */
#include "core/common.h"
#include "analyzer/fingerprint.h"

#include <check.h>

#include "tests/unit/check_run.h"

#define MAX_EVENTS 256

struct item {
	char group[16];
	char hash[33];
	char caller[256];
};

static size_t load_corpus(struct item *it)
{
	const char *path = getenv("GROUPING_CORPUS");
	FILE *f = fopen(path ? path : "tests/data/grouping/corpus.jsonl", "r");
	char line[16384];
	size_t n = 0;
	ck_assert_msg(f != NULL, "grouping corpus not found (run from the source tree)");
	while (n < MAX_EVENTS && fgets(line, sizeof line, f)) {
		json_error_t je;
		struct ac_error err = { 0 };
		struct fingerprint fp;
		json_t *o = json_loads(line, 0, &je);
		ck_assert_msg(o != NULL, "corpus line %zu: %s", n + 1, je.text);
		snprintf(it[n].group, sizeof it[n].group, "%s",
			 json_string_value(json_object_get(o, "group")));
		ck_assert_int_eq(fingerprint_event(json_object_get(o, "event"), NULL, &fp, &err), 0);
		memcpy(it[n].hash, fp.hash, sizeof fp.hash);
		ck_assert_int_eq(fingerprint_caller(json_object_get(o, "event"), it[n].caller,
						    sizeof it[n].caller), 0);
		fingerprint_release(&fp);
		json_decref(o);
		n++;
	}
	fclose(f);
	return n;
}

START_TEST(corpus_groups_are_the_expected_ones)
{
	static struct item it[MAX_EVENTS];
	size_t n = load_corpus(it), groups = 0;
	ck_assert_uint_ge(n, 30);
	for (size_t i = 0; i < n; i++) {
		bool first = true;
		for (size_t j = 0; j < n; j++) {
			bool same_group = !strcmp(it[i].group, it[j].group);
			bool same_hash = !strcmp(it[i].hash, it[j].hash);
			ck_assert_msg(same_group == same_hash, "events %zu (%s) and %zu (%s) %s", i + 1,
				      it[i].group, j + 1, it[j].group,
				      same_group ? "should share a group" : "should be apart");
			if (j < i && same_group)
				first = false;
		}
		groups += first;
	}
	ck_assert_uint_ge(groups, 10);
}
END_TEST

START_TEST(callers_are_a_breakdown)
{
	static struct item it[MAX_EVENTS];
	size_t n = load_corpus(it);
	/* C1: one SIGSEGV site reached from three callers */
	const char *seen[8];
	size_t nseen = 0;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(it[i].group, "C1"))
			continue;
		bool known = false;
		for (size_t k = 0; k < nseen; k++)
			known |= !strcmp(seen[k], it[i].caller);
		if (!known && nseen < 8)
			seen[nseen++] = it[i].caller;
	}
	ck_assert_uint_eq(nseen, 3);
}
END_TEST

static void fp_of(const char *json, struct fingerprint *fp)
{
	json_error_t jerr;
	struct ac_error err = { 0 };
	json_t *ev = json_loads(json, 0, &jerr);
	ck_assert_msg(ev != NULL, "bad test JSON: %s", jerr.text);
	ck_assert_msg(fingerprint_event(ev, NULL, fp, &err) == 0, "%s", err.msg);
	json_decref(ev);
}

START_TEST(recursion_and_cycles_collapse)
{
	struct fingerprint a, b, c;
	fp_of("{\"exception\":{\"type\":\"RecursionError\",\"frames\":[{\"function\":\"main\",\"in_app\":true},"
	      "{\"function\":\"walk\",\"in_app\":true},{\"function\":\"walk\",\"in_app\":true},"
	      "{\"function\":\"leaf\",\"in_app\":true}]}}", &a);
	fp_of("{\"exception\":{\"type\":\"RecursionError\",\"frames\":[{\"function\":\"main\",\"in_app\":true},"
	      "{\"function\":\"walk\",\"in_app\":true},{\"function\":\"leaf\",\"in_app\":true}]}}", &b);
	fp_of("{\"exception\":{\"type\":\"RecursionError\",\"frames\":[{\"function\":\"main\",\"in_app\":true},"
	      "{\"function\":\"even\",\"in_app\":true},{\"function\":\"odd\",\"in_app\":true},"
	      "{\"function\":\"even\",\"in_app\":true},{\"function\":\"odd\",\"in_app\":true}]}}", &c);
	ck_assert_str_eq(a.hash, b.hash);
	ck_assert_str_eq(c.title, "RecursionError in odd");
	fingerprint_release(&a);
	fingerprint_release(&b);
	fingerprint_release(&c);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("grouping");
	TCase *tc = tcase_create("grouping");

	tcase_add_test(tc, corpus_groups_are_the_expected_ones);
	tcase_add_test(tc, callers_are_a_breakdown);
	tcase_add_test(tc, recursion_and_cycles_collapse);
	suite_add_tcase(s, tc);
	return ac_check_run(s);
}

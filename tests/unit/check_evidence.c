/*
 * check_evidence.c — unit tests for the evidence loop's pure parts: the Wilson lower bound and
 * the fix order it gives (analyzer/evidence.h), DSN parsing and deterministic event ids of
 * `send` (collector/send.h), logformat fields (analyzer/logformat.h), and fault catalogue
 * errors with file:line:column (analyzer/faults.h).
 */
#include "core/common.h"
#include "analyzer/evidence.h"
#include "analyzer/faults.h"
#include "analyzer/logformat.h"
#include "collector/send.h"
#include "collector/send_int.h"

#include <check.h>
#include <math.h>

#include "tests/unit/check_run.h"

START_TEST(wilson_lower_bound)
{
	ck_assert(evidence_wilson_lower(0, 0) == 0);
	ck_assert(fabs(evidence_wilson_lower(4, 4) - 0.5101) < 0.001);
	ck_assert(fabs(evidence_wilson_lower(1, 3) - 0.0615) < 0.001);
	ck_assert(fabs(evidence_wilson_lower(90, 100) - 0.8256) < 0.001);
	/* more evidence at the same rate ranks higher */
	ck_assert(evidence_wilson_lower(9, 10) < evidence_wilson_lower(90, 100));
	ck_assert(evidence_wilson_lower(1, 1) < evidence_wilson_lower(9, 10));
}
END_TEST

START_TEST(fix_order_by_feedback)
{
	struct entry_feedback fb = { 0 };
	size_t order[4];

	evidence_fix_order(&fb, 4, order);   /* no reports: the rule's order */
	for (size_t i = 0; i < 4; i++)
		ck_assert_uint_eq(order[i], i);
	fb.step[2].lower = 0.5;
	fb.step[3].lower = 0.2;
	evidence_fix_order(&fb, 4, order);
	ck_assert_uint_eq(order[0], 2);
	ck_assert_uint_eq(order[1], 3);
	ck_assert_uint_eq(order[2], 0);   /* ties keep the rule's order */
	ck_assert_uint_eq(order[3], 1);
}
END_TEST

START_TEST(dsn_parsing)
{
	char url[256], key[128];
	struct ac_error err;

	ck_assert_int_eq(send_parse_dsn("http://abc123@127.0.0.1:8080/1", url, sizeof url, key,
					sizeof key, &err), 0);
	ck_assert_str_eq(url, "http://127.0.0.1:8080");
	ck_assert_str_eq(key, "abc123");
	ck_assert_int_eq(send_parse_dsn("https://k:secret@host/7", url, sizeof url, key, sizeof key,
					&err), 0);
	ck_assert_str_eq(url, "https://host");
	ck_assert_str_eq(key, "k");
	ck_assert_int_eq(send_parse_dsn("http://127.0.0.1:8080/1", url, sizeof url, key, sizeof key,
					&err), AC_EINVAL);
	ck_assert(strstr(err.msg, "has no key"));
	ck_assert_int_eq(send_parse_dsn("ftp://k@h/1", url, sizeof url, key, sizeof key, &err),
			 AC_EINVAL);
}
END_TEST

START_TEST(event_ids_are_deterministic)
{
	struct send_input a = { 0 }, b = { 0 };
	char x[37], y[37], z[37];

	send_ident("first 4 KiB", 11, a.ident);
	send_ident("first 4 KiB", 11, b.ident);
	send_event_id(&a, 120, "ERROR x", 7, x);
	send_event_id(&b, 120, "ERROR x", 7, y);
	ck_assert_str_eq(x, y);
	ck_assert_uint_eq(strlen(x), 36);
	ck_assert(!strchr(x, '-'));
	send_event_id(&a, 121, "ERROR x", 7, z);   /* same line elsewhere: another event */
	ck_assert_str_ne(x, z);
	send_ident("other file", 10, b.ident);
	send_event_id(&b, 120, "ERROR x", 7, z);
	ck_assert_str_ne(x, z);
}
END_TEST

START_TEST(logformat_fields)
{
	struct ac_error err;
	struct logformat *f = logformat_compile("<Date> <Time> <Level> <Component>: <Content>", &err);
	const char *line = "2026-12-03 10:00:01 WARN pool-3: queue full", *c, *p;
	size_t cl, pn;

	ck_assert_ptr_nonnull(f);
	ck_assert(logformat_content(f, line, strlen(line), &c, &cl));
	ck_assert_int_eq((int)cl, 10);
	ck_assert(!strncmp(c, "queue full", cl));
	bool level = false;
	for (size_t i = 0; i < logformat_nfields(f); i++) {
		const char *name = logformat_field(f, i, line, &p, &pn);
		if (!strcmp(name, "Level")) {
			level = true;
			ck_assert(pn == 4 && !strncmp(p, "WARN", 4));
		}
	}
	ck_assert(level);
	ck_assert(!logformat_content(f, "no header", 9, &c, &cl));
	logformat_free(f);
	ck_assert_ptr_null(logformat_compile("<Date> no content", &err));
	ck_assert(strstr(err.msg, "<Content>"));
}
END_TEST

static char tmpdir[64];

static void write_cat(const char *text)
{
	char path[128];
	snprintf(path, sizeof path, "%s/c.yaml", tmpdir);
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

START_TEST(catalogue_errors_have_positions)
{
	struct fault_catalog *c = NULL;
	struct ac_error err;

	snprintf(tmpdir, sizeof tmpdir, "/tmp/check_evidence.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	write_cat("faults:\n  - id: a\n    rule: r.x\n    inject: 'true'\n    timeout: 0\n");
	ck_assert_int_eq(fault_catalog_load(tmpdir, NULL, &c, &err), AC_EINVAL);
	ck_assert_msg(strstr(err.msg, "c.yaml:5:14: 'timeout' must be seconds"), "%s", err.msg);
	write_cat("faults:\n  - id: Bad Id\n    rule: r.x\n    inject: 'true'\n");
	ck_assert_int_eq(fault_catalog_load(tmpdir, NULL, &c, &err), AC_EINVAL);
	ck_assert_msg(strstr(err.msg, "c.yaml:2:9: fault id 'Bad Id'"), "%s", err.msg);
	write_cat("faults:\n  - id: a\n    rule: r.x\n");
	ck_assert_int_eq(fault_catalog_load(tmpdir, NULL, &c, &err), AC_EINVAL);
	ck_assert_msg(strstr(err.msg, "has no 'inject'"), "%s", err.msg);
	write_cat("faults: [\n");
	ck_assert_int_eq(fault_catalog_load(tmpdir, NULL, &c, &err), AC_EINVAL);
	ck_assert_msg(strstr(err.msg, "c.yaml:2:1:"), "%s", err.msg);
	write_cat("faults:\n  - id: a\n    rule: r.x\n    blueprint: bp.yaml\n    inject: 'true'\n"
		  "  - id: b\n    rule: r.y\n    inject: 'true'\n    fix: 'true'\n");
	ck_assert_int_eq(fault_catalog_load(tmpdir, NULL, &c, &err), 0);
	ck_assert_uint_eq(fault_catalog_count(c), 2);
	const struct fault *f = fault_catalog_get(c, 0);
	ck_assert_int_eq(f->line, 2);
	ck_assert(strstr(f->blueprint, "/bp.yaml"));
	ck_assert_ptr_null(f->fix);
	ck_assert_str_eq(fault_catalog_get(c, 1)->fix, "true");
	fault_catalog_free(c);
	char path[128];
	snprintf(path, sizeof path, "%s/c.yaml", tmpdir);
	unlink(path);
	rmdir(tmpdir);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("evidence");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, wilson_lower_bound);
	tcase_add_test(tc, fix_order_by_feedback);
	tcase_add_test(tc, dsn_parsing);
	tcase_add_test(tc, event_ids_are_deterministic);
	tcase_add_test(tc, logformat_fields);
	tcase_add_test(tc, catalogue_errors_have_positions);
	suite_add_tcase(s, tc);
	return ac_check_run(s);
}

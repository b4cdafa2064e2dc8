/*
 * check_expr.c — unit tests for the blueprint expression language (generator/runtime/expr.h):
 * what conditions and routing rules decide for real messages, and that malformed expressions
 * are rejected with the column a user must look at.
 */
#include "core/common.h"
#include "generator/runtime/expr.h"

#include <check.h>

#include "tests/unit/check_run.h"

/* Compile src (must succeed) and evaluate it against the JSON text msg. */
static bool eval_on(const char *src, const char *msg)
{
	struct expr *e = NULL;
	char err[200];
	int col = 0;
	json_error_t jerr;
	json_t *m = json_loads(msg, 0, &jerr);
	bool r;

	ck_assert_msg(m != NULL, "bad test JSON: %s", jerr.text);
	ck_assert_msg(expr_compile(src, &e, err, sizeof err, &col) == 0, "%s: col %d: %s", src, col,
		      err);
	r = expr_eval(e, m);
	expr_free(e);
	json_decref(m);
	return r;
}

/* Compile src (must fail); returns the error column and copies the message. */
static int fail_col(const char *src, char *err, size_t errlen)
{
	struct expr *e = NULL;
	int col = 0;

	ck_assert_msg(expr_compile(src, &e, err, errlen, &col) == -1, "'%s' compiled", src);
	ck_assert_ptr_null(e);
	ck_assert_msg(err[0] != '\0', "no message for '%s'", src);
	return col;
}

START_TEST(compares_numbers_strings_and_bools)
{
	const char *m = "{\"amount\": 1500, \"rate\": 0.5, \"country\": \"FR\", \"vip\": true}";
	ck_assert(eval_on("amount > 1000", m));
	ck_assert(!eval_on("amount < 1000", m));
	ck_assert(eval_on("amount >= 1500 and amount <= 1500", m));
	ck_assert(eval_on("amount == 1500.0", m));
	ck_assert(eval_on("rate != 1", m));
	ck_assert(eval_on("rate > -0.25", m));
	ck_assert(eval_on("country == \"FR\"", m));
	ck_assert(eval_on("country == 'FR'", m));
	ck_assert(eval_on("country < \"GB\"", m));
	ck_assert(eval_on("vip == true", m));
	ck_assert(eval_on("vip", m));
	ck_assert(!eval_on("not vip", m));
	ck_assert(eval_on("vip == True", m));
	ck_assert(eval_on("amount > 1e3", m));
}
END_TEST

START_TEST(boolean_operators_and_precedence)
{
	const char *m = "{\"a\": 1, \"b\": 2}";
	ck_assert(eval_on("a == 1 or b == 3 and a == 5", m)); /* and binds tighter */
	ck_assert(!eval_on("(a == 1 or b == 3) and a == 5", m));
	ck_assert(eval_on("a == 1 && b == 2", m));
	ck_assert(eval_on("a == 2 || !(b == 3)", m));
	ck_assert(eval_on("not not (a == 1)", m));
	ck_assert(eval_on("NOT a == 2 AND b == 2", m));
}
END_TEST

START_TEST(missing_fields_are_null_and_compare_false)
{
	const char *m = "{\"amount\": 5}";
	ck_assert(!eval_on("missing > 1", m));
	ck_assert(!eval_on("missing < 1", m));
	ck_assert(!eval_on("missing == 1", m));
	ck_assert(eval_on("missing == null", m));
	ck_assert(eval_on("missing != 1", m));
	ck_assert(!eval_on("missing", m));
	ck_assert(!eval_on("amount.deep.er > 1", m));
	/* type mismatch is false, never an error */
	ck_assert(!eval_on("amount > \"abc\"", m));
	ck_assert(!eval_on("amount matches \"5\"", m));
	ck_assert(!eval_on("amount contains \"5\"", m));
}
END_TEST

START_TEST(nested_paths_prefixes_and_array_indexes)
{
	const char *m = "{\"item\": {\"user\": {\"country\": \"DE\"}}, \"items\": [{\"sku\": \"A1\"}],"
			" \"x\": 7}";
	ck_assert(eval_on("item.user.country == \"DE\"", m));
	ck_assert(eval_on("items.0.sku == \"A1\"", m));
	ck_assert(!eval_on("items.1.sku == \"A1\"", m));
	ck_assert(eval_on("input.x == 7", m));
	ck_assert(eval_on("message.item.user.country == 'DE'", m));
	ck_assert(eval_on("data.x > 6", m));
	/* when the message really has an `input` key, the path goes through it */
	ck_assert(eval_on("input.x == 1", "{\"input\": {\"x\": 1}, \"x\": 2}"));
	ck_assert(!eval_on("input.x == 2", "{\"input\": {\"x\": 1}, \"x\": 2}"));
}
END_TEST

START_TEST(in_contains_and_matches)
{
	const char *m = "{\"country\": \"FR\", \"tags\": [\"a\", \"vip\"], \"note\": \"urgent: call\","
			" \"n\": 3, \"email\": \"bob@example.com\", \"alt\": \"DE\"}";
	ck_assert(eval_on("country in [\"FR\", \"DE\"]", m));
	ck_assert(!eval_on("country in ['US', 'GB']", m));
	ck_assert(eval_on("country not in ['US', 'GB']", m));
	ck_assert(eval_on("n in [1, 2, 3.0]", m));
	ck_assert(eval_on("'DE' in [country, alt]", m));
	ck_assert(eval_on("\"vip\" in tags", m));
	ck_assert(eval_on("tags contains \"vip\"", m));
	ck_assert(!eval_on("tags contains \"gold\"", m));
	ck_assert(eval_on("note contains 'urgent'", m));
	ck_assert(eval_on("email matches \"^[a-z]+@example\\\\.com$\"", m));
	ck_assert(eval_on("email matches '^\\w+@'", m));
	ck_assert(!eval_on("email matches \"^\\d+$\"", m));
	ck_assert(!eval_on("missing in [1, 2]", m));
	ck_assert(eval_on("missing in [1, null]", m));
}
END_TEST

START_TEST(errors_carry_the_column)
{
	char err[200];
	ck_assert_int_eq(fail_col("amount = 5", err, sizeof err), 8);
	ck_assert(strstr(err, "==") != NULL);
	ck_assert_int_eq(fail_col("amount >", err, sizeof err), 9);
	ck_assert(strstr(err, "expected a value") != NULL);
	ck_assert_int_eq(fail_col("amount >> 5", err, sizeof err), 9);
	ck_assert(strstr(err, "unexpected '>'") != NULL);
	ck_assert_int_eq(fail_col("amount > 5 5", err, sizeof err), 12);
	ck_assert(strstr(err, "unexpected '5'") != NULL);
	ck_assert_int_eq(fail_col("(a == 1", err, sizeof err), 8);
	ck_assert(strstr(err, "column 1") != NULL);
	ck_assert_int_eq(fail_col("name == \"abc", err, sizeof err), 9);
	ck_assert(strstr(err, "unterminated") != NULL);
	ck_assert_int_eq(fail_col("a == 1 b", err, sizeof err), 8);
	ck_assert_int_eq(fail_col("x matches \"(ab\"", err, sizeof err), 15);
	ck_assert(strstr(err, "invalid regex") != NULL);
	ck_assert_int_eq(fail_col("x matches y", err, sizeof err), 11);
	ck_assert_int_eq(fail_col("a in [1, 2", err, sizeof err), 11);
	ck_assert_int_eq(fail_col("a. == 1", err, sizeof err), 3);
	ck_assert_int_eq(fail_col("   ", err, sizeof err), 1);
	ck_assert_int_eq(fail_col("a == 12abc", err, sizeof err), 6);
	ck_assert_int_eq(fail_col("a & b", err, sizeof err), 3);
	ck_assert_int_eq(fail_col("a == 1 ; drop", err, sizeof err), 8);
	ck_assert_int_eq(fail_col("a not b", err, sizeof err), 3);
	ck_assert_int_eq(fail_col("__import__('os').system('x')", err, sizeof err), 11);
}
END_TEST

START_TEST(hostile_input_is_bounded)
{
	char err[200];
	char *deep = malloc(2 * 200 + 8);
	char *lng = malloc(EXPR_MAX_SOURCE + 10);
	size_t n = 0;

	for (int i = 0; i < 200; i++)
		deep[n++] = '(';
	deep[n++] = 'a';
	for (int i = 0; i < 200; i++)
		deep[n++] = ')';
	deep[n] = '\0';
	fail_col(deep, err, sizeof err);
	ck_assert(strstr(err, "nested too deeply") != NULL);
	memset(lng, 'a', EXPR_MAX_SOURCE + 5);
	lng[EXPR_MAX_SOURCE + 5] = '\0';
	fail_col(lng, err, sizeof err);
	ck_assert(strstr(err, "longer than") != NULL);
	/* invalid UTF-8 in a string literal */
	fail_col("a == \"\xff\"", err, sizeof err);
	/* a catastrophic regex is stopped by the match limit, not hung */
	ck_assert(!eval_on("s matches \"^(a+)+$\"",
			   "{\"s\": \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab\"}"));
	free(deep);
	free(lng);
}
END_TEST

START_TEST(source_is_kept_and_null_message_is_safe)
{
	struct expr *e = NULL;
	ck_assert_int_eq(expr_compile("a == 1", &e, NULL, 0, NULL), 0);
	ck_assert_str_eq(expr_source(e), "a == 1");
	ck_assert(!expr_eval(e, NULL));
	expr_free(e);
	expr_free(NULL);
}
END_TEST

static Suite *expr_suite(void)
{
	Suite *s = suite_create("expr");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, compares_numbers_strings_and_bools);
	tcase_add_test(tc, boolean_operators_and_precedence);
	tcase_add_test(tc, missing_fields_are_null_and_compare_false);
	tcase_add_test(tc, nested_paths_prefixes_and_array_indexes);
	tcase_add_test(tc, in_contains_and_matches);
	tcase_add_test(tc, errors_carry_the_column);
	tcase_add_test(tc, hostile_input_is_bounded);
	tcase_add_test(tc, source_is_kept_and_null_message_is_safe);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return ac_check_run(expr_suite());
}

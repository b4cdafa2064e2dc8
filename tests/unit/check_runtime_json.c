/*
 * check_runtime_json.c — the generated Sink's compact JSON writer (rt_json_write_compact in
 * generator/runtime/rt_util.c) against jansson itself: for random documents (every ASCII byte
 * in strings and keys, NULs inside strings, integers at the extremes, reals across the whole
 * range, nesting, objects after deletes and re-inserts) it must write exactly the bytes
 * json_dumpb(JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(15)) writes — the Sink's
 * output files must not change — and hand back to jansson (return 0) what it does not mirror.
 * rt_util.c is only copied into generated systems, so it is compiled in here.
 */
#include "core/common.h"

#include <check.h>
#include <float.h>
#include <math.h>

#include "tests/unit/check_run.h"

#include "generator/runtime/rt_util.c"

#define DUMP_FLAGS (JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(15))

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* Assert the writer and jansson agree on v byte for byte. */
static void same_as_jansson(json_t *v)
{
	char want[65536], got[65536];
	size_t nw = json_dumpb(v, want, sizeof want, DUMP_FLAGS);
	size_t ng = rt_json_write_compact(v, got, sizeof got);
	ck_assert_uint_gt(nw, 0);
	ck_assert_uint_lt(nw, sizeof want);
	ck_assert_msg(ng == nw && !memcmp(want, got, nw), "writer: %.*s\njansson: %.*s",
		      (int)(ng < sizeof got ? ng : 0), got, (int)nw, want);
}

static json_t *random_string(void)
{
	char buf[40];
	size_t n = next_rand() % sizeof buf;
	for (size_t i = 0; i < n; i++) {
		/* mostly printable, with every control byte, quote, backslash, DEL and NUL */
		unsigned r = (unsigned)(next_rand() % 160);
		buf[i] = (char)(r < 128 ? r : 'a' + r % 26);
	}
	return json_stringn(buf, n);
}

static double random_real(void)
{
	static const double fixed[] = { 0.0, -0.0, 0.1, 1.0, -1.0, 1e21, 1e22, 1e-7, 123456789012345.0,
		1234567890123456.0, 0.30000000000000004, DBL_MAX, -DBL_MAX, DBL_MIN, 5e-324, 1e100,
		-2.5e-300, 3.14159265358979, 100.0, 1e15, 1e16, 9.999999999999999e22 };
	uint64_t r = next_rand();
	switch (r % 4) {
	case 0:
		return fixed[(r >> 8) % (sizeof fixed / sizeof fixed[0])];
	case 1:
		return (double)(int64_t)(next_rand() % 2000001) - 1000000.0;   /* integral */
	case 2:
		return ((double)(next_rand() % 100000) / 100.0) * ((r >> 8) & 1 ? -1 : 1);
	default: {
		double d;
		uint64_t bits = next_rand();
		memcpy(&d, &bits, sizeof d);
		return isfinite(d) ? d : 1.5;
	}
	}
}

static json_t *random_value(int depth)
{
	uint64_t r = next_rand() % (depth < 4 ? 10 : 7);
	switch (r) {
	case 0:
		return random_string();
	case 1: {
		static const json_int_t edge[] = { 0, -1, 1, INT64_MAX, INT64_MIN, 1000000, -999 };
		return json_integer((next_rand() & 1) ? (json_int_t)next_rand() :
				    edge[next_rand() % 7]);
	}
	case 2:
		return json_real(random_real());
	case 3:
		return json_true();
	case 4:
		return json_false();
	case 5:
		return json_null();
	case 6:
		return json_integer((json_int_t)(next_rand() % 1000));
	case 7: {
		json_t *a = json_array();
		size_t n = next_rand() % 6;
		for (size_t i = 0; i < n; i++)
			json_array_append_new(a, random_value(depth + 1));
		return a;
	}
	default: {
		json_t *o = json_object();
		size_t n = next_rand() % 8;
		for (size_t i = 0; i < n; i++) {
			json_t *k = random_string();
			if (!memchr(json_string_value(k), 0, json_string_length(k)))
				json_object_set_new(o, json_string_value(k), random_value(depth + 1));
			json_decref(k);
		}
		return o;
	}
	}
}

START_TEST(test_random_documents)
{
	for (int i = 0; i < 20000; i++) {
		json_t *v = random_value(0);
		same_as_jansson(v);
		json_decref(v);
	}
}
END_TEST

START_TEST(test_reals)
{
	for (int i = 0; i < 200000; i++) {
		json_t *v = json_real(random_real());
		same_as_jansson(v);
		json_decref(v);
	}
}
END_TEST

/* Insertion order after deletes and re-inserts, as a Transformer's rename/remove leave it. */
START_TEST(test_object_order_after_edits)
{
	json_t *o = json_pack("{s:i, s:i, s:s, s:b}", "id", 1, "value", 2, "name", "x", "ok", 1);
	json_object_del(o, "value");
	json_object_set_new(o, "value", json_integer(3));
	json_object_set_new(o, "id", json_integer(9));
	json_object_set_new(o, "stage", json_string("x"));
	same_as_jansson(o);
	json_decref(o);
}
END_TEST

START_TEST(test_left_to_jansson)
{
	char buf[256];
	json_t *v = json_pack("{s:s}", "name", "caf\xc3\xa9");
	json_t *deep = json_array(), *cur = deep;
	/* outside ASCII: jansson validates the UTF-8, the writer declines */
	ck_assert_uint_eq(rt_json_write_compact(v, buf, sizeof buf), 0);
	json_decref(v);
	v = json_object();
	json_object_setn_new_nocheck(v, "a\0b", 3, json_integer(1));
	ck_assert_uint_eq(rt_json_write_compact(v, buf, sizeof buf), 0);
	json_decref(v);
	for (int i = 0; i < 40; i++) {
		json_t *a = json_array();
		json_array_append_new(cur, a);
		cur = a;
	}
	ck_assert_uint_eq(rt_json_write_compact(deep, buf, sizeof buf), 0);
	json_decref(deep);
	ck_assert_uint_eq(rt_json_write_compact(NULL, buf, sizeof buf), 0);
}
END_TEST

START_TEST(test_small_buffer)
{
	char buf[64];
	json_t *v = json_pack("{s:s, s:i}", "text", "0123456789012345678901234567890123456789",
			      "n", 5);
	size_t full = rt_json_write_compact(v, buf, sizeof buf);
	ck_assert_uint_eq(full, strlen("{\"text\":\"0123456789012345678901234567890123456789\",\"n\":5}"));
	for (size_t n = 0; n < full; n++)
		ck_assert_uint_gt(rt_json_write_compact(v, buf, n), n);
	ck_assert_uint_eq(rt_json_write_compact(v, buf, full), full);
	ck_assert(!memcmp(buf, "{\"text\":\"0123456789012345678901234567890123456789\",\"n\":5}", full));
	json_decref(v);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("runtime_json");
	TCase *tc = tcase_create("writer");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_random_documents);
	tcase_add_test(tc, test_reals);
	tcase_add_test(tc, test_object_order_after_edits);
	tcase_add_test(tc, test_left_to_jansson);
	tcase_add_test(tc, test_small_buffer);
	suite_add_tcase(s, tc);
	return ac_check_run(s);
}

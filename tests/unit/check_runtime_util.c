/*
 * check_runtime_util.c — unit tests for the generated systems' runtime helpers
 * (generator/runtime/rt_util.c): the WebSocket handshake digest (RFC 6455's own example),
 * field paths, "{{field}}" templates, bounded request bodies and the canonical-JSON check that
 * lets a direct read send stored text unchanged (checked against jansson itself). rt_util.c is not part of
 * libautocoder (it is only copied into generated systems), so it is compiled in here.
 */
#include "core/common.h"

#include <check.h>

#include "tests/unit/check_run.h"

#include "generator/runtime/rt_util.c"

START_TEST(test_websocket_accept)
{
	/* RFC 6455 section 1.3: key "dGhlIHNhbXBsZSBub25jZQ==" -> "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" */
	const char *in = "dGhlIHNhbXBsZSBub25jZQ==258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
	unsigned char d[20];
	char out[32];
	rt_sha1((const unsigned char *)in, strlen(in), d);
	rt_base64(d, 20, out);
	ck_assert_str_eq(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
	/* FIPS 180 "abc" and a two-block message */
	rt_sha1((const unsigned char *)"abc", 3, d);
	ck_assert_uint_eq(d[0], 0xa9);
	ck_assert_uint_eq(d[19], 0x9d);
	const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	rt_sha1((const unsigned char *)two, strlen(two), d);
	ck_assert_uint_eq(d[0], 0x84);
	ck_assert_uint_eq(d[19], 0xf1);
	rt_base64((const unsigned char *)"ab", 2, out);
	ck_assert_str_eq(out, "YWI=");
}
END_TEST

START_TEST(test_paths_and_templates)
{
	json_t *m = json_loads("{\"user\":{\"name\":\"ada\",\"tags\":[\"x\",\"y\"]},\"n\":3,"
			       "\"r\":1.5,\"ok\":true}", 0, NULL);
	json_t *t;
	ck_assert_str_eq(json_string_value(rt_path_get(m, "user.name")), "ada");
	ck_assert_str_eq(json_string_value(rt_path_get(m, "user.tags.1")), "y");
	ck_assert_ptr_null(rt_path_get(m, "user.missing.deeper"));
	ck_assert_ptr_null(rt_path_get(m, "n.x"));
	rt_path_set(m, "a.b.c", json_integer(7));
	ck_assert_int_eq(json_integer_value(rt_path_get(m, "a.b.c")), 7);
	t = rt_template("{{ user.name }}#{{n}}/{{r}}/{{ok}}/{{nope}}!", m);
	ck_assert_str_eq(json_string_value(t), "ada#3/1.5/true/!");
	json_decref(t);
	t = rt_template("no placeholders {{ unclosed", m);
	ck_assert_str_eq(json_string_value(t), "no placeholders {{ unclosed");
	json_decref(t);
	t = rt_case("MiXeD", 1);
	ck_assert_str_eq(json_string_value(t), "MIXED");
	json_decref(t);
	json_decref(m);
}
END_TEST

START_TEST(test_body_bound)
{
	struct rt_body *b = rt_body_new(10);
	rt_body_append(b, "hello", 5);
	rt_body_append(b, "world", 5);
	ck_assert(!b->too_big);
	ck_assert_str_eq(b->data, "helloworld");
	rt_body_append(b, "!", 1);
	ck_assert(b->too_big);
	ck_assert_uint_eq(b->len, 10);
	rt_body_free(b);
	rt_body_free(NULL);
}
END_TEST

/* What a direct read would send after parsing and serialising text again, or NULL. */
static char *reserialised(const char *text)
{
	json_t *j = json_loads(text, 0, NULL);
	char *out = j ? json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(15)) : NULL;
	json_decref(j);
	return out;
}

static bool canonical(const char *text)
{
	return rt_json_canonical(text, strlen(text));
}

START_TEST(test_json_canonical_cases)
{
	static const char *const yes[] = {
		"{}", "{\"id\":\"t1\",\"title\":\"bench item\",\"done\":false}",
		"{\"a\":[1,-2,0,[],{},null,true],\"b\":{\"c\":\"x\\ny\\\"z\\\\ \\t/\"}}",
		"{\"\":123456789012345678}",
	};
	static const char *const no[] = {
		"", "[1]", "{\"a\":1.5}", "{\"a\":1e3}", "{\"a\":2.0}", "{ \"a\":1}", "{\"a\":1 }",
		"{\"a\":\"\\u0041\"}", "{\"a\":\"\\/\"}", "{\"a\":-0}", "{\"a\":01}", "{\"a\":-}",
		"{\"a\":1,\"a\":2}", "{\"a\":\"\xc3\xa9\"}", "{\"a\":1}x", "{\"a\":tru}", "{\"a\":1,}",
		"{\"a\":[1,]}", "{\"a\":1234567890123456789}", "{\"a\":\"x", "{\"a\"}", "{\"a\":\"\x01\"}",
		"{\"a\":\"\x7f\"}", "{1:2}",
	};
	for (size_t i = 0; i < sizeof yes / sizeof *yes; i++) {
		char *r = reserialised(yes[i]);
		ck_assert_msg(canonical(yes[i]), "%s", yes[i]);
		ck_assert_ptr_nonnull(r);
		ck_assert_str_eq(r, yes[i]);
		free(r);
	}
	for (size_t i = 0; i < sizeof no / sizeof *no; i++)
		ck_assert_msg(!canonical(no[i]), "%s", no[i]);
	/* limits: 16 members and depth 32 pass, one more does not */
	char buf[512];
	size_t n = 0;
	n += (size_t)snprintf(buf + n, sizeof buf - n, "{");
	for (int i = 0; i < 17; i++)
		n += (size_t)snprintf(buf + n, sizeof buf - n, "%s\"k%d\":%d", i ? "," : "", i, i);
	snprintf(buf + n, sizeof buf - n, "}");
	ck_assert(!canonical(buf));
	ck_assert(canonical("{\"a\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}"));
	ck_assert(!canonical("{\"a\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}"));
}
END_TEST

/* Random documents written by jansson, some mutated: whatever the check accepts must come back
 * byte for byte from jansson, and compact documents of the accepted kind must be accepted. */
static uint64_t rng = 88172645463325252ULL;
static unsigned rnd(unsigned n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (unsigned)(rng % n);
}

static json_t *random_value(int depth, bool plain)
{
	/* "plain" strings hold only what the check accepts; the others add \x01, DEL and é */
	static const char *const piece[] = { "a", "b", " ", "/", "\"", "\\", "\n", "\t", "-",
					     "\x01", "\x7f", "\xc3\xa9" };
	switch (rnd(depth > 3 ? 5 : 7)) {
	case 0: return json_integer((json_int_t)rnd(2000000) - 1000000);
	case 1: return plain ? json_null() : json_real(rnd(1000) / 8.0);
	case 2: return json_boolean(rnd(2));
	case 3: return json_null();
	case 4: {
		char s[32] = "";
		for (unsigned i = rnd(8); i > 0; i--)
			strncat(s, piece[rnd(plain ? 9 : 12)], sizeof s - strlen(s) - 1);
		return json_string(s);
	}
	case 5: {
		json_t *a = json_array();
		for (unsigned i = rnd(4); i > 0; i--)
			json_array_append_new(a, random_value(depth + 1, plain));
		return a;
	}
	default: {
		json_t *o = json_object();
		for (unsigned i = rnd(5); i > 0; i--) {
			char k[4] = { "abc\""[rnd(4)], "xy"[rnd(2)], 0, 0 };
			json_object_set_new(o, k, random_value(depth + 1, plain));
		}
		return o;
	}
	}
}

START_TEST(test_json_canonical_against_jansson)
{
	unsigned accepted = 0;
	for (int i = 0; i < 20000; i++) {
		bool plain = rnd(2);
		json_t *doc = json_object();
		json_object_set_new(doc, "id", random_value(1, plain));
		json_object_set_new(doc, "v", random_value(0, plain));
		char *text = json_dumps(doc, rnd(4) ? JSON_COMPACT : JSON_INDENT(1));
		size_t len = strlen(text);
		if (rnd(3) == 0)   /* mutate one byte */
			text[rnd((unsigned)len)] = "{}[],:\"\\-0 .e"[rnd(14)];
		if (rt_json_canonical(text, len)) {
			char *r = reserialised(text);
			accepted++;
			ck_assert_msg(r && !strcmp(r, text), "accepted %s, jansson writes %s", text,
				      r ? r : "(invalid)");
			free(r);
		}
		json_decref(doc);
		free(text);
	}
	ck_assert_uint_gt(accepted, 3000);
	/* plain compact documents are what a todo store holds: all must be accepted */
	for (int i = 0; i < 2000; i++) {
		json_t *doc = json_pack("{s:s, s:o}", "id", "x", "v", random_value(0, true));
		char *text = json_dumps(doc, JSON_COMPACT);
		ck_assert_msg(canonical(text), "rejected %s", text);
		json_decref(doc);
		free(text);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("runtime_util");
	TCase *tc = tcase_create("util");
	tcase_add_test(tc, test_websocket_accept);
	tcase_add_test(tc, test_paths_and_templates);
	tcase_add_test(tc, test_body_bound);
	tcase_add_test(tc, test_json_canonical_cases);
	tcase_add_test(tc, test_json_canonical_against_jansson);
	suite_add_tcase(s, tc);
	return ac_check_run(s);
}

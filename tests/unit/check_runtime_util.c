/*
 * check_runtime_util.c — unit tests for the generated systems' runtime helpers
 * (generator/runtime/rt_util.c): the WebSocket handshake digest (RFC 6455's own example),
 * field paths, "{{field}}" templates and bounded request bodies. rt_util.c is not part of
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

int main(void)
{
	Suite *s = suite_create("runtime_util");
	TCase *tc = tcase_create("util");
	tcase_add_test(tc, test_websocket_accept);
	tcase_add_test(tc, test_paths_and_templates);
	tcase_add_test(tc, test_body_bound);
	suite_add_tcase(s, tc);
	return ac_check_run(s);
}

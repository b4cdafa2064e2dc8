/*
 * check_fingerprint.c — unit tests for analyzer/fingerprint: function-name normalisation,
 * same crash site with different addresses/lines/ids groups together, different crash sites
 * stay apart, in-app frames win over library frames, the SDK fingerprint wins and
 * "{{ default }}" expands, and bad input is an error rather than a crash.
 */
#include "core/common.h"
#include "analyzer/fingerprint.h"

#include <check.h>

#include "tests/unit/check_run.h"

static void fp_of(const char *json, struct fingerprint *fp)
{
	json_error_t jerr;
	struct ac_error err = { 0 };
	json_t *ev = json_loads(json, 0, &jerr);
	ck_assert_msg(ev != NULL, "bad test JSON: %s", jerr.text);
	ck_assert_msg(fingerprint_event(ev, NULL, fp, &err) == 0, "%s", err.msg);
	json_decref(ev);
}

static void norm_is(const char *in, const char *want)
{
	char out[256];
	fingerprint_function(in, out, sizeof out);
	ck_assert_str_eq(out, want);
}

START_TEST(function_names_are_normalised)
{
	norm_is("./server(parse_header+0x1d) [0x55d0c0a1b2c3]", "parse_header");
	norm_is("parse_header+0x1d", "parse_header");
	norm_is("std::vector<int, std::allocator<int> >::push_back(int const&)",
		"std::vector::push_back");
	norm_is("Foo::bar(int) const", "Foo::bar");
	norm_is("main::{lambda(int)#1}::operator()(int) const", "main::{lambda}::operator");
	norm_is("lambda$main$0", "lambda$main");
	norm_is("Object.<anonymous>", "Object.<anonymous>");
	norm_is("<lambda>", "<lambda>");
	norm_is("main.(*Server).Serve", "main.(*Server).Serve");
	norm_is("app::handler::h0123456789abcdef", "app::handler");
	norm_is("handle_request at src/http.c:42", "handle_request");
	norm_is("List<String>.get", "List.get");
	norm_is("0x7f12ab34cd56", "");
	norm_is("??", "");
}
END_TEST

#define CRASH(fn1, fn2, line, addr)                                                          \
	"{\"kind\":\"crash\",\"message\":\"SIGSEGV at " addr "\",\"exception\":{\"type\":"       \
	"\"SIGSEGV\",\"value\":\"invalid read at " addr "\",\"frames\":["                        \
	"{\"function\":\"__libc_start_main+0xf3\",\"in_app\":false},"                            \
	"{\"function\":\"./svc(" fn1 "+0x10) [" addr "]\",\"file\":\"src/main.c\",\"line\":"   \
	line ",\"in_app\":true},"                                                                \
	"{\"function\":\"" fn2 "\",\"file\":\"src/parse.c\",\"line\":" line ",\"in_app\":true}]}}"

START_TEST(same_crash_site_groups_despite_addresses_and_lines)
{
	struct fingerprint a, b, c;
	fp_of(CRASH("main", "parse_header", "10", "0x55d0c0a1b2c3"), &a);
	fp_of(CRASH("main", "parse_header+0x44", "99", "0x7fffaa001122"), &b);
	fp_of(CRASH("main", "parse_body", "10", "0x55d0c0a1b2c3"), &c);
	ck_assert_str_eq(a.hash, b.hash);
	ck_assert_str_ne(a.hash, c.hash); /* different crash site */
	ck_assert_int_eq(a.basis, FP_INAPP_FRAMES);
	ck_assert_str_eq(a.explanation, "type SIGSEGV + crash site in-app frame parse_header (callers do not count) + masked message: invalid read at <HEX>");
	ck_assert_str_eq(a.title, "SIGSEGV in parse_header");
	ck_assert_uint_eq(strlen(a.hash), 32);
	fingerprint_release(&a);
	fingerprint_release(&b);
	fingerprint_release(&c);
}
END_TEST

START_TEST(falls_back_to_all_frames_then_message)
{
	struct fingerprint a, b, c, d, e;
	fp_of("{\"exception\":{\"type\":\"TypeError\",\"value\":\"x is undefined\",\"frames\":["
	      "{\"function\":\"lib.run\",\"in_app\":false},{\"function\":\"lib.call\"}]}}", &a);
	ck_assert_int_eq(a.basis, FP_ALL_FRAMES);
	ck_assert_str_eq(a.explanation, "type TypeError + crash site frame lib.call (callers do not count) + masked message: x is undefined");
	fp_of("{\"exception\":{\"type\":\"KeyError\",\"value\":\"user 4711 not found\"}}", &b);
	fp_of("{\"exception\":{\"type\":\"KeyError\",\"value\":\"user 815 not found\"}}", &c);
	ck_assert_int_eq(b.basis, FP_TYPE_MESSAGE);
	ck_assert_str_eq(b.hash, c.hash); /* ids do not split */
	ck_assert_str_eq(b.explanation, "type KeyError + masked message: user <NUM> not found");
	fp_of("{\"kind\":\"log\",\"message\":\"disk /dev/sda1 at 91% after 3s\"}", &d);
	fp_of("{\"kind\":\"log\",\"message\":\"disk /dev/sdb2 at 97% after 12s\"}", &e);
	ck_assert_int_eq(d.basis, FP_MESSAGE);
	ck_assert_str_eq(d.hash, e.hash);
	ck_assert_str_ne(d.hash, b.hash);
	fingerprint_release(&a);
	fingerprint_release(&b);
	fingerprint_release(&c);
	fingerprint_release(&d);
	fingerprint_release(&e);
}
END_TEST

START_TEST(sdk_fingerprint_wins)
{
	struct fingerprint a, b, c, d;
	fp_of(CRASH("main", "parse_header", "1", "0x1"), &a);
	fp_of("{\"fingerprint\":[\"db-timeout\"],\"exception\":{\"type\":\"A\",\"value\":\"x\"}}", &b);
	fp_of("{\"fingerprint\":[\"db-timeout\"],\"message\":\"completely different\"}", &c);
	ck_assert_str_eq(b.hash, c.hash);
	ck_assert_int_eq(b.basis, FP_CUSTOM);
	ck_assert_str_eq(b.explanation, "\"db-timeout\"");
	/* {{ default }} expands to the default grouping */
	char with_default[2048];
	snprintf(with_default, sizeof with_default, "{\"fingerprint\":[\"{{ default }}\", \"eu\"],%s",
		 &CRASH("main", "parse_header", "1", "0x1")[1]);
	fp_of(with_default, &d);
	ck_assert_str_ne(d.hash, a.hash);
	ck_assert_str_ne(d.hash, b.hash);
	ck_assert_str_eq(d.explanation,
			 "{{ default }} = type SIGSEGV + crash site in-app frame parse_header (callers do not "
			 "count) + masked message: invalid read at <HEX> + \"eu\"");
	fingerprint_release(&a);
	fingerprint_release(&b);
	fingerprint_release(&c);
	fingerprint_release(&d);
}
END_TEST

START_TEST(unsymbolised_frames_keep_their_offset)
{
	struct fingerprint a, b, c;
	fp_of("{\"exception\":{\"type\":\"SIGSEGV\",\"frames\":["
	      "{\"function\":\"./svc(+0x1a2b) [0x55d0c0a1b2c3]\",\"in_app\":true}]}}", &a);
	fp_of("{\"exception\":{\"type\":\"SIGSEGV\",\"frames\":["
	      "{\"function\":\"/opt/svc(+0x1a2b) [0x7fff00001111]\",\"in_app\":true}]}}", &b);
	fp_of("{\"exception\":{\"type\":\"SIGSEGV\",\"frames\":["
	      "{\"function\":\"./svc(+0x2000) [0x55d0c0a1b2c3]\",\"in_app\":true}]}}", &c);
	ck_assert_str_eq(a.hash, b.hash); /* same site, other load address and path */
	ck_assert_str_ne(a.hash, c.hash); /* another site */
	ck_assert_str_eq(a.explanation, "type SIGSEGV + crash site in-app frame svc+0x1a2b (callers do not count) + masked message: ");
	fingerprint_release(&a);
	fingerprint_release(&b);
	fingerprint_release(&c);
}
END_TEST

START_TEST(bad_input_is_an_error)
{
	struct fingerprint fp;
	struct ac_error err = { 0 };
	json_t *ev = json_pack("{s:i}", "fingerprint", 3);
	ck_assert_int_eq(fingerprint_event(ev, NULL, &fp, &err), AC_EINVAL);
	json_decref(ev);
	ev = json_pack("{s:[o]}", "fingerprint", json_object());
	ck_assert_int_eq(fingerprint_event(ev, NULL, &fp, &err), AC_EINVAL);
	json_decref(ev);
	ev = json_array();
	ck_assert_int_eq(fingerprint_event(ev, NULL, &fp, &err), AC_EINVAL);
	json_decref(ev);
	fingerprint_release(&fp);
	/* an empty object is a (message-less) log event */
	fp_of("{}", &fp);
	ck_assert_int_eq(fp.basis, FP_MESSAGE);
	fingerprint_release(&fp);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("fingerprint");
	TCase *tc = tcase_create("fingerprint");

	tcase_add_test(tc, function_names_are_normalised);
	tcase_add_test(tc, same_crash_site_groups_despite_addresses_and_lines);
	tcase_add_test(tc, falls_back_to_all_frames_then_message);
	tcase_add_test(tc, sdk_fingerprint_wins);
	tcase_add_test(tc, unsymbolised_frames_keep_their_offset);
	tcase_add_test(tc, bad_input_is_an_error);
	suite_add_tcase(s, tc);
	return ac_check_run(s);
}

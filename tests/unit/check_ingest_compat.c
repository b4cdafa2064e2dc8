/*
 * check_ingest_compat.c — unit tests for the forms real clients send that the first parsers
 * refused or flattened (issue 10): legacy Sentry (raven) /store/ bodies (base64 of zlib, raw
 * deflate or gzip data without Content-Encoding, bounded), logentry templates formatted with
 * their params, captureMessage's synthetic exception.
 */
#include "core/common.h"
#include "collector/internal.h"
#include "analyzer/fingerprint.h"

#include <check.h>
#include <zlib.h>

#include "tests/unit/check_run.h"

static const struct ingest_limits lim = { 1 << 20, 4 << 20 };
static const struct event_defaults nodef = { NULL, NULL, NULL, NULL, NULL };

static const char *sget(const json_t *o, const char *path)
{
	char buf[256];
	snprintf(buf, sizeof buf, "%s", path);
	const json_t *v = o;
	char *save = NULL;
	for (char *tok = strtok_r(buf, ".", &save); tok && v; tok = strtok_r(NULL, ".", &save))
		v = json_object_get(v, tok);
	return json_string_value(v);
}

static size_t compress_buf(const char *in, size_t n, unsigned char *out, size_t cap, int wbits)
{
	z_stream zs;
	memset(&zs, 0, sizeof zs);
	deflateInit2(&zs, 6, Z_DEFLATED, wbits, 8, Z_DEFAULT_STRATEGY);
	zs.next_in = (unsigned char *)in;
	zs.avail_in = (uInt)n;
	zs.next_out = out;
	zs.avail_out = (uInt)cap;
	deflate(&zs, Z_FINISH);
	size_t len = zs.total_out;
	deflateEnd(&zs);
	return len;
}

static char *b64(const unsigned char *p, size_t n)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *o = malloc(n / 3 * 4 + 5), *q = o;
	size_t i = 0;
	for (; i + 2 < n; i += 3) {
		unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8 | p[i + 2];
		*q++ = tab[v >> 18]; *q++ = tab[(v >> 12) & 63]; *q++ = tab[(v >> 6) & 63]; *q++ = tab[v & 63];
	}
	if (n - i == 1) {
		unsigned v = (unsigned)p[i] << 16;
		*q++ = tab[v >> 18]; *q++ = tab[(v >> 12) & 63]; *q++ = '='; *q++ = '=';
	} else if (n - i == 2) {
		unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8;
		*q++ = tab[v >> 18]; *q++ = tab[(v >> 12) & 63]; *q++ = tab[(v >> 6) & 63]; *q++ = '=';
	}
	*q = '\0';
	return o;
}

/* raven-python 6: no level, exception as a bare list, a zoneless ISO timestamp */
static const char raven_event[] =
	"{\"event_id\":\"e4874d664c3540c1a32eab185f12c5ab\",\"project\":\"1\","
	"\"timestamp\":\"2026-11-24T10:11:12\",\"platform\":\"python\",\"release\":\"shop@1.2\","
	"\"environment\":\"staging\",\"exception\":[{\"type\":\"ZeroDivisionError\","
	"\"value\":\"division by zero\",\"module\":\"builtins\",\"stacktrace\":{\"frames\":["
	"{\"filename\":\"shop/app.py\",\"function\":\"checkout\",\"lineno\":42,\"in_app\":true}]}}],"
	"\"sdk\":{\"name\":\"raven-python\",\"version\":\"6.10.0\"}}";

static void check_raven_event(const json_t *ev)
{
	ck_assert_str_eq(sget(ev, "event_id"), "e4874d664c3540c1a32eab185f12c5ab");
	ck_assert_str_eq(sget(ev, "timestamp"), "2026-11-24T10:11:12.000Z");
	ck_assert_str_eq(sget(ev, "level"), "error");
	ck_assert_str_eq(sget(ev, "kind"), "error");
	ck_assert_str_eq(sget(ev, "exception.type"), "ZeroDivisionError");
	ck_assert_str_eq(sget(ev, "exception.value"), "division by zero");
	ck_assert_str_eq(sget(ev, "release"), "shop@1.2");
	ck_assert_str_eq(sget(ev, "environment"), "staging");
	const json_t *f = json_array_get(json_object_get(json_object_get(ev, "exception"), "frames"), 0);
	ck_assert_str_eq(sget(f, "function"), "checkout");
	ck_assert_int_eq(json_integer_value(json_object_get(f, "line")), 42);
}

START_TEST(raven_base64_bodies_of_each_compression)
{
	static const int wbits[] = { 15, -15, 16 + 15 };   /* zlib, raw deflate, gzip */
	unsigned char z[4096];
	struct ac_error err;

	for (size_t i = 0; i < 3; i++) {
		size_t zn = compress_buf(raven_event, strlen(raven_event), z, sizeof z, wbits[i]);
		char *text = b64(z, zn);
		json_t *out = json_array();
		if (i == 0)
			ck_assert_msg(!strncmp(text, "eJ", 2), "zlib base64 starts with eJ: %.8s", text);
		ck_assert_msg(sentry_parse_store(text, strlen(text), &nodef, &lim, out, &err) == 0,
			      "form %zu: %s", i, err.msg);
		ck_assert_uint_eq(json_array_size(out), 1);
		check_raven_event(json_array_get(out, 0));
		json_decref(out);
		free(text);
	}
	/* base64 of plain JSON, and binary zlib without base64 */
	char *text = b64((const unsigned char *)raven_event, strlen(raven_event));
	json_t *out = json_array();
	ck_assert_int_eq(sentry_parse_store(text, strlen(text), &nodef, &lim, out, &err), 0);
	check_raven_event(json_array_get(out, 0));
	json_decref(out);
	free(text);
	size_t zn = compress_buf(raven_event, strlen(raven_event), z, sizeof z, 15);
	out = json_array();
	ck_assert_int_eq(sentry_parse_store((char *)z, zn, &nodef, &lim, out, &err), 0);
	check_raven_event(json_array_get(out, 0));
	json_decref(out);
}
END_TEST

START_TEST(raven_bodies_are_bounded_and_errors_named)
{
	size_t n = 8 << 20;
	char *spaces = malloc(n), *out, *text;
	unsigned char *z = malloc(n);
	size_t len, zn;
	struct ac_error err;

	memset(spaces, ' ', n);
	zn = compress_buf(spaces, n, z, n, 15);
	text = b64(z, zn);
	ck_assert_int_eq(decode_sniff_legacy(text, strlen(text), 1 << 20, &out, &len, &err), AC_ETOOBIG);
	ck_assert_msg(strstr(err.msg, "after decompression"), "%s", err.msg);
	free(text);
	ck_assert_int_eq(decode_sniff_legacy("not base64 at all!", 18, 1000, &out, &len, &err), AC_EINVAL);
	ck_assert_msg(strstr(err.msg, "base64"), "%s", err.msg);
	ck_assert_int_eq(decode_sniff_legacy("QUJDREVG", 8, 1000, &out, &len, &err), AC_EINVAL);
	ck_assert_str_eq(err.what, "bad_encoding");
	ck_assert_int_eq(decode_sniff_legacy(" {\"a\":1}", 8, 1000, &out, &len, &err), 0);
	ck_assert_ptr_null(out);
	ck_assert_uint_eq(len, 8);
	free(spaces);
	free(z);
}
END_TEST

static void fmt_is(const char *tmpl, const char *params, const char *want)
{
	json_t *p = params ? json_loads(params, JSON_DECODE_ANY, NULL) : NULL;
	char *got = logentry_format(tmpl, p, 4096);
	ck_assert_msg(got && !strcmp(got, want), "'%s' %s -> '%s', want '%s'", tmpl,
		      params ? params : "-", got ? got : "(null)", want);
	free(got);
	json_decref(p);
}

START_TEST(logentry_templates_are_formatted)
{
	fmt_is("x %s code=%d", "[\"abc\", 42]", "x abc code=42");
	fmt_is("%r and %i and %f and %%", "[\"q\", 7.9, 1.5]", "'q' and 7 and 1.500000 and %");
	fmt_is("%.2f%% of %5d", "[99.456, 3]", "99.46% of 3");
	fmt_is("user %(name)s has %(n)d", "{\"name\":\"ann\",\"n\":2}", "user ann has 2");
	fmt_is("{} then {}", "[1, \"b\"]", "1 then b");
	fmt_is("{1} before {0}", "[\"a\", \"b\"]", "b before a");
	fmt_is("hi {name}, {{literal}}", "{\"name\":\"bo\"}", "hi bo, {literal}");
	fmt_is("missing %s %s", "[\"one\"]", "missing one %s");
	fmt_is("obj %s", "[{\"k\":[1,2]}]", "obj {\"k\":[1,2]}");
	fmt_is("none %s %r", "[null, null]", "none None None");
	fmt_is("plain 100%", "[]", "plain 100%");
	fmt_is("no params %s", NULL, "no params %s");
	ck_assert_ptr_null(logentry_format("%s", json_pack("[s]", "0123456789"), 4));
}
END_TEST

START_TEST(logentry_keeps_params_and_template)
{
	const char *body = "{\"logentry\":{\"message\":\"payment %s failed with code=%d\","
			   "\"params\":[\"p-77\",402]},\"level\":\"warning\"}";
	struct ac_error err;
	json_t *out = json_array();
	ck_assert_int_eq(sentry_parse_store(body, strlen(body), &nodef, &lim, out, &err), 0);
	json_t *ev = json_array_get(out, 0);
	ck_assert_str_eq(sget(ev, "message"), "payment p-77 failed with code=402");
	ck_assert_str_eq(sget(ev, "context.logentry.message"), "payment %s failed with code=%d");
	ck_assert_int_eq(json_integer_value(json_array_get(json_object_get(json_object_get(
		json_object_get(ev, "context"), "logentry"), "params"), 1)), 402);
	ck_assert_str_eq(sget(ev, "kind"), "log");
	json_decref(out);
	/* `formatted` wins when present */
	body = "{\"logentry\":{\"message\":\"a %s\",\"formatted\":\"a done\",\"params\":[\"x\"]}}";
	out = json_array();
	ck_assert_int_eq(sentry_parse_store(body, strlen(body), &nodef, &lim, out, &err), 0);
	ck_assert_str_eq(sget(json_array_get(out, 0), "message"), "a done");
	json_decref(out);
}
END_TEST

static void fp_of_store(const char *body, struct fingerprint *fp)
{
	struct ac_error err;
	json_t *out = json_array();
	ck_assert_int_eq(sentry_parse_store(body, strlen(body), &nodef, &lim, out, &err), 0);
	ck_assert_int_eq(fingerprint_event(json_array_get(out, 0), NULL, fp, &err), 0);
	json_decref(out);
}

START_TEST(logentry_groups_on_its_template)
{
	struct fingerprint a, b, c;
	fp_of_store("{\"logentry\":{\"message\":\"user %s not in group %s\",\"params\":[\"ann\",\"ops\"]}}", &a);
	fp_of_store("{\"logentry\":{\"message\":\"user %s not in group %s\",\"params\":[\"bob\",\"dev\"]}}", &b);
	fp_of_store("{\"logentry\":{\"message\":\"quota %s exceeded\",\"params\":[\"ann\"]}}", &c);
	ck_assert_str_eq(a.hash, b.hash);
	ck_assert_str_ne(a.hash, c.hash);
	fingerprint_release(&a);
	fingerprint_release(&b);
	fingerprint_release(&c);
}
END_TEST

START_TEST(synthetic_exception_without_type_stays_a_message)
{
	const char *body = "{\"message\":\"hello\",\"level\":\"info\",\"exception\":{\"values\":[{"
			   "\"value\":\"hello\",\"mechanism\":{\"type\":\"generic\",\"synthetic\":true},"
			   "\"stacktrace\":{\"frames\":[{\"function\":\"main\"}]}}]}}";
	struct ac_error err;
	json_t *out = json_array();
	ck_assert_int_eq(sentry_parse_store(body, strlen(body), &nodef, &lim, out, &err), 0);
	json_t *ev = json_array_get(out, 0);
	ck_assert_str_eq(sget(ev, "kind"), "log");
	ck_assert_str_eq(sget(ev, "message"), "hello");
	ck_assert_ptr_null(json_object_get(ev, "exception"));
	ck_assert_ptr_nonnull(json_object_get(json_object_get(ev, "context"), "stacktrace"));
	json_decref(out);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("ingest_compat");
	TCase *tc = tcase_create("compat");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, raven_base64_bodies_of_each_compression);
	tcase_add_test(tc, raven_bodies_are_bounded_and_errors_named);
	tcase_add_test(tc, logentry_templates_are_formatted);
	tcase_add_test(tc, logentry_keeps_params_and_template);
	tcase_add_test(tc, logentry_groups_on_its_template);
	tcase_add_test(tc, synthetic_exception_without_type_stays_a_message);
	suite_add_tcase(s, tc);
	return ac_check_run(s);
}

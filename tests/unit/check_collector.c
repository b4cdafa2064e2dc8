/*
 * check_collector.c — unit tests for the collector's parsers: native events (object, array,
 * NDJSON), logs, crash reports, Sentry envelopes and auth, OTLP logs, gzip/deflate bodies.
 * Each test asserts what a client would see: the stored fields, or the error code and the
 * words of the message that name the problem.
 */
#include "core/common.h"
#include "collector/internal.h"

#include <check.h>

#include "tests/unit/check_run.h"
#include "tests/common/fast_equiv.h"
#include <zlib.h>

static const struct ingest_limits lim = { 1 << 20, 20 << 20 };
static const struct event_defaults nodef = { NULL, NULL, NULL, NULL, NULL };

static json_t *parse_events_ok(const char *body)
{
	struct ac_error err;
	json_t *out = json_array();
	int rc = ingest_parse_events(body, strlen(body), &nodef, &lim, out, &err);
	ck_assert_msg(rc == 0, "unexpected error: %s", err.msg);
	return out;
}

static void parse_events_fails(const char *body, int code, const char *what, const char *needle)
{
	struct ac_error err;
	json_t *out = json_array();
	int rc = ingest_parse_events(body, strlen(body), &nodef, &lim, out, &err);
	ck_assert_int_eq(rc, code);
	ck_assert_str_eq(err.what, what);
	ck_assert_msg(strstr(err.msg, needle), "message '%s' lacks '%s'", err.msg, needle);
	json_decref(out);
}

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

START_TEST(event_object_is_normalised)
{
	json_t *out = parse_events_ok(
		"{\"message\":\"disk full\",\"level\":\"WARN\",\"system\":\"shop\",\"release\":\"1.2\","
		"\"timestamp\":\"2026-11-24T10:00:00+01:00\",\"custom\":42,"
		"\"exception\":{\"type\":\"IOError\",\"value\":\"no space\",\"frames\":"
		"[{\"function\":\"write_all\",\"file\":\"io.c\",\"line\":12,\"in_app\":true}]}}");
	json_t *ev = json_array_get(out, 0);
	ck_assert_uint_eq(json_array_size(out), 1);
	ck_assert_str_eq(sget(ev, "level"), "warning");
	ck_assert_str_eq(sget(ev, "kind"), "error");
	ck_assert_str_eq(sget(ev, "system"), "shop");
	ck_assert_str_eq(sget(ev, "timestamp"), "2026-11-24T09:00:00.000Z");
	ck_assert_str_eq(sget(ev, "exception.type"), "IOError");
	ck_assert_uint_eq(strlen(sget(ev, "event_id")), 32);
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(json_object_get(ev, "context"), "extra"), "custom")), 42);
	json_decref(out);
}
END_TEST

START_TEST(event_array_and_ndjson)
{
	json_t *a = parse_events_ok("[{\"message\":\"a\"},{\"message\":\"b\",\"event_id\":\"6F9619FF-8B86-D011-B42D-00C04FC964FF\"}]");
	ck_assert_uint_eq(json_array_size(a), 2);
	ck_assert_str_eq(sget(json_array_get(a, 1), "event_id"), "6f9619ff8b86d011b42d00c04fc964ff");
	json_decref(a);
	json_t *n = parse_events_ok("{\"message\":\"a\"}\n\n{\"message\":\"b\"}\r\n{\"message\":\"c\"}");
	ck_assert_uint_eq(json_array_size(n), 3);
	ck_assert_str_eq(sget(json_array_get(n, 2), "message"), "c");
	json_decref(n);
}
END_TEST

START_TEST(event_errors_name_the_problem)
{
	parse_events_fails("{\"message\": \"x\"", AC_EINVAL, "invalid_json", "malformed JSON");
	parse_events_fails("{\"message\":\"a\"}\n{\"message\":", AC_EINVAL, "invalid_json", "line 2");
	parse_events_fails("[{\"message\":\"a\"},{\"message\":7}]", AC_EINVAL, "invalid_field",
			   "event 1: field 'message' must be a string, got integer");
	parse_events_fails("{\"message\":\"a\",\"exception\":{\"frames\":\"x\"}}", AC_EINVAL,
			   "invalid_field", "'exception.frames' must be an array, got string");
	parse_events_fails("{\"message\":\"a\",\"exception\":{\"frames\":[{\"line\":\"7\"}]}}", AC_EINVAL,
			   "invalid_field", "exception.frames[0].line");
	parse_events_fails("{\"message\":\"a\",\"level\":\"loud\"}", AC_EINVAL, "invalid_field", "'level'");
	parse_events_fails("{\"message\":\"a\",\"timestamp\":\"soon\"}", AC_EINVAL, "invalid_field", "timestamp");
	parse_events_fails("{\"level\":\"error\"}", AC_EINVAL, "invalid_event", "'message' or an 'exception'");
	parse_events_fails("{\"message\":\"caf\xc3\"}", AC_EINVAL, "invalid_utf8", "byte offset 15");
	parse_events_fails("", AC_EINVAL, "empty_body", "empty");
	parse_events_fails("[]", AC_EINVAL, "empty_body", "empty array");
	parse_events_fails("[1]", AC_EINVAL, "invalid_event", "must be a JSON object");
}
END_TEST

START_TEST(event_nesting_deeper_than_64_is_rejected)
{
	char body[400];
	size_t n = 0;
	n += (size_t)snprintf(body + n, sizeof body - n, "{\"message\":\"x\",\"context\":");
	for (int i = 0; i < 70; i++)
		body[n++] = '[';
	for (int i = 0; i < 70; i++)
		body[n++] = ']';
	body[n++] = '}';
	body[n] = '\0';
	parse_events_fails(body, AC_EINVAL, "too_deep", "nesting deeper than 64");
}
END_TEST

START_TEST(event_over_limit_is_413)
{
	struct ingest_limits small = { 100, 1000 };
	struct ac_error err;
	json_t *out = json_array();
	char body[300];
	snprintf(body, sizeof body, "{\"message\":\"%0200d\"}", 0);
	ck_assert_int_eq(ingest_parse_events(body, strlen(body), &nodef, &small, out, &err), AC_ETOOBIG);
	ck_assert_str_eq(err.what, "event_too_large");
	json_decref(out);
}
END_TEST

START_TEST(text_logs_take_defaults_and_detect_levels)
{
	struct event_defaults d = { "web", "api", NULL, NULL, NULL };
	struct ac_error err;
	json_t *out = json_array();
	const char *body = "2026-11-24 10:00:01 ERROR db connection refused\n[warn] slow query\nstarted ok\n";
	ck_assert_int_eq(ingest_parse_logs(body, strlen(body), true, &d, &lim, out, &err), 0);
	ck_assert_uint_eq(json_array_size(out), 3);
	ck_assert_str_eq(sget(json_array_get(out, 0), "level"), "error");
	ck_assert_str_eq(sget(json_array_get(out, 1), "level"), "warning");
	ck_assert_str_eq(sget(json_array_get(out, 2), "level"), "info");
	ck_assert_str_eq(sget(json_array_get(out, 0), "kind"), "log");
	ck_assert_str_eq(sget(json_array_get(out, 0), "system"), "web");
	ck_assert_str_eq(sget(json_array_get(out, 0), "component"), "api");
	json_decref(out);
}
END_TEST

START_TEST(ndjson_logs_keep_their_fields)
{
	struct ac_error err;
	json_t *out = json_array();
	const char *body = "{\"ts\":\"2026-11-24T10:00:00Z\",\"level\":\"error\",\"msg\":\"queue full\",\"component\":\"sink\",\"trace_id\":\"abc\"}\n";
	ck_assert_int_eq(ingest_parse_logs(body, strlen(body), false, &nodef, &lim, out, &err), 0);
	json_t *ev = json_array_get(out, 0);
	ck_assert_str_eq(sget(ev, "message"), "queue full");
	ck_assert_str_eq(sget(ev, "timestamp"), "2026-11-24T10:00:00.000Z");
	ck_assert_str_eq(sget(ev, "context.extra.trace_id"), "abc");
	ck_assert_str_eq(sget(ev, "kind"), "log");
	json_decref(out);
}
END_TEST

START_TEST(crash_report_becomes_a_crash_event)
{
	struct ac_error err;
	json_t *out = json_array();
	const char *body = "{\"signal\":11,\"fault_address\":\"0x0\",\"thread\":\"enricher\",\"system\":\"pipe\","
			   "\"build_id\":\"ab12\",\"frames\":[{\"function\":\"enricher_process\",\"in_app\":true},"
			   "{\"function\":\"component_thread\"},{\"function\":\"start_thread\"}]}";
	ck_assert_int_eq(ingest_parse_crash(body, strlen(body), &nodef, &lim, out, &err), 0);
	json_t *ev = json_array_get(out, 0);
	ck_assert_str_eq(sget(ev, "kind"), "crash");
	ck_assert_str_eq(sget(ev, "level"), "fatal");
	ck_assert_str_eq(sget(ev, "exception.type"), "SIGSEGV");
	ck_assert_str_eq(sget(ev, "component"), "enricher");
	ck_assert_msg(strstr(sget(ev, "exception.value"), "SIGSEGV (Segmentation fault) at 0x0 in thread enricher"), "%s", sget(ev, "exception.value"));
	json_t *frames = json_object_get(json_object_get(ev, "exception"), "frames");
	ck_assert_uint_eq(json_array_size(frames), 3);
	/* stored outermost first: the crashing function is last */
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(frames, 2), "function")), "enricher_process");
	ck_assert_str_eq(sget(ev, "context.crash.build_id"), "ab12");
	json_decref(out);

	out = json_array();
	ck_assert_int_eq(ingest_parse_crash("{\"frames\":[]}", 13, &nodef, &lim, out, &err), AC_EINVAL);
	ck_assert_msg(strstr(err.msg, "'signal' is required"), "%s", err.msg);
	json_decref(out);
}
END_TEST

static int envelope(const char *body, json_t **out, json_t **counts, char key[65], char id[65],
		    struct ac_error *err)
{
	*out = json_array();
	*counts = json_object();
	return sentry_parse_envelope(body, strlen(body), &nodef, &lim, *out, *counts, NULL, key, id, err);
}

START_TEST(envelope_items_with_and_without_length)
{
	const char *event = "{\"message\":\"hello\",\"level\":\"error\",\"release\":\"r1\",\"exception\":{\"values\":[{\"type\":\"TypeError\",\"value\":\"x is undefined\",\"stacktrace\":{\"frames\":[{\"function\":\"main\"}]}}]}}";
	char body[2048];
	snprintf(body, sizeof body,
		"{\"event_id\":\"9ec79c33ec9942ab8353589fcb2e04dc\",\"dsn\":\"https://e12d836b15bb49d7bbf99e64295d995b@sentry.io/42\"}\n"
		"{\"type\":\"attachment\",\"length\":10,\"filename\":\"a.txt\"}\n"
		"\xef\xbb\xbfHello\r\n\n"
		"{\"type\":\"event\",\"length\":%zu}\n%s\n"
		"{\"type\":\"session\"}\n{\"sid\":\"1\"}\n"
		"{\"type\":\"client_report\"}\n{}", strlen(event), event);
	json_t *out, *counts;
	char key[65], id[65];
	struct ac_error err;
	int rc = envelope(body, &out, &counts, key, id, &err);
	ck_assert_msg(rc == 0, "%s", err.msg);
	ck_assert_str_eq(key, "e12d836b15bb49d7bbf99e64295d995b");
	ck_assert_str_eq(id, "9ec79c33ec9942ab8353589fcb2e04dc");
	ck_assert_uint_eq(json_array_size(out), 1);
	json_t *ev = json_array_get(out, 0);
	ck_assert_str_eq(sget(ev, "event_id"), "9ec79c33ec9942ab8353589fcb2e04dc");
	ck_assert_str_eq(sget(ev, "exception.type"), "TypeError");
	ck_assert_str_eq(sget(ev, "release"), "r1");
	ck_assert_str_eq(sget(ev, "source"), "sentry");
	ck_assert_int_eq(json_integer_value(json_object_get(counts, "attachment")), 1);
	ck_assert_int_eq(json_integer_value(json_object_get(counts, "session")), 1);
	ck_assert_int_eq(json_integer_value(json_object_get(counts, "client_report")), 1);
	json_decref(out);
	json_decref(counts);
}
END_TEST

START_TEST(envelope_errors)
{
	json_t *out, *counts;
	char key[65], id[65];
	struct ac_error err;

	ck_assert_int_eq(envelope("", &out, &counts, key, id, &err), AC_EINVAL);
	json_decref(out); json_decref(counts);
	ck_assert_int_eq(envelope("{}\n{\"type\":\"event\",\"length\":500}\n{}", &out, &counts, key, id, &err), AC_EINVAL);
	ck_assert_msg(strstr(err.msg, "runs past the end"), "%s", err.msg);
	json_decref(out); json_decref(counts);
	ck_assert_int_eq(envelope("{}\n{\"length\":2}\n{}", &out, &counts, key, id, &err), AC_EINVAL);
	ck_assert_msg(strstr(err.msg, "string 'type'"), "%s", err.msg);
	json_decref(out); json_decref(counts);
	ck_assert_int_eq(envelope("{}\n{\"type\":\"event\"}\n{\"message\":", &out, &counts, key, id, &err), AC_EINVAL);
	ck_assert_str_eq(err.what, "invalid_json");
	json_decref(out); json_decref(counts);
	ck_assert_int_eq(envelope("{\"dsn\":\"not a dsn\"}\n", &out, &counts, key, id, &err), AC_EINVAL);
	json_decref(out); json_decref(counts);
}
END_TEST

START_TEST(sentry_auth_header_and_dsn)
{
	struct sentry_auth a;
	char key[65];
	sentry_parse_auth_header("Sentry sentry_version=7, sentry_client=sentry.javascript.node/8.0.0, sentry_key=abc123", &a);
	ck_assert_str_eq(a.key, "abc123");
	sentry_parse_auth_header("Sentry sentry_key=k1,sentry_secret=s", &a);
	ck_assert_str_eq(a.key, "k1");
	sentry_parse_auth_header("garbage", &a);
	ck_assert_str_eq(a.key, "");
	ck_assert_int_eq(sentry_dsn_key("http://pub:secret@127.0.0.1:9000/3", key, sizeof key), 0);
	ck_assert_str_eq(key, "pub");
	ck_assert_int_eq(sentry_dsn_key("http://127.0.0.1/3", key, sizeof key), AC_EINVAL);
}
END_TEST

START_TEST(otlp_logs_map_resource_and_severity)
{
	const char *body =
		"{\"resourceLogs\":[{\"resource\":{\"attributes\":["
		"{\"key\":\"service.name\",\"value\":{\"stringValue\":\"checkout\"}},"
		"{\"key\":\"service.version\",\"value\":{\"stringValue\":\"2.0.1\"}},"
		"{\"key\":\"deployment.environment\",\"value\":{\"stringValue\":\"prod\"}}]},"
		"\"scopeLogs\":[{\"scope\":{\"name\":\"payments\"},\"logRecords\":["
		"{\"timeUnixNano\":\"1795561501500000000\",\"severityNumber\":17,\"severityText\":\"ERROR\","
		"\"body\":{\"stringValue\":\"card declined\"},\"traceId\":\"0af7651916cd43dd8448eb211c80319c\","
		"\"attributes\":[{\"key\":\"exception.type\",\"value\":{\"stringValue\":\"CardError\"}},"
		"{\"key\":\"retries\",\"value\":{\"intValue\":\"3\"}}]},"
		"{\"severityNumber\":9,\"body\":{\"stringValue\":\"ok\"}}]}]}]}";
	struct ac_error err;
	json_t *out = json_array();
	struct otlp_result res;
	ck_assert_int_eq(otlp_parse_logs(body, strlen(body), &nodef, &lim, out, &res, &err), 0);
	ck_assert_uint_eq(json_array_size(out), 2);
	json_t *ev = json_array_get(out, 0);
	ck_assert_str_eq(sget(ev, "system"), "checkout");
	ck_assert_str_eq(sget(ev, "release"), "2.0.1");
	ck_assert_str_eq(sget(ev, "environment"), "prod");
	ck_assert_str_eq(sget(ev, "component"), "payments");
	ck_assert_str_eq(sget(ev, "level"), "error");
	ck_assert_str_eq(sget(ev, "message"), "card declined");
	ck_assert_str_eq(sget(ev, "exception.type"), "CardError");
	ck_assert_str_eq(sget(ev, "timestamp"), "2026-11-24T23:05:01.500Z");
	/* attribute types are kept (issue 10): intValue "3" is the integer 3 */
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(json_object_get(ev,
		"context"), "attributes"), "retries")), 3);
	ck_assert_str_eq(sget(json_array_get(out, 1), "level"), "info");
	json_decref(out);

	out = json_array();
	ck_assert_int_eq(otlp_parse_logs("{\"logs\":[]}", 11, &nodef, &lim, out, &res, &err), AC_EINVAL);
	ck_assert_str_eq(err.what, "invalid_otlp");
	json_decref(out);
}
END_TEST

static size_t gzip_buf(const char *in, size_t n, unsigned char *out, size_t cap, int wbits)
{
	z_stream zs;
	memset(&zs, 0, sizeof zs);
	deflateInit2(&zs, 9, Z_DEFLATED, wbits, 8, Z_DEFAULT_STRATEGY);
	zs.next_in = (unsigned char *)in;
	zs.avail_in = (uInt)n;
	zs.next_out = out;
	zs.avail_out = (uInt)cap;
	deflate(&zs, Z_FINISH);
	size_t len = zs.total_out;
	deflateEnd(&zs);
	return len;
}

START_TEST(gzip_and_deflate_bodies)
{
	const char *text = "{\"message\":\"compressed\"}";
	unsigned char z[256];
	char *out;
	size_t len, zn;
	struct ac_error err;

	zn = gzip_buf(text, strlen(text), z, sizeof z, 16 + 15);
	ck_assert_int_eq(decode_body("gzip", (char *)z, zn, 1000, &out, &len, &err), 0);
	ck_assert_str_eq(out, text);
	free(out);
	zn = gzip_buf(text, strlen(text), z, sizeof z, 15);
	ck_assert_int_eq(decode_body("deflate", (char *)z, zn, 1000, &out, &len, &err), 0);
	ck_assert_str_eq(out, text);
	free(out);
	zn = gzip_buf(text, strlen(text), z, sizeof z, -15);
	ck_assert_int_eq(decode_body("deflate", (char *)z, zn, 1000, &out, &len, &err), 0);
	ck_assert_str_eq(out, text);
	free(out);
	ck_assert_int_eq(decode_body("gzip", "not gzip at all", 15, 1000, &out, &len, &err), AC_EINVAL);
	ck_assert_str_eq(err.what, "bad_encoding");
	zn = gzip_buf(text, strlen(text), z, sizeof z, 16 + 15);
	ck_assert_int_eq(decode_body("gzip", (char *)z, zn - 6, 1000, &out, &len, &err), AC_EINVAL);
	ck_assert_int_eq(decode_body("br", "x", 1, 1000, &out, &len, &err), AC_EUNSUPP);
	ck_assert_int_eq(decode_body(NULL, "x", 1, 1000, &out, &len, &err), 0);
	ck_assert_ptr_null(out);
}
END_TEST

START_TEST(gzip_bomb_is_too_large_not_oom)
{
	size_t n = 8 << 20;
	char *zeros = calloc(1, n);
	unsigned char *z = malloc(n);
	char *out;
	size_t len, zn;
	struct ac_error err;

	memset(zeros, ' ', n);
	zn = gzip_buf(zeros, n, z, n, 16 + 15);
	ck_assert_uint_lt(zn, 64 * 1024);
	ck_assert_int_eq(decode_body("gzip", (char *)z, zn, 1 << 20, &out, &len, &err), AC_ETOOBIG);
	ck_assert_msg(strstr(err.msg, "after decompression"), "%s", err.msg);
	free(zeros);
	free(z);
}
END_TEST


/* ---- the fast path (event_fast.c): taken for ordinary events, identical to the general path */

static const char *const ordinary_events[] = {
	"{\"event_id\":\"b-1-1\",\"level\":\"error\",\"kind\":\"error\",\"system\":\"checkout\","
	"\"component\":\"payments\",\"release\":\"checkout@3.14.2\",\"environment\":\"production\","
	"\"message\":\"card authorization failed\",\"exception\":{\"type\":\"GatewayError\","
	"\"value\":\"upstream 502\",\"frames\":[{\"function\":\"main\",\"file\":\"src/main.c\","
	"\"line\":88,\"in_app\":true},{\"function\":\"pay\",\"line\":12,\"vars\":{\"a\":1}}]},"
	"\"tags\":{\"region\":\"eu\",\"n\":3,\"ok\":true},\"context\":{\"amount\":129.99}}",
	"{\"message\":\"disk full on /var\",\"level\":\"warn\",\"ts\":1700000000123}",
	"  {\n  \"msg\": \"caf\\u00e9 \\ud83d\\ude00 \\\"quoted\\\"\",\n  \"time\": \"2026-11-24T10:00:00+02:00\"\n}\n",
	"{\"message\":\"x\",\"host\":\"web-7\",\"attempt\":2,\"context\":{\"a\":[1,{\"b\":null}]}}",
	"{\"exception\":{\"type\":\"KeyError\",\"frames\":[]},\"fingerprint\":\"fp-1\"}",
	"{\"message\":\"m\",\"event_id\":\"123E4567-E89B-12D3-A456-426614174000\",\"fingerprint\":[\"a\",2]}",
};

static const char *const unusual_events[] = {
	"{\"message\":\"m\",\"tags\":{\"ratio\":1.5}}",            /* real tag: jansson prints it */
	"{\"message\":\"m\",\"k\\u0065y\":1}",                     /* escaped key */
	"{\"message\":\"m\",\"u\":1,\"context\":{\"extra\":2}}",  /* context.extra replaced */
	"{\"message\":\"m\",\"n\":12345678901234567890}",          /* integer overflow */
	"{\"message\":\"m\",\"x\":\"\\ud800\"}",                   /* lone surrogate */
	"{\"message\":5}", "{\"message\":\"m\",\"level\":\"loud\"}", "{\"message\":\"m\",}",
	"{\"message\":\"m\",\"message\":\"n\"}", "{\"level\":\"info\"}", "[{\"message\":\"m\"}]",
};

START_TEST(fast_path_takes_ordinary_events)
{
	struct fast_clock clock;
	event_fast_clock(&clock);
	for (size_t i = 0; i < AC_ARRAY_SIZE(ordinary_events); i++) {
		struct job_row row;
		size_t used;
		const char *t = ordinary_events[i];
		int r = event_fast_row(t, strlen(t), 0, "native", &nodef, &clock, 1 << 20, &row, &used);
		ck_assert_msg(r == 1, "fast path declined ordinary event %zu: %s", i, t);
		free(row.raw);
		free(row.cols);
	}
	for (size_t i = 0; i < AC_ARRAY_SIZE(unusual_events); i++) {
		struct job_row row;
		size_t used;
		const char *t = unusual_events[i];
		ck_assert_msg(event_fast_row(t, strlen(t), 0, "native", &nodef, &clock, 1 << 20, &row,
					     &used) == 0, "fast path took unusual event %zu: %s", i, t);
	}
}
END_TEST

START_TEST(fast_path_matches_general_path)
{
	static const struct ingest_limits small = { 600, 1 << 20 };
	const struct event_defaults some = { "sys\"tem", "comp", "r1", NULL, "warning" };
	const struct event_defaults *defs[] = { &nodef, &some };
	const struct ingest_limits *lims[] = { &lim, &small };
	char body[8192], array[8192];

	for (size_t i = 0; i < AC_ARRAY_SIZE(ordinary_events) + AC_ARRAY_SIZE(unusual_events); i++) {
		const char *t = i < AC_ARRAY_SIZE(ordinary_events) ? ordinary_events[i]
			: unusual_events[i - AC_ARRAY_SIZE(ordinary_events)];
		/* alone, as NDJSON with ordinary events and a blank line around it, in an array */
		const char *bodies[3] = { t, body, array };
		snprintf(body, sizeof body, "{\"message\":\"first\"}\n%s\r\n\n{\"message\":\"last\"}", t);
		snprintf(array, sizeof array, " [ {\"message\":\"first\"} ,%s]\n", t);
		for (size_t b = 0; b < 3; b++)
			for (size_t d = 0; d < 2; d++)
				for (size_t l = 0; l < 2; l++)
					for (int logs = 0; logs < 2; logs++) {
						const char *why = fast_equiv_check(bodies[b], strlen(bodies[b]), logs,
										   defs[d], lims[l]);
						ck_assert_msg(!why, "body %zu/%zu (defaults %zu, limit %zu, logs %d): %s",
							      i, b, d, l, logs, why);
					}
	}
}
END_TEST

/* 64 levels are allowed in a document, so an event nested that deep is fine alone and too
 * deep inside an array: the fast path must count the array's level too. */
START_TEST(fast_path_counts_nesting_like_the_general_path)
{
	char one[1024], arr[2048];
	size_t n = 0;

	n += (size_t)snprintf(one + n, sizeof one - n, "{\"message\":\"m\",\"deep\":");
	for (int i = 0; i < 63; i++)
		one[n++] = '[';
	one[n++] = '1';
	for (int i = 0; i < 63; i++)
		one[n++] = ']';
	snprintf(one + n, sizeof one - n, "}");
	snprintf(arr, sizeof arr, "[%s]", one);
	for (int logs = 0; logs < 2; logs++) {
		const char *why = fast_equiv_check(one, strlen(one), logs, &nodef, &lim);
		ck_assert_msg(!why, "%s", why);
	}
	ck_assert_msg(!fast_equiv_check(arr, strlen(arr), false, &nodef, &lim), "%s", fast_equiv_msg);
	parse_events_fails(arr, AC_EINVAL, "too_deep", "deeper than 64");
}
END_TEST

START_TEST(fast_path_stores_normalised_values)
{
	const char *body =
		"{\"event_id\":\"123E4567-E89B-12D3-A456-426614174000\",\"msg\":\"a\\tb \\u00e9\","
		"\"timestamp\":1700000000.5,\"host\":\"web-7\",\"fingerprint\":\"fp\","
		"\"exception\":{\"type\":\"E\",\"extra\":1,\"frames\":[{\"function\":\"f\",\"x\":1}]}}\n"
		"{\"message\":\"second\",\"level\":\"INFO\"}\n";
	struct write_job job;
	struct ac_error err;
	json_t *ev;

	memset(&job, 0, sizeof job);
	ck_assert_int_eq(ingest_rows(body, strlen(body), false, &nodef, &lim, &job, &err), 0);
	ck_assert_uint_eq(job.n_events, 2);
	ck_assert_str_eq(job.rows[0].col[COL_EVENT_ID], "123e4567e89b12d3a456426614174000");
	ck_assert_str_eq(job.rows[0].col[COL_MESSAGE], "a\tb \xc3\xa9");
	ck_assert_str_eq(job.rows[0].col[COL_KIND], "error");
	ck_assert_str_eq(job.rows[0].col[COL_FINGERPRINT], "[\"fp\"]");
	ck_assert_str_eq(job.rows[0].col[COL_EXC_TYPE], "E");
	ck_assert(job.rows[0].timestamp == 1700000000.5);
	ev = json_loads(job.rows[0].raw, 0, NULL);
	ck_assert_ptr_nonnull(ev);
	ck_assert_str_eq(sget(ev, "timestamp"), "2023-11-14T22:13:20.500Z");
	ck_assert_str_eq(sget(ev, "context.extra.host"), "web-7");
	ck_assert_ptr_null(json_object_get(json_object_get(ev, "exception"), "extra"));
	ck_assert_ptr_null(json_object_get(json_array_get(json_object_get(json_object_get(ev,
		"exception"), "frames"), 0), "x"));
	json_decref(ev);
	ck_assert_str_eq(job.rows[1].col[COL_LEVEL], "info");
	ck_assert_str_eq(job.rows[1].col[COL_KIND], "log");
	writer_job_release(&job);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("collector");
	TCase *tc = tcase_create("parsers");

	tcase_add_test(tc, event_object_is_normalised);
	tcase_add_test(tc, event_array_and_ndjson);
	tcase_add_test(tc, event_errors_name_the_problem);
	tcase_add_test(tc, event_nesting_deeper_than_64_is_rejected);
	tcase_add_test(tc, event_over_limit_is_413);
	tcase_add_test(tc, text_logs_take_defaults_and_detect_levels);
	tcase_add_test(tc, ndjson_logs_keep_their_fields);
	tcase_add_test(tc, crash_report_becomes_a_crash_event);
	tcase_add_test(tc, envelope_items_with_and_without_length);
	tcase_add_test(tc, envelope_errors);
	tcase_add_test(tc, sentry_auth_header_and_dsn);
	tcase_add_test(tc, otlp_logs_map_resource_and_severity);
	tcase_add_test(tc, gzip_and_deflate_bodies);
	tcase_add_test(tc, gzip_bomb_is_too_large_not_oom);
	tcase_add_test(tc, fast_path_takes_ordinary_events);
	tcase_add_test(tc, fast_path_matches_general_path);
	tcase_add_test(tc, fast_path_counts_nesting_like_the_general_path);
	tcase_add_test(tc, fast_path_stores_normalised_values);
	suite_add_tcase(s, tc);
	return ac_check_run(s);
}

/*
 * check_ingest_compat.c — unit tests for the forms real clients send that the first parsers
 * refused or flattened (issue 10): legacy Sentry (raven) /store/ bodies (base64 of zlib, raw
 * deflate or gzip data without Content-Encoding, bounded), logentry templates formatted with
 * their params, captureMessage's synthetic exception.
 */
#include "core/common.h"
#include "collector/internal.h"
#include "analyzer/fingerprint.h"
#include "proto/otlp_logs.pb-c.h"

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
	json_t *long_param = json_pack("[s]", "0123456789");
	ck_assert_ptr_null(logentry_format("%s", long_param, 4));   /* longer than max */
	json_decref(long_param);
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


/* ---- OTLP protobuf ---- */

static Acotlp__AnyValue *av_str(const char *s)
{
	Acotlp__AnyValue *v = calloc(1, sizeof *v);
	acotlp__any_value__init(v);
	v->value_case = ACOTLP__ANY_VALUE__VALUE_STRING_VALUE;
	v->string_value = (char *)s;
	return v;
}

static Acotlp__KeyValue *kv(const char *k, Acotlp__AnyValue *v)
{
	Acotlp__KeyValue *p = calloc(1, sizeof *p);
	acotlp__key_value__init(p);
	p->key = (char *)k;
	p->value = v;
	return p;
}

static void free_kv(Acotlp__KeyValue *p)
{
	Acotlp__AnyValue *v = p->value;
	if (v->value_case == ACOTLP__ANY_VALUE__VALUE_ARRAY_VALUE) {
		for (size_t i = 0; i < v->array_value->n_values; i++)
			free(v->array_value->values[i]);
		free(v->array_value->values);
		free(v->array_value);
	} else if (v->value_case == ACOTLP__ANY_VALUE__VALUE_KVLIST_VALUE) {
		for (size_t i = 0; i < v->kvlist_value->n_values; i++)
			free_kv(v->kvlist_value->values[i]);
		free(v->kvlist_value->values);
		free(v->kvlist_value);
	}
	free(v);
	free(p);
}

/* One resource (service checkout 2.0.1 prod) + scope "payments" + the given records. */
static uint8_t *pack_request(Acotlp__LogRecord **recs, size_t n, size_t *len)
{
	Acotlp__KeyValue *rattrs[3] = { kv("service.name", av_str("checkout")),
					kv("service.version", av_str("2.0.1")),
					kv("deployment.environment.name", av_str("prod")) };
	Acotlp__Resource res = ACOTLP__RESOURCE__INIT;
	Acotlp__InstrumentationScope scope = ACOTLP__INSTRUMENTATION_SCOPE__INIT;
	Acotlp__ScopeLogs sl = ACOTLP__SCOPE_LOGS__INIT, *slp = &sl;
	Acotlp__ResourceLogs rl = ACOTLP__RESOURCE_LOGS__INIT, *rlp = &rl;
	Acotlp__ExportLogsServiceRequest req = ACOTLP__EXPORT_LOGS_SERVICE_REQUEST__INIT;
	uint8_t *buf;

	res.attributes = rattrs;
	res.n_attributes = 3;
	scope.name = "payments";
	sl.scope = &scope;
	sl.log_records = recs;
	sl.n_log_records = n;
	rl.resource = &res;
	rl.scope_logs = &slp;
	rl.n_scope_logs = 1;
	req.resource_logs = &rlp;
	req.n_resource_logs = 1;
	*len = acotlp__export_logs_service_request__get_packed_size(&req);
	buf = malloc(*len);
	acotlp__export_logs_service_request__pack(&req, buf);
	for (int i = 0; i < 3; i++)
		free_kv(rattrs[i]);
	return buf;
}

START_TEST(otlp_protobuf_records_keep_types)
{
	static const uint8_t trace[16] = { 0x0a, 0xf7, 0x65, 0x19, 0x16, 0xcd, 0x43, 0xdd,
					   0x84, 0x48, 0xeb, 0x21, 0x1c, 0x80, 0x31, 0x9c };
	Acotlp__LogRecord r1 = ACOTLP__LOG_RECORD__INIT, r2 = ACOTLP__LOG_RECORD__INIT;
	Acotlp__LogRecord *recs[2] = { &r1, &r2 };
	Acotlp__AnyValue vi = ACOTLP__ANY_VALUE__INIT, vd = ACOTLP__ANY_VALUE__INIT,
			 vb = ACOTLP__ANY_VALUE__INIT;
	vi.value_case = ACOTLP__ANY_VALUE__VALUE_INT_VALUE;
	vi.int_value = 9007199254740993LL;
	vd.value_case = ACOTLP__ANY_VALUE__VALUE_DOUBLE_VALUE;
	vd.double_value = 0.25;
	vb.value_case = ACOTLP__ANY_VALUE__VALUE_BOOL_VALUE;
	vb.bool_value = 1;
	Acotlp__AnyValue *arr_items[2] = { &vi, av_str("x") };
	Acotlp__ArrayValue arr = ACOTLP__ARRAY_VALUE__INIT;
	arr.values = arr_items;
	arr.n_values = 2;
	Acotlp__AnyValue varr = ACOTLP__ANY_VALUE__INIT;
	varr.value_case = ACOTLP__ANY_VALUE__VALUE_ARRAY_VALUE;
	varr.array_value = &arr;
	Acotlp__KeyValue *inner[1] = { kv("ok", &vb) };
	Acotlp__KeyValueList kvl = ACOTLP__KEY_VALUE_LIST__INIT;
	kvl.values = inner;
	kvl.n_values = 1;
	Acotlp__AnyValue vkv = ACOTLP__ANY_VALUE__INIT;
	vkv.value_case = ACOTLP__ANY_VALUE__VALUE_KVLIST_VALUE;
	vkv.kvlist_value = &kvl;
	Acotlp__KeyValue *attrs[7] = {
		kv("exception.type", av_str("ValueError")),
		kv("exception.message", av_str("bad amount")),
		kv("exception.stacktrace", av_str("Traceback (most recent call last):\n"
						  "  File \"/app/pay.py\", line 5, in charge\n"
						  "ValueError: bad amount\n")),
		kv("n", &vi), kv("ratio", &vd), kv("list", &varr), kv("obj", &vkv) };
	r1.time_unix_nano = 1795561501500000000ULL;
	r1.severity_number = 17;
	r1.body = av_str("card declined");
	r1.attributes = attrs;
	r1.n_attributes = 7;
	r1.trace_id.data = (uint8_t *)trace;
	r1.trace_id.len = 16;
	r2.severity_text = "WARN";
	r2.body = av_str("slow");

	size_t len;
	uint8_t *body = pack_request(recs, 2, &len);
	struct ac_error err;
	struct otlp_result res;
	json_t *out = json_array();
	ck_assert_msg(otlp_parse_logs_pb((char *)body, len, &nodef, &lim, out, &res, &err) == 0, "%s", err.msg);
	ck_assert_uint_eq(json_array_size(out), 2);
	ck_assert_uint_eq(res.rejected, 0);
	ck_assert_str_eq(sget(json_array_get(out, 1), "level"), "warning");
	ck_assert_str_eq(sget(json_array_get(out, 1), "kind"), "log");
	json_t *ev = json_array_get(out, 0), *a = json_object_get(json_object_get(ev, "context"), "attributes");
	ck_assert_str_eq(sget(ev, "system"), "checkout");
	ck_assert_str_eq(sget(ev, "release"), "2.0.1");
	ck_assert_str_eq(sget(ev, "environment"), "prod");
	ck_assert_str_eq(sget(ev, "component"), "payments");
	ck_assert_str_eq(sget(ev, "level"), "error");
	ck_assert_str_eq(sget(ev, "kind"), "error");
	ck_assert_str_eq(sget(ev, "message"), "card declined");
	ck_assert_str_eq(sget(ev, "timestamp"), "2026-11-24T23:05:01.500Z");
	ck_assert_str_eq(sget(ev, "exception.type"), "ValueError");
	ck_assert_str_eq(sget(ev, "exception.value"), "bad amount");
	ck_assert_str_eq(sget(json_array_get(json_object_get(json_object_get(ev, "exception"), "frames"), 0),
			      "function"), "charge");
	ck_assert_str_eq(sget(ev, "context.trace_id"), "0af7651916cd43dd8448eb211c80319c");
	ck_assert(json_integer_value(json_object_get(a, "n")) == 9007199254740993LL);
	ck_assert(json_is_real(json_object_get(a, "ratio")) && json_real_value(json_object_get(a, "ratio")) == 0.25);
	ck_assert(json_is_true(json_object_get(json_object_get(a, "obj"), "ok")));
	ck_assert_uint_eq(json_array_size(json_object_get(a, "list")), 2);
	ck_assert_ptr_null(json_object_get(a, "exception.stacktrace"));

	/* the partial-success response, in protobuf, decodes with the counts */
	size_t rlen;
	res.rejected = 1;
	snprintf(res.first_error, sizeof res.first_error, "logRecords[1]: bad");
	char *rb = otlp_response_pb(&res, &rlen);
	Acotlp__ExportLogsServiceResponse *resp =
		acotlp__export_logs_service_response__unpack(NULL, rlen, (uint8_t *)rb);
	ck_assert_ptr_nonnull(resp);
	ck_assert_ptr_nonnull(resp->partial_success);
	ck_assert_int_eq(resp->partial_success->rejected_log_records, 1);
	acotlp__export_logs_service_response__free_unpacked(resp, NULL);
	free(rb);
	json_t *rj = otlp_response_json(&res);
	ck_assert_str_eq(sget(rj, "partialSuccess.rejectedLogRecords"), "1");
	json_decref(rj);

	free(body);
	json_decref(out);
	for (int i = 0; i < 3; i++)
		free_kv(attrs[i]);
	for (int i = 3; i < 7; i++)
		free(attrs[i]);
	free(inner[0]);
	free(arr_items[1]);
	free(r1.body);
	free(r2.body);
}
END_TEST

START_TEST(otlp_protobuf_and_json_store_the_same_event)
{
	const char *json =
		"{\"resourceLogs\":[{\"resource\":{\"attributes\":["
		"{\"key\":\"service.name\",\"value\":{\"stringValue\":\"checkout\"}},"
		"{\"key\":\"service.version\",\"value\":{\"stringValue\":\"2.0.1\"}},"
		"{\"key\":\"deployment.environment.name\",\"value\":{\"stringValue\":\"prod\"}}]},"
		"\"scopeLogs\":[{\"scope\":{\"name\":\"payments\"},\"logRecords\":["
		"{\"timeUnixNano\":\"1795561501500000000\",\"severityNumber\":13,"
		"\"body\":{\"stringValue\":\"retrying\"},\"attributes\":["
		"{\"key\":\"attempt\",\"value\":{\"intValue\":\"2\"}},"
		"{\"key\":\"ok\",\"value\":{\"boolValue\":false}}]}]}]}]}";
	Acotlp__LogRecord r = ACOTLP__LOG_RECORD__INIT, *recs[1] = { &r };
	Acotlp__AnyValue vi = ACOTLP__ANY_VALUE__INIT, vb = ACOTLP__ANY_VALUE__INIT;
	vi.value_case = ACOTLP__ANY_VALUE__VALUE_INT_VALUE;
	vi.int_value = 2;
	vb.value_case = ACOTLP__ANY_VALUE__VALUE_BOOL_VALUE;
	vb.bool_value = 0;
	Acotlp__KeyValue *attrs[2] = { kv("attempt", &vi), kv("ok", &vb) };
	r.time_unix_nano = 1795561501500000000ULL;
	r.severity_number = 13;
	r.body = av_str("retrying");
	r.attributes = attrs;
	r.n_attributes = 2;
	size_t len;
	uint8_t *body = pack_request(recs, 1, &len);
	struct ac_error err;
	struct otlp_result res;
	json_t *a = json_array(), *b = json_array();
	ck_assert_int_eq(otlp_parse_logs(json, strlen(json), &nodef, &lim, a, &res, &err), 0);
	ck_assert_int_eq(otlp_parse_logs_pb((char *)body, len, &nodef, &lim, b, &res, &err), 0);
	json_t *ea = json_array_get(a, 0), *eb = json_array_get(b, 0);
	/* the server assigns these two: an id, and the clock at parse time */
	json_object_del(ea, "event_id");
	json_object_del(eb, "event_id");
	json_object_del(ea, "received_at");
	json_object_del(eb, "received_at");
	char *sa = json_dumps(ea, JSON_SORT_KEYS), *sb = json_dumps(eb, JSON_SORT_KEYS);
	ck_assert_str_eq(sa, sb);
	free(sa);
	free(sb);
	json_decref(a);
	json_decref(b);
	free(body);
	free(attrs[0]);
	free(attrs[1]);
	free(r.body);
}
END_TEST

START_TEST(otlp_json_record_rejected_alone)
{
	const char *json =
		"{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":["
		"{\"timeUnixNano\":\"999999999999999999999\",\"body\":{\"stringValue\":\"far future\"}},"
		"{\"body\":{\"stringValue\":\"fine\"}}, 7]}]}]}";
	struct ac_error err;
	struct otlp_result res;
	json_t *out = json_array();
	ck_assert_int_eq(otlp_parse_logs(json, strlen(json), &nodef, &lim, out, &res, &err), 0);
	ck_assert_uint_eq(json_array_size(out), 1);
	ck_assert_str_eq(sget(json_array_get(out, 0), "message"), "fine");
	ck_assert_uint_eq(res.rejected, 2);
	ck_assert_msg(strstr(res.first_error, "logRecords[0]") && strstr(res.first_error, "9999"),
		      "%s", res.first_error);
	json_decref(out);
}
END_TEST

START_TEST(otlp_protobuf_malformed_and_deep_bodies)
{
	struct ac_error err;
	struct otlp_result res;
	json_t *out = json_array();
	/* field 1, length 0xff: runs past the end */
	ck_assert_int_eq(otlp_parse_logs_pb("\x0a\xff\x01", 3, &nodef, &lim, out, &res, &err), AC_EINVAL);
	ck_assert_str_eq(err.what, "invalid_otlp");
	/* a group wire type */
	ck_assert_int_eq(otlp_parse_logs_pb("\x0b", 1, &nodef, &lim, out, &res, &err), AC_EINVAL);
	/* an empty request is fine: nothing to store */
	ck_assert_int_eq(otlp_parse_logs_pb("", 0, &nodef, &lim, out, &res, &err), 0);
	/* unknown fields are skipped */
	ck_assert_int_eq(otlp_parse_logs_pb("\x78\x05\x82\x01\x02hi", 7, &nodef, &lim, out, &res, &err), 0);
	ck_assert_uint_eq(json_array_size(out), 0);
	/* AnyValue nested 10000 deep through arrays: refused before protobuf-c recurses */
	size_t depth = 10000, n = 0;
	unsigned char *deep = malloc(depth * 8 + 64);
	/* innermost first: build from the inside out; each level is AnyValue{array_value{values[AnyValue]}} */
	unsigned char *buf = malloc(depth * 8 + 64), *tmp = malloc(depth * 8 + 64);
	size_t blen = 0;
	for (size_t i = 0; i < depth; i++) {
		/* ArrayValue { 1: AnyValue(buf) } then AnyValue { 5: ArrayValue } */
		size_t k = 0;
		tmp[k++] = 0x0a;
		k += (size_t)(blen < 128 ? (tmp[k] = (unsigned char)blen, 1)
			      : (tmp[k] = (unsigned char)(blen | 0x80), tmp[k + 1] = (unsigned char)(blen >> 7),
				 blen >> 14 ? (tmp[k + 1] |= 0x80, tmp[k + 2] = (unsigned char)(blen >> 14), 3) : 2));
		memcpy(tmp + k, buf, blen);
		size_t alen = k + blen;
		k = 0;
		buf[k++] = 0x2a;
		k += (size_t)(alen < 128 ? (buf[k] = (unsigned char)alen, 1)
			      : (buf[k] = (unsigned char)(alen | 0x80), buf[k + 1] = (unsigned char)(alen >> 7),
				 alen >> 14 ? (buf[k + 1] |= 0x80, buf[k + 2] = (unsigned char)(alen >> 14), 3) : 2));
		memcpy(buf + k, tmp, alen);
		blen = k + alen;
		if (blen > depth * 8)
			break;
	}
	(void)n;
	(void)deep;
	/* wrap: LogRecord{5: body} in ScopeLogs{2} in ResourceLogs{2} in the request{1} */
	static const unsigned char tags[] = { 0x2a, 0x12, 0x12, 0x0a };
	for (size_t t = 0; t < sizeof tags; t++) {
		size_t k = 0;
		tmp[k++] = tags[t];
		k += (size_t)(blen < 128 ? (tmp[k] = (unsigned char)blen, 1)
			      : (tmp[k] = (unsigned char)(blen | 0x80), tmp[k + 1] = (unsigned char)(blen >> 7),
				 blen >> 14 ? (tmp[k + 1] |= 0x80, tmp[k + 2] = (unsigned char)(blen >> 14), 3) : 2));
		memcpy(tmp + k, buf, blen);
		blen += k;
		memcpy(buf, tmp, blen);
	}
	ck_assert_int_eq(otlp_parse_logs_pb((char *)buf, blen, &nodef, &lim, out, &res, &err), AC_EINVAL);
	ck_assert_msg(strstr(err.msg, "nests deeper"), "%s", err.msg);
	free(buf);
	free(tmp);
	free(deep);
	json_decref(out);
}
END_TEST

START_TEST(envelope_log_feedback_attachment_and_client_report_items)
{
	const char *env =
		"{\"event_id\":\"9ec79c33-ec99-42ab-8353-589fcb2e04dc\"}\n"
		"{\"type\":\"log\"}\n"
		"{\"items\":[{\"timestamp\":1764770000.5,\"trace_id\":\"5b8efff798038103d269b633813fc60c\","
		"\"level\":\"warn\",\"body\":\"cache miss for user 42\",\"attributes\":{"
		"\"sentry.release\":{\"value\":\"r1\",\"type\":\"string\"},"
		"\"sentry.message.template\":{\"value\":\"cache miss for user %s\",\"type\":\"string\"},"
		"\"sentry.message.parameter.0\":{\"value\":42,\"type\":\"integer\"},"
		"\"ratio\":{\"value\":0.5,\"type\":\"double\"}}},{\"level\":\"trace\",\"body\":\"tick\"}]}\n"
		"{\"type\":\"user_report\"}\n"
		"{\"event_id\":\"9ec79c33ec9942ab8353589fcb2e04dc\",\"name\":\"Ann\",\"email\":\"a@x\",\"comments\":\"it broke\"}\n"
		"{\"type\":\"attachment\",\"length\":5,\"filename\":\"a.txt\",\"content_type\":\"text/plain\"}\n"
		"hello\n"
		"{\"type\":\"client_report\"}\n"
		"{\"discarded_events\":[{\"reason\":\"queue_overflow\",\"category\":\"error\",\"quantity\":3},"
		"{\"reason\":\"queue_overflow\",\"category\":\"error\",\"quantity\":2}]}\n";
	struct ac_error err;
	struct envelope_side es = { NULL, json_object(), 0 };
	json_t *out = json_array(), *counts = json_object();
	char key[65], id[65];
	ck_assert_msg(sentry_parse_envelope(env, strlen(env), &nodef, &lim, out, counts, &es, key, id, &err) == 0,
		      "%s", err.msg);
	ck_assert_uint_eq(json_array_size(out), 2);
	json_t *l = json_array_get(out, 0);
	ck_assert_str_eq(sget(l, "kind"), "log");
	ck_assert_str_eq(sget(l, "level"), "warning");
	ck_assert_str_eq(sget(l, "message"), "cache miss for user 42");
	ck_assert_str_eq(sget(l, "release"), "r1");
	ck_assert_str_eq(sget(l, "context.trace_id"), "5b8efff798038103d269b633813fc60c");
	ck_assert_str_eq(sget(l, "context.logentry.message"), "cache miss for user %s");
	ck_assert(json_real_value(json_object_get(json_object_get(json_object_get(l, "context"),
		"attributes"), "ratio")) == 0.5);
	ck_assert_str_eq(sget(l, "timestamp"), "2025-12-03T13:53:20.500Z");
	ck_assert_str_eq(sget(json_array_get(out, 1), "level"), "debug");
	ck_assert_ptr_nonnull(es.side);
	ck_assert_int_eq(es.side->kind, SIDE_FEEDBACK);
	ck_assert_str_eq(es.side->event_id, "9ec79c33ec9942ab8353589fcb2e04dc");
	ck_assert_str_eq(es.side->comments, "it broke");
	ck_assert_ptr_nonnull(es.side->next);
	ck_assert_int_eq(es.side->next->kind, SIDE_ATTACHMENT);
	ck_assert_str_eq(es.side->next->event_id, "9ec79c33ec9942ab8353589fcb2e04dc");
	ck_assert_uint_eq(es.side->next->len, 5);
	ck_assert(!memcmp(es.side->next->data, "hello", 5));
	ck_assert_int_eq(json_integer_value(json_object_get(es.discards, "queue_overflow\terror")), 5);
	side_rows_free(es.side);
	json_decref(es.discards);
	json_decref(out);
	json_decref(counts);

	/* an attachment over the per-attachment limit is a 413 naming it */
	es.max_attachment_bytes = 4;
	es.side = NULL;
	es.discards = json_object();
	out = json_array();
	counts = json_object();
	env = "{\"event_id\":\"ab\"}\n{\"type\":\"attachment\",\"length\":5,\"filename\":\"a.txt\"}\nhello\n";
	ck_assert_int_eq(sentry_parse_envelope(env, strlen(env), &nodef, &lim, out, counts, &es, key, id, &err),
			 AC_ETOOBIG);
	ck_assert_str_eq(err.what, "attachment_too_large");
	side_rows_free(es.side);
	json_decref(es.discards);
	json_decref(out);
	json_decref(counts);
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
	tcase_add_test(tc, otlp_protobuf_records_keep_types);
	tcase_add_test(tc, otlp_protobuf_and_json_store_the_same_event);
	tcase_add_test(tc, otlp_json_record_rejected_alone);
	tcase_add_test(tc, envelope_log_feedback_attachment_and_client_report_items);
	tcase_add_test(tc, otlp_protobuf_malformed_and_deep_bodies);
	suite_add_tcase(s, tc);
	return ac_check_run(s);
}

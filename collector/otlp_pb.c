/*
 * otlp_pb.c — OTLP/HTTP logs in the protobuf encoding (Content-Type application/x-protobuf),
 * decoded with protobuf-c from the generated proto/otlp_logs.proto subset, and the protobuf
 * ExportLogsServiceResponse. Each record is handed to otlp_emit() (otlp.c) exactly as the
 * JSON decoder does, so both encodings store the same events.
 *
 * Before protobuf-c sees the body, pb_check() walks the wire format iteratively per message
 * using the generated descriptors: it rejects malformed varints, lengths past the end, group
 * wire types and nesting deeper than PB_MAX_DEPTH (AnyValue nests through arrays and kvlists;
 * protobuf-c's unpacker recurses without a limit), and counts the messages so a body of
 * millions of tiny values cannot make the unpacker allocate without bound. Unknown fields
 * are skipped (protobuf-c keeps them in the message; they are never read). Strings that are
 * not valid UTF-8 get U+FFFD for each bad byte (stored JSON is UTF-8).
 */
#include "core/common.h"
#include "collector/internal.h"

#include "proto/otlp_logs.pb-c.h"

#include <math.h>

#define PB_MAX_DEPTH 32
#define PB_MAX_MESSAGES 1000000

static int read_varint(const uint8_t *p, size_t len, size_t *i, uint64_t *v)
{
	uint64_t x = 0;

	for (unsigned shift = 0; shift < 70; shift += 7) {
		if (*i >= len)
			return AC_EINVAL;
		uint8_t b = p[(*i)++];
		if (shift == 63 && b > 1)
			return AC_EINVAL;
		x |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*v = x;
			return 0;
		}
	}
	return AC_EINVAL;
}

static int pb_check(const uint8_t *p, size_t len, const ProtobufCMessageDescriptor *desc,
		    int depth, unsigned long *messages, struct ac_error *err)
{
	size_t i = 0;

	if (depth > PB_MAX_DEPTH)
		return ac_error_set(err, AC_EINVAL, "invalid_otlp",
				    "protobuf body nests deeper than %d messages", PB_MAX_DEPTH);
	if (++*messages > PB_MAX_MESSAGES)
		return ac_error_set(err, AC_ETOOBIG, "body_too_large",
				    "protobuf body has more than %d messages", PB_MAX_MESSAGES);
	while (i < len) {
		uint64_t key, v;
		if (read_varint(p, len, &i, &key) || (key >> 3) == 0 || (key >> 3) > 536870911)
			goto bad;
		switch (key & 7) {
		case 0:
			if (read_varint(p, len, &i, &v))
				goto bad;
			break;
		case 1:
			if (len - i < 8)
				goto bad;
			i += 8;
			break;
		case 5:
			if (len - i < 4)
				goto bad;
			i += 4;
			break;
		case 2: {
			const ProtobufCFieldDescriptor *f;
			if (read_varint(p, len, &i, &v) || v > len - i)
				goto bad;
			f = desc ? protobuf_c_message_descriptor_get_field(desc, (unsigned)(key >> 3)) : NULL;
			if (f && f->type == PROTOBUF_C_TYPE_MESSAGE) {
				int rc = pb_check(p + i, (size_t)v, f->descriptor, depth + 1, messages, err);
				if (rc)
					return rc;
			}
			i += (size_t)v;
			break;
		}
		default:
			goto bad;
		}
	}
	return 0;
bad:
	return ac_error_set(err, AC_EINVAL, "invalid_otlp",
			    "body is not a valid OTLP protobuf ExportLogsServiceRequest (malformed at byte %zu of a %zu-byte message)",
			    i, len);
}

/* A JSON string of s, invalid UTF-8 bytes replaced with U+FFFD. */
static json_t *pb_string(const char *s)
{
	json_t *j = json_string(s ? s : "");
	struct ac_buf b;
	size_t len;

	if (j)
		return j;
	ac_buf_init(&b, strlen(s) * 3 + 1);
	for (const unsigned char *p = (const unsigned char *)s; *p;) {
		size_t n = *p < 0x80 ? 1 : (*p & 0xe0) == 0xc0 ? 2 : (*p & 0xf0) == 0xe0 ? 3
			 : (*p & 0xf8) == 0xf0 ? 4 : 0;
		size_t k = 1;
		while (n && k < n && (p[k] & 0xc0) == 0x80)
			k++;
		char tmp[8];
		memcpy(tmp, p, k);
		tmp[k] = '\0';
		json_t *t = n && k == n ? json_string(tmp) : NULL;   /* overlongs, surrogates */
		if (t) {
			ac_buf_append(&b, p, n);
			json_decref(t);
			p += n;
		} else {
			ac_buf_append(&b, "\xef\xbf\xbd", 3);
			p++;
		}
	}
	char *txt = ac_buf_detach(&b, &len);
	j = json_stringn(txt ? txt : "", txt ? len : 0);
	free(txt);
	return j ? j : json_string("");
}

static void b64_encode(const uint8_t *p, size_t n, struct ac_buf *b)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)p[i] << 16 | (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0) |
			     (i + 2 < n ? p[i + 2] : 0);
		char q[4] = { tab[v >> 18], tab[(v >> 12) & 63],
			      i + 1 < n ? tab[(v >> 6) & 63] : '=', i + 2 < n ? tab[v & 63] : '=' };
		ac_buf_append(b, q, 4);
	}
}

static json_t *pb_any_value(const Acotlp__AnyValue *av);

static void pb_attributes(json_t *into, Acotlp__KeyValue *const *kv, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!kv[i]->key)
			continue;
		json_t *k = pb_string(kv[i]->key);
		json_object_set_new(into, json_string_value(k), pb_any_value(kv[i]->value));
		json_decref(k);
	}
}

static json_t *pb_any_value(const Acotlp__AnyValue *av)
{
	if (!av)
		return json_null();
	switch (av->value_case) {
	case ACOTLP__ANY_VALUE__VALUE_STRING_VALUE:
		return pb_string(av->string_value);
	case ACOTLP__ANY_VALUE__VALUE_BOOL_VALUE:
		return json_boolean(av->bool_value);
	case ACOTLP__ANY_VALUE__VALUE_INT_VALUE:
		return json_integer(av->int_value);
	case ACOTLP__ANY_VALUE__VALUE_DOUBLE_VALUE:
		if (isnan(av->double_value))
			return json_string("NaN");
		if (isinf(av->double_value))
			return json_string(av->double_value > 0 ? "Infinity" : "-Infinity");
		return json_real(av->double_value);
	case ACOTLP__ANY_VALUE__VALUE_ARRAY_VALUE: {
		json_t *arr = json_array();
		for (size_t i = 0; av->array_value && i < av->array_value->n_values; i++)
			json_array_append_new(arr, pb_any_value(av->array_value->values[i]));
		return arr;
	}
	case ACOTLP__ANY_VALUE__VALUE_KVLIST_VALUE: {
		json_t *obj = json_object();
		if (av->kvlist_value)
			pb_attributes(obj, av->kvlist_value->values, av->kvlist_value->n_values);
		return obj;
	}
	case ACOTLP__ANY_VALUE__VALUE_BYTES_VALUE: {
		struct ac_buf b;
		size_t len;
		ac_buf_init(&b, av->bytes_value.len / 3 * 4 + 8);
		b64_encode(av->bytes_value.data, av->bytes_value.len, &b);
		ac_buf_append(&b, "", 0);
		char *s = ac_buf_detach(&b, &len);
		json_t *j = json_string(s ? s : "");
		free(s);
		return j;
	}
	default:
		return json_null();
	}
}

static void hex_bytes(const ProtobufCBinaryData *d, char *out, size_t cap)
{
	static const char hx[] = "0123456789abcdef";
	size_t i = 0;

	for (; i < d->len && 2 * i + 2 < cap; i++) {
		out[2 * i] = hx[d->data[i] >> 4];
		out[2 * i + 1] = hx[d->data[i] & 15];
	}
	out[2 * i] = '\0';
	/* an all-zero id is "absent" in OTLP */
	for (size_t k = 0; k < i; k++)
		if (d->data[k])
			return;
	out[0] = '\0';
}

static int pb_record(const Acotlp__LogRecord *lr, const struct otlp_scope *sc,
		     const struct event_defaults *d, const struct ingest_limits *lim, json_t *out,
		     const char *what, struct otlp_result *res, struct ac_error *err)
{
	struct otlp_rec r;
	json_t *event_name = NULL;
	int rc;

	memset(&r, 0, sizeof r);
	r.attrs = json_object();
	pb_attributes(r.attrs, lr->attributes, lr->n_attributes);
	r.time = lr->time_unix_nano ? (double)lr->time_unix_nano / 1e9
				    : (double)lr->observed_time_unix_nano / 1e9;
	r.severity_number = lr->severity_number;
	r.severity_text = lr->severity_text;
	if (lr->body)
		r.body = pb_any_value(lr->body);
	hex_bytes(&lr->trace_id, r.trace_id, sizeof r.trace_id);
	hex_bytes(&lr->span_id, r.span_id, sizeof r.span_id);
	if (lr->event_name && *lr->event_name) {
		event_name = pb_string(lr->event_name);
		r.event_name = json_string_value(event_name);
	}
	rc = otlp_emit(&r, sc, d, lim, out, what, err);
	json_decref(r.attrs);
	json_decref(r.body);
	json_decref(event_name);
	return otlp_reject(res, rc, err);
}

static int pb_resource_logs(const Acotlp__ResourceLogs *rl, size_t ri,
			    const struct event_defaults *d, const struct ingest_limits *lim,
			    json_t *out, struct otlp_result *res, struct ac_error *err)
{
	json_t *resource = json_object();
	int rc = 0;

	if (rl->resource)
		pb_attributes(resource, rl->resource->attributes, rl->resource->n_attributes);
	for (size_t si = 0; si < rl->n_scope_logs && !rc; si++) {
		const Acotlp__ScopeLogs *sl = rl->scope_logs[si];
		json_t *name = sl->scope && sl->scope->name && *sl->scope->name
				       ? pb_string(sl->scope->name) : NULL;
		struct otlp_scope sc = { resource, name ? json_string_value(name) : NULL };
		for (size_t li = 0; li < sl->n_log_records && !rc; li++) {
			char what[128];
			snprintf(what, sizeof what, "resourceLogs[%zu].scopeLogs[%zu].logRecords[%zu]",
				 ri, si, li);
			rc = pb_record(sl->log_records[li], &sc, d, lim, out, what, res, err);
		}
		json_decref(name);
	}
	json_decref(resource);
	return rc;
}

int otlp_parse_logs_pb(const char *body, size_t len, const struct event_defaults *d,
		       const struct ingest_limits *lim, json_t *out, struct otlp_result *res,
		       struct ac_error *err)
{
	Acotlp__ExportLogsServiceRequest *req;
	unsigned long messages = 0;
	int rc = 0;

	memset(res, 0, sizeof *res);
	if ((rc = pb_check((const uint8_t *)body, len, &acotlp__export_logs_service_request__descriptor,
			   0, &messages, err)))
		return rc;
	req = acotlp__export_logs_service_request__unpack(NULL, len, (const uint8_t *)body);
	if (!req)
		return ac_error_set(err, AC_EINVAL, "invalid_otlp",
				    "body is not a valid OTLP protobuf ExportLogsServiceRequest");
	for (size_t i = 0; i < req->n_resource_logs && !rc; i++)
		rc = pb_resource_logs(req->resource_logs[i], i, d, lim, out, res, err);
	acotlp__export_logs_service_request__free_unpacked(req, NULL);
	return rc;
}

char *otlp_response_pb(const struct otlp_result *res, size_t *len)
{
	Acotlp__ExportLogsServiceResponse resp = ACOTLP__EXPORT_LOGS_SERVICE_RESPONSE__INIT;
	Acotlp__ExportLogsPartialSuccess ps = ACOTLP__EXPORT_LOGS_PARTIAL_SUCCESS__INIT;
	char *buf;

	if (res && res->rejected) {
		ps.rejected_log_records = (int64_t)res->rejected;
		ps.error_message = (char *)res->first_error;
		resp.partial_success = &ps;
	}
	*len = acotlp__export_logs_service_response__get_packed_size(&resp);
	buf = malloc(*len + 1);
	if (buf)
		acotlp__export_logs_service_response__pack(&resp, (uint8_t *)buf);
	return buf;
}

json_t *otlp_response_json(const struct otlp_result *res)
{
	json_t *ps = json_object();
	char n[24];

	if (res && res->rejected) {
		/* OTLP/JSON: int64 as a decimal string */
		snprintf(n, sizeof n, "%lu", res->rejected);
		json_object_set_new(ps, "rejectedLogRecords", json_string(n));
		json_object_set_new(ps, "errorMessage", pb_string(res->first_error));
	}
	return json_pack("{s:o}", "partialSuccess", ps);
}

/*
 * otlp.c — OTLP/HTTP logs (POST /v1/logs): resourceLogs -> scopeLogs -> logRecords, in the
 * JSON encoding here and in the protobuf encoding in otlp_pb.c. Both decoders fill the same
 * struct otlp_rec per record and call otlp_emit(), so the two encodings store identical
 * events.
 *
 * Mapping: service.name -> system, service.version -> release, deployment.environment.name
 * (or the older deployment.environment) -> environment, the scope name or a `component`
 * attribute -> component, severityNumber/severityText -> level, body -> message, the semantic
 * exception.type / exception.message / exception.stacktrace attributes -> exception, whose
 * frames are parsed from the stacktrace text (stacktrace.c) so the event fingerprints like a
 * Sentry exception; the text is kept in context.stacktrace. traceId, spanId, event_name and
 * the remaining attributes -> context. AnyValue keeps its type: strings, integers (OTLP JSON
 * sends int64 as decimal strings; they become JSON integers), doubles, booleans, arrays and
 * kvlists (objects); bytes become base64 strings.
 *
 * A record that cannot be stored (e.g. a timestamp past the year 9999) is rejected alone and
 * counted (ExportLogsPartialSuccess.rejected_log_records, with the first reason); a body that
 * is not an OTLP request at all is a 400.
 */
#include "core/common.h"
#include "collector/internal.h"

#include <math.h>

/* A typed JSON value from an OTLP/JSON AnyValue (new reference; null when empty). */
static json_t *any_value(const json_t *av)
{
	const json_t *v;

	if (!json_is_object(av))
		return json_null();
	if ((v = json_object_get(av, "stringValue")) && json_is_string(v))
		return json_incref((json_t *)v);
	if ((v = json_object_get(av, "intValue"))) {
		int64_t i;
		if (json_is_integer(v))
			return json_incref((json_t *)v);
		if (json_is_string(v))
			return ac_parse_i64(json_string_value(v), &i) ? json_incref((json_t *)v)
								      : json_integer(i);
	}
	if ((v = json_object_get(av, "doubleValue"))) {
		if (json_is_number(v))
			return json_real(json_number_value(v));
		if (json_is_string(v)) /* "NaN", "Infinity": JSON has no such numbers */
			return json_incref((json_t *)v);
	}
	if ((v = json_object_get(av, "boolValue")) && json_is_boolean(v))
		return json_incref((json_t *)v);
	if ((v = json_object_get(av, "bytesValue")) && json_is_string(v))
		return json_incref((json_t *)v);
	if ((v = json_object_get(av, "arrayValue")) && json_is_object(v)) {
		json_t *arr = json_array();
		const json_t *e;
		size_t i;
		json_array_foreach(json_object_get(v, "values"), i, e)
			json_array_append_new(arr, any_value(e));
		return arr;
	}
	if ((v = json_object_get(av, "kvlistValue")) && json_is_object(v)) {
		json_t *obj = json_object();
		const json_t *kv;
		size_t i;
		json_array_foreach(json_object_get(v, "values"), i, kv) {
			const char *k = json_string_value(json_object_get(kv, "key"));
			if (k)
				json_object_set_new(obj, k, any_value(json_object_get(kv, "value")));
		}
		return obj;
	}
	return json_null();
}

/* attributes [{key, value}] -> object key -> typed value */
static int attributes(const json_t *attrs, json_t *into, const char *what, struct ac_error *err)
{
	const json_t *kv;
	size_t i;

	if (!attrs || json_is_null(attrs))
		return 0;
	if (!json_is_array(attrs))
		return ac_error_set(err, AC_EINVAL, "invalid_field", "%s: 'attributes' must be an array", what);
	json_array_foreach(attrs, i, kv) {
		const char *k = json_string_value(json_object_get(kv, "key"));
		if (!k)
			return ac_error_set(err, AC_EINVAL, "invalid_field",
					    "%s: attributes[%zu] needs a string 'key'", what, i);
		json_object_set_new(into, k, any_value(json_object_get(kv, "value")));
	}
	return 0;
}

static const char *severity_level(long long n, const char *text)
{
	if (n >= 21)
		return "fatal";
	if (n >= 17)
		return "error";
	if (n >= 13)
		return "warning";
	if (n >= 9)
		return "info";
	if (n >= 1)
		return "debug";
	return text && *text ? event_level_name(text) : NULL;
}

static const char *str_attr(const json_t *attrs, const char *key)
{
	return json_string_value(json_object_get(attrs, key));
}

static void record_exception(json_t *native, json_t *attrs)
{
	const char *type = str_attr(attrs, "exception.type");
	const char *msg = str_attr(attrs, "exception.message");
	const char *stack = str_attr(attrs, "exception.stacktrace");
	json_t *exc, *frames;
	char parsed_type[256] = "";

	if (!type && !msg && !stack)
		return;
	exc = json_object();
	frames = stack ? stacktrace_parse(stack, parsed_type, sizeof parsed_type) : NULL;
	if (type)
		json_object_set_new(exc, "type", json_string(type));
	else if (parsed_type[0])
		json_object_set_new(exc, "type", json_string(parsed_type));
	if (msg)
		json_object_set_new(exc, "value", json_string(msg));
	if (frames && json_array_size(frames))
		json_object_set(exc, "frames", frames);
	json_decref(frames);
	json_object_set_new(native, "exception", exc);
	if (stack)
		json_object_set_new(json_object_get(native, "context"), "stacktrace", json_string(stack));
	json_object_del(attrs, "exception.type");
	json_object_del(attrs, "exception.message");
	json_object_del(attrs, "exception.stacktrace");
}

int otlp_emit(struct otlp_rec *rec, const struct otlp_scope *sc, const struct event_defaults *d,
	      const struct ingest_limits *lim, json_t *out, const char *what, struct ac_error *err)
{
	json_t *native = json_object(), *ctx = json_object(), *n;
	const char *s, *level;
	int rc = 0;

	json_object_set_new(native, "context", ctx);
	if (rec->time >= AC_TIME_MAX) {
		/* checked here: event.c would read so large a number as milliseconds */
		json_decref(native);
		return ac_error_set(err, AC_EINVAL, "invalid_field",
				    "%s: timeUnixNano is after the year 9999", what);
	}
	if (rec->time > 0)
		json_object_set_new(native, "timestamp", json_real(rec->time));
	if ((level = severity_level(rec->severity_number, rec->severity_text)))
		json_object_set_new(native, "level", json_string(level));
	if (json_is_string(rec->body))
		json_object_set(native, "message", rec->body);
	else if (rec->body && !json_is_null(rec->body)) {
		char *txt = json_dumps(rec->body, JSON_COMPACT | JSON_ENCODE_ANY);
		json_object_set_new(native, "message", json_string(txt ? txt : ""));
		free(txt);
	}
	if ((s = str_attr(sc->resource, "service.name")))
		json_object_set_new(native, "system", json_string(s));
	if ((s = str_attr(sc->resource, "service.version")))
		json_object_set_new(native, "release", json_string(s));
	if ((s = str_attr(sc->resource, "deployment.environment.name")) ||
	    (s = str_attr(sc->resource, "deployment.environment")))
		json_object_set_new(native, "environment", json_string(s));
	if ((s = str_attr(rec->attrs, "component")) || (s = sc->scope_name))
		json_object_set_new(native, "component", json_string(s));
	if (sc->scope_name)
		json_object_set_new(native, "logger", json_string(sc->scope_name));
	record_exception(native, rec->attrs);
	if (rec->trace_id[0])
		json_object_set_new(ctx, "trace_id", json_string(rec->trace_id));
	if (rec->span_id[0])
		json_object_set_new(ctx, "span_id", json_string(rec->span_id));
	if (rec->event_name && *rec->event_name)
		json_object_set_new(ctx, "event_name", json_string(rec->event_name));
	json_object_set(ctx, "attributes", rec->attrs);
	json_object_set(ctx, "resource", (json_t *)sc->resource);
	if (!json_object_get(native, "message") && !json_object_get(native, "exception"))
		json_object_set_new(native, "message", json_string(""));
	n = event_normalize(native, "otlp", d, lim, what, err);
	if (!n)
		rc = err ? err->code : AC_EINVAL;
	else
		json_array_append_new(out, n);
	json_decref(native);
	return rc;
}

/* Count a rejected record (AC_EINVAL from otlp_emit) and keep the first reason; other errors
 * end the request. */
int otlp_reject(struct otlp_result *res, int rc, const struct ac_error *err)
{
	if (rc != AC_EINVAL)
		return rc;
	if (!res->rejected++)
		snprintf(res->first_error, sizeof res->first_error, "%s", err->msg);
	return 0;
}

/* Hex text of a trace/span id: OTLP/JSON sends it as hex already (case kept lower). */
static void hex_id(const json_t *v, char *out, size_t cap)
{
	const char *s = json_string_value(v);
	size_t i = 0;

	out[0] = '\0';
	if (!s)
		return;
	for (; s[i] && i + 1 < cap; i++)
		out[i] = (char)((s[i] >= 'A' && s[i] <= 'F') ? s[i] + 32 : s[i]);
	out[i] = '\0';
}

static double json_nanos(const json_t *v)
{
	double ns = 0;

	if (json_is_string(v))
		ac_parse_double(json_string_value(v), &ns);
	else if (json_is_number(v))
		ns = json_number_value(v);
	return ns > 0 && isfinite(ns) ? ns / 1e9 : 0;
}

static int otlp_record(const json_t *rec, const struct otlp_scope *sc,
		       const struct event_defaults *d, const struct ingest_limits *lim, json_t *out,
		       const char *what, struct otlp_result *res, struct ac_error *err)
{
	struct otlp_rec r;
	const json_t *num;
	int rc;

	memset(&r, 0, sizeof r);
	if (!json_is_object(rec)) {
		rc = ac_error_set(err, AC_EINVAL, "invalid_field", "%s: a log record must be an object", what);
		return otlp_reject(res, rc, err);
	}
	r.attrs = json_object();
	if ((rc = attributes(json_object_get(rec, "attributes"), r.attrs, what, err)))
		goto out;
	r.time = json_nanos(json_object_get(rec, "timeUnixNano"));
	if (r.time <= 0)
		r.time = json_nanos(json_object_get(rec, "observedTimeUnixNano"));
	num = json_object_get(rec, "severityNumber");
	if (json_is_integer(num))
		r.severity_number = json_integer_value(num);
	else if (json_is_string(num)) {
		int64_t n = 0;
		if (ac_parse_i64(json_string_value(num), &n) == 0)
			r.severity_number = n;
		else if (!strncmp(json_string_value(num), "SEVERITY_NUMBER_", 16))
			r.severity_text = json_string_value(num) + 16;
	}
	if (json_string_value(json_object_get(rec, "severityText")))
		r.severity_text = json_string_value(json_object_get(rec, "severityText"));
	if (json_object_get(rec, "body"))
		r.body = any_value(json_object_get(rec, "body"));
	hex_id(json_object_get(rec, "traceId"), r.trace_id, sizeof r.trace_id);
	hex_id(json_object_get(rec, "spanId"), r.span_id, sizeof r.span_id);
	r.event_name = json_string_value(json_object_get(rec, "eventName"));
	rc = otlp_emit(&r, sc, d, lim, out, what, err);
out:
	json_decref(r.attrs);
	json_decref(r.body);
	return otlp_reject(res, rc, err);
}

static int otlp_resource_logs(const json_t *rl, size_t ri, const struct event_defaults *d,
			      const struct ingest_limits *lim, json_t *out, struct otlp_result *ores,
			      struct ac_error *err)
{
	json_t *res = json_object();
	const json_t *sl, *rec, *scope_logs, *records;
	size_t si, li;
	char what[96];
	int rc = 0;

	snprintf(what, sizeof what, "resourceLogs[%zu]", ri);
	if (!json_is_object(rl)) {
		rc = ac_error_set(err, AC_EINVAL, "invalid_field", "%s must be an object", what);
		goto out;
	}
	if ((rc = attributes(json_object_get(json_object_get(rl, "resource"), "attributes"), res,
			     what, err)))
		goto out;
	scope_logs = json_object_get(rl, "scopeLogs");
	if (!scope_logs)
		scope_logs = json_object_get(rl, "instrumentationLibraryLogs");
	if (scope_logs && !json_is_array(scope_logs)) {
		rc = ac_error_set(err, AC_EINVAL, "invalid_field", "%s.scopeLogs must be an array", what);
		goto out;
	}
	json_array_foreach(scope_logs, si, sl) {
		struct otlp_scope sc = { res, NULL };
		const json_t *scope = json_object_get(sl, "scope");
		if (!scope)
			scope = json_object_get(sl, "instrumentationLibrary");
		sc.scope_name = json_string_value(json_object_get(scope, "name"));
		if (sc.scope_name && !*sc.scope_name)
			sc.scope_name = NULL;
		records = json_object_get(sl, "logRecords");
		if (records && !json_is_array(records)) {
			rc = ac_error_set(err, AC_EINVAL, "invalid_field",
					  "%s.scopeLogs[%zu].logRecords must be an array", what, si);
			goto out;
		}
		json_array_foreach(records, li, rec) {
			char rwhat[200];
			snprintf(rwhat, sizeof rwhat, "%s.scopeLogs[%zu].logRecords[%zu]", what, si, li);
			if ((rc = otlp_record(rec, &sc, d, lim, out, rwhat, ores, err)))
				goto out;
		}
	}
out:
	json_decref(res);
	return rc;
}

int otlp_parse_logs(const char *body, size_t len, const struct event_defaults *d,
		    const struct ingest_limits *lim, json_t *out, struct otlp_result *res,
		    struct ac_error *err)
{
	json_t *doc = json_parse_checked(body, len, "body", err);
	const json_t *rls, *rl;
	size_t i;
	int rc = 0;

	memset(res, 0, sizeof *res);
	if (!doc)
		return AC_EINVAL;
	rls = json_object_get(doc, "resourceLogs");
	if (!json_is_object(doc) || !json_is_array(rls)) {
		rc = ac_error_set(err, AC_EINVAL, "invalid_otlp",
				  "body must be an OTLP ExportLogsServiceRequest with a 'resourceLogs' array");
		goto out;
	}
	json_array_foreach(rls, i, rl)
		if ((rc = otlp_resource_logs(rl, i, d, lim, out, res, err)))
			goto out;
out:
	json_decref(doc);
	return rc;
}

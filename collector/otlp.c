/*
 * otlp.c — OTLP/HTTP JSON logs (POST /v1/logs): resourceLogs -> scopeLogs -> logRecords.
 *
 * Mapping: service.name -> system, service.version -> release, deployment.environment
 * (or deployment.environment.name) -> environment, the scope name or a `component` attribute
 * -> component, severityNumber/severityText -> level, body -> message, the semantic
 * exception.type / exception.message / exception.stacktrace attributes -> exception, traceId
 * and spanId and the remaining attributes -> context. AnyValue is flattened: strings as is,
 * ints (which OTLP JSON encodes as strings), doubles and bools as text, kvlist/array as JSON.
 */
#include "core/common.h"
#include "collector/internal.h"

/* Flatten an OTLP AnyValue into a new JSON value (a string for scalars). */
static json_t *any_value(const json_t *av)
{
	const json_t *v;

	if (!json_is_object(av))
		return json_null();
	if ((v = json_object_get(av, "stringValue")) && json_is_string(v))
		return json_incref((json_t *)v);
	if ((v = json_object_get(av, "intValue"))) {
		if (json_is_string(v))
			return json_incref((json_t *)v);
		if (json_is_integer(v))
			return json_sprintf("%" JSON_INTEGER_FORMAT, json_integer_value(v));
	}
	if ((v = json_object_get(av, "doubleValue")) && json_is_number(v))
		return json_sprintf("%g", json_number_value(v));
	if ((v = json_object_get(av, "boolValue")) && json_is_boolean(v))
		return json_string(json_is_true(v) ? "true" : "false");
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

/* attributes [{key, value}] -> object key -> flattened value */
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

static const char *severity_level(const json_t *rec)
{
	const json_t *num = json_object_get(rec, "severityNumber");
	const char *text = json_string_value(json_object_get(rec, "severityText"));
	long long n = 0;

	if (json_is_integer(num))
		n = json_integer_value(num);
	else if (json_is_string(num))
		ac_parse_i64(json_string_value(num), (int64_t *)&n);
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
	return text ? event_level_name(text) : NULL;
}

static const char *str_attr(const json_t *attrs, const char *key)
{
	return json_string_value(json_object_get(attrs, key));
}

/* Fill timestamp from timeUnixNano (or observedTimeUnixNano), a decimal string of ns. */
static void record_time(json_t *native, const json_t *rec)
{
	const char *keys[] = { "timeUnixNano", "observedTimeUnixNano" };
	for (size_t i = 0; i < 2; i++) {
		const json_t *v = json_object_get(rec, keys[i]);
		double ns = 0;
		if (json_is_string(v))
			ac_parse_double(json_string_value(v), &ns);
		else if (json_is_number(v))
			ns = json_number_value(v);
		if (ns > 0) {
			json_object_set_new(native, "timestamp", json_real(ns / 1e9));
			return;
		}
	}
}

static void record_exception(json_t *native, json_t *attrs)
{
	const char *type = str_attr(attrs, "exception.type");
	const char *msg = str_attr(attrs, "exception.message");
	const char *stack = str_attr(attrs, "exception.stacktrace");
	json_t *exc;

	if (!type && !msg)
		return;
	exc = json_object();
	if (type)
		json_object_set_new(exc, "type", json_string(type));
	if (msg)
		json_object_set_new(exc, "value", json_string(msg));
	json_object_set_new(native, "exception", exc);
	if (stack)
		json_object_set_new(json_object_get(native, "context"), "stacktrace", json_string(stack));
	json_object_del(attrs, "exception.type");
	json_object_del(attrs, "exception.message");
	json_object_del(attrs, "exception.stacktrace");
}

struct otlp_scope {
	const json_t *resource;   /* flattened resource attributes */
	const char *scope_name;
};

static int otlp_record(const json_t *rec, const struct otlp_scope *sc,
		       const struct event_defaults *d, const struct ingest_limits *lim, json_t *out,
		       const char *what, struct ac_error *err)
{
	json_t *native = json_object(), *ctx = json_object(), *attrs = json_object(), *body, *n;
	const char *s, *level;
	int rc = 0;

	json_object_set_new(native, "context", ctx);
	if (!json_is_object(rec)) {
		rc = ac_error_set(err, AC_EINVAL, "invalid_field", "%s: a log record must be an object", what);
		goto out;
	}
	if ((rc = attributes(json_object_get(rec, "attributes"), attrs, what, err)))
		goto out;
	record_time(native, rec);
	if ((level = severity_level(rec)))
		json_object_set_new(native, "level", json_string(level));
	body = any_value(json_object_get(rec, "body"));
	if (json_is_string(body))
		json_object_set(native, "message", body);
	else if (!json_is_null(body)) {
		char *txt = json_dumps(body, JSON_COMPACT);
		json_object_set_new(native, "message", json_string(txt ? txt : ""));
		free(txt);
	}
	json_decref(body);
	if ((s = str_attr(sc->resource, "service.name")))
		json_object_set_new(native, "system", json_string(s));
	if ((s = str_attr(sc->resource, "service.version")))
		json_object_set_new(native, "release", json_string(s));
	if ((s = str_attr(sc->resource, "deployment.environment")) ||
	    (s = str_attr(sc->resource, "deployment.environment.name")))
		json_object_set_new(native, "environment", json_string(s));
	if ((s = str_attr(attrs, "component")) || (s = sc->scope_name))
		json_object_set_new(native, "component", json_string(s));
	if (sc->scope_name)
		json_object_set_new(native, "logger", json_string(sc->scope_name));
	record_exception(native, attrs);
	if ((s = json_string_value(json_object_get(rec, "traceId"))) && *s)
		json_object_set_new(ctx, "trace_id", json_string(s));
	if ((s = json_string_value(json_object_get(rec, "spanId"))) && *s)
		json_object_set_new(ctx, "span_id", json_string(s));
	json_object_set(ctx, "attributes", attrs);
	json_object_set(ctx, "resource", (json_t *)sc->resource);
	if (!json_object_get(native, "message") && !json_object_get(native, "exception"))
		json_object_set_new(native, "message", json_string(""));
	n = event_normalize(native, "otlp", d, lim, what, err);
	if (!n) {
		rc = err ? err->code : AC_EINVAL;
		goto out;
	}
	json_array_append_new(out, n);
out:
	json_decref(attrs);
	json_decref(native);
	return rc;
}

static int otlp_resource_logs(const json_t *rl, size_t ri, const struct event_defaults *d,
			      const struct ingest_limits *lim, json_t *out, struct ac_error *err)
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
			if ((rc = otlp_record(rec, &sc, d, lim, out, rwhat, err)))
				goto out;
		}
	}
out:
	json_decref(res);
	return rc;
}

int otlp_parse_logs(const char *body, size_t len, const struct event_defaults *d,
		    const struct ingest_limits *lim, json_t *out, struct ac_error *err)
{
	json_t *doc = json_parse_checked(body, len, "body", err);
	const json_t *rls, *rl;
	size_t i;
	int rc = 0;

	if (!doc)
		return AC_EINVAL;
	rls = json_object_get(doc, "resourceLogs");
	if (!json_is_object(doc) || !json_is_array(rls)) {
		rc = ac_error_set(err, AC_EINVAL, "invalid_otlp",
				  "body must be an OTLP ExportLogsServiceRequest with a 'resourceLogs' array");
		goto out;
	}
	json_array_foreach(rls, i, rl)
		if ((rc = otlp_resource_logs(rl, i, d, lim, out, err)))
			goto out;
out:
	json_decref(doc);
	return rc;
}

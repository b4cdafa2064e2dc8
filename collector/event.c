/*
 * event.c — turning one submitted event object into the stored shape (see internal.h).
 *
 * Every field a client may send is type-checked here and a wrong type is an error naming
 * the field ("event 3: field 'exception.frames' must be an array, got string"). Unknown
 * top-level fields are kept under "context.extra" so nothing the client sent is lost.
 * The JSON text itself is pre-checked for UTF-8 validity and nesting depth before jansson
 * sees it, so those errors carry a byte offset rather than a generic parse failure.
 */
#include "core/common.h"
#include "collector/internal.h"

#include <ctype.h>
#include <math.h>

#define MAX_DEPTH 64
#define MAX_STRING_FIELD 65536

/* Nesting depth only: jansson checks UTF-8 itself, and its own depth limit is 2048. */
static int json_depth_check(const char *body, size_t len, const char *what, struct ac_error *err)
{
	int depth = 0;
	bool in_str = false;

	for (size_t i = 0; i < len; i++) {
		char c = body[i];
		if (in_str) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_str = false;
			continue;
		}
		if (c == '"') {
			in_str = true;
		} else if (c == '{' || c == '[') {
			if (++depth > MAX_DEPTH)
				return ac_error_set(err, AC_EINVAL, "too_deep",
						    "%s: JSON nesting deeper than %d at byte offset %zu",
						    what, MAX_DEPTH, i);
		} else if (c == '}' || c == ']') {
			depth--;
		}
	}
	return 0;
}

static int utf8_error(const char *body, size_t len, const char *what, struct ac_error *err)
{
	size_t bad = 0;
	if (ac_utf8_valid(body, len, &bad))
		return 0;
	return ac_error_set(err, AC_EINVAL, "invalid_utf8", "%s: invalid UTF-8 at byte offset %zu",
			    what, bad);
}

int json_text_check(const char *body, size_t len, const char *what, struct ac_error *err)
{
	int rc = utf8_error(body, len, what, err);
	return rc ? rc : json_depth_check(body, len, what, err);
}

json_t *json_parse_checked(const char *text, size_t len, const char *what, struct ac_error *err)
{
	json_error_t je;
	json_t *v;

	if (json_depth_check(text, len, what, err))
		return NULL;
	v = json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &je);
	/* invalid UTF-8 is rare: look for it only to explain a failed parse */
	if (!v && !utf8_error(text, len, what, err))
		ac_error_set(err, AC_EINVAL, "invalid_json", "%s: malformed JSON at line %d column %d: %s",
			     what, je.line, je.column, je.text);
	return v;
}

static const char *type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "object";
	case JSON_ARRAY: return "array";
	case JSON_STRING: return "string";
	case JSON_INTEGER: return "integer";
	case JSON_REAL: return "number";
	case JSON_TRUE: case JSON_FALSE: return "boolean";
	case JSON_NULL: return "null";
	}
	return "unknown";
}

static int wrong_type(const char *what, const char *field, const char *want, const json_t *got,
		      struct ac_error *err)
{
	return ac_error_set(err, AC_EINVAL, "invalid_field", "%s: field '%s' must be %s, got %s",
			    what, field, want, type_name(got));
}

const char *event_level_name(const char *s)
{
	static const struct { const char *in, *out; } map[] = {
		{ "debug", "debug" }, { "trace", "debug" }, { "verbose", "debug" },
		{ "info", "info" }, { "information", "info" }, { "notice", "info" },
		{ "log", "info" }, { "warning", "warning" }, { "warn", "warning" },
		{ "error", "error" }, { "err", "error" }, { "fatal", "fatal" },
		{ "critical", "fatal" }, { "crit", "fatal" }, { "emerg", "fatal" },
		{ "alert", "fatal" }, { "panic", "fatal" }, { "severe", "error" },
	};
	char low[16];
	size_t n = strlen(s);

	if (n == 0 || n >= sizeof low)
		return NULL;
	for (size_t i = 0; i <= n; i++)
		low[i] = (char)tolower((unsigned char)s[i]);
	for (size_t i = 0; i < AC_ARRAY_SIZE(map); i++)
		if (!strcmp(low, map[i].in))
			return map[i].out;
	return NULL;
}

/* Copy an optional string field; NULL/absent is fine. */
static int copy_string(json_t *out, const json_t *in, const char *key, const char *outkey,
		       const char *what, struct ac_error *err)
{
	const json_t *v = json_object_get(in, key);

	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return wrong_type(what, key, "a string", v, err);
	if (json_string_length(v) > MAX_STRING_FIELD)
		return ac_error_set(err, AC_ETOOBIG, "field_too_large",
				    "%s: field '%s' is longer than %d bytes", what, key, MAX_STRING_FIELD);
	if (json_string_length(v) > 0)
		json_object_set(out, outkey ? outkey : key, (json_t *)v);
	return 0;
}

static void set_default(json_t *out, const char *key, const char *value)
{
	if (value && *value && !json_object_get(out, key))
		json_object_set_new(out, key, json_string(value));
}

/* Accept a client event id (event_id_canonical: kept as sent, Sentry's hex form lowercased). */
static int normalize_event_id(json_t *out, const json_t *in, const char *what,
			      struct ac_error *err)
{
	const json_t *v = json_object_get(in, "event_id");
	char id[65];
	int bad;

	if (!v || json_is_null(v)) {
		char hex[33];
		ac_uuid_hex(hex);
		json_object_set_new(out, "event_id", json_string(hex));
		return 0;
	}
	if (!json_is_string(v))
		return wrong_type(what, "event_id", "a string", v, err);
	bad = event_id_canonical(json_string_value(v), json_string_length(v), id);
	if (bad == EVENT_ID_BAD_CHAR)
		return ac_error_set(err, AC_EINVAL, "invalid_field",
				    "%s: field 'event_id' may only hold letters, digits and - _ . :", what);
	if (bad == EVENT_ID_TOO_LONG)
		return ac_error_set(err, AC_EINVAL, "invalid_field",
				    "%s: field 'event_id' is longer than 64 characters", what);
	if (bad)
		return ac_error_set(err, AC_EINVAL, "invalid_field", "%s: field 'event_id' is empty", what);
	json_object_set_new(out, "event_id", json_string(id));
	return 0;
}

static int normalize_time(json_t *out, const json_t *in, const char *what, struct ac_error *err)
{
	const json_t *v = json_object_get(in, "timestamp");
	double t = ac_now();
	char buf[40];

	if (!v)
		v = json_object_get(in, "ts");
	if (!v)
		v = json_object_get(in, "time");
	if (v && !json_is_null(v)) {
		if (json_is_number(v)) {
			t = json_number_value(v);
			if (!isfinite(t) || t < 0)
				return ac_error_set(err, AC_EINVAL, "invalid_field",
						    "%s: field 'timestamp' is not a valid time", what);
			if (t > 1e11)
				t /= 1000.0;
		} else if (json_is_string(v)) {
			if (ac_parse_time(json_string_value(v), &t))
				return ac_error_set(err, AC_EINVAL, "invalid_field",
						    "%s: field 'timestamp' is not an RFC 3339 time or unix seconds: '%.40s'",
						    what, json_string_value(v));
		} else {
			return wrong_type(what, "timestamp", "a string or number", v, err);
		}
		if (t >= AC_TIME_MAX)
			return ac_error_set(err, AC_EINVAL, "invalid_field",
					    "%s: field 'timestamp' is after the year 9999", what);
	}
	ac_format_iso8601(t, buf, sizeof buf);
	json_object_set_new(out, "timestamp", json_string(buf));
	ac_now_iso8601(buf, sizeof buf);
	json_object_set_new(out, "received_at", json_string(buf));
	return 0;
}

static int normalize_frame(json_t *frames, const json_t *f, size_t i, const char *what,
			   struct ac_error *err)
{
	char field[64];
	json_t *nf;
	const json_t *v;

	snprintf(field, sizeof field, "exception.frames[%zu]", i);
	if (!json_is_object(f))
		return wrong_type(what, field, "an object", f, err);
	nf = json_object();
	static const char *const strs[] = { "function", "module", "file", "package" };
	for (size_t k = 0; k < AC_ARRAY_SIZE(strs); k++) {
		v = json_object_get(f, strs[k]);
		if (!v || json_is_null(v))
			continue;
		if (!json_is_string(v)) {
			snprintf(field, sizeof field, "exception.frames[%zu].%s", i, strs[k]);
			json_decref(nf);
			return wrong_type(what, field, "a string", v, err);
		}
		json_object_set(nf, strs[k], (json_t *)v);
	}
	static const char *const ints[] = { "line", "column" };
	for (size_t k = 0; k < AC_ARRAY_SIZE(ints); k++) {
		v = json_object_get(f, ints[k]);
		if (!v || json_is_null(v))
			continue;
		if (!json_is_integer(v)) {
			snprintf(field, sizeof field, "exception.frames[%zu].%s", i, ints[k]);
			json_decref(nf);
			return wrong_type(what, field, "an integer", v, err);
		}
		json_object_set(nf, ints[k], (json_t *)v);
	}
	v = json_object_get(f, "in_app");
	if (v && !json_is_null(v)) {
		if (!json_is_boolean(v)) {
			snprintf(field, sizeof field, "exception.frames[%zu].in_app", i);
			json_decref(nf);
			return wrong_type(what, field, "a boolean", v, err);
		}
		json_object_set(nf, "in_app", (json_t *)v);
	}
	v = json_object_get(f, "address");
	if (v && json_is_string(v))
		json_object_set(nf, "address", (json_t *)v);
	json_array_append_new(frames, nf);
	return 0;
}

static int normalize_exception(json_t *out, const json_t *in, const char *what,
			       struct ac_error *err)
{
	const json_t *exc = json_object_get(in, "exception"), *frames;
	json_t *ne;
	size_t i;
	const json_t *f;
	int rc;

	if (!exc || json_is_null(exc))
		return 0;
	if (!json_is_object(exc))
		return wrong_type(what, "exception", "an object", exc, err);
	ne = json_object();
	if ((rc = copy_string(ne, exc, "type", NULL, what, err)) ||
	    (rc = copy_string(ne, exc, "value", NULL, what, err)) ||
	    (rc = copy_string(ne, exc, "module", NULL, what, err)))
		goto fail;
	frames = json_object_get(exc, "frames");
	if (frames && !json_is_null(frames)) {
		json_t *nf = json_array();
		if (!json_is_array(frames)) {
			json_decref(nf);
			rc = wrong_type(what, "exception.frames", "an array", frames, err);
			goto fail;
		}
		json_array_foreach(frames, i, f) {
			if ((rc = normalize_frame(nf, f, i, what, err))) {
				json_decref(nf);
				goto fail;
			}
		}
		json_object_set_new(ne, "frames", nf);
	}
	if (json_object_size(ne) == 0) {
		json_decref(ne);
		return 0;
	}
	json_object_set_new(out, "exception", ne);
	return 0;
fail:
	json_decref(ne);
	return rc;
}

static int normalize_tags(json_t *out, const json_t *in, const char *what, struct ac_error *err)
{
	const json_t *tags = json_object_get(in, "tags"), *v;
	const char *k;
	json_t *nt;

	if (!tags || json_is_null(tags))
		return 0;
	if (!json_is_object(tags))
		return wrong_type(what, "tags", "an object of strings", tags, err);
	nt = json_object();
	json_object_foreach((json_t *)tags, k, v) {
		if (json_is_string(v)) {
			json_object_set(nt, k, (json_t *)v);
		} else if (json_is_number(v) || json_is_boolean(v)) {
			char *s = json_dumps(v, JSON_ENCODE_ANY);
			json_object_set_new(nt, k, json_string(s ? s : ""));
			free(s);
		} else if (!json_is_null(v)) {
			char field[160];
			snprintf(field, sizeof field, "tags.%.100s", k);
			json_decref(nt);
			return wrong_type(what, field, "a string", v, err);
		}
	}
	json_object_set_new(out, "tags", nt);
	return 0;
}

static int normalize_fingerprint(json_t *out, const json_t *in, const char *what,
				 struct ac_error *err)
{
	const json_t *fp = json_object_get(in, "fingerprint"), *v;
	json_t *nf;
	size_t i;

	if (!fp || json_is_null(fp))
		return 0;
	if (json_is_string(fp)) {
		nf = json_array();
		json_array_append(nf, (json_t *)fp);
		json_object_set_new(out, "fingerprint", nf);
		return 0;
	}
	if (!json_is_array(fp))
		return wrong_type(what, "fingerprint", "an array of strings", fp, err);
	nf = json_array();
	json_array_foreach(fp, i, v) {
		if (json_is_string(v)) {
			json_array_append(nf, (json_t *)v);
		} else if (json_is_number(v)) {
			char *s = json_dumps(v, JSON_ENCODE_ANY);
			json_array_append_new(nf, json_string(s ? s : ""));
			free(s);
		} else {
			json_decref(nf);
			return wrong_type(what, "fingerprint[]", "a string", v, err);
		}
	}
	if (json_array_size(nf))
		json_object_set_new(out, "fingerprint", nf);
	else
		json_decref(nf);
	return 0;
}

static int normalize_level_kind(json_t *out, const json_t *in, const char *source,
				const struct event_defaults *d, const char *what, struct ac_error *err)
{
	const json_t *v = json_object_get(in, "level");
	const char *level = NULL, *kind;

	if (v && !json_is_null(v)) {
		if (!json_is_string(v))
			return wrong_type(what, "level", "a string", v, err);
		level = event_level_name(json_string_value(v));
		if (!level)
			return ac_error_set(err, AC_EINVAL, "invalid_field",
					    "%s: field 'level' is '%.32s'; use debug, info, warning, error or fatal",
					    what, json_string_value(v));
	}
	v = json_object_get(in, "kind");
	if (v && !json_is_null(v)) {
		if (!json_is_string(v))
			return wrong_type(what, "kind", "a string", v, err);
		kind = json_string_value(v);
		if (strcmp(kind, "log") && strcmp(kind, "error") && strcmp(kind, "crash"))
			return ac_error_set(err, AC_EINVAL, "invalid_field",
					    "%s: field 'kind' is '%.32s'; use log, error or crash", what, kind);
	} else if (!strcmp(source, "crash")) {
		kind = "crash";
	} else if (json_object_get(out, "exception")) {
		kind = "error";
	} else if (!strcmp(source, "log") || !strcmp(source, "otlp")) {
		kind = "log";
	} else {
		const char *l = level ? level : (d && d->level ? d->level : "error");
		kind = (!strcmp(l, "error") || !strcmp(l, "fatal")) ? "error" : "log";
	}
	if (!level)
		level = d && d->level ? d->level
				      : !strcmp(kind, "crash") ? "fatal"
				      : !strcmp(kind, "error") ? "error" : "info";
	json_object_set_new(out, "level", json_string(level));
	json_object_set_new(out, "kind", json_string(kind));
	return 0;
}

/* Everything not recognised goes to context.extra, so nothing the client sent is lost. */
static void keep_unknown_fields(json_t *out, const json_t *in)
{
	static const char *const known[] = {
		"event_id", "timestamp", "ts", "time", "level", "kind", "system", "component",
		"release", "environment", "message", "msg", "logger", "platform", "exception",
		"fingerprint", "tags", "context", "sdk",
	};
	const char *k;
	const json_t *v;
	json_t *extra = NULL, *ctx;

	json_object_foreach((json_t *)in, k, v) {
		bool is_known = false;
		for (size_t i = 0; i < AC_ARRAY_SIZE(known) && !is_known; i++)
			is_known = !strcmp(k, known[i]);
		if (is_known)
			continue;
		if (!extra)
			extra = json_object();
		json_object_set(extra, k, (json_t *)v);
	}
	if (!extra)
		return;
	ctx = json_object_get(out, "context");
	if (!ctx) {
		ctx = json_object();
		json_object_set_new(out, "context", ctx);
	}
	json_object_set_new(ctx, "extra", extra);
}

json_t *event_normalize(const json_t *in, const char *source, const struct event_defaults *d,
			const struct ingest_limits *lim, const char *what, struct ac_error *err)
{
	json_t *out;
	const json_t *v;
	int rc;

	if (!json_is_object(in)) {
		ac_error_set(err, AC_EINVAL, "invalid_event", "%s: an event must be a JSON object, got %s",
			     what, type_name(in));
		return NULL;
	}
	out = json_object();
	if ((rc = normalize_event_id(out, in, what, err)) || (rc = normalize_time(out, in, what, err)))
		goto fail;
	static const char *const strs[] = { "system", "component", "release", "environment",
					    "logger", "platform" };
	for (size_t i = 0; i < AC_ARRAY_SIZE(strs); i++)
		if ((rc = copy_string(out, in, strs[i], NULL, what, err)))
			goto fail;
	if ((rc = copy_string(out, in, "message", NULL, what, err)))
		goto fail;
	if (!json_object_get(out, "message") && (rc = copy_string(out, in, "msg", "message", what, err)))
		goto fail;
	if ((rc = normalize_exception(out, in, what, err)) ||
	    (rc = normalize_level_kind(out, in, source, d, what, err)) ||
	    (rc = normalize_tags(out, in, what, err)) ||
	    (rc = normalize_fingerprint(out, in, what, err)))
		goto fail;
	v = json_object_get(in, "context");
	if (v && !json_is_null(v)) {
		if (!json_is_object(v)) {
			rc = wrong_type(what, "context", "an object", v, err);
			goto fail;
		}
		/* shared, not copied: the input document is discarded after normalisation */
		json_object_set(out, "context", (json_t *)v);
	}
	v = json_object_get(in, "sdk");
	if (v && json_is_object(v))
		json_object_set(out, "sdk", (json_t *)v);
	if (!json_object_get(out, "message") && !json_object_get(out, "exception")) {
		rc = ac_error_set(err, AC_EINVAL, "invalid_event",
				  "%s: an event needs a 'message' or an 'exception'", what);
		goto fail;
	}
	if (d) {
		set_default(out, "system", d->system);
		set_default(out, "component", d->component);
		set_default(out, "release", d->release);
		set_default(out, "environment", d->environment);
	}
	if (strcmp(source, "sentry") && strcmp(source, "otlp"))
		keep_unknown_fields(out, in);
	json_object_set_new(out, "source", json_string(source));
	(void)lim; /* the serialised size is checked once, when the job is prepared */
	return out;
fail:
	json_decref(out);
	return NULL;
}

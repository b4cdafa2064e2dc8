/*
 * sentry.c — the Sentry ingest protocol: envelopes (/api/<project>/envelope/), single events
 * (/api/<project>/store/) and the X-Sentry-Auth header.
 *
 * Envelope wire format: a JSON header line, then items; each item is a JSON header line
 * ({"type": ..., "length": N?}) followed by its payload — exactly N bytes when `length` is
 * given (then an optional newline), otherwise up to the next newline or the end. `event`
 * items become stored events; every other item type is counted, and log, user_report,
 * feedback, attachment and client_report items are handled by envelope_items.c. A Sentry event is converted to the native
 * event shape here and then normalised by event.c like any other event.
 */
#include "core/common.h"
#include "collector/internal.h"

#include <ctype.h>
#include <strings.h>

void sentry_parse_auth_header(const char *value, struct sentry_auth *out)
{
	const char *p = value;

	out->key[0] = '\0';
	if (!p)
		return;
	while (*p == ' ')
		p++;
	if (!strncasecmp(p, "Sentry", 6) && (p[6] == ' ' || p[6] == '\t'))
		p += 6;
	while (*p) {
		const char *k, *v;
		size_t kn, vn;
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		k = p;
		while (*p && *p != '=' && *p != ',')
			p++;
		kn = (size_t)(p - k);
		if (*p != '=')
			continue;
		v = ++p;
		while (*p && *p != ',')
			p++;
		vn = (size_t)(p - v);
		while (vn && v[vn - 1] == ' ')
			vn--;
		if (kn == 10 && !strncmp(k, "sentry_key", 10) && vn < sizeof out->key) {
			memcpy(out->key, v, vn);
			out->key[vn] = '\0';
		}
	}
}

int sentry_dsn_key(const char *dsn, char *key, size_t keylen)
{
	const char *p = strstr(dsn, "://"), *at, *colon;
	size_t n;

	if (!p)
		return AC_EINVAL;
	p += 3;
	at = strchr(p, '@');
	if (!at)
		return AC_EINVAL;
	colon = memchr(p, ':', (size_t)(at - p));
	n = (size_t)((colon ? colon : at) - p);
	if (n == 0 || n >= keylen)
		return AC_EINVAL;
	memcpy(key, p, n);
	key[n] = '\0';
	return 0;
}

/* The event's message: `message` as a string, else the `formatted` text of a logentry (or
 * of a `message` object), else its template formatted with its params (logentry.c). The
 * template and params are kept in context.logentry: the template is the grouping input. */
static json_t *sentry_message(const json_t *sev, json_t *ctx, size_t max)
{
	const json_t *m = json_object_get(sev, "message"), *le = json_object_get(sev, "logentry");
	const json_t *obj = json_is_object(le) ? le : json_is_object(m) ? m : NULL;
	const char *tmpl, *formatted;
	const json_t *params;
	char *text;
	json_t *out;

	if (json_is_string(m) && !obj)
		return json_incref((json_t *)m);
	if (!obj)
		return NULL;
	tmpl = json_string_value(json_object_get(obj, "message"));
	formatted = json_string_value(json_object_get(obj, "formatted"));
	params = json_object_get(obj, "params");
	if (tmpl && (formatted || (params && !json_is_null(params)))) {
		json_t *keep = json_pack("{s:s}", "message", tmpl);
		if (params && !json_is_null(params))
			json_object_set(keep, "params", (json_t *)params);
		json_object_set_new(ctx, "logentry", keep);
	}
	if (formatted)
		return json_string(formatted);
	if (!tmpl)
		return json_is_string(m) ? json_incref((json_t *)m) : NULL;
	text = logentry_format(tmpl, params, max);
	out = json_string(text ? text : tmpl);
	free(text);
	return out;
}

static json_t *sentry_frame(const json_t *f)
{
	json_t *nf = json_object();
	const json_t *v;

	if (json_is_string(v = json_object_get(f, "function")))
		json_object_set(nf, "function", (json_t *)v);
	if (json_is_string(v = json_object_get(f, "module")))
		json_object_set(nf, "module", (json_t *)v);
	if (json_is_string(v = json_object_get(f, "filename")) ||
	    json_is_string(v = json_object_get(f, "abs_path")))
		json_object_set(nf, "file", (json_t *)v);
	if (json_is_integer(v = json_object_get(f, "lineno")))
		json_object_set(nf, "line", (json_t *)v);
	if (json_is_integer(v = json_object_get(f, "colno")))
		json_object_set(nf, "column", (json_t *)v);
	if (json_is_boolean(v = json_object_get(f, "in_app")))
		json_object_set(nf, "in_app", (json_t *)v);
	if (json_is_string(v = json_object_get(f, "package")))
		json_object_set(nf, "package", (json_t *)v);
	if (json_is_string(v = json_object_get(f, "instruction_addr")))
		json_object_set(nf, "address", (json_t *)v);
	return nf;
}

/* The exception that was raised is the last of exception.values (Sentry's order). */
static int sentry_exception(json_t *native, const json_t *sev, const char *what,
			    struct ac_error *err)
{
	const json_t *ex = json_object_get(sev, "exception"), *values, *main, *st, *frames, *f, *v;
	json_t *ne, *nf;
	size_t i;

	if (!ex || json_is_null(ex))
		return 0;
	values = json_is_array(ex) ? ex : json_object_get(ex, "values");
	if (!json_is_array(values))
		return ac_error_set(err, AC_EINVAL, "invalid_field",
				    "%s: field 'exception.values' must be an array", what);
	if (json_array_size(values) == 0)
		return 0;
	main = json_array_get(values, json_array_size(values) - 1);
	if (!json_is_object(main))
		return ac_error_set(err, AC_EINVAL, "invalid_field",
				    "%s: field 'exception.values[]' must be an object", what);
	if (!json_is_string(json_object_get(main, "type")) ||
	    !*json_string_value(json_object_get(main, "type"))) {
		/* captureMessage with attach_stacktrace: a synthetic exception without a type is
		 * a message with a stack, not an error; keep the stack in context */
		if ((st = json_object_get(main, "stacktrace")) && json_is_object(st))
			json_object_set(json_object_get(native, "context"), "stacktrace", (json_t *)st);
		return 0;
	}
	ne = json_object();
	if (json_is_string(v = json_object_get(main, "type")))
		json_object_set(ne, "type", (json_t *)v);
	if (json_is_string(v = json_object_get(main, "value")))
		json_object_set(ne, "value", (json_t *)v);
	if (json_is_string(v = json_object_get(main, "module")))
		json_object_set(ne, "module", (json_t *)v);
	st = json_object_get(main, "stacktrace");
	frames = json_is_object(st) ? json_object_get(st, "frames") : NULL;
	if (json_is_array(frames)) {
		nf = json_array();
		json_array_foreach(frames, i, f)
			if (json_is_object(f))
				json_array_append_new(nf, sentry_frame(f));
		json_object_set_new(ne, "frames", nf);
	}
	json_object_set_new(native, "exception", ne);
	if (json_array_size(values) > 1) {
		json_t *chain = json_array();
		json_array_foreach(values, i, f) {
			if (i + 1 == json_array_size(values) || !json_is_object(f))
				continue;
			json_t *c = json_object();
			if (json_is_string(v = json_object_get(f, "type")))
				json_object_set(c, "type", (json_t *)v);
			if (json_is_string(v = json_object_get(f, "value")))
				json_object_set(c, "value", (json_t *)v);
			json_array_append_new(chain, c);
		}
		json_object_set_new(json_object_get(native, "context"), "exception_chain", chain);
	}
	return 0;
}

static json_t *sentry_tags(const json_t *tags)
{
	json_t *out = json_object();
	const json_t *v;
	const char *k;
	size_t i;

	if (json_is_object(tags)) {
		json_object_foreach((json_t *)tags, k, v)
			if (json_is_string(v))
				json_object_set(out, k, (json_t *)v);
	} else if (json_is_array(tags)) {
		json_array_foreach(tags, i, v) {
			const json_t *tk = json_array_get(v, 0), *tv = json_array_get(v, 1);
			if (json_is_string(tk) && json_is_string(tv))
				json_object_set(out, json_string_value(tk), (json_t *)tv);
		}
	}
	return out;
}

json_t *sentry_event_to_native(const json_t *sev, const char *what, struct ac_error *err)
{
	json_t *native, *ctx, *tags;
	const json_t *v;
	const char *s;

	if (!json_is_object(sev)) {
		ac_error_set(err, AC_EINVAL, "invalid_event", "%s: a Sentry event must be a JSON object", what);
		return NULL;
	}
	native = json_object();
	ctx = json_object();
	json_object_set_new(native, "context", ctx);
	static const char *const same[] = { "event_id", "timestamp", "level", "release",
					    "environment", "logger", "platform", "fingerprint", "sdk" };
	for (size_t i = 0; i < AC_ARRAY_SIZE(same); i++)
		if ((v = json_object_get(sev, same[i])) && !json_is_null(v))
			json_object_set(native, same[i], (json_t *)v);
	if ((v = sentry_message(sev, ctx, 64 * 1024)))
		json_object_set_new(native, "message", (json_t *)v);
	if (sentry_exception(native, sev, what, err)) {
		json_decref(native);
		return NULL;
	}
	tags = sentry_tags(json_object_get(sev, "tags"));
	if ((s = json_string_value(json_object_get(sev, "server_name"))))
		json_object_set_new(tags, "server_name", json_string(s));
	if ((s = json_string_value(json_object_get(tags, "system"))))
		json_object_set_new(native, "system", json_string(s));
	if ((s = json_string_value(json_object_get(tags, "component"))))
		json_object_set_new(native, "component", json_string(s));
	else if ((s = json_string_value(json_object_get(sev, "logger"))))
		json_object_set_new(native, "component", json_string(s));
	json_object_set_new(native, "tags", tags);
	static const char *const ctxs[] = { "contexts", "extra", "user", "request", "breadcrumbs",
					    "modules", "transaction", "server_name", "dist" };
	for (size_t i = 0; i < AC_ARRAY_SIZE(ctxs); i++)
		if ((v = json_object_get(sev, ctxs[i])) && !json_is_null(v))
			json_object_set(ctx, ctxs[i], (json_t *)v);
	if (!json_object_get(native, "message") && !json_object_get(native, "exception"))
		json_object_set_new(native, "message", json_string("(no message)"));
	return native;
}

static int store_sentry_event(const json_t *sev, const struct event_defaults *d,
			      const struct ingest_limits *lim, json_t *out, const char *what,
			      struct ac_error *err)
{
	json_t *native = sentry_event_to_native(sev, what, err), *n;

	if (!native)
		return err ? err->code : AC_EINVAL;
	n = event_normalize(native, "sentry", d, lim, what, err);
	json_decref(native);
	if (!n)
		return err ? err->code : AC_EINVAL;
	json_array_append_new(out, n);
	return 0;
}

int sentry_parse_store(const char *body, size_t len, const struct event_defaults *d,
		       const struct ingest_limits *lim, json_t *out, struct ac_error *err)
{
	json_t *sev;
	char *plain = NULL;
	int rc;

	/* raven-era SDKs: base64 of zlib data without Content-Encoding (see decode.c) */
	if ((rc = decode_sniff_legacy(body, len, lim->max_decoded_bytes, &plain, &len, err)))
		return rc;
	if (plain)
		body = plain;
	if (len > lim->max_event_bytes) {
		free(plain);
		return ac_error_set(err, AC_ETOOBIG, "event_too_large",
				    "event is %zu bytes, more than the limit of %zu", len,
				    lim->max_event_bytes);
	}
	sev = json_parse_checked(body, len, "body", err);
	free(plain);
	if (!sev)
		return AC_EINVAL;
	rc = store_sentry_event(sev, d, lim, out, "event", err);
	json_decref(sev);
	return rc;
}

/* Reads one line [p, end) -> [*line, *line + *n); returns the position after the newline. */
static const char *next_line(const char *p, const char *end, const char **line, size_t *n)
{
	const char *nl = memchr(p, '\n', (size_t)(end - p));

	*line = p;
	*n = nl ? (size_t)(nl - p) : (size_t)(end - p);
	if (*n && p[*n - 1] == '\r')
		(*n)--;
	return nl ? nl + 1 : end;
}

static void count_item(json_t *counts, const char *type)
{
	json_t *c = json_object_get(counts, type);
	json_object_set_new(counts, type, json_integer((c ? json_integer_value(c) : 0) + 1));
}

static int envelope_header(const char *line, size_t n, char dsn_key[65], char event_id[65],
			   struct ac_error *err)
{
	json_t *h = json_parse_checked(line, n, "envelope header", err);
	const char *s;
	int rc = 0;

	if (!h)
		return AC_EINVAL;
	if (!json_is_object(h)) {
		rc = ac_error_set(err, AC_EINVAL, "invalid_envelope", "envelope header must be a JSON object");
		goto out;
	}
	if ((s = json_string_value(json_object_get(h, "dsn"))) && sentry_dsn_key(s, dsn_key, 65)) {
		rc = ac_error_set(err, AC_EINVAL, "invalid_envelope", "envelope header has an invalid dsn");
		goto out;
	}
	if ((s = json_string_value(json_object_get(h, "event_id"))))
		snprintf(event_id, 65, "%s", s);
out:
	json_decref(h);
	return rc;
}

int sentry_parse_envelope(const char *body, size_t len, const struct event_defaults *d,
			  const struct ingest_limits *lim, json_t *out, json_t *counts,
			  struct envelope_side *es, char dsn_key[65], char event_id[65],
			  struct ac_error *err)
{
	const char *p = body, *end = body + len, *line;
	size_t n;
	unsigned item = 0;
	int rc;

	dsn_key[0] = event_id[0] = '\0';
	p = next_line(p, end, &line, &n);
	if (n == 0)
		return ac_error_set(err, AC_EINVAL, "invalid_envelope", "envelope has no header line");
	if ((rc = envelope_header(line, n, dsn_key, event_id, err)))
		return rc;
	while (p < end) {
		char what[48];
		json_t *ih;
		const json_t *lenv;
		const char *type, *payload;
		size_t plen;

		p = next_line(p, end, &line, &n);
		if (n == 0)
			continue; /* blank line between items or at the end */
		item++;
		snprintf(what, sizeof what, "envelope item %u", item);
		ih = json_parse_checked(line, n, what, err);
		if (!ih)
			return AC_EINVAL;
		type = json_string_value(json_object_get(ih, "type"));
		if (!json_is_object(ih) || !type) {
			json_decref(ih);
			return ac_error_set(err, AC_EINVAL, "invalid_envelope",
					    "%s: item header needs a string 'type'", what);
		}
		lenv = json_object_get(ih, "length");
		if (lenv && !json_is_null(lenv)) {
			if (!json_is_integer(lenv) || json_integer_value(lenv) < 0 ||
			    (size_t)json_integer_value(lenv) > (size_t)(end - p)) {
				json_decref(ih);
				return ac_error_set(err, AC_EINVAL, "invalid_envelope",
						    "%s: 'length' is negative or runs past the end of the body", what);
			}
			payload = p;
			plen = (size_t)json_integer_value(lenv);
			p += plen;
			if (p < end && *p == '\r')
				p++;
			if (p < end && *p == '\n')
				p++;
		} else {
			p = next_line(p, end, &payload, &plen);
		}
		if (!strcmp(type, "event")) {
			json_t *sev;
			if (plen > lim->max_event_bytes) {
				json_decref(ih);
				return ac_error_set(err, AC_ETOOBIG, "event_too_large",
						    "%s: event is %zu bytes, more than the limit of %zu",
						    what, plen, lim->max_event_bytes);
			}
			sev = json_parse_checked(payload, plen, what, err);
			if (json_is_object(sev) && !json_object_get(sev, "event_id") && event_id[0])
				json_object_set_new(sev, "event_id", json_string(event_id));
			rc = sev ? store_sentry_event(sev, d, lim, out, what, err) : AC_EINVAL;
			json_decref(sev);
			if (rc) {
				json_decref(ih);
				return rc;
			}
			if (!event_id[0]) {
				const char *id = json_string_value(json_object_get(
					json_array_get(out, json_array_size(out) - 1), "event_id"));
				snprintf(event_id, 65, "%s", id ? id : "");
			}
		} else {
			count_item(counts, type);
			rc = envelope_other_item(type, ih, payload, plen, event_id, d, lim, out, es,
						 what, err);
			if (rc) {
				json_decref(ih);
				return rc;
			}
		}
		json_decref(ih);
	}
	return 0;
}

/*
 * logentry.c — formatting a Sentry `logentry` ({message, params}) the way Sentry does when
 * the client sent no `formatted` text (Python's logging integration, sentry-cli -m/-a).
 *
 * Two template styles:
 *   printf/Python %-style  %s %d %i %r %f %% (flags, width and precision accepted, e.g.
 *                          %5.2f), %(name)s with an object of params;
 *   brace style            {} (next param), {0} (by position), {name} (by key), {{ and }}.
 * %-style is tried first; brace style applies when the template has no %-conversion. A
 * conversion without a matching param is copied as written (Sentry does the same rather than
 * failing). Rendering: %s/{} give strings as is and other JSON as compact JSON; %d/%i
 * truncate numbers to integers; %f prints a number with the given precision (6 by default);
 * %r gives Python's repr ('text' in single quotes). The output is bounded by `max`.
 */
#include "core/common.h"
#include "core/buf.h"
#include "collector/internal.h"

#include <ctype.h>
#include <math.h>

static int put_str(struct ac_buf *b, const char *s)
{
	return ac_buf_append(b, s, strlen(s));
}

static int put_json(struct ac_buf *b, const json_t *v, char conv, int prec)
{
	char tmp[64];

	switch (conv) {
	case 'd': case 'i': case 'u':
		if (json_is_integer(v))
			snprintf(tmp, sizeof tmp, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		else if (json_is_real(v) && isfinite(json_real_value(v)) &&
			 fabs(json_real_value(v)) < 9e18)
			snprintf(tmp, sizeof tmp, "%lld", (long long)json_real_value(v));
		else if (json_is_boolean(v))
			snprintf(tmp, sizeof tmp, "%d", json_is_true(v) ? 1 : 0);
		else
			break;
		return put_str(b, tmp);
	case 'f': case 'F': case 'e': case 'E': case 'g': case 'G':
		if (!json_is_number(v))
			break;
		snprintf(tmp, sizeof tmp, conv == 'e' ? "%.*e" : conv == 'E' ? "%.*E"
					  : conv == 'g' ? "%.*g" : conv == 'G' ? "%.*G" : "%.*f",
			 prec < 0 ? 6 : prec > 30 ? 30 : prec, json_number_value(v));
		return put_str(b, tmp);
	case 'r':
		if (json_is_string(v)) {
			int rc = ac_buf_append(b, "'", 1);
			return rc ? rc : (rc = put_str(b, json_string_value(v))) ? rc : ac_buf_append(b, "'", 1);
		}
		if (json_is_null(v))
			return put_str(b, "None");
		if (json_is_boolean(v))
			return put_str(b, json_is_true(v) ? "True" : "False");
		break;
	default:
		break;
	}
	if (json_is_string(v))
		return put_str(b, json_string_value(v));
	if (json_is_null(v))
		return put_str(b, "None");
	char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	int rc = s ? put_str(b, s) : AC_ENOMEM;
	free(s);
	return rc;
}

/* One %-conversion at t (t[0] == '%'); *used counts params consumed. Returns the length of
 * the conversion text, 0 when it is not one (copy the '%' literally). */
static size_t percent_conv(const char *t, const json_t *params, size_t *next, struct ac_buf *b,
			   int *rc, bool *converted)
{
	const char *p = t + 1, *name = NULL;
	size_t name_len = 0;
	int prec = -1;
	const json_t *v;

	if (*p == '%') {
		*rc = ac_buf_append(b, "%", 1);
		return 2;
	}
	if (*p == '(') {
		const char *e = strchr(p, ')');
		if (!e)
			return 0;
		name = p + 1;
		name_len = (size_t)(e - name);
		p = e + 1;
	}
	while (*p && strchr("-+ #0", *p))
		p++;
	while (isdigit((unsigned char)*p))
		p++;
	if (*p == '.') {
		p++;
		prec = 0;
		while (isdigit((unsigned char)*p) && prec < 1000)
			prec = prec * 10 + (*p++ - '0');
	}
	if (!*p || !strchr("sdirfFeEgGuxXoc", *p))
		return 0;
	*converted = true;
	if (name) {
		char key[128];
		snprintf(key, sizeof key, "%.*s", (int)(name_len < 127 ? name_len : 127), name);
		v = json_is_object(params) ? json_object_get(params, key) : NULL;
	} else {
		v = json_is_array(params) ? json_array_get(params, (*next)++) : NULL;
	}
	if (!v)
		*rc = ac_buf_append(b, t, (size_t)(p + 1 - t));
	else
		*rc = put_json(b, v, *p, prec);
	return (size_t)(p + 1 - t);
}

static int format_percent(const char *t, const json_t *params, struct ac_buf *b, bool *converted)
{
	size_t next = 0;
	int rc = 0;

	while (*t && !rc) {
		const char *pct = strchr(t, '%');
		size_t n;
		if (!pct)
			return put_str(b, t);
		if ((rc = ac_buf_append(b, t, (size_t)(pct - t))))
			break;
		n = percent_conv(pct, params, &next, b, &rc, converted);
		if (!n) {
			rc = ac_buf_append(b, "%", 1);
			n = 1;
		}
		t = pct + n;
	}
	return rc;
}

static int format_brace(const char *t, const json_t *params, struct ac_buf *b)
{
	size_t next = 0;
	int rc = 0;

	while (*t && !rc) {
		if ((t[0] == '{' && t[1] == '{') || (t[0] == '}' && t[1] == '}')) {
			rc = ac_buf_append(b, t, 1);
			t += 2;
			continue;
		}
		const char *e = t[0] == '{' ? strchr(t, '}') : NULL;
		if (!e || e - t > 128 || memchr(t + 1, '{', (size_t)(e - t - 1))) {
			rc = ac_buf_append(b, t, 1);
			t++;
			continue;
		}
		char key[130];
		const json_t *v = NULL;
		snprintf(key, sizeof key, "%.*s", (int)(e - t - 1), t + 1);
		char *colon = strchr(key, ':');   /* {0:>5} — the spec is ignored */
		if (colon)
			*colon = '\0';
		char *bang = strchr(key, '!');    /* {0!r} */
		char conv = bang && bang[1] == 'r' ? 'r' : 's';
		if (bang)
			*bang = '\0';
		if (!key[0])
			v = json_is_array(params) ? json_array_get(params, next++) : NULL;
		else if (isdigit((unsigned char)key[0])) {
			int64_t i;
			if (!ac_parse_i64(key, &i) && i >= 0)
				v = json_is_array(params) ? json_array_get(params, (size_t)i) : NULL;
		} else if (json_is_object(params))
			v = json_object_get(params, key);
		rc = v ? put_json(b, v, conv, -1) : ac_buf_append(b, t, (size_t)(e + 1 - t));
		t = e + 1;
	}
	return rc;
}

char *logentry_format(const char *tmpl, const json_t *params, size_t max)
{
	struct ac_buf b;
	bool converted = false;
	size_t len;
	int rc;

	if (!tmpl)
		return NULL;
	ac_buf_init(&b, max);
	if (!params || json_is_null(params) ||
	    (json_is_array(params) && !json_array_size(params) && !strchr(tmpl, '%')))
		rc = put_str(&b, tmpl);
	else {
		rc = format_percent(tmpl, params, &b, &converted);
		if (!rc && !converted && strchr(tmpl, '{')) {
			ac_buf_release(&b);
			ac_buf_init(&b, max);
			rc = format_brace(tmpl, params, &b);
		}
	}
	if (!rc && !b.data)
		rc = ac_buf_append(&b, "", 0);
	if (rc) {
		ac_buf_release(&b);
		return NULL;
	}
	return ac_buf_detach(&b, &len);
}

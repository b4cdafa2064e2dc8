/*
 * rt_schema.c — request bodies checked against the blueprint's schema (the JSON-schema-lite of
 * the blueprint language): type, required, properties (recursively), items, enum, format
 * (email, date, date-time, uri, uuid, ipv4), minimum/maximum, minLength/maxLength,
 * minItems/maxItems and pattern (PCRE2). The first violation is reported with the dotted path
 * of the field ("title", "tags[2]", "owner.email") so the API answers 400 naming it.
 *
 * The schema is the one the generator put into the APIEndpoint's config (body_schema); the
 * walk is depth-bounded and allocates nothing except a compiled pattern, freed at once.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "rt_int.h"

#define SCHEMA_MAX_DEPTH 32

static const char *json_kind(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "an array";
	case JSON_STRING: return "a string";
	case JSON_INTEGER: return "an integer";
	case JSON_REAL: return "a number";
	case JSON_TRUE:
	case JSON_FALSE: return "a boolean";
	default: return "null";
	}
}

static bool type_ok(const char *type, const json_t *v)
{
	if (!strcmp(type, "object")) return json_is_object(v);
	if (!strcmp(type, "array")) return json_is_array(v);
	if (!strcmp(type, "string")) return json_is_string(v);
	if (!strcmp(type, "number")) return json_is_number(v);
	if (!strcmp(type, "integer"))
		return json_is_integer(v) ||
		       (json_is_real(v) && json_real_value(v) == floor(json_real_value(v)));
	if (!strcmp(type, "boolean")) return json_is_boolean(v);
	if (!strcmp(type, "null")) return json_is_null(v);
	return true; /* unknown type words do not reject */
}

static bool digits(const char *s, int n)
{
	for (int i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return false;
	return true;
}

static bool is_date(const char *s)
{
	return strlen(s) >= 10 && digits(s, 4) && s[4] == '-' && digits(s + 5, 2) && s[7] == '-' &&
	       digits(s + 8, 2) && atoi(s + 5) >= 1 && atoi(s + 5) <= 12 && atoi(s + 8) >= 1 &&
	       atoi(s + 8) <= 31;
}

static bool is_date_time(const char *s)
{
	const char *p = s + 19;

	if (strlen(s) < 20 || !is_date(s) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
	    !digits(s + 11, 2) || s[13] != ':' || !digits(s + 14, 2) || s[16] != ':' ||
	    !digits(s + 17, 2))
		return false;
	if (*p == '.') {
		p++;
		if (!isdigit((unsigned char)*p))
			return false;
		while (isdigit((unsigned char)*p))
			p++;
	}
	if ((*p == 'Z' || *p == 'z') && !p[1])
		return true;
	return (*p == '+' || *p == '-') && digits(p + 1, 2) && p[3] == ':' && digits(p + 4, 2) &&
	       !p[6];
}

static bool is_email(const char *s)
{
	const char *at = strchr(s, '@');

	return at && at != s && !strchr(at + 1, '@') && strchr(at + 1, '.') && at[1] != '.' &&
	       s[strlen(s) - 1] != '.' && !strpbrk(s, " \t\r\n");
}

static bool is_uuid(const char *s)
{
	if (strlen(s) != 36)
		return false;
	for (int i = 0; i < 36; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;
		if (dash ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
			return false;
	}
	return true;
}

static bool is_uri(const char *s)
{
	const char *colon = strchr(s, ':');

	if (!colon || colon == s || !isalpha((unsigned char)s[0]) || strpbrk(s, " \t\r\n"))
		return false;
	for (const char *p = s; p < colon; p++)
		if (!isalnum((unsigned char)*p) && *p != '+' && *p != '-' && *p != '.')
			return false;
	return colon[1] != '\0';
}

static bool format_ok(const char *fmt, const char *s)
{
	struct in_addr a;

	if (!strcmp(fmt, "email")) return is_email(s);
	if (!strcmp(fmt, "date")) return strlen(s) == 10 && is_date(s);
	if (!strcmp(fmt, "date-time")) return is_date_time(s);
	if (!strcmp(fmt, "uri") || !strcmp(fmt, "url")) return is_uri(s);
	if (!strcmp(fmt, "uuid")) return is_uuid(s);
	if (!strcmp(fmt, "ipv4")) return inet_pton(AF_INET, s, &a) == 1;
	return true; /* formats this runtime does not know are not checked */
}

static bool pattern_ok(const char *pattern, const char *s)
{
	int code;
	PCRE2_SIZE off;
	pcre2_code *re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, PCRE2_UTF, &code,
				       &off, NULL);
	pcre2_match_data *md;
	int rc;

	if (!re)
		return true; /* validation already rejected bad patterns */
	md = pcre2_match_data_create_from_pattern(re, NULL);
	rc = md ? pcre2_match(re, (PCRE2_SPTR)s, strlen(s), 0, 0, md, NULL) : 0;
	pcre2_match_data_free(md);
	pcre2_code_free(re);
	return rc >= 0;
}

static int fail(char *why, size_t n, const char *field, const char *fmt, const char *a,
		const char *b)
{
	char msg[200];

	snprintf(msg, sizeof msg, fmt, a, b);
	snprintf(why, n, "%s %s", field[0] ? field : "body", msg);
	return -1;
}

static const char *article(const char *type)
{
	static const char *const names[][2] = {
		{ "object", "an object" }, { "array", "an array" }, { "integer", "an integer" },
		{ "string", "a string" }, { "number", "a number" }, { "boolean", "a boolean" },
	};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (!strcmp(names[i][0], type))
			return names[i][1];
	return type;
}

static int check(const json_t *schema, const json_t *v, bool partial, const char *field,
		 int depth, char *why, size_t n, char *fbuf, size_t fn);

static int check_object(const json_t *schema, const json_t *v, bool partial, const char *field,
			int depth, char *why, size_t n, char *fbuf, size_t fn)
{
	const json_t *props = json_object_get(schema, "properties"), *req, *sub;
	const char *key;
	size_t i;
	char path[256];

	req = json_object_get(schema, "required");
	json_array_foreach(req, i, sub) {
		const char *name = json_string_value(sub);
		if (partial || !name || json_object_get(v, name))
			continue;
		snprintf(path, sizeof path, "%s%s%s", field, field[0] ? "." : "", name);
		snprintf(fbuf, fn, "%s", path);
		return fail(why, n, path, "is required%s%s", "", "");
	}
	json_object_foreach((json_t *)props, key, sub) {
		const json_t *val = json_object_get(v, key);
		if (!val)
			continue;
		snprintf(path, sizeof path, "%s%s%s", field, field[0] ? "." : "", key);
		if (check(sub, val, false, path, depth + 1, why, n, fbuf, fn))
			return -1;
	}
	return 0;
}

static int check(const json_t *schema, const json_t *v, bool partial, const char *field,
		 int depth, char *why, size_t n, char *fbuf, size_t fn)
{
	const char *type = json_string_value(json_object_get(schema, "type"));
	const json_t *en = json_object_get(schema, "enum"), *x;
	char num[64], path[256];
	size_t i;

	if (!json_is_object(schema) || depth > SCHEMA_MAX_DEPTH)
		return 0;
	snprintf(fbuf, fn, "%s", field);
	if (type && !type_ok(type, v))
		return fail(why, n, field, "must be %s, found %s", article(type), json_kind(v));
	if (json_is_array(en) && json_array_size(en)) {
		bool found = false;
		json_array_foreach(en, i, x)
			found = found || json_equal((json_t *)x, (json_t *)v);
		if (!found)
			return fail(why, n, field, "is not one of the allowed values%s%s", "", "");
	}
	if (json_is_number(v)) {
		double d = json_number_value(v);
		const json_t *lo = json_object_get(schema, "minimum"), *hi = json_object_get(schema, "maximum");
		if (json_is_number(lo) && d < json_number_value(lo)) {
			snprintf(num, sizeof num, "%.15g", json_number_value(lo));
			return fail(why, n, field, "must be at least %s%s", num, "");
		}
		if (json_is_number(hi) && d > json_number_value(hi)) {
			snprintf(num, sizeof num, "%.15g", json_number_value(hi));
			return fail(why, n, field, "must be at most %s%s", num, "");
		}
	}
	if (json_is_string(v)) {
		const char *s = json_string_value(v), *fmt = json_string_value(json_object_get(schema, "format"));
		const char *pat = json_string_value(json_object_get(schema, "pattern"));
		const json_t *mn = json_object_get(schema, "minLength"), *mx = json_object_get(schema, "maxLength");
		size_t len = json_string_length(v);
		if (json_is_integer(mn) && (json_int_t)len < json_integer_value(mn)) {
			snprintf(num, sizeof num, "%lld", (long long)json_integer_value(mn));
			return fail(why, n, field, "must be at least %s characters long%s", num, "");
		}
		if (json_is_integer(mx) && (json_int_t)len > json_integer_value(mx)) {
			snprintf(num, sizeof num, "%lld", (long long)json_integer_value(mx));
			return fail(why, n, field, "must be at most %s characters long%s", num, "");
		}
		if (fmt && !format_ok(fmt, s))
			return fail(why, n, field, "is not a valid %s%s", fmt, "");
		if (pat && !pattern_ok(pat, s))
			return fail(why, n, field, "does not match the pattern %s%s", pat, "");
	}
	if (json_is_array(v)) {
		const json_t *items = json_object_get(schema, "items");
		const json_t *mn = json_object_get(schema, "minItems"), *mx = json_object_get(schema, "maxItems");
		if (json_is_integer(mn) && (json_int_t)json_array_size(v) < json_integer_value(mn)) {
			snprintf(num, sizeof num, "%lld", (long long)json_integer_value(mn));
			return fail(why, n, field, "needs at least %s items%s", num, "");
		}
		if (json_is_integer(mx) && (json_int_t)json_array_size(v) > json_integer_value(mx)) {
			snprintf(num, sizeof num, "%lld", (long long)json_integer_value(mx));
			return fail(why, n, field, "allows at most %s items%s", num, "");
		}
		json_array_foreach(v, i, x) {
			snprintf(path, sizeof path, "%s[%zu]", field, i);
			if (items && check(items, x, false, path, depth + 1, why, n, fbuf, fn))
				return -1;
		}
	}
	if (json_is_object(v))
		return check_object(schema, v, partial, field, depth, why, n, fbuf, fn);
	return 0;
}

int rt_schema_check(const json_t *schema, const json_t *body, bool partial, char *field,
		    size_t fn, char *why, size_t n)
{
	field[0] = why[0] = '\0';
	return check(schema, body, partial, "", 0, why, n, field, fn);
}

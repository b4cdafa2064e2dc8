/*
 * event_fast.c — the ingest fast path: one native event document (JSON text) straight to a
 * stored row, without building a jansson tree.
 *
 * Why: parsing a 1 KB event into a jansson tree, normalising it into a second tree and
 * serialising that costs ~40 µs of CPU; it was 80 % of the collector's work per batched
 * event. This file does the same job in one validating scan plus one rewrite, for the shape
 * almost every client sends.
 *
 * How: scan_value() checks a JSON text against the grammar jansson accepts with
 * JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL (strings: UTF-8, escapes, surrogate pairs; numbers;
 * nesting <= 64; duplicate keys). The top-level object's members are then classified and
 * rewritten into the stored shape described in internal.h, following event_normalize() rule
 * for rule: known scalars are re-emitted, the exception and its frames are rebuilt from their
 * known fields, tags and fingerprint are converted, context (and unknown members, moved to
 * context.extra) are copied with insignificant whitespace removed.
 *
 * The fast path never reports an error. Whenever a document is anything but a plain, valid
 * event — bad syntax, a wrong field type, an escaped key, a huge number, a timestamp it cannot
 * parse — it declines (returns 0) and the caller runs the general path (jansson +
 * event_normalize), which stores the same event or names the problem. Equivalence of the two
 * paths is what tests/unit/check_collector.c and tests/fuzz/fuzz_fast_event.c check: for any
 * input the fast path accepts, the general path must accept it and store the same JSON value.
 */
#include "core/common.h"
#include "collector/internal.h"

#include <math.h>

#define FAST_MAX_DEPTH 64
#define FAST_MAX_KEYS 32      /* members per object; duplicate keys are checked pairwise */
#define FAST_MAX_UNKNOWN 16   /* unknown top-level members (moved to context.extra) */
#define FAST_MAX_STRING 65536 /* as event.c's MAX_STRING_FIELD */
#define FAST_MAX_NUMBER 24    /* longer number texts go the general path (overflow rules) */

struct span {
	const char *p;
	size_t n;
};

struct scan {
	const char *p, *end;
	unsigned reals;   /* non-integer numbers seen: jansson may print each longer (%.17g) */
};

/* ------------------------------------------------------------------ the validating scanner */

static void skip_ws(struct scan *s)
{
	while (s->p < s->end && (*s->p == ' ' || *s->p == '\n' || *s->p == '\r' || *s->p == '\t'))
		s->p++;
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Four hex digits at p (p + 4 <= end checked by the caller); -1 if not hex. */
static long hex4(const char *p)
{
	long v = 0;
	for (int i = 0; i < 4; i++) {
		int h = hex_value(p[i]);
		if (h < 0)
			return -1;
		v = v * 16 + h;
	}
	return v;
}

/* After a backslash at s->p[-1]: one escape, including a \uD8xx\uDCxx pair. */
static bool scan_escape(struct scan *s)
{
	long cp, lo;

	if (s->p >= s->end)
		return false;
	switch (*s->p++) {
	case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
		return true;
	case 'u':
		break;
	default:
		return false;
	}
	if (s->end - s->p < 4 || (cp = hex4(s->p)) < 0)
		return false;
	s->p += 4;
	if (cp >= 0xDC00 && cp <= 0xDFFF)
		return false;
	if (cp < 0xD800 || cp > 0xDBFF)
		return true;
	if (s->end - s->p < 6 || s->p[0] != '\\' || s->p[1] != 'u' || (lo = hex4(s->p + 2)) < 0 ||
	    lo < 0xDC00 || lo > 0xDFFF)
		return false;
	s->p += 6;
	return true;
}

/* Bytes that end a run of plain string characters: the quote, the backslash, control
 * characters (invalid) and non-ASCII bytes (the string then gets a UTF-8 check). */
static const bool string_stop[256] = {
	[0 ... 0x1f] = true, ['"'] = true, ['\\'] = true, [0x80 ... 0xff] = true,
};

/* Skips whole 8-byte words of plain string characters (see string_stop); the byte loop
 * after it finds the exact stop. Strings are most of an event's bytes. */
static const char *skip_plain(const char *p, const char *end)
{
	const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;

	while (end - p >= 8) {
		uint64_t x, quote, bslash, ctrl;
		memcpy(&x, p, 8);
		quote = x ^ (ones * '"');
		bslash = x ^ (ones * '\\');
		/* a byte is zero / below 0x20 when subtracting borrows into its high bit */
		quote = (quote - ones) & ~quote;
		bslash = (bslash - ones) & ~bslash;
		ctrl = (x - ones * 0x20) & ~x;
		if ((quote | bslash | ctrl | x) & highs)
			break;
		p += 8;
	}
	return p;
}

/* A string at s->p (which is '"'). raw gets the text with its quotes; *escaped whether it
 * holds a backslash escape. */
static bool scan_string(struct scan *s, struct span *raw, bool *escaped)
{
	const char *start = s->p;
	bool high = false;

	*escaped = false;
	s->p++;
	for (;;) {
		const char *q = skip_plain(s->p, s->end);
		while (q < s->end && !string_stop[(unsigned char)*q])
			q++;
		s->p = q;
		if (q >= s->end || (unsigned char)*q < 0x20)
			return false;
		if ((unsigned char)*q >= 0x80) {
			high = true;
			s->p++;
			continue;
		}
		if (*q == '"')
			break;
		s->p++;
		*escaped = true;
		if (!scan_escape(s))
			return false;
	}
	s->p++;
	raw->p = start;
	raw->n = (size_t)(s->p - start);
	return !high || ac_utf8_valid(start, raw->n, NULL);
}

/* A JSON number; *is_int when it has no fraction or exponent. Long texts decline: jansson
 * turns integer overflow and real overflow into errors that the general path reports. */
static bool scan_number(struct scan *s, bool *is_int)
{
	const char *p = s->p, *start = s->p;

	*is_int = true;
	if (p < s->end && *p == '-')
		p++;
	if (p >= s->end || *p < '0' || *p > '9')
		return false;
	if (*p == '0')
		p++;
	else
		while (p < s->end && *p >= '0' && *p <= '9')
			p++;
	if (p < s->end && *p == '.') {
		*is_int = false;
		if (++p >= s->end || *p < '0' || *p > '9')
			return false;
		while (p < s->end && *p >= '0' && *p <= '9')
			p++;
	}
	if (p < s->end && (*p == 'e' || *p == 'E')) {
		const char *digits;
		*is_int = false;
		p++;
		if (p < s->end && (*p == '+' || *p == '-'))
			p++;
		digits = p;
		while (p < s->end && *p >= '0' && *p <= '9')
			p++;
		/* no digits is invalid; three or more may overflow (jansson: an error) */
		if (p == digits || p - digits > 2)
			return false;
	}
	if (p - start > FAST_MAX_NUMBER || (*is_int && p - start > 18))
		return false;
	s->p = p;
	s->reals += !*is_int;
	return true;
}

static bool scan_literal(struct scan *s, const char *word, size_t n)
{
	if ((size_t)(s->end - s->p) < n || memcmp(s->p, word, n))
		return false;
	s->p += n;
	return true;
}

static bool scan_value(struct scan *s, int depth);

/* Past the opening bracket at s->p; true when the container is empty (and now closed). */
static bool open_container(struct scan *s, char close)
{
	s->p++;
	skip_ws(s);
	if (s->p < s->end && *s->p == close) {
		s->p++;
		return true;
	}
	return false;
}

/* After an element of an object or array: 1 at the closing bracket (consumed), 0 after a
 * comma (the next element follows), -1 on anything else. */
static int after_element(struct scan *s, char close)
{
	skip_ws(s);
	if (s->p >= s->end)
		return -1;
	if (*s->p == close) {
		s->p++;
		return 1;
	}
	if (*s->p++ != ',')
		return -1;
	skip_ws(s);
	return 0;
}

static bool span_eq(struct span a, struct span b)
{
	return a.n == b.n && !memcmp(a.p, b.p, a.n);
}

/* An object member's key: plain (unescaped) keys only, so duplicates compare byte-wise. */
static bool scan_key(struct scan *s, struct span *key)
{
	bool escaped;

	if (s->p >= s->end || *s->p != '"' || !scan_string(s, key, &escaped) || escaped)
		return false;
	skip_ws(s);
	if (s->p >= s->end || *s->p != ':')
		return false;
	s->p++;
	skip_ws(s);
	return true;
}

static bool scan_object(struct scan *s, int depth)
{
	struct span keys[FAST_MAX_KEYS];
	unsigned n = 0;
	int next;

	if (open_container(s, '}'))
		return true;
	for (;;) {
		if (n == FAST_MAX_KEYS || !scan_key(s, &keys[n]))
			return false;
		for (unsigned i = 0; i < n; i++)
			if (span_eq(keys[i], keys[n]))
				return false;
		n++;
		if (!scan_value(s, depth))
			return false;
		if ((next = after_element(s, '}')) != 0)
			return next > 0;
	}
}

static bool scan_array(struct scan *s, int depth)
{
	if (open_container(s, ']'))
		return true;
	for (;;) {
		int next;
		if (!scan_value(s, depth))
			return false;
		if ((next = after_element(s, ']')) != 0)
			return next > 0;
	}
}

/* One value at s->p (no leading whitespace); depth counts the enclosing containers. */
static bool scan_value(struct scan *s, int depth)
{
	struct span raw;
	bool flag;

	if (s->p >= s->end)
		return false;
	switch (*s->p) {
	case '"': return scan_string(s, &raw, &flag);
	case '{': return depth < FAST_MAX_DEPTH && scan_object(s, depth + 1);
	case '[': return depth < FAST_MAX_DEPTH && scan_array(s, depth + 1);
	case 't': return scan_literal(s, "true", 4);
	case 'f': return scan_literal(s, "false", 5);
	case 'n': return scan_literal(s, "null", 4);
	default: return scan_number(s, &flag);
	}
}

/* Is the quote at q escaped (an odd number of backslashes before it, after start)? */
static bool escaped_quote(const char *start, const char *q)
{
	size_t n = 0;
	while (q - n - 1 > start && q[-(ptrdiff_t)n - 1] == '\\')
		n++;
	return n % 2 == 1;
}

/* Past an accepted string (p at its opening quote): no validation the second time. */
static const char *skip_accepted_string(const char *p, const char *end)
{
	const char *q = p + 1;

	for (;;) {
		q = memchr(q, '"', (size_t)(end - q));
		if (!escaped_quote(p, q))
			return q + 1;
		q++;
	}
}

/* Past an accepted value: strings skipped, brackets counted. */
static const char *skip_accepted_value(const char *p, const char *end)
{
	int depth = 0;

	if (*p == '"')
		return skip_accepted_string(p, end);
	if (*p != '{' && *p != '[') {
		while (p < end && *p != ',' && *p != '}' && *p != ']' && *p != ' ' && *p != '\n' &&
		       *p != '\r' && *p != '\t')
			p++;
		return p;
	}
	for (;;) {
		if (*p == '"') {
			p = skip_accepted_string(p, end);
			continue;
		}
		if (*p == '{' || *p == '[')
			depth++;
		else if ((*p == '}' || *p == ']') && --depth == 0)
			return p + 1;
		p++;
	}
}

/* Iterates the members of an object span (or the elements of an array span) that
 * scan_value() already accepted, skipping rather than validating. */
struct members {
	const char *p, *end;
};

static void members_init(struct members *m, struct span v)
{
	m->p = v.p + 1;
	m->end = v.p + v.n;
}

static void members_ws(struct members *m)
{
	while (*m->p == ' ' || *m->p == '\n' || *m->p == '\r' || *m->p == '\t')
		m->p++;
}

/* Positions m->p at the next element; false at the closing bracket. */
static bool members_more(struct members *m)
{
	members_ws(m);
	if (*m->p == ',') {
		m->p++;
		members_ws(m);
	}
	return *m->p != '}' && *m->p != ']';
}

static void members_value(struct members *m, struct span *val)
{
	val->p = m->p;
	m->p = skip_accepted_value(m->p, m->end);
	val->n = (size_t)(m->p - val->p);
}

static bool members_next(struct members *m, struct span *key, struct span *val)
{
	if (!members_more(m))
		return false;
	key->p = m->p;
	m->p = skip_accepted_string(m->p, m->end);
	key->n = (size_t)(m->p - key->p);
	members_ws(m);
	m->p++;  /* ':' */
	members_ws(m);
	members_value(m, val);
	return true;
}

static bool elements_next(struct members *m, struct span *val)
{
	if (!members_more(m))
		return false;
	members_value(m, val);
	return true;
}

/* ------------------------------------------------------------------ values */

static bool is_string(struct span v) { return v.p && v.p[0] == '"'; }
static bool is_null(struct span v) { return !v.p || v.p[0] == 'n'; }
static bool is_object(struct span v) { return v.p && v.p[0] == '{'; }
static bool is_array(struct span v) { return v.p && v.p[0] == '['; }
static bool is_bool(struct span v) { return v.p && (v.p[0] == 't' || v.p[0] == 'f'); }
static bool is_number(struct span v) { return v.p && (v.p[0] == '-' || (v.p[0] >= '0' && v.p[0] <= '9')); }

static bool is_integer(struct span v)
{
	if (!is_number(v))
		return false;
	for (size_t i = 0; i < v.n; i++)
		if (v.p[i] == '.' || v.p[i] == 'e' || v.p[i] == 'E')
			return false;
	return true;
}

static bool has_escape(struct span str)
{
	return memchr(str.p, '\\', str.n) != NULL;
}

static size_t utf8_put(char *out, unsigned long cp)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xC0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xE0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		out[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	out[0] = (char)(0xF0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
	out[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

/* Decode an accepted string span (with quotes) into out, which has room for str.n bytes
 * (decoding never grows the text). Returns the decoded length. */
static size_t unescape(struct span str, char *out)
{
	const char *p = str.p + 1, *end = str.p + str.n - 1;
	size_t n = 0;

	while (p < end) {
		if (*p != '\\') {
			out[n++] = *p++;
			continue;
		}
		p++;
		switch (*p++) {
		case 'b': out[n++] = '\b'; break;
		case 'f': out[n++] = '\f'; break;
		case 'n': out[n++] = '\n'; break;
		case 'r': out[n++] = '\r'; break;
		case 't': out[n++] = '\t'; break;
		case 'u': {
			unsigned long cp = (unsigned long)hex4(p);
			p += 4;
			if (cp >= 0xD800 && cp <= 0xDBFF) {
				cp = 0x10000 + ((cp - 0xD800) << 10) + ((unsigned long)hex4(p + 2) - 0xDC00);
				p += 6;
			}
			n += utf8_put(out + n, cp);
			break;
		}
		default: out[n++] = p[-1]; break;
		}
	}
	return n;
}

/* ------------------------------------------------------------------ the output */

struct out {
	char *p;
	size_t n, cap;
	bool full;
};

static void put(struct out *o, const char *s, size_t n)
{
	if (o->full || o->cap - o->n < n) {
		o->full = true;
		return;
	}
	memcpy(o->p + o->n, s, n);
	o->n += n;
}

static void put_span(struct out *o, struct span v)
{
	put(o, v.p, v.n);
}

/* A member separator, then "key": (put_key takes a string literal) */
static void put_key_n(struct out *o, const char *key, size_t n)
{
	if (o->n && o->p[o->n - 1] != '{')
		put(o, ",", 1);
	put(o, "\"", 1);
	put(o, key, n);
	put(o, "\":", 2);
}
#define put_key(o, literal) put_key_n(o, literal, sizeof literal - 1)

static void put_key_span(struct out *o, struct span key)
{
	if (o->n && o->p[o->n - 1] != '{')
		put(o, ",", 1);
	put_span(o, key);
	put(o, ":", 1);
}

/* A C string as a JSON string (request defaults come from headers and query parameters). */
static void put_json_string(struct out *o, const char *s)
{
	put(o, "\"", 1);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		char esc[8];
		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			put(o, esc, 2);
		} else if (c < 0x20) {
			snprintf(esc, sizeof esc, "\\u%04x", c);
			put(o, esc, 6);
		} else {
			put(o, s, 1);
		}
	}
	put(o, "\"", 1);
}

/* An accepted value span without insignificant whitespace. */
static void put_compact(struct out *o, struct span v)
{
	const char *p = v.p, *end = v.p + v.n;

	while (p < end) {
		const char *run = p;
		/* a run of tokens up to the next whitespace or string, copied at once */
		while (p < end && *p != '"' && *p != ' ' && *p != '\n' && *p != '\r' && *p != '\t')
			p++;
		put(o, run, (size_t)(p - run));
		if (p >= end)
			break;
		if (*p == '"') {
			const char *q = p + 1;
			for (;;) {
				q = memchr(q, '"', (size_t)(end - q));
				if (!escaped_quote(p, q))
					break;
				q++;
			}
			put(o, p, (size_t)(q + 1 - p));
			p = q + 1;
		} else {
			p++;
		}
	}
}

/* ------------------------------------------------------------------ the event */

enum field {
	F_EVENT_ID, F_TIMESTAMP, F_TS, F_TIME, F_LEVEL, F_KIND, F_SYSTEM, F_COMPONENT, F_RELEASE,
	F_ENVIRONMENT, F_LOGGER, F_PLATFORM, F_MESSAGE, F_MSG, F_EXCEPTION, F_FINGERPRINT, F_TAGS,
	F_CONTEXT, F_SDK, F__COUNT
};

#define NAME(s) { s, sizeof s - 1 }
static const struct {
	const char *s;
	size_t n;
} field_names[F__COUNT] = {
	NAME("event_id"), NAME("timestamp"), NAME("ts"), NAME("time"), NAME("level"),
	NAME("kind"), NAME("system"), NAME("component"), NAME("release"), NAME("environment"),
	NAME("logger"), NAME("platform"), NAME("message"), NAME("msg"), NAME("exception"),
	NAME("fingerprint"), NAME("tags"), NAME("context"), NAME("sdk"),
};
#undef NAME

struct fast_event {
	struct span f[F__COUNT];          /* value spans; p == NULL when absent */
	struct span ukey[FAST_MAX_UNKNOWN], uval[FAST_MAX_UNKNOWN];
	unsigned n_unknown;
	/* derived */
	char event_id[65];
	double timestamp;
	char timestamp_iso[40];
	const char *level, *kind;
	struct span message;              /* the member used as "message", or {NULL} */
	bool has_exception;               /* the normalised exception is non-empty */
};

static int field_of(struct span key)
{
	for (int i = 0; i < F__COUNT; i++)
		if (key.n == field_names[i].n + 2 && key.p[1] == field_names[i].s[0] &&
		    !memcmp(key.p + 1, field_names[i].s, field_names[i].n))
			return i;
	return -1;
}

/* The top-level object: every member valid JSON, classified. */
static bool read_members(struct scan *s, struct fast_event *e, int depth)
{
	int next;

	if (open_container(s, '}'))
		return true;
	for (;;) {
		struct span key, val;
		int f;

		if (!scan_key(s, &key))
			return false;
		val.p = s->p;
		if (!scan_value(s, depth))
			return false;
		val.n = (size_t)(s->p - val.p);
		f = field_of(key);
		if (f >= 0) {
			if (e->f[f].p)
				return false;
			e->f[f] = val;
		} else {
			if (e->n_unknown == FAST_MAX_UNKNOWN)
				return false;
			for (unsigned i = 0; i < e->n_unknown; i++)
				if (span_eq(e->ukey[i], key))
					return false;
			e->ukey[e->n_unknown] = key;
			e->uval[e->n_unknown++] = val;
		}
		if ((next = after_element(s, '}')) != 0)
			return next > 0;
	}
}

/* A short plain string's contents as a C string (no escapes); false otherwise. */
static bool plain_string(struct span v, char *buf, size_t size)
{
	if (!is_string(v) || has_escape(v) || v.n - 2 >= size)
		return false;
	memcpy(buf, v.p + 1, v.n - 2);
	buf[v.n - 2] = '\0';
	return true;
}

static bool derive_event_id(struct fast_event *e)
{
	struct span v = e->f[F_EVENT_ID];

	if (is_null(v)) {
		ac_uuid_hex(e->event_id);
		return true;
	}
	if (!is_string(v) || has_escape(v) || v.n - 2 > 100)
		return false;
	return event_id_canonical(v.p + 1, v.n - 2, e->event_id) == 0;
}

static bool derive_timestamp(struct fast_event *e, double now)
{
	struct span v = e->f[F_TIMESTAMP].p ? e->f[F_TIMESTAMP]
		      : e->f[F_TS].p ? e->f[F_TS] : e->f[F_TIME];
	char buf[64];

	e->timestamp = now;
	if (is_null(v))
		return true;
	if (is_number(v)) {
		char *end;
		memcpy(buf, v.p, v.n);
		buf[v.n] = '\0';
		e->timestamp = strtod(buf, &end);
		if (!isfinite(e->timestamp) || e->timestamp < 0)
			return false;
		if (e->timestamp > 1e11)
			e->timestamp /= 1000.0;
		return e->timestamp < AC_TIME_MAX;
	}
	return plain_string(v, buf, sizeof buf) && ac_parse_time(buf, &e->timestamp) == 0 &&
	       e->timestamp < AC_TIME_MAX;
}

/* A string member that is copied when non-empty: null/absent/"" skip, other types decline. */
static bool optional_string(struct span v)
{
	return is_null(v) || (is_string(v) && v.n - 2 <= FAST_MAX_STRING);
}

static bool present(struct span v)
{
	return is_string(v) && v.n > 2;
}

static bool check_frame(struct span frame)
{
	static const char *const strs[] = { "\"function\"", "\"module\"", "\"file\"", "\"package\"" };
	struct members m;
	struct span k, v;

	if (!is_object(frame))
		return false;
	members_init(&m, frame);
	while (members_next(&m, &k, &v)) {
		bool known = false;
		for (size_t i = 0; i < AC_ARRAY_SIZE(strs) && !known; i++)
			if ((known = k.n == strlen(strs[i]) && !memcmp(k.p, strs[i], k.n)) &&
			    !is_null(v) && !is_string(v))
				return false;
		if (known)
			continue;
		if ((span_eq(k, (struct span){ "\"line\"", 6 }) ||
		     span_eq(k, (struct span){ "\"column\"", 8 })) && !is_null(v) && !is_integer(v))
			return false;
		if (span_eq(k, (struct span){ "\"in_app\"", 8 }) && !is_null(v) && !is_bool(v))
			return false;
	}
	return true;
}

/* Exception members: type/value/module strings, frames an array of valid frames. */
static bool check_exception(struct fast_event *e)
{
	struct span exc = e->f[F_EXCEPTION], k, v, fr;
	struct members m, fm;

	e->has_exception = false;
	if (is_null(exc))
		return true;
	if (!is_object(exc))
		return false;
	members_init(&m, exc);
	while (members_next(&m, &k, &v)) {
		if (span_eq(k, (struct span){ "\"type\"", 6 }) ||
		    span_eq(k, (struct span){ "\"value\"", 7 }) ||
		    span_eq(k, (struct span){ "\"module\"", 8 })) {
			if (!optional_string(v))
				return false;
			e->has_exception |= present(v);
		} else if (span_eq(k, (struct span){ "\"frames\"", 8 }) && !is_null(v)) {
			if (!is_array(v))
				return false;
			members_init(&fm, v);
			while (elements_next(&fm, &fr))
				if (!check_frame(fr))
					return false;
			e->has_exception = true;
		}
	}
	return true;
}

static bool check_tags(struct span tags)
{
	struct members m;
	struct span k, v;

	if (is_null(tags))
		return true;
	if (!is_object(tags))
		return false;
	members_init(&m, tags);
	while (members_next(&m, &k, &v))
		/* numbers become strings as jansson prints them: integers only, and not "-0" */
		if (!(is_string(v) || is_bool(v) || is_null(v) ||
		      (is_integer(v) && !(v.n == 2 && v.p[0] == '-' && v.p[1] == '0'))))
			return false;
	return true;
}

/* A fingerprint string (its stored column is jansson's compact dump: no escapes here). */
static bool check_fingerprint(struct span fp)
{
	struct members m;
	struct span v;

	if (is_null(fp) || (is_string(fp) && !has_escape(fp)))
		return true;
	if (!is_array(fp))
		return false;
	members_init(&m, fp);
	while (elements_next(&m, &v)) {
		if (!((is_string(v) && !has_escape(v)) ||
		      (is_integer(v) && !(v.n == 2 && v.p[0] == '-' && v.p[1] == '0'))))
			return false;
	}
	return true;
}

/* Does an accepted object span have a member named `name` (quoted)? */
static bool object_has(struct span obj, const char *name)
{
	struct members m;
	struct span k, v;

	members_init(&m, obj);
	while (members_next(&m, &k, &v))
		if (k.n == strlen(name) && !memcmp(k.p, name, k.n))
			return true;
	return false;
}

static bool derive_level_kind(struct fast_event *e, const char *source,
			      const struct event_defaults *d)
{
	struct span v = e->f[F_LEVEL];
	char word[16];

	e->level = NULL;
	if (!is_null(v)) {
		if (!plain_string(v, word, sizeof word) || !(e->level = event_level_name(word)))
			return false;
	}
	v = e->f[F_KIND];
	if (!is_null(v)) {
		if (!plain_string(v, word, sizeof word))
			return false;
		e->kind = !strcmp(word, "log") ? "log" : !strcmp(word, "error") ? "error"
			: !strcmp(word, "crash") ? "crash" : NULL;
		if (!e->kind)
			return false;
	} else if (!strcmp(source, "crash")) {
		e->kind = "crash";
	} else if (e->has_exception) {
		e->kind = "error";
	} else if (!strcmp(source, "log") || !strcmp(source, "otlp")) {
		e->kind = "log";
	} else {
		const char *l = e->level ? e->level : (d && d->level ? d->level : "error");
		e->kind = (!strcmp(l, "error") || !strcmp(l, "fatal")) ? "error" : "log";
	}
	if (!e->level)
		e->level = d && d->level ? d->level
			 : !strcmp(e->kind, "crash") ? "fatal"
			 : !strcmp(e->kind, "error") ? "error" : "info";
	return true;
}

/* Every rule of event_normalize() that can reject; false = take the general path. */
static bool check_event(struct fast_event *e, const char *source, const struct event_defaults *d,
			double now)
{
	static const int strs[] = { F_SYSTEM, F_COMPONENT, F_RELEASE, F_ENVIRONMENT, F_LOGGER,
				    F_PLATFORM, F_MESSAGE };

	if (!derive_event_id(e) || !derive_timestamp(e, now))
		return false;
	for (size_t i = 0; i < AC_ARRAY_SIZE(strs); i++)
		if (!optional_string(e->f[strs[i]]))
			return false;
	e->message = (struct span){ NULL, 0 };
	if (present(e->f[F_MESSAGE]))
		e->message = e->f[F_MESSAGE];
	else if (!optional_string(e->f[F_MSG]))
		return false;
	else if (present(e->f[F_MSG]))
		e->message = e->f[F_MSG];
	if (!check_exception(e) || !derive_level_kind(e, source, d) || !check_tags(e->f[F_TAGS]) ||
	    !check_fingerprint(e->f[F_FINGERPRINT]))
		return false;
	if (!is_null(e->f[F_CONTEXT]) && !is_object(e->f[F_CONTEXT]))
		return false;
	/* context.extra would be replaced by the unknown members: rare, general path */
	if (e->n_unknown && is_object(e->f[F_CONTEXT]) && object_has(e->f[F_CONTEXT], "\"extra\""))
		return false;
	return e->message.p || e->has_exception;
}

/* ------------------------------------------------------------------ rewriting */

static void emit_frame(struct out *o, struct span frame)
{
	static const char *const keep[] = { "\"function\"", "\"module\"", "\"file\"", "\"package\"",
					    "\"line\"", "\"column\"", "\"in_app\"" };
	struct members m;
	struct span k, v;

	put(o, "{", 1);
	members_init(&m, frame);
	while (members_next(&m, &k, &v)) {
		bool kept = false;
		for (size_t i = 0; i < AC_ARRAY_SIZE(keep) && !kept; i++)
			kept = k.n == strlen(keep[i]) && !memcmp(k.p, keep[i], k.n);
		if ((kept && !is_null(v)) ||
		    (span_eq(k, (struct span){ "\"address\"", 9 }) && is_string(v))) {
			put_key_span(o, k);
			put_span(o, v);
		}
	}
	put(o, "}", 1);
}

static void emit_exception(struct out *o, const struct fast_event *e)
{
	struct members m, fm;
	struct span k, v, fr;

	if (!e->has_exception)
		return;
	put_key(o, "exception");
	put(o, "{", 1);
	members_init(&m, e->f[F_EXCEPTION]);
	while (members_next(&m, &k, &v)) {
		if (span_eq(k, (struct span){ "\"frames\"", 8 }) && is_array(v)) {
			bool first = true;
			put_key_span(o, k);
			put(o, "[", 1);
			members_init(&fm, v);
			while (elements_next(&fm, &fr)) {
				if (!first)
					put(o, ",", 1);
				first = false;
				emit_frame(o, fr);
			}
			put(o, "]", 1);
		} else if ((span_eq(k, (struct span){ "\"type\"", 6 }) ||
			    span_eq(k, (struct span){ "\"value\"", 7 }) ||
			    span_eq(k, (struct span){ "\"module\"", 8 })) && present(v)) {
			put_key_span(o, k);
			put_span(o, v);
		}
	}
	put(o, "}", 1);
}

/* A tag or fingerprint value as a JSON string: numbers and booleans are quoted. */
static void put_as_string(struct out *o, struct span v)
{
	if (is_string(v)) {
		put_span(o, v);
		return;
	}
	put(o, "\"", 1);
	put_span(o, v);
	put(o, "\"", 1);
}

static void emit_tags(struct out *o, struct span tags)
{
	struct members m;
	struct span k, v;

	if (is_null(tags))
		return;
	put_key(o, "tags");
	put(o, "{", 1);
	members_init(&m, tags);
	while (members_next(&m, &k, &v))
		if (!is_null(v)) {
			put_key_span(o, k);
			put_as_string(o, v);
		}
	put(o, "}", 1);
}

/* Writes the normalised fingerprint array (also the column's value) unless it is empty. */
static void emit_fingerprint(struct out *o, struct span fp, struct span *column)
{
	struct members m;
	struct span v;
	size_t start;
	bool first = true;

	column->p = NULL;
	if (is_null(fp))
		return;
	if (is_array(fp)) {
		members_init(&m, fp);
		if (!elements_next(&m, &v))
			return;
	}
	put_key(o, "fingerprint");
	start = o->n;
	put(o, "[", 1);
	if (is_string(fp)) {
		put_span(o, fp);
	} else {
		members_init(&m, fp);
		while (elements_next(&m, &v)) {
			if (!first)
				put(o, ",", 1);
			first = false;
			put_as_string(o, v);
		}
	}
	put(o, "]", 1);
	if (!o->full) {
		column->p = o->p + start;
		column->n = o->n - start;
	}
}

static void emit_context(struct out *o, const struct fast_event *e)
{
	struct span ctx = e->f[F_CONTEXT];

	if (is_null(ctx) && !e->n_unknown)
		return;
	put_key(o, "context");
	if (is_object(ctx)) {
		put_compact(o, ctx);
		if (!e->n_unknown || o->full)
			return;
		o->n--;  /* reopen the object: the extra member goes in */
	} else {
		put(o, "{", 1);
	}
	put_key(o, "extra");
	put(o, "{", 1);
	for (unsigned i = 0; i < e->n_unknown; i++) {
		put_key_span(o, e->ukey[i]);
		put_compact(o, e->uval[i]);
	}
	put(o, "}}", 2);
}

static void emit_string_member(struct out *o, int field, struct span v)
{
	if (present(v)) {
		put_key_n(o, field_names[field].s, field_names[field].n);
		put_span(o, v);
	}
}

static void emit_default(struct out *o, int field, struct span v, const char *def)
{
	if (!present(v) && def && *def) {
		put_key_n(o, field_names[field].s, field_names[field].n);
		put_json_string(o, def);
	}
}

/* ac_format_iso8601(), with the date and time of day kept per thread: events of a batch
 * mostly share their second, and gmtime_r + snprintf showed in profiles. */
static void format_time(double t, char out[40])
{
	static _Thread_local time_t cached_secs = -1;
	static _Thread_local char cached[24];   /* "YYYY-MM-DDTHH:MM:SS." */
	time_t secs = (time_t)floor(t);
	int ms = (int)((t - floor(t)) * 1000.0);

	if (secs != cached_secs) {
		char full[40];
		ac_format_iso8601((double)secs, full, sizeof full);
		memcpy(cached, full, 20);
		cached[20] = '\0';
		cached_secs = secs;
	}
	if (ms > 999)
		ms = 999;
	memcpy(out, cached, 20);
	out[20] = (char)('0' + ms / 100);
	out[21] = (char)('0' + ms / 10 % 10);
	out[22] = (char)('0' + ms % 10);
	out[23] = 'Z';
	out[24] = '\0';
}

/* ------------------------------------------------------------------ the row */

/* Column values: decoded strings in one block, as writer.c's row_columns() builds it. */
static int fill_columns(struct job_row *row, const struct fast_event *e, const char *source,
			const struct event_defaults *d, struct span fingerprint)
{
	struct span exc_type = { NULL, 0 }, exc_value = { NULL, 0 }, k, v;
	struct span col[COL__COUNT];
	const char *lit[COL__COUNT] = { 0 };
	struct members m;
	size_t total = 0;
	char *p;

	memset(col, 0, sizeof col);
	if (e->has_exception) {
		members_init(&m, e->f[F_EXCEPTION]);
		while (members_next(&m, &k, &v)) {
			if (span_eq(k, (struct span){ "\"type\"", 6 }) && present(v))
				exc_type = v;
			else if (span_eq(k, (struct span){ "\"value\"", 7 }) && present(v))
				exc_value = v;
		}
	}
	col[COL_SYSTEM] = e->f[F_SYSTEM];
	col[COL_COMPONENT] = e->f[F_COMPONENT];
	col[COL_RELEASE] = e->f[F_RELEASE];
	col[COL_ENVIRONMENT] = e->f[F_ENVIRONMENT];
	col[COL_MESSAGE] = e->message;
	col[COL_EXC_TYPE] = exc_type;
	col[COL_EXC_VALUE] = exc_value;
	lit[COL_EVENT_ID] = e->event_id;
	lit[COL_LEVEL] = e->level;
	lit[COL_KIND] = e->kind;
	lit[COL_SOURCE] = source;
	if (d) {
		const char *defs[] = { [COL_SYSTEM] = d->system, [COL_COMPONENT] = d->component,
				       [COL_RELEASE] = d->release, [COL_ENVIRONMENT] = d->environment };
		for (int c = COL_SYSTEM; c <= COL_ENVIRONMENT; c++)
			if (!present(col[c]) && defs[c] && *defs[c])
				lit[c] = defs[c];
	}
	for (int c = 0; c < COL__COUNT; c++)
		total += lit[c] ? strlen(lit[c]) + 1 : present(col[c]) ? col[c].n + 1 : 0;
	total += fingerprint.p ? fingerprint.n + 1 : 0;
	row->cols = p = malloc(total ? total : 1);
	if (!p)
		return AC_ENOMEM;
	for (int c = 0; c < COL__COUNT; c++) {
		size_t n;
		row->col[c] = NULL;
		if (lit[c]) {
			n = strlen(lit[c]);
			memcpy(p, lit[c], n);
		} else if (c == COL_FINGERPRINT && fingerprint.p) {
			n = fingerprint.n;
			memcpy(p, fingerprint.p, n);
		} else if (present(col[c])) {
			n = has_escape(col[c]) ? unescape(col[c], p) : col[c].n - 2;
			if (!has_escape(col[c]))
				memcpy(p, col[c].p + 1, n);
			else
				writer_col_denul(p, n);
		} else {
			continue;
		}
		p[n] = '\0';
		row->col[c] = p;
		p += n + 1;
	}
	return 0;
}

static void emit_event(struct out *o, const struct fast_event *e, const char *source,
		       const struct event_defaults *d, const struct fast_clock *clock,
		       struct span *fingerprint)
{
	static const int strs[] = { F_SYSTEM, F_COMPONENT, F_RELEASE, F_ENVIRONMENT, F_LOGGER,
				    F_PLATFORM };
	put(o, "{", 1);
	put_key(o, "event_id");
	put_json_string(o, e->event_id);
	put_key(o, "timestamp");
	put_json_string(o, e->timestamp_iso);
	put_key(o, "received_at");
	put_json_string(o, clock->received_iso);
	for (size_t i = 0; i < AC_ARRAY_SIZE(strs); i++)
		emit_string_member(o, strs[i], e->f[strs[i]]);
	if (e->message.p) {
		put_key(o, "message");
		put_span(o, e->message);
	}
	emit_exception(o, e);
	put_key(o, "level");
	put_json_string(o, e->level);
	put_key(o, "kind");
	put_json_string(o, e->kind);
	emit_tags(o, e->f[F_TAGS]);
	emit_fingerprint(o, e->f[F_FINGERPRINT], fingerprint);
	emit_context(o, e);
	if (is_object(e->f[F_SDK])) {
		put_key(o, "sdk");
		put_compact(o, e->f[F_SDK]);
	}
	if (d) {
		emit_default(o, F_SYSTEM, e->f[F_SYSTEM], d->system);
		emit_default(o, F_COMPONENT, e->f[F_COMPONENT], d->component);
		emit_default(o, F_RELEASE, e->f[F_RELEASE], d->release);
		emit_default(o, F_ENVIRONMENT, e->f[F_ENVIRONMENT], d->environment);
	}
	put_key(o, "source");
	put_json_string(o, source);
	put(o, "}", 1);
}

static size_t defaults_room(const struct event_defaults *d)
{
	size_t n = 0;
	if (d) {
		const char *v[] = { d->system, d->component, d->release, d->environment };
		for (size_t i = 0; i < AC_ARRAY_SIZE(v); i++)
			n += v[i] ? 6 * strlen(v[i]) + 32 : 0;
	}
	return n;
}

void event_fast_clock(struct fast_clock *c)
{
	c->now = ac_now();
	ac_format_iso8601(c->now, c->received_iso, sizeof c->received_iso);
	c->received_at = 0;
	ac_parse_time(c->received_iso, &c->received_at);
}

int event_fast_row(const char *text, size_t len, int depth, const char *source,
		   const struct event_defaults *d, const struct fast_clock *clock,
		   size_t max_event_bytes, struct job_row *row, size_t *consumed)
{
	struct scan s = { text, text + len, 0 };
	struct fast_event e;
	struct out o = { NULL, 0, 0, false };
	struct span fingerprint = { NULL, 0 };
	int rc;

	memset(&e, 0, sizeof e);
	memset(row, 0, sizeof *row);
	skip_ws(&s);
	if (s.p >= s.end || *s.p != '{' || !read_members(&s, &e, depth + 1) ||
	    !check_event(&e, source, d, clock->now))
		return 0;
	*consumed = (size_t)(s.p - text);
	format_time(e.timestamp, e.timestamp_iso);
	/* the rewrite adds names, times and quotes around converted numbers, never more */
	o.cap = *consumed + 512 + 2 * (size_t)e.n_unknown + defaults_room(d);
	if (e.f[F_TAGS].p)
		o.cap += e.f[F_TAGS].n;
	if (e.f[F_FINGERPRINT].p)
		o.cap += e.f[F_FINGERPRINT].n + 4;
	o.p = malloc(o.cap + 1);
	if (!o.p)
		return AC_ENOMEM;
	emit_event(&o, &e, source, d, clock, &fingerprint);
	/* the general path limits the size of jansson's serialisation, which prints a real
	 * number in up to 24 characters: leave that room, or let the general path decide */
	if (o.full || o.n + 24 * (size_t)s.reals > max_event_bytes) {
		free(o.p);
		return 0;
	}
	o.p[o.n] = '\0';
	row->raw = o.p;
	row->raw_len = o.n;
	if ((rc = fill_columns(row, &e, source, d, fingerprint))) {
		free(o.p);
		row->raw = NULL;
		return rc;
	}
	/* the column holds the stored text's time (milliseconds), as in the general path */
	row->timestamp = 0;
	ac_parse_time(e.timestamp_iso, &row->timestamp);
	row->received_at = clock->received_at;
	return 1;
}

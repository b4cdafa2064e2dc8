/*
 * rt_util.c — helpers of the runtime (see rt_util.h).
 *
 * SHA-1 is here only for the WebSocket handshake (RFC 6455 requires SHA-1 of the client key);
 * none of the system's libraries exposes it, and it is not used for anything security-relevant.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "rt_util.h"

struct rt_body *rt_body_new(size_t max)
{
	struct rt_body *b = calloc(1, sizeof *b);
	if (b)
		b->max = max;
	return b;
}

void rt_body_append(struct rt_body *b, const char *p, size_t n)
{
	if (b->too_big)
		return;
	if (b->len + n > b->max) {
		b->too_big = true;
		return;
	}
	if (b->len + n + 1 > b->cap) {
		size_t ncap = (b->len + n + 1) * 2;
		char *nd;
		if (ncap > b->max + 1)
			ncap = b->max + 1;
		nd = realloc(b->data, ncap);
		if (!nd) {
			b->too_big = true;
			return;
		}
		b->data = nd;
		b->cap = ncap;
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = 0;
}

void rt_body_free(struct rt_body *b)
{
	if (!b)
		return;
	free(b->data);
	free(b);
}

/* ---------------------------------------------------------------- canonical JSON text
 *
 * A recursive-descent check of the subset of JSON that jansson writes back unchanged: the
 * escapes it produces itself (\" \\ \b \f \n \r \t; \u and \/ would be written differently),
 * printable ASCII otherwise, integers without leading zeros or "-0", the three literals, no
 * whitespace, no duplicate member names (jansson keeps the last one), no reals (their digits
 * depend on the precision they are written with). */
struct canon {
	const char *p, *end;
	int depth;
};

#define CANON_MAX_DEPTH 32
#define CANON_MAX_MEMBERS 16

static bool canon_value(struct canon *c);

static bool canon_string(struct canon *c)
{
	if (c->p >= c->end || *c->p != '"')
		return false;
	c->p++;
	while (c->p < c->end) {
		unsigned char ch = (unsigned char)*c->p++;
		if (ch == '"')
			return true;
		if (ch == '\\') {
			if (c->p >= c->end || !*c->p || !strchr("\"\\bfnrt", *c->p))
				return false;
			c->p++;
		} else if (ch < 0x20 || ch > 0x7e) {
			return false;
		}
	}
	return false;
}

static bool canon_integer(struct canon *c)
{
	bool neg = c->p < c->end && *c->p == '-';
	const char *start = c->p += neg;
	size_t n;
	while (c->p < c->end && *c->p >= '0' && *c->p <= '9')
		c->p++;
	n = (size_t)(c->p - start);
	/* "0" alone is fine; "01" is invalid JSON and "-0" would be written as "0" */
	return n >= 1 && n <= 18 && (*start != '0' || (n == 1 && !neg));
}

static bool canon_literal(struct canon *c, const char *word, size_t n)
{
	if ((size_t)(c->end - c->p) < n || memcmp(c->p, word, n))
		return false;
	c->p += n;
	return true;
}

static bool canon_object(struct canon *c)
{
	const char *key[CANON_MAX_MEMBERS];
	size_t klen[CANON_MAX_MEMBERS];
	int n = 0;
	c->p++;
	if (c->p < c->end && *c->p == '}') {
		c->p++;
		return true;
	}
	for (;;) {
		const char *k = c->p;
		if (n == CANON_MAX_MEMBERS || !canon_string(c))
			return false;
		key[n] = k;
		klen[n] = (size_t)(c->p - k);
		for (int i = 0; i < n; i++)
			if (klen[i] == klen[n] && !memcmp(key[i], k, klen[n]))
				return false;
		n++;
		if (c->p >= c->end || *c->p++ != ':' || !canon_value(c) || c->p >= c->end)
			return false;
		if (*c->p == '}') {
			c->p++;
			return true;
		}
		if (*c->p++ != ',')
			return false;
	}
}

static bool canon_array(struct canon *c)
{
	c->p++;
	if (c->p < c->end && *c->p == ']') {
		c->p++;
		return true;
	}
	for (;;) {
		if (!canon_value(c) || c->p >= c->end)
			return false;
		if (*c->p == ']') {
			c->p++;
			return true;
		}
		if (*c->p++ != ',')
			return false;
	}
}

static bool canon_value(struct canon *c)
{
	bool ok;
	if (c->p >= c->end)
		return false;
	switch (*c->p) {
	case '{':
	case '[':
		if (++c->depth > CANON_MAX_DEPTH)
			return false;
		ok = *c->p == '{' ? canon_object(c) : canon_array(c);
		c->depth--;
		return ok;
	case '"':
		return canon_string(c);
	case 't':
		return canon_literal(c, "true", 4);
	case 'f':
		return canon_literal(c, "false", 5);
	case 'n':
		return canon_literal(c, "null", 4);
	default:
		return canon_integer(c);
	}
}

bool rt_json_canonical(const char *text, size_t len)
{
	struct canon c = { text, text + len, 0 };
	if (!len || text[0] != '{')
		return false;
	return canon_value(&c) && c.p == c.end;
}

/* ---------------------------------------------------------------- compact JSON writer */

/* The Sink's serialiser: what json_dumpb(v, JSON_COMPACT | JSON_ENCODE_ANY |
 * JSON_REAL_PRECISION(15)) writes, byte for byte (jansson 2.14's dump.c: insertion order,
 * "\u%04X" escapes, reals as "%.15g" with ".0" appended and the exponent's '+' and leading
 * zeros removed), without jansson's per-call loop-detection table (a malloc, a snprintf and a
 * hash insert per object) and snprintf per integer. Whatever it does not mirror — bytes outside
 * ASCII (jansson validates UTF-8 there), keys with a NUL, reals printed with a locale's decimal
 * comma, nesting deeper than 32 (and so reference loops) — makes it answer "use jansson". */

#define JW_MAX_DEPTH 32

struct jw {
	char *p;
	size_t len, cap;
	bool full, unsupported;
};

static void jw_put(struct jw *w, const char *s, size_t n)
{
	if (w->len + n > w->cap) {
		w->full = true;
		return;
	}
	memcpy(w->p + w->len, s, n);
	w->len += n;
}

static void jw_string(struct jw *w, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	char *o;

	/* worst case: every byte becomes \u00XX; near the end of buf, count exactly */
	if (w->len + 6 * n + 2 > w->cap) {
		size_t need = 2;
		for (size_t i = 0; i < n; i++) {
			unsigned char ch = (unsigned char)s[i];
			need += ch >= 0x20 && ch != '"' && ch != '\\' ? 1 :
				strchr("\"\\\b\f\n\r\t", ch) && ch ? 2 : 6;
		}
		if (w->len + need > w->cap) {
			w->full = true;
			return;
		}
	}
	o = w->p + w->len;
	*o++ = '"';
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch >= 0x80) {
			w->unsupported = true;
			return;
		}
		if (ch >= 0x20 && ch != '"' && ch != '\\') {
			*o++ = (char)ch;
			continue;
		}
		*o++ = '\\';
		switch (ch) {
		case '"': *o++ = '"'; break;
		case '\\': *o++ = '\\'; break;
		case '\b': *o++ = 'b'; break;
		case '\f': *o++ = 'f'; break;
		case '\n': *o++ = 'n'; break;
		case '\r': *o++ = 'r'; break;
		case '\t': *o++ = 't'; break;
		default:
			*o++ = 'u';
			*o++ = '0';
			*o++ = '0';
			*o++ = hex[ch >> 4];
			*o++ = hex[ch & 15];
		}
	}
	*o++ = '"';
	w->len = (size_t)(o - w->p);
}

static void jw_integer(struct jw *w, json_int_t v)
{
	char tmp[24], *e = tmp + sizeof tmp, *b = e;
	unsigned long long u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
	do
		*--b = (char)('0' + u % 10);
	while (u /= 10);
	if (v < 0)
		*--b = '-';
	jw_put(w, b, (size_t)(e - b));
}

static void jw_real(struct jw *w, double v)
{
	char buf[64], *e;
	int n = snprintf(buf, sizeof buf, "%.15g", v);
	size_t len;

	if (n < 0 || (size_t)n + 3 >= sizeof buf ||
	    strspn(buf, "0123456789.e+-") != (size_t)n) {
		w->unsupported = true;   /* a locale's decimal comma, inf/nan: jansson decides */
		return;
	}
	len = (size_t)n;
	if (!strchr(buf, '.') && !strchr(buf, 'e')) {
		memcpy(buf + len, ".0", 3);
		len += 2;
	}
	e = strchr(buf, 'e');
	if (e) {
		char *start = e + 1, *end = start + 1;
		if (*start == '-')
			start++;
		while (*end == '0')
			end++;
		if (end != start) {
			memmove(start, end, len - (size_t)(end - buf) + 1);
			len -= (size_t)(end - start);
		}
	}
	jw_put(w, buf, len);
}

static void jw_value(struct jw *w, const json_t *v, int depth)
{
	if (w->full || w->unsupported)
		return;
	switch (json_typeof(v)) {
	case JSON_OBJECT: {
		const char *key;
		bool first = true;
		if (depth >= JW_MAX_DEPTH) {
			w->unsupported = true;
			return;
		}
		jw_put(w, "{", 1);
		for (void *it = json_object_iter((json_t *)v); it && !w->full && !w->unsupported;
		     it = json_object_iter_next((json_t *)v, it)) {
			size_t kl = json_object_iter_key_len(it);
			key = json_object_iter_key(it);
			if (strlen(key) != kl) {
				w->unsupported = true;
				return;
			}
			if (!first)
				jw_put(w, ",", 1);
			first = false;
			jw_string(w, key, kl);
			jw_put(w, ":", 1);
			jw_value(w, json_object_iter_value(it), depth + 1);
		}
		jw_put(w, "}", 1);
		return;
	}
	case JSON_ARRAY: {
		size_t n = json_array_size(v);
		if (depth >= JW_MAX_DEPTH) {
			w->unsupported = true;
			return;
		}
		jw_put(w, "[", 1);
		for (size_t i = 0; i < n && !w->full && !w->unsupported; i++) {
			if (i)
				jw_put(w, ",", 1);
			jw_value(w, json_array_get(v, i), depth + 1);
		}
		jw_put(w, "]", 1);
		return;
	}
	case JSON_STRING:
		jw_string(w, json_string_value(v), json_string_length(v));
		return;
	case JSON_INTEGER:
		jw_integer(w, json_integer_value(v));
		return;
	case JSON_REAL:
		jw_real(w, json_real_value(v));
		return;
	case JSON_TRUE:
		jw_put(w, "true", 4);
		return;
	case JSON_FALSE:
		jw_put(w, "false", 5);
		return;
	case JSON_NULL:
		jw_put(w, "null", 4);
		return;
	}
}

size_t rt_json_write_compact(const json_t *v, char *buf, size_t size)
{
	struct jw w = { buf, 0, size, false, false };
	if (!v)
		return 0;
	jw_value(&w, v, 0);
	if (w.unsupported)
		return 0;
	return w.full ? size + 1 : w.len;
}

/* ---------------------------------------------------------------- field paths */

json_t *rt_path_get(json_t *obj, const char *path)
{
	char key[256];
	const char *p = path;
	json_t *cur = obj;
	while (cur && *p) {
		const char *dot = strchr(p, '.');
		size_t n = dot ? (size_t)(dot - p) : strlen(p);
		if (n >= sizeof key)
			return NULL;
		memcpy(key, p, n);
		key[n] = 0;
		if (json_is_object(cur))
			cur = json_object_get(cur, key);
		else if (json_is_array(cur) && isdigit((unsigned char)key[0]))
			cur = json_array_get(cur, strtoul(key, NULL, 10));
		else
			return NULL;
		p = dot ? dot + 1 : p + n;
	}
	return cur;
}

void rt_path_set(json_t *obj, const char *path, json_t *v)
{
	char key[256];
	const char *p = path;
	json_t *cur = obj;
	if (!v)
		return;
	for (;;) {
		const char *dot = strchr(p, '.');
		size_t n = dot ? (size_t)(dot - p) : strlen(p);
		if (n >= sizeof key || !json_is_object(cur)) {
			json_decref(v);
			return;
		}
		memcpy(key, p, n);
		key[n] = 0;
		if (!dot) {
			json_object_set_new(cur, key, v);
			return;
		}
		json_t *next = json_object_get(cur, key);
		if (!json_is_object(next)) {
			next = json_object();
			json_object_set_new(cur, key, next);
		}
		cur = next;
		p = dot + 1;
	}
}

json_t *rt_template(const char *tmpl, json_t *msg)
{
	size_t cap = strlen(tmpl) + 64, len = 0;
	char *out = malloc(cap);
	const char *p = tmpl;
	json_t *res;
	if (!out)
		return NULL;
	while (*p) {
		const char *open = strstr(p, "{{"), *close = open ? strstr(open, "}}") : NULL;
		char field[256], num[64];
		const char *ins;
		size_t lit = open && close ? (size_t)(open - p) : strlen(p), ins_len = 0;
		if (open && close) {
			size_t fl = (size_t)(close - open - 2);
			while (fl && open[2] == ' ') {
				open++;
				fl--;
			}
			while (fl && open[2 + fl - 1] == ' ')
				fl--;
			snprintf(field, sizeof field, "%.*s", (int)fl, open + 2);
			json_t *v = rt_path_get(msg, field);
			if (json_is_string(v)) {
				ins = json_string_value(v);
			} else if (json_is_integer(v)) {
				snprintf(num, sizeof num, "%lld", (long long)json_integer_value(v));
				ins = num;
			} else if (json_is_real(v)) {
				snprintf(num, sizeof num, "%g", json_real_value(v));
				ins = num;
			} else if (json_is_boolean(v)) {
				ins = json_is_true(v) ? "true" : "false";
			} else {
				ins = "";
			}
			ins_len = strlen(ins);
		} else {
			ins = "";
		}
		if (len + lit + ins_len + 1 > cap) {
			cap = (len + lit + ins_len + 1) * 2;
			char *no = realloc(out, cap);
			if (!no) {
				free(out);
				return NULL;
			}
			out = no;
		}
		memcpy(out + len, p, lit);
		len += lit;
		memcpy(out + len, ins, ins_len);
		len += ins_len;
		if (!(open && close))
			break;
		p = close + 2;
	}
	out[len] = 0;
	res = json_string(out);
	free(out);
	return res;
}

json_t *rt_case(const char *s, int upper)
{
	char *d = strdup(s);
	json_t *r;
	if (!d)
		return NULL;
	for (char *p = d; *p; p++)
		*p = (char)(upper ? toupper((unsigned char)*p) : tolower((unsigned char)*p));
	r = json_string(d);
	free(d);
	return r;
}

int rt_mkdirs(const char *path)
{
	char tmp[1024];
	snprintf(tmp, sizeof tmp, "%s", path);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(tmp, 0755) && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(tmp, 0755) && errno != EEXIST)
		return -1;
	return 0;
}

/* ---------------------------------------------------------------- SHA-1 (FIPS 180-4) */

#define ROL(x, n) (((x) << (n)) | ((x) >> (32 - (n))))

static void sha1_block(uint32_t h[5], const unsigned char *p)
{
	uint32_t w[80], a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
	for (int i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
		       (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
	for (int i = 16; i < 80; i++)
		w[i] = ROL(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
	for (int i = 0; i < 80; i++) {
		uint32_t f, k, t;
		if (i < 20) {
			f = (b & c) | (~b & d);
			k = 0x5A827999;
		} else if (i < 40) {
			f = b ^ c ^ d;
			k = 0x6ED9EBA1;
		} else if (i < 60) {
			f = (b & c) | (b & d) | (c & d);
			k = 0x8F1BBCDC;
		} else {
			f = b ^ c ^ d;
			k = 0xCA62C1D6;
		}
		t = ROL(a, 5) + f + e + k + w[i];
		e = d;
		d = c;
		c = ROL(b, 30);
		b = a;
		a = t;
	}
	h[0] += a;
	h[1] += b;
	h[2] += c;
	h[3] += d;
	h[4] += e;
}

void rt_sha1(const unsigned char *data, size_t len, unsigned char out[20])
{
	uint32_t h[5] = { 0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0 };
	unsigned char block[64];
	size_t i = 0;
	uint64_t bits = (uint64_t)len * 8;

	for (; i + 64 <= len; i += 64)
		sha1_block(h, data + i);
	size_t rest = len - i;
	memset(block, 0, 64);
	memcpy(block, data + i, rest);
	block[rest] = 0x80;
	if (rest >= 56) {
		sha1_block(h, block);
		memset(block, 0, 64);
	}
	for (int k = 0; k < 8; k++)
		block[63 - k] = (unsigned char)(bits >> (8 * k));
	sha1_block(h, block);
	for (int k = 0; k < 5; k++) {
		out[4 * k] = (unsigned char)(h[k] >> 24);
		out[4 * k + 1] = (unsigned char)(h[k] >> 16);
		out[4 * k + 2] = (unsigned char)(h[k] >> 8);
		out[4 * k + 3] = (unsigned char)h[k];
	}
}

void rt_base64(const unsigned char *d, size_t n, char *out)
{
	static const char tbl[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t o = 0;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)d[i] << 16 | (i + 1 < n ? (uint32_t)d[i + 1] << 8 : 0) |
			     (i + 2 < n ? d[i + 2] : 0);
		out[o++] = tbl[v >> 18 & 63];
		out[o++] = tbl[v >> 12 & 63];
		out[o++] = i + 1 < n ? tbl[v >> 6 & 63] : '=';
		out[o++] = i + 2 < n ? tbl[v & 63] : '=';
	}
	out[o] = 0;
}

int rt_bind_address(const char *configured, int port, struct sockaddr_in *sa, char *shown,
		    size_t n)
{
	const char *env = getenv("BIND_ADDRESS");
	const char *host = env && *env ? env : configured && *configured ? configured : "127.0.0.1";
	struct addrinfo hints = { .ai_family = AF_INET, .ai_socktype = SOCK_STREAM }, *ai = NULL;

	memset(sa, 0, sizeof *sa);
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)port);
	snprintf(shown, n, "%s", host);
	if (inet_pton(AF_INET, host, &sa->sin_addr) == 1)
		return 0;
	if (getaddrinfo(host, NULL, &hints, &ai) || !ai)
		return -1;
	sa->sin_addr = ((struct sockaddr_in *)ai->ai_addr)->sin_addr;
	freeaddrinfo(ai);
	return 0;
}

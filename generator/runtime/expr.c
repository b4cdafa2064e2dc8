/*
 * expr.c — lexer, recursive-descent parser and evaluator of the blueprint expression language
 * (grammar and semantics in expr.h).
 *
 * Compilation turns the source into a small tree; literals become jansson values and regexes
 * are compiled (and JIT-compiled when available) once, so evaluation only walks the tree, looks
 * fields up and compares. Every error records the byte column where it was found. Nesting and
 * source length are bounded so hostile input cannot exhaust the stack.
 *
 * This file is copied verbatim into generated systems: it includes only system headers, jansson,
 * PCRE2 and its own header.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memmem, strndup */
#endif
#define PCRE2_CODE_UNIT_WIDTH 8

#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <pcre2.h>

#include "expr.h" /* same directory, here and in generated systems */

#define MAX_DEPTH 64
#define MATCH_LIMIT 100000

enum tok {
	T_EOF, T_NUM, T_STR, T_PATH, T_LP, T_RP, T_LB, T_RB, T_COMMA,
	T_EQ, T_NE, T_LT, T_LE, T_GT, T_GE, T_AND, T_OR, T_NOT, T_IN, T_CONTAINS, T_MATCHES,
	T_TRUE, T_FALSE, T_NULL,
};

enum kind { N_LIT, N_PATH, N_LIST, N_NOT, N_AND, N_OR, N_CMP, N_IN, N_CONTAINS, N_MATCHES };

struct node {
	enum kind kind;
	enum tok op;          /* N_CMP: the comparison operator */
	json_t *lit;          /* N_LIT */
	char **segs;          /* N_PATH: the dotted segments */
	size_t nsegs;
	struct node **items;  /* N_LIST: elements that are not all literals */
	size_t nitems;
	struct node *a, *b;   /* operands */
	pcre2_code *re;       /* N_MATCHES */
	pcre2_match_context *mctx; /* N_MATCHES: bounds backtracking */
};

struct expr {
	char *src;
	struct node *root;
};

struct parser {
	const char *src;
	size_t pos;           /* next byte to lex */
	enum tok tok;         /* current token */
	size_t tstart, tlen;  /* its extent in src */
	json_t *tval;         /* T_NUM / T_STR value (owned until taken) */
	int depth;
	char *errbuf;
	size_t errlen;
	int errcol;
	bool failed;
};

/* ---- errors ---------------------------------------------------------------------------- */

static void fail_at(struct parser *p, size_t off, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void fail_at(struct parser *p, size_t off, const char *fmt, ...)
{
	va_list ap;

	if (p->failed)
		return;
	p->failed = true;
	p->errcol = (int)off + 1;
	if (p->errbuf && p->errlen) {
		va_start(ap, fmt);
		vsnprintf(p->errbuf, p->errlen, fmt, ap);
		va_end(ap);
	}
}

/* ---- lexer ----------------------------------------------------------------------------- */

static bool is_ident_start(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_ident_char(char c)
{
	return is_ident_start(c) || is_digit(c);
}

static const struct {
	const char *word;
	enum tok tok;
} keywords[] = {
	{ "and", T_AND }, { "AND", T_AND }, { "or", T_OR }, { "OR", T_OR },
	{ "not", T_NOT }, { "NOT", T_NOT }, { "in", T_IN }, { "IN", T_IN },
	{ "contains", T_CONTAINS }, { "matches", T_MATCHES },
	{ "true", T_TRUE }, { "True", T_TRUE }, { "false", T_FALSE }, { "False", T_FALSE },
	{ "null", T_NULL }, { "None", T_NULL },
};

static void lex_number(struct parser *p)
{
	const char *s = p->src;
	size_t i = p->pos;
	bool real = false;
	char tmp[64];
	char *end;

	if (s[i] == '-')
		i++;
	while (is_digit(s[i]))
		i++;
	if (s[i] == '.' && is_digit(s[i + 1])) {
		real = true;
		i++;
		while (is_digit(s[i]))
			i++;
	}
	if ((s[i] == 'e' || s[i] == 'E') &&
	    (is_digit(s[i + 1]) || ((s[i + 1] == '+' || s[i + 1] == '-') && is_digit(s[i + 2])))) {
		real = true;
		i += 2;
		while (is_digit(s[i]))
			i++;
	}
	if (is_ident_char(s[i]) || s[i] == '.' || i - p->pos >= sizeof tmp) {
		fail_at(p, p->pos, "invalid number");
		return;
	}
	memcpy(tmp, s + p->pos, i - p->pos);
	tmp[i - p->pos] = '\0';
	if (!real) {
		long long v = strtoll(tmp, &end, 10);
		if (v == LLONG_MAX || v == LLONG_MIN)
			real = true; /* out of int64 range: keep it as a double */
		else
			p->tval = json_integer(v);
	}
	if (real) {
		double d = strtod(tmp, &end);
		p->tval = json_real(d); /* NULL when not finite */
		if (!p->tval) {
			fail_at(p, p->pos, "number out of range");
			return;
		}
	}
	if (!p->tval) {
		fail_at(p, p->pos, "out of memory");
		return;
	}
	p->tok = T_NUM;
	p->tlen = i - p->pos;
	p->pos = i;
}

static void lex_string(struct parser *p)
{
	const char *s = p->src;
	char quote = s[p->pos];
	size_t i = p->pos + 1, n = 0;
	char *out = malloc(strlen(s + i) + 1);

	if (!out) {
		fail_at(p, p->pos, "out of memory");
		return;
	}
	for (;;) {
		char c = s[i];
		if (c == '\0') {
			free(out);
			fail_at(p, p->pos, "unterminated string");
			return;
		}
		if (c == quote)
			break;
		if (c == '\\' && s[i + 1] != '\0') {
			char e = s[i + 1];
			if (e == quote || e == '\\' || e == '"' || e == '\'') {
				out[n++] = e;
			} else if (e == 'n') {
				out[n++] = '\n';
			} else if (e == 't') {
				out[n++] = '\t';
			} else {
				out[n++] = '\\'; /* keep unknown escapes for regexes: \d, \s, \. */
				out[n++] = e;
			}
			i += 2;
			continue;
		}
		out[n++] = c;
		i++;
	}
	p->tval = json_stringn(out, n); /* NULL on invalid UTF-8 */
	free(out);
	if (!p->tval) {
		fail_at(p, p->pos, "string is not valid UTF-8");
		return;
	}
	p->tok = T_STR;
	p->tlen = i + 1 - p->pos;
	p->pos = i + 1;
}

static void lex_path(struct parser *p)
{
	const char *s = p->src;
	size_t i = p->pos;

	while (is_ident_char(s[i]))
		i++;
	for (size_t k = 0; k < sizeof keywords / sizeof keywords[0]; k++) {
		if (strlen(keywords[k].word) == i - p->pos &&
		    !memcmp(keywords[k].word, s + p->pos, i - p->pos)) {
			p->tok = keywords[k].tok;
			p->tlen = i - p->pos;
			p->pos = i;
			return;
		}
	}
	while (s[i] == '.') {
		if (!is_ident_char(s[i + 1])) {
			fail_at(p, i + 1, "expected a field name after '.'");
			return;
		}
		i++;
		while (is_ident_char(s[i]))
			i++;
	}
	p->tok = T_PATH;
	p->tlen = i - p->pos;
	p->pos = i;
}

/* Two-character operators first, then one-character ones. */
static bool lex_operator(struct parser *p)
{
	static const struct {
		const char *text;
		enum tok tok;
	} ops[] = {
		{ "==", T_EQ }, { "!=", T_NE }, { "<=", T_LE }, { ">=", T_GE }, { "&&", T_AND },
		{ "||", T_OR }, { "<", T_LT }, { ">", T_GT }, { "!", T_NOT }, { "(", T_LP },
		{ ")", T_RP }, { "[", T_LB }, { "]", T_RB }, { ",", T_COMMA },
	};
	const char *s = p->src + p->pos;

	for (size_t k = 0; k < sizeof ops / sizeof ops[0]; k++) {
		size_t n = strlen(ops[k].text);
		if (!strncmp(s, ops[k].text, n)) {
			p->tok = ops[k].tok;
			p->tlen = n;
			p->pos += n;
			return true;
		}
	}
	return false;
}

static void next(struct parser *p)
{
	const char *s = p->src;

	json_decref(p->tval);
	p->tval = NULL;
	if (p->failed) {
		p->tok = T_EOF;
		return;
	}
	while (s[p->pos] == ' ' || s[p->pos] == '\t' || s[p->pos] == '\n' || s[p->pos] == '\r')
		p->pos++;
	p->tstart = p->pos;
	p->tlen = 0;
	p->tok = T_EOF;
	if (s[p->pos] == '\0')
		return;
	if (is_digit(s[p->pos]) || (s[p->pos] == '-' && is_digit(s[p->pos + 1])) ||
	    (s[p->pos] == '.' && is_digit(s[p->pos + 1])))
		lex_number(p);
	else if (s[p->pos] == '"' || s[p->pos] == '\'')
		lex_string(p);
	else if (is_ident_start(s[p->pos]))
		lex_path(p);
	else if (lex_operator(p))
		;
	else if (s[p->pos] == '=')
		fail_at(p, p->pos, "'=' is not an operator; use '==' to compare");
	else if (s[p->pos] == '&' || s[p->pos] == '|')
		fail_at(p, p->pos, "'%c' is not an operator; use '%c%c' or '%s'", s[p->pos],
			s[p->pos], s[p->pos], s[p->pos] == '&' ? "and" : "or");
	else if ((unsigned char)s[p->pos] >= 0x20 && (unsigned char)s[p->pos] < 0x7f)
		fail_at(p, p->pos, "unexpected character '%c'", s[p->pos]);
	else
		fail_at(p, p->pos, "unexpected byte 0x%02x", (unsigned char)s[p->pos]);
}

/* ---- tree ------------------------------------------------------------------------------ */

static void node_free(struct node *n)
{
	if (!n)
		return;
	json_decref(n->lit);
	for (size_t i = 0; i < n->nsegs; i++)
		free(n->segs[i]);
	free(n->segs);
	for (size_t i = 0; i < n->nitems; i++)
		node_free(n->items[i]);
	free(n->items);
	node_free(n->a);
	node_free(n->b);
	if (n->re)
		pcre2_code_free(n->re);
	if (n->mctx)
		pcre2_match_context_free(n->mctx);
	free(n);
}

static struct node *node_new(struct parser *p, enum kind kind)
{
	struct node *n = calloc(1, sizeof *n);
	if (!n)
		fail_at(p, p->tstart, "out of memory");
	else
		n->kind = kind;
	return n;
}

static struct node *binary(struct parser *p, enum kind kind, struct node *a, struct node *b)
{
	struct node *n;

	if (!a || !b || p->failed) {
		node_free(a);
		node_free(b);
		return NULL;
	}
	n = node_new(p, kind);
	if (!n) {
		node_free(a);
		node_free(b);
		return NULL;
	}
	n->a = a;
	n->b = b;
	return n;
}

/* ---- parser ---------------------------------------------------------------------------- */

static struct node *parse_or(struct parser *p);

static const char *tok_text(enum tok t)
{
	switch (t) {
	case T_EOF: return "end of expression";
	case T_RP: return "')'";
	case T_RB: return "']'";
	case T_COMMA: return "','";
	case T_EQ: case T_NE: case T_LT: case T_LE: case T_GT: case T_GE: return "operator";
	case T_AND: case T_OR: return "'and'/'or'";
	case T_IN: return "'in'";
	case T_CONTAINS: return "'contains'";
	case T_MATCHES: return "'matches'";
	default: return "token";
	}
}

/* The current token as written ("'>'", "'amount'"), or "end of expression". */
static const char *tok_show(const struct parser *p, char *buf, size_t n)
{
	size_t len = p->pos > p->tstart ? p->pos - p->tstart : 1;

	if (p->tok == T_EOF)
		return "end of expression";
	snprintf(buf, n, "'%.*s%s'", (int)(len > 24 ? 24 : len), p->src + p->tstart,
		 len > 24 ? "..." : "");
	return buf;
}

static struct node *parse_path(struct parser *p)
{
	struct node *n = node_new(p, N_PATH);
	const char *s = p->src + p->tstart;
	size_t len = p->tlen, start = 0;

	if (!n)
		return NULL;
	for (size_t i = 0; i <= len; i++)
		if (i == len || s[i] == '.')
			n->nsegs++;
	n->segs = calloc(n->nsegs, sizeof *n->segs);
	if (!n->segs)
		goto oom;
	n->nsegs = 0;
	for (size_t i = 0; i <= len; i++) {
		if (i < len && s[i] != '.')
			continue;
		n->segs[n->nsegs] = strndup(s + start, i - start);
		if (!n->segs[n->nsegs])
			goto oom;
		n->nsegs++;
		start = i + 1;
	}
	next(p);
	return n;
oom:
	fail_at(p, p->tstart, "out of memory");
	node_free(n);
	return NULL;
}

static struct node *parse_operand(struct parser *p);

/* A list of only literals becomes one literal array; otherwise a list node. */
static struct node *parse_list(struct parser *p)
{
	size_t open = p->tstart;
	struct node *n = node_new(p, N_LIST);
	bool all_lit = true;

	if (!n)
		return NULL;
	next(p);
	while (!p->failed && p->tok != T_RB) {
		struct node *item, **grown;
		if (n->nitems && p->tok != T_COMMA) {
			fail_at(p, p->tstart, "expected ',' or ']' in the list opened at column %zu",
				open + 1);
			break;
		}
		if (n->nitems)
			next(p);
		item = parse_operand(p);
		if (!item)
			break;
		grown = realloc(n->items, (n->nitems + 1) * sizeof *grown);
		if (!grown) {
			node_free(item);
			fail_at(p, p->tstart, "out of memory");
			break;
		}
		n->items = grown;
		n->items[n->nitems++] = item;
		all_lit = all_lit && item->kind == N_LIT;
	}
	if (p->failed) {
		node_free(n);
		return NULL;
	}
	next(p);
	if (all_lit) {
		json_t *arr = json_array();
		for (size_t i = 0; arr && i < n->nitems; i++)
			json_array_append(arr, n->items[i]->lit);
		for (size_t i = 0; i < n->nitems; i++)
			node_free(n->items[i]);
		free(n->items);
		n->items = NULL;
		n->nitems = 0;
		n->kind = N_LIT;
		n->lit = arr;
		if (!arr) {
			fail_at(p, open, "out of memory");
			node_free(n);
			return NULL;
		}
	}
	return n;
}

static struct node *parse_operand(struct parser *p)
{
	struct node *n = NULL;

	if (p->failed)
		return NULL;
	if (++p->depth > MAX_DEPTH) {
		fail_at(p, p->tstart, "expression nested too deeply");
		return NULL;
	}
	switch (p->tok) {
	case T_NUM:
	case T_STR:
		n = node_new(p, N_LIT);
		if (n) {
			n->lit = p->tval;
			p->tval = NULL;
		}
		next(p);
		break;
	case T_TRUE:
	case T_FALSE:
	case T_NULL:
		n = node_new(p, N_LIT);
		if (n)
			n->lit = p->tok == T_TRUE ? json_true() : p->tok == T_FALSE ? json_false() : json_null();
		next(p);
		break;
	case T_PATH:
		n = parse_path(p);
		break;
	case T_LB:
		n = parse_list(p);
		break;
	case T_LP: {
		size_t open = p->tstart;
		next(p);
		n = parse_or(p);
		if (n && p->tok != T_RP) {
			fail_at(p, p->tstart, "expected ')' to close '(' at column %zu", open + 1);
			node_free(n);
			n = NULL;
		}
		next(p);
		break;
	}
	default:
		if (p->tok == T_EOF) {
			fail_at(p, p->tstart, "expected a value, found end of expression");
		} else {
			char tb[40];
			fail_at(p, p->tstart, "unexpected %s: expected a value, found %s",
				tok_show(p, tb, sizeof tb), tok_text(p->tok));
		}
		break;
	}
	p->depth--;
	if (p->failed) {
		node_free(n);
		return NULL;
	}
	return n;
}

static struct node *compile_regex(struct parser *p, struct node *lhs)
{
	size_t at = p->tstart;
	const char *pat;
	int code;
	PCRE2_SIZE off;
	struct node *n;

	if (p->tok != T_STR) {
		fail_at(p, p->tstart, "'matches' needs a string literal regex");
		node_free(lhs);
		return NULL;
	}
	pat = json_string_value(p->tval);
	n = node_new(p, N_MATCHES);
	if (!n) {
		node_free(lhs);
		return NULL;
	}
	n->a = lhs;
	n->re = pcre2_compile((PCRE2_SPTR)pat, json_string_length(p->tval), PCRE2_UTF, &code, &off,
			      NULL);
	if (!n->re) {
		PCRE2_UCHAR msg[160];
		pcre2_get_error_message(code, msg, sizeof msg);
		fail_at(p, at + 1 + off, "invalid regex: %s", (const char *)msg);
		node_free(n);
		return NULL;
	}
	pcre2_jit_compile(n->re, PCRE2_JIT_COMPLETE); /* optional speed-up; interpreter otherwise */
	n->mctx = pcre2_match_context_create(NULL);
	if (!n->mctx) {
		fail_at(p, at, "out of memory");
		node_free(n);
		return NULL;
	}
	pcre2_set_match_limit(n->mctx, MATCH_LIMIT);
	next(p);
	return n;
}

static struct node *parse_cmp(struct parser *p)
{
	struct node *lhs = parse_operand(p), *n;
	enum tok op = p->tok;

	if (!lhs)
		return NULL;
	switch (op) {
	case T_EQ: case T_NE: case T_LT: case T_LE: case T_GT: case T_GE:
		next(p);
		n = binary(p, N_CMP, lhs, parse_operand(p));
		if (n)
			n->op = op;
		return n;
	case T_IN:
		next(p);
		return binary(p, N_IN, lhs, parse_operand(p));
	case T_CONTAINS:
		next(p);
		return binary(p, N_CONTAINS, lhs, parse_operand(p));
	case T_MATCHES:
		next(p);
		return compile_regex(p, lhs);
	case T_NOT: {
		/* `a not in [..]` */
		size_t at = p->tstart;
		next(p);
		if (p->tok != T_IN) {
			fail_at(p, at, "'not' here must be followed by 'in'");
			node_free(lhs);
			return NULL;
		}
		next(p);
		n = binary(p, N_IN, lhs, parse_operand(p));
		if (!n)
			return NULL;
		lhs = n;
		n = node_new(p, N_NOT);
		if (!n) {
			node_free(lhs);
			return NULL;
		}
		n->a = lhs;
		return n;
	}
	default:
		return lhs;
	}
}

static struct node *parse_not(struct parser *p)
{
	struct node *n, *inner;

	if (p->tok != T_NOT)
		return parse_cmp(p);
	if (++p->depth > MAX_DEPTH) {
		fail_at(p, p->tstart, "expression nested too deeply");
		return NULL;
	}
	next(p);
	inner = parse_not(p);
	p->depth--;
	if (!inner)
		return NULL;
	n = node_new(p, N_NOT);
	if (!n) {
		node_free(inner);
		return NULL;
	}
	n->a = inner;
	return n;
}

static struct node *parse_and(struct parser *p)
{
	struct node *n = parse_not(p);

	while (n && p->tok == T_AND) {
		next(p);
		n = binary(p, N_AND, n, parse_not(p));
	}
	return n;
}

static struct node *parse_or(struct parser *p)
{
	struct node *n = parse_and(p);

	while (n && p->tok == T_OR) {
		next(p);
		n = binary(p, N_OR, n, parse_and(p));
	}
	return n;
}

int expr_compile(const char *src, struct expr **out, char *errbuf, size_t errlen,
		 int *err_column)
{
	struct parser p = { .src = src, .errbuf = errbuf, .errlen = errlen };
	struct expr *e = NULL;
	struct node *root = NULL;

	*out = NULL;
	if (errbuf && errlen)
		errbuf[0] = '\0';
	if (err_column)
		*err_column = 0;
	if (strlen(src) > EXPR_MAX_SOURCE) {
		fail_at(&p, EXPR_MAX_SOURCE, "expression longer than %d bytes", EXPR_MAX_SOURCE);
		goto out;
	}
	next(&p);
	if (p.tok == T_EOF && !p.failed) {
		fail_at(&p, 0, "empty expression");
		goto out;
	}
	root = parse_or(&p);
	if (root && p.tok != T_EOF) {
		char tb[40];
		fail_at(&p, p.tstart, "unexpected %s after a complete expression",
			tok_show(&p, tb, sizeof tb));
	}
	if (p.failed)
		goto out;
	e = calloc(1, sizeof *e);
	if (!e || !(e->src = strdup(src))) {
		fail_at(&p, 0, "out of memory");
		goto out;
	}
	e->root = root;
	root = NULL;
	*out = e;
	e = NULL;
out:
	json_decref(p.tval);
	node_free(root);
	if (e) {
		free(e->src);
		free(e);
	}
	if (p.failed && err_column)
		*err_column = p.errcol;
	return p.failed ? -1 : 0;
}

void expr_free(struct expr *e)
{
	if (!e)
		return;
	node_free(e->root);
	free(e->src);
	free(e);
}

const char *expr_source(const struct expr *e)
{
	return e->src;
}

/* ---- evaluation ------------------------------------------------------------------------ */

static bool is_prefix_word(const char *s)
{
	return !strcmp(s, "input") || !strcmp(s, "message") || !strcmp(s, "data");
}

static const json_t *lookup(const struct node *n, const json_t *msg)
{
	const json_t *cur = msg;
	size_t i = 0;

	if (n->nsegs > 1 && is_prefix_word(n->segs[0]) &&
	    !(json_is_object(msg) && json_object_get(msg, n->segs[0])))
		i = 1;
	for (; cur && i < n->nsegs; i++) {
		if (json_is_object(cur)) {
			cur = json_object_get(cur, n->segs[i]);
		} else if (json_is_array(cur) && is_digit(n->segs[i][0])) {
			char *end;
			unsigned long idx = strtoul(n->segs[i], &end, 10);
			cur = *end ? NULL : json_array_get(cur, idx);
		} else {
			cur = NULL;
		}
	}
	return cur;
}

static bool truth(const struct node *n, const json_t *msg);

/* The value of an operand; boolean sub-expressions yield json_true()/json_false() (static). */
static const json_t *value(const struct node *n, const json_t *msg)
{
	switch (n->kind) {
	case N_LIT:
		return n->lit;
	case N_PATH:
		return lookup(n, msg);
	case N_LIST:
		return NULL; /* only meaningful on the right of `in`, handled there */
	default:
		return truth(n, msg) ? json_true() : json_false();
	}
}

static bool truthy(const json_t *v)
{
	switch (v ? json_typeof(v) : JSON_NULL) {
	case JSON_TRUE: return true;
	case JSON_INTEGER: return json_integer_value(v) != 0;
	case JSON_REAL: return json_real_value(v) != 0.0;
	case JSON_STRING: return json_string_length(v) > 0;
	case JSON_ARRAY: return json_array_size(v) > 0;
	case JSON_OBJECT: return json_object_size(v) > 0;
	default: return false;
	}
}

/* -1, 0, 1 for ordered values; 2 when the pair has no order (null, mismatched types). */
static int order(const json_t *a, const json_t *b)
{
	if (json_is_integer(a) && json_is_integer(b)) {
		json_int_t x = json_integer_value(a), y = json_integer_value(b);
		return x < y ? -1 : x > y;
	}
	if (json_is_number(a) && json_is_number(b)) {
		double x = json_number_value(a), y = json_number_value(b);
		return x < y ? -1 : x > y ? 1 : x == y ? 0 : 2;
	}
	if (json_is_string(a) && json_is_string(b)) {
		size_t la = json_string_length(a), lb = json_string_length(b);
		int c = memcmp(json_string_value(a), json_string_value(b), la < lb ? la : lb);
		if (c)
			return c < 0 ? -1 : 1;
		return la < lb ? -1 : la > lb;
	}
	return 2;
}

static bool equal(const json_t *a, const json_t *b)
{
	if (!a)
		a = json_null();
	if (!b)
		b = json_null();
	if (json_is_number(a) && json_is_number(b))
		return order(a, b) == 0;
	return json_equal((json_t *)a, (json_t *)b);
}

static bool substring(const json_t *hay, const json_t *needle)
{
	return memmem(json_string_value(hay), json_string_length(hay), json_string_value(needle),
		      json_string_length(needle)) != NULL;
}

/* `a contains b` (and `b in a`): substring, array element or object key. */
static bool container_has(const json_t *c, const json_t *x)
{
	size_t i;
	json_t *el;

	if (json_is_string(c))
		return json_is_string(x) && substring(c, x);
	if (json_is_array(c)) {
		json_array_foreach(c, i, el)
			if (equal(el, x))
				return true;
		return false;
	}
	if (json_is_object(c) && json_is_string(x))
		return json_object_get(c, json_string_value(x)) != NULL;
	return false;
}

static bool eval_in(const struct node *n, const json_t *msg)
{
	const json_t *x = value(n->a, msg);

	if (n->b->kind == N_LIST) {
		for (size_t i = 0; i < n->b->nitems; i++)
			if (equal(x, value(n->b->items[i], msg)))
				return true;
		return false;
	}
	return container_has(value(n->b, msg), x);
}

static bool eval_matches(const struct node *n, const json_t *msg)
{
	const json_t *s = value(n->a, msg);
	pcre2_match_data *md;
	int rc;

	if (!json_is_string(s))
		return false;
	md = pcre2_match_data_create(1, NULL);
	if (!md)
		return false;
	rc = pcre2_match(n->re, (PCRE2_SPTR)json_string_value(s), json_string_length(s), 0, 0, md,
			 n->mctx);
	pcre2_match_data_free(md);
	return rc >= 0;
}

static bool eval_cmp(const struct node *n, const json_t *msg)
{
	const json_t *a = value(n->a, msg), *b = value(n->b, msg);
	int o;

	if (n->op == T_EQ)
		return equal(a, b);
	if (n->op == T_NE)
		return !equal(a, b);
	o = order(a, b);
	if (o == 2)
		return false;
	switch (n->op) {
	case T_LT: return o < 0;
	case T_LE: return o <= 0;
	case T_GT: return o > 0;
	case T_GE: return o >= 0;
	default: return false;
	}
}

static bool truth(const struct node *n, const json_t *msg)
{
	switch (n->kind) {
	case N_NOT: return !truth(n->a, msg);
	case N_AND: return truth(n->a, msg) && truth(n->b, msg);
	case N_OR: return truth(n->a, msg) || truth(n->b, msg);
	case N_CMP: return eval_cmp(n, msg);
	case N_IN: return eval_in(n, msg);
	case N_CONTAINS: return container_has(value(n->a, msg), value(n->b, msg));
	case N_MATCHES: return eval_matches(n, msg);
	case N_LIST: return n->nitems > 0;
	default: return truthy(value(n, msg));
	}
}

bool expr_eval(const struct expr *e, const json_t *msg)
{
	return e && truth(e->root, msg);
}

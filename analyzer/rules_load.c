/*
 * rules_load.c — loading rule packs from YAML (libyaml document API, whose node marks give
 * every diagnostic a file:line:column).
 *
 * The loader validates as it builds: unknown keys (with a did-you-mean), missing required keys,
 * wrong node types, bad severities and ids, patterns that PCRE2 refuses (with the offset),
 * duplicate keys, and — after all files — duplicate rule ids naming both places. It does not
 * stop at the first problem: every problem goes to the caller's diag callback, the first one
 * into the ac_error, and a load with any problem fails as a whole (no half-loaded rule sets).
 */
#include "core/common.h"
#include "analyzer/rules_int.h"

#include <dirent.h>
#include <yaml.h>

struct loader {
	const struct rules_load_opts *opts;
	struct ac_error *err;
	int nerrors;
	int first_code;
	const char *file;
	size_t visits;        /* node visits and bytes copied: YAML aliases can make a small */
	size_t copied;        /* file expand enormously, so both are bounded */
	bool over;            /* a bound was hit: stop walking, one diagnostic said why */
	const char *src;      /* the pack's text, for pointing into patterns */
	size_t srclen;
	yaml_document_t *doc;
	struct rules *rs;
};

/* Bounds on what one load may expand to (node visits; bytes of strings copied). */
#define LOAD_MAX_VISITS (8u << 20)
#define LOAD_MAX_COPIED (16u << 20)

static void report(struct loader *L, int code, const char *file, int line, int col,
		   const char *msg)
{
	if (L->over)
		return;
	if (L->opts && L->opts->diag)
		L->opts->diag(L->opts->ctx, file, line, col, msg);
	if (L->nerrors++ == 0) {
		L->first_code = code;
		if (line > 0)
			ac_error_set(L->err, code, "invalid_rules", "%s:%d:%d: %s", file, line, col, msg);
		else
			ac_error_set(L->err, code, "invalid_rules", "%s: %s", file, msg);
	}
}

__attribute__((format(printf, 3, 4)))
static void diag(struct loader *L, const yaml_node_t *n, const char *fmt, ...)
{
	char msg[768];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	report(L, AC_EINVAL, L->file, n ? (int)n->start_mark.line + 1 : 0,
	       n ? (int)n->start_mark.column + 1 : 0, msg);
}

/* --- node helpers ------------------------------------------------------------------------ */

static void over_budget(struct loader *L)
{
	report(L, AC_ETOOBIG, L->file, 0, 0,
	       "the pack expands to too much data (YAML aliases?); loading stopped");
	L->over = true;
}

/* Account for copying n bytes of a string; false when the load's budget is exhausted. */
static bool charge(struct loader *L, size_t n)
{
	if (L->over)
		return false;
	L->copied += n + 32; /* with the allocator's and jansson's overhead per string */
	if (L->copied > LOAD_MAX_COPIED) {
		over_budget(L);
		return false;
	}
	return true;
}

static yaml_node_t *node_at(struct loader *L, int idx)
{
	if (L->over)
		return NULL;
	if (++L->visits > LOAD_MAX_VISITS) {
		over_budget(L);
		return NULL;
	}
	return yaml_document_get_node(L->doc, idx);
}

static bool is_scalar(const yaml_node_t *n) { return n && n->type == YAML_SCALAR_NODE; }
static bool is_seq(const yaml_node_t *n) { return n && n->type == YAML_SEQUENCE_NODE; }
static bool is_map(const yaml_node_t *n) { return n && n->type == YAML_MAPPING_NODE; }

static const char *scalar(const yaml_node_t *n) { return (const char *)n->data.scalar.value; }
static size_t scalar_len(const yaml_node_t *n) { return n->data.scalar.length; }

static const char *node_kind(const yaml_node_t *n)
{
	if (!n)
		return "nothing";
	switch (n->type) {
	case YAML_SCALAR_NODE: return "a string";
	case YAML_SEQUENCE_NODE: return "a list";
	case YAML_MAPPING_NODE: return "a mapping";
	default: return "nothing";
	}
}

/* A non-empty string value, copied; NULL (with a diagnostic) otherwise. */
static char *want_string(struct loader *L, const yaml_node_t *n, const char *what)
{
	if (!is_scalar(n)) {
		diag(L, n, "%s must be a string, not %s%s", what, node_kind(n),
		     is_map(n) ? " (a plain string containing ': ' starts a mapping; quote it)" : "");
		return NULL;
	}
	if (scalar_len(n) == 0) {
		diag(L, n, "%s must not be empty", what);
		return NULL;
	}
	if (!charge(L, scalar_len(n)))
		return NULL;
	char *s = strndup(scalar(n), scalar_len(n));
	if (!s)
		report(L, AC_ENOMEM, L->file, 0, 0, "out of memory");
	return s;
}

static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), prev[64], cur[64];
	if (la >= 63 || lb >= 63)
		return 99;
	for (size_t j = 0; j <= lb; j++)
		prev[j] = j;
	for (size_t i = 1; i <= la; i++) {
		cur[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
			size_t del = prev[j] + 1, ins = cur[j - 1] + 1;
			cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
		}
		memcpy(prev, cur, (lb + 1) * sizeof *prev);
	}
	return prev[lb];
}

static void unknown_key(struct loader *L, const yaml_node_t *key, const char *const *known,
			size_t nknown, const char *where)
{
	const char *best = NULL;
	size_t bestd = 3;
	for (size_t i = 0; i < nknown; i++) {
		size_t d = edit_distance(scalar(key), known[i]);
		if (d < bestd) {
			bestd = d;
			best = known[i];
		}
	}
	if (best) {
		diag(L, key, "unknown key '%s' in %s (did you mean '%s'?)", scalar(key), where, best);
		return;
	}
	char list[256] = "";
	size_t used = 0;
	for (size_t i = 0; i < nknown && used < sizeof list; i++)
		used += (size_t)snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "",
					 known[i]);
	diag(L, key, "unknown key '%s' in %s (expected one of: %s)", scalar(key), where, list);
}

/*
 * Collect the values of a mapping's known keys into vals[] (NULL when absent), reporting
 * non-string keys, unknown keys and duplicates. Returns false if n is not a mapping.
 */
static bool map_collect(struct loader *L, const yaml_node_t *n, const char *const *known,
			size_t nknown, yaml_node_t **vals, const char *where)
{
	yaml_node_t *keys[32] = { 0 };
	for (size_t i = 0; i < nknown; i++)
		vals[i] = NULL;
	if (!is_map(n)) {
		diag(L, n, "%s must be a mapping, not %s", where, node_kind(n));
		return false;
	}
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top && !L->over; p++) {
		yaml_node_t *k = node_at(L, p->key);
		size_t i;
		if (!is_scalar(k)) {
			diag(L, k, "keys in %s must be strings", where);
			continue;
		}
		for (i = 0; i < nknown && strcmp(scalar(k), known[i]); i++)
			;
		if (i == nknown) {
			unknown_key(L, k, known, nknown, where);
		} else if (keys[i]) {
			diag(L, k, "duplicate key '%s' in %s (first at line %d)", known[i], where,
			     (int)keys[i]->start_mark.line + 1);
		} else {
			keys[i] = k;
			vals[i] = node_at(L, p->value);
		}
	}
	return true;
}

static void require_keys(struct loader *L, const yaml_node_t *n, const char *const *known,
			 yaml_node_t *const *vals, const bool *required, size_t nknown,
			 const char *where)
{
	for (size_t i = 0; i < nknown; i++)
		if (required[i] && !vals[i])
			diag(L, n, "%s is missing required key '%s'", where, known[i]);
}

/* A non-empty list of non-empty strings. Returns the count (0 on error), *out owned by caller. */
static size_t want_string_list(struct loader *L, const yaml_node_t *n, const char *what,
			       char ***out)
{
	*out = NULL;
	if (!is_seq(n)) {
		diag(L, n, "%s must be a list, not %s", what, node_kind(n));
		return 0;
	}
	size_t cnt = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
	if (cnt == 0) {
		diag(L, n, "%s must not be empty", what);
		return 0;
	}
	char **v = calloc(cnt, sizeof *v);
	if (!v) {
		report(L, AC_ENOMEM, L->file, 0, 0, "out of memory");
		return 0;
	}
	for (size_t i = 0; i < cnt && !L->over; i++)
		v[i] = want_string(L, node_at(L, n->data.sequence.items.start[i]), what);
	*out = v;
	return cnt;
}

/* --- conditions -------------------------------------------------------------------------- */

static const char *const match_keys[] = {
	"message", "exception_type", "exception_value", "frame_function",
	"logger", "level", "component", "system", "all", "any", "not",
};

/*
 * The 1-based column of a pattern's byte offset in the file, so the diagnostic points at the
 * offending character. Exact for plain and single-quoted scalars on one line (walking the
 * source, where '' stands for one quote); otherwise the scalar's own column.
 */
static int pattern_offset_column(const struct loader *L, const yaml_node_t *pat, size_t off)
{
	int col = (int)pat->start_mark.column + 1;
	yaml_scalar_style_t style = pat->data.scalar.style;
	size_t i = pat->start_mark.index;
	if (pat->start_mark.line != pat->end_mark.line || !L->src || i >= L->srclen ||
	    (style != YAML_PLAIN_SCALAR_STYLE && style != YAML_SINGLE_QUOTED_SCALAR_STYLE))
		return col;
	if (style == YAML_SINGLE_QUOTED_SCALAR_STYLE) {
		i++;
		col++;
	}
	for (size_t k = 0; k < off && i < L->srclen; k++) {
		size_t step = (style == YAML_SINGLE_QUOTED_SCALAR_STYLE && L->src[i] == '\'' &&
			       i + 1 < L->srclen && L->src[i + 1] == '\'') ? 2 : 1;
		i += step;
		col += (int)step;
	}
	return col;
}

static int compile_cond(struct loader *L, struct cond *c, const yaml_node_t *pat)
{
	int errcode;
	PCRE2_SIZE erroff;
	if (!charge(L, scalar_len(pat)))
		return AC_ETOOBIG;
	c->pattern = strndup(scalar(pat), scalar_len(pat));
	if (!c->pattern)
		return AC_ENOMEM;
	c->code = pcre2_compile((PCRE2_SPTR)scalar(pat), scalar_len(pat),
				PCRE2_NEVER_UTF | PCRE2_NEVER_UCP, &errcode, &erroff, NULL);
	if (!c->code) {
		PCRE2_UCHAR buf[256];
		pcre2_get_error_message(errcode, buf, sizeof buf);
		char msg[512];
		snprintf(msg, sizeof msg, "pattern for '%s' does not compile at offset %zu: %s",
			 rule_field_name(c->field), (size_t)erroff, (const char *)buf);
		report(L, AC_EINVAL, L->file, (int)pat->start_mark.line + 1,
		       pattern_offset_column(L, pat, erroff), msg);
		return AC_EINVAL;
	}
	/* JIT is an optimisation: if it is unavailable the interpreter gives the same answers. */
	(void)pcre2_jit_compile(c->code, PCRE2_JIT_COMPLETE);
	pcre2_pattern_info(c->code, PCRE2_INFO_NAMECOUNT, &c->name_count);
	pcre2_pattern_info(c->code, PCRE2_INFO_NAMEENTRYSIZE, &c->name_entry_size);
	pcre2_pattern_info(c->code, PCRE2_INFO_NAMETABLE, &c->name_table);
	return rules_pattern_literals(scalar(pat), scalar_len(pat), &c->lits);
}

static void add_cond(struct loader *L, struct rule *r, enum cond_kind kind, int item,
		     const yaml_node_t *key, const yaml_node_t *pat)
{
	int f = rule_field_parse(scalar(key));
	if (f < 0) {
		unknown_key(L, key, match_keys, RULE_F_COUNT, "a condition");
		return;
	}
	if (!is_scalar(pat)) {
		diag(L, pat, "pattern for '%s' must be a string, not %s", scalar(key), node_kind(pat));
		return;
	}
	if (scalar_len(pat) == 0) {
		diag(L, pat, "pattern for '%s' must not be empty", scalar(key));
		return;
	}
	struct cond *nc = realloc(r->conds, (r->nconds + 1) * sizeof *nc);
	if (!nc) {
		report(L, AC_ENOMEM, L->file, 0, 0, "out of memory");
		return;
	}
	r->conds = nc;
	struct cond *c = &r->conds[r->nconds++];
	memset(c, 0, sizeof *c);
	c->kind = kind;
	c->field = (enum rule_field)f;
	c->item = item;
	if (compile_cond(L, c, pat) == AC_ENOMEM)
		report(L, AC_ENOMEM, L->file, 0, 0, "out of memory");
}

/* One item of all:/any:/not: — a mapping of field: pattern. */
static void parse_cond_item(struct loader *L, struct rule *r, enum cond_kind kind, int item,
			    const yaml_node_t *n, const char *combinator)
{
	if (!is_map(n) || n->data.mapping.pairs.top == n->data.mapping.pairs.start) {
		diag(L, n, "each item of '%s' must be a mapping of field: pattern", combinator);
		return;
	}
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top && !L->over; p++) {
		yaml_node_t *k = node_at(L, p->key);
		if (!is_scalar(k)) {
			diag(L, k, "keys in '%s' items must be field names", combinator);
			continue;
		}
		add_cond(L, r, kind, item, k, node_at(L, p->value));
	}
}

static void parse_combinator(struct loader *L, struct rule *r, enum cond_kind kind,
			     const yaml_node_t *n, const char *name)
{
	if (is_map(n)) { /* one item written without the list */
		parse_cond_item(L, r, kind, kind == COND_ANY ? r->nany++ : 0, n, name);
		return;
	}
	if (!is_seq(n) || n->data.sequence.items.top == n->data.sequence.items.start) {
		diag(L, n, "'%s' must be a non-empty list of conditions", name);
		return;
	}
	for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top && !L->over; it++)
		parse_cond_item(L, r, kind, kind == COND_ANY ? r->nany++ : 0, node_at(L, *it), name);
}

static void parse_match(struct loader *L, struct rule *r, const yaml_node_t *n)
{
	yaml_node_t *vals[AC_ARRAY_SIZE(match_keys)];
	if (!map_collect(L, n, match_keys, AC_ARRAY_SIZE(match_keys), vals, "match"))
		return;
	/* Conditions are added in file order so `rules list` shows them as written. */
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top && !L->over; p++) {
		yaml_node_t *k = node_at(L, p->key), *v = node_at(L, p->value);
		if (!is_scalar(k))
			continue;
		const char *key = scalar(k);
		size_t i;
		for (i = 0; i < AC_ARRAY_SIZE(match_keys) && strcmp(key, match_keys[i]); i++)
			;
		if (i == AC_ARRAY_SIZE(match_keys) || vals[i] != v)
			continue; /* unknown or duplicate: already reported */
		if (!strcmp(key, "all"))
			parse_combinator(L, r, COND_ALL, v, "all");
		else if (!strcmp(key, "any"))
			parse_combinator(L, r, COND_ANY, v, "any");
		else if (!strcmp(key, "not"))
			parse_combinator(L, r, COND_NOT, v, "not");
		else
			add_cond(L, r, COND_FIELD, 0, k, v);
	}
	int positive = 0, negative = 0;
	for (size_t i = 0; i < r->nconds; i++) {
		if (r->conds[i].kind == COND_FIELD || r->conds[i].kind == COND_ALL)
			positive++;
		else if (r->conds[i].kind == COND_NOT)
			negative++;
	}
	if (positive == 0 && r->nany == 0)
		diag(L, n, "match needs at least one positive condition (a field, 'all' or 'any')");
	r->specificity = positive + (r->nany > 0) + negative;
}

/* --- fix, references, examples ----------------------------------------------------------- */

static void parse_fix(struct loader *L, struct rule *r, const yaml_node_t *n)
{
	static const char *const keys[] = { "step", "command" };
	static const bool req[] = { true, false };
	if (!is_seq(n) || n->data.sequence.items.top == n->data.sequence.items.start) {
		diag(L, n, "fix must be a non-empty list of steps, not %s", node_kind(n));
		return;
	}
	size_t cnt = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
	r->fix = calloc(cnt, sizeof *r->fix);
	if (!r->fix) {
		report(L, AC_ENOMEM, L->file, 0, 0, "out of memory");
		return;
	}
	r->nfix = cnt;
	for (size_t i = 0; i < cnt && !L->over; i++) {
		yaml_node_t *it = node_at(L, n->data.sequence.items.start[i]), *vals[2];
		if (is_scalar(it)) {
			r->fix[i].step = want_string(L, it, "a fix step");
			continue;
		}
		if (!map_collect(L, it, keys, 2, vals, "a fix step"))
			continue;
		require_keys(L, it, keys, vals, req, 2, "a fix step");
		if (vals[0])
			r->fix[i].step = want_string(L, vals[0], "step");
		if (vals[1])
			r->fix[i].command = want_string(L, vals[1], "command");
	}
}

static void parse_references(struct loader *L, struct rule *r, const yaml_node_t *n)
{
	r->nrefs = want_string_list(L, n, "references", &r->refs);
	for (size_t i = 0; i < r->nrefs; i++) {
		const char *u = r->refs[i];
		if (u && strncmp(u, "https://", 8) && strncmp(u, "http://", 7))
			diag(L, node_at(L, n->data.sequence.items.start[i]),
			     "reference '%s' is not an http(s) URL", u);
	}
}

static const char *const example_keys[] = {
	"message", "exception_type", "exception_value", "frame_function",
	"logger", "level", "component", "system", "captures",
};

static json_t *example_frames(struct loader *L, const yaml_node_t *n)
{
	json_t *frames = json_array();
	if (is_scalar(n)) {
		if (charge(L, scalar_len(n)))
			json_array_append_new(frames, json_pack("{s:s%}", "function", scalar(n), scalar_len(n)));
	} else if (is_seq(n)) {
		for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top && !L->over; it++) {
			yaml_node_t *f = node_at(L, *it);
			if (!is_scalar(f)) {
				diag(L, f, "frame_function items must be strings");
				continue;
			}
			if (charge(L, scalar_len(f)))
				json_array_append_new(frames, json_pack("{s:s%}", "function", scalar(f),
									scalar_len(f)));
		}
	} else {
		diag(L, n, "frame_function must be a string or a list of strings");
	}
	return frames;
}

static json_t *example_captures(struct loader *L, const yaml_node_t *n)
{
	if (!is_map(n)) {
		diag(L, n, "captures must be a mapping of name: value");
		return NULL;
	}
	json_t *o = json_object();
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top && !L->over; p++) {
		yaml_node_t *k = node_at(L, p->key), *v = node_at(L, p->value);
		if (!is_scalar(k) || !is_scalar(v)) {
			diag(L, k, "captures must map names to strings");
			continue;
		}
		if (charge(L, scalar_len(k) + scalar_len(v)))
			json_object_set_new(o, scalar(k), json_stringn(scalar(v), scalar_len(v)));
	}
	return o;
}

/* An example event in the collector's shape. */
static json_t *example_event(struct loader *L, const yaml_node_t *n, bool expect_match,
			     json_t **captures)
{
	yaml_node_t *vals[AC_ARRAY_SIZE(example_keys)];
	*captures = NULL;
	if (is_scalar(n))
		return charge(L, scalar_len(n)) ? json_pack("{s:s%}", "message", scalar(n), scalar_len(n))
						 : NULL;
	if (!map_collect(L, n, example_keys, AC_ARRAY_SIZE(example_keys), vals, "an example"))
		return NULL;
	json_t *ev = json_object(), *exc = NULL;
	for (size_t i = 0; i < RULE_F_COUNT; i++) {
		yaml_node_t *v = vals[i];
		if (!v)
			continue;
		if (i == RULE_F_FRAME_FUNCTION) {
			if (!exc)
				exc = json_object();
			json_object_set_new(exc, "frames", example_frames(L, v));
			continue;
		}
		if (!is_scalar(v)) {
			diag(L, v, "example field '%s' must be a string", example_keys[i]);
			continue;
		}
		if (!charge(L, scalar_len(v)))
			break;
		json_t *s = json_stringn(scalar(v), scalar_len(v));
		if (i == RULE_F_EXCEPTION_TYPE || i == RULE_F_EXCEPTION_VALUE) {
			if (!exc)
				exc = json_object();
			json_object_set_new(exc, i == RULE_F_EXCEPTION_TYPE ? "type" : "value", s);
		} else {
			json_object_set_new(ev, example_keys[i], s);
		}
	}
	if (exc)
		json_object_set_new(ev, "exception", exc);
	if (vals[RULE_F_COUNT]) {
		if (!expect_match)
			diag(L, vals[RULE_F_COUNT], "captures are only meaningful in 'match' examples");
		else
			*captures = example_captures(L, vals[RULE_F_COUNT]);
	}
	return ev;
}

static void parse_example_list(struct loader *L, struct rule *r, const yaml_node_t *n,
			       bool expect_match)
{
	const char *name = expect_match ? "examples.match" : "examples.nomatch";
	if (!is_seq(n) || n->data.sequence.items.top == n->data.sequence.items.start) {
		diag(L, n, "%s must be a non-empty list", name);
		return;
	}
	size_t cnt = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
	struct example *ne = realloc(r->examples, (r->nexamples + cnt) * sizeof *ne);
	if (!ne) {
		report(L, AC_ENOMEM, L->file, 0, 0, "out of memory");
		return;
	}
	r->examples = ne;
	for (size_t i = 0; i < cnt && !L->over; i++) {
		yaml_node_t *it = node_at(L, n->data.sequence.items.start[i]);
		struct example *ex = &r->examples[r->nexamples];
		if (!it)
			break;
		ex->event = example_event(L, it, expect_match, &ex->captures);
		ex->expect_match = expect_match;
		ex->line = (int)it->start_mark.line + 1;
		if (ex->event)
			r->nexamples++;
		else
			json_decref(ex->captures);
	}
}

static void parse_examples(struct loader *L, struct rule *r, const yaml_node_t *n)
{
	static const char *const keys[] = { "match", "nomatch" };
	static const bool req[] = { true, false };
	yaml_node_t *vals[2];
	if (!map_collect(L, n, keys, 2, vals, "examples"))
		return;
	require_keys(L, n, keys, vals, req, 2, "examples");
	if (vals[0])
		parse_example_list(L, r, vals[0], true);
	if (vals[1])
		parse_example_list(L, r, vals[1], false);
}

/* --- rules and packs --------------------------------------------------------------------- */

enum { K_ID, K_TITLE, K_CATEGORY, K_SEVERITY, K_MATCH, K_CAUSES, K_FIX, K_REFS, K_EXAMPLES, K_N };
static const char *const rule_keys[K_N] = {
	"id", "title", "category", "severity", "match", "causes", "fix", "references", "examples",
};
static const bool rule_required[K_N] = { true, true, true, true, true, true, true, false, true };

static bool valid_id(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 100 || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= '0' && s[0] <= '9')))
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}

static void parse_severity(struct loader *L, struct rule *r, const yaml_node_t *n)
{
	static const char *const names[] = { "info", "warning", "error", "critical" };
	if (!is_scalar(n)) {
		diag(L, n, "severity must be a string, not %s", node_kind(n));
		return;
	}
	for (size_t i = 0; i < AC_ARRAY_SIZE(names); i++)
		if (!strcmp(scalar(n), names[i])) {
			r->severity = (enum rule_severity)i;
			return;
		}
	diag(L, n, "severity '%s' is not one of info, warning, error, critical", scalar(n));
}

/* "rule 'id'" when the mapping has a string id (looked up before validating, so even the
 * first diagnostic names the rule), else "rule #N". */
static void describe_rule(struct loader *L, const yaml_node_t *n, size_t ordinal, char *buf,
			  size_t size)
{
	snprintf(buf, size, "rule #%zu", ordinal + 1);
	if (!is_map(n))
		return;
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top && !L->over; p++) {
		yaml_node_t *k = node_at(L, p->key), *v = node_at(L, p->value);
		if (is_scalar(k) && !strcmp(scalar(k), "id") && is_scalar(v) && scalar_len(v) > 0 &&
		    scalar_len(v) < 110) {
			snprintf(buf, size, "rule '%s'", scalar(v));
			return;
		}
	}
}

static struct rule *parse_rule(struct loader *L, const yaml_node_t *n, size_t pack_index,
			       size_t ordinal)
{
	yaml_node_t *v[K_N];
	char where[160];
	int errors_before = L->nerrors;
	struct rule *r = calloc(1, sizeof *r);
	if (!r) {
		report(L, AC_ENOMEM, L->file, 0, 0, "out of memory");
		return NULL;
	}
	r->pack_index = pack_index;
	r->line = (int)n->start_mark.line + 1;
	r->column = (int)n->start_mark.column + 1;
	describe_rule(L, n, ordinal, where, sizeof where);
	if (!map_collect(L, n, rule_keys, K_N, v, where))
		goto out;
	require_keys(L, n, rule_keys, v, rule_required, K_N, where);
	if (v[K_ID]) {
		r->id = want_string(L, v[K_ID], "id");
		if (r->id && !valid_id(r->id))
			diag(L, v[K_ID], "id '%s' must match [a-z0-9][a-z0-9._-]* (at most 100 chars)", r->id);
		r->line = (int)v[K_ID]->start_mark.line + 1;
		r->column = (int)v[K_ID]->start_mark.column + 1;
	}
	if (v[K_TITLE])
		r->title = want_string(L, v[K_TITLE], "title");
	if (v[K_CATEGORY])
		r->category = want_string(L, v[K_CATEGORY], "category");
	if (v[K_SEVERITY])
		parse_severity(L, r, v[K_SEVERITY]);
	if (v[K_MATCH])
		parse_match(L, r, v[K_MATCH]);
	if (v[K_CAUSES])
		r->ncauses = want_string_list(L, v[K_CAUSES], "causes", &r->causes);
	if (v[K_FIX])
		parse_fix(L, r, v[K_FIX]);
	if (v[K_REFS])
		parse_references(L, r, v[K_REFS]);
	if (v[K_EXAMPLES])
		parse_examples(L, r, v[K_EXAMPLES]);
out:
	if (L->nerrors != errors_before) {
		rule_free(r);
		return NULL;
	}
	return r;
}

static int add_rule(struct loader *L, struct rule *r)
{
	struct rules *rs = L->rs;
	struct rule **nr = realloc(rs->rules, (rs->nrules + 1) * sizeof *nr);
	if (!nr) {
		rule_free(r);
		report(L, AC_ENOMEM, L->file, 0, 0, "out of memory");
		return AC_ENOMEM;
	}
	rs->rules = nr;
	rs->rules[rs->nrules++] = r;
	return 0;
}

static char *pack_default_name(const char *path)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	const char *dot = strrchr(base, '.');
	return strndup(base, dot && dot != base ? (size_t)(dot - base) : strlen(base));
}

static int add_pack(struct loader *L, const char *path)
{
	struct rules *rs = L->rs;
	struct pack *np = realloc(rs->packs, (rs->npacks + 1) * sizeof *np);
	if (!np)
		return AC_ENOMEM;
	rs->packs = np;
	struct pack *p = &rs->packs[rs->npacks];
	memset(p, 0, sizeof *p);
	p->path = strdup(path);
	p->name = pack_default_name(path);
	if (!p->path || !p->name) {
		free(p->path);
		free(p->name);
		return AC_ENOMEM;
	}
	rs->npacks++;
	return 0;
}

static void parse_pack(struct loader *L, const yaml_node_t *root, size_t pack_index)
{
	static const char *const keys[] = { "pack", "description", "rules" };
	static const bool req[] = { false, false, true };
	yaml_node_t *v[3];
	struct pack *p = &L->rs->packs[pack_index];

	if (!root) {
		diag(L, NULL, "empty rule pack (expected a mapping with 'rules:')");
		return;
	}
	if (!map_collect(L, root, keys, 3, v, "a rule pack"))
		return;
	require_keys(L, root, keys, v, req, 3, "a rule pack");
	if (v[0]) {
		char *name = want_string(L, v[0], "pack");
		if (name) {
			free(p->name);
			p->name = name;
		}
	}
	if (v[1])
		p->description = want_string(L, v[1], "description");
	if (!v[2])
		return;
	if (!is_seq(v[2])) {
		diag(L, v[2], "rules must be a list of rules, not %s", node_kind(v[2]));
		return;
	}
	size_t ordinal = 0;
	for (yaml_node_item_t *it = v[2]->data.sequence.items.start; it < v[2]->data.sequence.items.top && !L->over;
	     it++, ordinal++) {
		yaml_node_t *rn = node_at(L, *it);
		if (!rn)
			return;
		if (L->rs->nrules >= RULES_MAX_RULES) {
			diag(L, rn, "too many rules (at most %d)", RULES_MAX_RULES);
			return;
		}
		struct rule *r = parse_rule(L, rn, pack_index, ordinal);
		if (r && add_rule(L, r))
			return;
	}
}

static void digest_add(struct rules *rs, const void *p, size_t n)
{
	const unsigned char *b = p;
	if (rs->digest == 0)
		rs->digest = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < n; i++)
		rs->digest = (rs->digest ^ b[i]) * 0x100000001b3ull;
}

static void load_pack(struct loader *L, const char *path, const char *data, size_t len)
{
	yaml_parser_t parser;
	yaml_document_t doc, extra;
	size_t pack_index = L->rs->npacks;

	L->file = path;
	const char *base = strrchr(path, '/'); /* the directory it was loaded from does not count */
	base = base ? base + 1 : path;
	digest_add(L->rs, base, strlen(base) + 1);
	digest_add(L->rs, data, len);
	if (add_pack(L, path)) {
		report(L, AC_ENOMEM, path, 0, 0, "out of memory");
		return;
	}
	if (!yaml_parser_initialize(&parser)) {
		report(L, AC_ENOMEM, path, 0, 0, "out of memory");
		return;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)data, len);
	if (!yaml_parser_load(&parser, &doc)) {
		char msg[512];
		if (parser.context)
			snprintf(msg, sizeof msg, "YAML syntax error: %s %s (started at line %d, column %d)",
				 parser.problem ? parser.problem : "?", parser.context,
				 (int)parser.context_mark.line + 1, (int)parser.context_mark.column + 1);
		else
			snprintf(msg, sizeof msg, "YAML syntax error: %s",
				 parser.problem ? parser.problem : "?");
		report(L, AC_EINVAL, path, (int)parser.problem_mark.line + 1,
		       (int)parser.problem_mark.column + 1, msg);
		yaml_parser_delete(&parser);
		return;
	}
	L->doc = &doc;
	L->src = data;
	L->srclen = len;
	parse_pack(L, yaml_document_get_root_node(&doc), pack_index);
	if (yaml_parser_load(&parser, &extra)) {
		yaml_node_t *root = yaml_document_get_root_node(&extra);
		if (root)
			report(L, AC_EINVAL, path, (int)root->start_mark.line + 1,
			       (int)root->start_mark.column + 1,
			       "a rule pack holds one YAML document; found a second one");
		yaml_document_delete(&extra);
	}
	L->doc = NULL;
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
}

/* --- whole sets ---------------------------------------------------------------------------- */

static int id_cmp(const void *a, const void *b)
{
	const struct rule *x = *(const struct rule *const *)a, *y = *(const struct rule *const *)b;
	int c = strcmp(x->id, y->id);
	if (c)
		return c;
	return x->index < y->index ? -1 : x->index > y->index;
}

static void check_duplicate_ids(struct loader *L)
{
	struct rules *rs = L->rs;
	if (rs->nrules < 2)
		return;
	struct rule **v = malloc(rs->nrules * sizeof *v);
	if (!v) {
		report(L, AC_ENOMEM, "rules", 0, 0, "out of memory");
		return;
	}
	for (size_t i = 0; i < rs->nrules; i++) {
		rs->rules[i]->index = i;
		v[i] = rs->rules[i];
	}
	qsort(v, rs->nrules, sizeof *v, id_cmp);
	for (size_t i = 1; i < rs->nrules; i++) {
		size_t first = i - 1;
		while (first > 0 && !strcmp(v[first - 1]->id, v[i]->id))
			first--;
		if (strcmp(v[first]->id, v[i]->id))
			continue;
		char msg[512];
		const struct rule *a = v[first], *b = v[i];
		snprintf(msg, sizeof msg, "duplicate rule id '%s' (first defined at %s:%d:%d)", b->id,
			 rs->packs[a->pack_index].path, a->line, a->column);
		report(L, AC_EINVAL, rs->packs[b->pack_index].path, b->line, b->column, msg);
	}
	free(v);
}

static int finish_load(struct loader *L, struct rules **out)
{
	check_duplicate_ids(L);
	if (L->nerrors == 0 && rules_finish(L->rs))
		report(L, AC_ENOMEM, "rules", 0, 0, "out of memory");
	if (L->nerrors > 0) {
		if (L->nerrors > 1 && L->err) {
			size_t used = strlen(L->err->msg);
			snprintf(L->err->msg + used, sizeof L->err->msg - used, " (and %d more problem%s)",
				 L->nerrors - 1, L->nerrors > 2 ? "s" : "");
		}
		rules_free(L->rs);
		return L->first_code;
	}
	*out = L->rs;
	return 0;
}

static int loader_start(struct loader *L, const struct rules_load_opts *opts, struct rules **out,
			struct ac_error *err)
{
	memset(L, 0, sizeof *L);
	L->opts = opts;
	L->err = err;
	*out = NULL;
	ac_error_clear(err);
	L->rs = calloc(1, sizeof *L->rs);
	return L->rs ? 0 : ac_error_set(err, AC_ENOMEM, "oom", "out of memory");
}

int rules_load_buffer(const char *name, const char *data, size_t len,
		      const struct rules_load_opts *opts, struct rules **out, struct ac_error *err)
{
	struct loader L;
	int rc = loader_start(&L, opts, out, err);
	if (rc)
		return rc;
	if (len > RULES_MAX_FILE_BYTES)
		report(&L, AC_ETOOBIG, name, 0, 0, "rule pack larger than 4 MiB");
	else
		load_pack(&L, name, data, len);
	return finish_load(&L, out);
}

int rules_load_files(const char *const *paths, size_t n, const struct rules_load_opts *opts,
		     struct rules **out, struct ac_error *err)
{
	struct loader L;
	int rc = loader_start(&L, opts, out, err);
	if (rc)
		return rc;
	for (size_t i = 0; i < n; i++) {
		struct ac_error e;
		size_t len;
		char *data = ac_read_file(paths[i], RULES_MAX_FILE_BYTES, &len, &e);
		if (!data) {
			report(&L, e.code, paths[i], 0, 0, e.msg);
			continue;
		}
		load_pack(&L, paths[i], data, len);
		free(data);
	}
	return finish_load(&L, out);
}

static bool is_pack_name(const char *name)
{
	size_t n = strlen(name);
	if (name[0] == '.')
		return false;
	return (n > 5 && !strcmp(name + n - 5, ".yaml")) || (n > 4 && !strcmp(name + n - 4, ".yml"));
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int rules_load_dir_opts(const char *dir, const struct rules_load_opts *opts, struct rules **out,
			struct ac_error *err)
{
	char **paths = NULL;
	size_t n = 0, cap = 0;
	int rc = 0;
	struct dirent *de;
	size_t dlen = strlen(dir);
	const char *sep = dlen && dir[dlen - 1] == '/' ? "" : "/";

	*out = NULL;
	DIR *d = opendir(dir);
	if (!d)
		return ac_error_set(err, AC_EIO, "io", "%s: %s", dir, strerror(errno));
	while ((de = readdir(d))) {
		if (!is_pack_name(de->d_name))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			char **np = realloc(paths, cap * sizeof *np);
			if (!np) {
				rc = ac_error_set(err, AC_ENOMEM, "oom", "out of memory");
				goto out;
			}
			paths = np;
		}
		size_t need = dlen + strlen(de->d_name) + 2;
		paths[n] = malloc(need);
		if (!paths[n]) {
			rc = ac_error_set(err, AC_ENOMEM, "oom", "out of memory");
			goto out;
		}
		snprintf(paths[n++], need, "%s%s%s", dir, sep, de->d_name);
	}
	if (n)
		qsort(paths, n, sizeof *paths, str_cmp);
	rc = rules_load_files((const char *const *)paths, n, opts, out, err);
out:
	closedir(d);
	for (size_t i = 0; i < n; i++)
		free(paths[i]);
	free(paths);
	return rc;
}

int rules_load_dir(const char *dir, struct rules **out, struct ac_error *err)
{
	return rules_load_dir_opts(dir, NULL, out, err);
}

/*
 * rules_screen.c — the prefilter that keeps rule matching fast.
 *
 * Running every rule's regex on every message costs one PCRE2 call per rule per line. At load
 * time each pattern is scanned for its *required literals*: for every top-level alternative,
 * the longest run of plain characters that any match must contain (case-folded). A run ends
 * at anything that is not a plain character — a group, a class, `.`, an anchor, an escape
 * class — and a character followed by `?`, `*` or `{` is dropped, because it may be absent.
 * This is conservative: when unsure (\Q..\E, \x.., (?x) extended mode, a short alternative)
 * the pattern has no literal and its rule is always a candidate.
 *
 * All literals go into one table per field: a 65,536-bit bitmap indexed by a hash of each
 * literal's first three (lower-cased) bytes, and an array sorted by (field, hash). A message
 * is scanned once: each position's trigram hash tests the bitmap (one L1 load), and only on a
 * hit are the literals with that hash compared. Every literal found marks its rule as a
 * candidate; the regexes then run only for candidates.
 */
#include "core/common.h"
#include "analyzer/rules_int.h"

/* ASCII case folding, branch-free (no shared table, so no initialisation race). */
static inline unsigned char fold(unsigned char c)
{
	return (unsigned char)(c + (((unsigned)(c - 'A') < 26u) << 5));
}

static inline uint16_t tri_hash(unsigned char a, unsigned char b, unsigned char c)
{
	uint32_t h = (uint32_t)a * 0x9E37u ^ (uint32_t)b * 0x85EBu ^ (uint32_t)c * 0xC2B3u;
	return (uint16_t)(h ^ (h >> 16));
}

/* --- literal extraction ------------------------------------------------------------------ */

struct lit_scan {
	char cur[RULES_MAX_LITERAL + 1];
	size_t curlen;
	char best[RULES_MAX_LITERAL + 1];
	size_t bestlen;
	struct litset group; /* best literal set of a required group in this alternative */
};

static void lit_flush(struct lit_scan *s)
{
	if (s->curlen > s->bestlen) {
		memcpy(s->best, s->cur, s->curlen);
		s->bestlen = s->curlen;
		s->best[s->bestlen] = '\0';
	}
	s->curlen = 0;
}

static void lit_add(struct lit_scan *s, unsigned char c)
{
	if (c == '\0') { /* literals are C strings: a NUL ends the run */
		lit_flush(s);
		return;
	}
	if (s->curlen < RULES_MAX_LITERAL)
		s->cur[s->curlen++] = (char)fold(c);
	/* A truncated prefix of a required run is still required. */
}

/* Skip a [...] class starting at p[i] == '['; index just past it, or n if unterminated. */
static size_t skip_class(const char *p, size_t n, size_t i)
{
	size_t j = i + 1;
	if (j < n && p[j] == '^')
		j++;
	if (j < n && p[j] == ']')
		j++;
	while (j < n && p[j] != ']') {
		if (p[j] == '\\')
			j++;
		else if (p[j] == '[' && j + 1 < n && p[j + 1] == ':') {
			const char *e = memmem(p + j + 2, n - j - 2, ":]", 2);
			if (e)
				j = (size_t)(e - p) + 1;
		}
		j++;
	}
	return j >= n ? n : j + 1;
}

/* Index just past the group starting at p[i] == '(' or (size_t)-1 if unbalanced. */
static size_t skip_group(const char *p, size_t n, size_t i)
{
	int depth = 0;
	while (i < n) {
		char c = p[i];
		if (c == '\\') {
			i += 2;
		} else if (c == '[') {
			i = skip_class(p, n, i);
		} else {
			if (c == '(')
				depth++;
			else if (c == ')' && --depth == 0)
				return i + 1;
			i++;
		}
	}
	return (size_t)-1;
}

/* A top-level option setting like (?i) or (?x-s): returns true and sets *extended when it is
 * one; extended mode makes whitespace and # non-literal, which we do not analyse. */
static bool is_option_setting(const char *p, size_t n, size_t i, size_t end, bool *extended)
{
	if (i + 2 >= n || p[i + 1] != '?')
		return false;
	for (size_t j = i + 2; j + 1 < end; j++) {
		char c = p[j];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' || c == '^'))
			return false;
	}
	for (size_t j = i + 2; j + 1 < end; j++)
		if (p[j] == 'x')
			*extended = true;
	return true;
}

/* Escape after a backslash: 1 = literal (*out set), 0 = breaker (zero-width or class),
 * -1 = a construct we do not analyse. */
static int classify_escape(char d, unsigned char *out)
{
	if (!((d >= 'a' && d <= 'z') || (d >= 'A' && d <= 'Z') || (d >= '0' && d <= '9'))) {
		*out = (unsigned char)d;
		return 1;
	}
	switch (d) {
	case 'n': *out = '\n'; return 1;
	case 't': *out = '\t'; return 1;
	case 'r': *out = '\r'; return 1;
	case 'f': *out = '\f'; return 1;
	case 'a': *out = 7; return 1;
	case 'e': *out = 27; return 1;
	case 'd': case 'D': case 's': case 'S': case 'w': case 'W': case 'b': case 'B':
	case 'h': case 'H': case 'v': case 'V': case 'R': case 'X': case 'A': case 'z':
	case 'Z': case 'G': case 'K':
		return 0;
	default:
		return -1;
	}
}

/* At p[i] == '{': the index after a {n}, {n,}, {n,m} or {,m} quantifier, else i + 1 (a
 * literal brace, which we conservatively treat as ending the run). */
static size_t skip_quantifier_braces(const char *p, size_t n, size_t i)
{
	size_t j = i + 1;
	bool digits = false;
	while (j < n && ((p[j] >= '0' && p[j] <= '9') || p[j] == ',' || p[j] == ' ')) {
		digits |= p[j] >= '0' && p[j] <= '9';
		j++;
	}
	return (j < n && p[j] == '}' && digits) ? j + 1 : i + 1;
}

static bool quantifier_follows_optional(const char *p, size_t n, size_t j)
{
	return j < n && (p[j] == '?' || p[j] == '*' || p[j] == '{');
}

static int litset_push(struct litset *out, const struct lit_scan *s)
{
	char **nl = realloc(out->lits, (out->n + 1) * sizeof *nl);
	if (!nl)
		return AC_ENOMEM;
	out->lits = nl;
	out->lits[out->n] = strndup(s->best, s->bestlen);
	if (!out->lits[out->n])
		return AC_ENOMEM;
	if (out->n == 0 || s->bestlen < out->minlen)
		out->minlen = s->bestlen;
	out->n++;
	return 0;
}

/* Close one top-level alternative: 1 if it has a usable literal, 0 if not, <0 on ENOMEM.
 * The alternative's literal is its longest plain run, or a required group's literal set when
 * that set's shortest member is longer. */
static int close_alternative(struct litset *out, struct lit_scan *s)
{
	int rc = 0;
	lit_flush(s);
	if (s->group.n > 0 && s->group.minlen > s->bestlen) {
		for (size_t i = 0; i < s->group.n && !rc; i++) {
			struct lit_scan one = { .bestlen = strlen(s->group.lits[i]) };
			memcpy(one.best, s->group.lits[i], one.bestlen + 1);
			rc = litset_push(out, &one);
		}
		rules_litset_free(&s->group);
		s->bestlen = 0;
		return rc < 0 ? rc : 1;
	}
	rules_litset_free(&s->group);
	if (s->bestlen < RULES_MIN_LITERAL)
		return 0;
	rc = litset_push(out, s);
	s->bestlen = 0;
	return rc < 0 ? rc : 1;
}

/* Where a group's sub-pattern starts, for groups that consume what they match (capturing,
 * (?:, (?>, (?|, named, (?flags:); 0 for lookarounds, conditionals, comments and verbs. */
static size_t group_body(const char *p, size_t i, size_t end)
{
	size_t j = i + 1;
	if (j >= end)
		return 0;
	if (p[j] == '*')
		return 0;
	if (p[j] != '?')
		return j;
	j++;
	if (j >= end)
		return 0;
	if (p[j] == ':' || p[j] == '>' || p[j] == '|')
		return j + 1;
	if (p[j] == 'P' && j + 1 < end && p[j + 1] == '<')
		j++;
	if (p[j] == '<' || p[j] == '\'') {
		char close = p[j] == '<' ? '>' : '\'';
		if (j + 1 < end && (p[j + 1] == '=' || p[j + 1] == '!'))
			return 0;
		for (j++; j < end && p[j] != close; j++)
			if (!((p[j] >= 'a' && p[j] <= 'z') || (p[j] >= 'A' && p[j] <= 'Z') ||
			      (p[j] >= '0' && p[j] <= '9') || p[j] == '_'))
				return 0;
		return j < end ? j + 1 : 0;
	}
	for (; j < end; j++) { /* (?i: (?i-s:  — but not (?x: whose spaces are not literal */
		char c = p[j];
		if (c == ':')
			return j + 1;
		if (c == 'x')
			return 0;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' || c == '^'))
			return 0;
	}
	return 0;
}

static int pattern_literals(const char *p, size_t n, struct litset *out, int depth);

/* A required group: take its literal set if it beats the alternative's current group set. */
static int consider_group(struct lit_scan *s, const char *p, size_t n, size_t i, size_t end,
			  int depth)
{
	size_t body = group_body(p, i, end);
	struct litset sub;
	if (!body || depth >= 8 || (end < n && (p[end] == '?' || p[end] == '*' || p[end] == '{')))
		return 0;
	int rc = pattern_literals(p + body, end - 1 - body, &sub, depth + 1);
	if (rc < 0)
		return rc;
	if (sub.n > 0 && (s->group.n == 0 || sub.minlen > s->group.minlen)) {
		rules_litset_free(&s->group);
		s->group = sub;
	} else {
		rules_litset_free(&sub);
	}
	return 0;
}

int rules_pattern_literals(const char *p, size_t n, struct litset *out)
{
	return pattern_literals(p, n, out, 0);
}

/* Outcome of scanning one atom: go on, give up on the pattern (unknown), or out of memory. */
enum scan_step { SCAN_OK = 1, SCAN_UNKNOWN = 0, SCAN_NOMEM = AC_ENOMEM };

/* A literal character c whose atom ends at p[next]: part of the run unless a quantifier makes
 * it optional; a `+` keeps it (it occurs at least once) but ends the run. */
static void scan_literal(struct lit_scan *s, const char *p, size_t n, size_t next, unsigned char c)
{
	if (quantifier_follows_optional(p, n, next)) {
		lit_flush(s);
		return;
	}
	lit_add(s, c);
	if (next < n && p[next] == '+')
		lit_flush(s);
}

static enum scan_step scan_escape(struct lit_scan *s, const char *p, size_t n, size_t *i)
{
	unsigned char lit;
	if (*i + 1 >= n)
		return SCAN_UNKNOWN;
	int k = classify_escape(p[*i + 1], &lit);
	if (k < 0)
		return SCAN_UNKNOWN;
	if (k == 0)
		lit_flush(s);
	else
		scan_literal(s, p, n, *i + 2, lit);
	*i += 2;
	return SCAN_OK;
}

static enum scan_step scan_group(struct lit_scan *s, const char *p, size_t n, size_t *i, int depth)
{
	size_t end = skip_group(p, n, *i);
	bool extended = false;
	/* (*ACCEPT) and other verbs can end a match early: literals after them are not required,
	 * so such patterns are not analysed; nor is extended mode. */
	if (end == (size_t)-1 || (*i + 1 < n && p[*i + 1] == '*'))
		return SCAN_UNKNOWN;
	if (is_option_setting(p, n, *i, end, &extended) && extended)
		return SCAN_UNKNOWN;
	lit_flush(s);
	if (consider_group(s, p, n, *i, end, depth) < 0)
		return SCAN_NOMEM;
	*i = end;
	return SCAN_OK;
}

static enum scan_step scan_atom(struct lit_scan *s, struct litset *out, const char *p, size_t n,
				size_t *i, int depth)
{
	unsigned char c = (unsigned char)p[*i];
	int rc;
	switch (c) {
	case '\\':
		return scan_escape(s, p, n, i);
	case '(':
		return scan_group(s, p, n, i, depth);
	case ')':
		return SCAN_UNKNOWN;
	case '[':
		*i = skip_class(p, n, *i);
		lit_flush(s);
		return SCAN_OK;
	case '|':
		rc = close_alternative(out, s);
		(*i)++;
		return rc < 0 ? SCAN_NOMEM : rc == 0 ? SCAN_UNKNOWN : SCAN_OK;
	case '{':
		lit_flush(s);
		*i = skip_quantifier_braces(p, n, *i);
		return SCAN_OK;
	case '.': case '^': case '$': case '*': case '?': case '+': case '}':
		lit_flush(s);
		(*i)++;
		return SCAN_OK;
	default:
		scan_literal(s, p, n, *i + 1, c);
		(*i)++;
		return SCAN_OK;
	}
}

static int pattern_literals(const char *p, size_t n, struct litset *out, int depth)
{
	struct lit_scan s = { .curlen = 0, .bestlen = 0 };
	enum scan_step step = SCAN_OK;
	int rc;

	memset(out, 0, sizeof *out);
	for (size_t i = 0; i < n && step == SCAN_OK;)
		step = scan_atom(&s, out, p, n, &i, depth);
	if (step == SCAN_OK) {
		rc = close_alternative(out, &s);
		step = rc < 0 ? SCAN_NOMEM : rc == 0 ? SCAN_UNKNOWN : SCAN_OK;
	}
	rules_litset_free(&s.group);
	if (step != SCAN_OK)
		rules_litset_free(out);
	return step == SCAN_NOMEM ? AC_ENOMEM : 0;
}

void rules_litset_free(struct litset *ls)
{
	for (size_t i = 0; i < ls->n; i++)
		free(ls->lits[i]);
	free(ls->lits);
	memset(ls, 0, sizeof *ls);
}

/* --- the screen -------------------------------------------------------------------------- */

/* The condition whose literals anchor a rule (required conditions only), or NULL. */
static const struct cond *best_required_anchor(const struct rule *r)
{
	const struct cond *best = NULL;
	for (size_t i = 0; i < r->nconds; i++) {
		const struct cond *c = &r->conds[i];
		if ((c->kind == COND_FIELD || c->kind == COND_ALL) && c->lits.n > 0 &&
		    (!best || c->lits.minlen > best->lits.minlen))
			best = c;
	}
	return best;
}

/* For an any:-only rule: the anchor of each item, or false if some item has none. */
static bool any_anchors(const struct rule *r, const struct cond **anchors)
{
	for (int item = 0; item < r->nany; item++) {
		anchors[item] = NULL;
		for (size_t i = 0; i < r->nconds; i++) {
			const struct cond *c = &r->conds[i];
			if (c->kind == COND_ANY && c->item == item && c->lits.n > 0 &&
			    (!anchors[item] || c->lits.minlen > anchors[item]->lits.minlen))
				anchors[item] = c;
		}
		if (!anchors[item])
			return false;
	}
	return r->nany > 0;
}

static int push_entries(struct screen *sc, size_t *cap, const struct cond *c, uint32_t rank)
{
	for (size_t i = 0; i < c->lits.n; i++) {
		if (sc->nents == *cap) {
			size_t ncap = *cap ? *cap * 2 : 64;
			struct lit_entry *ne = realloc(sc->ents, ncap * sizeof *ne);
			if (!ne)
				return AC_ENOMEM;
			sc->ents = ne;
			*cap = ncap;
		}
		const unsigned char *s = (const unsigned char *)c->lits.lits[i];
		size_t len = strlen(c->lits.lits[i]);
		sc->ents[sc->nents++] = (struct lit_entry){
			.hash = tri_hash(s[0], s[1], s[2]),
			.field = (uint8_t)c->field,
			.len = (uint8_t)len,
			.rank = rank,
			.s = c->lits.lits[i],
		};
	}
	return 0;
}

static int entry_cmp(const void *a, const void *b)
{
	const struct lit_entry *x = a, *y = b;
	if (x->field != y->field)
		return x->field < y->field ? -1 : 1;
	if (x->hash != y->hash)
		return x->hash < y->hash ? -1 : 1;
	return x->rank < y->rank ? -1 : x->rank > y->rank;
}

static int screen_rule(struct screen *sc, size_t *cap, struct rule *r)
{
	const struct cond *anchor = best_required_anchor(r);
	int rc = 0;
	if (anchor) {
		r->screened = true;
		return push_entries(sc, cap, anchor, (uint32_t)r->rank);
	}
	const struct cond **anchors = calloc((size_t)r->nany + 1, sizeof *anchors);
	if (!anchors)
		return AC_ENOMEM;
	if (any_anchors(r, anchors)) {
		r->screened = true;
		for (int i = 0; i < r->nany && !rc; i++)
			rc = push_entries(sc, cap, anchors[i], (uint32_t)r->rank);
	}
	free(anchors);
	return rc;
}

int rules_screen_build(struct rules *rs)
{
	struct screen *sc = &rs->screen;
	size_t cap = 0;
	int rc;

	sc->always = calloc(rs->nrules + 1, sizeof *sc->always);
	if (!sc->always)
		return AC_ENOMEM;
	for (size_t k = 0; k < rs->nrules; k++) {
		struct rule *r = rs->ranked[k];
		rc = screen_rule(sc, &cap, r);
		if (rc)
			return rc;
		if (!r->screened)
			sc->always[sc->nalways++] = (uint32_t)r->rank;
	}
	if (sc->nents)
		qsort(sc->ents, sc->nents, sizeof *sc->ents, entry_cmp);
	for (size_t i = 0; i < sc->nents; i++) {
		uint8_t f = sc->ents[i].field;
		if (!sc->bitmap[f]) {
			sc->bitmap[f] = calloc(65536 / 64, sizeof(uint64_t));
			if (!sc->bitmap[f])
				return AC_ENOMEM;
		}
		sc->bitmap[f][sc->ents[i].hash >> 6] |= 1ull << (sc->ents[i].hash & 63);
	}
	return 0;
}

void rules_screen_free(struct screen *sc)
{
	for (int f = 0; f < RULE_F_COUNT; f++)
		free(sc->bitmap[f]);
	free(sc->ents);
	free(sc->always);
	memset(sc, 0, sizeof *sc);
}

/* First entry with (field, hash), or nents. */
static size_t lower_bound(const struct screen *sc, uint8_t field, uint16_t hash)
{
	size_t lo = 0, hi = sc->nents;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct lit_entry *e = &sc->ents[mid];
		if (e->field < field || (e->field == field && e->hash < hash))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static bool caseless_eq(const unsigned char *s, const char *lit, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (fold(s[i]) != (unsigned char)lit[i])
			return false;
	return true;
}

static size_t add_candidate(uint32_t *cand, size_t ncand, size_t cap, uint32_t rank)
{
	for (size_t i = 0; i < ncand; i++)
		if (cand[i] == rank)
			return ncand;
	if (ncand == cap)
		return cap + 1;
	cand[ncand] = rank;
	return ncand + 1;
}

size_t rules_screen_scan(const struct screen *sc, enum rule_field f, const char *str, size_t n,
			 uint32_t *cand, size_t ncand, size_t cap)
{
	const uint64_t *bm = sc->bitmap[f];
	const unsigned char *s = (const unsigned char *)str;
	if (!bm || n < RULES_MIN_LITERAL || ncand > cap)
		return ncand;
	unsigned char a = fold(s[0]), b = fold(s[1]);
	for (size_t i = 0; i + 2 < n; i++) {
		unsigned char c = fold(s[i + 2]);
		uint16_t h = tri_hash(a, b, c);
		a = b;
		b = c;
		if (!(bm[h >> 6] & (1ull << (h & 63))))
			continue;
		for (size_t k = lower_bound(sc, (uint8_t)f, h);
		     k < sc->nents && sc->ents[k].field == f && sc->ents[k].hash == h; k++) {
			const struct lit_entry *e = &sc->ents[k];
			if (i + e->len <= n && caseless_eq(s + i, e->s, e->len)) {
				ncand = add_candidate(cand, ncand, cap, e->rank);
				if (ncand > cap)
					return ncand;
			}
		}
	}
	return ncand;
}

/*
 * miner.c — the Drain-style template miner: prefix tree, similarity, template merging,
 * exact-repeat cache and SQLite persistence. See miner.h for the algorithm and contracts.
 *
 * Memory: a cluster owns its token strings; tree nodes own their child keys; the cache owns
 * copies of masked lines and is bounded (it is cleared when full: it only saves time).
 */
#include "core/common.h"
#include "core/db.h"
#include "analyzer/miner.h"
#include "analyzer/mask.h"

#define MAX_TOKENS 256
#define CACHE_MAX (1u << 16)
/* distinct words at one position that make it a variable (see families below) */
#define FAMILY_VARIABLE_VALUES 4
/* ... and this many make it a variable however often each recurs */
#define FAMILY_MANY_VALUES 6
/* a leaf with this many clusters gets an index of its templates' literal tokens (below) */
#define LEAF_INDEX_MIN 16
/* literal words two templates of different lengths must share before an optional part of
 * parameters joins them (see optional_part) */
#define SKELETON_MIN_WORDS 3

enum tok_kind { T_LIT = 0, T_PARAM = 1, T_WHOLE = 2 /* T_PARAM and nothing else */ };

/* A hash multimap from a 64-bit key to a list of cluster ids (open addressing; key 0 marks an
 * empty slot). Used for the leaf index and the skeleton index; entries are never removed, and
 * readers check that an id still fits (stale ids are skipped). */
struct idlist {
	uint64_t key;
	uint32_t n, cap;
	uint32_t *ids;
};
struct idmap {
	struct idlist *slot;
	size_t used, cap;
};

struct cluster {
	uint32_t ntok;
	char **tok;
	uint8_t *kind;
	bool *glue;  /* no space before the token (it followed a delimiter or preceded one) */
	uint64_t size;
	char *text;  /* template joined by spaces, rebuilt when the template changes */
	bool dirty;  /* changed since the last miner_save */
	uint32_t merged_into; /* 0 while live; else the (older) cluster that absorbed this one */
	struct node *leaf;    /* the tree leaf listing this cluster (while live) */
	uint32_t id;          /* its id */
	char *route;          /* the tree keys of its first line: its first `depth` tokens, joined
			       * by spaces (saved, so a loaded template goes to the same leaf even
			       * after its leading tokens generalised) */
	uint64_t skel;        /* hash of its literal words in order (0: fewer than
			       * SKELETON_MIN_WORDS), the key of the skeleton index */
};

struct node {
	char **keys;
	struct node **kids;
	uint32_t nkids, capkids;
	struct node *wild;
	uint32_t *ids; /* clusters in this leaf, in ascending id order */
	uint32_t nids, capids;
	/* from LEAF_INDEX_MIN clusters on: (position, literal token) -> clusters whose template
	 * held that token there when they joined the leaf (templates only lose literals, so this
	 * is a superset of the clusters that can share a literal with a line) */
	struct idmap *post;
};

struct cache_ent {
	uint64_t hash;
	char *line;
	uint32_t len;
	uint32_t id;
	uint32_t epoch; /* the miner's template epoch when id was the tree's answer */
};

struct tokens {
	uint32_t n;
	const char *p[MAX_TOKENS];
	uint32_t len[MAX_TOKENS];
	uint8_t kind[MAX_TOKENS];
	bool glue[MAX_TOKENS]; /* no space before this token */
	bool var[MAX_TOKENS]; /* routes to the wildcard child */
};

/* Clusters whose first lines differ in one literal word at position pos and agree elsewhere:
 * the evidence for deciding whether that word is a constant (few values: keep the clusters
 * apart) or a variable (FAMILY_VARIABLE_VALUES values: merge them). Keyed by a hash of the
 * token count, pos and every token but the one at pos. */
struct family {
	uint64_t key;  /* 0 = empty slot */
	uint32_t pos;
	uint32_t nids, capids;
	uint32_t *ids; /* clusters, one per distinct value at pos */
	uint32_t merged; /* after the merge: the cluster that holds them all */
	bool dirty;      /* changed since the last miner_save */
};

struct miner {
	struct miner_config cfg;
	struct family *fam; /* open addressing */
	size_t nfam, capfam;
	struct masker *mk;
	char **user_masks;
	size_t nuser;
	struct cluster **cl;
	size_t ncl, capcl;
	struct node **by_len; /* root level: one node per token count (index ntok) */
	size_t capbylen;
	struct cache_ent *cache;
	size_t ncache, cache_cap;
	/* bumped whenever the tree's answer for some text may change (a template created,
	 * generalised or folded, a family merged): a cache entry of an older epoch is recomputed,
	 * so the cache never answers differently from the tree (and a restarted miner, whose cache
	 * is empty, groups like one that kept running) */
	uint32_t epoch_tpl;
	uint64_t th[MAX_TOKENS], pre[MAX_TOKENS + 1], suf[MAX_TOKENS + 1]; /* family keys */
	struct idmap skel; /* skeleton hash -> clusters (optional parts, see optional_part) */
	uint32_t *stamp;   /* per cluster: the leaf scan that last saw it (candidate dedup) */
	size_t capstamp;
	uint32_t epoch;
	uint32_t twin, twin_p, twin_q; /* leaf_best's pair-family candidate for the last line */
	char *mbuf; /* masked line */
	size_t mcap;
	struct tokens tk;
};

static const char WILDCARD[] = "<*>";

void miner_config_default(struct miner_config *cfg)
{
	cfg->sim_threshold = MINER_DEFAULT_THRESHOLD;
	cfg->depth = 2;
	cfg->max_children = 100;
	cfg->max_clusters = 1000000;
	cfg->max_line = 16 * 1024;
	cfg->masks = NULL;
	cfg->no_merge = false;
}

/* ---- small helpers ---- */

static uint64_t hash_bytes(const char *p, size_t n)
{
	uint64_t h = 1469598103934665603ULL;
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		uint64_t w;
		memcpy(&w, p + i, 8);
		h = (h ^ w) * 0x100000001b3ULL;
		h ^= h >> 29;
	}
	for (; i < n; i++)
		h = (h ^ (unsigned char)p[i]) * 1099511628211ULL;
	h ^= h >> 32;
	return h ? h : 1;
}

static char *dup_n(const char *s, size_t n)
{
	char *d = malloc(n + 1);
	if (d) {
		memcpy(d, s, n);
		d[n] = '\0';
	}
	return d;
}

static void idmap_free(struct idmap *mp)
{
	for (size_t i = 0; i < mp->cap; i++)
		free(mp->slot[i].ids);
	free(mp->slot);
	mp->slot = NULL;
	mp->used = mp->cap = 0;
}

static const struct idlist *idmap_find(const struct idmap *mp, uint64_t key)
{
	if (!mp->cap)
		return NULL;
	for (size_t i = key & (mp->cap - 1);; i = (i + 1) & (mp->cap - 1)) {
		if (!mp->slot[i].key)
			return NULL;
		if (mp->slot[i].key == key)
			return &mp->slot[i];
	}
}

static int idmap_grow(struct idmap *mp)
{
	size_t cap = mp->cap ? mp->cap * 2 : 64;
	struct idlist *t = calloc(cap, sizeof *t);
	if (!t)
		return AC_ENOMEM;
	for (size_t i = 0; i < mp->cap; i++) {
		if (!mp->slot[i].key)
			continue;
		size_t j = mp->slot[i].key & (cap - 1);
		while (t[j].key)
			j = (j + 1) & (cap - 1);
		t[j] = mp->slot[i];
	}
	free(mp->slot);
	mp->slot = t;
	mp->cap = cap;
	return 0;
}

/* Append id to key's list (not twice in a row). 0 or AC_ENOMEM. */
static int idmap_add(struct idmap *mp, uint64_t key, uint32_t id)
{
	if (mp->used + 1 > mp->cap / 2 && idmap_grow(mp))
		return AC_ENOMEM;
	size_t i = key & (mp->cap - 1);
	while (mp->slot[i].key && mp->slot[i].key != key)
		i = (i + 1) & (mp->cap - 1);
	struct idlist *l = &mp->slot[i];
	if (!l->key) {
		l->key = key;
		mp->used++;
	}
	if (l->n && l->ids[l->n - 1] == id)
		return 0;
	if (l->n == l->cap) {
		uint32_t cap = l->cap ? l->cap * 2 : 2;
		uint32_t *ids = realloc(l->ids, cap * sizeof *ids);
		if (!ids)
			return AC_ENOMEM;
		l->ids = ids;
		l->cap = cap;
	}
	l->ids[l->n++] = id;
	return 0;
}

static uint8_t token_kind(const char *t, size_t n)
{
	if (!mask_is_param(t, n))
		return T_LIT;
	/* whole: exactly one placeholder "<...>" */
	if (n >= 3 && t[0] == '<' && t[n - 1] == '>' && !memchr(t + 1, '<', n - 2))
		return T_PARAM | T_WHOLE;
	return T_PARAM;
}

static bool has_digit(const char *t, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (t[i] >= '0' && t[i] <= '9')
			return true;
	return false;
}

static bool space_byte(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Delimiters that are tokens of their own: "a=1,b=(x)" is a = 1 , b = ( x ). Splitting there
 * lets "mode=fast" differ from "mode=safe" in one word, and key, delimiter and value each be
 * compared; the template keeps the delimiters and the original spacing (glue). */
static bool delim_byte(char c)
{
	return c == '=' || c == ':' || c == ',' || c == '(' || c == ')' || c == '[' || c == ']';
}

static void token_push(struct tokens *tk, const char *p, size_t len, bool glue, bool collapse)
{
	uint8_t kind = token_kind(p, len);
	uint32_t n = tk->n;
	if (collapse && kind && n && tk->kind[n - 1] == kind && tk->len[n - 1] == len &&
	    !memcmp(tk->p[n - 1], p, len))
		return; /* a list of ids ("blk_<ID> blk_<ID> ...") is one parameter */
	if (collapse && kind && n >= 2 && tk->len[n - 1] == 1 && tk->p[n - 1][0] == ',' &&
	    tk->kind[n - 2] == kind && tk->len[n - 2] == len && !memcmp(tk->p[n - 2], p, len)) {
		tk->n--; /* so is "<NUM>, <NUM>, <NUM>" */
		return;
	}
	tk->p[n] = p;
	tk->len[n] = (uint32_t)len;
	tk->kind[n] = kind;
	tk->glue[n] = glue && n;
	tk->var[n] = kind != T_LIT || has_digit(p, len);
	tk->n++;
}

/* Split on whitespace and around delimiters. With collapse, a run of identical parameter
 * tokens becomes one (lists of ids); templates being restored are split without it, and
 * around every "<*>". Past
 * MAX_TOKENS, the tail is folded into the last token. */
static void tokenize(struct tokens *tk, char *s, size_t n, bool collapse)
{
	size_t i = 0;
	bool glue = false;
	tk->n = 0;
	while (i < n) {
		if (space_byte(s[i])) {
			glue = false;
			i++;
			continue;
		}
		size_t j = i + 1;
		/* a stored template: each "<*>" was a token of its own, also where generalising
		 * turned a delimiter into one and rendering glued it ("Opts: <*><*><*>") */
		if (!collapse && n - i >= 3 && !memcmp(s + i, WILDCARD, 3))
			j = i + 3;
		else if (!delim_byte(s[i]))
			while (j < n && !space_byte(s[j]) && !delim_byte(s[j]) &&
			       (collapse || n - j < 3 || memcmp(s + j, WILDCARD, 3)))
				j++;
		if (tk->n == MAX_TOKENS - 1) { /* the rest is one token */
			j = n;
			while (j > i && space_byte(s[j - 1]))
				j--;
			token_push(tk, s + i, j - i, glue, false);
			tk->var[tk->n - 1] = true;
			break;
		}
		token_push(tk, s + i, j - i, glue, collapse);
		glue = true;
		i = j;
	}
}

/* ---- masking ---- */

static int mask_line(struct miner *m, const char *line, size_t len, size_t *out_len)
{
	if (len > m->cfg.max_line)
		len = m->cfg.max_line;
	while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	size_t need = 4 * len + 64;
	if (need > m->mcap) {
		char *p = realloc(m->mbuf, need);
		if (!p)
			return AC_ENOMEM;
		m->mbuf = p;
		m->mcap = need;
	}
	*out_len = masker_apply(m->mk, line, len, m->mbuf, m->mcap);
	/* NUL bytes would cut tokens and templates short: they separate tokens like spaces */
	for (char *z = memchr(m->mbuf, '\0', *out_len); z; z = memchr(z, '\0', *out_len - (size_t)(z - m->mbuf)))
		*z = ' ';
	return 0;
}

/* ---- exact-repeat cache (open addressing; grows to CACHE_MAX, then is cleared when half
 * full: it only saves time, so forgetting is safe) ---- */

static void cache_clear(struct miner *m)
{
	for (size_t i = 0; i < m->cache_cap; i++) {
		free(m->cache[i].line);
		m->cache[i].line = NULL;
		m->cache[i].hash = 0;
	}
	m->ncache = 0;
}

/* The cached cluster of masked text s, if still the tree's answer; 0 otherwise. */
static long cache_get(const struct miner *m, uint64_t h, const char *s, size_t n)
{
	if (!m->cache_cap)
		return 0;
	for (size_t i = h & (m->cache_cap - 1);; i = (i + 1) & (m->cache_cap - 1)) {
		const struct cache_ent *e = &m->cache[i];
		if (!e->hash)
			return 0;
		if (e->hash == h && e->len == n && !memcmp(e->line, s, n))
			return e->epoch == m->epoch_tpl ? e->id : 0;
	}
}

static void cache_insert(struct cache_ent *tab, size_t cap, struct cache_ent e)
{
	size_t i = e.hash & (cap - 1);
	while (tab[i].hash)
		i = (i + 1) & (cap - 1);
	tab[i] = e;
}

/* Make room for one more entry; false when there is no memory (skip caching then). */
static bool cache_room(struct miner *m)
{
	if (m->ncache < m->cache_cap / 2)
		return true;
	if (m->cache_cap >= CACHE_MAX) {
		cache_clear(m);
		return true;
	}
	size_t cap = m->cache_cap ? m->cache_cap * 2 : 256;
	struct cache_ent *tab = calloc(cap, sizeof *tab);
	if (!tab)
		return false;
	for (size_t i = 0; i < m->cache_cap; i++)
		if (m->cache[i].hash)
			cache_insert(tab, cap, m->cache[i]);
	free(m->cache);
	m->cache = tab;
	m->cache_cap = cap;
	return true;
}

static void cache_put(struct miner *m, uint64_t h, const char *s, size_t n, long id)
{
	for (size_t i = h & (m->cache_cap - 1); m->cache_cap; i = (i + 1) & (m->cache_cap - 1)) {
		struct cache_ent *e = &m->cache[i];
		if (!e->hash)
			break;
		if (e->hash == h && e->len == n && !memcmp(e->line, s, n)) { /* a stale entry */
			e->id = (uint32_t)id;
			e->epoch = m->epoch_tpl;
			return;
		}
	}
	if (n > UINT32_MAX || !cache_room(m))
		return;
	char *copy = dup_n(s, n);
	if (!copy)
		return;
	cache_insert(m->cache, m->cache_cap,
		     (struct cache_ent){ h, copy, (uint32_t)n, (uint32_t)id, m->epoch_tpl });
	m->ncache++;
}

/* The tree's answer for some text may have changed. */
static void templates_changed(struct miner *m)
{
	if (++m->epoch_tpl == 0) { /* wrapped: an old entry could look current */
		cache_clear(m);
		m->epoch_tpl = 1;
	}
}

/* ---- clusters ---- */

static void cluster_free(struct cluster *c)
{
	if (!c)
		return;
	for (uint32_t i = 0; i < c->ntok; i++)
		free(c->tok[i]);
	free(c->tok);
	free(c->kind);
	free(c->glue);
	free(c->text);
	free(c->route);
	free(c);
}

static int cluster_render(struct cluster *c)
{
	size_t len = 1;
	for (uint32_t i = 0; i < c->ntok; i++)
		len += strlen(c->tok[i]) + 1;
	char *t = malloc(len), *p = t;
	if (!t)
		return AC_ENOMEM;
	*p = '\0';
	for (uint32_t i = 0; i < c->ntok; i++) {
		size_t l = strlen(c->tok[i]);
		if (i && !c->glue[i])
			*p++ = ' ';
		memcpy(p, c->tok[i], l);
		p += l;
	}
	*p = '\0';
	free(c->text);
	c->text = t;
	return 0;
}

static struct cluster *cluster_new(const struct tokens *tk)
{
	struct cluster *c = calloc(1, sizeof *c);
	if (!c)
		return NULL;
	c->ntok = tk->n;
	c->tok = calloc(tk->n ? tk->n : 1, sizeof *c->tok);
	c->kind = calloc(tk->n ? tk->n : 1, 1);
	c->glue = calloc(tk->n ? tk->n : 1, sizeof *c->glue);
	if (!c->tok || !c->kind || !c->glue)
		goto fail;
	for (uint32_t i = 0; i < tk->n; i++) {
		if (!(c->tok[i] = dup_n(tk->p[i], tk->len[i])))
			goto fail;
		c->kind[i] = tk->kind[i];
		c->glue[i] = tk->glue[i];
	}
	if (cluster_render(c))
		goto fail;
	c->dirty = true;
	return c;
fail:
	cluster_free(c);
	return NULL;
}

/* True when a placeholder ("<*>", "<NAME>") starts at t[i]. */
static bool placeholder_at(const char *t, size_t i, size_t n)
{
	if (t[i] != '<' || i + 2 >= n)
		return false;
	if (t[i + 1] == '*')
		return t[i + 2] == '>';
	size_t j = i + 1;
	while (j < n && ((t[j] >= 'A' && t[j] <= 'Z') || (t[j] >= '0' && t[j] <= '9' && j > i + 1) ||
			 t[j] == '_'))
		j++;
	return j > i + 1 && j < n && t[j] == '>';
}

/* Length of the key of a "key=<*>" token (the text before its first placeholder, when that
 * ends in '='), else 0. "host:<NUM>" has no key: the host varies as much as the port. */
static size_t param_key_len(const char *t, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (placeholder_at(t, i, n))
			return i && t[i - 1] == '=' ? i : 0;
	return 0;
}

/* Two parameters are equal unless they are key=value tokens with different keys: the
 * variable part dominates ("MININT-<ID>" and "<ID>" are both host names), but the key of
 * "retries=<*>" names what the value is. A template's "<*>" equals any parameter. */
static inline bool tok_equal_at(const struct cluster *c, uint32_t i, const struct tokens *tk,
				uint32_t j)
{
	size_t cl = strlen(c->tok[i]);
	if (tk->kind[j] && !strcmp(c->tok[i], WILDCARD))
		return true;
	if (c->kind[i] && tk->kind[j]) {
		size_t a = param_key_len(c->tok[i], cl), b = param_key_len(tk->p[j], tk->len[j]);
		return a == b && !memcmp(c->tok[i], tk->p[j], a);
	}
	return cl == tk->len[j] && !memcmp(c->tok[i], tk->p[j], tk->len[j]);
}

static bool tok_equal(const struct cluster *c, uint32_t i, const struct tokens *tk)
{
	return tok_equal_at(c, i, tk, i);
}

/* Share of the positions holding literal text (on either side) where template and line
 * agree (0 when they differ in an upper-case constant, see caps_word()); *params counts
 * template wildcards. Positions where both hold equal parameters, or where the template has
 * "<*>", are left out: counting them as agreement would let a long line of parameters absorb any
 * different words, and masking already made most variables parameters. */
/* An upper-case identifier ("RUNNING", "TASK_ABORT", "GET"): in code these are constants
 * and enum values, so two different ones mean two different situations (states, event types,
 * methods) rather than one variable. */
static bool caps_word(const char *t, size_t n)
{
	size_t letters = 0;
	for (size_t i = 0; i < n; i++) {
		if (t[i] >= 'A' && t[i] <= 'Z')
			letters++;
		else if (t[i] != '_')
			return false;
	}
	return letters >= 2;
}

static double similarity(const struct cluster *c, const struct tokens *tk, unsigned *params,
			 unsigned *diffs)
{
	unsigned same = 0, both = 0, neutral = 0;
	*params = 0;
	*diffs = ~0u; /* until counted: never a twin */
	if (!tk->n)
		return 1.0;
	for (uint32_t i = 0; i < tk->n; i++) {
		if (!tk->kind[i] && !strcmp(c->tok[i], WILDCARD)) {
			/* a position the template already learned is variable: no evidence either way,
			 * else every new value would count against the line again */
			neutral++;
			(*params)++;
			continue;
		}
		if (tok_equal(c, i, tk)) {
			if (c->kind[i] && tk->kind[i])
				both++;
			else
				same++;
		} else if (!c->kind[i] && !tk->kind[i] && caps_word(c->tok[i], strlen(c->tok[i])) &&
			   caps_word(tk->p[i], tk->len[i])) {
			return 0.0; /* two different constants: another message */
		}
		if (c->kind[i] & T_WHOLE)
			(*params)++;
	}
	*diffs = tk->n - both - neutral - same; /* positions that disagree */
	if (both + neutral == tk->n) /* nothing literal to compare */
		return neutral ? 0.0 : 1.0; /* words on learned variables alone are no evidence */
	return (double)same / (tk->n - both - neutral);
}

static void post_wild(struct cluster *c, uint32_t i);

/* Generalise the template to cover the line. Returns 1 when the template changed, 0 when it
 * already covered the line, or AC_ENOMEM. */
static int cluster_absorb(struct cluster *c, const struct tokens *tk)
{
	bool changed = false;
	for (uint32_t i = 0; i < c->ntok; i++) {
		if (strlen(c->tok[i]) == tk->len[i] && !memcmp(c->tok[i], tk->p[i], tk->len[i]))
			continue;
		if (!strcmp(c->tok[i], WILDCARD))
			continue;
		char *w = dup_n(WILDCARD, sizeof WILDCARD - 1);
		if (!w)
			return AC_ENOMEM;
		free(c->tok[i]);
		c->tok[i] = w;
		c->kind[i] = T_PARAM | T_WHOLE;
		post_wild(c, i);
		changed = true;
	}
	if (changed) {
		c->dirty = true;
		int rc = cluster_render(c);
		return rc ? rc : 1;
	}
	return 0;
}

/* ---- the prefix tree ---- */

static void post_drop(struct node *leaf);

static void node_free(struct node *nd)
{
	if (!nd)
		return;
	for (uint32_t i = 0; i < nd->nkids; i++) {
		free(nd->keys[i]);
		node_free(nd->kids[i]);
	}
	free(nd->keys);
	free(nd->kids);
	node_free(nd->wild);
	free(nd->ids);
	if (nd->post)
		post_drop(nd);
	free(nd);
}

static struct node *node_child(const struct node *nd, const char *t, size_t n)
{
	for (uint32_t i = 0; i < nd->nkids; i++)
		if (!strncmp(nd->keys[i], t, n) && nd->keys[i][n] == '\0')
			return nd->kids[i];
	return NULL;
}

static struct node *node_add_child(struct node *nd, const char *t, size_t n)
{
	if (nd->nkids == nd->capkids) {
		uint32_t cap = nd->capkids ? nd->capkids * 2 : 4;
		char **k = realloc(nd->keys, cap * sizeof *k);
		if (!k)
			return NULL;
		nd->keys = k;
		struct node **c = realloc(nd->kids, cap * sizeof *c);
		if (!c)
			return NULL;
		nd->kids = c;
		nd->capkids = cap;
	}
	struct node *kid = calloc(1, sizeof *kid);
	char *key = dup_n(t, n);
	if (!kid || !key) {
		free(kid);
		free(key);
		return NULL;
	}
	nd->keys[nd->nkids] = key;
	nd->kids[nd->nkids++] = kid;
	return kid;
}

static struct node *root_for(struct miner *m, uint32_t ntok, bool create)
{
	if (ntok >= m->capbylen) {
		if (!create)
			return NULL;
		size_t cap = m->capbylen ? m->capbylen : 64;
		while (cap <= ntok)
			cap *= 2;
		struct node **p = realloc(m->by_len, cap * sizeof *p);
		if (!p)
			return NULL;
		memset(p + m->capbylen, 0, (cap - m->capbylen) * sizeof *p);
		m->by_len = p;
		m->capbylen = cap;
	}
	if (!m->by_len[ntok] && create)
		m->by_len[ntok] = calloc(1, sizeof(struct node));
	return m->by_len[ntok];
}

/* The leaf for a line, following literal children, else the wildcard child. NULL if none. */
static struct node *tree_find(struct miner *m, const struct tokens *tk)
{
	struct node *nd = root_for(m, tk->n, false);
	uint32_t levels = tk->n < m->cfg.depth ? tk->n : m->cfg.depth;
	for (uint32_t d = 0; nd && d < levels; d++) {
		struct node *kid = tk->var[d] ? NULL : node_child(nd, tk->p[d], tk->len[d]);
		nd = kid ? kid : nd->wild;
	}
	return nd;
}

/* The leaf a new cluster with these tokens goes to, creating nodes as Drain does. */
static struct node *tree_insert_path(struct miner *m, uint32_t ntok, const struct tokens *tk)
{
	struct node *nd = root_for(m, ntok, true);
	uint32_t levels = ntok < m->cfg.depth ? ntok : m->cfg.depth;
	if (levels > tk->n)
		levels = tk->n;
	for (uint32_t d = 0; nd && d < levels; d++) {
		struct node *kid = NULL;
		if (!tk->var[d]) {
			kid = node_child(nd, tk->p[d], tk->len[d]);
			if (!kid && nd->nkids < m->cfg.max_children &&
			    !(kid = node_add_child(nd, tk->p[d], tk->len[d])))
				return NULL;
		}
		if (!kid) {
			if (!nd->wild && !(nd->wild = calloc(1, sizeof *nd->wild)))
				return NULL;
			kid = nd->wild;
		}
		nd = kid;
	}
	return nd;
}

/* Key of literal token t at position pos in a leaf index (never 0). */
static uint64_t post_key(uint32_t pos, const char *t, size_t n)
{
	uint64_t k = (hash_bytes(t, n) ^ ((uint64_t)(pos + 1) * 0x9e3779b97f4a7c15ULL)) *
		     0xbf58476d1ce4e5b9ULL;
	k ^= k >> 31;
	return k ? k : 1;
}

static bool word_token(const char *t, size_t n, uint8_t kind);

/* Index the words and wildcards of template c (id) in its leaf. */
static int post_add(struct node *leaf, const struct cluster *c, uint32_t id)
{
	for (uint32_t i = 0; i < c->ntok; i++) {
		size_t n = strlen(c->tok[i]);
		if ((word_token(c->tok[i], n, c->kind[i]) || !strcmp(c->tok[i], WILDCARD)) &&
		    idmap_add(leaf->post, post_key(i, c->tok[i], n), id))
			return AC_ENOMEM;
	}
	return 0;
}

/* Position i of template c just became "<*>": index that (out of memory drops the index). */
static void post_wild(struct cluster *c, uint32_t i)
{
	struct node *leaf = c->leaf;
	if (leaf && leaf->post &&
	    idmap_add(leaf->post, post_key(i, WILDCARD, sizeof WILDCARD - 1), c->id))
		post_drop(leaf);
}

static void post_drop(struct node *leaf)
{
	idmap_free(leaf->post);
	free(leaf->post);
	leaf->post = NULL;
}

/* List cluster id (whose template is c) in the leaf; index the leaf once it is large. Out of
 * memory for the index only drops the index (the leaf is then scanned). */
static int leaf_add(struct miner *m, struct node *leaf, uint32_t id, const struct cluster *c)
{
	if (leaf->nids == leaf->capids) {
		uint32_t cap = leaf->capids ? leaf->capids * 2 : 4;
		uint32_t *p = realloc(leaf->ids, cap * sizeof *p);
		if (!p)
			return AC_ENOMEM;
		leaf->ids = p;
		leaf->capids = cap;
	}
	if (!leaf->post && leaf->nids + 1 >= LEAF_INDEX_MIN &&
	    (leaf->post = calloc(1, sizeof *leaf->post)))
		for (uint32_t k = 0; k < leaf->nids && leaf->post; k++)
			if (post_add(leaf, m->cl[leaf->ids[k] - 1], leaf->ids[k]))
				post_drop(leaf);
	if (leaf->post && post_add(leaf, c, id))
		post_drop(leaf);
	leaf->ids[leaf->nids++] = id;
	return 0;
}

/* A literal word: a token holding a letter and no placeholder. */
static bool word_token(const char *t, size_t n, uint8_t kind)
{
	if (kind)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((t[i] | 0x20) >= 'a' && (t[i] | 0x20) <= 'z')
			return true;
	return false;
}

/* A position where the template still holds a literal word and the line another word: the
 * template has not learned that this position varies, and one word of difference is how two
 * different messages of one shape differ ("job Queued" / "job Done"). Such a line does not
 * join; it starts a cluster of its own and the family statistics (below) decide. */
static bool word_conflict(const struct cluster *c, const struct tokens *tk)
{
	for (uint32_t i = 0; i < tk->n; i++) {
		if (c->kind[i] || !word_token(tk->p[i], tk->len[i], tk->kind[i]))
			continue;
		size_t cl = strlen(c->tok[i]);
		if ((cl != tk->len[i] || memcmp(c->tok[i], tk->p[i], cl)) &&
		    word_token(c->tok[i], cl, c->kind[i]))
			return true;
	}
	return false;
}

struct best {
	long id;
	double sim, top;
	unsigned params;
	/* the most similar cluster (then the oldest) kept from the line only by two literal
	 * words, the rest equal: a candidate for a pair family (see pair_enter) */
	uint32_t twin, tp, tq;
	double twin_sim;
};

/* Template c and the line differ in exactly two positions, both literal words on both
 * sides, and are equal everywhere else (a template's "<*>" equals anything), with at least
 * SKELETON_MIN_WORDS literal words in common: *p < *q. */
static bool two_word_twin(const struct cluster *c, const struct tokens *tk, uint32_t *p,
			  uint32_t *q)
{
	uint32_t nd = 0, d[2] = { 0, 0 }, common = 0;
	for (uint32_t i = 0; i < tk->n; i++) {
		if (!strcmp(c->tok[i], WILDCARD))
			continue;
		if (tok_equal(c, i, tk)) {
			common += !c->kind[i] && word_token(c->tok[i], strlen(c->tok[i]), 0);
			continue;
		}
		size_t cl = strlen(c->tok[i]);
		if (nd == 2 || !word_token(tk->p[i], tk->len[i], tk->kind[i]) ||
		    !word_token(c->tok[i], cl, c->kind[i]) ||
		    (caps_word(c->tok[i], cl) && caps_word(tk->p[i], tk->len[i])))
			return false; /* upper-case constants are states and events, not values */
		d[nd++] = i;
	}
	if (nd != 2 || common < SKELETON_MIN_WORDS)
		return false;
	*p = d[0];
	*q = d[1];
	return true;
}

/* Weigh cluster id as the line's home: the most similar wins, then the one with more
 * wildcards, then the oldest (the order of a linear scan of the leaf). */
static void best_consider(const struct miner *m, struct best *b, uint32_t id,
			  const struct tokens *tk)
{
	const struct cluster *c = m->cl[id - 1];
	unsigned params;
	unsigned diffs;
	double sim = similarity(c, tk, &params, &diffs);
	if (sim > b->top)
		b->top = sim;
	if (sim < m->cfg.sim_threshold || word_conflict(c, tk)) {
		uint32_t p, q;
		if (diffs == 2 && (!b->twin || sim > b->twin_sim || (sim == b->twin_sim && id < b->twin)) &&
		    two_word_twin(c, tk, &p, &q)) {
			b->twin = id;
			b->twin_sim = sim;
			b->tp = p;
			b->tq = q;
		}
		return;
	}
	if (!b->id || sim > b->sim || (sim == b->sim && (params > b->params ||
							  (params == b->params && id < b->id)))) {
		b->id = id;
		b->sim = sim;
		b->params = params;
	}
}

/* Make room for a stamp per cluster. false when out of memory (then scan linearly). */
static bool stamp_room(struct miner *m)
{
	if (m->capstamp >= m->ncl)
		return true;
	size_t cap = m->capcl;
	uint32_t *p = realloc(m->stamp, cap * sizeof *p);
	if (!p)
		return false;
	memset(p + m->capstamp, 0, (cap - m->capstamp) * sizeof *p);
	m->stamp = p;
	m->capstamp = cap;
	return true;
}

/* An indexed leaf: compare only the templates that hold one of the line's words, or "<*>",
 * at the word's position. Any other template has, at each of the line's W word positions,
 * something that counts against it, so its similarity is at most (L - W) / L for a line of L
 * literal tokens; when that is below the threshold it can neither be chosen nor be a twin
 * (a twin shares words). Returns false when the bound does not hold (a line of few words
 * among many delimiters) or out of memory: the caller scans the leaf. */
static bool leaf_best_indexed(struct miner *m, const struct node *leaf, const struct tokens *tk,
			      struct best *b)
{
	uint32_t lit = 0, words = 0;
	for (uint32_t i = 0; i < tk->n; i++) {
		lit += !tk->kind[i];
		words += word_token(tk->p[i], tk->len[i], tk->kind[i]);
	}
	if (!words || (double)(lit - words) >= m->cfg.sim_threshold * lit || !stamp_room(m))
		return false;
	if (++m->epoch == 0) { /* wrapped: forget old stamps */
		memset(m->stamp, 0, m->capstamp * sizeof *m->stamp);
		m->epoch = 1;
	}
	for (uint32_t i = 0; i < tk->n; i++) {
		if (!word_token(tk->p[i], tk->len[i], tk->kind[i]))
			continue;
		for (int w = 0; w < 2; w++) {
			uint64_t key = w ? post_key(i, WILDCARD, sizeof WILDCARD - 1)
					 : post_key(i, tk->p[i], tk->len[i]);
			const struct idlist *l = idmap_find(leaf->post, key);
			for (uint32_t k = 0; l && k < l->n; k++) {
				uint32_t id = l->ids[k];
				if (id > m->ncl || m->stamp[id - 1] == m->epoch ||
				    m->cl[id - 1]->leaf != leaf)
					continue;
				m->stamp[id - 1] = m->epoch;
				best_consider(m, b, id, tk);
			}
		}
	}
	return true;
}

/* Best cluster in a leaf for the line (0 if none reaches the threshold or every one that does
 * differs from the line in a literal word). */
static long leaf_best(struct miner *m, const struct node *leaf, const struct tokens *tk,
		      double *out_sim)
{
	struct best b = { 0, -1, 0, 0, 0, 0, 0, 0 };
	if (leaf && !(leaf->post && leaf_best_indexed(m, leaf, tk, &b)))
		for (uint32_t i = 0; i < leaf->nids; i++)
			best_consider(m, &b, leaf->ids[i], tk);
	if (out_sim)
		*out_sim = b.id ? b.sim : b.top;
	m->twin = b.twin;
	m->twin_p = b.tp;
	m->twin_q = b.tq;
	return b.id;
}

/* ---- optional parts: one message whose lines differ in length ----
 *
 * "upload done, 3 files in 4 s" and "upload done, 3 files (2.1 MB) in 4 s" are one message with
 * an optional part. The tree compares lines of one token count only; a line that would start a
 * new cluster is compared with the clusters of other lengths that have the same skeleton — the
 * same literal words in the same order (at least SKELETON_MIN_WORDS of them) — and joins one
 * when, between those words, every stretch of parameters and delimiters is equal but one, and
 * that one only adds a run holding a parameter ("( <SIZE> )", ", <IP>"). A differing literal
 * word, or a substitution, is never an optional part. */

static bool tmpl_word(const struct cluster *c, uint32_t i)
{
	return word_token(c->tok[i], strlen(c->tok[i]), c->kind[i]);
}

static bool line_word(const struct tokens *tk, uint32_t j)
{
	return word_token(tk->p[j], tk->len[j], tk->kind[j]);
}

static uint64_t skel_mix(uint64_t h, const char *t, size_t n)
{
	h = (h ^ hash_bytes(t, n)) * 0x9e3779b97f4a7c15ULL;
	return h ^ (h >> 29);
}

static uint64_t skel_of_cluster(const struct cluster *c)
{
	uint64_t h = 0x452821e638d01377ULL;
	uint32_t words = 0;
	for (uint32_t i = 0; i < c->ntok; i++)
		if (tmpl_word(c, i)) {
			h = skel_mix(h, c->tok[i], strlen(c->tok[i]));
			words++;
		}
	return words >= SKELETON_MIN_WORDS ? (h ? h : 1) : 0;
}

static uint64_t skel_of_line(const struct tokens *tk)
{
	uint64_t h = 0x452821e638d01377ULL;
	uint32_t words = 0;
	for (uint32_t j = 0; j < tk->n; j++)
		if (line_word(tk, j)) {
			h = skel_mix(h, tk->p[j], tk->len[j]);
			words++;
		}
	return words >= SKELETON_MIN_WORDS ? (h ? h : 1) : 0;
}

/* (Re)index cluster id by its skeleton after its template was created or changed (out of
 * memory leaves it out of the index: it then only misses optional parts). */
static void skel_index(struct miner *m, uint32_t id)
{
	struct cluster *c = m->cl[id - 1];
	uint64_t k = skel_of_cluster(c);
	if (k == c->skel)
		return;
	c->skel = k && !idmap_add(&m->skel, k, id) ? k : 0;
}

/* Compare the stretch of template tokens [a, ae) with line tokens [b, be) (no words in
 * either): 0 equal, 1 one side is the other plus one inserted run holding a parameter, -1 any
 * other difference. */
static int seg_compare(const struct cluster *c, uint32_t a, uint32_t ae, const struct tokens *tk,
		       uint32_t b, uint32_t be)
{
	uint32_t na = ae - a, nb = be - b, pre = 0, suf = 0;
	while (pre < na && pre < nb && tok_equal_at(c, a + pre, tk, b + pre))
		pre++;
	if (na == nb)
		return pre == na ? 0 : -1;
	while (suf < na - pre && suf < nb - pre && tok_equal_at(c, ae - 1 - suf, tk, be - 1 - suf))
		suf++;
	if (pre + suf < (na < nb ? na : nb))
		return -1;
	bool param = false;
	if (na > nb)
		for (uint32_t k = a + pre; k < ae - suf; k++)
			param |= c->kind[k] != 0;
	else
		for (uint32_t k = b + pre; k < be - suf; k++)
			param |= tk->kind[k] != 0;
	return param ? 1 : -1;
}

/* The line and the template have the same words and differ by one optional part. */
static bool optional_part(const struct cluster *c, const struct tokens *tk)
{
	uint32_t i = 0, j = 0, sites = 0;
	for (;;) {
		uint32_t ie = i, je = j;
		while (ie < c->ntok && !tmpl_word(c, ie))
			ie++;
		while (je < tk->n && !line_word(tk, je))
			je++;
		int d = seg_compare(c, i, ie, tk, j, je);
		if (d < 0 || (d > 0 && ++sites > 1))
			return false;
		if (ie == c->ntok || je == tk->n)
			return ie == c->ntok && je == tk->n && sites == 1;
		if (strlen(c->tok[ie]) != tk->len[je] || memcmp(c->tok[ie], tk->p[je], tk->len[je]))
			return false;
		i = ie + 1;
		j = je + 1;
	}
}

/* The oldest live cluster of another length the line joins through an optional part, or 0. */
static long optional_match(const struct miner *m, const struct tokens *tk)
{
	uint64_t key = skel_of_line(tk);
	const struct idlist *l = key ? idmap_find(&m->skel, key) : NULL;
	uint32_t best = 0;
	for (uint32_t k = 0; l && k < l->n; k++) {
		uint32_t id = l->ids[k];
		const struct cluster *c = m->cl[id - 1];
		if ((best && id > best) || c->merged_into || c->skel != key || c->ntok == tk->n)
			continue;
		if (optional_part(c, tk))
			best = id;
	}
	return best;
}

/* "tok0 tok1" for the first `depth` tokens of route. */
static char *route_text(const struct miner *m, const struct tokens *route)
{
	uint32_t levels = route->n < m->cfg.depth ? route->n : m->cfg.depth;
	size_t len = 1;
	for (uint32_t i = 0; i < levels; i++)
		len += route->len[i] + 1;
	char *t = malloc(len), *p = t;
	if (!t)
		return NULL;
	for (uint32_t i = 0; i < levels; i++) {
		if (i)
			*p++ = ' ';
		memcpy(p, route->p[i], route->len[i]);
		p += route->len[i];
	}
	*p = '\0';
	return t;
}

/* A new cluster with template tk, listed in the leaf its route's leading tokens lead to
 * (route NULL: tk's own). */
static long cluster_create(struct miner *m, const struct tokens *tk, const struct tokens *route)
{
	if (!route)
		route = tk;
	if (m->ncl >= m->cfg.max_clusters)
		return AC_ETOOBIG;
	if (m->ncl == m->capcl) {
		size_t cap = m->capcl ? m->capcl * 2 : 64;
		struct cluster **p = realloc(m->cl, cap * sizeof *p);
		if (!p)
			return AC_ENOMEM;
		m->cl = p;
		m->capcl = cap;
	}
	struct node *leaf = tree_insert_path(m, tk->n, route);
	if (!leaf)
		return AC_ENOMEM;
	struct cluster *c = cluster_new(tk);
	if (!c || !(c->route = route_text(m, route))) {
		cluster_free(c);
		return AC_ENOMEM;
	}
	if (leaf_add(m, leaf, (uint32_t)(m->ncl + 1), c)) {
		cluster_free(c);
		return AC_ENOMEM;
	}
	c->leaf = leaf;
	c->id = (uint32_t)(m->ncl + 1);
	m->cl[m->ncl++] = c;
	templates_changed(m);
	skel_index(m, (uint32_t)m->ncl);
	return (long)m->ncl;
}

/* ---- merging clusters whose templates differ only in variable positions ---- */

static uint32_t resolve(const struct miner *m, uint32_t id)
{
	while (m->cl[id - 1]->merged_into)
		id = m->cl[id - 1]->merged_into;
	return id;
}

/* True when every line that fits b also fits a: at each position a has "<*>", or both hold
 * equal parameters, or the same text. */
static bool covers(const struct cluster *a, const struct cluster *b)
{
	if (a->ntok != b->ntok)
		return false;
	for (uint32_t i = 0; i < a->ntok; i++) {
		if (!strcmp(a->tok[i], WILDCARD))
			continue;
		if (a->kind[i] && b->kind[i]) {
			size_t ka = param_key_len(a->tok[i], strlen(a->tok[i]));
			size_t kb = param_key_len(b->tok[i], strlen(b->tok[i]));
			if (ka != kb || memcmp(a->tok[i], b->tok[i], ka))
				return false;
			continue;
		}
		if (strcmp(a->tok[i], b->tok[i]))
			return false;
	}
	return true;
}

static void leaf_remove(struct node *leaf, uint32_t id)
{
	for (uint32_t k = 0; k < leaf->nids; k++)
		if (leaf->ids[k] == id) {
			memmove(leaf->ids + k, leaf->ids + k + 1, (leaf->nids - k - 1) * sizeof *leaf->ids);
			leaf->nids--;
			return;
		}
}

/* Fold `gone` into `keep` (the older id); keep's template becomes general enough for both
 * (every position where they differ turns into "<*>"). 0 or AC_ENOMEM. */
static int cluster_generalize(struct cluster *keep, const struct cluster *other);
static int cluster_fold(struct miner *m, uint32_t keep, uint32_t gone)
{
	struct cluster *k = m->cl[keep - 1], *g = m->cl[gone - 1];
	templates_changed(m);
	if (cluster_generalize(k, g))
		return AC_ENOMEM;
	k->size += g->size;
	g->merged_into = keep;
	k->dirty = g->dirty = true;
	leaf_remove(g->leaf, gone);
	g->leaf = NULL;
	return 0;
}

/* After cluster id's template generalised, clusters of its leaf that it now covers (or that
 * cover it) are the same template seen before it was learned: merge them, as Drain's
 * "differ only in variable positions" post-step, but online. Returns the surviving id. */
static uint32_t merge_covered(struct miner *m, uint32_t id, struct miner_info *info)
{
	struct node *leaf = m->cl[id - 1]->leaf;
	for (uint32_t k = 0; leaf && k < leaf->nids;) {
		uint32_t z = leaf->ids[k];
		struct cluster *c = m->cl[id - 1], *o = m->cl[z - 1];
		bool c_general = z != id && covers(c, o);
		if (z == id || (!c_general && !covers(o, c))) {
			k++;
			continue;
		}
		uint32_t keep = id < z ? id : z, gone = id < z ? z : id;
		if (cluster_fold(m, keep, gone))
			return 0;
		if (info->nfolded < MINER_MAX_FOLDED)
			info->folded[info->nfolded] = gone;
		info->nfolded++;
		id = keep;
		k = 0;
	}
	return id;
}


/* ---- families: is a differing word a constant or a variable? ----
 *
 * A line that differs from a cluster only in literal words starts a cluster of its own (see
 * word_conflict). Every new cluster is entered, for each position holding a literal word, in
 * the family of clusters whose first lines are equal except at that position. When a family
 * reaches FAMILY_VARIABLE_VALUES members, the position has shown as many different words as a
 * variable does (user, host and program names) and more than the states, actions and units
 * that make different messages of one shape: its clusters merge into the oldest, whose template
 * gets "<*>" there. Later lines with yet another word there join it, even when that word is the
 * first token and the tree sends the line elsewhere: the family remembers the merged cluster. */

static void token_hashes(const struct tokens *tk, uint64_t *h)
{
	/* parameters hash alike: "<ID>" and "<IP>" both stand for a host, as in tok_equal */
	for (uint32_t i = 0; i < tk->n; i++)
		h[i] = tk->kind[i] & T_WHOLE ? 0x5bd1e995u : hash_bytes(tk->p[i], tk->len[i]);
}

/* Key of the family of lines equal to tk except at position p (never 0). With prefix and
 * suffix hashes pre[i] (tokens < i) and suf[i] (tokens >= i) this is O(1) per position. */
static uint64_t family_key(const uint64_t *pre, const uint64_t *suf, uint32_t p, uint32_t n)
{
	uint64_t k = (pre[p] * 0x9e3779b97f4a7c15ULL) ^ (suf[p + 1] * 0xc2b2ae3d27d4eb4fULL) ^
		     (((uint64_t)p << 32) | n);
	k ^= k >> 31;
	return k ? k : 1;
}

static void prefix_suffix(const struct tokens *tk, const uint64_t *h, uint64_t *pre, uint64_t *suf)
{
	pre[0] = 0x243f6a8885a308d3ULL;
	for (uint32_t i = 0; i < tk->n; i++)
		pre[i + 1] = ((pre[i] ^ h[i]) * 0x100000001b3ULL) ^ (pre[i] >> 27);
	suf[tk->n] = 0x13198a2e03707344ULL;
	for (uint32_t i = tk->n; i-- > 0;)
		suf[i] = ((suf[i + 1] ^ h[i]) * 0xff51afd7ed558ccdULL) ^ (suf[i + 1] >> 29);
}

static struct family *family_find(const struct miner *m, uint64_t key)
{
	if (!m->capfam)
		return NULL;
	for (size_t i = key & (m->capfam - 1);; i = (i + 1) & (m->capfam - 1)) {
		if (!m->fam[i].key)
			return NULL;
		if (m->fam[i].key == key)
			return &m->fam[i];
	}
}

static struct family *family_get(struct miner *m, uint64_t key, uint32_t pos)
{
	struct family *f = family_find(m, key);
	if (f)
		return f;
	if (m->nfam + 1 > m->capfam / 2) {
		size_t cap = m->capfam ? m->capfam * 2 : 256;
		struct family *t = calloc(cap, sizeof *t);
		if (!t)
			return NULL;
		for (size_t i = 0; i < m->capfam; i++) {
			if (!m->fam[i].key)
				continue;
			size_t j = m->fam[i].key & (cap - 1);
			while (t[j].key)
				j = (j + 1) & (cap - 1);
			t[j] = m->fam[i];
		}
		free(m->fam);
		m->fam = t;
		m->capfam = cap;
	}
	size_t j = key & (m->capfam - 1);
	while (m->fam[j].key)
		j = (j + 1) & (m->capfam - 1);
	m->fam[j] = (struct family){ .key = key, .pos = pos, .dirty = true };
	m->nfam++;
	return &m->fam[j];
}

/* Turn every position where keep's and other's templates differ into "<*>". */
static int cluster_generalize(struct cluster *keep, const struct cluster *other)
{
	bool changed = false;
	for (uint32_t i = 0; i < keep->ntok && i < other->ntok; i++) {
		if (!strcmp(keep->tok[i], other->tok[i]) || !strcmp(keep->tok[i], WILDCARD))
			continue;
		char *w = dup_n(WILDCARD, sizeof WILDCARD - 1);
		if (!w)
			return AC_ENOMEM;
		free(keep->tok[i]);
		keep->tok[i] = w;
		keep->kind[i] = T_PARAM | T_WHOLE;
		post_wild(keep, i);
		changed = true;
	}
	keep->dirty = true;
	return changed ? cluster_render(keep) : 0;
}

/* The family's position is a variable: fold its clusters into the oldest. Returns it. */
static long family_merge(struct miner *m, struct family *f, struct miner_info *info)
{
	uint32_t keep = 0;
	for (uint32_t i = 0; i < f->nids; i++) {
		uint32_t z = resolve(m, f->ids[i]);
		if (!keep || z < keep)
			keep = z;
	}
	for (uint32_t i = 0; i < f->nids; i++) {
		uint32_t z = resolve(m, f->ids[i]);
		if (z == keep)
			continue;
		if (cluster_fold(m, keep, z))
			return AC_ENOMEM;
		if (info->nfolded < MINER_MAX_FOLDED)
			info->folded[info->nfolded] = z;
		info->nfolded++;
	}
	free(f->ids);
	f->ids = NULL;
	f->nids = f->capids = 0;
	f->merged = keep;
	f->dirty = true;
	templates_changed(m); /* family_home answers from now on */
	return keep;
}

/* Enough words, and most of them rare: a variable. A constant has few values and each
 * recurs (a job is Queued, Running or Done over and over); a variable keeps bringing words
 * seen once (user names, hosts). Checked when a new word arrives, so a family whose words
 * stopped coming never merges. */
static bool family_is_variable(const struct miner *m, const struct family *f)
{
	if (f->nids < FAMILY_VARIABLE_VALUES)
		return false;
	uint32_t rare = 0;
	for (uint32_t i = 0; i < f->nids; i++)
		rare += m->cl[resolve(m, f->ids[i]) - 1]->size <= 1;
	return 2 * rare > f->nids || f->nids >= FAMILY_MANY_VALUES;
}

/* The cluster a family already merged for a line that would start a new cluster, or 0. */
static long family_home(const struct miner *m, const struct tokens *tk, const uint64_t *pre,
			const uint64_t *suf)
{
	for (uint32_t p = 0; p < tk->n; p++) {
		if (!word_token(tk->p[p], tk->len[p], tk->kind[p]))
			continue;
		const struct family *f = family_find(m, family_key(pre, suf, p, tk->n));
		if (f && f->merged)
			return resolve(m, f->merged);
	}
	return 0;
}

/* Enter the new cluster id in the family of each of its word positions; merge a family that
 * reached FAMILY_VARIABLE_VALUES. Returns the cluster now holding id's line, or AC_ENOMEM. */
static long family_enter(struct miner *m, long id, const struct tokens *tk, const uint64_t *pre,
			 const uint64_t *suf, struct miner_info *info)
{
	for (uint32_t p = 0; p < tk->n; p++) {
		if (!word_token(tk->p[p], tk->len[p], tk->kind[p]))
			continue;
		struct family *f = family_get(m, family_key(pre, suf, p, tk->n), p);
		if (!f)
			return AC_ENOMEM;
		if (f->merged)
			continue;
		if (f->nids == f->capids) {
			uint32_t cap = f->capids ? f->capids * 2 : 2;
			uint32_t *ids = realloc(f->ids, cap * sizeof *ids);
			if (!ids)
				return AC_ENOMEM;
			f->ids = ids;
			f->capids = cap;
		}
		f->ids[f->nids++] = (uint32_t)id;
		f->dirty = true;
		if (family_is_variable(m, f)) {
			long keep = family_merge(m, f, info);
			if (keep < 0)
				return keep;
			id = merge_covered(m, (uint32_t)keep, info);
			if (!id)
				return AC_ENOMEM;
		}
	}
	return resolve(m, (uint32_t)id);
}

/* Two positions that vary together ("user alice logged in from host-a" / "user bob logged in
 * from host-b"): a line kept from its most similar cluster (the twin) only by two literal
 * words, the rest equal, starts a cluster of its own, like one differing word does; both
 * enter the family of clusters equal but at those two positions, keyed by the twin's other
 * tokens. The family merges by the same rule as a family of one position (most of
 * FAMILY_VARIABLE_VALUES pairs seen once, or FAMILY_MANY_VALUES pairs): the template gets
 * "<*>" at both. Created only on such a near miss, so these families cost nothing elsewhere. */
static uint64_t pair_key(const struct cluster *c, uint32_t p, uint32_t q)
{
	uint64_t h = 0x3c6ef372fe94f82bULL;
	for (uint32_t i = 0; i < c->ntok; i++) {
		if (i == p || i == q)
			continue;
		uint64_t t = c->kind[i] & T_WHOLE ? 0x5bd1e995u : hash_bytes(c->tok[i], strlen(c->tok[i]));
		h = ((h ^ t) * 0x100000001b3ULL) ^ (h >> 27);
	}
	h ^= ((uint64_t)p << 40) ^ ((uint64_t)q << 20) ^ c->ntok ^ 0xa54ff53a5f1d36f1ULL;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return h ? h : 1;
}

static int family_push(struct family *f, uint32_t id)
{
	for (uint32_t k = 0; k < f->nids; k++)
		if (f->ids[k] == id)
			return 0;
	if (f->nids == f->capids) {
		uint32_t cap = f->capids ? f->capids * 2 : 2;
		uint32_t *ids = realloc(f->ids, cap * sizeof *ids);
		if (!ids)
			return AC_ENOMEM;
		f->ids = ids;
		f->capids = cap;
	}
	f->ids[f->nids++] = id;
	f->dirty = true;
	return 0;
}

/* Every member brought a word of its own at both positions: the two vary together. A
 * variable next to a constant ("component alt1 is in the running state") does not: its
 * constant repeats, and the variable's own family decides. */
static bool pair_covaries(const struct miner *m, const struct family *f, uint32_t p, uint32_t q)
{
	for (uint32_t a = 0; a < f->nids; a++)
		for (uint32_t b = a + 1; b < f->nids; b++) {
			const struct cluster *x = m->cl[f->ids[a] - 1], *y = m->cl[f->ids[b] - 1];
			if (x->ntok <= q || y->ntok <= q || !strcmp(x->tok[p], y->tok[p]) || !strcmp(x->tok[q], y->tok[q]))
				return false;
		}
	return true;
}

/* Enter the new cluster id and its twin in their pair family; merge it when it shows a
 * variable pair. Returns the cluster now holding id's line, or AC_ENOMEM. */
static long pair_enter(struct miner *m, long id, uint32_t twin, uint32_t p, uint32_t q,
		       struct miner_info *info)
{
	if (!twin || m->cl[twin - 1]->merged_into || m->cl[id - 1]->merged_into)
		return id;
	struct family *f = family_get(m, pair_key(m->cl[twin - 1], p, q), p | (q + 1) << 16);
	if (!f)
		return AC_ENOMEM;
	if (f->merged)
		return id;
	if (family_push(f, twin) || family_push(f, (uint32_t)id))
		return AC_ENOMEM;
	if (!family_is_variable(m, f) || !pair_covaries(m, f, p, q))
		return id;
	long keep = family_merge(m, f, info);
	if (keep < 0)
		return keep;
	if (!(id = merge_covered(m, (uint32_t)keep, info)))
		return AC_ENOMEM;
	return resolve(m, (uint32_t)id);
}

/* ---- public API ---- */

struct miner *miner_new(const struct miner_config *cfg, struct ac_error *err)
{
	struct miner *m = calloc(1, sizeof *m);
	struct mask_config mc = { 0 };

	if (!m)
		goto oom;
	miner_config_default(&m->cfg);
	if (cfg) {
		if (cfg->sim_threshold != 0)
			m->cfg.sim_threshold = cfg->sim_threshold;
		if (cfg->depth)
			m->cfg.depth = cfg->depth;
		if (cfg->max_children)
			m->cfg.max_children = cfg->max_children;
		if (cfg->max_clusters)
			m->cfg.max_clusters = cfg->max_clusters;
		if (cfg->max_line)
			m->cfg.max_line = cfg->max_line;
		m->cfg.masks = cfg->masks;
		m->cfg.no_merge = cfg->no_merge;
	}
	if (!(m->cfg.sim_threshold > 0 && m->cfg.sim_threshold <= 1)) {
		ac_error_set(err, AC_EINVAL, "bad_threshold",
			     "similarity threshold must be in (0, 1], got %g", m->cfg.sim_threshold);
		goto fail;
	}
	if (m->cfg.depth > 16 || m->cfg.max_line > (64u << 20) || m->cfg.max_clusters >= UINT32_MAX) {
		ac_error_set(err, AC_EINVAL, "bad_config",
			     "depth must be <= 16, max_line <= 64 MiB, max_clusters < 2^32");
		goto fail;
	}
	mc.builtins = m->cfg.masks;
	if (!(m->mk = masker_new(&mc, err)))
		goto fail;
	m->cfg.masks = NULL; /* the caller's string need not outlive us: use masker_builtins() */
	return m;
oom:
	ac_error_set(err, AC_ENOMEM, "oom", "out of memory");
fail:
	miner_free(m);
	return NULL;
}

void miner_free(struct miner *m)
{
	if (!m)
		return;
	masker_free(m->mk);
	for (size_t i = 0; i < m->nuser; i++)
		free(m->user_masks[i]);
	free(m->user_masks);
	for (size_t i = 0; i < m->ncl; i++)
		cluster_free(m->cl[i]);
	free(m->cl);
	for (size_t i = 0; i < m->capbylen; i++)
		node_free(m->by_len[i]);
	free(m->by_len);
	cache_clear(m);
	free(m->cache);
	idmap_free(&m->skel);
	free(m->stamp);
	for (size_t i = 0; i < m->capfam; i++)
		free(m->fam[i].ids);
	free(m->fam);
	free(m->mbuf);
	free(m);
}

int miner_add_mask(struct miner *m, const char *spec, struct ac_error *err)
{
	char **p = realloc(m->user_masks, (m->nuser + 1) * sizeof *p);
	if (!p)
		return ac_error_set(err, AC_ENOMEM, "oom", "out of memory");
	m->user_masks = p;
	char *copy = dup_n(spec, strlen(spec));
	if (!copy)
		return ac_error_set(err, AC_ENOMEM, "oom", "out of memory");
	int rc = masker_add_spec(m->mk, spec, err);
	if (rc) {
		free(copy);
		return rc;
	}
	m->user_masks[m->nuser++] = copy;
	cache_clear(m);
	return 0;
}

const char *miner_masked(struct miner *m, const char *line, size_t len)
{
	size_t n;
	if (mask_line(m, line, len, &n))
		return "";
	return m->mbuf;
}

long miner_add(struct miner *m, const char *line, size_t len)
{
	return miner_add_info(m, line, len, NULL);
}

long miner_add_info(struct miner *m, const char *line, size_t len, struct miner_info *info)
{
	size_t n;
	long id;
	double sim = 0;
	struct miner_info dummy;
	int rc = mask_line(m, line, len, &n);
	if (rc)
		return rc;
	if (!info)
		info = &dummy;
	memset(info, 0, sizeof *info);
	info->threshold = m->cfg.sim_threshold;
	uint64_t h = hash_bytes(m->mbuf, n);
	if ((id = cache_get(m, h, m->mbuf, n))) {
		id = resolve(m, (uint32_t)id);
		m->cl[id - 1]->size++;
		m->cl[id - 1]->dirty = true;
		info->id = id;
		info->how = MINER_SAME_TEXT;
		info->similarity = 1.0;
		return id;
	}
	tokenize(&m->tk, m->mbuf, n, true);
	id = leaf_best(m, tree_find(m, &m->tk), &m->tk, &sim);
	info->similarity = sim;
	info->how = id ? MINER_SIMILAR : MINER_NEW;
	uint64_t *th = m->th, *pre = m->pre, *suf = m->suf;
	if (!id) {
		token_hashes(&m->tk, th);
		prefix_suffix(&m->tk, th, pre, suf);
		if (!m->cfg.no_merge && (id = family_home(m, &m->tk, pre, suf)))
			info->how = MINER_SIMILAR;
		else if (!m->cfg.no_merge && (id = optional_match(m, &m->tk))) {
			/* another length: the template stays; not cached, so that the answer for
			 * this text is always the current one (as after a restart) */
			info->how = MINER_OPTIONAL;
			info->similarity = 1.0;
			m->cl[id - 1]->size++;
			m->cl[id - 1]->dirty = true;
			info->id = id;
			return id;
		}
	}
	if (id) {
		if ((rc = cluster_absorb(m->cl[id - 1], &m->tk)) < 0)
			return rc;
		if (rc)
			templates_changed(m);
		if (rc && !m->cfg.no_merge && !(id = merge_covered(m, (uint32_t)id, info)))
			return AC_ENOMEM;
	} else if ((id = cluster_create(m, &m->tk, NULL)) < 0) {
		return id;
	} else if (!m->cfg.no_merge) {
		uint32_t twin = m->twin, tp = m->twin_p, tq = m->twin_q;
		long fresh = id;
		if ((id = family_enter(m, id, &m->tk, pre, suf, info)) < 0)
			return id;
		if (id == fresh && (id = pair_enter(m, id, twin, tp, tq, info)) < 0)
			return id;
	}
	skel_index(m, (uint32_t)id);
	m->cl[id - 1]->size++;
	m->cl[id - 1]->dirty = true;
	cache_put(m, h, m->mbuf, n, id);
	info->id = id;
	return id;
}

int miner_explain(const struct miner_info *info, char *buf, size_t cap)
{
	switch (info->how) {
	case MINER_SAME_TEXT:
		return snprintf(buf, cap, "template %ld: same text as an earlier line after masking",
				info->id);
	case MINER_SIMILAR:
		return snprintf(buf, cap, "template %ld: %.0f%% of the literal tokens agree "
				"(threshold %.0f%%)", info->id, 100 * info->similarity,
				100 * info->threshold);
	case MINER_OPTIONAL:
		return snprintf(buf, cap, "template %ld: the same literal words in the same order; "
				"the line adds or lacks an optional part of parameters", info->id);
	case MINER_NEW:
		break;
	}
	if (info->similarity > 0)
		return snprintf(buf, cap, "new template %ld: the closest one agrees on %.0f%% of the "
				"literal tokens (threshold %.0f%%)", info->id,
				100 * info->similarity, 100 * info->threshold);
	return snprintf(buf, cap, "new template %ld: no template with this token count and "
			"leading tokens", info->id);
}

long miner_match(struct miner *m, const char *line, size_t len)
{
	size_t n;
	long id;
	if (mask_line(m, line, len, &n))
		return 0;
	uint64_t h = hash_bytes(m->mbuf, n);
	if ((id = cache_get(m, h, m->mbuf, n)))
		return resolve(m, (uint32_t)id);
	tokenize(&m->tk, m->mbuf, n, true);
	if ((id = leaf_best(m, tree_find(m, &m->tk), &m->tk, NULL)))
		return id;
	token_hashes(&m->tk, m->th);
	prefix_suffix(&m->tk, m->th, m->pre, m->suf);
	if (!m->cfg.no_merge && (id = family_home(m, &m->tk, m->pre, m->suf)))
		return id;
	return m->cfg.no_merge ? 0 : optional_match(m, &m->tk);
}

size_t miner_count(const struct miner *m)
{
	return m->ncl;
}

long miner_resolve(const struct miner *m, long id)
{
	if (id < 1 || (size_t)id > m->ncl)
		return 0;
	return resolve(m, (uint32_t)id);
}

long miner_next(const struct miner *m, long after)
{
	for (size_t id = after < 0 ? 1 : (size_t)after + 1; id <= m->ncl; id++)
		if (!m->cl[id - 1]->merged_into)
			return (long)id;
	return 0;
}

const char *miner_template(const struct miner *m, long id)
{
	if (id < 1 || (size_t)id > m->ncl)
		return NULL;
	return m->cl[resolve(m, (uint32_t)id) - 1]->text;
}

uint64_t miner_size(const struct miner *m, long id)
{
	if (id < 1 || (size_t)id > m->ncl)
		return 0;
	return m->cl[resolve(m, (uint32_t)id) - 1]->size;
}

/* ---- persistence ---- */

static int save_config(struct miner *m, ac_sql *db, struct ac_error *err)
{
	static const char sql[] = "INSERT OR REPLACE INTO miner_config(key, value) VALUES(?, ?)";
	ac_sql_stmt *st = NULL;
	char thr[32], depth[16], kids[16];
	const char *merge = m->cfg.no_merge ? "0" : "1";
	struct ac_buf user;
	int rc = 0;

	ac_buf_init(&user, 1 << 20);
	snprintf(thr, sizeof thr, "%.17g", m->cfg.sim_threshold);
	snprintf(depth, sizeof depth, "%u", m->cfg.depth);
	snprintf(kids, sizeof kids, "%u", m->cfg.max_children);
	for (size_t i = 0; i < m->nuser; i++)
		if (ac_buf_printf(&user, "%s%s", i ? "\n" : "", m->user_masks[i])) {
			rc = ac_error_set(err, AC_ETOOBIG, "too_big", "user masks too large");
			goto out;
		}
	const char *kv[][2] = {
		{ "sim_threshold", thr }, { "depth", depth }, { "max_children", kids }, { "merge", merge },
		{ "masks", masker_builtins(m->mk) }, { "user_masks", user.data ? user.data : "" },
	};
	if (ac_sql_prepare_v2(db, sql, -1, &st, NULL) != AC_SQL_OK) {
		rc = ac_db_error(db, err, "saving miner configuration");
		goto out;
	}
	for (size_t i = 0; i < AC_ARRAY_SIZE(kv); i++) {
		ac_sql_reset(st);
		ac_sql_bind_text(st, 1, kv[i][0], -1, AC_SQL_STATIC);
		ac_sql_bind_text(st, 2, kv[i][1], -1, AC_SQL_STATIC);
		if (ac_sql_step(st) != AC_SQL_DONE) {
			rc = ac_db_error(db, err, "saving miner configuration");
			goto out;
		}
	}
out:
	ac_sql_finalize(st);
	ac_buf_release(&user);
	return rc;
}

static int save_templates(struct miner *m, ac_sql *db, struct ac_error *err)
{
	static const char sql[] =
		"INSERT INTO templates(id, template, tokens, count, merged_into, updated_at, route)"
		" VALUES(?,?,?,?,?,?,?) ON CONFLICT(id) DO UPDATE SET template=excluded.template,"
		" tokens=excluded.tokens, count=excluded.count, merged_into=excluded.merged_into,"
		" updated_at=excluded.updated_at";
	ac_sql_stmt *st = NULL;
	double now = ac_now();
	int rc = 0;

	if (ac_sql_prepare_v2(db, sql, -1, &st, NULL) != AC_SQL_OK)
		return ac_db_error(db, err, "saving templates");
	for (size_t i = 0; i < m->ncl; i++) {
		struct cluster *c = m->cl[i];
		if (!c->dirty)
			continue;
		ac_sql_reset(st);
		ac_sql_bind_int64(st, 1, (ac_sql_int64)(i + 1));
		ac_sql_bind_text(st, 2, c->text, -1, AC_SQL_STATIC);
		ac_sql_bind_int64(st, 3, c->ntok);
		ac_sql_bind_int64(st, 4, (ac_sql_int64)c->size);
		if (c->merged_into)
			ac_sql_bind_int64(st, 5, c->merged_into);
		else
			ac_sql_bind_null(st, 5);
		ac_sql_bind_double(st, 6, now);
		ac_sql_bind_text(st, 7, c->route, -1, AC_SQL_STATIC);
		if (ac_sql_step(st) != AC_SQL_DONE) {
			rc = ac_db_error(db, err, "saving templates");
			break;
		}
	}
	ac_sql_finalize(st);
	return rc;
}

/* The family statistics (one row per family changed since the last save), so that a restarted
 * miner decides constants and variables from the same evidence as one that kept running. */
static int save_families(struct miner *m, ac_sql *db, struct ac_error *err)
{
	static const char sql[] =
		"INSERT OR REPLACE INTO miner_families(key, pos, merged, ids) VALUES(?,?,?,?)";
	ac_sql_stmt *st = NULL;
	struct ac_buf ids;
	int rc = 0;

	ac_buf_init(&ids, SIZE_MAX);
	if (ac_sql_prepare_v2(db, sql, -1, &st, NULL) != AC_SQL_OK)
		return ac_db_error(db, err, "saving miner families");
	for (size_t i = 0; i < m->capfam && !rc; i++) {
		const struct family *f = &m->fam[i];
		if (!f->key || !f->dirty)
			continue;
		ac_buf_reset(&ids);
		for (uint32_t k = 0; k < f->nids && !rc; k++)
			if (ac_buf_printf(&ids, "%s%u", k ? " " : "", f->ids[k]))
				rc = ac_error_set(err, AC_ENOMEM, "oom", "out of memory");
		if (rc)
			break;
		ac_sql_reset(st);
		ac_sql_bind_int64(st, 1, (ac_sql_int64)f->key);
		ac_sql_bind_int64(st, 2, f->pos);
		ac_sql_bind_int64(st, 3, f->merged);
		ac_sql_bind_text(st, 4, ids.data ? ids.data : "", -1, AC_SQL_STATIC);
		if (ac_sql_step(st) != AC_SQL_DONE)
			rc = ac_db_error(db, err, "saving miner families");
	}
	ac_sql_finalize(st);
	ac_buf_release(&ids);
	return rc;
}

int miner_save(struct miner *m, ac_sql *db, struct ac_error *err)
{
	int rc = ac_db_exec(db, "SAVEPOINT miner_save", err);
	if (rc)
		return rc;
	rc = save_config(m, db, err);
	if (!rc)
		rc = save_templates(m, db, err);
	if (!rc)
		rc = save_families(m, db, err);
	if (rc) {
		ac_db_exec(db, "ROLLBACK TO miner_save", NULL);
		ac_db_exec(db, "RELEASE miner_save", NULL);
		return rc;
	}
	rc = ac_db_exec(db, "RELEASE miner_save", err);
	if (!rc) {
		for (size_t i = 0; i < m->ncl; i++)
			m->cl[i]->dirty = false;
		for (size_t i = 0; i < m->capfam; i++)
			m->fam[i].dirty = false;
	}
	return rc;
}

/* Read miner_config into cfg (strings copied into the caller's buffers). */
static int load_config(ac_sql *db, struct miner_config *cfg, char *masks, size_t masks_cap,
		       struct ac_buf *user, struct ac_error *err)
{
	ac_sql_stmt *st = NULL;
	int rc = 0, step;

	if (ac_sql_prepare_v2(db, "SELECT key, value FROM miner_config", -1, &st, NULL) !=
	    AC_SQL_OK)
		return ac_db_error(db, err, "loading miner configuration");
	while ((step = ac_sql_step(st)) == AC_SQL_ROW) {
		const char *k = (const char *)ac_sql_column_text(st, 0);
		const char *v = (const char *)ac_sql_column_text(st, 1);
		double d;
		int64_t i;
		if (!k || !v)
			continue;
		if (!strcmp(k, "sim_threshold") && !ac_parse_double(v, &d))
			cfg->sim_threshold = d;
		else if (!strcmp(k, "depth") && !ac_parse_i64(v, &i) && i >= 0 && i <= 16)
			cfg->depth = (unsigned)i;
		else if (!strcmp(k, "max_children") && !ac_parse_i64(v, &i) && i > 0 && i < 1 << 20)
			cfg->max_children = (unsigned)i;
		else if (!strcmp(k, "merge"))
			cfg->no_merge = strcmp(v, "1") != 0;
		else if (!strcmp(k, "masks")) {
			snprintf(masks, masks_cap, "%s", v);
			cfg->masks = masks;
		} else if (!strcmp(k, "user_masks") && ac_buf_puts(user, v)) {
			rc = ac_error_set(err, AC_ETOOBIG, "too_big", "stored user masks too large");
			break;
		}
	}
	if (!rc && step != AC_SQL_DONE && step != AC_SQL_ROW)
		rc = ac_db_error(db, err, "loading miner configuration");
	ac_sql_finalize(st);
	return rc;
}

static int load_user_masks(struct miner *m, char *list, struct ac_error *err)
{
	char *p = list;
	while (p && *p) {
		char *nl = strchr(p, '\n');
		if (nl)
			*nl = '\0';
		int rc = miner_add_mask(m, p, err);
		if (rc)
			return rc;
		p = nl ? nl + 1 : NULL;
	}
	return 0;
}

static int load_templates(struct miner *m, ac_sql *db, struct ac_error *err)
{
	static const char sql[] =
		"SELECT id, template, tokens, count, merged_into, route FROM templates ORDER BY id";
	struct tokens *route = malloc(sizeof *route);
	char *rcopy = NULL;
	ac_sql_stmt *st = NULL;
	int rc = 0, step;

	if (!route) {
		return ac_error_set(err, AC_ENOMEM, "oom", "out of memory");
	}
	if (ac_sql_prepare_v2(db, sql, -1, &st, NULL) != AC_SQL_OK) {
		free(route);
		return ac_db_error(db, err, "loading templates");
	}
	while ((step = ac_sql_step(st)) == AC_SQL_ROW) {
		ac_sql_int64 id = ac_sql_column_int64(st, 0);
		const char *text = (const char *)ac_sql_column_text(st, 1);
		size_t len = (size_t)ac_sql_column_bytes(st, 1);
		if (id != (ac_sql_int64)m->ncl + 1 || !text) {
			rc = ac_error_set(err, AC_EINVAL, "corrupt_state",
					  "templates: expected id %zu, found %lld", m->ncl + 1,
					  (long long)id);
			break;
		}
		char *copy = dup_n(text, len);
		if (!copy) {
			rc = ac_error_set(err, AC_ENOMEM, "oom", "out of memory");
			break;
		}
		tokenize(&m->tk, copy, len, false);
		/* the stored token count is informational: templates written by a version that
		 * split on whitespace only are split again the current way */
		const char *rt = (const char *)ac_sql_column_text(st, 5);
		const struct tokens *via = NULL;
		free(rcopy);
		rcopy = rt ? dup_n(rt, strlen(rt)) : NULL;
		if (rcopy) {
			tokenize(route, rcopy, strlen(rcopy), false);
			uint32_t want = m->tk.n < m->cfg.depth ? m->tk.n : m->cfg.depth;
			via = route->n == want ? route : NULL; /* else route by the template */
		}
		long got = cluster_create(m, &m->tk, via);
		free(copy);
		if (got < 0) {
			rc = ac_error_set(err, got == AC_EINVAL ? AC_EINVAL : AC_ENOMEM,
					  "corrupt_state", "templates: cannot restore cluster %lld",
					  (long long)id);
			break;
		}
		m->cl[got - 1]->size = (uint64_t)ac_sql_column_int64(st, 3);
		m->cl[got - 1]->dirty = false;
		/* replaying a merged cluster rebuilds the tree nodes it created; then it leaves */
		ac_sql_int64 into = ac_sql_column_int64(st, 4);
		if (into) {
			if (into < 1 || into >= id) {
				rc = ac_error_set(err, AC_EINVAL, "corrupt_state",
						  "templates: cluster %lld merged into %lld", (long long)id,
						  (long long)into);
				break;
			}
			m->cl[got - 1]->merged_into = (uint32_t)into;
			leaf_remove(m->cl[got - 1]->leaf, (uint32_t)got);
			m->cl[got - 1]->leaf = NULL;
		}
	}
	if (!rc && step != AC_SQL_DONE)
		rc = ac_db_error(db, err, "loading templates");
	ac_sql_finalize(st);
	free(route);
	free(rcopy);
	return rc;
}

/* Parse a family's id list ("3 17 40") into f; false on a bad or out-of-range id. */
static bool parse_family_ids(struct miner *m, struct family *f, const char *p)
{
	while (*p) {
		char *end;
		unsigned long id = strtoul(p, &end, 10);
		if (end == p || id < 1 || id > m->ncl)
			return false;
		if (f->nids == f->capids) {
			uint32_t cap = f->capids ? f->capids * 2 : 2;
			uint32_t *ids = realloc(f->ids, cap * sizeof *ids);
			if (!ids)
				return false;
			f->ids = ids;
			f->capids = cap;
		}
		f->ids[f->nids++] = (uint32_t)id;
		p = end;
		while (*p == ' ')
			p++;
	}
	return true;
}

static int load_families(struct miner *m, ac_sql *db, struct ac_error *err)
{
	ac_sql_stmt *st = NULL;
	int rc = 0, step;

	if (ac_sql_prepare_v2(db, "SELECT key, pos, merged, ids FROM miner_families ORDER BY key",
			       -1, &st, NULL) != AC_SQL_OK)
		return ac_db_error(db, err, "loading miner families");
	while ((step = ac_sql_step(st)) == AC_SQL_ROW) {
		uint64_t key = (uint64_t)ac_sql_column_int64(st, 0);
		ac_sql_int64 pos = ac_sql_column_int64(st, 1), merged = ac_sql_column_int64(st, 2);
		const char *ids = (const char *)ac_sql_column_text(st, 3);
		struct family *f = NULL;
		/* pos: a position, or for a pair family p | (q + 1) << 16 */
		if (!key || pos < 0 || (pos & 0xffff) >= MAX_TOKENS || (pos >> 16) > MAX_TOKENS ||
		    merged < 0 || (size_t)merged > m->ncl ||
		    !ids || !(f = family_get(m, key, (uint32_t)pos)) || f->nids ||
		    !parse_family_ids(m, f, ids)) {
			rc = ac_error_set(err, AC_EINVAL, "corrupt_state",
					  "miner_families: bad row for key %lld", (long long)key);
			break;
		}
		f->merged = (uint32_t)merged;
		f->dirty = false;
	}
	if (!rc && step != AC_SQL_DONE)
		rc = ac_db_error(db, err, "loading miner families");
	ac_sql_finalize(st);
	return rc;
}

struct miner *miner_load(ac_sql *db, const struct miner_config *cfg, struct ac_error *err)
{
	struct miner_config c;
	char masks[256];
	struct ac_buf user;
	struct miner *m = NULL;

	ac_buf_init(&user, 1 << 20);
	if (cfg)
		c = *cfg;
	else
		miner_config_default(&c);
	if (load_config(db, &c, masks, sizeof masks, &user, err))
		goto fail;
	if (!(m = miner_new(&c, err)))
		goto fail;
	if (user.data && load_user_masks(m, user.data, err))
		goto fail;
	if (load_templates(m, db, err) || load_families(m, db, err))
		goto fail;
	ac_buf_release(&user);
	return m;
fail:
	ac_buf_release(&user);
	miner_free(m);
	return NULL;
}

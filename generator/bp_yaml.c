/*
 * bp_yaml.c — YAML text to a node tree with line:column marks (libyaml event API).
 *
 * libyaml's parser is iterative, so hostile nesting cannot overflow the C stack inside it; we
 * bound our own tree instead: BLUEPRINT_MAX_DEPTH open collections, MAX_NODES nodes and
 * MAX_ANCHORS anchors. An alias becomes a node pointing at its anchored node; an anchor is
 * registered only when its node is complete, so a node can never contain itself. Conversion to
 * JSON expands aliases under a caller-supplied budget (the "billion laughs" guard).
 */
#include "core/common.h"
#include "generator/bp_int.h"

#include <strings.h>
#include <yaml.h>

#define MAX_NODES 500000
#define MAX_ANCHORS 4096

struct anchor {
	char *name;
	struct ynode *node;
};

struct builder {
	const char *file;
	struct bp_diags *diags;
	struct ydoc *doc;
	struct ynode *stack[BLUEPRINT_MAX_DEPTH + 1];
	char *stack_anchor[BLUEPRINT_MAX_DEPTH + 1];
	int depth;
	struct anchor *anchors;
	size_t nanchors;
	size_t merged;          /* entries added by merge keys, bounded by MAX_NODES */
	bool failed;
};

static void fail(struct builder *b, yaml_mark_t m, const char *fmt, const char *arg)
{
	if (b->failed)
		return;
	b->failed = true;
	bp_diag_add(b->diags, BP_ERROR, b->file, (int)m.line + 1, (int)m.column + 1, NULL, fmt,
		    arg ? arg : "");
}

static struct ynode *node_new(struct builder *b, enum ykind kind, yaml_mark_t m)
{
	struct ydoc *d = b->doc;
	struct ynode *n;

	if (d->nall >= MAX_NODES) {
		fail(b, m, "blueprint has more than 500000 YAML nodes%s", NULL);
		return NULL;
	}
	if (d->nall == d->capall) {
		size_t cap = d->capall ? d->capall * 2 : 256;
		struct ynode **all = realloc(d->all, cap * sizeof *all);
		if (!all) {
			fail(b, m, "out of memory%s", NULL);
			return NULL;
		}
		d->all = all;
		d->capall = cap;
	}
	n = calloc(1, sizeof *n);
	if (!n) {
		fail(b, m, "out of memory%s", NULL);
		return NULL;
	}
	n->kind = kind;
	n->line = (int)m.line + 1;
	n->col = (int)m.column + 1;
	d->all[d->nall++] = n;
	return n;
}

static int push_kid(struct builder *b, struct ynode *parent, struct ynode *kid, yaml_mark_t m)
{
	struct ynode **kids;

	/* grow by doubling: keep capacity implicit as the next power of two >= n */
	if ((parent->n & (parent->n - 1)) == 0) {
		size_t cap = parent->n ? parent->n * 2 : 4;
		kids = realloc(parent->kids, cap * sizeof *kids);
		if (!kids) {
			fail(b, m, "out of memory%s", NULL);
			return -1;
		}
		parent->kids = kids;
	}
	parent->kids[parent->n++] = kid;
	return 0;
}

static int add_anchor(struct builder *b, const char *name, struct ynode *n, yaml_mark_t m)
{
	struct anchor *a;

	if (!name)
		return 0;
	if (b->nanchors >= MAX_ANCHORS) {
		fail(b, m, "more than 4096 YAML anchors%s", NULL);
		return -1;
	}
	a = realloc(b->anchors, (b->nanchors + 1) * sizeof *a);
	if (!a) {
		fail(b, m, "out of memory%s", NULL);
		return -1;
	}
	b->anchors = a;
	a[b->nanchors].name = strdup(name);
	a[b->nanchors].node = n;
	if (!a[b->nanchors].name) {
		fail(b, m, "out of memory%s", NULL);
		return -1;
	}
	b->nanchors++;
	return 0;
}

static struct ynode *find_anchor(struct builder *b, const char *name)
{
	/* the latest definition wins, as in YAML */
	for (size_t i = b->nanchors; i-- > 0;)
		if (!strcmp(b->anchors[i].name, name))
			return b->anchors[i].node;
	return NULL;
}

/* Attach a finished node to the open collection or make it a document root. */
static int attach(struct builder *b, struct ynode *n, yaml_mark_t m)
{
	struct ydoc *d = b->doc;

	if (b->depth > 0)
		return push_kid(b, b->stack[b->depth - 1], n, m);
	if (d->nroots >= 16) {
		fail(b, m, "more than 16 YAML documents in one blueprint%s", NULL);
		return -1;
	}
	struct ynode **roots = realloc(d->roots, (d->nroots + 1) * sizeof *roots);
	if (!roots) {
		fail(b, m, "out of memory%s", NULL);
		return -1;
	}
	d->roots = roots;
	d->roots[d->nroots++] = n;
	return 0;
}

static void on_scalar(struct builder *b, const yaml_event_t *ev)
{
	struct ynode *n = node_new(b, Y_SCALAR, ev->start_mark);

	if (!n)
		return;
	n->len = ev->data.scalar.length;
	n->text = malloc(n->len + 1);
	if (!n->text) {
		fail(b, ev->start_mark, "out of memory%s", NULL);
		return;
	}
	memcpy(n->text, ev->data.scalar.value, n->len);
	n->text[n->len] = '\0';
	n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
	n->block = ev->data.scalar.style == YAML_LITERAL_SCALAR_STYLE ||
		   ev->data.scalar.style == YAML_FOLDED_SCALAR_STYLE;
	if (attach(b, n, ev->start_mark) == 0)
		add_anchor(b, (const char *)ev->data.scalar.anchor, n, ev->start_mark);
}

static void on_open(struct builder *b, const yaml_event_t *ev, enum ykind kind,
		    const yaml_char_t *anchor)
{
	struct ynode *n;

	if (b->depth >= BLUEPRINT_MAX_DEPTH) {
		fail(b, ev->start_mark, "YAML nested deeper than 64 levels%s", NULL);
		return;
	}
	n = node_new(b, kind, ev->start_mark);
	if (!n)
		return;
	b->stack_anchor[b->depth] = anchor ? strdup((const char *)anchor) : NULL;
	b->stack[b->depth++] = n;
}

/* Duplicate keys: YAML forbids them, PyYAML keeps the last; we keep the last and warn. */
static void check_duplicate_keys(struct builder *b, const struct ynode *map)
{
	json_t *seen;

	if (map->n < 4)
		return;
	seen = json_object();
	for (size_t i = 0; seen && i + 1 < map->n; i += 2) {
		const struct ynode *k = yderef(map->kids[i]);
		json_t *prev;
		if (!yis_scalar(k))
			continue;
		prev = json_object_get(seen, k->text);
		if (prev) {
			char hint[64];
			snprintf(hint, sizeof hint, "the first one is at line %lld; the last one is used",
				 (long long)json_integer_value(prev));
			bp_diag_add(b->diags, BP_WARNING, b->file, k->line, k->col, hint,
				    "duplicate key '%s'", k->text);
		} else {
			json_object_set_new(seen, k->text, json_integer(k->line));
		}
	}
	json_decref(seen);
}

static bool is_merge_key(const struct ynode *k)
{
	k = yderef(k);
	return k && k->kind == Y_SCALAR && k->plain && !strcmp(k->text, "<<");
}

/* Add the entries of one merged mapping that map (whose keys are in `seen`) lacks. */
static void merge_one(struct builder *b, struct ynode *map, const struct ynode *src,
		      json_t *seen, yaml_mark_t m)
{
	for (size_t j = 0; j + 1 < src->n && !b->failed; j += 2) {
		const char *key = ystr(src->kids[j]);
		if (!key || json_object_get(seen, key))
			continue;
		if ((b->merged += 2) > MAX_NODES) {
			fail(b, m, "YAML merge keys add more than 500000 entries%s", NULL);
			return;
		}
		json_object_set_new(seen, key, json_true());
		if (push_kid(b, map, src->kids[j], m) == 0)
			push_kid(b, map, src->kids[j + 1], m);
	}
}

/*
 * YAML merge keys (`<<: *defaults` or `<<: [*a, *b]`): the merged mappings' entries follow the
 * map's own entries unless the map already has the key (earlier sources win, as in YAML 1.1);
 * the `<<` entry itself is removed. Entries are shared node pointers: every node is owned by
 * doc->all, so nothing is copied or freed twice.
 */
static void merge_keys(struct builder *b, struct ynode *map, yaml_mark_t m)
{
	const struct ynode *src;
	json_t *seen;
	size_t i;

	for (i = 0; i + 1 < map->n && !is_merge_key(map->kids[i]); i += 2)
		;
	if (i + 1 >= map->n)
		return;
	src = yderef(map->kids[i + 1]);
	m.line = (size_t)map->kids[i + 1]->line - 1; /* report at the value of `<<` */
	m.column = (size_t)map->kids[i + 1]->col - 1;
	memmove(&map->kids[i], &map->kids[i + 2], (map->n - i - 2) * sizeof *map->kids);
	map->n -= 2;
	if (!yis_map(src) && !yis_seq(src)) {
		fail(b, m, "merge key '<<' needs a mapping or a list of mappings%s", NULL);
		return;
	}
	seen = json_object();
	for (size_t j = 0; seen && j + 1 < map->n; j += 2)
		if (ystr(map->kids[j]))
			json_object_set_new(seen, ystr(map->kids[j]), json_true());
	if (yis_map(src)) {
		merge_one(b, map, src, seen, m);
	} else {
		for (size_t j = 0; j < src->n && !b->failed; j++) {
			if (!yis_map(src->kids[j])) {
				fail(b, m, "merge key '<<' needs a mapping or a list of mappings%s", NULL);
				break;
			}
			merge_one(b, map, yderef(src->kids[j]), seen, m);
		}
	}
	json_decref(seen);
}

static void on_close(struct builder *b, const yaml_event_t *ev)
{
	struct ynode *n;
	char *anchor;

	if (b->depth == 0)
		return;
	n = b->stack[--b->depth];
	anchor = b->stack_anchor[b->depth];
	if (n->kind == Y_MAP) {
		merge_keys(b, n, ev->start_mark);
		check_duplicate_keys(b, n);
	}
	if (attach(b, n, ev->start_mark) == 0)
		add_anchor(b, anchor, n, ev->start_mark);
	free(anchor);
}

static void on_alias(struct builder *b, const yaml_event_t *ev)
{
	const char *name = (const char *)ev->data.alias.anchor;
	struct ynode *target = find_anchor(b, name), *n;

	if (!target) {
		fail(b, ev->start_mark, "alias '*%s' refers to no complete anchor", name);
		return;
	}
	n = node_new(b, Y_ALIAS, ev->start_mark);
	if (!n)
		return;
	n->target = target;
	attach(b, n, ev->start_mark);
}

static void syntax_error(struct builder *b, const yaml_parser_t *p, const char *data,
			 size_t len)
{
	char msg[300];
	yaml_mark_t m = p->problem_mark;

	if (p->error == YAML_READER_ERROR) {
		/* reader errors (bad UTF-8, control bytes) only carry a byte offset */
		m.line = m.column = 0;
		for (size_t i = 0; i < p->problem_offset && i < len; i++) {
			if (data[i] == '\n') {
				m.line++;
				m.column = 0;
			} else if (((unsigned char)data[i] & 0xc0) != 0x80) {
				m.column++;
			}
		}
		snprintf(msg, sizeof msg, "%s (byte 0x%02x at offset %zu)",
			 p->problem ? p->problem : "invalid input",
			 p->problem_offset < len ? (unsigned char)data[p->problem_offset] : 0,
			 p->problem_offset);
		fail(b, m, "YAML syntax error: %s", msg);
		return;
	}

	if (p->error == YAML_MEMORY_ERROR) {
		fail(b, m, "out of memory while parsing YAML%s", NULL);
		return;
	}
	if (p->context)
		snprintf(msg, sizeof msg, "%s %s (line %zu, column %zu)", p->problem ? p->problem : "error",
			 p->context, p->context_mark.line + 1, p->context_mark.column + 1);
	else
		snprintf(msg, sizeof msg, "%s", p->problem ? p->problem : "error");
	fail(b, m, "YAML syntax error: %s", msg);
}

static void free_node(struct ynode *n)
{
	free(n->text);
	free(n->kids);
	free(n);
}

void ydoc_free(struct ydoc *doc)
{
	if (!doc)
		return;
	for (size_t i = 0; i < doc->nall; i++)
		free_node(doc->all[i]);
	free(doc->all);
	free(doc->roots);
	free(doc);
}

int ydoc_parse(const char *file, const char *data, size_t len, struct ydoc **out,
	       struct bp_diags *diags)
{
	yaml_parser_t parser;
	yaml_event_t ev;
	struct builder b = { .file = file, .diags = diags };
	bool done = false;

	*out = NULL;
	b.doc = calloc(1, sizeof *b.doc);
	if (!b.doc)
		return AC_ENOMEM;
	if (!yaml_parser_initialize(&parser)) {
		free(b.doc);
		return AC_ENOMEM;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)data, len);
	while (!done && !b.failed) {
		if (!yaml_parser_parse(&parser, &ev)) {
			syntax_error(&b, &parser, data, len);
			break;
		}
		switch (ev.type) {
		case YAML_SCALAR_EVENT: on_scalar(&b, &ev); break;
		case YAML_SEQUENCE_START_EVENT:
			on_open(&b, &ev, Y_SEQ, ev.data.sequence_start.anchor);
			break;
		case YAML_MAPPING_START_EVENT:
			on_open(&b, &ev, Y_MAP, ev.data.mapping_start.anchor);
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT: on_close(&b, &ev); break;
		case YAML_ALIAS_EVENT: on_alias(&b, &ev); break;
		case YAML_STREAM_END_EVENT: done = true; break;
		default: break;
		}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&parser);
	while (b.depth > 0)
		free(b.stack_anchor[--b.depth]);
	for (size_t i = 0; i < b.nanchors; i++)
		free(b.anchors[i].name);
	free(b.anchors);
	if (b.failed) {
		ydoc_free(b.doc);
		return AC_EINVAL;
	}
	*out = b.doc;
	return 0;
}

/* ---- access ---------------------------------------------------------------------------- */

const struct ynode *yderef(const struct ynode *n)
{
	while (n && n->kind == Y_ALIAS)
		n = n->target;
	return n;
}

bool yis_map(const struct ynode *n)
{
	n = yderef(n);
	return n && n->kind == Y_MAP;
}

bool yis_seq(const struct ynode *n)
{
	n = yderef(n);
	return n && n->kind == Y_SEQ;
}

bool yis_scalar(const struct ynode *n)
{
	n = yderef(n);
	return n && n->kind == Y_SCALAR;
}

static long entry_index(const struct ynode *map, const char *key)
{
	map = yderef(map);
	if (!map || map->kind != Y_MAP)
		return -1;
	/* the last occurrence wins (see check_duplicate_keys) */
	for (size_t i = map->n & ~(size_t)1; i >= 2; i -= 2) {
		const struct ynode *k = yderef(map->kids[i - 2]);
		if (k && k->kind == Y_SCALAR && !strcmp(k->text, key))
			return (long)(i - 2);
	}
	return -1;
}

const struct ynode *yget(const struct ynode *map, const char *key)
{
	long i = entry_index(map, key);
	return i < 0 ? NULL : yderef(yderef(map)->kids[i + 1]);
}

const struct ynode *ygetkey(const struct ynode *map, const char *key)
{
	long i = entry_index(map, key);
	return i < 0 ? NULL : yderef(map)->kids[i];
}

bool yis_null(const struct ynode *n)
{
	n = yderef(n);
	if (!n)
		return true;
	if (n->kind != Y_SCALAR || !n->plain)
		return false;
	return !strcmp(n->text, "") || !strcmp(n->text, "~") || !strcmp(n->text, "null") ||
	       !strcmp(n->text, "Null") || !strcmp(n->text, "NULL");
}

const char *ystr(const struct ynode *n)
{
	n = yderef(n);
	return n && n->kind == Y_SCALAR ? n->text : NULL;
}

bool yas_int(const struct ynode *n, long long *out)
{
	const char *s;
	char *end;
	int base = 10;

	n = yderef(n);
	if (!n || n->kind != Y_SCALAR || !n->plain || n->len == 0)
		return false;
	s = n->text;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'o') && s[2]) {
		base = s[1] == 'x' ? 16 : 8;
		s += 2;
	}
	if (!(s[0] >= '0' && s[0] <= '9') && !((s[0] == '-' || s[0] == '+') && base == 10 &&
					       s[1] >= '0' && s[1] <= '9'))
		return false;
	errno = 0;
	*out = strtoll(s, &end, base);
	return errno == 0 && *end == '\0';
}

bool yas_number(const struct ynode *n, double *out)
{
	long long i;
	const char *s;
	char *end;
	size_t k = 0;
	bool digits = false;

	if (yas_int(n, &i)) {
		*out = (double)i;
		return true;
	}
	n = yderef(n);
	if (!n || n->kind != Y_SCALAR || !n->plain)
		return false;
	s = n->text;
	/* YAML 1.2 core float: [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? */
	if (s[k] == '-' || s[k] == '+')
		k++;
	while (s[k] >= '0' && s[k] <= '9')
		k++, digits = true;
	if (s[k] == '.')
		for (k++; s[k] >= '0' && s[k] <= '9'; k++)
			digits = true;
	if (!digits)
		return false;
	if (s[k] == 'e' || s[k] == 'E') {
		k++;
		if (s[k] == '-' || s[k] == '+')
			k++;
		if (!(s[k] >= '0' && s[k] <= '9'))
			return false;
		while (s[k] >= '0' && s[k] <= '9')
			k++;
	}
	if (s[k])
		return false;
	errno = 0;
	*out = strtod(s, &end);
	return errno == 0 && *end == '\0';
}

bool yas_bool(const struct ynode *n, bool *out)
{
	static const char *const yes[] = { "true", "True", "TRUE", "yes", "Yes", "YES", "on", "On",
					   "ON", NULL };
	static const char *const no[] = { "false", "False", "FALSE", "no", "No", "NO", "off",
					  "Off", "OFF", NULL };

	n = yderef(n);
	if (!n || n->kind != Y_SCALAR || !n->plain)
		return false;
	for (size_t i = 0; yes[i]; i++) {
		if (!strcmp(n->text, yes[i])) {
			*out = true;
			return true;
		}
		if (!strcmp(n->text, no[i])) {
			*out = false;
			return true;
		}
	}
	return false;
}

/* Strict YAML 1.2 booleans for untyped conversion, so `answer: no` stays a string. */
static bool core_bool(const struct ynode *n, bool *out)
{
	if (!yas_bool(n, out))
		return false;
	return !strcasecmp(n->text, "true") || !strcasecmp(n->text, "false");
}

const char *ytype_name(const struct ynode *n)
{
	long long i;
	double d;
	bool b;

	n = yderef(n);
	if (!n)
		return "nothing";
	if (n->kind == Y_MAP)
		return "a mapping";
	if (n->kind == Y_SEQ)
		return "a list";
	if (yis_null(n))
		return "null";
	if (core_bool(n, &b))
		return "a boolean";
	if (yas_int(n, &i))
		return "an integer";
	if (yas_number(n, &d))
		return "a number";
	return "a string";
}

json_t *yto_json(const struct ynode *n, size_t *budget)
{
	json_t *v;
	long long i;
	double d;
	bool b;

	n = yderef(n);
	if (!n)
		return json_null();
	if (*budget == 0)
		return NULL;
	(*budget)--;
	switch (n->kind) {
	case Y_SCALAR:
		if (yis_null(n))
			return json_null();
		if (core_bool(n, &b))
			return json_boolean(b);
		if (yas_int(n, &i))
			return json_integer(i);
		if (yas_number(n, &d) && (v = json_real(d)))
			return v;
		v = json_stringn(n->text, n->len);
		return v ? v : json_string("");
	case Y_SEQ:
		v = json_array();
		for (size_t k = 0; v && k < n->n; k++) {
			json_t *el = yto_json(n->kids[k], budget);
			if (!el) {
				json_decref(v);
				return NULL;
			}
			json_array_append_new(v, el);
		}
		return v;
	case Y_MAP:
		v = json_object();
		for (size_t k = 0; v && k + 1 < n->n; k += 2) {
			const char *key = ystr(n->kids[k]);
			json_t *el = yto_json(n->kids[k + 1], budget);
			if (!el) {
				json_decref(v);
				return NULL;
			}
			json_object_set_new(v, key ? key : "?", el);
		}
		return v;
	default:
		return json_null();
	}
}

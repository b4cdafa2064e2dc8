/*
 * faults_catalog.c — loads the fault catalogue (data/faults/NAME.yaml, see faults.h) with
 * libyaml's document API. Every problem is reported as file:line:column with what was
 * expected; the first one is the load's error. A file looks like:
 *
 *   faults:
 *     - id: port-already-bound
 *       rule: autocoder.port-conflict
 *       blueprint: ../blueprints/todo_api.yaml
 *       description: A second instance starts while the first holds the API port.
 *       timeout: 60
 *       inject: |
 *         start_system API_PORT=$PORT && wait_http "http://127.0.0.1:$PORT/health"
 *         run_system API_PORT=$PORT || true
 *       fix: |
 *         stop_system && start_system API_PORT=$PORT && wait_http "http://127.0.0.1:$PORT/health"
 */
#include "core/common.h"
#include "analyzer/faults.h"
#include "analyzer/rules.h"

#include <dirent.h>
#include <limits.h>
#include <yaml.h>

struct fault_catalog {
	struct fault *items;
	size_t n, cap;
};

struct cat_loader {
	struct fault_catalog *c;
	const char *file, *dir;
	const struct rules *rules;
	yaml_document_t *doc;
	struct ac_error *err;
	int nerrors;
};

__attribute__((format(printf, 3, 4)))
static void diag(struct cat_loader *L, const yaml_node_t *n, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (L->nerrors++ == 0)
		ac_error_set(L->err, AC_EINVAL, "invalid_faults", "%s:%d:%d: %s", L->file,
			     n ? (int)n->start_mark.line + 1 : 1, n ? (int)n->start_mark.column + 1 : 1,
			     msg);
}

static const char *scalar_of(const yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static char *want_string(struct cat_loader *L, const yaml_node_t *n, const char *key)
{
	const char *s = scalar_of(n);
	if (!s || !*s) {
		diag(L, n, "'%s' must be a non-empty string", key);
		return NULL;
	}
	return strdup(s);
}

static bool valid_id(const char *s)
{
	for (const char *p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' ||
		      *p == '_'))
			return false;
	return *s && strlen(s) < 64;
}

static void free_fault(struct fault *f)
{
	free((char *)f->id);
	free((char *)f->rule);
	free((char *)f->description);
	free((char *)f->blueprint);
	free((char *)f->inject);
	free((char *)f->fix);
	free((char *)f->file);
}

static char *resolve_blueprint(struct cat_loader *L, const char *rel)
{
	char path[PATH_MAX];
	if (rel[0] == '/')
		snprintf(path, sizeof path, "%s", rel);
	else
		snprintf(path, sizeof path, "%s/%s", L->dir, rel);
	return strdup(path);
}

static void parse_entry(struct cat_loader *L, const yaml_node_t *m)
{
	static const char *const keys[] = { "id", "rule", "blueprint", "description", "inject",
					    "fix", "timeout" };
	struct fault f = { .timeout = 60 };
	yaml_node_t *idnode = NULL;

	if (m->type != YAML_MAPPING_NODE) {
		diag(L, m, "a fault must be a mapping with id, rule, inject");
		return;
	}
	for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(L->doc, p->key);
		yaml_node_t *v = yaml_document_get_node(L->doc, p->value);
		const char *key = scalar_of(k);
		size_t i;
		for (i = 0; key && i < AC_ARRAY_SIZE(keys) && strcmp(key, keys[i]); i++)
			;
		if (!key || i == AC_ARRAY_SIZE(keys)) {
			diag(L, k, "unknown key '%s' (expected id, rule, blueprint, description, inject, "
			     "fix, timeout)", key ? key : "?");
			continue;
		}
		char *s = want_string(L, v, key);
		if (!s)
			continue;
		switch (i) {
		case 0: free((char *)f.id); f.id = s; idnode = v; break;
		case 1: free((char *)f.rule); f.rule = s; break;
		case 2: free((char *)f.blueprint); f.blueprint = resolve_blueprint(L, s); free(s); break;
		case 3: free((char *)f.description); f.description = s; break;
		case 4: free((char *)f.inject); f.inject = s; break;
		case 5: free((char *)f.fix); f.fix = s; break;
		default: {
			int64_t t;
			if (ac_parse_i64(s, &t) || t < 1 || t > 3600)
				diag(L, v, "'timeout' must be seconds between 1 and 3600, got '%s'", s);
			else
				f.timeout = (unsigned)t;
			free(s);
		}
		}
	}
	if (!f.id)
		diag(L, m, "the fault has no 'id'");
	else if (!valid_id(f.id))
		diag(L, idnode, "fault id '%s' may use only a-z, 0-9, '-', '.', '_'", f.id);
	if (!f.rule)
		diag(L, m, "fault '%s' has no 'rule' (the rule id it must trigger)", f.id ? f.id : "?");
	else if (L->rules && !rules_find(L->rules, f.rule))
		diag(L, m, "fault '%s': rule '%s' is not in the loaded rule packs", f.id ? f.id : "?",
		     f.rule);
	if (!f.inject)
		diag(L, m, "fault '%s' has no 'inject' recipe", f.id ? f.id : "?");
	for (size_t i = 0; f.id && i < L->c->n; i++)
		if (!strcmp(L->c->items[i].id, f.id))
			diag(L, idnode, "fault id '%s' is already used at %s:%d", f.id,
			     L->c->items[i].file, L->c->items[i].line);
	if (L->nerrors || !f.id || !f.rule || !f.inject) {
		free_fault(&f);
		return;
	}
	f.file = strdup(L->file);
	f.line = (int)idnode->start_mark.line + 1;
	if (L->c->n == L->c->cap) {
		size_t cap = L->c->cap ? L->c->cap * 2 : 16;
		struct fault *p = realloc(L->c->items, cap * sizeof *p);
		if (!p) {
			free_fault(&f);
			return;
		}
		L->c->items = p;
		L->c->cap = cap;
	}
	L->c->items[L->c->n++] = f;
}

static void parse_doc(struct cat_loader *L)
{
	yaml_node_t *root = yaml_document_get_root_node(L->doc), *list = NULL;

	if (!root || root->type != YAML_MAPPING_NODE) {
		diag(L, root, "a fault catalogue is a mapping with a 'faults' list");
		return;
	}
	for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(L->doc, p->key);
		const char *key = scalar_of(k);
		if (key && !strcmp(key, "faults"))
			list = yaml_document_get_node(L->doc, p->value);
		else
			diag(L, k, "unknown key '%s' (expected 'faults')", key ? key : "?");
	}
	if (!list || list->type != YAML_SEQUENCE_NODE) {
		diag(L, list ? list : root, "'faults' must be a list");
		return;
	}
	for (yaml_node_item_t *it = list->data.sequence.items.start; it < list->data.sequence.items.top; it++)
		parse_entry(L, yaml_document_get_node(L->doc, *it));
}

static int load_file(struct fault_catalog *c, const char *path, const char *dir,
		     const struct rules *rules, struct ac_error *err)
{
	struct cat_loader L = { .c = c, .file = path, .dir = dir, .rules = rules, .err = err };
	yaml_parser_t parser;
	yaml_document_t doc;
	size_t len;
	char *text = ac_read_file(path, 4u << 20, &len, err);

	if (!text)
		return err ? err->code : AC_EIO;
	yaml_parser_initialize(&parser);
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &doc)) {
		ac_error_set(err, AC_EINVAL, "invalid_faults", "%s:%d:%d: %s", path,
			     (int)parser.problem_mark.line + 1, (int)parser.problem_mark.column + 1,
			     parser.problem ? parser.problem : "YAML syntax error");
		yaml_parser_delete(&parser);
		free(text);
		return AC_EINVAL;
	}
	L.doc = &doc;
	parse_doc(&L);
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	free(text);
	return L.nerrors ? AC_EINVAL : 0;
}

static int yaml_name(const struct dirent *e)
{
	size_t n = strlen(e->d_name);
	return e->d_name[0] != '.' && n > 5 && !strcmp(e->d_name + n - 5, ".yaml");
}

int fault_catalog_load(const char *dir, const struct rules *rules, struct fault_catalog **out,
		       struct ac_error *err)
{
	struct fault_catalog *c = calloc(1, sizeof *c);
	struct dirent **names = NULL;
	int n, rc = 0;

	if (!c)
		return ac_error_set(err, AC_ENOMEM, "oom", "out of memory");
	n = scandir(dir, &names, yaml_name, alphasort);
	if (n < 0) {
		free(c);
		return ac_error_set(err, AC_EIO, "read", "%s: %s", dir, strerror(errno));
	}
	for (int i = 0; i < n; i++) {
		char path[PATH_MAX];
		snprintf(path, sizeof path, "%s/%s", dir, names[i]->d_name);
		if (!rc)
			rc = load_file(c, path, dir, rules, err);
		free(names[i]);
	}
	free(names);
	if (!rc && !c->n)
		rc = ac_error_set(err, AC_ENOTFOUND, "no_faults", "%s: no faults (*.yaml) found", dir);
	if (rc) {
		fault_catalog_free(c);
		return rc;
	}
	*out = c;
	return 0;
}

void fault_catalog_free(struct fault_catalog *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++)
		free_fault(&c->items[i]);
	free(c->items);
	free(c);
}

size_t fault_catalog_count(const struct fault_catalog *c)
{
	return c->n;
}

const struct fault *fault_catalog_get(const struct fault_catalog *c, size_t i)
{
	return i < c->n ? &c->items[i] : NULL;
}

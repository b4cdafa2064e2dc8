/*
 * bp_normalize.c — every blueprint dialect reduced to the one model of blueprint.h.
 *
 * Walks the YAML tree top-down: schema_version (healed / lifted), metadata, schemas, policy,
 * then the system with its components and bindings. Each known mapping is checked against a
 * key table (struct cat_key, the same shape the catalog uses for component configs), so type,
 * range and choice errors and defaults are handled by one function, check_map(). Components
 * get their ports (declared lists, a `ports` map, or the catalog defaults) and network ports;
 * bindings in all four forms become one record per target. Names are resolved later, in
 * bp_validate.c, once every component is known.
 */
#include "core/common.h"
#include "generator/bp_int.h"
#include "generator/runtime/expr.h"

#include <ctype.h>
#include <math.h>
#include <strings.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

/* ---- key tables for the non-component mappings ----------------------------------------- */

#define KEY(n, t, d) { .name = n, .type = t, .def = d }
#define RANGE(n, t, d, lo, hi) { .name = n, .type = t, .def = d, .ranged = true, .min = lo, .max = hi }
#define ENUM(n, d, ch) { .name = n, .type = CAT_ENUM, .def = d, .choices = ch }
#define OBJ(n, d, f) { .name = n, .type = CAT_OBJECT, .def = d, .fields = f }
#define OPEN(n, d) { .name = n, .type = CAT_OBJECT, .def = d, .open = true }
#define END { .name = NULL }

static const char *const environments[] = { "development", "staging", "production", NULL };
static const char *const log_levels[] = { "debug", "info", "warning", "error", "critical", NULL };
static const char *const log_formats[] = { "json", "text", NULL };
static const char *const platforms[] = { "local", "docker", "kubernetes", NULL };
static const char *const strategies[] = { "retry", "dead_letter", "ignore", NULL };
static const char *const guarantees[] = { "at_least_once", "at_most_once", "exactly_once", NULL };
static const char *const modes[] = { "stream", "batch", "hybrid", NULL };
static const char *const protocols[] = { "HTTP", "WebSocket", "TCP", NULL };
static const char *const schema_types[] = { "object", "array", "string", "number", "integer",
					    "boolean", "null", NULL };

static const struct cat_key timeouts_keys[] = {
	RANGE("startup_timeout_ms", CAT_INT, "30000", 0, 3600000),
	RANGE("shutdown_timeout_ms", CAT_INT, "10000", 0, 3600000),
	RANGE("health_check_timeout_ms", CAT_INT, "5000", 0, 3600000),
	END,
};
static const struct cat_key logging_keys[] = {
	ENUM("level", "\"info\"", log_levels),
	ENUM("format", "\"json\"", log_formats),
	END,
};
static const struct cat_key configuration_keys[] = {
	ENUM("environment", "\"development\"", environments),
	OBJ("timeouts", "{}", timeouts_keys),
	OBJ("logging", "{}", logging_keys),
	END,
};
static const struct cat_key scaling_keys[] = {
	RANGE("min_instances", CAT_INT, "1", 0, 10000),
	RANGE("max_instances", CAT_INT, "10", 1, 10000),
	KEY("auto_scaling", CAT_BOOL, "false"),
	{ .name = "metrics", .type = CAT_LIST, .def = "[]" },
	END,
};
static const struct cat_key networking_keys[] = {
	{ .name = "expose_ports", .type = CAT_LIST, .def = "[]" },
	END,
};
static const struct cat_key deployment_keys[] = {
	ENUM("platform", "\"local\"", platforms),
	OBJ("scaling", "{}", scaling_keys),
	OBJ("networking", "{}", networking_keys),
	END,
};
static const struct cat_key resource_limit_keys[] = {
	KEY("max_memory_per_component", CAT_STRING, "\"512Mi\""),
	KEY("max_cpu_per_component", CAT_STRING, "\"500m\""),
	END,
};
static const struct cat_key policy_keys[] = {
	OPEN("security", NULL),
	OBJ("resource_limits", "{}", resource_limit_keys),
	OPEN("slos", NULL),
	END,
};
static const struct cat_key error_handling_keys[] = {
	ENUM("strategy", "\"retry\"", strategies),
	RANGE("retry_count", CAT_INT, "3", 0, 100),
	RANGE("timeout_ms", CAT_INT, "5000", 1, 3600000),
	KEY("dead_letter_file", CAT_STRING, NULL),
	END,
};
static const struct cat_key qos_keys[] = {
	ENUM("delivery_guarantee", "\"at_least_once\"", guarantees),
	KEY("ordering", CAT_ANY, "null"),
	RANGE("buffering", CAT_INT, "1000", 1, 10000000),
	END,
};
static const struct cat_key health_keys[] = {
	KEY("endpoint", CAT_STRING, "\"/health\""),
	OPEN("interval", NULL),
	END,
};
static const struct cat_key observability_keys[] = {
	ENUM("level", "\"info\"", log_levels),
	OBJ("health_checks", "{}", health_keys),
	{ .name = "custom_metrics", .type = CAT_LIST, .def = "[]" },
	END,
};
static const struct cat_key net_port_keys[] = {
	{ .name = "port", .type = CAT_PORT, .required = true },
	ENUM("protocol", NULL, protocols),
	KEY("public", CAT_BOOL, NULL),
	END,
};
static const struct cat_key database_keys[] = {
	KEY("type", CAT_STRING, "\"sqlite\""),
	KEY("connection_string", CAT_STRING, NULL),
	RANGE("pool_size", CAT_INT, "10", 1, 1000),
	END,
};

static const char *const top_known[] = { "schema_version", "system", "metadata", "schemas",
					 "policy", "bindings", "component", NULL };
static const char *const metadata_known[] = { "version", "author", "description", "tags",
					      "created", "autocoder_version", "schema_version",
					      "natural_language_description", "name", NULL };
static const char *const system_known[] = { "name", "description", "version", "components",
					    "bindings", "configuration", "deployment",
					    "validation", "schema_version", NULL };
static const char *const component_known[] = { "name", "type", "description",
					       "processing_mode", "config", "configuration",
					       "inputs", "outputs", "ports", "resources",
					       "observability", NULL };
static const char *const binding_known[] = { "from", "to", "from_component", "from_port",
					     "to_component", "to_port", "to_components",
					     "to_ports", "condition", "transformation",
					     "error_handling", "qos", "description", NULL };
static const char *const port_known[] = { "name", "schema", "required", "description",
					  "data_schema", "semantic_class", "direction", NULL };
static const char *const schema_known[] = { "type", "properties", "required", "items",
					    "format", "minimum", "maximum", "pattern",
					    "description", "enum", "default", "title",
					    "additionalProperties", "minLength", "maxLength",
					    "minItems", "maxItems", NULL };

static bool in_list(const char *const *list, const char *s)
{
	for (; s && *list; list++)
		if (!strcmp(*list, s))
			return true;
	return false;
}

static bool oom(json_t *v)
{
	return v == NULL;
}

/* Copy the entries of map that `known` does not list into obj, reporting each as ignored. */
static void keep_unknown(struct bp_ctx *c, const struct ynode *map, const char *const *known,
			 const char *where, json_t *obj)
{
	map = yderef(map);
	if (!map || map->kind != Y_MAP)
		return;
	for (size_t i = 0; i + 1 < map->n; i += 2) {
		const char *k = ystr(map->kids[i]);
		json_t *v;
		if (!k || in_list(known, k) || json_object_get(obj, k))
			continue;
		bp_ignored(c, where, map->kids[i]);
		v = yto_json(map->kids[i + 1], &c->budget);
		if (v)
			json_object_set_new(obj, k, v);
	}
}

/* ---- values ---------------------------------------------------------------------------- */

/* Where an error at 1-based column ecol of an expression written in scalar node n lies in the
 * file. Exact for plain and single-line quoted scalars; block scalars map to the right line. */
static void expr_position(const struct ynode *key, const struct ynode *n, int ecol, int *line,
			  int *col)
{
	n = yderef(n);
	if (n->block) {
		int nl = 0, start = 0;
		for (int i = 0; i < ecol - 1 && n->text[i]; i++)
			if (n->text[i] == '\n') {
				nl++;
				start = i + 1;
			}
		*line = n->line + 1 + nl;
		*col = (key ? key->col : n->col) + 2 + (ecol - 1 - start);
		return;
	}
	*line = n->line;
	*col = n->col + (n->plain ? 0 : 1) + ecol - 1;
}

/* Compile an expression at node n (key: its key node, for block scalars). */
static json_t *check_expr(struct bp_ctx *c, const struct ynode *key, const struct ynode *n,
			  const char *what)
{
	struct expr *e = NULL;
	char msg[256];
	int ecol = 0, line, col;
	const char *src = ystr(n);

	if (!src || yis_null(n)) {
		bp_error(c, yderef(n), "write the expression as a string, e.g. \"amount > 1000\"",
			 "%s must be an expression string, found %s", what, ytype_name(n));
		return NULL;
	}
	if (expr_compile(src, &e, msg, sizeof msg, &ecol) != 0) {
		expr_position(key, n, ecol, &line, &col);
		bp_error_at(c, line, col,
			    "expressions use field paths, literals, == != < <= > >=, and/or/not, in, "
			    "contains, matches",
			    "invalid expression in %s: %s", what, msg);
		return NULL;
	}
	expr_free(e);
	return json_string(src);
}

/* Parse a port value: 8080, "8080", "${API_PORT:-8080}". Returns 0 and fills port/env (env
 * is a new string or NULL), or -1 after reporting. */
static int parse_port(struct bp_ctx *c, const struct ynode *n, const char *what, long *port,
		      char **env)
{
	long long v;
	const char *s = ystr(n), *p;
	char *end;

	*env = NULL;
	n = yderef(n);
	if (yas_int(n, &v) || (s && !n->plain && s[0] >= '0' && s[0] <= '9' &&
			       (v = strtoll(s, &end, 10), *end == '\0'))) {
		if (v < 1 || v > 65535) {
			bp_error(c, n, "ports are 1-65535", "%s is %lld, not a valid TCP port", what, v);
			return -1;
		}
		*port = (long)v;
		return 0;
	}
	if (!s || strncmp(s, "${", 2) != 0) {
		bp_error(c, n, "write a number like 8080 or \"${API_PORT:-8080}\"",
			 "%s must be a port number, found %s", what, ytype_name(n));
		return -1;
	}
	p = s + 2;
	if (!(isalpha((unsigned char)*p) || *p == '_'))
		goto bad;
	while (isalnum((unsigned char)*p) || *p == '_')
		p++;
	if (*p == '}') {
		bp_error(c, n, NULL, "%s '%s' has no default value", what, s);
		return -1;
	}
	if (strncmp(p, ":-", 2) != 0 && *p != '-')
		goto bad;
	*env = strndup(s + 2, (size_t)(p - (s + 2)));
	p += *p == ':' ? 2 : 1;
	v = strtoll(p, &end, 10);
	if (end == p || strcmp(end, "}") != 0 || v < 1 || v > 65535) {
		free(*env);
		*env = NULL;
		bp_error(c, n, "the default after ':-' must be a port 1-65535",
			 "%s '%s' has no valid default port", what, s);
		return -1;
	}
	*port = (long)v;
	return 0;
bad:
	bp_error(c, n, "write \"${VARIABLE:-8080}\"", "%s '%s' is not a valid port expression",
		 what, s);
	return -1;
}

/* Where a checked mapping sits, for messages: `what 'prefix.key' owner` reads like
 * "config 'output.type' of component 'sink'"; `where` classifies it for ignored-field notes;
 * `cname` replaces "<name>" in defaults. */
struct site {
	const char *what, *prefix, *owner, *where, *cname;
};

static json_t *check_map(struct bp_ctx *c, const struct ynode *map, const struct ynode *alt,
			 const struct cat_key *keys, bool open, const struct site *st);

/* The label of key `name` at st: "config 'output.type' of component 'sink'". */
static void site_label(const struct site *st, const char *name, char *buf, size_t n)
{
	snprintf(buf, n, "%s%s'%s%s'%s", st->what, *st->what ? " " : "", st->prefix, name,
		 st->owner);
}

/* The site one level down (object field or list item). */
static struct site site_child(const struct site *st, const char *name, long item, char *buf,
			      size_t n)
{
	struct site sub = *st;
	if (item >= 0)
		snprintf(buf, n, "%s%s[%ld].", st->prefix, name, item);
	else
		snprintf(buf, n, "%s%s.", st->prefix, name);
	sub.prefix = buf;
	return sub;
}

static json_t *check_enum(struct bp_ctx *c, const struct ynode *v, const struct cat_key *k,
			  const char *label)
{
	const char *s = ystr(v);
	char hint[200], list[200] = "";
	size_t off = 0;

	if (s && in_list(k->choices, s))
		return json_string(s);
	for (const char *const *ch = k->choices; s && *ch; ch++) {
		if (!strcasecmp(*ch, s) ||
		    (!strcasecmp(*ch, "warning") && !strcasecmp(s, "warn"))) {
			bp_heal(c, yderef(v), NULL, "%s '%s' healed to '%s'", label, s, *ch);
			return json_string(*ch);
		}
	}
	for (const char *const *ch = k->choices; *ch; ch++)
		off += (size_t)snprintf(list + off, off < sizeof list ? sizeof list - off : 0, "%s%s",
					ch == k->choices ? "" : ", ", *ch);
	bp_error(c, yderef(v), s ? bp_suggest(s, k->choices, NULL, hint, sizeof hint) : NULL,
		 "%s must be one of %s; found %s%s%s%s", label, list, s ? "'" : "",
		 s ? s : ytype_name(v), s ? "'" : "", "");
	return NULL;
}

static json_t *check_number(struct bp_ctx *c, const struct ynode *v, const struct cat_key *k,
			    const char *label)
{
	double d;
	long long i;
	bool is_int = yas_int(v, &i);

	if (!is_int && !yas_number(v, &d)) {
		bp_error(c, yderef(v), NULL, "%s must be %s, found %s%s%s%s", label,
			 k->type == CAT_INT ? "an integer" : "a number", ytype_name(v),
			 ystr(v) ? " '" : "", ystr(v) ? ystr(v) : "", ystr(v) ? "'" : "");
		return NULL;
	}
	if (is_int)
		d = (double)i;
	if (k->type == CAT_INT && !is_int) {
		if (d != floor(d) || fabs(d) > 9e15) {
			bp_error(c, yderef(v), NULL, "%s must be an integer, found %s", label,
				 ystr(v));
			return NULL;
		}
		i = (long long)d;
		is_int = true;
	}
	if (k->ranged && (d < k->min || d > k->max)) {
		bp_error(c, yderef(v), NULL, "%s is %s, out of range %g to %g", label, ystr(v),
			 k->min, k->max);
		return NULL;
	}
	return is_int ? json_integer(i) : json_real(d);
}

static json_t *check_list(struct bp_ctx *c, const struct ynode *v, const struct cat_key *k,
			  const char *label, const struct site *st)
{
	json_t *arr;
	const struct ynode *l = yderef(v);

	if (yis_scalar(l) && !yis_null(l) && !k->fields) {
		bp_heal(c, l, NULL, "%s should be a list; using [%s]", label, ystr(l));
		arr = json_array();
		if (arr)
			json_array_append_new(arr, yto_json(l, &c->budget));
		return arr;
	}
	if (!yis_seq(l)) {
		bp_error(c, l, NULL, "%s must be a list, found %s", label, ytype_name(l));
		return NULL;
	}
	arr = json_array();
	for (size_t i = 0; arr && i < l->n; i++) {
		json_t *item;
		char prefix[300];
		if (k->fields) {
			struct site sub = site_child(st, k->name, (long)i + 1, prefix, sizeof prefix);
			item = check_map(c, l->kids[i], NULL, k->fields, false, &sub);
		} else {
			item = yto_json(l->kids[i], &c->budget);
		}
		if (item)
			json_array_append_new(arr, item);
	}
	return arr;
}

/* Check one value against its key description; NULL after reporting an error. */
static json_t *check_value(struct bp_ctx *c, const struct ynode *key, const struct ynode *v,
			   const struct cat_key *k, const struct site *st)
{
	bool b;
	long port;
	char *env = NULL, label[400], prefix[300];
	struct site sub;

	site_label(st, k->name, label, sizeof label);
	switch (k->type) {
	case CAT_INT:
	case CAT_NUMBER:
		return check_number(c, v, k, label);
	case CAT_BOOL:
		if (yas_bool(v, &b))
			return json_boolean(b);
		bp_error(c, yderef(v), NULL, "%s must be true or false, found %s", label,
			 ytype_name(v));
		return NULL;
	case CAT_STRING:
		if (yis_null(v))
			return json_null();
		if (!yis_scalar(v)) {
			bp_error(c, yderef(v), NULL, "%s must be a string, found %s", label,
				 ytype_name(v));
			return NULL;
		}
		return json_string(ystr(v));
	case CAT_ENUM:
		return check_enum(c, v, k, label);
	case CAT_EXPR:
		return check_expr(c, key, v, label);
	case CAT_PORT:
		if (parse_port(c, v, label, &port, &env))
			return NULL;
		free(env);
		return json_integer(port);
	case CAT_LIST:
		return check_list(c, v, k, label, st);
	case CAT_OBJECT:
		if (!k->fields && !yis_null(v))
			goto any;
		sub = site_child(st, k->name, -1, prefix, sizeof prefix);
		return check_map(c, yis_null(v) ? NULL : v, NULL, k->fields, k->open, &sub);
	case CAT_ANY:
	any:
		if (k->type == CAT_OBJECT && !yis_map(v)) {
			bp_error(c, yderef(v), NULL, "%s must be a mapping, found %s", label,
				 ytype_name(v));
			return NULL;
		}
		return yto_json(v, &c->budget);
	}
	return NULL;
}

/*
 * Check a mapping against keys and fill defaults. map may be NULL (all defaults); alt is a
 * second mapping consulted for keys map lacks (config over configuration). what + owner name
 * the mapping in messages ("config" + " of component 'api'"); where classifies it for the
 * once-only ignored-field notes. Returns a new object (keys in table order, then unknown keys)
 * or NULL when map is not a mapping.
 */
static json_t *check_map(struct bp_ctx *c, const struct ynode *map, const struct ynode *alt,
			 const struct cat_key *keys, bool open, const struct site *st)
{
	json_t *obj;
	const struct ynode *srcs[2] = { yderef(map), yderef(alt) };
	char self[400];

	if (*st->prefix)
		snprintf(self, sizeof self, "%s%s'%.*s'%s", st->what, *st->what ? " " : "",
			 (int)strlen(st->prefix) - 1, st->prefix, st->owner);
	else
		snprintf(self, sizeof self, "%s%s", st->what, st->owner);
	for (int s = 0; s < 2; s++) {
		if (srcs[s] && !yis_null(srcs[s]) && srcs[s]->kind != Y_MAP) {
			bp_error(c, srcs[s], NULL, "%s must be a mapping, found %s", self,
				 ytype_name(srcs[s]));
			return NULL;
		}
	}
	obj = json_object();
	for (const struct cat_key *k = keys; obj && k && k->name; k++) {
		const struct ynode *v = NULL, *kn = NULL;
		json_t *val = NULL;
		char prefix[300];
		for (int s = 0; s < 2 && !v; s++) {
			v = yget(srcs[s], k->name);
			kn = ygetkey(srcs[s], k->name);
		}
		if (v) {
			val = check_value(c, kn, v, k, st);
		} else if (k->def && k->type == CAT_OBJECT && k->fields) {
			struct site sub = site_child(st, k->name, -1, prefix, sizeof prefix);
			val = check_map(c, NULL, NULL, k->fields, k->open, &sub);
		} else if (k->def) {
			val = catalog_default(k, st->cname);
		} else if (k->required) {
			bp_error(c, srcs[0] ? srcs[0] : NULL, NULL, "%s has no '%s'", self, k->name);
		}
		if (val)
			json_object_set_new(obj, k->name, val);
	}
	for (int s = 0; s < 2 && obj; s++) {
		const struct ynode *m = srcs[s];
		for (size_t i = 0; m && m->kind == Y_MAP && i + 1 < m->n; i += 2) {
			const char *k = ystr(m->kids[i]);
			json_t *val;
			if (!k || catalog_key(keys, k) || json_object_get(obj, k))
				continue;
			if (!open)
				bp_ignored(c, st->where, m->kids[i]);
			val = yto_json(m->kids[i + 1], &c->budget);
			if (val)
				json_object_set_new(obj, k, val);
		}
	}
	return obj;
}

/* ---- versions -------------------------------------------------------------------------- */

/* "1.0" -> "1.0.0", "v2" -> "2.0.0"; out >= 64 bytes. Returns 0 exact, 1 healed, -1 bad. */
static int semver(const char *s, char *out, size_t n)
{
	long parts[3] = { 0, 0, 0 };
	int count = 0;
	const char *p = s, *suffix;
	int healed = 0;

	if (*p == 'v' || *p == 'V') {
		p++;
		healed = 1;
	}
	while (count < 3) {
		char *end;
		if (!isdigit((unsigned char)*p))
			return -1;
		parts[count++] = strtol(p, &end, 10);
		p = end;
		if (*p != '.')
			break;
		p++;
	}
	suffix = p;
	if (*suffix && *suffix != '-' && *suffix != '+')
		return -1;
	if (count < 3)
		healed = 1;
	snprintf(out, n, "%ld.%ld.%ld%s", parts[0], parts[1], parts[2], suffix);
	return healed;
}

/* A version field: a string x.y.z, healed from "1.0", 1.0 or 1. */
static json_t *norm_version(struct bp_ctx *c, const struct ynode *n, const char *what)
{
	char v[96];
	const char *s = ystr(n);
	int r;

	if (!s || yis_null(n)) {
		bp_error(c, yderef(n), "write a version like \"1.0.0\"",
			 "%s must be a version string, found %s", what, ytype_name(n));
		return NULL;
	}
	if (strlen(s) > 60 || (r = semver(s, v, sizeof v)) < 0) {
		bp_error(c, yderef(n), "versions are MAJOR.MINOR.PATCH, e.g. \"1.0.0\"",
			 "%s '%s' is not a version", what, s);
		return NULL;
	}
	if (r)
		bp_heal(c, yderef(n), NULL, "%s '%s' healed to '%s'", what, s, v);
	return json_string(v);
}

static json_t *norm_schema_version(struct bp_ctx *c, const struct ynode *root)
{
	const struct ynode *sv = yget(root, "schema_version");
	const char *places[] = { "metadata", "system" };

	for (size_t i = 0; !sv && i < 2; i++) {
		sv = yget(yget(root, places[i]), "schema_version");
		if (sv)
			bp_heal(c, ygetkey(yget(root, places[i]), "schema_version"), NULL,
				"schema_version found under '%s:'; lifted to the top level", places[i]);
	}
	if (!sv) {
		bp_heal(c, yderef(root), "add schema_version: \"1.0.0\" at the top",
			"blueprint has no schema_version; assuming \"1.0.0\"");
		return json_string("1.0.0");
	}
	return norm_version(c, sv, "schema_version");
}

/* ---- schemas --------------------------------------------------------------------------- */

static void check_schema(struct bp_ctx *c, const struct ynode *s, const char *name, int depth)
{
	const struct ynode *t, *props, *items, *req, *pat;
	char hint[120];

	s = yderef(s);
	if (!yis_map(s)) {
		bp_error(c, s, NULL, "schema '%s' must be a mapping, found %s", name, ytype_name(s));
		return;
	}
	if (depth > 16)
		return;
	t = yget(s, "type");
	if (t && !in_list(schema_types, ystr(t)))
		bp_error(c, t, ystr(t) ? bp_suggest(ystr(t), schema_types, NULL, hint, sizeof hint) : NULL,
			 "schema '%s' has unknown type '%s' (types: object, array, string, number, "
			 "integer, boolean, null)", name, ystr(t) ? ystr(t) : ytype_name(t));
	props = yget(s, "properties");
	if (props && !yis_map(props))
		bp_error(c, props, NULL, "properties of schema '%s' must be a mapping", name);
	for (size_t i = 0; yis_map(props) && i + 1 < props->n; i += 2)
		check_schema(c, props->kids[i + 1], name, depth + 1);
	items = yget(s, "items");
	if (items)
		check_schema(c, items, name, depth + 1);
	req = yget(s, "required");
	if (req && !yis_seq(req) && !yis_scalar(req))
		bp_error(c, req, NULL, "required of schema '%s' must be a list of field names", name);
	for (size_t i = 0; yis_seq(req) && i < req->n; i++) {
		const char *f = ystr(req->kids[i]);
		if (yis_map(props) && f && !yget(props, f))
			bp_warn(c, yderef(req->kids[i]), NULL,
				"schema '%s' requires '%s', which is not among its properties", name, f);
	}
	pat = yget(s, "pattern");
	if (pat && ystr(pat)) {
		int code;
		PCRE2_SIZE off;
		pcre2_code *re = pcre2_compile((PCRE2_SPTR)ystr(pat), PCRE2_ZERO_TERMINATED, PCRE2_UTF,
					       &code, &off, NULL);
		if (!re) {
			PCRE2_UCHAR msg[160];
			pcre2_get_error_message(code, msg, sizeof msg);
			bp_error(c, pat, NULL, "pattern of schema '%s' is not a valid regex: %s", name,
				 (const char *)msg);
		}
		pcre2_code_free(re);
	}
	for (size_t i = 0; i + 1 < s->n; i += 2)
		if (ystr(s->kids[i]) && !in_list(schema_known, ystr(s->kids[i])))
			bp_ignored(c, "a schema", s->kids[i]);
}

static json_t *norm_schemas(struct bp_ctx *c, const struct ynode *root)
{
	const struct ynode *s = yget(root, "schemas");

	if (!s || yis_null(s))
		return json_object();
	if (!yis_map(s)) {
		bp_error(c, s, NULL, "schemas must be a mapping of name to schema, found %s",
			 ytype_name(s));
		return json_object();
	}
	for (size_t i = 0; i + 1 < s->n; i += 2)
		check_schema(c, s->kids[i + 1], ystr(s->kids[i]) ? ystr(s->kids[i]) : "?", 0);
	return yto_json(s, &c->budget);
}

/* ---- ports ----------------------------------------------------------------------------- */

static json_t *find_port(json_t *list, const char *name)
{
	size_t i;
	json_t *p;

	json_array_foreach(list, i, p)
		if (!strcmp(json_string_value(json_object_get(p, "name")), name))
			return p;
	return NULL;
}

static json_t *port_obj(const char *name, json_t *schema, bool required, const char *desc)
{
	return json_pack("{s:s, s:o, s:b, s:s}", "name", name, "schema",
			 schema ? schema : json_null(), "required", required, "description",
			 desc ? desc : "");
}

/* A port's name: must be an identifier; other spellings heal to snake_case. */
static const char *port_name(struct bp_ctx *c, const struct ynode *n, const char *cname,
			     char *buf, size_t len)
{
	const char *s = ystr(n);
	char *snake;

	if (!s || yis_null(n)) {
		bp_error(c, yderef(n), NULL, "port of component '%s' needs a name", cname);
		return NULL;
	}
	if (bp_is_snake_case(s))
		return s;
	snake = bp_snake_case(s);
	if (!snake) {
		bp_error(c, yderef(n), "port names are letters, digits and '_'",
			 "port name '%s' of component '%s' is not usable", s, cname);
		return NULL;
	}
	bp_heal(c, yderef(n), "bindings that name the old spelling follow",
		"port name '%s' of component '%s' healed to '%s'", s, cname, snake);
	snprintf(buf, len, "%s", snake);
	free(snake);
	return buf;
}

static json_t *schema_ref(struct bp_ctx *c, const struct ynode *s, const char *pname,
			  const char *cname)
{
	char hint[200];
	json_t *schemas = json_object_get(c->model, "schemas");
	const char *key;
	json_t *v, *names;

	if (!s || yis_null(s))
		return json_null();
	if (!yis_scalar(s))
		return yto_json(s, &c->budget);
	if (json_object_get(schemas, ystr(s)))
		return json_string(ystr(s));
	names = json_array();
	json_object_foreach(schemas, key, v)
		json_array_append_new(names, json_string(key));
	bp_error(c, yderef(s), bp_suggest(ystr(s), NULL, names, hint, sizeof hint),
		 "port '%s' of component '%s' uses unknown schema '%s'", pname, cname, ystr(s));
	json_decref(names);
	return json_null();
}

/* Add one declared port (a name, or a mapping with name/schema/...) to list. */
static void add_declared_port(struct bp_ctx *c, json_t *list, const struct ynode *item,
			      const struct ynode *name_node, const char *dir, const char *cname)
{
	char buf[80];
	const struct ynode *m = yis_map(item) ? yderef(item) : NULL;
	const struct ynode *nn = name_node ? name_node : m ? yget(m, "name") : item;
	const char *name = port_name(c, nn, cname, buf, sizeof buf);
	const struct ynode *schema = m ? yget(m, "schema") : NULL;
	bool required = true;
	json_t *p;

	if (!name)
		return;
	if (find_port(list, name)) {
		bp_error(c, yderef(nn), NULL, "duplicate %s port '%s' in component '%s'", dir, name,
			 cname);
		return;
	}
	if (m && !schema)
		schema = yget(m, "data_schema");
	if (m && yget(m, "required") && !yas_bool(yget(m, "required"), &required))
		bp_error(c, yget(m, "required"), NULL, "'required' of port '%s' must be true or false",
			 name);
	p = port_obj(name, schema_ref(c, schema, name, cname), required,
		     m ? ystr(yget(m, "description")) : NULL);
	if (p && m && ystr(yget(m, "semantic_class")))
		json_object_set_new(p, "semantic_class", json_string(ystr(yget(m, "semantic_class"))));
	if (m)
		keep_unknown(c, m, port_known, "a port", p);
	if (p)
		json_array_append_new(list, p);
}

static void norm_port_list(struct bp_ctx *c, const struct ynode *l, json_t *list, const char *dir,
			   const char *cname)
{
	l = yderef(l);
	if (!l || yis_null(l))
		return;
	if (yis_map(l)) {
		/* inputs: {name: {schema: ...}} */
		for (size_t i = 0; i + 1 < l->n; i += 2)
			add_declared_port(c, list, l->kids[i + 1], l->kids[i], dir, cname);
		return;
	}
	if (!yis_seq(l)) {
		bp_error(c, l, NULL, "%ss of component '%s' must be a list, found %s", dir, cname,
			 ytype_name(l));
		return;
	}
	for (size_t i = 0; i < l->n; i++)
		add_declared_port(c, list, l->kids[i], NULL, dir, cname);
}

/* The `ports:` map dialect: name -> {direction, data_schema, semantic_class}. */
static void norm_ports_map(struct bp_ctx *c, const struct ynode *pm, const struct cat_type *t,
			   json_t *ins, json_t *outs, const char *cname)
{
	pm = yderef(pm);
	if (!pm || yis_null(pm))
		return;
	if (!yis_map(pm)) {
		bp_error(c, pm, "write ports: {name: {direction: input}}",
			 "ports of component '%s' must be a mapping, found %s", cname, ytype_name(pm));
		return;
	}
	for (size_t i = 0; i + 1 < pm->n; i += 2) {
		const struct ynode *d = yget(pm->kids[i + 1], "direction");
		const char *dir = ystr(d), *name = ystr(pm->kids[i]);
		bool in = false, known = false;
		if (dir && (!strcasecmp(dir, "input") || !strcasecmp(dir, "in")))
			in = known = true;
		else if (dir && (!strcasecmp(dir, "output") || !strcasecmp(dir, "out")))
			known = true;
		else if (!dir && t && name) {
			for (const struct cat_port *p = t->inputs; p->name; p++)
				if (!strcmp(p->name, name))
					in = known = true;
			for (const struct cat_port *p = t->outputs; p->name; p++)
				if (!strcmp(p->name, name))
					known = true;
		}
		if (!known) {
			bp_error(c, d ? yderef(d) : yderef(pm->kids[i]), NULL,
				 "port '%s' of component '%s' needs 'direction: input' or "
				 "'direction: output'", name ? name : "?", cname);
			continue;
		}
		add_declared_port(c, in ? ins : outs, pm->kids[i + 1], pm->kids[i],
				  in ? "input" : "output", cname);
	}
}

static void add_default_ports(json_t *list, const struct cat_port *ports, const char *skip)
{
	for (const struct cat_port *p = ports; p->name; p++)
		if (!(skip && !strcmp(p->name, skip)) && !find_port(list, p->name))
			json_array_append_new(list, port_obj(p->name, NULL, true, ""));
}

/* Router: every destination and the default route are outputs too. */
static void add_router_outputs(json_t *outs, json_t *config)
{
	size_t i;
	json_t *rule;
	const char *def = json_string_value(json_object_get(config, "default_route"));

	json_array_foreach(json_object_get(config, "routing_rules"), i, rule) {
		const char *d = json_string_value(json_object_get(rule, "destination"));
		if (d && *d && !find_port(outs, d))
			json_array_append_new(outs, port_obj(d, NULL, true, ""));
	}
	if (def && *def && !find_port(outs, def))
		json_array_append_new(outs, port_obj(def, NULL, true, ""));
}

/* ---- components ------------------------------------------------------------------------ */

static const char *comp_name(struct bp_ctx *c, const struct ynode *m, size_t idx, char *buf,
			     size_t len)
{
	const struct ynode *n = yget(m, "name");
	const char *s = ystr(n);
	char *snake;

	if (!s || yis_null(n) || !*s) {
		bp_error(c, n ? yderef(n) : yderef(m), "every component needs name: <snake_case>",
			 "component %zu has no name", idx + 1);
		snprintf(buf, len, "component_%zu", idx + 1);
		return buf;
	}
	if (bp_is_snake_case(s))
		return s;
	snake = bp_snake_case(s);
	if (!snake) {
		bp_error(c, yderef(n), "names start with a letter; letters, digits and '_' follow",
			 "component name '%s' cannot be made snake_case", s);
		snprintf(buf, len, "component_%zu", idx + 1);
		return buf;
	}
	snprintf(buf, len, "%s", snake);
	free(snake);
	if (strcmp(buf, s)) {
		char hint[200];
		snprintf(hint, sizeof hint, "bindings that name '%s' follow the new name", s);
		bp_heal(c, yderef(n), hint, "component name '%s' healed to '%s'", s, buf);
		json_object_set_new(c->renames, s, json_string(buf));
	}
	return buf;
}

static const struct cat_type *comp_type(struct bp_ctx *c, const struct ynode *m,
					const char *cname)
{
	const struct ynode *n = yget(m, "type");
	const char *s = ystr(n);
	const struct cat_type *t;
	bool exact;
	char hint[600];

	if (!s || yis_null(n)) {
		size_t off = (size_t)snprintf(hint, sizeof hint, "types: ");
		for (size_t i = 0; i < catalog_count() && off < sizeof hint; i++)
			off += (size_t)snprintf(hint + off, sizeof hint - off, "%s%s", i ? ", " : "",
						catalog_at(i)->name);
		bp_error(c, n ? yderef(n) : yderef(m), hint, "component '%s' has no type", cname);
		return NULL;
	}
	t = catalog_find(s, &exact);
	if (t && !exact)
		bp_heal(c, yderef(n), NULL, "component type '%s' healed to '%s'", s, t->name);
	if (!t) {
		const char *sug = catalog_suggest(s);
		if (sug) {
			snprintf(hint, sizeof hint, "did you mean '%s'?", sug);
		} else {
			size_t off = (size_t)snprintf(hint, sizeof hint, "types: ");
			for (size_t i = 0; i < catalog_count() && off < sizeof hint; i++)
				off += (size_t)snprintf(hint + off, sizeof hint - off, "%s%s",
							i ? ", " : "", catalog_at(i)->name);
		}
		bp_error(c, yderef(n), hint, "unknown component type '%s' for component '%s'", s,
			 cname);
	}
	return t;
}

/* The listening port of APIEndpoint / WebSocket / an http Source, and resources.ports. */
static json_t *norm_network_ports(struct bp_ctx *c, struct bp_comp *comp, const struct ynode *m,
				  json_t *config)
{
	const struct cat_type *t = comp->type;
	const struct ynode *cfg = yget(m, "config"), *cfg2 = yget(m, "configuration");
	const struct ynode *pn = yget(cfg, "port") ? yget(cfg, "port") : yget(cfg2, "port");
	const struct ynode *rp = yget(yget(m, "resources"), "ports");
	json_t *list = json_array();
	bool wants = t && (t->listens ||
			   (t->id == CAT_SOURCE &&
			    !strcmp(json_string_value(json_object_get(
					    json_object_get(config, "generation"), "type")) ?: "",
				    "http")));
	const char *proto = t && t->id == CAT_WEBSOCKET ? "WebSocket" : "HTTP";
	long port;
	char *env = NULL;

	if (pn && parse_port(c, pn, "port", &port, &env) == 0) {
		json_array_append_new(list, json_pack("{s:i, s:s?, s:s, s:b}", "port", (json_int_t)port,
						      "env", env, "protocol", proto, "public", true));
		comp->port_node = yderef(pn);
		free(env);
	}
	if (rp && !yis_seq(rp))
		bp_error(c, yderef(rp), NULL, "resources.ports of component '%s' must be a list",
			 comp->name);
	for (size_t i = 0; yis_seq(rp) && i < yderef(rp)->n; i++) {
		const struct ynode *item = yderef(yderef(rp)->kids[i]);
		const struct ynode *pv = yis_map(item) ? yget(item, "port") : item;
		json_t *first = json_array_get(list, 0), *entry;
		bool pub = false;
		if (!pv) {
			bp_error(c, item, NULL, "resources.ports item of component '%s' has no port",
				 comp->name);
			continue;
		}
		if (parse_port(c, pv, "port", &port, &env))
			continue;
		if (first && json_integer_value(json_object_get(first, "port")) == port) {
			entry = first;
		} else {
			entry = json_pack("{s:i, s:s?, s:s, s:b}", "port", (json_int_t)port, "env", env,
					  "protocol", proto, "public", wants);
			json_array_append_new(list, entry);
			if (!comp->port_node)
				comp->port_node = yderef(pv);
		}
		free(env);
		if (yis_map(item)) {
			char owner[120];
			struct site st = { "resources.ports item", "", owner, "resources.ports",
					   comp->name };
			json_t *extra;
			snprintf(owner, sizeof owner, " of component '%s'", comp->name);
			extra = check_map(c, item, NULL, net_port_keys, false, &st);
			if (json_object_get(extra, "protocol"))
				json_object_set(entry, "protocol", json_object_get(extra, "protocol"));
			if (yas_bool(yget(item, "public"), &pub))
				json_object_set_new(entry, "public", json_boolean(pub));
			json_decref(extra);
		}
	}
	if (wants && json_array_size(list) == 0) {
		char hint[80];
		snprintf(hint, sizeof hint, "add config: {port: %d}",
			 t->id == CAT_WEBSOCKET ? 8765 : 8080);
		bp_error(c, yderef(m), hint, "component '%s' (%s) needs a port to listen on",
			 comp->name, t->name);
	}
	if (wants && json_array_size(list) > 0)
		json_object_set(config, "port", json_object_get(json_array_get(list, 0), "port"));
	return list;
}

static json_t *norm_databases(struct bp_ctx *c, struct bp_comp *comp, const struct ynode *m,
			      json_t *config)
{
	const struct ynode *dbs = yget(yget(m, "resources"), "databases");
	json_t *list = json_array();

	if (dbs && !yis_seq(dbs))
		bp_error(c, yderef(dbs), NULL, "resources.databases of component '%s' must be a list",
			 comp->name);
	for (size_t i = 0; yis_seq(dbs) && i < yderef(dbs)->n; i++) {
		char owner[120];
		struct site st = { "resources.databases item", "", owner, "resources.databases",
				   comp->name };
		json_t *db;
		snprintf(owner, sizeof owner, " of component '%s'", comp->name);
		db = check_map(c, yderef(dbs)->kids[i], NULL, database_keys, false, &st);
		if (db && json_is_null(json_object_get(db, "connection_string")))
			json_object_set(db, "connection_string", json_object_get(config, "database_url"));
		if (db)
			json_array_append_new(list, db);
	}
	if (comp->type && comp->type->id == CAT_STORE && json_array_size(list) == 0)
		json_array_append_new(list, json_pack("{s:s, s:O, s:O}", "type", "sqlite",
						      "connection_string",
						      json_object_get(config, "database_url"),
						      "pool_size", json_object_get(config, "pool_size")));
	return list;
}

static void norm_component(struct bp_ctx *c, const struct ynode *m, json_t *components)
{
	struct bp_comp *comp = &c->comps[c->ncomps];
	char namebuf[80], owner[120];
	const char *name;
	json_t *obj, *config, *ins, *outs, *v;
	const struct ynode *cfg, *cfg2;
	const struct ynode *resources;

	m = yderef(m);
	if (!yis_map(m)) {
		bp_error(c, m, "a component is a mapping with name, type and config",
			 "component %zu must be a mapping, found %s", c->ncomps + 1, ytype_name(m));
		return;
	}
	memset(comp, 0, sizeof *comp);
	comp->node = m;
	name = comp_name(c, m, c->ncomps, namebuf, sizeof namebuf);
	if (json_object_get(c->names, name)) {
		char hint[200];
		long first = (long)json_integer_value(json_object_get(c->names, name));
		snprintf(hint, sizeof hint, "the first '%s' is at line %d", name,
			 c->comps[first].node->line);
		bp_error(c, yget(m, "name") ? yget(m, "name") : m, hint,
			 "duplicate component name '%s'", name);
		return;
	}
	comp->type = comp_type(c, m, name);
	snprintf(owner, sizeof owner, " of component '%s'", name);
	obj = json_object();
	if (oom(obj))
		return;
	json_object_set_new(obj, "name", json_string(name));
	comp->name = json_string_value(json_object_get(obj, "name"));
	json_object_set_new(obj, "type",
			    json_string(comp->type ? comp->type->name : ystr(yget(m, "type")) ?: ""));
	{
		const struct ynode *d = yget(m, "description");
		json_object_set_new(obj, "description",
				    json_string(ystr(d) && !yis_null(d) ? ystr(d) : ""));
	}
	{
		static const struct cat_key pm = ENUM("processing_mode", "\"stream\"", modes);
		const struct ynode *pmn = yget(m, "processing_mode");
		struct site st = { "", "", owner, "a component", name };
		v = pmn ? check_value(c, ygetkey(m, "processing_mode"), pmn, &pm, &st)
			: json_string("stream");
		json_object_set_new(obj, "processing_mode", v ? v : json_string("stream"));
	}
	cfg = yget(m, "config");
	cfg2 = yget(m, "configuration");
	if (comp->type) {
		char where[80];
		struct site st = { "config", "", owner, where, name };
		snprintf(where, sizeof where, "the config of a %s", comp->type->name);
		config = check_map(c, cfg, cfg2, comp->type->keys, false, &st);
	} else
		config = yto_json(cfg ? cfg : cfg2, &c->budget);
	if (!json_is_object(config)) {
		json_decref(config);
		config = json_object();
	}
	json_object_set_new(obj, "config", config);
	ins = json_array();
	outs = json_array();
	norm_port_list(c, yget(m, "inputs"), ins, "input", name);
	norm_port_list(c, yget(m, "outputs"), outs, "output", name);
	norm_ports_map(c, yget(m, "ports"), comp->type, ins, outs, name);
	if (comp->type && json_array_size(ins) == 0)
		add_default_ports(ins, comp->type->inputs, NULL);
	if (comp->type && comp->type->id == CAT_ROUTER)
		add_router_outputs(outs, config);
	if (comp->type && json_array_size(outs) == 0)
		add_default_ports(outs, comp->type->outputs, comp->type->reply_port);
	json_object_set_new(obj, "inputs", ins);
	json_object_set_new(obj, "outputs", outs);
	json_object_set_new(obj, "network_ports", norm_network_ports(c, comp, m, config));
	json_object_set_new(obj, "databases", norm_databases(c, comp, m, config));
	resources = yget(m, "resources");
	if (resources && !yis_null(resources) && !yis_map(resources))
		bp_error(c, yderef(resources), NULL, "resources%s must be a mapping, found %s", owner,
			 ytype_name(resources));
	for (size_t i = 0; yis_map(resources) && i + 1 < yderef(resources)->n; i += 2) {
		const char *k = ystr(yderef(resources)->kids[i]);
		if (k && strcmp(k, "ports") && strcmp(k, "databases"))
			bp_ignored(c, "resources", yderef(resources)->kids[i]);
	}
	{
		struct site st = { "observability", "", owner, "observability", name };
		v = check_map(c, yget(m, "observability"), NULL, observability_keys, false, &st);
	}
	json_object_set_new(obj, "observability", v ? v : json_object());
	keep_unknown(c, m, component_known, "a component", obj);
	json_object_set_new(c->names, name, json_integer((json_int_t)c->ncomps));
	comp->obj = obj;
	json_array_append_new(components, obj);
	c->ncomps++;
}

/* ---- bindings -------------------------------------------------------------------------- */

/* An endpoint: "comp.port", "comp", or {component, output|input|port}. */
static int parse_endpoint(struct bp_ctx *c, const struct ynode *n, bool from, const char **comp,
			  const char **port)
{
	const char *s;
	const struct ynode *m = yderef(n);

	*comp = *port = NULL;
	if (yis_map(m)) {
		const struct ynode *p = yget(m, from ? "output" : "input");
		if (!p)
			p = yget(m, "port");
		*comp = ystr(yget(m, "component"));
		*port = p && !yis_null(p) ? ystr(p) : NULL;
		if (!*comp) {
			bp_error(c, m, "write {component: name, port: name}",
				 "binding %s has no 'component'", from ? "source" : "target");
			return -1;
		}
		return 0;
	}
	s = ystr(m);
	if (!s || yis_null(m) || !*s) {
		bp_error(c, m, "write \"component.port\"", "binding %s must be \"component.port\", found %s",
			 from ? "source" : "target", ytype_name(m));
		return -1;
	}
	if (strchr(s, '.')) {
		const char *dot = strchr(s, '.');
		*comp = bp_keep(c, s, (size_t)(dot - s));
		*port = bp_keep(c, dot + 1, strlen(dot + 1));
	} else {
		*comp = s;
	}
	return *comp ? 0 : AC_ENOMEM;
}

static int add_bind(struct bp_ctx *c, const struct bp_bind *proto)
{
	if (c->nbinds == c->capbinds) {
		size_t cap = c->capbinds ? c->capbinds * 2 : 32;
		struct bp_bind *b = realloc(c->binds, cap * sizeof *b);
		if (!b)
			return AC_ENOMEM;
		c->binds = b;
		c->capbinds = cap;
	}
	c->binds[c->nbinds++] = *proto;
	return 0;
}

/* The options shared by every target of one binding entry. */
static json_t *binding_options(struct bp_ctx *c, const struct ynode *m, const char *label)
{
	json_t *opts = json_object();
	const struct ynode *cond = yget(m, "condition"), *tr = yget(m, "transformation");
	const struct ynode *desc = yget(m, "description");
	json_t *v;

	if (cond && !yis_null(cond)) {
		char what[400];
		snprintf(what, sizeof what, "condition of binding %s", label);
		v = check_expr(c, ygetkey(m, "condition"), cond, what);
		json_object_set_new(opts, "condition", v ? v : json_null());
	} else {
		json_object_set_new(opts, "condition", json_null());
	}
	v = tr && !yis_null(tr) ? yto_json(tr, &c->budget) : NULL;
	json_object_set_new(opts, "transformation", v ? v : json_null());
	{
		char owner[400];
		snprintf(owner, sizeof owner, " of binding %s", label);
		struct site eh = { "error_handling", "", owner, "error_handling", "binding" };
		struct site qos = { "qos", "", owner, "qos", "binding" };
		v = check_map(c, yget(m, "error_handling"), NULL, error_handling_keys, false, &eh);
		json_object_set_new(opts, "error_handling", v ? v : json_object());
		v = check_map(c, yget(m, "qos"), NULL, qos_keys, false, &qos);
		json_object_set_new(opts, "qos", v ? v : json_object());
	}
	json_object_set_new(opts, "description",
			    json_string(ystr(desc) && !yis_null(desc) ? ystr(desc) : ""));
	keep_unknown(c, m, binding_known, "a binding", opts);
	return opts;
}

struct target {
	const struct ynode *node;
	const char *comp, *port;
};

/* Collect the targets of the four forms; returns their number (0 after an error). */
static size_t binding_targets(struct bp_ctx *c, const struct ynode *m, struct target *t,
			      size_t max)
{
	const struct ynode *to = yget(m, "to"), *tc = yget(m, "to_component");
	const struct ynode *tcs = yget(m, "to_components"), *tps = yget(m, "to_ports");
	size_t n = 0;

	if (to && yis_seq(to)) {
		for (size_t i = 0; i < yderef(to)->n && n < max; i++) {
			t[n].node = yderef(yderef(to)->kids[i]);
			if (parse_endpoint(c, t[n].node, false, &t[n].comp, &t[n].port) == 0)
				n++;
		}
		return n;
	}
	if (to) {
		t[0].node = yderef(to);
		return parse_endpoint(c, to, false, &t[0].comp, &t[0].port) == 0;
	}
	if (tc) {
		t[0].node = yderef(tc);
		t[0].comp = ystr(tc);
		t[0].port = yget(m, "to_port") ? ystr(yget(m, "to_port")) : NULL;
		if (!t[0].comp) {
			bp_error(c, yderef(tc), NULL, "to_component must be a component name");
			return 0;
		}
		return 1;
	}
	if (tcs) {
		size_t np = yis_seq(tps) ? yderef(tps)->n : 0;
		if (!yis_seq(tcs)) {
			bp_error(c, yderef(tcs), NULL, "to_components must be a list of names");
			return 0;
		}
		if (yis_seq(tps) && np != yderef(tcs)->n) {
			bp_error(c, yderef(tps), NULL,
				 "to_ports has %zu entries but to_components has %zu", np,
				 yderef(tcs)->n);
			return 0;
		}
		for (size_t i = 0; i < yderef(tcs)->n && n < max; i++) {
			t[n].node = yderef(yderef(tcs)->kids[i]);
			if (parse_endpoint(c, t[n].node, false, &t[n].comp, &t[n].port))
				continue;
			if (yis_seq(tps))
				t[n].port = ystr(yderef(tps)->kids[i]);
			else if (tps && yis_scalar(tps))
				t[n].port = ystr(tps);
			n++;
		}
		return n;
	}
	bp_error(c, m, "write to: \"component.port\" (or to_component / to_components)",
		 "binding has no target");
	return 0;
}

static void norm_binding(struct bp_ctx *c, const struct ynode *m, json_t *bindings)
{
	const struct ynode *from = yget(m, "from"), *fc = yget(m, "from_component");
	struct bp_bind b = { .from_comp = -1, .to_comp = -1 };
	struct target t[256];
	size_t nt;
	char label[300];
	json_t *opts;

	m = yderef(m);
	if (!yis_map(m)) {
		bp_error(c, m, "a binding is a mapping like {from: a.output, to: b.input}",
			 "binding must be a mapping, found %s", ytype_name(m));
		return;
	}
	b.node = m;
	if (from) {
		b.from_node = yderef(from);
		if (parse_endpoint(c, from, true, &b.from_ref, &b.from_port))
			return;
	} else if (fc) {
		b.from_node = yderef(fc);
		b.from_ref = ystr(fc);
		b.from_port = yget(m, "from_port") ? ystr(yget(m, "from_port")) : NULL;
		if (!b.from_ref) {
			bp_error(c, yderef(fc), NULL, "from_component must be a component name");
			return;
		}
	} else {
		bp_error(c, m, "write from: \"component.port\" (or from_component / from_port)",
			 "binding has no source");
		return;
	}
	nt = binding_targets(c, m, t, AC_ARRAY_SIZE(t));
	if (nt == 0)
		return;
	snprintf(label, sizeof label, "'%s%s%s' -> '%s%s%s'%s", b.from_ref, b.from_port ? "." : "",
		 b.from_port ? b.from_port : "", t[0].comp, t[0].port ? "." : "",
		 t[0].port ? t[0].port : "", nt > 1 ? " (fan-out)" : "");
	opts = binding_options(c, m, label);
	for (size_t i = 0; opts && i < nt; i++) {
		json_t *obj = json_pack("{s:s, s:s?, s:s, s:s?}", "from_component", b.from_ref,
					"from_port", b.from_port, "to_component", t[i].comp,
					"to_port", t[i].port);
		if (!obj)
			break;
		json_object_update(obj, opts);
		b.obj = obj;
		b.to_node = t[i].node;
		b.to_ref = t[i].comp;
		b.to_port = t[i].port;
		json_array_append_new(bindings, obj);
		add_bind(c, &b);
	}
	json_decref(opts);
}

/* ---- system ---------------------------------------------------------------------------- */

struct nodelist {
	const struct ynode *v[4096];
	size_t n;
	bool overflow;
};

static void collect(struct nodelist *l, const struct ynode *seq)
{
	seq = yderef(seq);
	for (size_t i = 0; seq && seq->kind == Y_SEQ && i < seq->n; i++) {
		if (l->n == AC_ARRAY_SIZE(l->v)) {
			l->overflow = true;
			return;
		}
		l->v[l->n++] = seq->kids[i];
	}
}

static json_t *norm_system_fields(struct bp_ctx *c, const struct ynode *sys, const char *name)
{
	json_t *obj = json_object(), *v;
	const struct ynode *d = yget(sys, "description");

	json_object_set_new(obj, "name", json_string(name));
	json_object_set_new(obj, "description", json_string(ystr(d) && !yis_null(d) ? ystr(d) : ""));
	v = yget(sys, "version") ? norm_version(c, yget(sys, "version"), "system version")
				 : json_string("1.0.0");
	json_object_set_new(obj, "version", v ? v : json_string("1.0.0"));
	struct site cfg = { "system configuration", "", "", "system configuration", name };
	struct site dep = { "deployment", "", "", "deployment", name };
	v = check_map(c, yget(sys, "configuration"), NULL, configuration_keys, false, &cfg);
	json_object_set_new(obj, "configuration", v ? v : json_object());
	v = check_map(c, yget(sys, "deployment"), NULL, deployment_keys, false, &dep);
	json_object_set_new(obj, "deployment", v ? v : json_object());
	v = yget(sys, "validation") ? yto_json(yget(sys, "validation"), &c->budget) : json_object();
	json_object_set_new(obj, "validation", v ? v : json_object());
	return obj;
}

static const char *system_name(struct bp_ctx *c, const struct ynode *sys,
			       const struct ynode *lone, char *buf, size_t len)
{
	const struct ynode *n = yget(sys, "name");
	const char *s = ystr(n);
	char *snake;

	if ((!s || yis_null(n)) && lone)
		s = ystr(yget(lone, "name")), n = yget(lone, "name");
	if (!s || yis_null(n) || !*s) {
		bp_error(c, sys ? yderef(sys) : NULL, "add name: <snake_case> under system:",
			 "system has no name");
		return "system";
	}
	if (bp_is_snake_case(s))
		return s;
	snake = bp_snake_case(s);
	if (!snake) {
		bp_error(c, yderef(n), NULL, "system name '%s' cannot be made snake_case", s);
		return "system";
	}
	snprintf(buf, len, "%s", snake);
	free(snake);
	if (!lone || sys)
		bp_heal(c, yderef(n), NULL, "system name '%s' healed to '%s'", s, buf);
	return buf;
}

static int norm_system(struct bp_ctx *c, const struct ydoc *doc, const struct ynode *root)
{
	const struct ynode *sys = yget(root, "system"), *lone = yget(root, "component");
	struct nodelist *comps = calloc(1, sizeof *comps), *binds = calloc(1, sizeof *binds);
	json_t *system, *components = json_array(), *bindings = json_array();
	char namebuf[80];
	int ret = 0;

	if (!comps || !binds || !components || !bindings) {
		ret = AC_ENOMEM;
		goto out;
	}
	if (sys && !yis_map(sys)) {
		bp_error(c, yderef(sys), NULL, "system must be a mapping, found %s", ytype_name(sys));
		goto out;
	}
	if (!sys && !lone) {
		bp_error(c, yderef(root), "a blueprint needs system: {name, components, bindings}",
			 "blueprint has no 'system'");
		goto out;
	}
	if (lone && !yis_map(lone)) {
		bp_error(c, yderef(lone), NULL, "component must be a mapping, found %s",
			 ytype_name(lone));
		goto out;
	}
	if (lone) {
		comps->v[comps->n++] = lone;
		if (!sys)
			bp_note(c, ygetkey(root, "component"), NULL,
				"a lone component document is wrapped into a one-component system");
	}
	if (sys && yget(sys, "components") && !yis_seq(yget(sys, "components")))
		bp_error(c, yderef(yget(sys, "components")), "components is a list: - name: ...",
			 "system components must be a list, found %s",
			 ytype_name(yget(sys, "components")));
	collect(comps, yget(sys, "components"));
	for (size_t i = 1; i < doc->nroots; i++) {
		const struct ynode *extra = yget(doc->roots[i], "component");
		if (extra && comps->n < AC_ARRAY_SIZE(comps->v)) {
			comps->v[comps->n++] = extra;
			bp_note(c, ygetkey(doc->roots[i], "component"), NULL,
				"component from YAML document %zu added to the system", i + 1);
		} else {
			bp_warn(c, yderef(doc->roots[i]), "a blueprint is one YAML document",
				"YAML document %zu is ignored", i + 1);
		}
	}
	if (sys && yget(sys, "bindings") && !yis_null(yget(sys, "bindings")) &&
	    !yis_seq(yget(sys, "bindings")))
		bp_error(c, yderef(yget(sys, "bindings")), NULL, "system bindings must be a list, found %s",
			 ytype_name(yget(sys, "bindings")));
	collect(binds, yget(sys, "bindings"));
	if (yget(root, "bindings")) {
		if (!yis_seq(yget(root, "bindings")))
			bp_error(c, yderef(yget(root, "bindings")), NULL, "bindings must be a list, found %s",
				 ytype_name(yget(root, "bindings")));
		else if (yderef(yget(root, "bindings"))->n)
			bp_heal(c, ygetkey(root, "bindings"), NULL,
				"top-level bindings moved into system.bindings");
		collect(binds, yget(root, "bindings"));
	}
	if (comps->overflow || binds->overflow) {
		bp_error(c, yderef(root), NULL, "blueprint has more than %zu components or bindings",
			 AC_ARRAY_SIZE(comps->v));
		goto out;
	}
	if (comps->n == 0) {
		bp_error(c, sys ? yderef(sys) : yderef(root), "add components: [- name: ..., type: ...]",
			 "system has no components");
	}
	system = norm_system_fields(c, sys, system_name(c, sys, lone, namebuf, sizeof namebuf));
	if (oom(system)) {
		ret = AC_ENOMEM;
		goto out;
	}
	json_object_set_new(c->model, "system", system);
	c->comps = calloc(comps->n + 1, sizeof *c->comps);
	if (!c->comps) {
		ret = AC_ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < comps->n; i++)
		norm_component(c, comps->v[i], components);
	for (size_t i = 0; i < binds->n; i++)
		norm_binding(c, binds->v[i], bindings);
	json_object_set(system, "components", components);
	json_object_set(system, "bindings", bindings);
	keep_unknown(c, sys, system_known, "system", system);
out:
	json_decref(components);
	json_decref(bindings);
	free(comps);
	free(binds);
	return ret;
}

/* ---- top level ------------------------------------------------------------------------- */

static json_t *norm_metadata(struct bp_ctx *c, const struct ynode *root)
{
	const struct ynode *md = yget(root, "metadata");
	json_t *obj, *v;

	if (!md || yis_null(md))
		return json_object();
	if (!yis_map(md)) {
		bp_error(c, yderef(md), NULL, "metadata must be a mapping, found %s", ytype_name(md));
		return json_object();
	}
	obj = yto_json(md, &c->budget);
	if (!obj)
		return json_object();
	json_object_del(obj, "schema_version");
	if (yget(md, "version")) {
		v = norm_version(c, yget(md, "version"), "metadata version");
		if (v)
			json_object_set_new(obj, "version", v);
	}
	for (size_t i = 0; i + 1 < yderef(md)->n; i += 2)
		if (ystr(yderef(md)->kids[i]) && !in_list(metadata_known, ystr(yderef(md)->kids[i])))
			bp_ignored(c, "metadata", yderef(md)->kids[i]);
	return obj;
}

int bp_normalize(struct bp_ctx *c, const struct ydoc *doc)
{
	const struct ynode *root;
	json_t *v;

	if (doc->nroots == 0 || yis_null(doc->roots[0])) {
		bp_error_at(c, 1, 1, "a blueprint starts with schema_version: and system:",
			    "blueprint is empty");
		return AC_EINVAL;
	}
	root = yderef(doc->roots[0]);
	if (!yis_map(root)) {
		bp_error(c, root, "a blueprint is a mapping with schema_version and system",
			 "blueprint must be a mapping at the top level, found %s", ytype_name(root));
		return AC_EINVAL;
	}
	c->model = json_object();
	if (oom(c->model))
		return AC_ENOMEM;
	v = norm_schema_version(c, root);
	json_object_set_new(c->model, "schema_version", v ? v : json_string("1.0.0"));
	json_object_set_new(c->model, "metadata", norm_metadata(c, root));
	json_object_set_new(c->model, "schemas", norm_schemas(c, root));
	{
		struct site st = { "policy", "", "", "policy", "policy" };
		v = check_map(c, yget(root, "policy"), NULL, policy_keys, false, &st);
	}
	json_object_set_new(c->model, "policy", v ? v : json_object());
	if (norm_system(c, doc, root))
		return AC_ENOMEM;
	keep_unknown(c, root, top_known, "the top level", c->model);
	if (c->budget == 0) {
		bp_error(c, root, "YAML aliases expand to too much data",
			 "blueprint expands to more than a million nodes");
		return AC_EINVAL;
	}
	return json_object_get(c->model, "system") ? 0 : AC_EINVAL;
}

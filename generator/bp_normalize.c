/*
 * bp_normalize.c — every blueprint dialect reduced to the one model of blueprint.h.
 *
 * Walks the YAML tree top-down: schema_version (healed / lifted), metadata, schemas, policy,
 * then the system with its components and bindings. Each known mapping is checked against a
 * key table (struct cat_key, the same shape the catalog uses for component configs), so type,
 * range and choice errors and defaults are handled by one function, bp_check_map() in
 * bp_check.c; components are normalised in bp_component.c; bindings in all four forms become
 * one record per target here. Names are resolved later, in
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
const char *const bp_log_levels[] = { "debug", "info", "warning", "error", "critical", NULL };
static const char *const log_formats[] = { "json", "text", NULL };
static const char *const platforms[] = { "local", "docker", "kubernetes", NULL };
static const char *const strategies[] = { "retry", "dead_letter", "ignore", NULL };
static const char *const guarantees[] = { "at_least_once", "at_most_once", "exactly_once", NULL };
static const char *const schema_types[] = { "object", "array", "string", "number", "integer",
					    "boolean", "null", NULL };

static const struct cat_key timeouts_keys[] = {
	RANGE("startup_timeout_ms", CAT_INT, "30000", 0, 3600000),
	RANGE("shutdown_timeout_ms", CAT_INT, "10000", 0, 3600000),
	RANGE("health_check_timeout_ms", CAT_INT, "5000", 0, 3600000),
	END,
};
static const struct cat_key logging_keys[] = {
	ENUM("level", "\"info\"", bp_log_levels),
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

static const char *const top_known[] = { "schema_version", "system", "metadata", "schemas",
					 "policy", "bindings", "component", "bench_profile", NULL };
static const char *const metadata_known[] = { "version", "author", "description", "tags",
					      "created", "autocoder_version", "schema_version",
					      "natural_language_description", "name", NULL };
static const char *const system_known[] = { "name", "description", "version", "components",
					    "bindings", "configuration", "deployment",
					    "validation", "schema_version", "schemas", NULL };
static const char *const binding_known[] = { "from", "to", "from_component", "from_port",
					     "to_component", "to_port", "to_components",
					     "to_ports", "condition", "transformation", "stream_name",
					     "error_handling", "qos", "description", NULL };
static const char *const schema_known[] = { "type", "properties", "required", "items",
					    "format", "minimum", "maximum", "pattern",
					    "description", "enum", "default", "title",
					    "additionalProperties", "minLength", "maxLength",
					    "minItems", "maxItems", NULL };

/* ---- schema_version ------------------------------------------------------------------ */

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
	return bp_norm_version(c, sv, "schema_version");
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
	if (t && !bp_in_list(schema_types, ystr(t)))
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
		if (ystr(s->kids[i]) && !bp_in_list(schema_known, ystr(s->kids[i])))
			bp_ignored(c, "a schema", s->kids[i]);
}

/* One `schemas:` mapping checked and converted; a JSON-schema string as a definition
 * ('{"type": "object"}') is read as the schema it spells. */
static json_t *schemas_of(struct bp_ctx *c, const struct ynode *s)
{
	json_t *out;

	if (!s || yis_null(s))
		return json_object();
	if (!yis_map(s)) {
		bp_error(c, yderef(s), NULL, "schemas must be a mapping of name to schema, found %s",
			 ytype_name(s));
		return json_object();
	}
	s = yderef(s);
	out = json_object();
	for (size_t i = 0; out && i + 1 < s->n; i += 2) {
		const char *name = ystr(s->kids[i]) ? ystr(s->kids[i]) : "?";
		const struct ynode *def = yderef(s->kids[i + 1]);
		json_t *v = NULL;
		if (yis_scalar(def) && ystr(def) && ystr(def)[strspn(ystr(def), " \t\n")] == '{') {
			v = json_loads(ystr(def), JSON_REJECT_DUPLICATES, NULL);
			if (!json_is_object(v)) {
				bp_error(c, def, NULL, "schema '%s' is a string but not a JSON object",
					 name);
				json_decref(v);
				continue;
			}
		} else {
			check_schema(c, def, name, 0);
			v = yto_json(def, &c->budget);
		}
		if (v)
			json_object_set_new(out, name, v);
	}
	return out;
}

/* `schemas:` at the top level, or under `system:` (the original reads both). */
static json_t *norm_schemas(struct bp_ctx *c, const struct ynode *root)
{
	const struct ynode *sys = yget(root, "system");
	json_t *top = schemas_of(c, yget(root, "schemas")), *inner, *v;
	const char *name;

	if (!yis_map(sys) || !yget(sys, "schemas"))
		return top;
	bp_note(c, ygetkey(yderef(sys), "schemas"), NULL,
		"schemas under 'system:' are read as the blueprint's schemas");
	inner = schemas_of(c, yget(sys, "schemas"));
	json_object_foreach(inner, name, v) {
		if (json_object_get(top, name))
			bp_warn(c, ygetkey(yget(sys, "schemas"), name), NULL,
				"schema '%s' is defined both at the top level and under 'system:'; "
				"the top-level one is used", name);
		else
			json_object_set(top, name, v);
	}
	json_decref(inner);
	return top;
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
		v = bp_check_expr(c, ygetkey(m, "condition"), cond, what);
		json_object_set_new(opts, "condition", v ? v : json_null());
	} else {
		json_object_set_new(opts, "condition", json_null());
	}
	v = tr && !yis_null(tr) ? yto_json(tr, &c->budget) : NULL;
	json_object_set_new(opts, "transformation", v ? v : json_null());
	{
		char owner[400];
		snprintf(owner, sizeof owner, " of binding %s", label);
		struct bp_site eh = { "error_handling", "", owner, "error_handling", "binding" };
		struct bp_site qos = { "qos", "", owner, "qos", "binding" };
		v = bp_check_map(c, yget(m, "error_handling"), NULL, error_handling_keys, false, &eh);
		json_object_set_new(opts, "error_handling", v ? v : json_object());
		v = bp_check_map(c, yget(m, "qos"), NULL, qos_keys, false, &qos);
		json_object_set_new(opts, "qos", v ? v : json_object());
	}
	json_object_set_new(opts, "description",
			    json_string(ystr(desc) && !yis_null(desc) ? ystr(desc) : ""));
	bp_keep_unknown(c, m, binding_known, "a binding", opts);
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

	if ((yis_seq(to) && yderef(to)->n > max) || (yis_seq(tcs) && yderef(tcs)->n > max)) {
		bp_error(c, yis_seq(to) ? yderef(to) : yderef(tcs), NULL,
			 "binding fans out to more than %zu targets", max);
		return 0;
	}
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
				 "to_ports lists %zu ports but to_components lists %zu components", np,
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
		const struct ynode *sn = yget(m, "stream_name");
		b.to_stream = false;
		if (!t[i].port && ystr(sn) && !yis_null(sn) && *ystr(sn)) {
			/* `stream_name` selects the target's input stream (a join's left/right) */
			t[i].port = ystr(sn);
			b.to_stream = true;
		}
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
	v = yget(sys, "version") ? bp_norm_version(c, yget(sys, "version"), "system version")
				 : json_string("1.0.0");
	json_object_set_new(obj, "version", v ? v : json_string("1.0.0"));
	struct bp_site cfg = { "system configuration", "", "", "system configuration", name };
	struct bp_site dep = { "deployment", "", "", "deployment", name };
	v = bp_check_map(c, yget(sys, "configuration"), NULL, configuration_keys, false, &cfg);
	json_object_set_new(obj, "configuration", v ? v : json_object());
	v = bp_check_map(c, yget(sys, "deployment"), NULL, deployment_keys, false, &dep);
	json_object_set_new(obj, "deployment", v ? v : json_object());
	v = yget(sys, "validation") ? yto_json(yget(sys, "validation"), &c->budget) : json_object();
	json_object_set_new(obj, "validation", v ? v : json_object());
	return obj;
}

/* The system's name is its executable's name in the generated folder: it may not be the
 * name of one of the folder's directories. */
static const char *avoid_folder_names(struct bp_ctx *c, const struct ynode *at, const char *s,
				      char *buf, size_t len)
{
	static const char *const dirs[] = { "src", "runtime", "config", "tests", "deployments",
					    "data", "output", NULL };

	if (!bp_in_list(dirs, s))
		return s;
	snprintf(buf, len, "%s_system", s);
	bp_heal(c, at, "the generated folder has a directory of that name",
		"system name '%s' healed to '%s'", s, buf);
	return buf;
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
		return avoid_folder_names(c, yderef(n), s, buf, len);
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
	if (!system) {
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
		bp_norm_component(c, comps->v[i], components);
	for (size_t i = 0; i < binds->n; i++)
		norm_binding(c, binds->v[i], bindings);
	json_object_set(system, "components", components);
	json_object_set(system, "bindings", bindings);
	bp_keep_unknown(c, sys, system_known, "system", system);
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
		v = bp_norm_version(c, yget(md, "version"), "metadata version");
		if (v)
			json_object_set_new(obj, "version", v);
	}
	for (size_t i = 0; i + 1 < yderef(md)->n; i += 2)
		if (ystr(yderef(md)->kids[i]) && !bp_in_list(metadata_known, ystr(yderef(md)->kids[i])))
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
	if (!c->model)
		return AC_ENOMEM;
	v = norm_schema_version(c, root);
	json_object_set_new(c->model, "schema_version", v ? v : json_string("1.0.0"));
	json_object_set_new(c->model, "metadata", norm_metadata(c, root));
	json_object_set_new(c->model, "schemas", norm_schemas(c, root));
	{
		struct bp_site st = { "policy", "", "", "policy", "policy" };
		v = bp_check_map(c, yget(root, "policy"), NULL, policy_keys, false, &st);
	}
	json_object_set_new(c->model, "policy", v ? v : json_object());
	if (norm_system(c, doc, root))
		return AC_ENOMEM;
	bp_keep_unknown(c, root, top_known, "the top level", c->model);
	/* a measured resource profile (`autocoder generate --profile`, docs/BENCH.md) that a
	 * generated blueprint.yaml carries: the deployment emitter sizes from it */
	if (yget(root, "bench_profile")) {
		json_t *prof = yto_json(yget(root, "bench_profile"), &c->budget);
		if (prof)
			json_object_set_new(c->model, "bench_profile", prof);
	}
	if (c->budget == 0) {
		bp_error(c, root, "YAML aliases may repeat data, but not exponentially",
			 "blueprint expands through YAML aliases to too many nodes");
		return AC_EINVAL;
	}
	return json_object_get(c->model, "system") ? 0 : AC_EINVAL;
}

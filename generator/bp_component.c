/*
 * bp_component.c — one component of a blueprint normalised: name (healed to snake_case), type
 * (any spelling of the catalog's 13), config checked against the catalog's keys with defaults,
 * ports from `inputs`/`outputs` lists, the `ports` map or the type's defaults (Router outputs
 * from its rules), network ports (config.port or resources.ports, "${VAR:-N}" resolved),
 * databases and observability.
 */
#include "core/common.h"
#include "generator/bp_int.h"

#include <strings.h>

#define KEY(n, t, d) { .name = n, .type = t, .def = d }
#define RANGE(n, t, d, lo, hi) { .name = n, .type = t, .def = d, .ranged = true, .min = lo, .max = hi }
#define ENUM(n, d, ch) { .name = n, .type = CAT_ENUM, .def = d, .choices = ch }
#define OBJ(n, d, f) { .name = n, .type = CAT_OBJECT, .def = d, .fields = f }
#define OPEN(n, d) { .name = n, .type = CAT_OBJECT, .def = d, .open = true }
#define END { .name = NULL }

static const char *const protocols[] = { "HTTP", "WebSocket", "TCP", NULL };
static const char *const modes[] = { "stream", "batch", "hybrid", NULL };
static const char *const port_known[] = { "name", "schema", "required", "description",
					  "data_schema", "semantic_class", "direction", NULL };
static const char *const component_known[] = { "name", "type", "recipe", "description",
					       "processing_mode", "config", "configuration",
					       "inputs", "outputs", "ports", "resources",
					       "observability", NULL };
static const struct cat_key health_keys[] = {
	KEY("endpoint", CAT_STRING, "\"/health\""),
	OPEN("interval", NULL),
	END,
};
/* The original's levels first; log levels are accepted too (older blueprints of this project). */
static const char *const obs_levels[] = { "basic", "detailed", "debug", "info", "warning",
					  "error", "critical", NULL };
static const struct cat_key observability_keys[] = {
	{ .name = "level", .type = CAT_ENUM, .def = "\"basic\"", .choices = obs_levels,
	  .free_form = true },
	OBJ("health_checks", "{}", health_keys),
	{ .name = "custom_metrics", .type = CAT_LIST, .def = "[]" },
	END,
};
static const struct cat_key net_port_keys[] = {
	{ .name = "port", .type = CAT_ANY }, /* parsed by bp_parse_port() */
	KEY("name", CAT_STRING, NULL),
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

/* Words that mean "any JSON object" when written as a port's schema. */
static bool schema_is_any(const char *s)
{
	static const char *const any[] = { "any", "object", "dict", "json", "map", NULL };

	for (const char *const *a = any; *a; a++)
		if (!strcasecmp(*a, s))
			return true;
	return false;
}

/* A port's schema. Names are labels: one that `schemas` defines refers to it; "Any" and
 * "object" mean any JSON object; a JSON-schema string ('{"type": "object"}') is read as an
 * inline schema; any other name is reported (a heal) and the port carries any JSON object. */
static json_t *schema_ref(struct bp_ctx *c, const struct ynode *s, const char *pname,
			  const char *cname)
{
	char hint[200];
	json_t *schemas = json_object_get(c->model, "schemas");
	const char *key, *text;
	json_t *v, *names;

	if (!s || yis_null(s))
		return json_null();
	if (!yis_scalar(s))
		return yto_json(s, &c->budget);
	text = ystr(s);
	if (json_object_get(schemas, text))
		return json_string(text);
	if (schema_is_any(text))
		return json_null();
	if (text[strspn(text, " \t\n")] == '{') {
		v = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
		if (json_is_object(v))
			return v;
		json_decref(v);
		bp_heal(c, yderef(s), "write the schema as YAML under schemas: and name it here",
			"schema of port '%s' of component '%s' is not valid JSON; the port carries "
			"any JSON object", pname, cname);
		return json_null();
	}
	names = json_array();
	json_object_foreach(schemas, key, v)
		json_array_append_new(names, json_string(key));
	if (!bp_suggest(text, NULL, names, hint, sizeof hint))
		snprintf(hint, sizeof hint, "define '%s' under schemas: to check its messages", text);
	bp_heal(c, yderef(s), hint,
		"port '%s' of component '%s' names schema '%s', which schemas: does not define; "
		"the port carries any JSON object", pname, cname, text);
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
		bp_keep_unknown(c, m, port_known, "a port", p);
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

/* +1 for a word ending in _in / _input (or equal to in, input), -1 for _out / _output,
 * 0 otherwise. */
static int suffix_direction(const char *s)
{
	static const char *const ins[] = { "_in", "_input", "_inputs" };
	static const char *const outs[] = { "_out", "_output", "_outputs" };
	size_t n = s ? strlen(s) : 0;

	if (!s)
		return 0;
	if (!strcasecmp(s, "in") || !strcasecmp(s, "input"))
		return 1;
	if (!strcasecmp(s, "out") || !strcasecmp(s, "output"))
		return -1;
	for (size_t i = 0; i < AC_ARRAY_SIZE(ins); i++) {
		if (n > strlen(ins[i]) && !strcasecmp(s + n - strlen(ins[i]), ins[i]))
			return 1;
		if (n > strlen(outs[i]) && !strcasecmp(s + n - strlen(outs[i]), outs[i]))
			return -1;
	}
	return 0;
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
		if (!known && !dir && name) {
			/* the original's port model: semantic_class data_in / request_out, or a
			 * name like data_input: the suffix gives the direction (a note) */
			int d = suffix_direction(ystr(yget(pm->kids[i + 1], "semantic_class")));
			if (!d)
				d = suffix_direction(name);
			if (d) {
				in = d > 0;
				known = true;
				bp_note(c, yderef(pm->kids[i]), NULL,
					"port '%s' of component '%s' has no direction; read as an %s "
					"from its %s", name, cname, in ? "input" : "output",
					suffix_direction(ystr(yget(pm->kids[i + 1], "semantic_class")))
						? "semantic_class" : "name");
			}
		}
		if (!known && dir) {
			bp_error(c, yderef(d), "direction is input or output",
				 "direction of port '%s' of component '%s' must be input or output; "
				 "found '%s'", name ? name : "?", cname, dir);
			continue;
		}
		if (!known) {
			bp_error(c, yderef(pm->kids[i]), NULL,
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
/* A route name becomes a port name: heal it to snake_case like declared ports. */
static void heal_route(struct bp_ctx *c, json_t *holder, const char *key, const struct ynode *at,
		       const char *cname)
{
	const char *d = json_string_value(json_object_get(holder, key));
	char *snake;

	if (!d || !*d || bp_is_snake_case(d))
		return;
	snake = bp_snake_case(d);
	if (!snake) {
		bp_error(c, yderef(at), "route names are letters, digits and '_'",
			 "route '%s' of router '%s' cannot be used as a port name", d, cname);
		return;
	}
	bp_heal(c, yderef(at), "bindings that name the old spelling follow",
		"route '%s' of router '%s' healed to '%s'", d, cname, snake);
	json_object_set_new(holder, key, json_string(snake));
	free(snake);
}

/* Router: every destination and the default route are outputs too. */
static void add_router_outputs(struct bp_ctx *c, const struct ynode *m, json_t *outs,
			       json_t *config, const char *cname)
{
	const struct ynode *cfg = yget(m, "config") ? yget(m, "config") : yget(m, "configuration");
	const struct ynode *rules = yget(cfg, "routing_rules");
	size_t i;
	json_t *rule;
	const char *def;

	json_array_foreach(json_object_get(config, "routing_rules"), i, rule) {
		const struct ynode *rn = yis_seq(rules) && i < yderef(rules)->n
						 ? yderef(rules)->kids[i] : NULL;
		const char *d;
		heal_route(c, rule, "destination", yget(rn, "destination"), cname);
		d = json_string_value(json_object_get(rule, "destination"));
		if (bp_is_snake_case(d) && !find_port(outs, d))
			json_array_append_new(outs, port_obj(d, NULL, true, ""));
	}
	heal_route(c, config, "default_route", yget(cfg, "default_route"), cname);
	def = json_string_value(json_object_get(config, "default_route"));
	if (!def && json_array_size(json_object_get(config, "routing_rules")) == 0 &&
	    json_array_size(outs) == 1) {
		/* no rules: everything goes to the one declared output */
		def = json_string_value(json_object_get(json_array_get(outs, 0), "name"));
		json_object_set_new(config, "default_route", json_string(def));
		def = json_string_value(json_object_get(config, "default_route"));
		bp_note(c, yderef(m), NULL, "router '%s' has no routing rules; every message goes to "
			"its one output '%s'", cname, def);
	}
	if (bp_is_snake_case(def) && !find_port(outs, def))
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

/* Type names the original implemented beyond the 13, and the type that does their job. */
static const struct {
	const char *name;
	enum cat_id id;
	const char *why;
} original_types[] = {
	{ "FastAPIEndpoint", CAT_API_ENDPOINT, "an HTTP API" },
	{ "FastAPICQRS", CAT_API_ENDPOINT, "an HTTP API in front of a store" },
	{ "MetricsEndpoint", CAT_API_ENDPOINT, "every APIEndpoint serves /metrics" },
	{ "V5EnhancedStore", CAT_STORE, "a document store" },
	{ "EventSource", CAT_SOURCE, "emits events" },
};

static const struct cat_type *original_type(struct bp_ctx *c, const struct ynode *n,
					    const char *s)
{
	for (size_t i = 0; i < AC_ARRAY_SIZE(original_types); i++) {
		if (strcasecmp(original_types[i].name, s))
			continue;
		bp_note(c, yderef(n), NULL, "type '%s' (the original's) is generated as %s (%s)", s,
			catalog_get(original_types[i].id)->name, original_types[i].why);
		return catalog_get(original_types[i].id);
	}
	return NULL;
}

static const struct cat_type *comp_type(struct bp_ctx *c, const struct ynode *m,
					const char *cname)
{
	const struct ynode *n = yget(m, "type");
	const char *s = ystr(n);
	const struct cat_type *t;
	bool exact;
	char hint[600];

	if ((!s || yis_null(n)) && ystr(yget(m, "recipe")) && !yis_null(yget(m, "recipe"))) {
		n = yget(m, "recipe");
		s = ystr(n);
		bp_note(c, ygetkey(m, "recipe"), NULL, "recipe '%s' of component '%s' is read as its type",
			s, cname);
	}
	if (s && (t = original_type(c, n, s)))
		return t;

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

/* Put obj's keys back in table order (then the others), as bp_check_map() produces them. */
static void reorder(json_t *obj, const struct cat_key *keys)
{
	json_t *sorted = json_object(), *v;
	const char *k;

	if (!sorted)
		return;
	for (; keys->name; keys++)
		if ((v = json_object_get(obj, keys->name)))
			json_object_set(sorted, keys->name, v);
	json_object_foreach(obj, k, v)
		if (!json_object_get(sorted, k))
			json_object_set(sorted, k, v);
	json_object_clear(obj);
	json_object_update(obj, sorted);
	json_decref(sorted);
}

/* The listening port of APIEndpoint / WebSocket / an http Source, and resources.ports. */
/* APIEndpoint and WebSocket listen; a Source does when it takes JSON over HTTP. */
static bool wants_port(const struct cat_type *t, json_t *config)
{
	const char *gen = json_string_value(
		json_object_get(json_object_get(config, "generation"), "type"));

	return t && (t->listens || (t->id == CAT_SOURCE && gen && !strcmp(gen, "http")));
}

/* Older flat spellings (source_type, file_path, output_type) fill the nested key they stand
 * for unless the blueprint wrote that key itself. */
static void apply_old_spellings(const struct cat_type *t, const struct ynode *m, json_t *config)
{
	static const struct {
		enum cat_id type;
		const char *old, *obj, *key;
	} map[] = {
		{ CAT_SOURCE, "source_type", "generation", "type" },
		{ CAT_SOURCE, "file_path", "generation", "file" },
		{ CAT_SINK, "output_type", "output", "type" },
	};

	for (size_t i = 0; t && i < AC_ARRAY_SIZE(map); i++) {
		json_t *old = json_object_get(config, map[i].old);
		json_t *obj = json_object_get(config, map[i].obj);
		if (map[i].type != t->id || !json_is_string(old) || !json_is_object(obj))
			continue;
		if (yget(yget(yget(m, "config"), map[i].obj), map[i].key) ||
		    yget(yget(yget(m, "configuration"), map[i].obj), map[i].key))
			continue;
		json_object_set(obj, map[i].key, old);
	}
}

/* The port a listener without one gets: the original's default API port, 8765 for a
 * WebSocket. */
static long default_listen_port(const struct cat_type *t)
{
	return t && t->id == CAT_WEBSOCKET ? 8765 : 8000;
}

/* A network port the blueprint did not number: it starts at `from`; validation moves it to
 * the first free port and reports the number at node n (see heal_port_conflicts()). */
static json_t *auto_port(long from, const char *proto, bool pub, const struct ynode *n,
			 const char *label)
{
	return json_pack("{s:i, s:s, s:b, s:{s:i, s:i, s:s}}", "port", (json_int_t)from,
			 "protocol", proto, "public", pub, BP_AUTO_PORT, "line", n ? n->line : 0,
			 "column", n ? n->col : 0, "label", label);
}

static json_t *norm_network_ports(struct bp_ctx *c, struct bp_comp *comp, const struct ynode *m,
				  json_t *config)
{
	const struct cat_type *t = comp->type;
	const struct ynode *cfg = yget(m, "config"), *cfg2 = yget(m, "configuration");
	const struct ynode *pn = yget(cfg, "port") ? yget(cfg, "port") : yget(cfg2, "port");
	const struct ynode *rp = yget(yget(m, "resources"), "ports");
	json_t *list = json_array();
	bool wants = wants_port(t, config);
	const char *proto = t && t->id == CAT_WEBSOCKET ? "WebSocket" : "HTTP";
	long port;
	char *env = NULL;

	/* config.port was checked (and any error reported) with the rest of the config */
	if (pn && json_is_integer(json_object_get(config, "port"))) {
		port = (long)json_integer_value(json_object_get(config, "port"));
		env = bp_port_env(ystr(pn));
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
		const char *word = yis_scalar(item) ? ystr(item) : NULL;
		bool named = word && !yis_null(item) && !(word[0] >= '0' && word[0] <= '9') &&
			     strncmp(word, "${", 2);
		if ((!pv && yis_map(item)) || named) {
			/* {name: api_port} or just "api_port": a port without a number */
			char label[200];
			const char *pname = named ? word : ystr(yget(item, "name"));
			snprintf(label, sizeof label, "resources.ports item%s%s%s of component '%s' "
				 "has no port number; it gets port", pname ? " '" : "",
				 pname ? pname : "", pname ? "'" : "", comp->name);
			entry = auto_port(default_listen_port(t), proto, wants && !first, item, label);
			json_array_append_new(list, entry);
			if (wants && !first && !pn)
				comp->port_node = item;
		} else if (!pv) {
			bp_error(c, item, NULL, "resources.ports item of component '%s' has no port",
				 comp->name);
			continue;
		} else if (bp_parse_port(c, pv, "port", &port, &env)) {
			continue;
		} else if (first && json_integer_value(json_object_get(first, "port")) == port) {
			entry = first;
		} else {
			entry = json_pack("{s:i, s:s?, s:s, s:b}", "port", (json_int_t)port, "env", env,
					  "protocol", proto, "public", wants);
			json_array_append_new(list, entry);
			if (!comp->port_node)
				comp->port_node = yderef(pv);
		}
		free(env);
		env = NULL;
		if (yis_map(item)) {
			char owner[120];
			struct bp_site st = { "resources.ports item", "", owner, "resources.ports",
					   comp->name };
			json_t *extra;
			snprintf(owner, sizeof owner, " of component '%s'", comp->name);
			extra = bp_check_map(c, item, NULL, net_port_keys, false, &st);
			if (json_object_get(extra, "protocol"))
				json_object_set(entry, "protocol", json_object_get(extra, "protocol"));
			if (yas_bool(yget(item, "public"), &pub))
				json_object_set_new(entry, "public", json_boolean(pub));
			json_decref(extra);
		}
	}
	if (wants && json_array_size(list) == 0 && !pn) {
		char label[200];
		snprintf(label, sizeof label, "component '%s' (%s) names no port; it listens on port",
			 comp->name, t->name);
		json_array_append_new(list, auto_port(default_listen_port(t), proto, true,
						      yderef(m), label));
	}
	if (wants && json_array_size(list) > 0 && !json_object_get(config, "port")) {
		json_object_set(config, "port", json_object_get(json_array_get(list, 0), "port"));
		reorder(config, t->keys);
	}
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
		struct bp_site st = { "resources.databases item", "", owner, "resources.databases",
				   comp->name };
		json_t *db;
		snprintf(owner, sizeof owner, " of component '%s'", comp->name);
		db = bp_check_map(c, yderef(dbs)->kids[i], NULL, database_keys, false, &st);
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

/* database_url: generated systems keep state in SQLite. Another scheme (postgresql://,
 * redis://), which the runtime would open as a file name, heals to the default SQLite file
 * (a warning; an error under --strict), so the system runs. */
static void check_database_url(struct bp_ctx *c, const struct ynode *m, json_t *config,
			       const char *cname)
{
	const char *url = json_string_value(json_object_get(config, "database_url"));
	const struct ynode *at = yget(yget(m, "config"), "database_url");
	const char *sep = url ? strstr(url, "://") : NULL;
	char hint[200], path[160];

	if (!sep || !strncmp(url, "sqlite:", 7))
		return;
	if (!at)
		at = yget(yget(m, "configuration"), "database_url");
	snprintf(path, sizeof path, "sqlite:///data/%s.db", cname);
	snprintf(hint, sizeof hint, "write %s to choose the file", path);
	bp_heal(c, at ? yderef(at) : yderef(m), hint,
		"config 'database_url' of component '%s' uses '%.*s'; generated systems keep their "
		"state in SQLite: %s is used", cname, (int)(sep - url), url, path);
	json_object_set_new(config, "database_url", json_string(path));
}

/* The node of config key `key` (in config, else configuration), for positions. */
static const struct ynode *config_node(const struct ynode *m, const char *key)
{
	const struct ynode *n = yget(yget(m, "config"), key);

	return n ? n : yget(yget(m, "configuration"), key);
}

/* Config that would stop the generated component at start-up is reported (or healed) here:
 * a file Source without a file, an http Sink without an http:// URL, a table name SQLite
 * cannot take. */
static void check_startable(struct bp_ctx *c, const struct cat_type *t, const struct ynode *m,
			    json_t *config, const char *cname)
{
	json_t *gen = json_object_get(config, "generation"), *out = json_object_get(config, "output");
	const char *table = json_string_value(json_object_get(config, "table_name"));
	const char *url = json_string_value(json_object_get(out, "url"));

	if (t->id == CAT_SOURCE && !strcmp(json_string_value(json_object_get(gen, "type")) ?
					   json_string_value(json_object_get(gen, "type")) : "", "file") &&
	    !json_is_string(json_object_get(gen, "file")) &&
	    !json_is_string(json_object_get(config, "file_path"))) {
		const struct ynode *at = config_node(m, "generation");
		bp_heal(c, yderef(at ? at : config_node(m, "source_type") ? config_node(m, "source_type")
						       : m),
			"add generation: {file: path/to/input.jsonl}",
			"Source '%s' reads a file but names none; it emits a sequence instead", cname);
		json_object_set_new(gen, "type", json_string("sequence"));
	}
	if (t->id == CAT_SINK &&
	    !strcmp(json_string_value(json_object_get(out, "type")) ?
		    json_string_value(json_object_get(out, "type")) : "", "http") &&
	    (!url || strncmp(url, "http://", 7))) {
		const struct ynode *at = config_node(m, "output");
		bp_error(c, yderef(at ? (yget(at, "url") ? yget(at, "url") : at) : m),
			 "the generated sink posts over plain HTTP: write http://host:port/path",
			 "Sink '%s' sends over http but its output.url is %s%s%s", cname,
			 url ? "'" : "", url ? url : "missing", url ? "'" : "");
	}
	if ((t->id == CAT_STORE) && table && !bp_is_snake_case(table)) {
		char *snake = bp_snake_case(table);
		const struct ynode *at = config_node(m, "table_name");
		if (snake) {
			bp_heal(c, yderef(at ? at : m), NULL, "table_name '%s' of component '%s' "
				"healed to '%s'", table, cname, snake);
			json_object_set_new(config, "table_name", json_string(snake));
			free(snake);
		} else {
			bp_error(c, yderef(at ? at : m), "table names are letters, digits and '_'",
				 "table_name '%s' of component '%s' is not usable", table, cname);
		}
	}
}

void bp_norm_component(struct bp_ctx *c, const struct ynode *m, json_t *components)
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
	if (!obj)
		return;
	json_object_set_new(obj, "name", json_string(name));
	comp->name = json_string_value(json_object_get(obj, "name"));
	json_object_set_new(obj, "type",
			    json_string(comp->type ? comp->type->name
						   : ystr(yget(m, "type")) ? ystr(yget(m, "type")) : ""));
	{
		const struct ynode *d = yget(m, "description");
		json_object_set_new(obj, "description",
				    json_string(ystr(d) && !yis_null(d) ? ystr(d) : ""));
	}
	{
		static const struct cat_key pm = ENUM("processing_mode", "\"stream\"", modes);
		const struct ynode *pmn = yget(m, "processing_mode");
		struct bp_site st = { "", "", owner, "a component", name };
		v = pmn ? bp_check_value(c, ygetkey(m, "processing_mode"), pmn, &pm, &st)
			: json_string("stream");
		json_object_set_new(obj, "processing_mode", v ? v : json_string("stream"));
	}
	cfg = yget(m, "config");
	cfg2 = yget(m, "configuration");
	if (comp->type) {
		char where[80];
		struct bp_site st = { "config", "", owner, where, name };
		snprintf(where, sizeof where, "the config of a %s", comp->type->name);
		config = bp_check_map(c, cfg, cfg2, comp->type->keys, false, &st);
	} else
		config = yto_json(cfg ? cfg : cfg2, &c->budget);
	if (!json_is_object(config)) {
		json_decref(config);
		config = json_object();
	}
	apply_old_spellings(comp->type, m, config);
	if (comp->type && (comp->type->id == CAT_STORE || comp->type->id == CAT_ACCUMULATOR))
		check_database_url(c, m, config, name);
	if (comp->type)
		check_startable(c, comp->type, m, config, name);
	json_object_set_new(obj, "config", config);
	ins = json_array();
	outs = json_array();
	norm_port_list(c, yget(m, "inputs"), ins, "input", name);
	norm_port_list(c, yget(m, "outputs"), outs, "output", name);
	norm_ports_map(c, yget(m, "ports"), comp->type, ins, outs, name);
	if (comp->type && json_array_size(ins) == 0)
		add_default_ports(ins, comp->type->inputs, NULL);
	if (comp->type && comp->type->id == CAT_ROUTER)
		add_router_outputs(c, m, outs, config, name);
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
		struct bp_site st = { "observability", "", owner, "observability", name };
		v = bp_check_map(c, yget(m, "observability"), NULL, observability_keys, false, &st);
	}
	json_object_set_new(obj, "observability", v ? v : json_object());
	bp_keep_unknown(c, m, component_known, "a component", obj);
	json_object_set_new(c->names, name, json_integer((json_int_t)c->ncomps));
	comp->obj = obj;
	json_array_append_new(components, obj);
	c->ncomps++;
}

/*
 * bp_validate.c — whole-system checks on the normalised model, once every component is known:
 * binding ends resolve to components and ports of the right direction, Stores and Sinks send
 * no data, duplicate bindings are dropped, named schemas agree across a binding, cycles pass
 * through a Store or an APIEndpoint, and network port conflicts heal to the next free port.
 *
 * Component lookup goes through a jansson object (name -> index) and cycle detection is
 * Tarjan's algorithm over an adjacency list, so the checks stay linear in the blueprint size.
 */
#include "core/common.h"
#include "generator/bp_int.h"

#define MAX_LIST 200

/* "a, b, c" of the port names in list. */
static void port_names(json_t *list, char *buf, size_t n)
{
	size_t i, off = 0;
	json_t *p;

	buf[0] = '\0';
	json_array_foreach(list, i, p) {
		if (off >= n)
			break;
		off += (size_t)snprintf(buf + off, n - off, "%s%s", i ? ", " : "",
					json_string_value(json_object_get(p, "name")));
	}
	if (!json_array_size(list))
		snprintf(buf, n, "none");
}

static json_t *port_name_array(json_t *list)
{
	json_t *names = json_array();
	size_t i;
	json_t *p;

	json_array_foreach(list, i, p)
		json_array_append(names, json_object_get(p, "name"));
	return names;
}

static json_t *lookup_port(json_t *list, const char *name)
{
	size_t i;
	json_t *p;

	json_array_foreach(list, i, p)
		if (!strcmp(json_string_value(json_object_get(p, "name")), name))
			return p;
	return NULL;
}

static long resolve_comp(struct bp_ctx *c, const char *ref)
{
	json_t *renamed = json_object_get(c->renames, ref), *idx;
	char *snake;

	if (renamed && (idx = json_object_get(c->names, json_string_value(renamed))))
		return (long)json_integer_value(idx);
	if ((idx = json_object_get(c->names, ref)))
		return (long)json_integer_value(idx);
	snake = bp_snake_case(ref);
	idx = snake ? json_object_get(c->names, snake) : NULL;
	free(snake);
	return idx ? (long)json_integer_value(idx) : -1;
}

static void unknown_component(struct bp_ctx *c, const struct ynode *at, const char *role,
			      const char *ref, const char *port)
{
	char hint[300];
	json_t *names = json_array();
	const char *key, *h;
	json_t *v;

	json_object_foreach(c->names, key, v)
		json_array_append_new(names, json_string(key));
	h = bp_suggest(ref, NULL, names, hint, sizeof hint);
	if (!h && json_array_size(names) <= 12) {
		size_t off = (size_t)snprintf(hint, sizeof hint, "components: ");
		for (size_t i = 0; i < c->ncomps && off < sizeof hint; i++)
			off += (size_t)snprintf(hint + off, sizeof hint - off, "%s%s", i ? ", " : "",
						c->comps[i].name);
		h = hint;
	}
	if (!strncmp(role, "config", 6))
		bp_error(c, at, h, "%s names unknown component '%s'", role, ref);
	else
		bp_error(c, at, h, "binding %s '%s%s%s' names unknown component '%s'", role, ref,
			 port ? "." : "", port ? port : "", ref);
	json_decref(names);
}

/* Finds name among ports, or its snake_case spelling (ports healed in normalisation). */
static json_t *find_port_healed(json_t *list, const char *name)
{
	json_t *p = lookup_port(list, name);
	char *snake;

	if (p)
		return p;
	snake = bp_snake_case(name);
	p = snake ? lookup_port(list, snake) : NULL;
	free(snake);
	return p;
}

/* A port name that is a typo of an existing one (one edit, or swapped letters): reported
 * rather than created. */
static bool near_miss(const char *name, json_t *list)
{
	size_t i;
	json_t *p;

	json_array_foreach(list, i, p) {
		const char *have = json_string_value(json_object_get(p, "name"));
		unsigned d = catalog_distance(name, have);
		char a[64], b[64];
		if (d == 1 && strlen(name) > 2)
			return true;
		if (d != 2 || strlen(name) != strlen(have) || strlen(name) < 4 ||
		    strlen(name) >= sizeof a)
			continue;
		/* same letters in another order ("inptu" for "input") */
		snprintf(a, sizeof a, "%s", name);
		snprintf(b, sizeof b, "%s", have);
		for (size_t x = 0; a[x]; x++)
			for (size_t y = x + 1; a[y]; y++) {
				char t;
				if (a[y] < a[x])
					t = a[x], a[x] = a[y], a[y] = t;
				if (b[y] < b[x])
					t = b[x], b[x] = b[y], b[y] = t;
			}
		if (!strcmp(a, b))
			return true;
	}
	return false;
}

/* A port that only a binding names is created (the original did so), with a note. */
static json_t *create_port(struct bp_ctx *c, const struct ynode *at, struct bp_comp *comp,
			   json_t *list, const char *port, bool input)
{
	json_array_append_new(list, json_pack("{s:s, s:n, s:b, s:s}", "name", port, "schema",
					      "required", true, "description", ""));
	bp_note(c, at, NULL, "%s port '%s' of component '%s' is named only by this binding; it is "
		"created", input ? "input" : "output", port, comp->name);
	return json_array_get(list, json_array_size(list) - 1);
}

/* Names a Store's replies go by in the original's blueprints: all mean `response`. */
static bool store_reply_alias(const char *port)
{
	static const char *const names[] = { "result", "results", "events", "event", "reply",
					     "replies", "responses", "notifications", "changes",
					     "query_result", "query_results", NULL };
	return port && bp_in_list(names, port);
}

static bool resolve_source(struct bp_ctx *c, struct bp_bind *b)
{
	struct bp_comp *comp;
	json_t *outs, *ins, *p;
	char names[MAX_LIST], hint[300];
	const char *port = b->from_port;

	b->from_comp = resolve_comp(c, b->from_ref);
	if (b->from_comp < 0) {
		unknown_component(c, b->from_node, "source", b->from_ref, port);
		return false;
	}
	comp = &c->comps[b->from_comp];
	outs = json_object_get(comp->obj, "outputs");
	ins = json_object_get(comp->obj, "inputs");
	if (!port && comp->type && comp->type->reply_port)
		port = comp->type->reply_port; /* `from: store` means its replies */
	if (comp->type && comp->type->reply_port && store_reply_alias(port) &&
	    !lookup_port(outs, port)) {
		bp_note(c, b->from_node, NULL, "output '%s' of %s '%s' is read as its reply port '%s'",
			port, comp->type->name, comp->name, comp->type->reply_port);
		port = comp->type->reply_port;
	}
	if (comp->type && comp->type->data_sink &&
	    !(port && comp->type->reply_port && !strcmp(port, comp->type->reply_port))) {
		if (comp->type->reply_port)
			snprintf(hint, sizeof hint, "a %s only sends replies on '%s'", comp->type->name,
				 comp->type->reply_port);
		else
			snprintf(hint, sizeof hint, "a %s only receives; bind from the component "
				 "that feeds it instead", comp->type->name);
		bp_error(c, b->from_node, hint, "%s '%s' cannot send data (binding from '%s%s%s')",
			 comp->type->name, comp->name, comp->name, port ? "." : "", port ? port : "");
		return false;
	}
	if (!port) {
		if (json_array_size(outs) == 1) {
			port = json_string_value(json_object_get(json_array_get(outs, 0), "name"));
		} else if (lookup_port(outs, "output") || (json_array_size(outs) == 0 && comp->type)) {
			port = "output"; /* none at all: created below, like any port a binding names */
		} else {
			port_names(outs, names, sizeof names);
			snprintf(hint, sizeof hint, "write from: '%s.<port>'", comp->name);
			bp_error(c, b->from_node, hint,
				 "binding source '%s' names no port and '%s' has %s outputs (%s)",
				 b->from_ref, comp->name, json_array_size(outs) ? "several" : "no",
				 names);
			return false;
		}
	}
	p = find_port_healed(outs, port);
	if (!p && comp->type && comp->type->reply_port && !strcmp(port, comp->type->reply_port)) {
		json_array_append_new(outs, json_pack("{s:s, s:n, s:b, s:s}", "name", port, "schema",
						      "required", true, "description", ""));
		p = json_array_get(outs, json_array_size(outs) - 1);
	}
	if (!p && comp->type && bp_is_snake_case(port) && !find_port_healed(ins, port) &&
	    !near_miss(port, outs))
		p = create_port(c, b->from_node, comp, outs, port, false);
	if (!p && comp->type) {
		port_names(outs, names, sizeof names);
		if (find_port_healed(ins, port)) {
			snprintf(hint, sizeof hint, "outputs of '%s': %s", comp->name, names);
			bp_error(c, b->from_node, hint,
				 "binding source '%s.%s' is an input port; bindings go from an "
				 "output to an input", comp->name, port);
		} else {
			json_t *cands = port_name_array(outs);
			bp_error(c, b->from_node, bp_suggest(port, NULL, cands, hint, sizeof hint),
				 "binding source '%s.%s' has no output port '%s' (ports: %s)",
				 comp->name, port, port, names);
			json_decref(cands);
		}
		return false;
	}
	json_object_set_new(b->obj, "from_component", json_string(comp->name));
	if (p)
		json_object_set(b->obj, "from_port", json_object_get(p, "name"));
	else /* unknown component type: already reported, keep the port as written */
		json_object_set_new(b->obj, "from_port", json_string(port));
	return true;
}

static bool resolve_target(struct bp_ctx *c, struct bp_bind *b)
{
	struct bp_comp *comp;
	json_t *outs, *ins, *p;
	char names[MAX_LIST], hint[300];
	const char *port = b->to_port;

	b->to_comp = resolve_comp(c, b->to_ref);
	if (b->to_comp < 0) {
		unknown_component(c, b->to_node, "target", b->to_ref, port);
		return false;
	}
	comp = &c->comps[b->to_comp];
	outs = json_object_get(comp->obj, "outputs");
	ins = json_object_get(comp->obj, "inputs");
	if (comp->type && !comp->type->inputs[0].name) {
		snprintf(hint, sizeof hint, "a %s only emits; bind it to the component that should "
			 "receive its messages", comp->type->name);
		bp_error(c, b->to_node, hint, "%s '%s' cannot receive data (binding to '%s%s%s')",
			 comp->type->name, comp->name, comp->name, port ? "." : "", port ? port : "");
		return false;
	}
	if (port && b->to_stream && !find_port_healed(ins, port) && find_port_healed(outs, port)) {
		bp_note(c, b->to_node, NULL, "stream_name '%s' names an output of '%s'; the binding "
			"goes to its input", port, comp->name);
		port = NULL;
	}
	if (!port) {
		if (lookup_port(ins, "input")) {
			port = "input";
		} else if (json_array_size(ins) == 1) {
			port = json_string_value(json_object_get(json_array_get(ins, 0), "name"));
		} else {
			port_names(ins, names, sizeof names);
			snprintf(hint, sizeof hint, "write to: '%s.<port>'", comp->name);
			bp_error(c, b->to_node, hint,
				 "binding target '%s' names no port and '%s' has %s inputs (%s)",
				 b->to_ref, comp->name, json_array_size(ins) ? "several" : "no", names);
			return false;
		}
	}
	p = find_port_healed(ins, port);
	if (!p && comp->type && comp->type->any_inputs && bp_is_snake_case(port)) {
		json_array_append_new(ins, json_pack("{s:s, s:n, s:b, s:s}", "name", port, "schema",
						     "required", true, "description", ""));
		p = json_array_get(ins, json_array_size(ins) - 1);
	}
	if (!p && comp->type && bp_is_snake_case(port) && !find_port_healed(outs, port) &&
	    (b->to_stream || !near_miss(port, ins)))
		p = create_port(c, b->to_node, comp, ins, port, true);
	if (!p && comp->type) {
		port_names(ins, names, sizeof names);
		if (find_port_healed(outs, port)) {
			snprintf(hint, sizeof hint, "inputs of '%s': %s", comp->name, names);
			bp_error(c, b->to_node, hint,
				 "binding target '%s.%s' is an output port; bindings go from an "
				 "output to an input", comp->name, port);
		} else {
			json_t *cands = port_name_array(ins);
			bp_error(c, b->to_node, bp_suggest(port, NULL, cands, hint, sizeof hint),
				 "binding target '%s.%s' has no input port '%s' (ports: %s)", comp->name,
				 port, port, names);
			json_decref(cands);
		}
		return false;
	}
	json_object_set_new(b->obj, "to_component", json_string(comp->name));
	if (p)
		json_object_set(b->obj, "to_port", json_object_get(p, "name"));
	else
		json_object_set_new(b->obj, "to_port", json_string(port));
	return true;
}

static void drop_duplicates(struct bp_ctx *c)
{
	json_t *seen = json_object();

	for (size_t i = 0; seen && i < c->nbinds; i++) {
		struct bp_bind *b = &c->binds[i];
		char key[400];
		if (b->dropped)
			continue;
		snprintf(key, sizeof key, "'%s.%s' -> '%s.%s'",
			 json_string_value(json_object_get(b->obj, "from_component")),
			 json_string_value(json_object_get(b->obj, "from_port")),
			 json_string_value(json_object_get(b->obj, "to_component")),
			 json_string_value(json_object_get(b->obj, "to_port")));
		if (json_object_get(seen, key)) {
			char hint[80];
			snprintf(hint, sizeof hint, "the first one is at line %lld",
				 (long long)json_integer_value(json_object_get(seen, key)));
			bp_heal(c, b->to_node, hint, "duplicate binding %s dropped", key);
			b->dropped = true;
			continue;
		}
		json_object_set_new(seen, key, json_integer(b->node->line));
	}
	json_decref(seen);
}

static void check_schemas(struct bp_ctx *c, struct bp_bind *b)
{
	json_t *fp = lookup_port(json_object_get(c->comps[b->from_comp].obj, "outputs"),
				 json_string_value(json_object_get(b->obj, "from_port")));
	json_t *tp = lookup_port(json_object_get(c->comps[b->to_comp].obj, "inputs"),
				 json_string_value(json_object_get(b->obj, "to_port")));
	const char *fs = json_string_value(json_object_get(fp, "schema"));
	const char *ts = json_string_value(json_object_get(tp, "schema"));

	if (fs && ts && strcmp(fs, ts) && json_is_null(json_object_get(b->obj, "transformation")))
		bp_error(c, b->to_node, "add a transformation to the binding, or use one schema on "
			 "both ports",
			 "binding '%s.%s' -> '%s.%s' connects schema '%s' to schema '%s' without a "
			 "transformation", c->comps[b->from_comp].name,
			 json_string_value(json_object_get(b->obj, "from_port")),
			 c->comps[b->to_comp].name,
			 json_string_value(json_object_get(b->obj, "to_port")), fs, ts);
}

/* ---- cycles (Tarjan) ------------------------------------------------------------------- */

struct graph {
	size_t n;
	size_t *head, *next, *to, *bind; /* adjacency lists: edge e from v: head[v], next[e] */
	long *index, *low, *comp_of;
	size_t *stack, sp;
	bool *on_stack;
	long counter, ncomps;
};

static void strongconnect(struct graph *g, size_t v)
{
	g->index[v] = g->low[v] = g->counter++;
	g->stack[g->sp++] = v;
	g->on_stack[v] = true;
	for (size_t e = g->head[v]; e != SIZE_MAX; e = g->next[e]) {
		size_t w = g->to[e];
		if (g->index[w] < 0) {
			strongconnect(g, w);
			if (g->low[w] < g->low[v])
				g->low[v] = g->low[w];
		} else if (g->on_stack[w] && g->index[w] < g->low[v]) {
			g->low[v] = g->index[w];
		}
	}
	if (g->low[v] == g->index[v]) {
		size_t w;
		do {
			w = g->stack[--g->sp];
			g->on_stack[w] = false;
			g->comp_of[w] = g->ncomps;
		} while (w != v);
		g->ncomps++;
	}
}

/* The cycle through start inside its strongly connected component, as "a -> b -> a". */
static void describe_cycle(struct bp_ctx *c, struct graph *g, size_t start, char *buf, size_t n)
{
	long *prev = malloc(g->n * sizeof *prev);
	size_t *queue = malloc(g->n * sizeof *queue), qh = 0, qt = 0, path[64], np = 0, off = 0;
	long last = -1;

	buf[0] = '\0';
	if (!prev || !queue)
		goto out;
	for (size_t i = 0; i < g->n; i++)
		prev[i] = -1;
	queue[qt++] = start;
	while (qh < qt && last < 0) {
		size_t v = queue[qh++];
		for (size_t e = g->head[v]; e != SIZE_MAX; e = g->next[e]) {
			size_t w = g->to[e];
			if (g->comp_of[w] != g->comp_of[start])
				continue;
			if (w == start) {
				last = (long)v;
				break;
			}
			if (prev[w] < 0 && w != start) {
				prev[w] = (long)v;
				queue[qt++] = w;
			}
		}
	}
	for (long v = last; v >= 0 && np < AC_ARRAY_SIZE(path); v = (size_t)v == start ? -1 : prev[v])
		path[np++] = (size_t)v;
	off += (size_t)snprintf(buf, n, "%s", c->comps[start].name);
	for (size_t i = np; i-- > 0 && off < n;)
		if (path[i] != start)
			off += (size_t)snprintf(buf + off, n - off, " -> %s", c->comps[path[i]].name);
	if (off < n)
		snprintf(buf + off, n - off, " -> %s", c->comps[start].name);
out:
	free(prev);
	free(queue);
}

static int check_cycles(struct bp_ctx *c)
{
	struct graph g = { .n = c->ncomps };
	size_t ne = 0;
	bool *reported = NULL;
	int ret = AC_ENOMEM;

	g.head = malloc((g.n + 1) * sizeof *g.head);
	g.next = malloc((c->nbinds + 1) * sizeof *g.next);
	g.to = malloc((c->nbinds + 1) * sizeof *g.to);
	g.bind = malloc((c->nbinds + 1) * sizeof *g.bind);
	g.index = malloc((g.n + 1) * sizeof *g.index);
	g.low = malloc((g.n + 1) * sizeof *g.low);
	g.comp_of = malloc((g.n + 1) * sizeof *g.comp_of);
	g.stack = malloc((g.n + 1) * sizeof *g.stack);
	g.on_stack = calloc(g.n + 1, sizeof *g.on_stack);
	reported = calloc(g.n + 1, sizeof *reported);
	if (!g.head || !g.next || !g.to || !g.bind || !g.index || !g.low || !g.comp_of ||
	    !g.stack || !g.on_stack || !reported)
		goto out;
	for (size_t v = 0; v < g.n; v++) {
		g.head[v] = SIZE_MAX;
		g.index[v] = -1;
	}
	/* add edges in reverse so adjacency lists keep file order */
	for (size_t i = c->nbinds; i-- > 0;) {
		struct bp_bind *b = &c->binds[i];
		if (b->dropped || b->from_comp < 0 || b->to_comp < 0)
			continue;
		g.to[ne] = (size_t)b->to_comp;
		g.bind[ne] = i;
		g.next[ne] = g.head[b->from_comp];
		g.head[b->from_comp] = ne++;
	}
	for (size_t v = 0; v < g.n; v++)
		if (g.index[v] < 0)
			strongconnect(&g, v);
	for (size_t i = 0; i < c->nbinds; i++) {
		struct bp_bind *b = &c->binds[i];
		long scc;
		bool broken = false, cyclic = false;
		char path[400];
		if (b->dropped || b->from_comp < 0 || b->to_comp < 0)
			continue;
		scc = g.comp_of[b->from_comp];
		if (scc != g.comp_of[b->to_comp] || reported[scc])
			continue;
		for (size_t v = 0; v < g.n; v++) {
			if (g.comp_of[v] != scc)
				continue;
			if (c->comps[v].type && c->comps[v].type->breaks_cycles)
				broken = true;
			if (v != (size_t)b->from_comp)
				cyclic = true;
		}
		cyclic = cyclic || b->from_comp == b->to_comp;
		if (!cyclic || broken)
			continue;
		reported[scc] = true;
		describe_cycle(c, &g, (size_t)b->from_comp, path, sizeof path);
		bp_error(c, b->from_node,
			 "bounded queues in a loop can deadlock; route the loop through a Store or "
			 "an APIEndpoint, or remove a binding",
			 "cycle %s is not broken by a Store or an APIEndpoint", path);
	}
	ret = 0;
out:
	free(g.head);
	free(g.next);
	free(g.to);
	free(g.bind);
	free(g.index);
	free(g.low);
	free(g.comp_of);
	free(g.stack);
	free(g.on_stack);
	free(reported);
	return ret;
}

/* ---- network ports --------------------------------------------------------------------- */

static void port_key(json_int_t port, char *key, size_t n)
{
	snprintf(key, n, "%lld", (long long)port);
}

/* A port the blueprint did not number gets the first free one from its default, with a note
 * saying which; the marker is removed from the model. */
static void assign_auto_port(struct bp_ctx *c, json_t *used, size_t i, size_t k, json_t *np)
{
	json_t *mark = json_object_get(np, BP_AUTO_PORT);
	json_t *config = json_object_get(c->comps[i].obj, "config");
	json_int_t port = json_integer_value(json_object_get(np, "port")), p = port;
	char key[32];

	port_key(p, key, sizeof key);
	while (json_object_get(used, key)) {
		p = p >= 65535 ? 1024 : p + 1;
		port_key(p, key, sizeof key);
		if (p == port)
			break;
	}
	bp_note_at(c, (int)json_integer_value(json_object_get(mark, "line")),
		   (int)json_integer_value(json_object_get(mark, "column")),
		   "set the port in the blueprint to choose another", "%s %lld%s",
		   json_string_value(json_object_get(mark, "label")), (long long)p,
		   p == port ? "" : " (the next free port)");
	json_object_set_new(np, "port", json_integer(p));
	if (k == 0 && json_integer_value(json_object_get(config, "port")) == port)
		json_object_set_new(config, "port", json_integer(p));
	json_object_del(np, BP_AUTO_PORT);
	json_object_set_new(used, key, json_integer((json_int_t)i));
}

/* Explicit ports are claimed first (first component wins), so a healed port never takes a
 * port another component asked for; ports the blueprint did not number come last. */
static void heal_port_conflicts(struct bp_ctx *c)
{
	json_t *used = json_object(); /* "port" -> component index */
	char key[32], hint[160];

	for (size_t i = 0; used && i < c->ncomps; i++) {
		size_t k;
		json_t *np;
		json_array_foreach(json_object_get(c->comps[i].obj, "network_ports"), k, np) {
			if (json_object_get(np, BP_AUTO_PORT))
				continue;
			port_key(json_integer_value(json_object_get(np, "port")), key, sizeof key);
			if (!json_object_get(used, key))
				json_object_set_new(used, key, json_integer((json_int_t)i));
		}
	}
	for (size_t i = 0; used && i < c->ncomps; i++) {
		json_t *config = json_object_get(c->comps[i].obj, "config"), *np;
		size_t k;
		json_array_foreach(json_object_get(c->comps[i].obj, "network_ports"), k, np) {
			json_int_t port = json_integer_value(json_object_get(np, "port")), p = port;
			json_t *owner;
			if (json_object_get(np, BP_AUTO_PORT)) {
				assign_auto_port(c, used, i, k, np);
				continue;
			}
			port_key(port, key, sizeof key);
			owner = json_object_get(used, key);
			if (!owner || (size_t)json_integer_value(owner) == i)
				continue;
			do {
				p = p >= 65535 ? 1024 : p + 1;
				port_key(p, key, sizeof key);
			} while (json_object_get(used, key) && p != port);
			snprintf(hint, sizeof hint, "give '%s' its own port in the blueprint",
				 c->comps[i].name);
			bp_heal(c, c->comps[i].port_node ? c->comps[i].port_node : c->comps[i].node,
				hint, "port %lld of '%s' is already used by '%s'; moved to %lld",
				(long long)port, c->comps[i].name,
				c->comps[json_integer_value(owner)].name, (long long)p);
			json_object_set_new(np, "port", json_integer(p));
			if (k == 0 && json_integer_value(json_object_get(config, "port")) == port)
				json_object_set_new(config, "port", json_integer(p));
			json_object_set_new(used, key, json_integer((json_int_t)i));
		}
	}
	json_decref(used);
}

/* Routes that no binding carries lose their messages: worth a warning. */
static void check_router_destinations(struct bp_ctx *c)
{
	for (size_t i = 0; i < c->ncomps; i++) {
		size_t k;
		json_t *p;
		if (!c->comps[i].type || c->comps[i].type->id != CAT_ROUTER)
			continue;
		json_array_foreach(json_object_get(c->comps[i].obj, "outputs"), k, p) {
			const char *name = json_string_value(json_object_get(p, "name"));
			bool bound = false;
			for (size_t b = 0; b < c->nbinds && !bound; b++)
				bound = !c->binds[b].dropped && c->binds[b].from_comp == (long)i &&
					!strcmp(json_string_value(json_object_get(c->binds[b].obj,
										  "from_port")),
						name);
			if (!bound)
				bp_warn(c, c->comps[i].node, NULL,
					"output '%s' of router '%s' is not bound; messages routed there "
					"are dropped", name, c->comps[i].name);
		}
	}
}

/* Controller.store_name names a component: follow renames, report unknown names. */
static void check_store_names(struct bp_ctx *c)
{
	for (size_t i = 0; i < c->ncomps; i++) {
		json_t *config = json_object_get(c->comps[i].obj, "config");
		const char *ref = json_string_value(json_object_get(config, "store_name"));
		const struct ynode *at;
		long idx;
		char role[160];
		if (!ref || !c->comps[i].type || c->comps[i].type->id != CAT_CONTROLLER)
			continue;
		idx = resolve_comp(c, ref);
		if (idx >= 0) {
			json_object_set_new(config, "store_name", json_string(c->comps[idx].name));
			continue;
		}
		at = yget(yget(c->comps[i].node, "config"), "store_name");
		if (!at)
			at = yget(yget(c->comps[i].node, "configuration"), "store_name");
		snprintf(role, sizeof role, "config 'store_name' of component '%s'",
			 c->comps[i].name);
		unknown_component(c, at ? at : c->comps[i].node, role, ref, NULL);
	}
}

static int rebuild_bindings(struct bp_ctx *c)
{
	json_t *system = json_object_get(c->model, "system");
	json_t *list = json_array();

	if (!list)
		return AC_ENOMEM;
	for (size_t i = 0; i < c->nbinds; i++)
		if (!c->binds[i].dropped)
			json_array_append(list, c->binds[i].obj);
	json_object_set_new(system, "bindings", list);
	return 0;
}

int bp_validate(struct bp_ctx *c)
{
	int ret;

	for (size_t i = 0; i < c->nbinds; i++) {
		struct bp_bind *b = &c->binds[i];
		bool ok = resolve_source(c, b);
		ok = resolve_target(c, b) && ok;
		if (!ok)
			b->dropped = true;
	}
	drop_duplicates(c);
	for (size_t i = 0; i < c->nbinds; i++)
		if (!c->binds[i].dropped)
			check_schemas(c, &c->binds[i]);
	ret = check_cycles(c);
	if (ret)
		return ret;
	heal_port_conflicts(c);
	check_router_destinations(c);
	check_store_names(c);
	return rebuild_bindings(c);
}

/*
 * bp_check.c — values of a blueprint checked against key tables (struct cat_key, the shape the
 * catalog uses for component configs): type, range and choice errors with the dotted path of
 * the key ("config 'output.type' of component 'sink'"), defaults filled in, unknown keys kept
 * and reported once; plus the typed scalars every part of the front end shares: expressions
 * (compiled, errors mapped to the column in the YAML file), ports ("${VAR:-8080}") and versions.
 */
#include "core/common.h"
#include "generator/bp_int.h"
#include "generator/runtime/expr.h"

#include <ctype.h>
#include <math.h>
#include <strings.h>

bool bp_is_extension(const char *key)
{
	return !strncmp(key, "x-", 2);
}

bool bp_in_list(const char *const *list, const char *s)
{
	for (; s && *list; list++)
		if (!strcmp(*list, s))
			return true;
	return false;
}

/* Copy the entries of map that `known` does not list into obj, reporting each as ignored. */
void bp_keep_unknown(struct bp_ctx *c, const struct ynode *map, const char *const *known,
			 const char *where, json_t *obj)
{
	map = yderef(map);
	if (!map || map->kind != Y_MAP)
		return;
	for (size_t i = 0; i + 1 < map->n; i += 2) {
		const char *k = ystr(map->kids[i]);
		json_t *v;
		if (!k || bp_in_list(known, k) || json_object_get(obj, k) || bp_is_extension(k))
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
json_t *bp_check_expr(struct bp_ctx *c, const struct ynode *key, const struct ynode *n,
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
int bp_parse_port(struct bp_ctx *c, const struct ynode *n, const char *what, long *port,
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
		char hint[120];
		snprintf(hint, sizeof hint, "write '${%.*s:-8080}'", (int)(p - (s + 2)), s + 2);
		bp_error(c, n, hint, "%s has no default value in '%s'", what, s);
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
			 "%s has no valid default port in '%s'", what, s);
		return -1;
	}
	*port = (long)v;
	return 0;
bad:
	bp_error(c, n, "write \"${VARIABLE:-8080}\"", "%s is not a valid port expression: '%s'",
		 what, s);
	return -1;
}



/* The variable of a "${VAR:-8080}" port as a new string, NULL for plain numbers. */
char *bp_port_env(const char *s)
{
	size_t n = 0;

	if (!s || strncmp(s, "${", 2) != 0)
		return NULL;
	while (isalnum((unsigned char)s[2 + n]) || s[2 + n] == '_')
		n++;
	return n ? strndup(s + 2, n) : NULL;
}

/* The label of key `name` at st: "config 'output.type' of component 'sink'". */
static void site_label(const struct bp_site *st, const char *name, char *buf, size_t n)
{
	snprintf(buf, n, "%s%s'%s%s'%s", st->what, *st->what ? " " : "", st->prefix, name,
		 st->owner);
}

/* The site one level down (object field or list item). */
static struct bp_site site_child(const struct bp_site *st, const char *name, long item, char *buf,
			      size_t n)
{
	struct bp_site sub = *st;
	if (item >= 0)
		snprintf(buf, n, "%s%s[%ld].", st->prefix, name, item);
	else
		snprintf(buf, n, "%s%s.", st->prefix, name);
	sub.prefix = buf;
	return sub;
}

/* Words the original's users wrote for free-form enums (model_type, source_type), mapped to
 * the behaviour that does the job here. A word counts only when its target is a choice of the
 * key being checked. */
static const struct {
	const char *word, *choice;
} enum_words[] = {
	/* Model: anything that scores or classifies is the weighted scorer */
	{ "classifier", "weighted" }, { "classification", "weighted" },
	{ "binary_classifier", "weighted" }, { "scorer", "weighted" }, { "scoring", "weighted" },
	{ "fraud", "weighted" }, { "fraud_detection", "weighted" }, { "fraud_scoring", "weighted" },
	{ "risk", "weighted" }, { "risk_scoring", "weighted" }, { "regression", "weighted" },
	{ "linear", "weighted" }, { "linear_regression", "weighted" },
	{ "logistic_regression", "weighted" }, { "neural_network", "weighted" },
	{ "random_forest", "weighted" }, { "decision_tree", "weighted" }, { "xgboost", "weighted" },
	{ "gradient_boosting", "weighted" }, { "sklearn", "weighted" }, { "tensorflow", "weighted" },
	{ "pytorch", "weighted" }, { "ml", "weighted" }, { "predictive", "weighted" },
	{ "anomaly_detection", "weighted" }, { "rule_based", "weighted" }, { "rules", "weighted" },
	{ "passthrough", "echo" }, { "identity", "echo" }, { "mock", "echo" }, { "noop", "echo" },
	{ "counter", "count" }, { "counting", "count" },
	/* Source: timers and generators emit a sequence; simulated data is random */
	{ "timer", "sequence" }, { "interval", "sequence" }, { "periodic", "sequence" },
	{ "scheduled", "sequence" }, { "schedule", "sequence" }, { "generator", "sequence" },
	{ "counter", "sequence" }, { "synthetic", "sequence" }, { "test", "sequence" },
	{ "simulated", "random" }, { "simulation", "random" }, { "fake", "random" },
	{ "faker", "random" }, { "mock", "random" }, { "csv", "file" }, { "json_file", "file" },
	{ "jsonl", "file" }, { "log", "file" }, { "log_file", "file" }, { "filesystem", "file" },
	{ "webhook", "http" }, { "api", "http" }, { "rest", "http" }, { "rest_api", "http" },
	{ "http_endpoint", "http" }, { "https", "http" },
	/* observability.level */
	{ "verbose", "detailed" }, { "full", "detailed" }, { "high", "detailed" },
	{ "trace", "debug" }, { "minimal", "basic" }, { "low", "basic" }, { "standard", "basic" },
	{ "default", "basic" }, { "normal", "basic" },
};

/* A free-form enum word: mapped (note), or reported and replaced by the default (warning). */
static json_t *free_form_word(struct bp_ctx *c, const struct ynode *v, const struct cat_key *k,
			      const char *label, const char *s, const char *list)
{
	char w[64];
	size_t i;
	const char *def;

	for (i = 0; s[i] && i + 1 < sizeof w; i++)
		w[i] = s[i] == '-' || s[i] == ' ' ? '_' : (char)tolower((unsigned char)s[i]);
	w[i] = '\0';
	for (i = 0; i < AC_ARRAY_SIZE(enum_words); i++) {
		if (strcmp(enum_words[i].word, w) || !bp_in_list(k->choices, enum_words[i].choice))
			continue;
		bp_note(c, yderef(v), NULL, "%s is '%s' (the original's word), read as '%s'", label, s,
			enum_words[i].choice);
		return json_string(enum_words[i].choice);
	}
	for (i = 0; k->choices[i]; i++) {
		char hint[120];
		const char *one[2] = { k->choices[i], NULL };
		if (!bp_suggest(s, one, NULL, hint, sizeof hint))
			continue;
		bp_heal(c, yderef(v), NULL, "%s healed from '%s' to '%s'", label, s, k->choices[i]);
		return json_string(k->choices[i]);
	}
	def = k->choices[0];
	if (k->def && k->def[0] == '"' && strlen(k->def) < sizeof w) {
		snprintf(w, sizeof w, "%.*s", (int)strlen(k->def) - 2, k->def + 1);
		def = w;
	}
	{
		char hint[300];
		snprintf(hint, sizeof hint, "known here: %s", list);
		bp_warn(c, yderef(v), hint, "%s is '%s', which is not a behaviour this generator knows; using '%s'",
			label, s, def);
	}
	return json_string(def);
}

static json_t *check_enum(struct bp_ctx *c, const struct ynode *v, const struct cat_key *k,
			  const char *label)
{
	const char *s = ystr(v);
	char hint[200], list[200] = "";
	size_t off = 0;

	if (s && bp_in_list(k->choices, s))
		return json_string(s);
	for (const char *const *ch = k->choices; s && *ch; ch++) {
		if (!strcasecmp(*ch, s) ||
		    (!strcasecmp(*ch, "warning") && !strcasecmp(s, "warn"))) {
			bp_heal(c, yderef(v), NULL, "%s healed from '%s' to '%s'", label, s, *ch);
			return json_string(*ch);
		}
	}
	for (const char *const *ch = k->choices; *ch; ch++)
		off += (size_t)snprintf(list + off, off < sizeof list ? sizeof list - off : 0, "%s%s",
					ch == k->choices ? "" : ", ", *ch);
	if (k->free_form && s && yis_scalar(v) && *s && strlen(s) < 64)
		return free_form_word(c, v, k, label, s, list);
	bp_error(c, yderef(v), s ? bp_suggest(s, k->choices, NULL, hint, sizeof hint) : NULL,
		 "%s must be one of %s; found %s%s%s", label, list, s ? "'" : "",
		 s ? s : ytype_name(v), s ? "'" : "");
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
		bp_error(c, yderef(v), NULL, "%s is %s, out of range %.15g to %.15g", label, ystr(v),
			 k->min, k->max);
		return NULL;
	}
	return is_int ? json_integer(i) : json_real(d);
}

static json_t *check_list(struct bp_ctx *c, const struct ynode *v, const struct cat_key *k,
			  const char *label, const struct bp_site *st)
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
	if (yis_map(l) && k->fields) {
		/* the original's `routing_rules: {critical: [email, sms]}` (label -> targets) */
		bp_heal(c, l, "write a list of {condition, destination} rules to route by content",
			"%s is a mapping, not a list of rules; it is not evaluated", label);
		return json_array();
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
			struct bp_site sub = site_child(st, k->name, (long)i + 1, prefix, sizeof prefix);
			item = bp_check_map(c, l->kids[i], NULL, k->fields, false, &sub);
		} else {
			item = yto_json(l->kids[i], &c->budget);
		}
		if (item)
			json_array_append_new(arr, item);
	}
	return arr;
}

/* Check one value against its key description; NULL after reporting an error. */
json_t *bp_check_value(struct bp_ctx *c, const struct ynode *key, const struct ynode *v,
			   const struct cat_key *k, const struct bp_site *st)
{
	bool b;
	long port;
	char *env = NULL, label[400], prefix[300];
	struct bp_site sub;

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
		return bp_check_expr(c, key, v, label);
	case CAT_PORT:
		if (bp_parse_port(c, v, label, &port, &env))
			return NULL;
		free(env);
		return json_integer(port);
	case CAT_LIST:
		return check_list(c, v, k, label, st);
	case CAT_OBJECT:
		if (!k->fields && !yis_null(v))
			goto any;
		sub = site_child(st, k->name, -1, prefix, sizeof prefix);
		return bp_check_map(c, yis_null(v) ? NULL : v, NULL, k->fields, k->open, &sub);
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
json_t *bp_check_map(struct bp_ctx *c, const struct ynode *map, const struct ynode *alt,
			 const struct cat_key *keys, bool open, const struct bp_site *st)
{
	json_t *obj;
	const struct ynode *srcs[2] = { yderef(map), yderef(alt) };
	char self[400];

	/* mappings reached through aliases count against the same budget as yto_json() */
	if (c->budget == 0)
		return NULL;
	c->budget--;
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
			val = bp_check_value(c, kn, v, k, st);
		} else if (k->def && k->type == CAT_OBJECT && k->fields) {
			struct bp_site sub = site_child(st, k->name, -1, prefix, sizeof prefix);
			val = bp_check_map(c, NULL, NULL, k->fields, k->open, &sub);
		} else if (k->def) {
			val = catalog_default(k, st->cname);
		} else if (k->required && k->type != CAT_PORT) {
			/* a missing port is reported by norm_network_ports() with a hint */
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
			if (!k || catalog_key(keys, k) || json_object_get(obj, k) || bp_is_extension(k))
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
json_t *bp_norm_version(struct bp_ctx *c, const struct ynode *n, const char *what)
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

/*
 * blueprint.c — blueprint_load(): read, parse (bp_yaml.c), normalise (bp_normalize.c),
 * validate (bp_validate.c), sort the diagnostics; plus the helpers those steps share
 * (positioned diagnostics, heals, "did you mean", snake_case) and the catalog as Markdown.
 */
#include "core/common.h"
#include "generator/bp_int.h"

#include <ctype.h>

/* ---- diagnostics at nodes -------------------------------------------------------------- */

static void vdiag(struct bp_ctx *c, enum bp_severity sev, const struct ynode *n,
		  const char *hint, const char *fmt, va_list ap)
{
	char msg[1024];

	vsnprintf(msg, sizeof msg, fmt, ap);
	bp_diag_add(c->diags, sev, c->file, n ? n->line : 0, n ? n->col : 0, hint, "%s", msg);
}

void bp_error(struct bp_ctx *c, const struct ynode *n, const char *hint, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vdiag(c, BP_ERROR, n, hint, fmt, ap);
	va_end(ap);
}

void bp_warn(struct bp_ctx *c, const struct ynode *n, const char *hint, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vdiag(c, BP_WARNING, n, hint, fmt, ap);
	va_end(ap);
}

void bp_note(struct bp_ctx *c, const struct ynode *n, const char *hint, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vdiag(c, BP_NOTE, n, hint, fmt, ap);
	va_end(ap);
}

void bp_heal(struct bp_ctx *c, const struct ynode *n, const char *hint, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vdiag(c, c->strict ? BP_ERROR : BP_WARNING, n,
	      c->strict ? "--strict: fix this in the blueprint instead of relying on healing" : hint,
	      fmt, ap);
	va_end(ap);
}

void bp_error_at(struct bp_ctx *c, int line, int col, const char *hint, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	bp_diag_add(c->diags, BP_ERROR, c->file, line, col, hint, "%s", msg);
}

void bp_note_at(struct bp_ctx *c, int line, int col, const char *hint, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	bp_diag_add(c->diags, BP_NOTE, c->file, line, col, hint, "%s", msg);
}

void bp_ignored(struct bp_ctx *c, const char *where, const struct ynode *k)
{
	char key[256];
	const char *name = ystr(k);

	if (!name || bp_is_extension(name))
		return;
	snprintf(key, sizeof key, "%s/%s", where, name);
	if (json_object_get(c->ignored, key))
		return;
	json_object_set_new(c->ignored, key, json_true());
	bp_note(c, k, "unknown fields are kept in the normalised blueprint; reported once",
		"field '%s' in %s is not used by the generator and is ignored", name, where);
}

/* ---- names ----------------------------------------------------------------------------- */

const char *bp_suggest(const char *word, const char *const *cands, json_t *jcands, char *buf,
		       size_t n)
{
	const char *best = NULL;
	unsigned best_d = 255;
	size_t wl = strlen(word);

	for (size_t i = 0;; i++) {
		const char *cand = cands ? cands[i] : json_string_value(json_array_get(jcands, i));
		unsigned d;
		if (!cand)
			break;
		d = catalog_distance(word, cand);
		/* "prod" for "production": a prefix is as good as one typo */
		if (wl >= 3 && strlen(cand) > wl && !strncmp(cand, word, wl))
			d = 1;
		if (d < best_d) {
			best_d = d;
			best = cand;
		}
	}
	if (!best || best_d == 0 || best_d > 1 + wl / 3 || best_d >= wl)
		return NULL;
	snprintf(buf, n, "did you mean '%s'?", best);
	return buf;
}

bool bp_is_snake_case(const char *s)
{
	if (!s || !(s[0] >= 'a' && s[0] <= 'z') || strlen(s) > 63)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
			return false;
	return true;
}

char *bp_snake_case(const char *s)
{
	size_t n = strlen(s), k = 0;
	char *out = malloc(2 * n + 1);

	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		unsigned char prev = i ? (unsigned char)s[i - 1] : 0;
		unsigned char nxt = (unsigned char)s[i + 1];
		if (isupper(ch)) {
			if (i && (islower(prev) || isdigit(prev) || (isupper(prev) && islower(nxt))))
				out[k++] = '_';
			out[k++] = (char)tolower(ch);
		} else if (isalnum(ch) && ch < 0x80) {
			out[k++] = (char)ch;
		} else if (k && out[k - 1] != '_') {
			out[k++] = '_';
		}
	}
	while (k && out[k - 1] == '_')
		k--;
	out[k] = '\0';
	/* collapse the runs of '_' a CamelCase boundary next to a separator can create */
	for (size_t i = 0, j = 0;; i++) {
		if (out[i] == '_' && j && out[j - 1] == '_')
			continue;
		out[j++] = out[i];
		if (!out[i])
			break;
	}
	if (out[0] == '_')
		memmove(out, out + 1, strlen(out));
	if (!bp_is_snake_case(out)) {
		free(out);
		return NULL;
	}
	return out;
}

/* ---- load ------------------------------------------------------------------------------ */

static void ctx_release(struct bp_ctx *c)
{
	json_decref(c->model);
	json_decref(c->names);
	json_decref(c->renames);
	json_decref(c->ignored);
	json_decref(c->strings);
	free(c->comps);
	free(c->binds);
}

int blueprint_load_buffer(const char *name, const char *data, size_t len, bool strict,
			  json_t **out, struct bp_diags *diags, struct ac_error *err)
{
	struct bp_ctx c = { .file = name, .diags = diags, .strict = strict };
	struct ydoc *doc = NULL;
	int ret;

	*out = NULL;
	if (len > BLUEPRINT_MAX_BYTES)
		return ac_error_set(err, AC_ETOOBIG, "too_large", "%s: larger than %u bytes", name,
				    BLUEPRINT_MAX_BYTES);
	ret = ydoc_parse(name, data, len, &doc, diags);
	if (ret == AC_ENOMEM)
		return ac_error_set(err, ret, "oom", "out of memory");
	if (ret)
		goto out;
	/* aliases may repeat data, but only linearly more than the file holds */
	c.budget = 4 * doc->nall + 100000;
	c.names = json_object();
	c.renames = json_object();
	c.ignored = json_object();
	c.strings = json_array();
	if (!c.names || !c.renames || !c.ignored || !c.strings) {
		ret = ac_error_set(err, AC_ENOMEM, "oom", "out of memory");
		goto out;
	}
	ret = bp_normalize(&c, doc);
	if (ret == 0)
		ret = bp_validate(&c);
	if (ret == AC_ENOMEM) {
		ac_error_set(err, ret, "oom", "out of memory");
		goto out;
	}
	ret = diags->errors ? AC_EINVAL : 0;
	if (ret == 0) {
		*out = c.model;
		c.model = NULL;
	}
out:
	if (ret == AC_EINVAL && !diags->errors)
		bp_diag_add(diags, BP_ERROR, name, 0, 0, NULL, "blueprint is not valid");
	bp_diags_sort(diags);
	ctx_release(&c);
	ydoc_free(doc);
	return ret;
}

int blueprint_load(const char *path, bool strict, json_t **out, struct bp_diags *diags,
		   struct ac_error *err)
{
	size_t len;
	char *data = ac_read_file(path, BLUEPRINT_MAX_BYTES, &len, err);
	int ret;

	*out = NULL;
	if (!data)
		return err ? err->code : AC_EIO;
	ret = blueprint_load_buffer(path, data, len, strict, out, diags, err);
	free(data);
	return ret;
}

/* ---- catalog as Markdown --------------------------------------------------------------- */

static void markdown_default(FILE *out, const struct cat_key *k)
{
	if (k->required)
		fprintf(out, " **required**");
	else if (k->def)
		fprintf(out, " = `%s`", k->def);
	if (k->ranged)
		fprintf(out, " (%g–%g)", k->min, k->max);
	if (k->choices) {
		fprintf(out, " (");
		for (const char *const *ch = k->choices; *ch; ch++)
			fprintf(out, "%s%s", ch == k->choices ? "" : "\\|", *ch);
		fprintf(out, ")");
	}
}

static void markdown_keys(FILE *out, const struct cat_key *keys, const char *prefix)
{
	for (const struct cat_key *k = keys; k && k->name; k++) {
		fprintf(out, "%s`%s%s` %s", k == keys && !*prefix ? "" : "<br>", prefix, k->name,
			catalog_vtype_name(k->type));
		markdown_default(out, k);
		if (k->fields) {
			char sub[64];
			snprintf(sub, sizeof sub, "%s%s%s", prefix, k->name,
				 k->type == CAT_LIST ? "[]." : ".");
			markdown_keys(out, k->fields, sub);
		}
	}
}

static void markdown_ports(FILE *out, const struct cat_port *p)
{
	if (!p->name)
		fprintf(out, "—");
	for (const struct cat_port *q = p; q->name; q++)
		fprintf(out, "%s`%s`", q == p ? "" : ", ", q->name);
}

void blueprint_catalog_markdown(FILE *out)
{
	fprintf(out, "| type | also accepted | inputs | outputs | config keys (type, default, range) "
		     "| requests |\n|---|---|---|---|---|---|\n");
	for (size_t i = 0; i < catalog_count(); i++) {
		const struct cat_type *t = catalog_at(i);
		fprintf(out, "| **%s** — %s | ", t->name, t->behaviour);
		for (const char *const *a = t->aliases; a && *a; a++)
			fprintf(out, "%s`%s`", a == t->aliases ? "" : ", ", *a);
		fprintf(out, " | ");
		markdown_ports(out, t->inputs);
		if (t->any_inputs)
			fprintf(out, " (any name)");
		fprintf(out, " | ");
		markdown_ports(out, t->outputs);
		fprintf(out, " | ");
		markdown_keys(out, t->keys, "");
		fprintf(out, " | %s / %s |\n", t->cpu_request, t->mem_request);
	}
}

const char *bp_keep(struct bp_ctx *c, const char *s, size_t n)
{
	json_t *v = json_stringn(s, n);

	if (!v || json_array_append_new(c->strings, v))
		return NULL;
	return json_string_value(v);
}

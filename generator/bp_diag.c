/*
 * bp_diag.c — the diagnostics list of the blueprint front end and its renderings: compiler
 * style text ("file:line:col: error: message" + "  hint: ...") and the JSON of
 * `autocoder validate --json`.
 */
#include "core/common.h"
#include "generator/bp_int.h"

void bp_diags_init(struct bp_diags *d)
{
	memset(d, 0, sizeof *d);
}

void bp_diags_free(struct bp_diags *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->n; i++) {
		free(d->v[i].file);
		free(d->v[i].message);
		free(d->v[i].hint);
	}
	free(d->v);
	bp_diags_init(d);
}

void bp_diag_add(struct bp_diags *d, enum bp_severity sev, const char *file, int line,
		 int column, const char *hint, const char *fmt, ...)
{
	struct bp_diag *x;
	char msg[1024];
	va_list ap;

	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 16;
		struct bp_diag *v = realloc(d->v, cap * sizeof *v);
		if (!v)
			return;
		d->v = v;
		d->cap = cap;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	x = &d->v[d->n];
	x->severity = sev;
	x->line = line;
	x->column = column;
	x->file = strdup(file ? file : "blueprint");
	x->message = strdup(msg);
	x->hint = hint ? strdup(hint) : NULL;
	if (!x->file || !x->message || (hint && !x->hint)) {
		free(x->file);
		free(x->message);
		free(x->hint);
		return;
	}
	d->n++;
	if (sev == BP_ERROR)
		d->errors++;
	else if (sev == BP_WARNING)
		d->warnings++;
	else
		d->notes++;
}

static int by_position(const void *a, const void *b)
{
	const struct bp_diag *x = a, *y = b;

	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	if (x->column != y->column)
		return x->column < y->column ? -1 : 1;
	return 0;
}

void bp_diags_sort(struct bp_diags *d)
{
	/* insertion sort: stable, and diagnostics lists are short */
	for (size_t i = 1; i < d->n; i++) {
		struct bp_diag t = d->v[i];
		size_t j = i;
		while (j > 0 && by_position(&d->v[j - 1], &t) > 0) {
			d->v[j] = d->v[j - 1];
			j--;
		}
		d->v[j] = t;
	}
}

static const char *severity_name(enum bp_severity s)
{
	return s == BP_ERROR ? "error" : s == BP_WARNING ? "warning" : "note";
}

void bp_diags_print(const struct bp_diags *d, FILE *out)
{
	for (size_t i = 0; i < d->n; i++) {
		const struct bp_diag *x = &d->v[i];
		if (x->line > 0)
			fprintf(out, "%s:%d:%d: %s: %s\n", x->file, x->line, x->column,
				severity_name(x->severity), x->message);
		else
			fprintf(out, "%s: %s: %s\n", x->file, severity_name(x->severity), x->message);
		if (x->hint)
			fprintf(out, "  hint: %s\n", x->hint);
	}
}

json_t *bp_diags_to_json(const struct bp_diags *d)
{
	json_t *list = json_array();

	for (size_t i = 0; list && i < d->n; i++) {
		const struct bp_diag *x = &d->v[i];
		json_array_append_new(
			list, json_pack("{s:s, s:s, s:i, s:i, s:s, s:s?}", "severity",
					severity_name(x->severity), "file", x->file, "line", x->line,
					"column", x->column, "message", x->message, "hint", x->hint));
	}
	return json_pack("{s:b, s:o}", "ok", d->errors == 0, "diagnostics",
			 list ? list : json_array());
}

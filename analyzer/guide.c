/*
 * guide.c — the debugging guide (see guide.h).
 *
 * The guide is written once through a tiny document writer (headings, paragraphs, lists,
 * tables, code blocks, inline code) with a Markdown and an HTML back end, so both formats
 * always say the same thing. Data comes from three queries per entry: the cluster row with its
 * dimension counts, the 7 daily sums of cluster_hourly, and the newest events.
 */
#include "core/common.h"
#include "core/db.h"
#include "analyzer/analyzer.h"
#include "analyzer/guide.h"
#include "analyzer/clusters.h"
#include "analyzer/rules.h"
#include "analyzer/evidence.h"
#include "analyzer/faults.h"

#include <math.h>

#define BACKED_MIN_EVENTS 10   /* "backed by >= N events" in the guide's confidence line */

#define GUIDE_MAX (16u << 20)
#define MAX_FRAMES_SHOWN 8

/* ---------------------------------------------------------------- document writer */

struct doc {
	enum guide_format fmt;
	struct ac_buf b;
};

static void esc_html(struct doc *d, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&': ac_buf_puts(&d->b, "&amp;"); break;
		case '<': ac_buf_puts(&d->b, "&lt;"); break;
		case '>': ac_buf_puts(&d->b, "&gt;"); break;
		case '"': ac_buf_puts(&d->b, "&quot;"); break;
		default: ac_buf_append(&d->b, s, 1);
		}
	}
}

/* Plain text: Markdown's active characters are backslash-escaped; newlines become spaces. */
static void text(struct doc *d, const char *s)
{
	if (d->fmt == GUIDE_HTML) {
		esc_html(d, s);
		return;
	}
	for (; *s; s++) {
		if (strchr("\\`*_[]<>#|~", *s))
			ac_buf_append(&d->b, "\\", 1);
		ac_buf_append(&d->b, *s == '\n' ? " " : s, 1);
	}
}

static void textf(struct doc *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void textf(struct doc *d, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	text(d, buf);
}

/* The longest run of c in s. */
static size_t longest_run(const char *s, char c)
{
	size_t best = 0, n = 0;
	for (; *s; s++) {
		n = *s == c ? n + 1 : 0;
		if (n > best)
			best = n;
	}
	return best;
}

/* Inline code. Markdown: a backtick fence longer than any run inside (event text cannot
 * close the span early and become markup); '|' escaped so it can sit in a table cell;
 * newlines become spaces. */
static void code(struct doc *d, const char *s)
{
	if (d->fmt == GUIDE_HTML) {
		ac_buf_puts(&d->b, "<code>");
		esc_html(d, s);
		ac_buf_puts(&d->b, "</code>");
		return;
	}
	size_t run = longest_run(s, '`');
	bool tick = run > 0;
	for (size_t i = 0; i <= run; i++)
		ac_buf_puts(&d->b, "`");
	if (tick)
		ac_buf_puts(&d->b, " ");
	for (; *s; s++) {
		if (*s == '|')
			ac_buf_puts(&d->b, "\\|");
		else
			ac_buf_append(&d->b, *s == '\n' ? " " : s, 1);
	}
	if (tick)
		ac_buf_puts(&d->b, " ");
	for (size_t i = 0; i <= run; i++)
		ac_buf_puts(&d->b, "`");
}

static void raw(struct doc *d, const char *s)
{
	ac_buf_puts(&d->b, s);
}

static void heading(struct doc *d, int level, const char *s)
{
	if (d->fmt == GUIDE_HTML) {
		ac_buf_printf(&d->b, "<h%d>", level);
		esc_html(d, s);
		ac_buf_printf(&d->b, "</h%d>\n", level);
		return;
	}
	for (int i = 0; i < level; i++)
		raw(d, "#");
	raw(d, " ");
	text(d, s);
	raw(d, "\n\n");
}

static void para_begin(struct doc *d) { raw(d, d->fmt == GUIDE_HTML ? "<p>" : ""); }
static void para_end(struct doc *d) { raw(d, d->fmt == GUIDE_HTML ? "</p>\n" : "\n\n"); }
static void bold(struct doc *d, const char *s)
{
	raw(d, d->fmt == GUIDE_HTML ? "<strong>" : "**");
	text(d, s);
	raw(d, d->fmt == GUIDE_HTML ? "</strong>" : "**");
}

static void list_begin(struct doc *d, bool ordered)
{
	if (d->fmt == GUIDE_HTML)
		raw(d, ordered ? "<ol>\n" : "<ul>\n");
}
static void list_end(struct doc *d, bool ordered)
{
	raw(d, d->fmt == GUIDE_HTML ? (ordered ? "</ol>\n" : "</ul>\n") : "\n");
}
static void item_begin(struct doc *d, bool ordered, size_t n)
{
	if (d->fmt == GUIDE_HTML)
		raw(d, "<li>");
	else if (ordered)
		ac_buf_printf(&d->b, "%zu. ", n);
	else
		raw(d, "- ");
}
static void item_end(struct doc *d) { raw(d, d->fmt == GUIDE_HTML ? "</li>\n" : "\n"); }

/* A fenced block; in Markdown inside a list item it is indented by `indent` spaces. */
static void pre(struct doc *d, const char *lang, const char *body, int indent)
{
	if (d->fmt == GUIDE_HTML) {
		raw(d, "<pre>");
		esc_html(d, body);
		raw(d, "</pre>\n");
		return;
	}
	/* a backtick fence longer than any backtick run in the body: no line of event text can
	 * close it (a closing fence needs at least as many backticks) */
	char fence[72];
	size_t flen = longest_run(body, '`') + 1;
	if (flen < 3)
		flen = 3;
	if (flen >= sizeof fence)
		flen = sizeof fence - 1;   /* runs that long: body cut below keeps them shorter */
	memset(fence, '`', flen);
	fence[flen] = '\0';
	if (indent)   /* inside a list item: the block starts on its own line */
		raw(d, "\n");
	ac_buf_printf(&d->b, "%*s%s%s\n%*s", indent, "", fence, lang, indent, "");
	for (const char *s = body, *run_start = NULL; *s; s++) {
		/* a backtick run as long as the (capped) fence is broken with a space */
		run_start = *s == '`' ? (run_start ? run_start : s) : NULL;
		if (run_start && (size_t)(s - run_start) + 1 >= flen && flen == sizeof fence - 1) {
			raw(d, " ");
			run_start = s;
		}
		ac_buf_append(&d->b, s, 1);
		if (*s == '\n' && s[1])
			ac_buf_printf(&d->b, "%*s", indent, "");
	}
	if (!*body || body[strlen(body) - 1] != '\n')
		raw(d, "\n");
	ac_buf_printf(&d->b, "%*s%s\n", indent, "", fence);
}

static void table_begin(struct doc *d, const char *const *cols)
{
	size_t n = 0;
	raw(d, d->fmt == GUIDE_HTML ? "<table>\n<tr>" : "|");
	for (; cols[n]; n++) {
		raw(d, d->fmt == GUIDE_HTML ? "<th>" : " ");
		text(d, cols[n]);
		raw(d, d->fmt == GUIDE_HTML ? "</th>" : " |");
	}
	if (d->fmt == GUIDE_HTML) {
		raw(d, "</tr>\n");
		return;
	}
	raw(d, "\n|");
	for (size_t i = 0; i < n; i++)
		raw(d, "---|");
	raw(d, "\n");
}
static void row_begin(struct doc *d) { raw(d, d->fmt == GUIDE_HTML ? "<tr>" : "|"); }
static void cell_begin(struct doc *d) { raw(d, d->fmt == GUIDE_HTML ? "<td>" : " "); }
static void cell_end(struct doc *d) { raw(d, d->fmt == GUIDE_HTML ? "</td>" : " |"); }
static void row_end(struct doc *d) { raw(d, d->fmt == GUIDE_HTML ? "</tr>\n" : "\n"); }
static void table_end(struct doc *d) { raw(d, d->fmt == GUIDE_HTML ? "</table>\n" : "\n"); }
static void cell_text(struct doc *d, const char *s)
{
	cell_begin(d);
	text(d, s);
	cell_end(d);
}

/* ---------------------------------------------------------------- data */

struct entry {
	long long id;
	char *kind, *title, *basis, *rule_id, *tmpl;
	long long count, systems, components, releases, last24;
	double first_seen, last_seen;
	int level;
	bool known;    /* a loaded rule matched (or a rule id is stored, when no rules) */
};

static void entry_release(struct entry *e)
{
	free(e->kind);
	free(e->title);
	free(e->basis);
	free(e->rule_id);
	free(e->tmpl);
}

static char *col_dup(ac_sql_stmt *st, int i)
{
	const unsigned char *s = ac_sql_column_text(st, i);
	return s ? strdup((const char *)s) : NULL;
}

static long long now_hour(double now)
{
	return (long long)floor(now / 3600.0);
}

/* The ranked clusters of the guide. */
static int load_entries(ac_sql *db, const struct rules *rules, const struct guide_options *o,
			double now, struct entry **out, size_t *n, long long *total_events,
			struct ac_error *err)
{
	static const char sql[] =
		"SELECT c.id, c.kind, c.title, c.basis, c.rule_id, c.template, c.count,"
		" (SELECT COUNT(*) FROM cluster_dims d WHERE d.cluster_id=c.id AND d.dim='system') AS ns,"
		" (SELECT COUNT(*) FROM cluster_dims d WHERE d.cluster_id=c.id AND d.dim='component'),"
		" (SELECT COUNT(*) FROM cluster_dims d WHERE d.cluster_id=c.id AND d.dim='release'),"
		" (SELECT COALESCE(SUM(h.count),0) FROM cluster_hourly h WHERE h.cluster_id=c.id"
		"  AND h.hour > ?1 - 24 AND h.hour <= ?1) AS l24,"
		" c.first_seen, c.last_seen, c.max_level"
		" FROM clusters c WHERE c.merged_into IS NULL AND c.split=0 AND c.status='open'"
		" AND c.count > 0 AND (c.kind IN ('error','crash') OR c.max_level >= 2)"
		" AND (?2 < 0 OR c.project_id = ?2)"
		/* an expression over columns, not over the alias ns (PostgreSQL) */
		" ORDER BY c.count * MAX((SELECT COUNT(*) FROM cluster_dims d WHERE d.cluster_id=c.id"
		" AND d.dim='system'), 1) DESC, l24 DESC, c.id LIMIT ?3";
	ac_sql_stmt *st = NULL;
	struct entry *v;
	size_t len = 0;
	unsigned limit = o->limit ? o->limit : 25;
	int step, rc = 0;

	*out = v = calloc(limit, sizeof *v);
	*n = 0;
	*total_events = 0;
	if (!v)
		return ac_error_set(err, AC_ENOMEM, "internal", "out of memory");
	if (ac_sql_prepare_v2(db, sql, -1, &st, NULL) != AC_SQL_OK)
		return ac_db_error(db, err, "reading clusters for the guide");
	ac_sql_bind_int64(st, 1, now_hour(now));
	ac_sql_bind_int64(st, 2, o->project);
	ac_sql_bind_int64(st, 3, limit);
	while ((step = ac_sql_step(st)) == AC_SQL_ROW && len < limit) {
		struct entry *e = &v[len++];
		e->id = ac_sql_column_int64(st, 0);
		e->kind = col_dup(st, 1);
		e->title = col_dup(st, 2);
		e->basis = col_dup(st, 3);
		e->rule_id = col_dup(st, 4);
		e->tmpl = col_dup(st, 5);
		e->count = ac_sql_column_int64(st, 6);
		e->systems = ac_sql_column_int64(st, 7);
		e->components = ac_sql_column_int64(st, 8);
		e->releases = ac_sql_column_int64(st, 9);
		e->last24 = ac_sql_column_int64(st, 10);
		e->first_seen = ac_sql_column_double(st, 11);
		e->last_seen = ac_sql_column_double(st, 12);
		e->level = ac_sql_column_int(st, 13);
		e->known = e->rule_id && (!rules || rules_find(rules, e->rule_id));
		*total_events += e->count;
	}
	if (step != AC_SQL_ROW && step != AC_SQL_DONE)
		rc = ac_db_error(db, err, "reading clusters for the guide");
	ac_sql_finalize(st);
	*n = len;
	return rc;
}

/* "api (3), worker (1)" for the top values of a dimension. */
static int dim_summary(ac_sql *db, long long id, const char *dim, struct ac_buf *out)
{
	ac_sql_stmt *st = NULL;
	int i = 0;

	if (ac_sql_prepare_v2(db, "SELECT value, count FROM cluster_dims WHERE cluster_id=?1 AND"
				   " dim=?2 ORDER BY count DESC, value LIMIT 4", -1, &st, NULL) != AC_SQL_OK)
		return AC_EDB;
	ac_sql_bind_int64(st, 1, id);
	ac_sql_bind_text(st, 2, dim, -1, AC_SQL_STATIC);
	while (ac_sql_step(st) == AC_SQL_ROW) {
		if (i++ == 3) {
			ac_buf_puts(out, ", ...");
			break;
		}
		ac_buf_printf(out, "%s%s (%lld)", i > 1 ? ", " : "", ac_sql_column_text(st, 0),
			      (long long)ac_sql_column_int64(st, 1));
	}
	ac_sql_finalize(st);
	return 0;
}

/* Events per day for the 7 days ending at now's hour, oldest first. */
static int week(ac_sql *db, long long id, double now, long long days[7])
{
	ac_sql_stmt *st = NULL;
	long long h = now_hour(now);

	memset(days, 0, 7 * sizeof *days);
	if (ac_sql_prepare_v2(db, "SELECT hour, count FROM cluster_hourly WHERE cluster_id=?1"
				   " AND hour > ?2 - 168 AND hour <= ?2", -1, &st, NULL) != AC_SQL_OK)
		return AC_EDB;
	ac_sql_bind_int64(st, 1, id);
	ac_sql_bind_int64(st, 2, h);
	while (ac_sql_step(st) == AC_SQL_ROW) {
		long long age = (h - ac_sql_column_int64(st, 0)) / 24;   /* 0..6 */
		days[6 - age] += ac_sql_column_int64(st, 1);
	}
	ac_sql_finalize(st);
	return 0;
}

static const char *trend_word(const long long days[7])
{
	long long before = 0;
	double avg;

	for (int i = 0; i < 6; i++)
		before += days[i];
	avg = before / 6.0;
	if (before == 0 && days[6] == 0)
		return "quiet: no events in the last 7 days";
	if (before == 0)
		return "new in the last 24 hours";
	if (days[6] > 1.5 * avg)
		return "rising";
	if (days[6] < 0.5 * avg)
		return "falling";
	return "steady";
}

static void time_str(double t, char *buf, size_t n)
{
	ac_format_iso8601(t, buf, n);
	/* minutes are enough to read; keep "YYYY-MM-DD HH:MM UTC" */
	if (strlen(buf) >= 16) {
		buf[10] = ' ';
		snprintf(buf + 16, n - 16, " UTC");
	}
}

/* ---------------------------------------------------------------- sections */

static void numbers(struct doc *d, ac_sql *db, const struct entry *e, double now)
{
	static const char *const cols[] = { "events", "systems", "components", "releases",
					    "first seen", "last seen", NULL };
	struct ac_buf sys, comp, rel;
	long long days[7];
	char buf[64], first[40], last[40];

	ac_buf_init(&sys, 4096);
	ac_buf_init(&comp, 4096);
	ac_buf_init(&rel, 4096);
	dim_summary(db, e->id, "system", &sys);
	dim_summary(db, e->id, "component", &comp);
	dim_summary(db, e->id, "release", &rel);
	time_str(e->first_seen, first, sizeof first);
	time_str(e->last_seen, last, sizeof last);
	table_begin(d, cols);
	row_begin(d);
	snprintf(buf, sizeof buf, "%lld", e->count);
	cell_text(d, buf);
	cell_begin(d);
	textf(d, "%lld", e->systems);
	if (sys.len)
		textf(d, ": %s", sys.data);
	cell_end(d);
	cell_begin(d);
	textf(d, "%lld", e->components);
	if (comp.len)
		textf(d, ": %s", comp.data);
	cell_end(d);
	cell_begin(d);
	textf(d, "%lld", e->releases);
	if (rel.len)
		textf(d, ": %s", rel.data);
	cell_end(d);
	cell_text(d, first);
	cell_text(d, last);
	row_end(d);
	table_end(d);
	week(db, e->id, now, days);
	para_begin(d);
	bold(d, "7-day trend");
	text(d, " (events per day, oldest first, the last day ending at the time of this guide): ");
	for (int i = 0; i < 7; i++)
		textf(d, "%s%lld", i ? " · " : "", days[i]);
	textf(d, " — %s.", trend_word(days));
	para_end(d);
	ac_buf_release(&sys);
	ac_buf_release(&comp);
	ac_buf_release(&rel);
}

/* "worked 4 of 5 (95 % lower bound 0.38)" after a fix step with reports. */
static void step_feedback(struct doc *d, const struct fix_feedback *f)
{
	long long n = f->worked + f->failed;
	if (!n)
		return;
	textf(d, " (users: worked %lld of %lld, 95%% lower bound %.2f)", f->worked, n, f->lower);
}

static void rule_advice(struct doc *d, const struct rule *r, const struct entry_feedback *fb)
{
	size_t n = rule_cause_count(r);
	size_t order[EVIDENCE_MAX_STEPS];

	if (n) {
		heading(d, 4, "Causes");
		list_begin(d, false);
		for (size_t i = 0; i < n; i++) {
			item_begin(d, false, i + 1);
			text(d, rule_cause(r, i));
			item_end(d);
		}
		list_end(d, false);
	}
	n = rule_fix_count(r);
	if (n) {
		heading(d, 4, "Fix");
		if (n > EVIDENCE_MAX_STEPS)
			n = EVIDENCE_MAX_STEPS;
		evidence_fix_order(fb, n, order);
		if (fb->worked + fb->failed) {
			para_begin(d);
			textf(d, "Ordered by what users reported (%lld report%s); the rule's step number "
			      "is in brackets.", fb->worked + fb->failed,
			      fb->worked + fb->failed == 1 ? "" : "s");
			para_end(d);
		}
		list_begin(d, true);
		for (size_t k = 0; k < n; k++) {
			size_t i = order[k];
			item_begin(d, true, k + 1);
			if (fb->worked + fb->failed)
				textf(d, "[%zu] ", i + 1);
			text(d, rule_fix_step(r, i));
			step_feedback(d, &fb->step[i]);
			if (rule_fix_command(r, i))
				pre(d, "sh", rule_fix_command(r, i), 3);
			item_end(d);
		}
		list_end(d, true);
	}
	n = rule_reference_count(r);
	if (n) {
		para_begin(d);
		text(d, "References: ");
		for (size_t i = 0; i < n; i++) {
			if (i)
				text(d, ", ");
			text(d, rule_reference(r, i));
		}
		para_end(d);
	}
}

/* Newest user comments and the causes users reported that no rule names. */
static void user_feedback(struct doc *d, const struct entry_feedback *fb)
{
	size_t i;
	json_t *c;

	if (json_array_size(fb->comments)) {
		heading(d, 4, "What users said");
		list_begin(d, false);
		json_array_foreach(fb->comments, i, c) {
			item_begin(d, false, i + 1);
			textf(d, "%s, fix step %lld, %s: ",
			      !strcmp(json_string_value(json_object_get(c, "outcome")), "worked")
				      ? "worked" : "did not work",
			      (long long)json_integer_value(json_object_get(c, "fix")),
			      json_string_value(json_object_get(c, "at")));
			textf(d, "\u201c%.400s\u201d", json_string_value(json_object_get(c, "text")));
			item_end(d);
		}
		list_end(d, false);
	}
	if (json_array_size(fb->other_causes)) {
		heading(d, 4, "Other causes users reported (no rule names them)");
		list_begin(d, false);
		json_array_foreach(fb->other_causes, i, c) {
			item_begin(d, false, i + 1);
			textf(d, "%s: \u201c%.400s\u201d", json_string_value(json_object_get(c, "at")),
			      json_string_value(json_object_get(c, "text")));
			item_end(d);
		}
		list_end(d, false);
	}
}

/* "Validated by fault injection on DATE (n events)", stale, or not yet. */
static void validation(struct doc *d, ac_sql *db, const char *rule)
{
	struct fault_validation v;

	if (faults_rule_validation(db, rule, &v, NULL))
		return;
	para_begin(d);
	bold(d, "Validation");
	text(d, ": ");
	if (v.validated)
		textf(d, "validated by fault injection on %s (%lld event%s, fault %s).", v.date,
		      v.events, v.events == 1 ? "" : "s", v.fault);
	else if (v.stale)
		textf(d, "STALE: the newest run of fault %s no longer produces this rule (last "
		      "validated %s); check the rule against what the system reports now.",
		      v.fault, v.date);
	else if (v.any)
		textf(d, "not validated: fault %s did not produce this rule.", v.fault);
	else
		text(d, "not yet validated by fault injection.");
	para_end(d);
}

static const char *jstr(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}


/* Frames innermost (the crash site) first, as people read a backtrace. */
static void stack_text(const json_t *ev, struct ac_buf *b)
{
	const json_t *frames = json_object_get(json_object_get(ev, "exception"), "frames");
	size_t n = json_array_size(frames), shown = 0;

	for (size_t i = n; i-- > 0 && shown < MAX_FRAMES_SHOWN; shown++) {
		const json_t *f = json_array_get(frames, i);
		const char *fn = jstr(f, "function"), *file = jstr(f, "file");
		json_int_t line = json_integer_value(json_object_get(f, "line"));
		ac_buf_printf(b, "at %s", fn ? fn : "?");
		if (file && line)
			ac_buf_printf(b, " (%s:%lld)", file, (long long)line);
		else if (file)
			ac_buf_printf(b, " (%s)", file);
		ac_buf_puts(b, "\n");
	}
	if (n > shown)
		ac_buf_printf(b, "... %zu more frames\n", n - shown);
}

/* Up to three newest events; *example receives the newest one's text (for a suggestion). */
static int examples(struct doc *d, ac_sql *db, long long id, char **example)
{
	ac_sql_stmt *st = NULL;
	json_error_t je;
	size_t i = 0;

	*example = NULL;
	if (ac_sql_prepare_v2(db, "SELECT raw, timestamp FROM events WHERE cluster_id=?1"
				   " ORDER BY id DESC LIMIT 3", -1, &st, NULL) != AC_SQL_OK)
		return AC_EDB;
	ac_sql_bind_int64(st, 1, id);
	heading(d, 4, "Examples");
	list_begin(d, false);
	while (ac_sql_step(st) == AC_SQL_ROW) {
		json_t *ev = json_loads((const char *)ac_sql_column_text(st, 0), 0, &je);
		struct ac_buf t, stack;
		char when[40];

		ac_buf_init(&t, 1 << 20);
		ac_buf_init(&stack, 1 << 20);
		analyzer_event_text(ev, &t);
		stack_text(ev, &stack);
		time_str(ac_sql_column_double(st, 1), when, sizeof when);
		item_begin(d, false, ++i);
		textf(d, "%s, %s", when, jstr(ev, "level") ? jstr(ev, "level") : "?");
		if (jstr(ev, "system"))
			textf(d, ", system %s", jstr(ev, "system"));
		if (jstr(ev, "component"))
			textf(d, ", component %s", jstr(ev, "component"));
		if (jstr(ev, "release"))
			textf(d, ", release %s", jstr(ev, "release"));
		text(d, ": ");
		if (t.len > 500) {   /* a long message is cut at a character boundary */
			size_t cut = 500;
			while (cut > 0 && ((unsigned char)t.data[cut] & 0xC0) == 0x80)
				cut--;
			t.data[cut] = '\0';
		}
		code(d, t.data ? t.data : "");
		if (stack.len)
			pre(d, "", stack.data, 2);
		item_end(d);
		if (!*example && t.data)
			*example = strdup(t.data);
		ac_buf_release(&t);
		ac_buf_release(&stack);
		json_decref(ev);
	}
	list_end(d, false);
	ac_sql_finalize(st);
	return 0;
}

static void suggestion(struct doc *d, const struct entry *e, const char *example)
{
	struct ac_error err;
	char id[64], *yaml, *pattern;

	snprintf(id, sizeof id, "local.cluster-%lld", e->id);
	heading(d, 4, "Suggested rule");
	yaml = example && e->tmpl ? rules_suggest_rule(id, e->tmpl, example, &err) : NULL;
	if (yaml) {
		para_begin(d);
		text(d, "No rule matches this pattern yet. A starting point to paste into a pack's ");
		code(d, "rules:");
		text(d, " list (fill in the causes and fix steps):");
		para_end(d);
		pre(d, "yaml", yaml, 0);
		raw(d, "\n");
		free(yaml);
		return;
	}
	pattern = e->tmpl ? rules_pattern_from_template(e->tmpl) : NULL;
	para_begin(d);
	text(d, "No rule matches this pattern yet");
	if (pattern) {
		text(d, "; a pattern derived from its template: ");
		code(d, pattern);
	}
	text(d, ".");
	para_end(d);
	free(pattern);
}

static void entry_section(struct doc *d, ac_sql *db, const struct rules *rules,
			  const struct entry *e, size_t rank, double now, long long project)
{
	const struct rule *r = e->rule_id && rules ? rules_find(rules, e->rule_id) : NULL;
	char head[512], *example = NULL;
	bool site = e->basis && (!strcmp(e->basis, "in_app_frames") || !strcmp(e->basis, "all_frames"));

	if (r && site)   /* several crash sites can share a rule: name the site too */
		snprintf(head, sizeof head, "%zu. %.200s: %.200s (cluster %lld)", rank, rule_title(r),
			 e->title ? e->title : "?", e->id);
	else
		snprintf(head, sizeof head, "%zu. %.300s (cluster %lld)", rank,
			 r ? rule_title(r) : (e->title ? e->title : "?"), e->id);
	heading(d, 3, head);
	para_begin(d);
	bold(d, site ? "Crash site" : "Symptom");
	text(d, ": ");
	code(d, site && e->title ? e->title : (e->tmpl ? e->tmpl : (e->title ? e->title : "")));
	textf(d, " (%s, highest level %s).", e->kind ? e->kind : "?", cluster_level_name(e->level));
	para_end(d);
	para_begin(d);
	bold(d, "How well-backed");
	text(d, ": ");
	if (r)
		textf(d, "matched rule %s (%s, %s pack, %s severity) on %lld observation%s.",
		      rule_id(r), rule_title(r), rule_pack(r), rule_severity_name(rule_severity(r)),
		      e->count, e->count == 1 ? "" : "s");
	else if (e->rule_id)
		textf(d, "matched rule %s (not loaded now) on %lld observation%s.", e->rule_id,
		      e->count, e->count == 1 ? "" : "s");
	else
		textf(d, "no rule matches; %lld observation%s, grouped by %s.", e->count,
		      e->count == 1 ? "" : "s", e->basis ? e->basis : "?");
	para_end(d);
	if (e->rule_id)
		validation(d, db, e->rule_id);
	numbers(d, db, e, now);
	struct entry_feedback fb;
	evidence_feedback(db, e->rule_id, e->id, project, &fb, NULL);
	if (r)
		rule_advice(d, r, &fb);
	user_feedback(d, &fb);
	evidence_feedback_release(&fb);
	examples(d, db, e->id, &example);
	if (!e->known)
		suggestion(d, e, example);
	free(example);
}

static void summary_table(struct doc *d, const struct entry *v, size_t n, const struct rules *rules)
{
	static const char *const cols[] = { "rank", "cluster", "problem", "events", "systems",
					    "last 24 h", "rule", NULL };
	char buf[64];

	table_begin(d, cols);
	for (size_t i = 0; i < n; i++) {
		const struct rule *r = v[i].rule_id && rules ? rules_find(rules, v[i].rule_id) : NULL;
		row_begin(d);
		snprintf(buf, sizeof buf, "%zu", i + 1);
		cell_text(d, buf);
		snprintf(buf, sizeof buf, "%lld", v[i].id);
		cell_text(d, buf);
		cell_begin(d);
		if (r)
			text(d, rule_title(r));
		else
			code(d, v[i].title ? v[i].title : "");
		cell_end(d);
		snprintf(buf, sizeof buf, "%lld", v[i].count);
		cell_text(d, buf);
		snprintf(buf, sizeof buf, "%lld", v[i].systems);
		cell_text(d, buf);
		snprintf(buf, sizeof buf, "%lld", v[i].last24);
		cell_text(d, buf);
		cell_begin(d);
		if (v[i].rule_id)
			code(d, v[i].rule_id);
		else
			text(d, "unknown pattern");
		cell_end(d);
		row_end(d);
	}
	table_end(d);
}

static void document_begin(struct doc *d)
{
	if (d->fmt == GUIDE_HTML)
		raw(d, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
		       "<title>Debugging guide</title>\n<style>\n"
		       "body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;"
		       "padding:0 1rem;line-height:1.45}\n"
		       "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2rem .5rem;"
		       "text-align:left;vertical-align:top}\n"
		       "pre{background:#f5f5f5;padding:.5rem;overflow:auto}code{background:#f5f5f5}\n"
		       "</style>\n</head>\n<body>\n");
}

static void document_end(struct doc *d)
{
	if (d->fmt == GUIDE_HTML)
		raw(d, "</body>\n</html>\n");
}

/* The figures of one entry for guide_stats and the guide's header. */
static void entry_evidence(ac_sql *db, const struct entry *e, long long project,
			   struct guide_stats *st)
{
	struct fault_validation v = { 0 };
	struct entry_feedback fb;
	bool backed = e->count >= st->min_events, valid = false, positive;

	st->entries++;
	if (e->rule_id) {
		st->with_rule++;
		if (!faults_rule_validation(db, e->rule_id, &v, NULL)) {
			valid = v.validated;
			st->stale += v.stale;
		}
	}
	evidence_feedback(db, e->rule_id, e->id, project, &fb, NULL);
	positive = fb.worked >= 1 && fb.worked > fb.failed;
	evidence_feedback_release(&fb);
	st->backed += backed;
	st->validated += valid;
	st->positive += positive;
	st->all += backed && valid && positive;
}

static double pct(long long k, long long n)
{
	return n ? 100.0 * (double)k / (double)n : 0;
}

static void confidence_line(struct doc *d, ac_sql *db, const struct entry *v, size_t n,
			    long long project)
{
	struct guide_stats st = { .min_events = BACKED_MIN_EVENTS };
	for (size_t i = 0; i < n; i++)
		entry_evidence(db, &v[i], project, &st);
	para_begin(d);
	bold(d, "Documentation confidence");
	textf(d, ": of %lld entries, %lld (%.0f%%) are backed by at least %u events, %lld (%.0f%%) "
	      "are validated by fault injection, %lld (%.0f%%) have positive user feedback; %lld "
	      "(%.0f%%) all three (autocoder guide --stats).", st.entries, st.backed,
	      pct(st.backed, st.entries), st.min_events, st.validated, pct(st.validated, st.entries),
	      st.positive, pct(st.positive, st.entries), st.all, pct(st.all, st.entries));
	para_end(d);
}

static void write_guide(struct doc *d, ac_sql *db, const struct rules *rules, struct entry *v,
			size_t n, long long total, double now, long long project)
{
	char when[40];
	size_t known = 0;

	for (size_t i = 0; i < n; i++)
		known += v[i].known;
	time_str(now, when, sizeof when);
	document_begin(d);
	heading(d, 1, "Debugging guide");
	para_begin(d);
	textf(d, "Generated %s from the stored cluster counts: %zu open problem%s with %lld event%s"
		 " (%zu recognised by a rule, %zu unknown pattern%s). Ranked by impact: events times"
		 " systems affected, then events in the last 24 hours.",
	      when, n, n == 1 ? "" : "s", total, total == 1 ? "" : "s", known, n - known,
	      n - known == 1 ? "" : "s");
	para_end(d);
	if (n == 0) {
		para_begin(d);
		text(d, "No open clusters of warnings, errors or crashes.");
		para_end(d);
		document_end(d);
		return;
	}
	confidence_line(d, db, v, n, project);
	summary_table(d, v, n, rules);
	if (known) {
		heading(d, 2, "Known problems");
		for (size_t i = 0; i < n; i++)
			if (v[i].known)
				entry_section(d, db, rules, &v[i], i + 1, now, project);
	}
	if (known < n) {
		heading(d, 2, "Unknown patterns");
		para_begin(d);
		text(d, "No rule recognises these yet. Each comes with a suggested rule derived from its"
			" template; add causes and fix steps, then run ");
		code(d, "autocoder rules test");
		text(d, ".");
		para_end(d);
		for (size_t i = 0; i < n; i++)
			if (!v[i].known)
				entry_section(d, db, rules, &v[i], i + 1, now, project);
	}
	document_end(d);
}

int guide_render(ac_sql *db, const struct rules *rules, const struct guide_options *o,
		 char **out, size_t *len, struct ac_error *err)
{
	struct doc d = { .fmt = o->format };
	struct entry *v = NULL;
	size_t n = 0;
	long long total = 0;
	double now = o->now > 0 ? o->now : ac_now();
	int rc;

	*out = NULL;
	ac_buf_init(&d.b, GUIDE_MAX);
	if ((rc = load_entries(db, rules, o, now, &v, &n, &total, err)))
		goto out;
	write_guide(&d, db, rules, v, n, total, now, o->project);
	if (d.b.len + 1 >= GUIDE_MAX) {
		rc = ac_error_set(err, AC_ETOOBIG, "too_big", "the guide is larger than %u bytes", GUIDE_MAX);
		goto out;
	}
	*out = ac_buf_detach(&d.b, len);
	if (!*out)
		rc = ac_error_set(err, AC_ENOMEM, "internal", "out of memory");
out:
	for (size_t i = 0; i < n; i++)
		entry_release(&v[i]);
	free(v);
	ac_buf_release(&d.b);
	return rc;
}

int guide_stats(ac_sql *db, const struct rules *rules, const struct guide_options *o,
		unsigned min_events, struct guide_stats *st, struct ac_error *err)
{
	struct entry *v = NULL;
	size_t n = 0;
	long long total = 0;
	double now = o->now > 0 ? o->now : ac_now();
	int rc;

	memset(st, 0, sizeof *st);
	st->min_events = min_events ? min_events : BACKED_MIN_EVENTS;
	if (!(rc = load_entries(db, rules, o, now, &v, &n, &total, err)))
		for (size_t i = 0; i < n; i++)
			entry_evidence(db, &v[i], o->project, st);
	for (size_t i = 0; i < n; i++)
		entry_release(&v[i]);
	free(v);
	return rc;
}

int guide_parse_format(const char *s, enum guide_format *out)
{
	if (!s || !*s || !strcmp(s, "md") || !strcmp(s, "markdown")) {
		*out = GUIDE_MARKDOWN;
		return 0;
	}
	if (!strcmp(s, "html")) {
		*out = GUIDE_HTML;
		return 0;
	}
	return AC_EINVAL;
}

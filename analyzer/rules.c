/*
 * rules.c — matching events against loaded rules, precedence, and the rule accessors.
 *
 * An event is first reduced to a `subject`: one string per field (the message synthesised
 * from the exception when absent) plus the exception's frames. The prefilter (rules_screen.c)
 * proposes candidate rules; candidates are evaluated in precedence order (rank) and the first
 * rule whose conditions all hold wins, so the result is the same as evaluating every rule and
 * picking the best. Captures are copied into the caller's rule_match so the result does not
 * point into the event.
 */
#include "core/common.h"
#include "analyzer/rules_int.h"

static const char *const field_names[RULE_F_COUNT] = {
	"message", "exception_type", "exception_value", "frame_function",
	"logger", "level", "component", "system",
};

/* Synthesised "<type>: <value>" messages longer than this are truncated. */
#define SUBJECT_MSG_BYTES 4096
#define MAX_CANDIDATES 64

struct subject {
	const char *val[RULE_F_COUNT];
	size_t len[RULE_F_COUNT];
	const json_t *frames; /* array or NULL */
	char msgbuf[SUBJECT_MSG_BYTES];
};

const char *rule_field_name(enum rule_field f)
{
	return (unsigned)f < RULE_F_COUNT ? field_names[f] : NULL;
}

int rule_field_parse(const char *name)
{
	for (int i = 0; i < RULE_F_COUNT; i++)
		if (!strcmp(name, field_names[i]))
			return i;
	return -1;
}

const char *rule_severity_name(enum rule_severity s)
{
	switch (s) {
	case RULE_SEV_INFO: return "info";
	case RULE_SEV_WARNING: return "warning";
	case RULE_SEV_ERROR: return "error";
	case RULE_SEV_CRITICAL: return "critical";
	}
	return "unknown";
}

/* --- subjects ---------------------------------------------------------------------------- */

static void subject_set(struct subject *s, enum rule_field f, const json_t *v)
{
	if (json_is_string(v)) {
		s->val[f] = json_string_value(v);
		s->len[f] = json_string_length(v);
	}
}

/* The exception object of an event: {type, value, frames} or Sentry's {values: [...]}, whose
 * last element is the outermost exception. */
static const json_t *event_exception(const json_t *event)
{
	const json_t *exc = json_object_get(event, "exception");
	const json_t *values = json_object_get(exc, "values");
	if (json_is_array(values) && json_array_size(values) > 0)
		exc = json_array_get(values, json_array_size(values) - 1);
	return json_is_object(exc) ? exc : NULL;
}

static void subject_synthesise_message(struct subject *s)
{
	const char *t = s->val[RULE_F_EXCEPTION_TYPE], *v = s->val[RULE_F_EXCEPTION_VALUE];
	int n;
	if (t && v)
		n = snprintf(s->msgbuf, sizeof s->msgbuf, "%s: %s", t, v);
	else if (t || v)
		n = snprintf(s->msgbuf, sizeof s->msgbuf, "%s", t ? t : v);
	else
		return;
	if (n < 0)
		return;
	s->val[RULE_F_MESSAGE] = s->msgbuf;
	s->len[RULE_F_MESSAGE] = (size_t)n < sizeof s->msgbuf ? (size_t)n : sizeof s->msgbuf - 1;
}

static void subject_from_event(struct subject *s, const json_t *event)
{
	memset(s->val, 0, sizeof s->val);
	memset(s->len, 0, sizeof s->len);
	s->frames = NULL;
	subject_set(s, RULE_F_MESSAGE, json_object_get(event, "message"));
	subject_set(s, RULE_F_LOGGER, json_object_get(event, "logger"));
	subject_set(s, RULE_F_LEVEL, json_object_get(event, "level"));
	subject_set(s, RULE_F_COMPONENT, json_object_get(event, "component"));
	subject_set(s, RULE_F_SYSTEM, json_object_get(event, "system"));
	const json_t *exc = event_exception(event);
	if (exc) {
		subject_set(s, RULE_F_EXCEPTION_TYPE, json_object_get(exc, "type"));
		subject_set(s, RULE_F_EXCEPTION_VALUE, json_object_get(exc, "value"));
		const json_t *frames = json_object_get(exc, "frames");
		if (!json_is_array(frames)) /* Sentry: stacktrace.frames */
			frames = json_object_get(json_object_get(exc, "stacktrace"), "frames");
		if (json_is_array(frames))
			s->frames = frames;
	}
	if (!s->val[RULE_F_MESSAGE] || s->len[RULE_F_MESSAGE] == 0)
		subject_synthesise_message(s);
}

/* --- evaluation -------------------------------------------------------------------------- */

struct eval {
	const struct rules *rs;
	pcre2_match_data *md;
	struct rule_match *out;
};

static void capture_add(struct rule_match *out, const char *name, enum rule_field f,
			const char *s, size_t len)
{
	if (out->ncaptures >= RULE_MATCH_MAX_CAPTURES)
		return;
	for (size_t i = 0; i < out->ncaptures; i++)
		if (!strcmp(out->captures[i].name, name))
			return; /* the first condition to capture a name wins */
	size_t room = sizeof out->text - out->text_used;
	if (room == 0)
		return;
	if (len > room - 1)
		len = room - 1;
	char *dst = out->text + out->text_used;
	memcpy(dst, s, len);
	dst[len] = '\0';
	out->text_used += len + 1;
	out->captures[out->ncaptures++] = (struct rule_capture){
		.name = name, .value = dst, .len = len, .field = f,
	};
}

static void captures_from_match(const struct cond *c, pcre2_match_data *md, const char *s,
				struct rule_match *out)
{
	PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
	uint32_t pairs = pcre2_get_ovector_count(md);
	for (uint32_t i = 0; i < c->name_count; i++) {
		PCRE2_SPTR ent = c->name_table + (size_t)i * c->name_entry_size;
		uint32_t group = ((uint32_t)ent[0] << 8) | ent[1];
		if (group >= pairs || ov[2 * group] == PCRE2_UNSET)
			continue;
		capture_add(out, (const char *)ent + 2, c->field, s + ov[2 * group],
			    ov[2 * group + 1] - ov[2 * group]);
	}
}

static bool regex_hit(const struct eval *ev, const struct cond *c, const char *s, size_t n)
{
	int rc = pcre2_match(c->code, (PCRE2_SPTR)s, n, 0, 0, ev->md, ev->rs ? ev->rs->mctx : NULL);
	return rc >= 0;
}

/* Does condition c hold on the subject? Captures are added when want_captures. */
static bool cond_holds(const struct eval *ev, const struct cond *c, const struct subject *s,
		       bool want_captures)
{
	if (c->field == RULE_F_FRAME_FUNCTION) {
		size_t i;
		const json_t *frame;
		json_array_foreach(s->frames, i, frame) {
			const json_t *fn = json_object_get(frame, "function");
			if (!json_is_string(fn))
				continue;
			const char *str = json_string_value(fn);
			if (regex_hit(ev, c, str, json_string_length(fn))) {
				if (want_captures)
					captures_from_match(c, ev->md, str, ev->out);
				return true;
			}
		}
		return false;
	}
	const char *str = s->val[c->field];
	if (!str || !regex_hit(ev, c, str, s->len[c->field]))
		return false;
	if (want_captures)
		captures_from_match(c, ev->md, str, ev->out);
	return true;
}

static bool any_item_holds(const struct eval *ev, const struct rule *r, int item,
			   const struct subject *s)
{
	for (size_t i = 0; i < r->nconds; i++) {
		const struct cond *c = &r->conds[i];
		if (c->kind == COND_ANY && c->item == item && !cond_holds(ev, c, s, true))
			return false;
	}
	return true;
}

static bool rule_holds(const struct eval *ev, const struct rule *r, const struct subject *s)
{
	size_t saved_n = ev->out->ncaptures, saved_used = ev->out->text_used;
	for (size_t i = 0; i < r->nconds; i++) {
		const struct cond *c = &r->conds[i];
		if (c->kind == COND_NOT && cond_holds(ev, c, s, false))
			goto fail;
	}
	for (size_t i = 0; i < r->nconds; i++) {
		const struct cond *c = &r->conds[i];
		if ((c->kind == COND_FIELD || c->kind == COND_ALL) && !cond_holds(ev, c, s, true))
			goto fail;
	}
	if (r->nany == 0)
		return true;
	for (int item = 0; item < r->nany; item++) {
		if (any_item_holds(ev, r, item, s))
			return true;
		ev->out->ncaptures = saved_n; /* a failed item leaves no captures behind */
		ev->out->text_used = saved_used;
	}
fail:
	ev->out->ncaptures = saved_n;
	ev->out->text_used = saved_used;
	return false;
}

static void match_reset(struct rule_match *out)
{
	out->rule = NULL;
	out->ncaptures = 0;
	out->text_used = 0;
	out->text[0] = '\0';
}

static int rank_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

/* Gather candidate ranks (sorted, unique) from the screen; false means "all rules". */
static bool gather_candidates(const struct rules *rs, const struct subject *s, uint32_t *cand,
			      size_t *ncand)
{
	const struct screen *sc = &rs->screen;
	size_t n = 0;
	for (int f = 0; f < RULE_F_COUNT && n <= MAX_CANDIDATES; f++) {
		if (!sc->bitmap[f])
			continue;
		if (f == RULE_F_FRAME_FUNCTION) {
			size_t i;
			const json_t *frame;
			json_array_foreach(s->frames, i, frame) {
				const json_t *fn = json_object_get(frame, "function");
				if (json_is_string(fn))
					n = rules_screen_scan(sc, (enum rule_field)f, json_string_value(fn),
							      json_string_length(fn), cand, n, MAX_CANDIDATES);
			}
		} else if (s->val[f]) {
			n = rules_screen_scan(sc, (enum rule_field)f, s->val[f], s->len[f], cand, n,
					      MAX_CANDIDATES);
		}
	}
	if (n > MAX_CANDIDATES || n + sc->nalways > MAX_CANDIDATES * 2)
		return false;
	for (size_t i = 0; i < sc->nalways; i++)
		cand[n++] = sc->always[i];
	qsort(cand, n, sizeof *cand, rank_cmp);
	*ncand = n;
	return true;
}

static bool match_subject(const struct rules *rs, const struct subject *s, struct rule_match *out,
			  bool screen)
{
	uint32_t cand[MAX_CANDIDATES * 2];
	size_t ncand = 0;
	bool all = !screen || !gather_candidates(rs, s, cand, &ncand);
	if (!all && ncand == 0)
		return false;

	struct eval ev = { .rs = rs, .out = out };
	ev.md = pcre2_match_data_create(rs->max_pairs, NULL);
	if (!ev.md)
		return false;
	size_t n = all ? rs->nrules : ncand;
	for (size_t k = 0; k < n; k++) {
		const struct rule *r = rs->ranked[all ? k : cand[k]];
		if (rule_holds(&ev, r, s)) {
			out->rule = r;
			break;
		}
	}
	pcre2_match_data_free(ev.md);
	return out->rule != NULL;
}

bool rules_match(const struct rules *rs, const json_t *event, struct rule_match *out)
{
	struct subject s;
	match_reset(out);
	if (!rs || !json_is_object(event) || rs->nrules == 0)
		return false;
	subject_from_event(&s, event);
	return match_subject(rs, &s, out, true);
}

static bool match_text(const struct rules *rs, const char *msg, size_t len, struct rule_match *out,
		       bool screen)
{
	struct subject s;
	match_reset(out);
	if (!rs || !msg || rs->nrules == 0)
		return false;
	memset(s.val, 0, sizeof s.val);
	memset(s.len, 0, sizeof s.len);
	s.frames = NULL;
	s.val[RULE_F_MESSAGE] = msg;
	s.len[RULE_F_MESSAGE] = len;
	return match_subject(rs, &s, out, screen);
}

bool rules_match_text(const struct rules *rs, const char *msg, size_t len, struct rule_match *out)
{
	return match_text(rs, msg, len, out, true);
}

bool rules_match_text_unscreened(const struct rules *rs, const char *msg, size_t len,
				 struct rule_match *out)
{
	return match_text(rs, msg, len, out, false);
}

static uint32_t rule_max_pairs(const struct rule *r)
{
	uint32_t m = 1;
	for (size_t i = 0; i < r->nconds; i++) {
		uint32_t cap = 0;
		pcre2_pattern_info(r->conds[i].code, PCRE2_INFO_CAPTURECOUNT, &cap);
		if (cap + 1 > m)
			m = cap + 1;
	}
	return m;
}

bool rule_matches(const struct rule *r, const json_t *event, struct rule_match *out)
{
	struct subject s;
	match_reset(out);
	if (!r || !json_is_object(event))
		return false;
	subject_from_event(&s, event);
	struct eval ev = { .rs = NULL, .out = out };
	ev.md = pcre2_match_data_create(rule_max_pairs(r), NULL);
	if (!ev.md)
		return false;
	if (rule_holds(&ev, r, &s))
		out->rule = r;
	pcre2_match_data_free(ev.md);
	return out->rule != NULL;
}

const char *rule_match_capture(const struct rule_match *m, const char *name)
{
	for (size_t i = 0; m && i < m->ncaptures; i++)
		if (!strcmp(m->captures[i].name, name))
			return m->captures[i].value;
	return NULL;
}

/* --- finishing a load: precedence, screen, match context ---------------------------------- */

static int precedence_cmp(const void *a, const void *b)
{
	const struct rule *x = *(const struct rule *const *)a, *y = *(const struct rule *const *)b;
	if (x->specificity != y->specificity)
		return x->specificity > y->specificity ? -1 : 1;
	if (x->severity != y->severity)
		return x->severity > y->severity ? -1 : 1;
	return x->index < y->index ? -1 : x->index > y->index;
}

int rules_finish(struct rules *rs)
{
	rs->ranked = calloc(rs->nrules + 1, sizeof *rs->ranked);
	if (!rs->ranked)
		return AC_ENOMEM;
	rs->max_pairs = 1;
	for (size_t i = 0; i < rs->nrules; i++) {
		rs->rules[i]->index = i;
		rs->rules[i]->pack = &rs->packs[rs->rules[i]->pack_index];
		rs->ranked[i] = rs->rules[i];
		uint32_t m = rule_max_pairs(rs->rules[i]);
		if (m > rs->max_pairs)
			rs->max_pairs = m;
	}
	qsort(rs->ranked, rs->nrules, sizeof *rs->ranked, precedence_cmp);
	for (size_t i = 0; i < rs->nrules; i++)
		rs->ranked[i]->rank = i;
	snprintf(rs->digest_hex, sizeof rs->digest_hex, "%016llx", (unsigned long long)rs->digest);
	rs->mctx = pcre2_match_context_create(NULL);
	if (!rs->mctx)
		return AC_ENOMEM;
	/* A pathological pattern gives up (no match) instead of stalling ingest. */
	pcre2_set_match_limit(rs->mctx, 1000000);
	pcre2_set_depth_limit(rs->mctx, 10000);
	return rules_screen_build(rs);
}

void rule_free(struct rule *r)
{
	if (!r)
		return;
	free(r->id);
	free(r->title);
	free(r->category);
	for (size_t i = 0; i < r->nconds; i++) {
		free(r->conds[i].pattern);
		pcre2_code_free(r->conds[i].code);
		rules_litset_free(&r->conds[i].lits);
	}
	free(r->conds);
	for (size_t i = 0; i < r->ncauses; i++)
		free(r->causes[i]);
	free(r->causes);
	for (size_t i = 0; i < r->nfix; i++) {
		free(r->fix[i].step);
		free(r->fix[i].command);
	}
	free(r->fix);
	for (size_t i = 0; i < r->nrefs; i++)
		free(r->refs[i]);
	free(r->refs);
	for (size_t i = 0; i < r->nexamples; i++) {
		json_decref(r->examples[i].event);
		json_decref(r->examples[i].captures);
	}
	free(r->examples);
	free(r);
}

void rules_free(struct rules *rs)
{
	if (!rs)
		return;
	for (size_t i = 0; i < rs->nrules; i++)
		rule_free(rs->rules[i]);
	free(rs->rules);
	free(rs->ranked);
	for (size_t i = 0; i < rs->npacks; i++) {
		free(rs->packs[i].name);
		free(rs->packs[i].path);
		free(rs->packs[i].description);
	}
	free(rs->packs);
	rules_screen_free(&rs->screen);
	pcre2_match_context_free(rs->mctx);
	free(rs);
}

/* --- accessors --------------------------------------------------------------------------- */

size_t rules_count(const struct rules *rs) { return rs ? rs->nrules : 0; }

const struct rule *rules_get(const struct rules *rs, size_t i)
{
	return rs && i < rs->nrules ? rs->rules[i] : NULL;
}

const struct rule *rules_find(const struct rules *rs, const char *id)
{
	for (size_t i = 0; rs && id && i < rs->nrules; i++)
		if (!strcmp(rs->rules[i]->id, id))
			return rs->rules[i];
	return NULL;
}

size_t rules_pack_count(const struct rules *rs) { return rs ? rs->npacks : 0; }

const char *rules_pack_name(const struct rules *rs, size_t i)
{
	return rs && i < rs->npacks ? rs->packs[i].name : NULL;
}

const char *rules_pack_path(const struct rules *rs, size_t i)
{
	return rs && i < rs->npacks ? rs->packs[i].path : NULL;
}

const char *rules_pack_description(const struct rules *rs, size_t i)
{
	if (!rs || i >= rs->npacks)
		return NULL;
	return rs->packs[i].description ? rs->packs[i].description : "";
}

size_t rules_unscreened_count(const struct rules *rs) { return rs ? rs->screen.nalways : 0; }

const char *rules_digest(const struct rules *rs)
{
	return rs ? rs->digest_hex : "";
}

const char *rule_id(const struct rule *r) { return r->id; }
const char *rule_title(const struct rule *r) { return r->title; }
const char *rule_category(const struct rule *r) { return r->category; }
enum rule_severity rule_severity(const struct rule *r) { return r->severity; }
const char *rule_pack(const struct rule *r) { return r->pack->name; }
const char *rule_file(const struct rule *r) { return r->pack->path; }
int rule_line(const struct rule *r) { return r->line; }
size_t rule_index(const struct rule *r) { return r->index; }
int rule_specificity(const struct rule *r) { return r->specificity; }
size_t rule_cause_count(const struct rule *r) { return r->ncauses; }
const char *rule_cause(const struct rule *r, size_t i) { return i < r->ncauses ? r->causes[i] : NULL; }
size_t rule_fix_count(const struct rule *r) { return r->nfix; }

const char *rule_fix_step(const struct rule *r, size_t i)
{
	return i < r->nfix ? r->fix[i].step : NULL;
}

const char *rule_fix_command(const struct rule *r, size_t i)
{
	return i < r->nfix ? r->fix[i].command : NULL;
}

size_t rule_reference_count(const struct rule *r) { return r->nrefs; }
const char *rule_reference(const struct rule *r, size_t i) { return i < r->nrefs ? r->refs[i] : NULL; }
size_t rule_condition_count(const struct rule *r) { return r->nconds; }

void rule_condition(const struct rule *r, size_t i, const char **kind, const char **field,
		    const char **pattern)
{
	static const char *const kinds[] = { "field", "all", "any", "not" };
	if (i >= r->nconds) {
		*kind = *field = *pattern = NULL;
		return;
	}
	*kind = kinds[r->conds[i].kind];
	*field = field_names[r->conds[i].field];
	*pattern = r->conds[i].pattern;
}

size_t rule_example_count(const struct rule *r) { return r->nexamples; }

const json_t *rule_example(const struct rule *r, size_t i, bool *expect_match, int *line,
			   const json_t **captures)
{
	if (i >= r->nexamples)
		return NULL;
	if (expect_match)
		*expect_match = r->examples[i].expect_match;
	if (line)
		*line = r->examples[i].line;
	if (captures)
		*captures = r->examples[i].captures;
	return r->examples[i].event;
}

/* --- JSON views -------------------------------------------------------------------------- */

json_t *rule_json(const struct rule *r)
{
	json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:i,s:i}", "id", r->id, "title", r->title,
			      "category", r->category, "severity", rule_severity_name(r->severity),
			      "pack", r->pack->name, "file", r->pack->path, "line", r->line,
			      "specificity", r->specificity);
	json_t *causes = json_array(), *fix = json_array(), *refs = json_array(), *conds = json_array();
	if (!o || !causes || !fix || !refs || !conds)
		goto fail;
	for (size_t i = 0; i < r->ncauses; i++)
		json_array_append_new(causes, json_string(r->causes[i]));
	for (size_t i = 0; i < r->nfix; i++) {
		json_t *s = json_pack("{s:s}", "step", r->fix[i].step);
		if (s && r->fix[i].command)
			json_object_set_new(s, "command", json_string(r->fix[i].command));
		json_array_append_new(fix, s);
	}
	for (size_t i = 0; i < r->nrefs; i++)
		json_array_append_new(refs, json_string(r->refs[i]));
	for (size_t i = 0; i < r->nconds; i++) {
		const char *kind, *field, *pattern;
		rule_condition(r, i, &kind, &field, &pattern);
		json_array_append_new(conds, json_pack("{s:s,s:s,s:s%}", "kind", kind, "field", field,
						       "pattern", pattern, strlen(pattern)));
	}
	json_object_set_new(o, "conditions", conds);
	json_object_set_new(o, "causes", causes);
	json_object_set_new(o, "fix", fix);
	json_object_set_new(o, "references", refs);
	return o;
fail:
	json_decref(o);
	json_decref(causes);
	json_decref(fix);
	json_decref(refs);
	json_decref(conds);
	return NULL;
}

json_t *rule_match_json(const struct rule_match *m)
{
	if (!m || !m->rule)
		return NULL;
	json_t *o = rule_json(m->rule), *caps = json_object();
	if (!o || !caps) {
		json_decref(o);
		json_decref(caps);
		return NULL;
	}
	for (size_t i = 0; i < m->ncaptures; i++)
		json_object_set_new(caps, m->captures[i].name,
				    json_stringn(m->captures[i].value, m->captures[i].len));
	json_object_set_new(o, "captures", caps);
	return o;
}

/*
 * check_rules.c — unit tests for analyzer/rules: the loader's diagnostics, precedence,
 * captures, event fields, the literal prefilter (it must never change an answer) and the
 * shipped packs' examples.
 */
#include "core/common.h"
#include "analyzer/rules.h"

#include <check.h>

#include "tests/unit/check_run.h"

/* A minimal valid rule with the given id, severity and match block (YAML, indented 4). */
#define RULE(id, sev, match)                                                                 \
	"  - id: " id "\n    title: t\n    category: c\n    severity: " sev "\n    match:\n" match \
	"    causes: [c]\n    fix: [f]\n    examples: { match: [x], nomatch: [y] }\n"

static struct rules *load(const char *yaml, struct ac_error *err)
{
	struct rules *rs = NULL;
	int rc = rules_load_buffer("t.yaml", yaml, strlen(yaml), NULL, &rs, err);
	if (rc)
		ck_assert_ptr_null(rs);
	return rs;
}

static const char *match_id(const struct rules *rs, const char *msg, struct rule_match *m)
{
	if (!rules_match_text(rs, msg, strlen(msg), m))
		return "(none)";
	return rule_id(m->rule);
}

/* --- loader ----------------------------------------------------------------------------- */

START_TEST(loader_names_unknown_key_with_suggestion)
{
	struct ac_error err;
	const char *y = "rules:\n  - id: a.b\n    title: t\n    category: c\n    severity: error\n"
			"    match: { message: x }\n    cuases: [c]\n    fix: [f]\n"
			"    examples: { match: [x], nomatch: [y] }\n";
	ck_assert_ptr_null(load(y, &err));
	ck_assert_int_eq(err.code, AC_EINVAL);
	ck_assert_str_eq(err.msg, "t.yaml:7:5: unknown key 'cuases' in rule 'a.b' (did you mean "
				  "'causes'?) (and 1 more problem)");
}
END_TEST

struct diags {
	int n;
	char text[2048];
};

static void collect(void *ctx, const char *file, int line, int col, const char *msg)
{
	struct diags *d = ctx;
	size_t used = strlen(d->text);
	snprintf(d->text + used, sizeof d->text - used, "%s:%d:%d: %s\n", file, line, col, msg);
	d->n++;
}

START_TEST(loader_reports_every_problem_through_diag)
{
	struct diags d = { 0 };
	struct rules_load_opts opts = { .diag = collect, .ctx = &d };
	struct rules *rs = NULL;
	struct ac_error err;
	const char *y = "rules:\n"
			"  - id: one\n    title: t\n    category: c\n    severity: loud\n"
			"    match: { message: '(a' }\n    causes: [c]\n    fix: [f]\n"
			"    examples: { match: [x], nomatch: [y] }\n"
			"  - id: one\n    title: t\n    category: c\n    severity: info\n"
			"    match: { message: a }\n    causes: [c]\n    fix: [f]\n"
			"    examples: { match: [x], nomatch: [y] }\n"
			"  - id: one\n    title: t\n    category: c\n    severity: info\n"
			"    match: { message: b }\n    causes: [c]\n    fix: [f]\n"
			"    examples: { match: [x], nomatch: [y] }\n";
	ck_assert_int_eq(rules_load_buffer("p.yaml", y, strlen(y), &opts, &rs, &err), AC_EINVAL);
	ck_assert_ptr_null(rs);
	ck_assert_int_eq(d.n, 3);
	ck_assert_str_eq(d.text,
			 "p.yaml:5:15: severity 'loud' is not one of info, warning, error, critical\n"
			 "p.yaml:6:26: pattern for 'message' does not compile at offset 2: missing "
			 "closing parenthesis\n"
			 "p.yaml:18:9: duplicate rule id 'one' (first defined at p.yaml:10:9)\n");
}
END_TEST

START_TEST(loader_requires_keys_and_positive_conditions)
{
	struct ac_error err;
	ck_assert_ptr_null(load("rules:\n  - id: a\n    title: t\n", &err));
	ck_assert_ptr_nonnull(strstr(err.msg, "t.yaml:2:5: rule 'a' is missing required key 'category'"));
	ck_assert_ptr_null(load("rules:\n" RULE("a", "info", "      not: [{message: x}]\n"), &err));
	ck_assert_ptr_nonnull(strstr(err.msg, "match needs at least one positive condition"));
	ck_assert_ptr_null(load("", &err));
	ck_assert_str_eq(err.msg, "t.yaml: empty rule pack (expected a mapping with 'rules:')");
	ck_assert_ptr_null(load("rules: []\n---\nrules: []\n", &err));
	ck_assert_ptr_nonnull(strstr(err.msg, "one YAML document"));
	ck_assert_ptr_null(load("rules:\n  - id: a\n    title: 'open\n", &err));
	ck_assert_ptr_nonnull(strstr(err.msg, "YAML syntax error"));
}
END_TEST

START_TEST(loader_accepts_an_empty_pack_and_reports_fields)
{
	struct ac_error err;
	struct rules *rs = load("pack: p\ndescription: d\nrules:\n"
				"  - id: x.one\n    title: One\n    category: net\n    severity: critical\n"
				"    match: { message: 'one' }\n    causes: [a, b]\n"
				"    fix:\n      - plain step\n      - { step: run, command: 'ls -l' }\n"
				"    references: [https://example.com/x]\n"
				"    examples: { match: [one], nomatch: [two] }\n", &err);
	ck_assert_ptr_nonnull(rs);
	ck_assert_uint_eq(rules_count(rs), 1);
	const struct rule *r = rules_find(rs, "x.one");
	ck_assert_ptr_nonnull(r);
	ck_assert_str_eq(rule_title(r), "One");
	ck_assert_str_eq(rule_category(r), "net");
	ck_assert_int_eq(rule_severity(r), RULE_SEV_CRITICAL);
	ck_assert_str_eq(rule_severity_name(rule_severity(r)), "critical");
	ck_assert_str_eq(rule_pack(r), "p");
	ck_assert_str_eq(rule_file(r), "t.yaml");
	ck_assert_int_eq(rule_line(r), 4);
	ck_assert_uint_eq(rule_cause_count(r), 2);
	ck_assert_str_eq(rule_cause(r, 1), "b");
	ck_assert_uint_eq(rule_fix_count(r), 2);
	ck_assert_str_eq(rule_fix_step(r, 0), "plain step");
	ck_assert_ptr_null(rule_fix_command(r, 0));
	ck_assert_str_eq(rule_fix_command(r, 1), "ls -l");
	ck_assert_str_eq(rule_reference(r, 0), "https://example.com/x");
	ck_assert_uint_eq(rule_example_count(r), 2);
	ck_assert_str_eq(rules_pack_description(rs, 0), "d");
	char digest[17];
	snprintf(digest, sizeof digest, "%s", rules_digest(rs));
	ck_assert_uint_eq(strlen(digest), 16);
	rules_free(rs);

	rs = load("rules: []\n", &err);
	ck_assert_ptr_nonnull(rs);
	ck_assert_uint_eq(rules_count(rs), 0);
	ck_assert_str_ne(rules_digest(rs), digest); /* different packs, different digest */
	struct rule_match m;
	ck_assert(!rules_match_text(rs, "anything", 8, &m));
	rules_free(rs);
}
END_TEST

/* --- precedence and captures -------------------------------------------------------------- */

START_TEST(precedence_specificity_then_severity_then_order)
{
	struct ac_error err;
	struct rule_match m;
	struct rules *rs = load("rules:\n"
		RULE("first.generic", "error", "      message: 'refused'\n")
		RULE("second.generic", "error", "      message: 'connection refused'\n")
		RULE("third.critical", "critical", "      message: 'refused by db'\n")
		RULE("fourth.specific", "info",
		     "      message: 'refused'\n      not: [{message: 'by db'}]\n"), &err);
	ck_assert_msg(rs != NULL, "%s", err.msg);
	/* fourth has two conditions: it wins although its severity is lowest */
	ck_assert_str_eq(match_id(rs, "connection refused", &m), "fourth.specific");
	/* its not: excludes "by db"; third then wins on severity */
	ck_assert_str_eq(match_id(rs, "connection refused by db", &m), "third.critical");
	rules_free(rs);

	rs = load("rules:\n"
		  RULE("a.first", "error", "      message: 'refused'\n")
		  RULE("b.second", "error", "      message: 'connection refused'\n"), &err);
	ck_assert_str_eq(match_id(rs, "connection refused", &m), "a.first"); /* file order */
	rules_free(rs);
}
END_TEST

START_TEST(captures_are_copied_and_named)
{
	struct ac_error err;
	struct rule_match m;
	struct rules *rs = load("rules:\n" RULE("p.port", "error",
		"      message: 'bind (?<addr>[\\d.]+):(?<port>\\d+): (?<why>address already in use)(?<never>x)?'\n"),
		&err);
	ck_assert_msg(rs != NULL, "%s", err.msg);
	char msg[] = "bind 0.0.0.0:8080: address already in use";
	ck_assert(rules_match_text(rs, msg, strlen(msg), &m));
	memset(msg, 'z', sizeof msg - 1); /* the match must not point into the subject */
	ck_assert_uint_eq(m.ncaptures, 3);
	ck_assert_str_eq(rule_match_capture(&m, "addr"), "0.0.0.0");
	ck_assert_str_eq(rule_match_capture(&m, "port"), "8080");
	ck_assert_str_eq(rule_match_capture(&m, "why"), "address already in use");
	ck_assert_ptr_null(rule_match_capture(&m, "never"));
	ck_assert_int_eq(m.captures[0].field, RULE_F_MESSAGE);
	rules_free(rs);
}
END_TEST

START_TEST(captures_are_bounded)
{
	struct ac_error err;
	struct rule_match m;
	struct rules *rs = load("rules:\n" RULE("big", "error", "      message: 'start(?<all>.*)'\n"),
				&err);
	size_t n = 5000;
	char *msg = malloc(n + 1);
	memcpy(msg, "start", 5);
	memset(msg + 5, 'a', n - 5);
	msg[n] = '\0';
	ck_assert(rules_match_text(rs, msg, n, &m));
	ck_assert_uint_eq(m.captures[0].len, RULE_MATCH_TEXT_BYTES - 1);
	ck_assert_uint_eq(strlen(m.captures[0].value), RULE_MATCH_TEXT_BYTES - 1);
	free(msg);
	rules_free(rs);
}
END_TEST

/* --- events ------------------------------------------------------------------------------- */

START_TEST(events_use_exception_frames_and_fallback_message)
{
	struct ac_error err;
	struct rule_match m;
	struct rules *rs = load("rules:\n"
		RULE("py.key", "error",
		     "      any:\n        - message: 'KeyError: (?<key>.+)'\n"
		     "        - { exception_type: '^KeyError$', exception_value: '(?<key>.+)' }\n")
		RULE("frames", "error",
		     "      frame_function: '^store_(?<op>get|put)$'\n      level: '^(?:error|fatal)$'\n")
		RULE("comp", "warning",
		     "      message: 'queue full'\n      component: '^api$'\n      system: '.'\n")
		RULE("ctx", "error", "      context: 'queue full: (?<n>\\d+)'\n"), &err);
	ck_assert_msg(rs != NULL, "%s", err.msg);

	json_t *ev = json_pack("{s:s,s:{s:s,s:s}}", "level", "error", "exception", "type",
			       "KeyError", "value", "'user_id'");
	ck_assert(rules_match(rs, ev, &m));
	ck_assert_str_eq(rule_id(m.rule), "py.key");
	ck_assert_str_eq(rule_match_capture(&m, "key"), "'user_id'");
	json_decref(ev);

	/* a message that says something else: the exception item of any: still matches */
	ev = json_pack("{s:s,s:{s:s,s:s}}", "message", "request failed", "exception", "type",
		       "KeyError", "value", "'sku'");
	ck_assert(rules_match(rs, ev, &m));
	ck_assert_str_eq(rule_match_capture(&m, "key"), "'sku'");
	json_decref(ev);

	ev = json_pack("{s:s,s:{s:s,s:[{s:s},{s:s}]}}", "level", "fatal", "exception", "type",
		       "SIGSEGV", "frames", "function", "main", "function", "store_put");
	ck_assert(rules_match(rs, ev, &m));
	ck_assert_str_eq(rule_id(m.rule), "frames");
	ck_assert_str_eq(rule_match_capture(&m, "op"), "put");
	json_object_set_new(ev, "level", json_string("info"));
	ck_assert(!rules_match(rs, ev, &m));
	json_decref(ev);

	/* Sentry shape: exception.values[-1] with stacktrace.frames */
	ev = json_loads("{\"exception\":{\"values\":[{\"type\":\"ValueError\",\"value\":\"x\"},"
			"{\"type\":\"KeyError\",\"value\":\"'a'\",\"stacktrace\":{\"frames\":[]}}]}}",
			0, NULL);
	ck_assert(rules_match(rs, ev, &m));
	ck_assert_str_eq(rule_id(m.rule), "py.key");
	json_decref(ev);

	ev = json_pack("{s:s,s:s}", "message", "queue full", "component", "api");
	ck_assert(!rules_match(rs, ev, &m)); /* system absent: its condition is false */
	json_object_set_new(ev, "system", json_string("todo"));
	ck_assert(rules_match(rs, ev, &m));
	ck_assert_str_eq(rule_id(m.rule), "comp");
	json_decref(ev);

	/* context: any string value of the context object */
	ev = json_pack("{s:s,s:s,s:{s:i,s:s}}", "message", "component failed to start", "component",
		       "api", "context", "attempt", 3, "error", "queue full: 1000 waiting");
	ck_assert(rules_match(rs, ev, &m));
	ck_assert_str_eq(rule_id(m.rule), "ctx");
	ck_assert_str_eq(rule_match_capture(&m, "n"), "1000");
	json_object_set_new(ev, "context", json_string("queue full: 1000 waiting"));
	ck_assert(!rules_match(rs, ev, &m)); /* not an object: no context values */
	json_decref(ev);

	ck_assert(!rules_match(rs, NULL, &m));
	ck_assert_ptr_null(m.rule);
	ev = json_string("KeyError: 'a'");
	ck_assert(!rules_match(rs, ev, &m));
	json_decref(ev);
	rules_free(rs);
}
END_TEST

/* --- the prefilter ------------------------------------------------------------------------ */

static const char *const tricky_patterns[] = {
	"colou?r error", "ab*cdef", "x{2}yzzy", "(?:foo|bar)bazz", "(?i)CaseLess",
	"[abc]defg|hijk", "time(?:d out|out)", "\\Qa.b\\E literal", "(?x) s p a c e d", "a+bcd",
	"(?<name>alpha|beta) gamma", "start(?=look)ahead", "e\\.g\\. this", "(?:opt)?ional",
	"un(?:known|set)+ var", "tab\\there", "[[:digit:]]+ items?", "^anchored at start$",
	"(?:ab|cd|ef)", "a(?:bcdefg)*h", "(?!not)notice", "x(?:yz(?:zy|yy))w", "end\\b",
	"(?|one|two)three", "ca(?i:T)alog", "q{100}rst", "(?x: w x y z )", "abc(*ACCEPT)defgh",
	"uv{2,}wxyz", "(?#comment(x)literal",
	/* found by fuzz_rules_prefilter: "[:[:]" is not a POSIX name, so the class ends at the
	 * first ']' and the empty alternative after '|' matches everything */
	"spaces [[:[:]|", "class [[:alpha:]] then|[x\\Q]\\E|y]zzzz", "(?#[)literal|x](y)",
	"x(?:a(*ACCEPT))yzw", "(?C1)callout|z",
};

static const char *const tricky_messages[] = {
	"color error", "colour error", "COLOR ERROR", "acdef", "abbbcdef", "xxyzzy", "foobazz",
	"barbazz", "caseless", "CASELESS", "adefg", "hijk", "timed out", "timeout", "a.b literal",
	"spaced", "abcd", "aabcd", "alpha gamma", "beta gamma", "startlookahead", "e.g. this",
	"optional", "ional", "unknown var", "unsetset var", "tab\there", "12 items", "3 item",
	"anchored at start", "ab", "cd", "ef", "ah", "abcdefgh", "notice", "xyzzyw", "xyzyyw",
	"the end", "onethree", "twothree", "catalog", "caTalog", "nothing here", "", "qrst",
	"qqqrst", "wxyz", "abc", "uvvwxyz", "literal", "100rst", "spaces [", "zzzz", "yzzzz", "x](y)",
	"xa", "xayzw", "callout",
};

START_TEST(prefilter_never_changes_the_answer)
{
	struct ac_buf y;
	struct ac_error err;
	ac_buf_init(&y, 1 << 20);
	ac_buf_puts(&y, "rules:\n");
	for (size_t i = 0; i < AC_ARRAY_SIZE(tricky_patterns); i++) {
		ac_buf_printf(&y, "  - id: r%zu\n    title: t\n    category: c\n    severity: info\n"
			      "    match:\n      message: '", i);
		for (const char *p = tricky_patterns[i]; *p; p++)
			ac_buf_append(&y, p, 1 + (*p == '\''));
		ac_buf_puts(&y, "'\n    causes: [c]\n    fix: [f]\n"
				"    examples: { match: [x], nomatch: [y] }\n");
	}
	struct rules *rs = load(y.data, &err);
	ck_assert_msg(rs != NULL, "%s", err.msg);
	/* every message alone, and embedded in noise */
	for (size_t i = 0; i < AC_ARRAY_SIZE(tricky_messages); i++) {
		char buf[256];
		for (int variant = 0; variant < 2; variant++) {
			if (variant == 0)
				snprintf(buf, sizeof buf, "%s", tricky_messages[i]);
			else
				snprintf(buf, sizeof buf, "noise %s noise", tricky_messages[i]);
			struct rule_match a, b;
			bool ha = rules_match_text(rs, buf, strlen(buf), &a);
			bool hb = rules_match_text_unscreened(rs, buf, strlen(buf), &b);
			ck_assert_msg(ha == hb && a.rule == b.rule, "'%s': prefilter %s, reference %s",
				      buf, ha ? rule_id(a.rule) : "-", hb ? rule_id(b.rule) : "-");
		}
	}
	/* a counted quantifier's digits are not a literal */
	char qs[128];
	memset(qs, 'q', 100);
	memcpy(qs + 100, "rst", 4);
	struct rule_match m;
	ck_assert(rules_match_text_unscreened(rs, qs, strlen(qs), &m));
	ck_assert(rules_match_text(rs, qs, strlen(qs), &m));
	/* sanity: the tricky cases really match what the reference says */
	ck_assert_str_eq(match_id(rs, "color error", &m), "r0");
	ck_assert_str_eq(match_id(rs, "acdef", &m), "r1");
	ck_assert_str_eq(match_id(rs, "a.b literal", &m), "r7");
	ck_assert_str_eq(match_id(rs, "spaced", &m), "r8");
	ck_assert_str_eq(match_id(rs, "ional", &m), "r13");
	ck_assert(rules_unscreened_count(rs) >= 2); /* \Q..\E and (?x) are not analysed */
	rules_free(rs);
	ac_buf_release(&y);
}
END_TEST

/* --- the shipped packs ---------------------------------------------------------------------- */

START_TEST(shipped_packs_load_and_pass_their_examples)
{
	struct rules *rs = NULL;
	struct ac_error err;
	int rc = rules_load_dir("rules", &rs, &err);
	ck_assert_msg(rc == 0, "%s", err.msg);
	ck_assert_uint_ge(rules_count(rs), 40);
	size_t examples = 0;
	for (size_t k = 0; k < rules_count(rs); k++) {
		const struct rule *r = rules_get(rs, k);
		size_t nmatch = 0, nnomatch = 0;
		ck_assert_uint_ge(rule_cause_count(r), 1);
		ck_assert_uint_ge(rule_fix_count(r), 1);
		ck_assert_uint_ge(rule_reference_count(r), 1);
		for (size_t i = 0; i < rule_example_count(r); i++, examples++) {
			bool expect;
			int line;
			struct rule_match m, best;
			const json_t *ev = rule_example(r, i, &expect, &line, NULL);
			ck_assert_msg(rule_matches(r, ev, &m) == expect, "%s:%d (%s)", rule_file(r), line,
				      rule_id(r));
			if (expect) {
				nmatch++;
				ck_assert(rules_match(rs, ev, &best));
				ck_assert_str_eq(rule_id(best.rule), rule_id(r));
			} else {
				nnomatch++;
			}
		}
		ck_assert_msg(nmatch >= 2 && nnomatch >= 1, "%s has too few examples", rule_id(r));
	}
	ck_assert_uint_ge(examples, 200);
	rules_free(rs);
}
END_TEST

START_TEST(load_dir_errors_name_the_directory)
{
	struct rules *rs = (struct rules *)1;
	struct ac_error err;
	ck_assert_int_eq(rules_load_dir("/nonexistent-rules-dir", &rs, &err), AC_EIO);
	ck_assert_ptr_null(rs);
	ck_assert_ptr_nonnull(strstr(err.msg, "/nonexistent-rules-dir"));
}
END_TEST

START_TEST(suggestions_escape_templates_and_verify_examples)
{
	struct ac_error err;
	char *p = rules_pattern_from_template("Timeout (<NUM> ms) for  <*> at [<IP>]?");
	ck_assert_str_eq(p, "Timeout\\s+\\(.+?\\s+ms\\)\\s+for\\s+.+?\\s+at\\s+\\[.+?\\]\\?");
	free(p);
	ck_assert_ptr_null(rules_pattern_from_template(""));

	char *y = rules_suggest_rule("local.timeout", "Timeout (<NUM> ms) for '<*>'",
				     "Timeout (500 ms) for 'GET /x'", &err);
	ck_assert_msg(y != NULL, "%s", err.msg);
	/* what the guide prints loads as a pack and matches its example */
	struct ac_buf pack;
	ac_buf_init(&pack, 1 << 16);
	ac_buf_puts(&pack, "rules:\n");
	ac_buf_puts(&pack, y);
	struct rules *rs = load(pack.data, &err);
	ck_assert_msg(rs != NULL, "%s", err.msg);
	struct rule_match m;
	ck_assert_str_eq(match_id(rs, "Timeout (12 ms) for 'POST /y'", &m), "local.timeout");
	ck_assert_str_eq(match_id(rs, "Timeout for nothing", &m), "(none)");
	rules_free(rs);
	ac_buf_release(&pack);
	free(y);

	ck_assert_ptr_null(rules_suggest_rule("x", "disk <*> full", "all good", &err));
	ck_assert_str_eq(err.what, "example_mismatch");
	ck_assert_ptr_null(rules_suggest_rule("Bad ID", "disk <*> full", "disk a full", &err));
}
END_TEST

START_TEST(loader_bounds_alias_expansion)
{
	struct ac_buf y;
	struct ac_error err;
	ac_buf_init(&y, 8 << 20);
	ac_buf_puts(&y, "rules:\n  - {id: r0, title: t, category: c, severity: info, match: {message: a},"
			" causes: &big [");
	for (int i = 0; i < 2000; i++)
		ac_buf_puts(&y, i ? ",aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" : "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
	ac_buf_puts(&y, "], fix: [f], examples: {match: [a]}}\n");
	for (int i = 1; i < 3000; i++)
		ac_buf_printf(&y, "  - {id: r%d, title: t, category: c, severity: info, match: {message: a},"
			      " causes: *big, fix: *big, examples: {match: *big}}\n", i);
	ck_assert_ptr_null(load(y.data, &err));
	ck_assert_int_eq(err.code, AC_ETOOBIG);
	ck_assert_ptr_nonnull(strstr(err.msg, "expands to too much data"));
	ac_buf_release(&y);
}
END_TEST

static void write_pack(const char *dir, const char *name, const char *yaml)
{
	char path[512];
	struct ac_error err;
	snprintf(path, sizeof path, "%s/%s", dir, name);
	ck_assert_int_eq(ac_write_file(path, yaml, strlen(yaml), &err), 0);
}

START_TEST(load_dir_orders_packs_and_finds_duplicates_across_files)
{
	char dir[] = "/tmp/check_rules.XXXXXX";
	ck_assert_ptr_nonnull(mkdtemp(dir));
	write_pack(dir, "b.yaml", "rules:\n" RULE("b.one", "error", "      message: 'refused'\n"));
	write_pack(dir, "a.yml", "rules:\n" RULE("a.one", "error", "      message: 'refused'\n"));
	write_pack(dir, "notes.txt", "not a pack");
	write_pack(dir, ".hidden.yaml", "garbage: [");
	struct rules *rs = NULL;
	struct ac_error err;
	struct rule_match m;
	ck_assert_int_eq(rules_load_dir(dir, &rs, &err), 0);
	ck_assert_uint_eq(rules_pack_count(rs), 2);
	ck_assert_str_eq(rules_pack_name(rs, 0), "a"); /* byte order of file names */
	ck_assert_str_eq(match_id(rs, "connection refused", &m), "a.one");
	rules_free(rs);

	write_pack(dir, "c.yaml", "rules:\n" RULE("a.one", "info", "      message: 'x'\n"));
	ck_assert_int_eq(rules_load_dir(dir, &rs, &err), AC_EINVAL);
	char want[512];
	snprintf(want, sizeof want, "%s/c.yaml:2:9: duplicate rule id 'a.one' (first defined at %s/a.yml:2:9)",
		 dir, dir);
	ck_assert_str_eq(err.msg, want);
	const char *files[] = { "c.yaml", "a.yml", "b.yaml", "notes.txt", ".hidden.yaml" };
	for (size_t i = 0; i < AC_ARRAY_SIZE(files); i++) {
		char path[512];
		snprintf(path, sizeof path, "%s/%s", dir, files[i]);
		unlink(path);
	}
	rmdir(dir);
}
END_TEST

static Suite *rules_suite(void)
{
	Suite *s = suite_create("rules");
	TCase *t = tcase_create("rules");
	tcase_set_timeout(t, 30);
	tcase_add_test(t, loader_names_unknown_key_with_suggestion);
	tcase_add_test(t, loader_reports_every_problem_through_diag);
	tcase_add_test(t, loader_requires_keys_and_positive_conditions);
	tcase_add_test(t, loader_accepts_an_empty_pack_and_reports_fields);
	tcase_add_test(t, precedence_specificity_then_severity_then_order);
	tcase_add_test(t, captures_are_copied_and_named);
	tcase_add_test(t, captures_are_bounded);
	tcase_add_test(t, events_use_exception_frames_and_fallback_message);
	tcase_add_test(t, prefilter_never_changes_the_answer);
	tcase_add_test(t, shipped_packs_load_and_pass_their_examples);
	tcase_add_test(t, load_dir_errors_name_the_directory);
	tcase_add_test(t, suggestions_escape_templates_and_verify_examples);
	tcase_add_test(t, loader_bounds_alias_expansion);
	tcase_add_test(t, load_dir_orders_packs_and_finds_duplicates_across_files);
	suite_add_tcase(s, t);
	return s;
}

int main(void)
{
	return ac_check_run(rules_suite());
}

/*
 * rules.c — `autocoder rules check|test|list|match|bench`: validate, test, list and try rule
 * packs. Thin over analyzer/rules.h; every diagnostic is "file:line:column: message".
 *
 *   check PATH...          load every pack (a directory or .yaml files); exit 1 on any problem
 *   test PATH...           run every example of every rule; exit 1 on a miss
 *   list PATH... [--markdown|--json]
 *   match PATH... (--message TEXT | event JSON on stdin) [--json]; exit 1 when nothing matches
 *   bench PATH --input FILE... [--min N] [--reference N]   messages/s with all rules
 */
#include "core/common.h"
#include "cmd/cmds.h"
#include "analyzer/rules.h"

#include <sys/resource.h>
#include <sys/stat.h>

static const char usage[] =
	"usage: autocoder rules check PATH... [--strict]\n"
	"       autocoder rules test PATH... [--negative FILE... [--expect FILE]]\n"
	"            (--negative: logs, one event per line, JSON or a message, on which no rule\n"
	"             may fire except where --expect lists 'NAME:LINE RULE'; reports precision)\n"
	"       autocoder rules list PATH... [--markdown | --json]\n"
	"       autocoder rules match PATH... [--message TEXT] [--json]   (event JSON on stdin)\n"
	"       autocoder rules match PATH... --input FILE...   (each line a message)\n"
	"       autocoder rules bench PATH --input FILE... [--min N] [--reference N]\n"
	"       autocoder rules suggest --template TEMPLATE --example MESSAGE [--id ID]\n"
	"PATH is a directory of rule packs (*.yaml) or pack files. --strict also requires what the\n"
	"shipped packs promise: references, >= 2 match and >= 1 nomatch examples per rule.\n";

static void print_diag(void *ctx, const char *file, int line, int col, const char *msg)
{
	int *count = ctx;
	(*count)++;
	if (line > 0)
		fprintf(stderr, "%s:%d:%d: error: %s\n", file, line, col, msg);
	else
		fprintf(stderr, "%s: error: %s\n", file, msg);
}

static bool is_dir(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Load one directory or a list of files, printing every diagnostic. 0 or an exit code. */
static int load_paths(char **paths, size_t n, struct rules **out, int *problems)
{
	struct ac_error err;
	struct rules_load_opts opts = { .diag = print_diag, .ctx = problems };
	int rc;
	*problems = 0;
	if (n == 1 && is_dir(paths[0]))
		rc = rules_load_dir_opts(paths[0], &opts, out, &err);
	else
		rc = rules_load_files((const char *const *)paths, n, &opts, out, &err);
	if (rc && *problems == 0) { /* a failure that is not a per-file diagnostic */
		fprintf(stderr, "autocoder: %s\n", err.msg);
		*problems = 1;
	}
	return rc ? 1 : 0;
}

/* Split argv into paths and options; options with values are returned via opt_* pointers. */
struct args {
	char *paths[64];
	size_t npaths;
	char *inputs[64];
	size_t ninputs;
	char *negatives[64];
	size_t nnegatives;
	const char *expect;
	const char *message, *template, *example, *id;
	bool markdown, json, strict;
	long min, reference;
};

static int parse_args(int argc, char **argv, struct args *a, bool need_paths)
{
	memset(a, 0, sizeof *a);
	a->min = 1000000;
	a->reference = 100000;
	for (int i = 1; i < argc; i++) {
		const char *s = argv[i];
		int64_t v;
		if (!strcmp(s, "--markdown")) {
			a->markdown = true;
		} else if (!strcmp(s, "--strict")) {
			a->strict = true;
		} else if (!strcmp(s, "--json")) {
			a->json = true;
		} else if (!strcmp(s, "--message") && i + 1 < argc) {
			a->message = argv[++i];
		} else if (!strcmp(s, "--template") && i + 1 < argc) {
			a->template = argv[++i];
		} else if (!strcmp(s, "--example") && i + 1 < argc) {
			a->example = argv[++i];
		} else if (!strcmp(s, "--id") && i + 1 < argc) {
			a->id = argv[++i];
		} else if (!strcmp(s, "--expect") && i + 1 < argc) {
			a->expect = argv[++i];
		} else if (!strcmp(s, "--negative") && i + 1 < argc) {
			while (i + 1 < argc && strncmp(argv[i + 1], "--", 2)) {
				if (a->nnegatives == AC_ARRAY_SIZE(a->negatives))
					return usage_error(usage, "too many --negative files (at most %zu)",
							   AC_ARRAY_SIZE(a->negatives));
				a->negatives[a->nnegatives++] = argv[++i];
			}
		} else if (!strcmp(s, "--input") && i + 1 < argc) {
			while (i + 1 < argc && strncmp(argv[i + 1], "--", 2)) {
				if (a->ninputs == AC_ARRAY_SIZE(a->inputs))
					return usage_error(usage, "too many --input files (at most %zu)",
							   AC_ARRAY_SIZE(a->inputs));
				a->inputs[a->ninputs++] = argv[++i];
			}
		} else if ((!strcmp(s, "--min") || !strcmp(s, "--reference")) && i + 1 < argc) {
			if (ac_parse_i64(argv[++i], &v) || v < 0)
				return usage_error(usage, "%s needs a non-negative number", s);
			*(!strcmp(s, "--min") ? &a->min : &a->reference) = (long)v;
		} else if (!strcmp(s, "-h") || !strcmp(s, "--help")) {
			fputs(usage, stdout);
			return -1;
		} else if (s[0] == '-' && s[1]) {
			return usage_error(usage, "unknown option '%s'", s);
		} else if (a->npaths < AC_ARRAY_SIZE(a->paths)) {
			a->paths[a->npaths++] = argv[i];
		} else {
			return usage_error(usage, "too many paths (at most %zu)", AC_ARRAY_SIZE(a->paths));
		}
	}
	if (need_paths && a->npaths == 0)
		return usage_error(usage, "which rules? give a directory or pack files");
	return 0;
}

/* --- check ---------------------------------------------------------------------------------- */

/* The conventions of the shipped packs; 0 or the number of problems printed. */
static int strict_problems(const struct rules *rs)
{
	int problems = 0;
	for (size_t k = 0; k < rules_count(rs); k++) {
		const struct rule *r = rules_get(rs, k);
		size_t nmatch = 0, nnomatch = 0;
		for (size_t i = 0; i < rule_example_count(r); i++) {
			bool expect;
			rule_example(r, i, &expect, NULL, NULL);
			*(expect ? &nmatch : &nnomatch) += 1;
		}
		if (nmatch < 2 || nnomatch < 1) {
			fprintf(stderr, "%s:%d: error: rule '%s' has %zu match and %zu nomatch examples "
				"(--strict wants >= 2 and >= 1)\n", rule_file(r), rule_line(r), rule_id(r),
				nmatch, nnomatch);
			problems++;
		}
		if (rule_reference_count(r) == 0) {
			fprintf(stderr, "%s:%d: error: rule '%s' has no references (--strict)\n",
				rule_file(r), rule_line(r), rule_id(r));
			problems++;
		}
	}
	return problems;
}

static int rules_check(struct args *a)
{
	struct rules *rs = NULL;
	int problems;
	if (load_paths(a->paths, a->npaths, &rs, &problems)) {
		fprintf(stderr, "%d problem%s\n", problems, problems == 1 ? "" : "s");
		return 1;
	}
	if (a->strict && (problems = strict_problems(rs)) > 0) {
		fprintf(stderr, "%d problem%s\n", problems, problems == 1 ? "" : "s");
		rules_free(rs);
		return 1;
	}
	printf("ok: %zu rules in %zu packs (%zu without a literal prefilter), digest %s\n",
	       rules_count(rs), rules_pack_count(rs), rules_unscreened_count(rs), rules_digest(rs));
	rules_free(rs);
	return 0;
}

/* --- test ----------------------------------------------------------------------------------- */

static void describe_example(const json_t *ev, char *buf, size_t n)
{
	const char *m = json_string_value(json_object_get(ev, "message"));
	if (m && json_object_size(ev) == 1) {
		snprintf(buf, n, "\"%.200s\"", m);
		return;
	}
	char *s = json_dumps(ev, JSON_COMPACT | JSON_SORT_KEYS);
	snprintf(buf, n, "%.300s", s ? s : "?");
	free(s);
}

static int check_captures(const struct rule *r, const struct rule_match *m, const json_t *want,
			  int line)
{
	const char *name;
	const json_t *v;
	int fails = 0;
	json_object_foreach((json_t *)want, name, v) {
		const char *got = rule_match_capture(m, name);
		if (!got || strcmp(got, json_string_value(v))) {
			printf("%s:%d: rule '%s': capture '%s' is %s%s%s, expected \"%s\"\n", rule_file(r),
			       line, rule_id(r), name, got ? "\"" : "", got ? got : "missing",
			       got ? "\"" : "", json_string_value(v));
			fails++;
		}
	}
	return fails;
}

static int test_example(const struct rules *rs, const struct rule *r, size_t i)
{
	bool expect;
	int line;
	const json_t *want;
	const json_t *ev = rule_example(r, i, &expect, &line, &want);
	struct rule_match m, best;
	char desc[400];
	bool hit = rule_matches(r, ev, &m);

	describe_example(ev, desc, sizeof desc);
	if (!expect) {
		if (hit)
			printf("%s:%d: rule '%s': nomatch example matched: %s\n", rule_file(r), line,
			       rule_id(r), desc);
		return hit;
	}
	if (!hit) {
		printf("%s:%d: rule '%s': match example did not match: %s\n", rule_file(r), line,
		       rule_id(r), desc);
		return 1;
	}
	int fails = want ? check_captures(r, &m, want, line) : 0;
	if (rules_match(rs, ev, &best) && best.rule != r) {
		printf("%s:%d: rule '%s': match example is taken by rule '%s' (%s:%d), which has "
		       "precedence\n", rule_file(r), line, rule_id(r), rule_id(best.rule),
		       rule_file(best.rule), rule_line(best.rule));
		fails++;
	} else if (!best.rule) {
		printf("%s:%d: rule '%s': match example matches the rule alone but not the whole set "
		       "(prefilter bug)\n", rule_file(r), line, rule_id(r));
		fails++;
	}
	return fails;
}

/* --- negative corpus ------------------------------------------------------------------------ */

/* The rule --expect lists for line `line` of the file named `name` ("NAME:LINE RULE" lines;
 * NAME is the file's base name), or NULL. */
static const char *expected_rule(const char *expect, const char *name, size_t line)
{
	char key[512];
	int n = snprintf(key, sizeof key, "%s:%zu ", name, line);
	for (const char *p = expect; p && *p;) {
		const char *e = strchr(p, '\n');
		size_t l = e ? (size_t)(e - p) : strlen(p);
		if (l > (size_t)n && !strncmp(p, key, (size_t)n)) {
			static char rule[128];
			snprintf(rule, sizeof rule, "%.*s", (int)(l - (size_t)n), p + n);
			return rule;
		}
		p += l + (e ? 1 : 0);
	}
	return NULL;
}

/* One corpus line: a JSON event, or a message. */
static bool match_corpus_line(const struct rules *rs, const char *p, size_t l, struct rule_match *m)
{
	if (l && p[0] == '{') {
		json_error_t je;
		json_t *ev = json_loadb(p, l, 0, &je);
		bool hit = ev && rules_match(rs, ev, m);
		json_decref(ev);
		if (ev)
			return hit;
	}
	return rules_match_text(rs, p, l, m);
}

/* Run every rule over the negative corpus: a rule firing where --expect does not list it is a
 * false positive; a listed line no rule (or another rule) takes is missed. Prints precision
 * overall and per rule that fired. 0 when there is neither. */
static int test_negative(const struct rules *rs, struct args *a)
{
	size_t *tp = calloc(rules_count(rs) + 1, sizeof *tp), *fp = calloc(rules_count(rs) + 1, sizeof *fp);
	size_t lines = 0, ntp = 0, nfp = 0, missed = 0;
	char *expect = NULL;
	struct ac_error err;
	struct rule_match m;
	int ret = 1;

	if (!tp || !fp)
		goto out;
	if (a->expect && !(expect = ac_read_file(a->expect, (size_t)1 << 24, NULL, &err))) {
		fprintf(stderr, "autocoder: %s\n", err.msg);
		goto out;
	}
	for (size_t f = 0; f < a->nnegatives; f++) {
		size_t len, lineno = 0;
		const char *name = strrchr(a->negatives[f], '/');
		name = name ? name + 1 : a->negatives[f];
		char *data = ac_read_file(a->negatives[f], (size_t)1 << 30, &len, &err);
		if (!data) {
			fprintf(stderr, "autocoder: %s\n", err.msg);
			goto out;
		}
		for (char *p = data, *end = data + len; p < end; lineno++, lines++) {
			char *e = memchr(p, '\n', (size_t)(end - p));
			size_t l = e ? (size_t)(e - p) : (size_t)(end - p);
			const char *want = expected_rule(expect, name, lineno + 1);
			bool hit = match_corpus_line(rs, p, l, &m);
			if (hit && want && !strcmp(want, rule_id(m.rule))) {
				tp[rule_index(m.rule)]++;
				ntp++;
			} else {
				if (hit) {
					fp[rule_index(m.rule)]++;
					nfp++;
					printf("%s:%zu: false positive: %s fired%s%s\n", a->negatives[f],
					       lineno + 1, rule_id(m.rule), want ? ", expected " : "",
					       want ? want : "");
				}
				if (want) {
					missed++;
					printf("%s:%zu: missed: expected %s\n", a->negatives[f], lineno + 1,
					       want);
				}
			}
			p += l + 1;
		}
		free(data);
	}
	for (size_t k = 0; k < rules_count(rs); k++)
		if (tp[k] || fp[k])
			printf("  %-36s precision %5.1f%% (%zu correct, %zu false)\n",
			       rule_id(rules_get(rs, k)), 100.0 * (double)tp[k] / (double)(tp[k] + fp[k]),
			       tp[k], fp[k]);
	printf("negative corpus: %zu events, %zu matches: %zu correct, %zu false positive%s, "
	       "%zu missed; precision %.1f%%\n", lines, ntp + nfp, ntp, nfp, nfp == 1 ? "" : "s",
	       missed, ntp + nfp ? 100.0 * (double)ntp / (double)(ntp + nfp) : 100.0);
	ret = nfp || missed ? 1 : 0;
out:
	free(tp);
	free(fp);
	free(expect);
	return ret;
}

static int rules_test(struct args *a)
{
	struct rules *rs = NULL;
	int problems;
	size_t examples = 0, failures = 0;
	if (load_paths(a->paths, a->npaths, &rs, &problems)) {
		fprintf(stderr, "%d problem%s\n", problems, problems == 1 ? "" : "s");
		return 1;
	}
	for (size_t k = 0; k < rules_count(rs); k++) {
		const struct rule *r = rules_get(rs, k);
		for (size_t i = 0; i < rule_example_count(r); i++, examples++)
			failures += (size_t)test_example(rs, r, i);
	}
	printf("%zu examples in %zu rules: %zu failure%s\n", examples, rules_count(rs), failures,
	       failures == 1 ? "" : "s");
	if (a->nnegatives && test_negative(rs, a))
		failures++;
	rules_free(rs);
	return failures ? 1 : 0;
}

/* --- list ----------------------------------------------------------------------------------- */

static void md_cell(const char *s)
{
	for (; *s; s++) {
		if (*s == '|')
			fputs("\\|", stdout);
		else if (*s == '\n')
			fputc(' ', stdout);
		else
			fputc(*s, stdout);
	}
}

static void list_markdown(const struct rules *rs)
{
	for (size_t p = 0; p < rules_pack_count(rs); p++) {
		size_t n = 0;
		for (size_t k = 0; k < rules_count(rs); k++)
			n += !strcmp(rule_file(rules_get(rs, k)), rules_pack_path(rs, p));
		printf("#### %s (%zu rules)\n\n", rules_pack_name(rs, p), n);
		if (*rules_pack_description(rs, p))
			printf("%s\n\n", rules_pack_description(rs, p));
		printf("| id | severity | category | title |\n|---|---|---|---|\n");
		for (size_t k = 0; k < rules_count(rs); k++) {
			const struct rule *r = rules_get(rs, k);
			if (strcmp(rule_file(r), rules_pack_path(rs, p)))
				continue;
			printf("| `%s` | %s | %s | ", rule_id(r), rule_severity_name(rule_severity(r)),
			       rule_category(r));
			md_cell(rule_title(r));
			printf(" |\n");
		}
		printf("\n");
	}
}

static int rules_list(struct args *a)
{
	struct rules *rs = NULL;
	int problems;
	if (load_paths(a->paths, a->npaths, &rs, &problems))
		return 1;
	if (a->markdown) {
		list_markdown(rs);
	} else if (a->json) {
		json_t *arr = json_array();
		for (size_t k = 0; k < rules_count(rs); k++)
			json_array_append_new(arr, rule_json(rules_get(rs, k)));
		json_dumpf(arr, stdout, JSON_INDENT(2));
		fputc('\n', stdout);
		json_decref(arr);
	} else {
		for (size_t k = 0; k < rules_count(rs); k++) {
			const struct rule *r = rules_get(rs, k);
			printf("%-34s %-8s %-12s %s\n", rule_id(r), rule_severity_name(rule_severity(r)),
			       rule_category(r), rule_title(r));
		}
	}
	rules_free(rs);
	return 0;
}

/* --- match ---------------------------------------------------------------------------------- */

static void print_match_text(const struct rule_match *m)
{
	const struct rule *r = m->rule;
	printf("rule: %s (%s:%d)\ntitle: %s\nseverity: %s\ncategory: %s\n", rule_id(r), rule_file(r),
	       rule_line(r), rule_title(r), rule_severity_name(rule_severity(r)), rule_category(r));
	if (m->ncaptures) {
		printf("captures:\n");
		for (size_t i = 0; i < m->ncaptures; i++)
			printf("  %s: %s\n", m->captures[i].name, m->captures[i].value);
	}
	printf("causes:\n");
	for (size_t i = 0; i < rule_cause_count(r); i++)
		printf("  - %s\n", rule_cause(r, i));
	printf("fix:\n");
	for (size_t i = 0; i < rule_fix_count(r); i++) {
		printf("  %zu. %s\n", i + 1, rule_fix_step(r, i));
		if (rule_fix_command(r, i))
			printf("     $ %s\n", rule_fix_command(r, i));
	}
}

static void print_match_json(const struct rule_match *m)
{
	json_t *o = rule_match_json(m);
	json_dumpf(o, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
	fputc('\n', stdout);
	json_decref(o);
}

static json_t *read_event_stdin(void)
{
	json_error_t jerr;
	json_t *ev = json_loadf(stdin, 0, &jerr);
	if (!ev) {
		fprintf(stderr, "autocoder: stdin: line %d column %d: %s\n", jerr.line, jerr.column,
			jerr.text);
		return NULL;
	}
	if (!json_is_object(ev)) {
		fprintf(stderr, "autocoder: stdin: the event must be a JSON object\n");
		json_decref(ev);
		return NULL;
	}
	return ev;
}

/* Label every line of the input files: "file:line: rule-id", then counts per rule. */
static int match_lines(const struct rules *rs, struct args *a)
{
	size_t *counts = calloc(rules_count(rs) + 1, sizeof *counts), total = 0;
	struct rule_match m;
	int ret = 1;
	if (!counts)
		return 1;
	for (size_t f = 0; f < a->ninputs; f++) {
		struct ac_error err;
		size_t len, lineno = 0;
		char *data = ac_read_file(a->inputs[f], (size_t)1 << 30, &len, &err);
		if (!data) {
			fprintf(stderr, "autocoder: %s\n", err.msg);
			goto out;
		}
		for (char *p = data, *end = data + len; p < end; lineno++) {
			char *e = memchr(p, '\n', (size_t)(end - p));
			size_t l = e ? (size_t)(e - p) : (size_t)(end - p);
			if (rules_match_text(rs, p, l, &m)) {
				printf("%s:%zu: %s\n", a->inputs[f], lineno + 1, rule_id(m.rule));
				counts[rule_index(m.rule)]++;
				total++;
			}
			p += l + 1;
		}
		free(data);
	}
	for (size_t k = 0; k < rules_count(rs); k++)
		if (counts[k])
			fprintf(stderr, "%8zu %s\n", counts[k], rule_id(rules_get(rs, k)));
	ret = total ? 0 : 1;
out:
	free(counts);
	return ret;
}

static int rules_match_cmd(struct args *a)
{
	struct rules *rs = NULL;
	int problems, ret = 1;
	json_t *ev = NULL;
	struct rule_match m;
	if (load_paths(a->paths, a->npaths, &rs, &problems))
		return 1;
	if (a->ninputs) {
		ret = match_lines(rs, a);
		goto out;
	}
	if (a->message)
		ev = json_pack("{s:s}", "message", a->message);
	else
		ev = read_event_stdin();
	if (!ev)
		goto out;
	if (!rules_match(rs, ev, &m)) {
		if (a->json)
			printf("null\n");
		else
			printf("no rule matched\n");
		goto out;
	}
	if (a->json)
		print_match_json(&m);
	else
		print_match_text(&m);
	ret = 0;
out:
	json_decref(ev);
	rules_free(rs);
	return ret;
}

/* --- bench ---------------------------------------------------------------------------------- */

/* Lines to match: pointers into file buffers (data: the last file read) or the rules' examples. */
struct corpus {
	char *data;
	const char **line;
	size_t *linelen;
	size_t n;
};

static int corpus_add_file(struct corpus *c, const char *path)
{
	struct ac_error err;
	size_t len;
	char *data = ac_read_file(path, (size_t)1 << 30, &len, &err);
	if (!data) {
		fprintf(stderr, "autocoder: %s\n", err.msg);
		return -1;
	}
	size_t lines = 0;
	for (size_t i = 0; i < len; i++)
		lines += data[i] == '\n';
	lines++;
	const char **nl = realloc(c->line, (c->n + lines) * sizeof *nl);
	size_t *nll = realloc(c->linelen, (c->n + lines) * sizeof *nll);
	if (nl)
		c->line = nl;
	if (nll)
		c->linelen = nll;
	if (!nl || !nll) {
		free(data);
		return -1;
	}
	for (char *p = data, *end = data + len; p < end;) {
		char *e = memchr(p, '\n', (size_t)(end - p));
		size_t l = e ? (size_t)(e - p) : (size_t)(end - p);
		if (l) {
			c->line[c->n] = p;
			c->linelen[c->n++] = l;
		}
		p += l + 1;
	}
	c->data = data; /* the lines point into it: the caller frees it after the run */
	return 0;
}

/* The rules' own example messages join the corpus, so the bench also exercises matches. */
static int corpus_add_examples(struct corpus *c, const struct rules *rs)
{
	for (size_t k = 0; k < rules_count(rs); k++) {
		const struct rule *r = rules_get(rs, k);
		for (size_t i = 0; i < rule_example_count(r); i++) {
			const json_t *msg = json_object_get(rule_example(r, i, NULL, NULL, NULL), "message");
			if (!json_is_string(msg))
				continue;
			const char **nl = realloc(c->line, (c->n + 1) * sizeof *nl);
			if (nl)
				c->line = nl;
			size_t *nll = realloc(c->linelen, (c->n + 1) * sizeof *nll);
			if (nll)
				c->linelen = nll;
			if (!nl || !nll)
				return -1;
			c->line[c->n] = json_string_value(msg);
			c->linelen[c->n++] = json_string_length(msg);
		}
	}
	return 0;
}

static double cpu_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Match total messages (cycling through the corpus); returns wall seconds, *cpu CPU seconds. */
static double run_pass(const struct rules *rs, const struct corpus *c, size_t total,
		       bool screened, size_t *matched, double *cpu)
{
	struct rule_match m;
	double c0 = cpu_seconds();
	double t0 = ac_monotonic();
	*matched = 0;
	for (size_t i = 0; i < total; i++) {
		size_t k = i % c->n;
		bool hit = screened ? rules_match_text(rs, c->line[k], c->linelen[k], &m)
				    : rules_match_text_unscreened(rs, c->line[k], c->linelen[k], &m);
		*matched += hit;
	}
	*cpu = cpu_seconds() - c0;
	return ac_monotonic() - t0;
}

/* The same messages as collector-shaped events (built once, outside the timing). */
static double run_event_pass(const struct rules *rs, const struct corpus *c, size_t total,
			     size_t *matched, double *cpu)
{
	json_t **ev = calloc(c->n, sizeof *ev);
	struct rule_match m;
	double secs = -1;
	if (!ev)
		return -1;
	for (size_t i = 0; i < c->n; i++) {
		ev[i] = json_pack("{s:s%,s:s,s:s}", "message", c->line[i], c->linelen[i], "level",
				  "error", "component", "api");
		if (!ev[i]) { /* not UTF-8: jansson refuses it; match it as an empty event */
			ev[i] = json_object();
			if (!ev[i])
				goto out;
		}
	}
	double c0 = cpu_seconds(), t0 = ac_monotonic();
	*matched = 0;
	for (size_t i = 0; i < total; i++)
		*matched += rules_match(rs, ev[i % c->n], &m);
	*cpu = cpu_seconds() - c0;
	secs = ac_monotonic() - t0;
out:
	for (size_t i = 0; i < c->n; i++)
		json_decref(ev[i]);
	free(ev);
	return secs;
}

static int rules_bench(struct args *a)
{
	struct rules *rs = NULL;
	int problems, ret = 1;
	struct corpus c = { 0 };
	char *datas[AC_ARRAY_SIZE(a->inputs)] = { 0 };
	if (a->ninputs == 0)
		return usage_error(usage, "bench needs --input FILE...");
	if (load_paths(a->paths, a->npaths, &rs, &problems))
		return 1;
	for (size_t i = 0; i < a->ninputs; i++) {
		if (corpus_add_file(&c, a->inputs[i]))
			goto out;
		datas[i] = c.data;
	}
	if (corpus_add_examples(&c, rs))
		goto out;
	if (c.n == 0) {
		fprintf(stderr, "autocoder: no input lines\n");
		goto out;
	}
	size_t total = (size_t)a->min > c.n ? (size_t)a->min : c.n, matched, ref_matched = 0;
	double cpu, ref_cpu = 0, ev_cpu = 0;
	size_t ev_matched = 0;
	double secs = run_pass(rs, &c, total, true, &matched, &cpu);
	double ev_secs = run_event_pass(rs, &c, total, &ev_matched, &ev_cpu);
	if (ev_secs < 0)
		goto out;
	size_t ref_total = (size_t)a->reference < total ? (size_t)a->reference : total;
	double ref_secs = ref_total ? run_pass(rs, &c, ref_total, false, &ref_matched, &ref_cpu) : 0;
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	printf("rules: %zu (%zu without a literal prefilter)\n", rules_count(rs),
	       rules_unscreened_count(rs));
	printf("input: %zu distinct lines (files + rule examples), %zu messages matched in total\n",
	       c.n, total);
	printf("prefiltered: %.0f messages/s wall (%.3f s), %.0f messages/s per CPU second "
	       "(%.3f s), %zu matched a rule\n", total / secs, secs, total / cpu, cpu, matched);
	printf("event API (rules_match on {\"message\",\"level\",\"component\"} objects): %.0f "
	       "messages/s wall, %.0f per CPU second, %zu matched\n", total / ev_secs, total / ev_cpu,
	       ev_matched);
	if (ref_total)
		printf("reference (every rule's regex, no prefilter): %.0f messages/s wall, %.0f per "
		       "CPU second, over %zu messages, %zu matched\n", ref_total / ref_secs,
		       ref_total / ref_cpu, ref_total, ref_matched);
	printf("peak RSS: %ld KiB\n", ru.ru_maxrss);
	ret = 0;
out:
	for (size_t i = 0; i < a->ninputs; i++)
		free(datas[i]);
	free(c.line);
	free(c.linelen);
	rules_free(rs);
	return ret;
}

/* --- suggest -------------------------------------------------------------------------------- */

static int rules_suggest_cmd(struct args *a)
{
	struct ac_error err;
	if (!a->template || !a->example)
		return usage_error(usage, "suggest needs --template and --example");
	char *yaml = rules_suggest_rule(a->id ? a->id : "local.unknown-pattern", a->template,
					a->example, &err);
	if (!yaml) {
		fprintf(stderr, "autocoder: %s\n", err.msg);
		return 1;
	}
	fputs(yaml, stdout);
	free(yaml);
	return 0;
}

int cmd_rules(int argc, char **argv)
{
	struct args a;
	if (argc < 2)
		return usage_error(usage, "which rules subcommand?");
	const char *sub = argv[1];
	if (!strcmp(sub, "-h") || !strcmp(sub, "--help")) {
		fputs(usage, stdout);
		return 0;
	}
	int rc = parse_args(argc - 1, argv + 1, &a, strcmp(sub, "suggest") != 0);
	if (rc)
		return rc < 0 ? 0 : rc;
	if (!strcmp(sub, "check"))
		return rules_check(&a);
	if (!strcmp(sub, "test"))
		return rules_test(&a);
	if (!strcmp(sub, "list"))
		return rules_list(&a);
	if (!strcmp(sub, "match"))
		return rules_match_cmd(&a);
	if (!strcmp(sub, "bench"))
		return rules_bench(&a);
	if (!strcmp(sub, "suggest"))
		return rules_suggest_cmd(&a);
	return usage_error(usage, "unknown rules subcommand '%s'", sub);
}

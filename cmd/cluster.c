/*
 * cluster.c — `autocoder cluster`: offline template mining of plain log files.
 *
 * Each line's header is split off by a line format in logparser's notation
 * ('<Date> <Time> <Level> <Component>: <Content>'): every <Field> matches lazily, a run of
 * spaces matches any whitespace, and <Content> is what gets mined. The format is compiled to
 * one anchored PCRE2 pattern. A line the format does not fit is mined whole (and counted in
 * the summary on stderr), so --labels always prints exactly one id per input line.
 */
#include "core/common.h"
#include "cmd/cmds.h"
#include "analyzer/miner.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <jansson.h>
#include <pcre2.h>
#include <sys/resource.h>

static const char usage[] =
	"usage: autocoder cluster [options] [FILE...]\n"
	"  Mine message templates from log lines (stdin when no FILE, or '-').\n"
	"  --format FMT     line format, e.g. '<Date> <Time> <Level> <Component>: <Content>'\n"
	"                   (default: the whole line is the content)\n"
	"  --labels         print one cluster id per input line instead of the templates\n"
	"  --json           machine-readable output\n"
	"  --threshold X    similarity threshold in (0,1] (default 0.7)\n"
	"  --depth N        leading tokens used as tree keys (default 2)\n"
	"  --masks LIST     built-in masks to enable (comma list; see docs/RULES.md)\n"
	"  --mask NAME=RE   extra PCRE2 mask, applied first (repeatable)\n"
	"  --no-merge       keep templates apart that turn out to differ only in variable\n"
	"                   positions (merged by default)\n"
	"  --stats          print lines, clusters, wall and CPU time to stderr\n";

struct line_format {
	pcre2_code *re;
	pcre2_match_data *md;
	uint32_t content_group;
};

#define FORMAT_MAX 1024

/* Mark the '(' ... ')?' pairs of logparser's optional parts ("<Component>(\[<PID>\])?"):
 * grp[i] = 1 at such an opener, 2 at its closer. Other parentheses are literal text. */
static void mark_optional_groups(const char *spec, size_t n, unsigned char *grp)
{
	size_t stack[16], depth = 0;
	for (size_t i = 0; i < n; i++) {
		if (spec[i] == '\\' && i + 1 < n) {
			i++;
		} else if (spec[i] == '<') {
			const char *gt = memchr(spec + i, '>', n - i);
			if (gt)
				i = (size_t)(gt - spec);
		} else if (spec[i] == '(' && depth < AC_ARRAY_SIZE(stack)) {
			stack[depth++] = i;
		} else if (spec[i] == ')' && depth) {
			size_t open = stack[--depth];
			if (i + 1 < n && spec[i + 1] == '?') {
				grp[open] = 1;
				grp[i] = 2;
			}
		}
	}
}

/* Append the PCRE2 for field "<name>" at spec[i]; *end receives the index after '>'. */
static int add_field(struct ac_buf *re, const char *spec, size_t i, size_t *end, int *content,
		     struct ac_error *err)
{
	const char *lt = spec + i, *gt = strchr(lt, '>');
	size_t nl = gt ? (size_t)(gt - lt - 1) : 0;
	if (!gt || !nl || nl > 32)
		return ac_error_set(err, AC_EINVAL, "bad_format",
				    "bad --format at column %zu: expected <Field>", i + 1);
	for (size_t k = 1; k <= nl; k++)
		if (!((lt[k] >= 'a' && lt[k] <= 'z') || (lt[k] >= 'A' && lt[k] <= 'Z') ||
		      (lt[k] >= '0' && lt[k] <= '9' && k > 1) || lt[k] == '_'))
			return ac_error_set(err, AC_EINVAL, "bad_format",
					    "bad --format at column %zu: field names use letters, "
					    "digits and '_'", i + 1 + k);
	if (nl == 7 && !memcmp(lt + 1, "Content", 7))
		(*content)++;
	*end = i + nl + 2;
	return ac_buf_printf(re, "(?<%.*s>.*?)", (int)nl, lt + 1);
}

/* Translate a logparser format into an anchored PCRE2 pattern. Text between fields is literal,
 * except: a run of spaces matches any whitespace, "\X" is X (logparser formats escape
 * brackets as "\[" since their text is a regex there), and "( ... )?" around fields marks an
 * optional part. So both '[<Pid>]' and '\[<Pid>\]' work. */
static int format_to_regex(struct ac_buf *re, const char *spec, int *content, struct ac_error *err)
{
	size_t n = strlen(spec);
	unsigned char grp[FORMAT_MAX] = { 0 };
	int rc = 0;

	if (n >= FORMAT_MAX)
		return ac_error_set(err, AC_EINVAL, "bad_format", "--format is longer than %d bytes",
				    FORMAT_MAX - 1);
	mark_optional_groups(spec, n, grp);
	ac_buf_puts(re, "^");
	for (size_t i = 0; i < n && !rc;) {
		unsigned char c = (unsigned char)spec[i];
		if (c == '<') {
			rc = add_field(re, spec, i, &i, content, err);
			if (rc && rc != AC_ETOOBIG)
				return rc;
			continue;
		}
		if (c == ' ') {
			while (i < n && spec[i] == ' ')
				i++;
			rc = ac_buf_puts(re, "\\s+");
		} else if (grp[i] == 1) {
			rc = ac_buf_puts(re, "(?:");
			i++;
		} else if (grp[i] == 2) {
			rc = ac_buf_puts(re, ")?");
			i += 2;
		} else if (c == '\\' && i + 1 < n) {
			unsigned char e = (unsigned char)spec[i + 1];
			bool alnum = (e >= '0' && e <= '9') || (e >= 'a' && e <= 'z') || (e >= 'A' && e <= 'Z');
			rc = alnum ? ac_buf_printf(re, "%c", e) : ac_buf_printf(re, "\\%c", e);
			i += 2;
		} else if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			   c >= 0x80) {
			rc = ac_buf_append(re, spec + i, 1);
			i++;
		} else {
			rc = ac_buf_printf(re, "\\%c", c);
			i++;
		}
	}
	if (!rc)
		rc = ac_buf_puts(re, "$");
	return rc ? ac_error_set(err, AC_EINVAL, "bad_format", "--format is too long") : 0;
}

/* Compile a logparser-style format into fmt. 0, or AC_EINVAL with err naming the problem. */
static int format_compile(struct line_format *fmt, const char *spec, struct ac_error *err)
{
	struct ac_buf re;
	int rc, content = 0, errcode;
	PCRE2_SIZE erroff;

	ac_buf_init(&re, 64 * 1024);
	if ((rc = format_to_regex(&re, spec, &content, err)))
		goto out;
	if (content != 1) {
		rc = ac_error_set(err, AC_EINVAL, "bad_format",
				  "--format must contain <Content> exactly once");
		goto out;
	}
	fmt->re = pcre2_compile((PCRE2_SPTR)re.data, PCRE2_ZERO_TERMINATED,
				PCRE2_DOTALL | PCRE2_DUPNAMES, &errcode, &erroff, NULL);
	if (!fmt->re) {
		PCRE2_UCHAR msg[160];
		pcre2_get_error_message(errcode, msg, sizeof msg);
		rc = ac_error_set(err, AC_EINVAL, "bad_format", "bad --format: %s", (char *)msg);
		goto out;
	}
	pcre2_jit_compile(fmt->re, PCRE2_JIT_COMPLETE);
	fmt->md = pcre2_match_data_create_from_pattern(fmt->re, NULL);
	int g = pcre2_substring_number_from_name(fmt->re, (PCRE2_SPTR) "Content");
	if (!fmt->md || g < 0) {
		rc = ac_error_set(err, AC_ENOMEM, "oom", "cannot prepare --format");
		goto out;
	}
	fmt->content_group = (uint32_t)g;
out:
	ac_buf_release(&re);
	return rc;
}

static void format_release(struct line_format *fmt)
{
	pcre2_match_data_free(fmt->md);
	pcre2_code_free(fmt->re);
}

/* Point *content at the line's content; false when the format does not fit the line. */
static bool format_content(struct line_format *fmt, const char *line, size_t n,
			   const char **content, size_t *clen)
{
	*content = line;
	*clen = n;
	if (!fmt->re)
		return true;
	if (pcre2_match(fmt->re, (PCRE2_SPTR)line, n, 0, 0, fmt->md, NULL) < 0)
		return false;
	PCRE2_SIZE *ov = pcre2_get_ovector_pointer(fmt->md);
	*content = line + ov[2 * fmt->content_group];
	*clen = ov[2 * fmt->content_group + 1] - ov[2 * fmt->content_group];
	return true;
}

struct labels {
	long *id;
	size_t n, cap;
};

static int labels_push(struct labels *l, long id)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 4096;
		long *p = realloc(l->id, cap * sizeof *p);
		if (!p)
			return AC_ENOMEM;
		l->id = p;
		l->cap = cap;
	}
	l->id[l->n++] = id;
	return 0;
}

struct run {
	struct miner *m;
	struct line_format fmt;
	struct labels labels;
	uint64_t lines, unmatched;
};

static int mine_stream(struct run *r, FILE *in, const char *name, struct ac_error *err)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int rc = 0;

	while ((n = getline(&line, &cap, in)) >= 0) {
		size_t len = (size_t)n;
		const char *content;
		size_t clen;
		while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			len--;
		if (!format_content(&r->fmt, line, len, &content, &clen))
			r->unmatched++;
		long id = miner_add(r->m, content, clen);
		if (id < 0) {
			rc = ac_error_set(err, (int)id, "mine", "%s: line %llu: %s", name,
					  (unsigned long long)r->lines + 1, ac_strerror((int)id));
			break;
		}
		r->lines++;
		if (labels_push(&r->labels, id)) {
			rc = ac_error_set(err, AC_ENOMEM, "oom", "out of memory");
			break;
		}
	}
	if (!rc && ferror(in))
		rc = ac_error_set(err, AC_EIO, "read", "%s: %s", name, strerror(errno));
	free(line);
	return rc;
}

static int by_count_desc(const void *a, const void *b, void *arg)
{
	const struct miner *m = arg;
	long x = *(const long *)a, y = *(const long *)b;
	uint64_t cx = miner_size(m, x), cy = miner_size(m, y);
	if (cx != cy)
		return cx > cy ? -1 : 1;
	return x < y ? -1 : x > y;
}

static int print_templates(struct miner *m, bool json)
{
	size_t n = 0;
	long *ids = malloc((miner_count(m) ? miner_count(m) : 1) * sizeof *ids);
	if (!ids)
		return AC_ENOMEM;
	for (long id = miner_next(m, 0); id; id = miner_next(m, id))
		ids[n++] = id;
	qsort_r(ids, n, sizeof *ids, by_count_desc, m);
	if (json) {
		json_t *arr = json_array();
		for (size_t i = 0; arr && i < n; i++)
			json_array_append_new(arr, json_pack("{s:I,s:I,s:s}", "id", (json_int_t)ids[i],
							     "count", (json_int_t)miner_size(m, ids[i]),
							     "template", miner_template(m, ids[i])));
		json_t *root = json_pack("{s:o}", "clusters", arr);
		if (root)
			json_dumpf(root, stdout, JSON_INDENT(2) | JSON_ENSURE_ASCII);
		fputc('\n', stdout);
		json_decref(root);
	} else {
		for (size_t i = 0; i < n; i++)
			printf("%8llu  %-6ld %s\n", (unsigned long long)miner_size(m, ids[i]), ids[i],
			       miner_template(m, ids[i]));
	}
	free(ids);
	return 0;
}

static void print_labels(const struct labels *l, bool json)
{
	if (json) {
		fputc('[', stdout);
		for (size_t i = 0; i < l->n; i++)
			printf("%s%ld", i ? "," : "", l->id[i]);
		fputs("]\n", stdout);
		return;
	}
	for (size_t i = 0; i < l->n; i++)
		printf("%ld\n", l->id[i]);
}

static int mine_inputs(struct run *r, int nfiles, char **files, struct ac_error *err)
{
	if (!nfiles)
		return mine_stream(r, stdin, "<stdin>", err);
	for (int i = 0; i < nfiles; i++) {
		if (!strcmp(files[i], "-")) {
			int rc = mine_stream(r, stdin, "<stdin>", err);
			if (rc)
				return rc;
			continue;
		}
		FILE *f = fopen(files[i], "r");
		if (!f)
			return ac_error_set(err, AC_EIO, "open", "%s: %s", files[i], strerror(errno));
		int rc = mine_stream(r, f, files[i], err);
		fclose(f);
		if (rc)
			return rc;
	}
	return 0;
}

/* CPU time of this process (reading, header split, masking and mining): on a shared machine
 * it measures the work, where wall time would also measure the neighbours. */
static double cpu_seconds(void)
{
	struct rusage ru;
	if (getrusage(RUSAGE_SELF, &ru))
		return 0;
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
	       ru.ru_stime.tv_usec / 1e6;
}

/* Peak resident memory from /proc (VmHWM): getrusage's ru_maxrss keeps the parent's peak
 * across fork+exec, which would report the launcher's memory instead of ours. */
static long peak_rss_kib(void)
{
	char line[256];
	long kib = 0;
	FILE *f = fopen("/proc/self/status", "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof line, f))
		if (!strncmp(line, "VmHWM:", 6)) {
			kib = strtol(line + 6, NULL, 10);
			break;
		}
	fclose(f);
	return kib;
}

int cmd_cluster(int argc, char **argv)
{
	struct miner_config cfg;
	struct ac_error err = { 0 };
	struct run r = { 0 };
	const char *format = NULL;
	bool labels = false, json = false, stats = false;
	char **masks = NULL;
	int nmasks = 0, i, ret = 1;

	miner_config_default(&cfg);
	masks = calloc((size_t)argc, sizeof *masks);
	if (!masks)
		return 1;
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		bool has_val = i + 1 < argc;
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			fputs(usage, stdout);
			ret = 0;
			goto out;
		} else if (!strcmp(a, "--labels")) {
			labels = true;
		} else if (!strcmp(a, "--json")) {
			json = true;
		} else if (!strcmp(a, "--stats")) {
			stats = true;
		} else if (!strcmp(a, "--no-merge")) {
			cfg.no_merge = true;
		} else if (!strcmp(a, "--format") && has_val) {
			format = argv[++i];
		} else if (!strcmp(a, "--masks") && has_val) {
			cfg.masks = argv[++i];
		} else if (!strcmp(a, "--mask") && has_val) {
			masks[nmasks++] = argv[++i];
		} else if (!strcmp(a, "--threshold") && has_val) {
			if (ac_parse_double(argv[++i], &cfg.sim_threshold) || cfg.sim_threshold <= 0 ||
			    cfg.sim_threshold > 1) {
				ret = usage_error(usage, "--threshold: expected a number in (0,1], got '%s'",
						  argv[i]);
				goto out;
			}
		} else if (!strcmp(a, "--depth") && has_val) {
			int64_t d;
			if (ac_parse_i64(argv[++i], &d) || d < 1 || d > 16) {
				ret = usage_error(usage, "--depth: expected 1..16, got '%s'", argv[i]);
				goto out;
			}
			cfg.depth = (unsigned)d;
		} else if (!strcmp(a, "--")) {
			i++;
			break;
		} else if (a[0] == '-' && a[1]) {
			ret = usage_error(usage, "unknown or incomplete option '%s'", a);
			goto out;
		} else {
			break;
		}
	}
	if (format && format_compile(&r.fmt, format, &err)) {
		ret = usage_error(NULL, "%s", err.msg);
		goto out;
	}
	if (!(r.m = miner_new(&cfg, &err))) {
		ret = usage_error(NULL, "%s", err.msg);
		goto out;
	}
	for (int k = 0; k < nmasks; k++)
		if (miner_add_mask(r.m, masks[k], &err)) {
			ret = usage_error(NULL, "--mask: %s", err.msg);
			goto out;
		}
	double wall = ac_monotonic(), cpu = cpu_seconds();
	if (mine_inputs(&r, argc - i, argv + i, &err)) {
		fprintf(stderr, "autocoder cluster: %s\n", err.msg);
		goto out;
	}
	wall = ac_monotonic() - wall;
	cpu = cpu_seconds() - cpu;
	/* ids handed out early may have been merged since: report the survivors */
	for (size_t k = 0; k < r.labels.n; k++)
		r.labels.id[k] = miner_resolve(r.m, r.labels.id[k]);
	if (labels)
		print_labels(&r.labels, json);
	else if (print_templates(r.m, json))
		goto out;
	if (r.unmatched)
		fprintf(stderr, "autocoder cluster: %llu of %llu lines did not fit --format; mined whole\n",
			(unsigned long long)r.unmatched, (unsigned long long)r.lines);
	if (stats)
		fprintf(stderr, "lines %llu clusters %zu wall %.3fs cpu %.3fs rate %.0f/cpu-s "
			"peak_rss %ldKiB\n", (unsigned long long)r.lines, miner_count(r.m), wall, cpu,
			cpu > 0 ? (double)r.lines / cpu : 0.0, peak_rss_kib());
	ret = fflush(stdout) ? 1 : 0;
out:
	format_release(&r.fmt);
	miner_free(r.m);
	free(r.labels.id);
	free(masks);
	return ret;
}

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

#include "analyzer/logformat.h"

#include <jansson.h>
#include <sys/resource.h>

#define STR_(x) #x
#define STR(x) STR_(x)

static const char usage[] =
	"usage: autocoder cluster [options] [FILE...]\n"
	"  Mine message templates from log lines (stdin when no FILE, or '-').\n"
	"  --format FMT     line format, e.g. '<Date> <Time> <Level> <Component>: <Content>'\n"
	"                   (default: the whole line is the content)\n"
	"  --labels         print one cluster id per input line instead of the templates\n"
	"  --json           machine-readable output\n"
	"  --threshold X    similarity threshold in (0,1] (default " STR(MINER_DEFAULT_THRESHOLD) ")\n"
	"  --depth N        leading tokens used as tree keys (default 2)\n"
	"  --masks LIST     built-in masks to enable (comma list; see docs/RULES.md)\n"
	"  --mask NAME=RE   extra PCRE2 mask, applied first (repeatable)\n"
	"  --no-merge       keep templates apart: no word families, no merging of templates\n"
	"                   that differ only in variable positions, no optional parts\n"
	"  --stats          print lines, clusters, wall and CPU time to stderr\n";

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
	struct logformat *fmt;
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
		if (!logformat_content(r->fmt, line, len, &content, &clen))
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
	if (format && !(r.fmt = logformat_compile(format, &err))) {
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
	logformat_free(r.fmt);
	miner_free(r.m);
	free(r.labels.id);
	free(masks);
	return ret;
}

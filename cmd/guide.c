/*
 * guide.c — `autocoder guide`: write the debugging guide from a database's clusters
 * (analyzer/guide.h) as Markdown or HTML, to stdout or a file.
 */
#include "core/common.h"
#include "core/db.h"
#include "cmd/cmds.h"
#include "analyzer/guide.h"
#include "analyzer/rules.h"

#include <getopt.h>

static const char guide_usage[] =
	"usage: autocoder guide [--db PATH] [--rules DIR] [--output-format md|html] [-o FILE]\n"
	"                       [--limit N] [--now TIME]\n"
	"  --db PATH        SQLite database (default data/autocoder.db); cluster it first\n"
	"                   (autocoder analyze, or autocoder serve --rules DIR)\n"
	"  --rules DIR      rule packs whose causes and fix steps the guide quotes\n"
	"  --output-format F  md (default) or html (--format is the old, deprecated name)\n"
	"  -o, --output F   write to F instead of stdout\n"
	"  --limit N        clusters in the guide (default 25)\n"
	"  --now TIME       end of the trend window, ISO-8601 or unix seconds (default: now)\n"
	"  --stats          print the documentation confidence instead: entries backed by >= N\n"
	"                   events (--min-events N, default 10), validated by fault injection,\n"
	"                   with positive user feedback, and all three (--json for JSON)\n";

static int write_output(const char *path, const char *text, size_t len)
{
	struct ac_error err;

	if (!path)
		return fwrite(text, 1, len, stdout) == len && fflush(stdout) == 0 ? 0 : -1;
	if (ac_write_file(path, text, len, &err)) {
		fprintf(stderr, "autocoder guide: %s\n", err.msg);
		return -1;
	}
	return 0;
}

static double pct(long long k, long long n)
{
	return n ? 100.0 * (double)k / (double)n : 0;
}

/* `guide --stats`: the documentation confidence with the numbers behind it. */
static int print_stats(ac_sql *db, const struct rules *rules, const struct guide_options *go,
		       unsigned min_events, bool json, struct ac_error *err)
{
	struct guide_stats st;
	if (guide_stats(db, rules, go, min_events, &st, err))
		return 1;
	if (json) {
		printf("{\"entries\":%lld,\"with_rule\":%lld,\"min_events\":%u,\"backed\":%lld,"
		       "\"validated\":%lld,\"stale\":%lld,\"positive_feedback\":%lld,\"all\":%lld,"
		       "\"confidence\":%.4f}\n", st.entries, st.with_rule, st.min_events, st.backed,
		       st.validated, st.stale, st.positive, st.all,
		       st.entries ? (double)st.all / (double)st.entries : 0.0);
		return 0;
	}
	printf("guide entries:                     %lld (%lld recognised by a rule)\n", st.entries,
	       st.with_rule);
	char label[64];
	snprintf(label, sizeof label, "backed by >= %u events:", st.min_events);
	printf("%-35s%lld (%.1f%%)\n", label, st.backed, pct(st.backed, st.entries));
	printf("validated by fault injection:      %lld (%.1f%%)\n", st.validated,
	       pct(st.validated, st.entries));
	if (st.stale)
		printf("stale (fault no longer produces):  %lld\n", st.stale);
	printf("with positive user feedback:       %lld (%.1f%%)\n", st.positive,
	       pct(st.positive, st.entries));
	printf("documentation confidence (all 3):  %lld of %lld = %.1f%%\n", st.all, st.entries,
	       pct(st.all, st.entries));
	return 0;
}

int cmd_guide(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "db", required_argument, NULL, 'd' }, { "rules", required_argument, NULL, 'r' },
		{ "format", required_argument, NULL, 'F' }, { "output", required_argument, NULL, 'o' },
		{ "output-format", required_argument, NULL, 'f' },
		{ "limit", required_argument, NULL, 'l' }, { "now", required_argument, NULL, 'n' },
		{ "stats", no_argument, NULL, 's' }, { "min-events", required_argument, NULL, 'm' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 },
	};
	struct guide_options go = { .format = GUIDE_MARKDOWN, .project = -1 };
	const char *db_path = "data/autocoder.db", *rules_dir = NULL, *output = NULL;
	struct rules *rules = NULL;
	struct ac_error err;
	ac_sql *db = NULL;
	char *text = NULL;
	size_t len = 0;
	int64_t limit, min_events = 10;
	bool stats = false, json = false;
	int opt, ret = 1;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "ho:", opts, NULL)) != -1) {
		switch (opt) {
		case 'd': db_path = optarg; break;
		case 'r': rules_dir = optarg; break;
		case 'o': output = optarg; break;
		case 'F':
			/* one meaning per flag name: --format is a log line format in `cluster` */
			fprintf(stderr, "autocoder guide: --format is deprecated, use --output-format\n");
			/* fall through */
		case 'f':
			if (guide_parse_format(optarg, &go.format))
				return usage_error(guide_usage, "--output-format: '%s' is not md or html", optarg);
			break;
		case 'l':
			if (ac_parse_i64(optarg, &limit) || limit < 1 || limit > 10000)
				return usage_error(guide_usage, "--limit: '%s' is not a count from 1 to 10000", optarg);
			go.limit = (unsigned)limit;
			break;
		case 'n':
			if (ac_parse_time(optarg, &go.now) || go.now <= 0)
				return usage_error(guide_usage, "--now: '%s' is not an ISO-8601 time or unix seconds", optarg);
			break;
		case 's': stats = true; break;
		case 'j': json = true; break;
		case 'm':
			if (ac_parse_i64(optarg, &min_events) || min_events < 1 || min_events > 1000000000)
				return usage_error(guide_usage, "--min-events: '%s' is not a count", optarg);
			break;
		case 'h': fputs(guide_usage, stdout); return 0;
		default: return usage_error(guide_usage, "unknown option");
		}
	}
	if (optind < argc)
		return usage_error(guide_usage, "unexpected argument '%s'", argv[optind]);
	if (rules_dir && rules_load_dir(rules_dir, &rules, &err)) {
		fprintf(stderr, "autocoder guide: --rules %s: %s\n", rules_dir, err.msg);
		goto out;
	}
	if (stats) {
		ret = (db = ac_db_open(db_path, AC_DB_READ, &err)) ?
			      print_stats(db, rules, &go, (unsigned)min_events, json, &err) : 1;
		if (ret)
			fprintf(stderr, "autocoder guide: %s\n", err.msg);
		goto out;
	}
	if (!(db = ac_db_open(db_path, AC_DB_READ, &err)) ||
	    guide_render(db, rules, &go, &text, &len, &err)) {
		fprintf(stderr, "autocoder guide: %s\n", err.msg);
		goto out;
	}
	ret = write_output(output, text, len) ? 1 : 0;
out:
	free(text);
	ac_db_close(db);
	rules_free(rules);
	return ret;
}

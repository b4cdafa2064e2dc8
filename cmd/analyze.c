/*
 * analyze.c — `autocoder analyze`: cluster the events stored in a database offline (the same
 * analyzer `autocoder serve --rules DIR` runs online), or re-cluster all of them (--rebuild)
 * after a rule or configuration change.
 */
#include "core/common.h"
#include "cmd/cmds.h"
#include "analyzer/analyzer.h"

#include <getopt.h>

static const char analyze_usage[] =
	"usage: autocoder analyze [--db PATH] [--rules DIR] [--rebuild] [--batch N]\n"
	"  --db PATH      SQLite database (default data/autocoder.db)\n"
	"  --rules DIR    rule packs that label clusters (default: none)\n"
	"  --rebuild      drop counts and miner state and re-cluster every event\n"
	"                 (statuses, merges and splits stay attached to their keys)\n"
	"  --batch N      events per transaction (default 500)\n";

int cmd_analyze(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "db", required_argument, NULL, 'd' }, { "rules", required_argument, NULL, 'r' },
		{ "rebuild", no_argument, NULL, 'R' }, { "batch", required_argument, NULL, 'b' },
		{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 },
	};
	const char *db = "data/autocoder.db", *rules = NULL;
	struct analyzer *a = NULL;
	struct ac_error err;
	bool rebuild = false;
	int64_t batch = 0;
	double t0;
	long n;
	int opt;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 'd': db = optarg; break;
		case 'r': rules = optarg; break;
		case 'R': rebuild = true; break;
		case 'b':
			if (ac_parse_i64(optarg, &batch) || batch < 1 || batch > 1000000)
				return usage_error(analyze_usage, "--batch: '%s' is not a count from 1 to 1000000", optarg);
			break;
		case 'h': fputs(analyze_usage, stdout); return 0;
		default: return usage_error(analyze_usage, "unknown option");
		}
	}
	if (optind < argc)
		return usage_error(analyze_usage, "unexpected argument '%s'", argv[optind]);
	if (analyzer_open(db, rules, &a, &err)) {
		fprintf(stderr, "autocoder analyze: %s\n", err.msg);
		return 1;
	}
	analyzer_set_batch(a, (size_t)batch);
	t0 = ac_monotonic();
	n = rebuild ? analyzer_rebuild(a, &err) : analyzer_process_new(a, &err);
	if (n < 0) {
		fprintf(stderr, "autocoder analyze: %s\n", err.msg);
		analyzer_close(a);
		return 1;
	}
	printf("%s %ld events in %.2f s\n", rebuild ? "re-clustered" : "clustered", n,
	       ac_monotonic() - t0);
	analyzer_close(a);
	return 0;
}

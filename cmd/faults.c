/*
 * faults.c — `autocoder faults`: run the fault catalogue against generated systems and list
 * the stored outcomes (analyzer/faults.h does the work).
 */
#include "core/common.h"
#include "core/db.h"
#include "cmd/cmds.h"
#include "analyzer/faults.h"
#include "analyzer/rules.h"

#include <getopt.h>
#include <limits.h>

static const char usage[] =
	"usage: autocoder faults run [options] [BLUEPRINT]\n"
	"       autocoder faults list [--db PATH] [--json]\n"
	"       autocoder faults check [--catalogue DIR] [--rules DIR]\n"
	"  run: generate and build each fault's system (BLUEPRINT for entries that name none),\n"
	"  inject the fault with a collector started for the run, check that the analyzer\n"
	"  attaches the fault's rule, apply the fix where the entry has one, store the outcome.\n"
	"  --catalogue DIR  fault catalogue (default data/faults)\n"
	"  --rules DIR      rule packs (default rules)\n"
	"  --db PATH        where outcomes are stored (default data/autocoder.db)\n"
	"  --rule ID        only faults that must trigger rule ID\n"
	"  --fault ID       only that fault\n"
	"  --work DIR       work directory (default: a fresh one under $TMPDIR)\n"
	"  --keep           keep the work directory (it is kept anyway when a fault failed)\n"
	"Exit status: 0 every fault validated (and recovered), 1 a fault failed or the run could\n"
	"not be made, 2 usage error.\n";

/* The autocoder binary itself, to start the collector and generate systems. */
static void self_path(char *buf, size_t n, const char *argv0)
{
	ssize_t l = readlink("/proc/self/exe", buf, n - 1);
	if (l > 0)
		buf[l] = '\0';
	else
		snprintf(buf, n, "%s", argv0);
}

static int faults_cmd_list(int argc, char **argv)
{
	const char *db_path = "data/autocoder.db";
	bool json = false;
	struct ac_error err = { 0 };

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--db") && i + 1 < argc)
			db_path = argv[++i];
		else if (!strcmp(argv[i], "--json"))
			json = true;
		else
			return usage_error(usage, "unknown or incomplete option '%s'", argv[i]);
	}
	ac_sql *db = ac_db_open(db_path, AC_DB_WRITE, &err);
	if (!db || faults_list(db, stdout, json, &err)) {
		fprintf(stderr, "autocoder faults: %s\n", err.msg);
		ac_db_close(db);
		return 1;
	}
	ac_db_close(db);
	return 0;
}

int cmd_faults(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "catalogue", required_argument, NULL, 'c' }, { "rules", required_argument, NULL, 'r' },
		{ "db", required_argument, NULL, 'd' }, { "rule", required_argument, NULL, 'R' },
		{ "fault", required_argument, NULL, 'f' }, { "work", required_argument, NULL, 'w' },
		{ "keep", no_argument, NULL, 'k' }, { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *catalogue = "data/faults";
	char self[PATH_MAX], lib[PATH_MAX], bp[PATH_MAX];
	struct fault_run_options o = { .rules_dir = "rules", .db_path = "data/autocoder.db",
				       .log = stdout };
	struct fault_catalog *cat = NULL;
	struct rules *rules = NULL;
	struct ac_error err = { 0 };
	unsigned ok = 0, failed = 0;
	int c, ret = 1;

	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		fputs(usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (!strcmp(argv[1], "list"))
		return faults_cmd_list(argc - 1, argv + 1);
	if (strcmp(argv[1], "run") && strcmp(argv[1], "check"))
		return usage_error(usage, "unknown subcommand '%s'", argv[1]);
	bool check = !strcmp(argv[1], "check");
	optind = 2;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': catalogue = optarg; break;
		case 'r': o.rules_dir = optarg; break;
		case 'd': o.db_path = optarg; break;
		case 'R': o.only_rule = optarg; break;
		case 'f': o.only_fault = optarg; break;
		case 'w': o.workdir = optarg; break;
		case 'k': o.keep = true; break;
		case 'h': fputs(usage, stdout); return 0;
		default: return usage_error(usage, "bad option");
		}
	}
	if (optind < argc - 1)
		return usage_error(usage, "at most one BLUEPRINT");
	if (optind == argc - 1) {
		if (!realpath(argv[optind], bp))
			return usage_error(NULL, "%s: %s", argv[optind], strerror(errno));
		o.blueprint = bp;
	}
	if (rules_load_dir(o.rules_dir, &rules, &err) ||
	    fault_catalog_load(catalogue, rules, &cat, &err)) {
		fprintf(stderr, "autocoder faults: %s\n", err.msg);
		goto out;
	}
	if (check) {
		printf("%zu faults, all valid\n", fault_catalog_count(cat));
		ret = 0;
		goto out;
	}
	self_path(self, sizeof self, argv[0]);
	char rel[PATH_MAX];
	snprintf(rel, sizeof rel, "%s/lib.sh", catalogue);
	if (!realpath(rel, lib)) {
		fprintf(stderr, "autocoder faults: %s/lib.sh: %s\n", catalogue, strerror(errno));
		goto out;
	}
	o.self = self;
	o.lib = lib;
	if (faults_run(cat, &o, &ok, &failed, &err)) {
		fprintf(stderr, "autocoder faults: %s\n", err.msg);
		goto out;
	}
	printf("%u validated, %u failed\n", ok, failed);
	ret = failed ? 1 : 0;
out:
	fault_catalog_free(cat);
	rules_free(rules);
	return ret;
}

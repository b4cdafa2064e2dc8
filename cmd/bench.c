/*
 * bench.c — `autocoder bench SYSTEM_DIR | BLUEPRINT [options]`: performance validation of a
 * generated system (perf/perf.h, docs/BENCH.md). Parses options, runs the bench, prints the
 * table (or the run's JSON with --json). Exit 0 when every criterion held (and the regression
 * gate, if asked, is ok), 1 when a criterion or the gate failed or the bench could not run,
 * 2 on usage errors, 3 when the gate is inconclusive.
 */
#include "core/common.h"
#include "cmd/cmds.h"
#include "perf/perf.h"

#include <unistd.h>

static const char usage[] =
	"usage: autocoder bench SYSTEM_DIR | BLUEPRINT [options]\n"
	"       autocoder bench --url http://127.0.0.1:PORT/PATH [options]\n"
	"  -c, --concurrency LIST  closed-loop steps, connections (default 1,8,64,256)\n"
	"  --rate LIST             open-loop steps, requests (or messages) per second\n"
	"  -d, --duration S        seconds measured per step (default 5)\n"
	"  --warmup S              seconds before measuring (default 1)\n"
	"  --threads N             load generator threads (default 2)\n"
	"  --mix read|write|mixed  HTTP request mix (default mixed: 9 GETs of existing ids per POST)\n"
	"  --body JSON|@FILE       the POST body to send (default: shaped from the blueprint's schema)\n"
	"  --repeat N              whole runs, for the regression gate's medians (default 1)\n"
	"  --db PATH               store the run in this SQLite database\n"
	"  --save-baseline NAME    store the run as baseline NAME (needs --db)\n"
	"  --baseline NAME         regression gate against baseline NAME (needs --db)\n"
	"  --threshold F           allowed throughput loss for the gate (default 0.10); p50/p99\n"
	"                          per step may grow by twice that\n"
	"  --size PROFILE          write the resource profile at the sizing point (for\n"
	"                          `autocoder generate --profile PROFILE`)\n"
	"  --headroom F            sizing headroom (default 0.3)\n"
	"  --report-dir DIR        where the JSON and SVG go (default SYSTEM_DIR/bench)\n"
	"  --workdir DIR           generate a BLUEPRINT here (default a new temp directory)\n"
	"  --container             run the system's image (deployments/Dockerfile) under the CPU and\n"
	"                          memory limits of its Kubernetes manifest (needs a Docker engine)\n"
	"  --keep                  keep the run directory (data, logs)\n"
	"  --json                  print the run as JSON (no table, no progress)\n";

static int parse_list(const char *s, double *out, int max)
{
	int n = 0;
	char *end;
	while (*s && n < max) {
		double v = strtod(s, &end);
		if (end == s || v <= 0)
			return -1;
		out[n++] = v;
		s = *end == ',' ? end + 1 : end;
		if (*end && *end != ',')
			return -1;
	}
	return n;
}

static int num_opt(const char *opt, const char *v, double *out)
{
	char *end;
	*out = strtod(v, &end);
	if (end == v || *end || *out < 0)
		return usage_error(usage, "%s: '%s' is not a non-negative number", opt, v);
	return 0;
}

int cmd_bench(int argc, char **argv)
{
	struct perf_options o = { .duration = 5, .warmup = 1, .threads = 2, .repeat = 1 };
	struct ac_error err = { 0 };
	json_t *run = NULL;
	double v;
	int rc;

	o.progress = isatty(2);
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *val = i + 1 < argc ? argv[i + 1] : NULL;
		bool takes = true;
		if (!strcmp(a, "--json"))
			o.json = true, takes = false;
		else if (!strcmp(a, "--keep"))
			o.keep = true, takes = false;
		else if (!strcmp(a, "--container"))
			o.container = true, takes = false;
		else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			printf("%s", usage);
			return 0;
		} else if (a[0] != '-' || !a[1]) {
			if (o.target)
				return usage_error(usage, "only one target, got '%s' and '%s'", o.target, a);
			o.target = a;
			takes = false;
		} else if (!val)
			return usage_error(usage, "%s needs a value", a);
		else if (!strcmp(a, "-c") || !strcmp(a, "--concurrency")) {
			double l[PERF_MAX_STEPS];
			int n = parse_list(val, l, PERF_MAX_STEPS);
			if (n <= 0)
				return usage_error(usage, "%s: want a list like 1,8,64", a);
			for (int k = 0; k < n; k++)
				if (l[k] > 10000)
					return usage_error(usage, "%s: at most 10000 connections", a);
			for (int k = 0; k < n; k++)
				o.conc[k] = (int)l[k];
			o.nconc = n;
			o.conc_given = true;
		} else if (!strcmp(a, "--rate")) {
			if ((o.nrates = parse_list(val, o.rates, PERF_MAX_STEPS)) <= 0)
				return usage_error(usage, "--rate: want a list like 1000,5000");
		} else if (!strcmp(a, "-d") || !strcmp(a, "--duration")) {
			if (num_opt(a, val, &o.duration) || o.duration <= 0)
				return usage_error(usage, "%s must be > 0", a);
		} else if (!strcmp(a, "--warmup")) {
			if (num_opt(a, val, &o.warmup))
				return 2;
		} else if (!strcmp(a, "--threads") || !strcmp(a, "--repeat")) {
			if (num_opt(a, val, &v) || v < 1 || v > 64)
				return usage_error(usage, "%s: want 1..64", a);
			*(a[2] == 't' ? &o.threads : &o.repeat) = (int)v;
		} else if (!strcmp(a, "--threshold")) {
			if (num_opt(a, val, &o.threshold) || o.threshold >= 1)
				return usage_error(usage, "--threshold: want 0..1");
		} else if (!strcmp(a, "--headroom")) {
			if (num_opt(a, val, &o.headroom))
				return 2;
		} else if (!strcmp(a, "--mix")) {
			if (strcmp(val, "read") && strcmp(val, "write") && strcmp(val, "mixed"))
				return usage_error(usage, "--mix: read, write or mixed");
			o.mix = val;
		} else if (!strcmp(a, "--body")) {
			o.body = val;   /* checked (JSON, readable file) by perf_bench */
		} else if (!strcmp(a, "--url"))
			o.url = val;
		else if (!strcmp(a, "--db"))
			o.db = val;
		else if (!strcmp(a, "--save-baseline"))
			o.save_baseline = val;
		else if (!strcmp(a, "--baseline"))
			o.baseline = val;
		else if (!strcmp(a, "--size"))
			o.size_path = val;
		else if (!strcmp(a, "--report-dir"))
			o.report_dir = val;
		else if (!strcmp(a, "--workdir"))
			o.workdir = val;
		else
			return usage_error(usage, "unknown option '%s'", a);
		if (takes)
			i++;
	}
	if (!o.target == !o.url)
		return usage_error(usage, o.url ? "--url and a target exclude each other"
						: "missing SYSTEM_DIR or BLUEPRINT");
	if (o.container && o.url)
		return usage_error(usage, "--container benches a generated system, not --url");
	if ((o.save_baseline || o.baseline) && !o.db)
		return usage_error(usage, "--save-baseline and --baseline need --db");
	if (!o.nconc && !o.nrates) {
		static const int def[] = { 1, 8, 64, 256 };
		for (size_t k = 0; k < AC_ARRAY_SIZE(def); k++)
			o.conc[k] = def[k];
		o.nconc = (int)AC_ARRAY_SIZE(def);
	}
	if (o.json)
		o.progress = false;
	rc = perf_bench(&o, &run, &err);
	if (run) {
		if (o.json) {
			json_dumpf(run, stdout, JSON_INDENT(2));
			fputc('\n', stdout);
		} else
			perf_print_table(stdout, run);
		json_decref(run);
	}
	if (rc < 0) {
		fprintf(stderr, "autocoder: bench: %s\n", err.msg);
		return 1;
	}
	return rc;
}

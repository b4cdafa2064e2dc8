/*
 * main.c — the `autocoder` entry point: one table maps subcommand names to their functions
 * (after Git's commands[]). Shared setup (locale-free logging, signal defaults) happens once
 * here; everything else lives in the command files and the module libraries.
 */
#include "core/common.h"
#include "cmd/cmds.h"
#include "core/db.h"

#include "collector/ops.h"

#include <jansson.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>

static int cmd_version(int argc, char **argv)
{
	if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		printf("usage: autocoder version [--json]\n  the version and the git commit it was built from\n");
		return 0;
	}
	if (argc > 1 && !strcmp(argv[1], "--json")) {
		json_t *o = json_pack("{s:s,s:s,s:i}", "version", ops_version(), "commit", ops_commit(),
				      "schema_version", ac_db_schema_version());
		json_dumpf(o, stdout, JSON_COMPACT);
		putchar('\n');
		json_decref(o);
		return 0;
	}
	if (argc > 1)
		return usage_error("usage: autocoder version [--json]\n", "unexpected argument '%s'", argv[1]);
	printf("autocoder %s (commit %s, schema %d)\n", ops_version(), ops_commit(), ac_db_schema_version());
	return 0;
}

struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *help;
};

static const struct command commands[] = {
	{ "serve", cmd_serve, "run the collector HTTP server" },
	{ "keys", cmd_keys, "create, list and revoke projects' keys" },
	{ "version", cmd_version, "print the version" },
	{ "cluster", cmd_cluster, "mine message templates from log files" },
	{ "rules", cmd_rules, "check, test, list and try rule packs (rules/*.yaml)" },
	{ "validate", cmd_validate, "check a blueprint and print its diagnostics" },
	{ "generate", cmd_generate, "turn a blueprint into a buildable C system" },
	{ "analyze", cmd_analyze, "cluster stored events (offline; --rebuild re-clusters all)" },
	{ "guide", cmd_guide, "write the debugging guide (Markdown or HTML) from the clusters" },
	{ "db", cmd_db, "database size, retention, pruning and schema check" },
	{ "backup", cmd_backup, "copy the database safely while serve runs" },
	{ "alerts", cmd_alerts, "alert rules (webhooks, e-mail) and the delivery log" },
	{ "bench", cmd_bench, "load-test a generated system: figures, SLO verdict, baselines, sizing" },
	{ "send", cmd_send, "upload logs, events, crash reports or feedback to a collector" },
	{ "faults", cmd_faults, "inject the fault catalogue into generated systems; list outcomes" },
};

static void print_usage(FILE *out)
{
	fprintf(out, "usage: autocoder <command> [options]\n\ncommands:\n");
	for (size_t i = 0; i < AC_ARRAY_SIZE(commands); i++)
		fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].help);
	fprintf(out, "\nRun 'autocoder <command> --help' for a command's options.\n");
}

int usage_error(const char *usage, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "autocoder: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (usage)
		fprintf(stderr, "%s", usage);
	return 2;
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	if (argc < 2) {
		print_usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "help") && argc > 2) {
		/* `autocoder help CMD` is `autocoder CMD --help` */
		char *help_argv[] = { argv[2], "--help", NULL };
		for (size_t i = 0; i < AC_ARRAY_SIZE(commands); i++)
			if (!strcmp(argv[2], commands[i].name))
				return commands[i].fn(2, help_argv);
		fprintf(stderr, "autocoder: '%s' is not a command\n\n", argv[2]);
		print_usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		print_usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version"))
		return cmd_version(1, argv);
	for (size_t i = 0; i < AC_ARRAY_SIZE(commands); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "autocoder: '%s' is not a command\n\n", argv[1]);
	print_usage(stderr);
	return 2;
}

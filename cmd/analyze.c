/*
 * analyze.c — `autocoder analyze`: cluster the events stored in a database offline (the same
 * analyzer `autocoder serve --rules DIR` runs online), or re-cluster all of them (--rebuild)
 * after a rule or configuration change.
 */
#include "core/common.h"
#include "cmd/cmds.h"
#include "analyzer/analyzer.h"

#include "core/db.h"

#include <getopt.h>
#include <pthread.h>
#include <sys/stat.h>

static const char analyze_usage[] =
	"usage: autocoder analyze [--db PATH] [--rules DIR] [--rebuild] [--batch N] [--json]\n"
	"  --db PATH      SQLite database (default data/autocoder.db)\n"
	"  --rules DIR    rule packs that label clusters (default: none)\n"
	"  --rebuild      drop counts and miner state and re-cluster every event\n"
	"                 (statuses, merges and splits stay attached to their keys)\n"
	"  --batch N      events per transaction (default 500)\n"
	"  --json         print the result as JSON\n"
	"  On a terminal, progress (events clustered of those stored) is shown on stderr.\n";

/* Progress on a terminal: a thread reads analyzer_state.last_event_id against max(id)
 * once a second (the analyzer commits every batch) and redraws one stderr line. */
struct progress {
	const char *db_path;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool done, shown;
};

static void *progress_main(void *arg)
{
	struct progress *p = arg;
	ac_sql *db = ac_db_open(p->db_path, AC_DB_READ, NULL);
	ac_sql_stmt *st = NULL;

	if (db && ac_sql_prepare_v2(db, "SELECT coalesce((SELECT CAST(value AS INTEGER) FROM"
				     " analyzer_state WHERE key='last_event_id'), 0), (SELECT coalesce(max(id), 0)"
				     " FROM events)", -1, &st, NULL) != AC_SQL_OK)
		st = NULL;
	pthread_mutex_lock(&p->lock);
	while (!p->done) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 1;
		pthread_cond_timedwait(&p->cond, &p->lock, &ts);
		if (p->done || !st)
			break;
		if (ac_sql_step(st) == AC_SQL_ROW) {
			long long done = ac_sql_column_int64(st, 0), total = ac_sql_column_int64(st, 1);
			fprintf(stderr, "\ranalyze: %lld of %lld events (%.0f %%)  ", done, total,
				total ? 100.0 * (double)done / (double)total : 100.0);
			p->shown = true;
		}
		ac_sql_reset(st);
	}
	pthread_mutex_unlock(&p->lock);
	if (p->shown)
		fputc('\n', stderr);
	ac_sql_finalize(st);
	ac_db_close(db);
	return NULL;
}


int cmd_analyze(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "db", required_argument, NULL, 'd' }, { "rules", required_argument, NULL, 'r' },
		{ "rebuild", no_argument, NULL, 'R' }, { "batch", required_argument, NULL, 'b' },
		{ "help", no_argument, NULL, 'h' }, { "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	const char *db = "data/autocoder.db", *rules = NULL;
	struct analyzer *a = NULL;
	struct ac_error err;
	bool rebuild = false, json = false;
	struct progress prog = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };
	pthread_t th;
	bool prog_on = false;
	struct stat sb;
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
		case 'j': json = true; break;
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
	errno = 0;
	if (rules && (stat(rules, &sb) || !S_ISDIR(sb.st_mode))) {
		fprintf(stderr, "autocoder analyze: --rules %s: %s\n", rules,
			errno ? strerror(errno) : "not a directory");
		return 1;
	}
	if (analyzer_open(db, rules, &a, &err)) {
		fprintf(stderr, "autocoder analyze: %s\n", err.msg);
		return 1;
	}
	analyzer_set_batch(a, (size_t)batch);
	t0 = ac_monotonic();
	prog.db_path = db;
	if (isatty(STDERR_FILENO) && pthread_create(&th, NULL, progress_main, &prog) == 0)
		prog_on = true;
	n = rebuild ? analyzer_rebuild(a, &err) : analyzer_process_new(a, &err);
	if (prog_on) {
		pthread_mutex_lock(&prog.lock);
		prog.done = true;
		pthread_cond_signal(&prog.cond);
		pthread_mutex_unlock(&prog.lock);
		pthread_join(th, NULL);
	}
	if (n < 0) {
		fprintf(stderr, "autocoder analyze: %s\n", err.msg);
		analyzer_close(a);
		return 1;
	}
	if (json)
		printf("{\"%s\": %ld, \"seconds\": %.3f}\n", rebuild ? "reclustered" : "clustered", n,
		       ac_monotonic() - t0);
	else
		printf("%s %ld events in %.2f s\n", rebuild ? "re-clustered" : "clustered", n,
		       ac_monotonic() - t0);
	analyzer_close(a);
	return 0;
}

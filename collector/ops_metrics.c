/*
 * ops_metrics.c — the operational part of /metrics: autocoder_build_info, process CPU,
 * resident memory and open descriptors (from getrusage and /proc/self), the database and
 * WAL file sizes, the analyzer's lag (events stored but not clustered yet) and the
 * retention task's deletions. Rendered after metrics.c's request counters.
 */
#include "core/common.h"
#include "collector/ops.h"
#include "core/db.h"
#include "collector/retention.h"
#include "commit.h"

#include <dirent.h>
#include <stdatomic.h>
#include <sys/resource.h>
#include <sys/stat.h>

static _Atomic(struct retention *) retention_task;

const char *ops_version(void)
{
	return AC_VERSION;
}

const char *ops_commit(void)
{
	return AC_COMMIT;
}

void ops_set_retention(struct retention *r)
{
	atomic_store(&retention_task, r);
}

static long long file_bytes(const char *path, const char *suffix)
{
	char p[4096];
	struct stat sb;

	if (!(path = ac_db_sqlite_path(path)))
		return 0;   /* PostgreSQL: no file of ours */
	snprintf(p, sizeof p, "%s%s", path, suffix);
	return stat(p, &sb) == 0 ? (long long)sb.st_size : 0;
}

static long open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	long n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1; /* the directory's own descriptor */
}

static long long rss_bytes(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	long long size = 0, rss = 0;

	if (!f)
		return -1;
	if (fscanf(f, "%lld %lld", &size, &rss) != 2)
		rss = -1;
	fclose(f);
	return rss < 0 ? -1 : rss * sysconf(_SC_PAGESIZE);
}

static long long analyzer_lag(ac_sql *db)
{
	ac_sql_stmt *st = NULL;
	long long lag = -1;

	if (!db || ac_sql_prepare_v2(db,
			"SELECT (SELECT coalesce(max(id), 0) FROM events) - coalesce((SELECT CAST(value"
			" AS INTEGER) FROM analyzer_state WHERE key='last_event_id'), 0)",
			-1, &st, NULL) != AC_SQL_OK)
		return -1;
	if (ac_sql_step(st) == AC_SQL_ROW)
		lag = ac_sql_column_int64(st, 0);
	ac_sql_finalize(st);
	return lag;
}

void ops_metrics_render(struct ac_buf *b, const char *db_path, ac_sql *reader)
{
	struct rusage ru;
	struct retention *r = atomic_load(&retention_task);
	double cpu = 0;
	long long lag = analyzer_lag(reader);

	if (getrusage(RUSAGE_SELF, &ru) == 0)
		cpu = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
		      (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
	ac_buf_printf(b,
		      "# HELP autocoder_build_info The running build (value 1).\n"
		      "# TYPE autocoder_build_info gauge\n"
		      "autocoder_build_info{version=\"%s\",commit=\"%s\"} 1\n"
		      "# HELP process_cpu_seconds_total User and system CPU time of the process.\n"
		      "# TYPE process_cpu_seconds_total counter\n"
		      "process_cpu_seconds_total %.3f\n"
		      "# HELP process_resident_memory_bytes Resident set size.\n"
		      "# TYPE process_resident_memory_bytes gauge\n"
		      "process_resident_memory_bytes %lld\n"
		      "# HELP process_open_fds Open file descriptors.\n"
		      "# TYPE process_open_fds gauge\n"
		      "process_open_fds %ld\n"
		      "# HELP autocoder_db_bytes Size of the database file.\n"
		      "# TYPE autocoder_db_bytes gauge\n"
		      "autocoder_db_bytes %lld\n"
		      "# HELP autocoder_db_wal_bytes Size of the database's write-ahead log.\n"
		      "# TYPE autocoder_db_wal_bytes gauge\n"
		      "autocoder_db_wal_bytes %lld\n",
		      ops_version(), ops_commit(), cpu, rss_bytes(), open_fds(),
		      file_bytes(db_path, ""), file_bytes(db_path, "-wal"));
	if (lag >= 0)
		ac_buf_printf(b,
			      "# HELP autocoder_analyzer_lag_events Events stored but not clustered yet.\n"
			      "# TYPE autocoder_analyzer_lag_events gauge\n"
			      "autocoder_analyzer_lag_events %lld\n", lag);
	if (r)
		ac_buf_printf(b,
			      "# HELP autocoder_retention_deleted_events_total Events deleted by retention.\n"
			      "# TYPE autocoder_retention_deleted_events_total counter\n"
			      "autocoder_retention_deleted_events_total %lu\n"
			      "# HELP autocoder_retention_passes_total Retention passes completed.\n"
			      "# TYPE autocoder_retention_passes_total counter\n"
			      "autocoder_retention_passes_total %lu\n",
			      retention_deleted_total(r), retention_passes(r));
}

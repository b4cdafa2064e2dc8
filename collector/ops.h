/*
 * ops.h — what an operator watches besides requests: build info, process metrics, database
 * and WAL size, analyzer lag and retention deletions on /metrics (ops_metrics.c), and the
 * JSON access log (access_log.c).
 *
 * One collector per process (like the signal handler), so the retention thread that
 * `serve` starts is registered process-wide with ops_set_retention().
 */
#ifndef AC_OPS_H
#define AC_OPS_H

#include "core/sql.h"
#include <stdbool.h>
#include <stddef.h>

struct ac_buf;
struct retention;

/* The build: AC_VERSION and the git commit embedded at build time ("unknown" without git). */
const char *ops_version(void);
const char *ops_commit(void);

void ops_set_retention(struct retention *r);

/* Append the operational metrics (Prometheus text) to b. reader: a read connection to the
 * database at db_path (for the analyzer lag). */
void ops_metrics_render(struct ac_buf *b, const char *db_path, ac_sql *reader);

/* ---- access_log.c ---- */
enum access_log_mode { ACCESS_LOG_ON, ACCESS_LOG_OFF };
/* mode and sample: log every request (sample 1), one in `sample`, or none; warnings (401,
 * 403, 413, 429) are always logged unless the mode is OFF. */
void access_log_configure(enum access_log_mode mode, unsigned sample);
/* Parse "on", "off" or "sample:N" (--access-log). 0 or AC_EINVAL. */
int access_log_parse(const char *s, enum access_log_mode *mode, unsigned *sample);

struct access_entry {
	const char *method, *route, *path;  /* route: the pattern (metrics label) */
	unsigned status;
	unsigned long long bytes_in, bytes_out;
	double seconds;
	long long project_id;               /* <= 0: none */
	const char *project;                /* project name, or NULL */
	const char *remote, *user_agent;    /* may be NULL */
	const char *reason, *detail;        /* error code and message of a 4xx/5xx reply, or NULL */
};
void access_log_write(const struct access_entry *e);

#endif

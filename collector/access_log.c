/*
 * access_log.c — one JSON line per HTTP request on stderr, next to the other log lines:
 *
 *   {"ts":"...","level":"info","msg":"request","method":"POST","route":"/api/v1/events",
 *    "status":200,"bytes_in":312,"bytes_out":96,"duration_ms":1.84,"project_id":1,
 *    "project":"shop","remote":"127.0.0.1","user_agent":"curl/7.88.1"}
 *
 * 401, 403, 413 and 429 are logged at warn with "reason" (the error code of the reply) and
 * "detail", so a misconfigured SDK is visible at the default level; other errors add the
 * reason at info. `serve --access-log on|off|sample:N` keeps every line, none, or one
 * ordinary line in N (warnings are never sampled away). The line is built with jansson and
 * written with one fwrite, like core/log.c, so lines never interleave.
 */
#include "core/common.h"
#include "collector/ops.h"

#include <jansson.h>
#include <stdatomic.h>

static enum access_log_mode log_mode = ACCESS_LOG_ON;
static unsigned log_sample = 1;
static atomic_ulong sample_counter;

void access_log_configure(enum access_log_mode mode, unsigned sample)
{
	log_mode = mode;
	log_sample = sample ? sample : 1;
}

int access_log_parse(const char *s, enum access_log_mode *mode, unsigned *sample)
{
	int64_t n;

	*sample = 1;
	if (!strcmp(s, "on")) {
		*mode = ACCESS_LOG_ON;
		return 0;
	}
	if (!strcmp(s, "off")) {
		*mode = ACCESS_LOG_OFF;
		return 0;
	}
	if (!strncmp(s, "sample:", 7) && !ac_parse_i64(s + 7, &n) && n >= 1 && n <= 1000000) {
		*mode = ACCESS_LOG_ON;
		*sample = (unsigned)n;
		return 0;
	}
	return AC_EINVAL;
}

static bool is_warning(unsigned status)
{
	return status == 401 || status == 403 || status == 413 || status == 429;
}

static void set_str(json_t *o, const char *k, const char *v)
{
	if (v && *v)
		json_object_set_new(o, k, json_string(v));
}

void access_log_write(const struct access_entry *e)
{
	enum ac_log_level lvl = is_warning(e->status) ? AC_LOG_WARN : AC_LOG_INFO;
	char ts[40];
	json_t *o;
	char *s;

	if (log_mode == ACCESS_LOG_OFF || !ac_log_enabled(lvl))
		return;
	if (lvl == AC_LOG_INFO && log_sample > 1 &&
	    atomic_fetch_add(&sample_counter, 1) % log_sample != 0)
		return;
	ac_now_iso8601(ts, sizeof ts);
	o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:i,s:I,s:I,s:f}", "ts", ts, "level",
		      lvl == AC_LOG_WARN ? "warn" : "info", "msg", "request", "method",
		      e->method ? e->method : "", "route", e->route ? e->route : "", "status",
		      (int)e->status, "bytes_in", (json_int_t)e->bytes_in, "bytes_out",
		      (json_int_t)e->bytes_out, "duration_ms", (double)(long long)(e->seconds * 1e5) / 100);
	if (!o)
		return;
	if (e->project_id > 0)
		json_object_set_new(o, "project_id", json_integer(e->project_id));
	set_str(o, "project", e->project);
	set_str(o, "remote", e->remote);
	set_str(o, "user_agent", e->user_agent);
	set_str(o, "reason", e->reason);
	set_str(o, "detail", e->detail);
	if (log_sample > 1 && lvl == AC_LOG_INFO)
		json_object_set_new(o, "sample", json_integer(log_sample));
	s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII | JSON_REAL_PRECISION(6));
	json_decref(o);
	if (!s)
		return;
	size_t n = strlen(s);
	s[n] = '\n';  /* json_dumps leaves room for the NUL, which becomes the newline */
	fwrite(s, 1, n + 1, stderr);
	free(s);
}

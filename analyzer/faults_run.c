/*
 * faults_run.c — the fault runner (see faults.h).
 *
 * One run: a work directory; a collector (`autocoder serve --rules`, its own database and
 * key) on a free loopback port; each selected blueprint generated and built once; then for
 * every fault, in catalogue order: the inject recipe runs in its own process group (killed
 * at the timeout), the runner waits until the events the run caused are clustered, and the
 * outcome is "validated" when at least one of them has the expected rule attached
 * (event_grouping.rule_id), else "failed" with the rules that were attached instead. When the
 * entry has a fix recipe it runs next; exit 0 means the system recovered. Each outcome is
 * stored in fault_runs of the results database, with up to 20 evidence event ids and what
 * those events said (samples: time, level, component, message, context), since the run's
 * collector database is a throwaway.
 */
#include "core/common.h"
#include "core/db.h"
#include "analyzer/faults.h"

#include <jansson.h>

#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct built {
	char blueprint[PATH_MAX];
	char dir[PATH_MAX];
	char system[128];
};

struct runner {
	const struct fault_run_options *o;
	char work[1024];          /* short enough for every path built under it */
	char collector_db[PATH_MAX];
	char url[64], token[128];
	pid_t collector;
	struct built built[16];
	size_t nbuilt;
	ac_sql *results;
};

/* ------------------------------------------------------------------ processes */

/* Run argv (or "sh -c script" when argv is NULL) with extra environment, output appended to
 * log, in a new process group; kill the group after timeout seconds. Returns the exit status,
 * 128+signal, or -1 when it could not start / timed out. */
static int run_cmd(char *const argv[], const char *script, char *const env[], const char *log,
		   unsigned timeout)
{
	pid_t pid = fork();
	int st = 0;

	if (pid < 0)
		return -1;
	if (pid == 0) {
		setpgid(0, 0);
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		int nul = open("/dev/null", O_RDONLY);
		if (nul >= 0)
			dup2(nul, 0);
		for (size_t i = 0; env && env[i]; i++)
			putenv(env[i]);
		signal(SIGPIPE, SIG_DFL);
		if (script)
			execl("/bin/sh", "sh", "-c", script, (char *)NULL);
		else
			execvp(argv[0], argv);
		_exit(127);
	}
	setpgid(pid, pid);
	double end = ac_monotonic() + timeout;
	for (;;) {
		pid_t w = waitpid(pid, &st, WNOHANG);
		if (w == pid)
			break;
		if (w < 0)
			return -1;
		if (ac_monotonic() > end) {
			kill(-pid, SIGKILL);
			waitpid(pid, &st, 0);
			return -1;
		}
		struct timespec ts = { 0, 50 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	kill(-pid, SIGKILL);   /* what the recipe left running in its group */
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static unsigned free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof a;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	unsigned port = 0;

	if (fd >= 0 && !bind(fd, (struct sockaddr *)&a, sizeof a) &&
	    !getsockname(fd, (struct sockaddr *)&a, &len))
		port = ntohs(a.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

static void logf_(const struct runner *R, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void logf_(const struct runner *R, const char *fmt, ...)
{
	va_list ap;
	if (!R->o->log)
		return;
	va_start(ap, fmt);
	vfprintf(R->o->log, fmt, ap);
	va_end(ap);
	fflush(R->o->log);
}

/* ------------------------------------------------------------------ collector */

static int start_collector(struct runner *R, struct ac_error *err)
{
	char log[PATH_MAX], portfile[PATH_MAX], keyjson[PATH_MAX];
	size_t len;

	snprintf(R->collector_db, sizeof R->collector_db, "%s/collector.db", R->work);
	snprintf(log, sizeof log, "%s/collector.log", R->work);
	snprintf(portfile, sizeof portfile, "%s/collector.port", R->work);
	snprintf(keyjson, sizeof keyjson, "%s/key.json", R->work);
	/* a reused work directory: the run's collector starts from an empty database */
	static const char *const suffix[] = { "", "-wal", "-shm" };
	for (size_t i = 0; i < AC_ARRAY_SIZE(suffix); i++) {
		char p[PATH_MAX + 8];
		snprintf(p, sizeof p, "%s%s", R->collector_db, suffix[i]);
		unlink(p);
	}
	unlink(portfile);
	unlink(keyjson);
	char *kargv[] = { (char *)R->o->self, "keys", "create", "faults", "--db", R->collector_db,
			  "--json", NULL };
	int st = run_cmd(kargv, NULL, NULL, keyjson, 30);
	char *k = st == 0 ? ac_read_file(keyjson, 1 << 16, &len, err) : NULL;
	json_t *j = k ? json_loads(k, 0, NULL) : NULL;
	free(k);
	if (!json_string_value(json_object_get(j, "token"))) {
		json_decref(j);
		return ac_error_set(err, AC_EIO, "collector", "cannot create a key for the run's "
				    "collector (see %s)", keyjson);
	}
	snprintf(R->token, sizeof R->token, "%s", json_string_value(json_object_get(j, "token")));
	json_decref(j);

	R->collector = fork();
	if (R->collector < 0)
		return ac_error_set(err, AC_EIO, "fork", "fork: %s", strerror(errno));
	if (R->collector == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execl(R->o->self, R->o->self, "serve", "--listen", "127.0.0.1:0", "--db",
		      R->collector_db, "--port-file", portfile, "--rules", R->o->rules_dir,
		      (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 400; i++) {
		char *p = ac_read_file(portfile, 64, &len, NULL);
		int64_t port;
		if (p && len && (p[strcspn(p, "\n")] = '\0', !ac_parse_i64(p, &port))) {
			snprintf(R->url, sizeof R->url, "http://127.0.0.1:%lld", (long long)port);
			free(p);
			return 0;
		}
		free(p);
		if (waitpid(R->collector, NULL, WNOHANG) == R->collector) {
			R->collector = 0;
			break;
		}
		struct timespec ts = { 0, 50 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	return ac_error_set(err, AC_EIO, "collector", "the run's collector did not start (see %s)",
			    log);
}

static int stop_collector(struct runner *R)
{
	int st = 0;
	if (R->collector <= 0)
		return 0;
	kill(R->collector, SIGTERM);
	waitpid(R->collector, &st, 0);
	R->collector = 0;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* ------------------------------------------------------------------ systems */

static const struct built *build_system(struct runner *R, const char *bp, struct ac_error *err)
{
	char log[PATH_MAX], cfg[PATH_MAX];
	size_t len;

	for (size_t i = 0; i < R->nbuilt; i++)
		if (!strcmp(R->built[i].blueprint, bp))
			return &R->built[i];
	if (R->nbuilt == AC_ARRAY_SIZE(R->built)) {
		ac_error_set(err, AC_ETOOBIG, "too_many", "more than %zu blueprints in one run",
			     AC_ARRAY_SIZE(R->built));
		return NULL;
	}
	struct built *b = &R->built[R->nbuilt];
	snprintf(b->blueprint, sizeof b->blueprint, "%s", bp);
	snprintf(b->dir, sizeof b->dir, "%s/sys%zu", R->work, R->nbuilt);
	snprintf(log, sizeof log, "%s/build.log", R->work);
	logf_(R, "generating and building %s ...\n", bp);
	char *gargv[] = { (char *)R->o->self, "generate", "-q", (char *)bp, "-o", b->dir, NULL };
	char *margv[] = { "make", "-s", "-C", b->dir, "-j2", NULL };
	char *menv[] = { "MAKEFLAGS=", "MFLAGS=", "MAKELEVEL=", NULL };
	if (run_cmd(gargv, NULL, NULL, log, 120)) {
		ac_error_set(err, AC_EINVAL, "generate", "cannot generate %s (see %s)", bp, log);
		return NULL;
	}
	if (run_cmd(margv, NULL, menv, log, 600)) {
		ac_error_set(err, AC_EIO, "build", "cannot build the system of %s (see %s)", bp, log);
		return NULL;
	}
	snprintf(cfg, sizeof cfg, "%s/config/system.json", b->dir);
	char *text = ac_read_file(cfg, 16u << 20, &len, err);
	json_t *j = text ? json_loads(text, 0, NULL) : NULL;
	const char *name = json_string_value(json_object_get(json_object_get(j, "system"), "name"));
	snprintf(b->system, sizeof b->system, "%s", name ? name : "");
	json_decref(j);
	free(text);
	if (!b->system[0]) {
		ac_error_set(err, AC_EINVAL, "generate", "%s names no system", cfg);
		return NULL;
	}
	R->nbuilt++;
	return b;
}

/* ------------------------------------------------------------------ evidence */

static long long max_event_id(const char *db_path)
{
	ac_sql *db = ac_db_open(db_path, AC_DB_READ, NULL);
	ac_sql_stmt *st = NULL;
	long long id = 0;

	if (db && ac_sql_prepare_v2(db, "SELECT coalesce(max(id), 0) FROM events", -1, &st, NULL) ==
			  AC_SQL_OK && ac_sql_step(st) == AC_SQL_ROW)
		id = ac_sql_column_int64(st, 0);
	ac_sql_finalize(st);
	ac_db_close(db);
	return id;
}

struct evidence {
	long long events, clustered, matched;
	json_t *ids;      /* up to 20 event ids with the rule */
	json_t *samples;  /* what those events said */
	json_t *others;   /* rule id (or "none") -> count, for the failure detail */
};

/* What an evidence event said, from the row of collect_evidence's query. */
static json_t *sample_of(ac_sql_stmt *st)
{
	char when[32], text[512];
	const char *msg = (const char *)ac_sql_column_text(st, 6);
	const char *type = (const char *)ac_sql_column_text(st, 7);
	const char *value = (const char *)ac_sql_column_text(st, 8);
	json_t *raw = json_loads((const char *)ac_sql_column_text(st, 9), 0, NULL);
	json_t *context = json_object_get(raw, "context");

	ac_format_iso8601(ac_sql_column_double(st, 3), when, sizeof when);
	if (msg && *msg)
		snprintf(text, sizeof text, "%s", msg);
	else
		snprintf(text, sizeof text, "%s%s%s", type ? type : "", type && value ? ": " : "",
			 value ? value : "");
	json_t *s = json_pack("{s:s, s:s, s:s, s:s?, s:s, s:I}", "id", ac_sql_column_text(st, 0),
			      "timestamp", when, "level", ac_sql_column_text(st, 4), "component",
			      ac_sql_column_text(st, 5), "message", text, "cluster",
			      (json_int_t)ac_sql_column_int64(st, 10));
	if (s && json_is_object(context))
		json_object_set(s, "context", context);
	json_decref(raw);
	return s ? s : json_object();
}

/* Events after `since` of the system: how many, how many clustered, which have the rule. */
static void collect_evidence(const char *db_path, long long since, const char *system,
			     const char *rule, struct evidence *ev)
{
	ac_sql *db = ac_db_open(db_path, AC_DB_READ, NULL);
	ac_sql_stmt *st = NULL;

	json_array_clear(ev->ids);
	json_array_clear(ev->samples);
	json_object_clear(ev->others);
	ev->events = ev->clustered = ev->matched = 0;
	if (!db)
		return;
	if (ac_sql_prepare_v2(db, "SELECT e.event_id, e.cluster_id IS NOT NULL, g.rule_id, "
			       "e.timestamp, e.level, e.component, e.message, e.exc_type, e.exc_value, "
			       "e.raw, e.cluster_id "
			       "FROM events e LEFT JOIN event_grouping g ON g.event = e.id "
			       "WHERE e.id > ? AND e.system = ? ORDER BY e.id", -1, &st, NULL) == AC_SQL_OK) {
		ac_sql_bind_int64(st, 1, since);
		ac_sql_bind_text(st, 2, system, -1, AC_SQL_STATIC);
		while (ac_sql_step(st) == AC_SQL_ROW) {
			const char *id = (const char *)ac_sql_column_text(st, 0);
			const char *r = (const char *)ac_sql_column_text(st, 2);
			ev->events++;
			if (!ac_sql_column_int(st, 1))
				continue;
			ev->clustered++;
			if (r && !strcmp(r, rule)) {
				ev->matched++;
				if (json_array_size(ev->ids) < 20) {
					json_array_append_new(ev->ids, json_string(id));
					json_array_append_new(ev->samples, sample_of(st));
				}
			} else {
				const char *k = r ? r : "no rule";
				json_object_set_new(ev->others, k, json_integer(
					json_integer_value(json_object_get(ev->others, k)) + 1));
			}
		}
	}
	ac_sql_finalize(st);
	ac_db_close(db);
}

/* Wait until every event the run caused is clustered (and for a matching one), ~30 s max. */
static void await_evidence(const char *db_path, long long since, const char *system,
			   const char *rule, struct evidence *ev)
{
	double end = ac_monotonic() + 30, quiet = 0;
	long long last = -1;

	for (;;) {
		collect_evidence(db_path, since, system, rule, ev);
		bool settled = ev->events > 0 && ev->clustered == ev->events && ev->events == last;
		if (settled && (ev->matched || ac_monotonic() > quiet))
			break;
		if (ev->events != last) {
			last = ev->events;
			quiet = ac_monotonic() + 3;   /* events still arriving: give the shipper time */
		}
		if (ac_monotonic() > end)
			break;
		struct timespec ts = { 0, 200 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
}

/* ------------------------------------------------------------------ results */

static int store_result(struct runner *R, const struct fault *f, const char *system,
			const char *outcome, const char *fix_outcome, const char *detail,
			const struct evidence *ev, struct ac_error *err)
{
	ac_sql_stmt *st = NULL;
	char *ids = json_dumps(ev->ids, JSON_COMPACT);
	char *samples = json_dumps(ev->samples, JSON_COMPACT);
	int rc = 0;

	if (ac_sql_prepare_v2(R->results, "INSERT INTO fault_runs(fault, rule_id, outcome, "
			       "fix_outcome, detail, ran_at, system, version, events, evidence, "
			       "samples) VALUES(?,?,?,?,?,?,?,?,?,?,?)", -1, &st, NULL) != AC_SQL_OK) {
		free(ids);
		free(samples);
		return ac_db_error(R->results, err, "fault_runs");
	}
	ac_sql_bind_text(st, 1, f->id, -1, AC_SQL_STATIC);
	ac_sql_bind_text(st, 2, f->rule, -1, AC_SQL_STATIC);
	ac_sql_bind_text(st, 3, outcome, -1, AC_SQL_STATIC);
	if (fix_outcome)
		ac_sql_bind_text(st, 4, fix_outcome, -1, AC_SQL_STATIC);
	ac_sql_bind_text(st, 5, detail, -1, AC_SQL_STATIC);
	ac_sql_bind_double(st, 6, ac_now());
	ac_sql_bind_text(st, 7, system, -1, AC_SQL_STATIC);
	ac_sql_bind_text(st, 8, AC_VERSION, -1, AC_SQL_STATIC);
	ac_sql_bind_int64(st, 9, ev->matched);
	ac_sql_bind_text(st, 10, ids ? ids : "[]", -1, AC_SQL_STATIC);
	ac_sql_bind_text(st, 11, samples ? samples : "[]", -1, AC_SQL_STATIC);
	if (ac_sql_step(st) != AC_SQL_DONE)
		rc = ac_db_error(R->results, err, "fault_runs");
	ac_sql_finalize(st);
	free(ids);
	free(samples);
	return rc;
}

/* ------------------------------------------------------------------ one fault */

static void env_set(char **env, size_t *n, char *buf, size_t cap, const char *k, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));
static void env_set(char **env, size_t *n, char *buf, size_t cap, const char *k, const char *fmt, ...)
{
	va_list ap;
	int l = snprintf(buf, cap, "%s=", k);
	va_start(ap, fmt);
	vsnprintf(buf + l, cap - (size_t)l, fmt, ap);
	va_end(ap);
	env[(*n)++] = buf;
	env[*n] = NULL;
}

static int run_fault(struct runner *R, const struct fault *f, bool *validated, struct ac_error *err)
{
	const char *bp = f->blueprint ? f->blueprint : R->o->blueprint;
	char dir[2048], data[PATH_MAX], log[PATH_MAX], script[16384];
	char vars[10][PATH_MAX + 64];
	char *env[12];
	size_t ne = 0;
	struct evidence ev = { .ids = json_array(), .samples = json_array(),
			       .others = json_object() };
	char detail[2048] = "";
	const char *fix_outcome = NULL;
	int rc = 0;

	*validated = false;
	if (!bp) {
		json_decref(ev.ids);
		json_decref(ev.samples);
		json_decref(ev.others);
		return ac_error_set(err, AC_EINVAL, "no_blueprint", "%s:%d: fault '%s' names no "
				    "blueprint and none was given", f->file, f->line, f->id);
	}
	const struct built *b = build_system(R, bp, err);
	if (!b) {
		json_decref(ev.ids);
		json_decref(ev.samples);
		json_decref(ev.others);
		return err->code;
	}
	snprintf(dir, sizeof dir, "%s/%s", R->work, f->id);
	char *rm[] = { "rm", "-rf", dir, NULL };   /* a reused work directory: start clean */
	run_cmd(rm, NULL, NULL, "/dev/null", 60);
	snprintf(data, sizeof data, "%s/data", dir);
	ac_mkdir_p(data, NULL);
	snprintf(log, sizeof log, "%s/run.log", dir);
	env_set(env, &ne, vars[0], sizeof vars[0], "SYSTEM_DIR", "%s", b->dir);
	env_set(env, &ne, vars[1], sizeof vars[1], "SYSTEM", "%s", b->system);
	env_set(env, &ne, vars[2], sizeof vars[2], "DATA_DIR", "%s", data);
	env_set(env, &ne, vars[3], sizeof vars[3], "WORK", "%s", dir);
	env_set(env, &ne, vars[4], sizeof vars[4], "PORT", "%u", free_port());
	env_set(env, &ne, vars[5], sizeof vars[5], "PORT2", "%u", free_port());
	env_set(env, &ne, vars[6], sizeof vars[6], "AUTOCODER_COLLECTOR_URL", "%s", R->url);
	env_set(env, &ne, vars[7], sizeof vars[7], "AUTOCODER_KEY", "%s", R->token);
	env_set(env, &ne, vars[8], sizeof vars[8], "FAULT", "%s", f->id);
	env_set(env, &ne, vars[9], sizeof vars[9], "FAULTS_LIB", "%s", R->o->lib);

	long long since = max_event_id(R->collector_db);
	logf_(R, "%-28s %-34s ", f->id, f->rule);
	snprintf(script, sizeof script, "set -u\n. \"$FAULTS_LIB\"\n%s\nstop_all\n", f->inject);
	int st = run_cmd(NULL, script, env, log, f->timeout);
	await_evidence(R->collector_db, since, b->system, f->rule, &ev);
	*validated = ev.matched > 0;
	if (!*validated) {
		char *others = json_dumps(ev.others, JSON_COMPACT);
		snprintf(detail, sizeof detail, "%s%lld events from %s, %lld clustered, none with %s; "
			 "attached instead: %.300s (log: %.300s)", st < 0 ? "inject timed out; " : "",
			 ev.events, b->system, ev.clustered, f->rule, others ? others : "{}", log);
		free(others);
	} else {
		snprintf(detail, sizeof detail, "%lld of %lld events attached to %s", ev.matched,
			 ev.events, f->rule);
	}
	if (f->fix && *validated) {
		snprintf(script, sizeof script, "set -u\n. \"$FAULTS_LIB\"\n%s\nrc=$?\nstop_all\nexit $rc\n",
			 f->fix);
		fix_outcome = run_cmd(NULL, script, env, log, f->timeout) == 0 ? "recovered"
										: "not_recovered";
	}
	logf_(R, "%s%s%s (%lld events)\n", *validated ? "validated" : "FAILED",
	      fix_outcome ? ", fix: " : "", fix_outcome ? fix_outcome : "", ev.matched);
	if (!*validated)
		logf_(R, "    %s\n", detail);
	rc = store_result(R, f, b->system, *validated ? "validated" : "failed", fix_outcome, detail,
			  &ev, err);
	if (!rc && fix_outcome && strcmp(fix_outcome, "recovered"))
		*validated = false;   /* the workflow itself did not work: count as a failure */
	json_decref(ev.ids);
	json_decref(ev.samples);
	json_decref(ev.others);
	return rc;
}

/* ------------------------------------------------------------------ the run */

static bool selected(const struct fault_run_options *o, const struct fault *f)
{
	return (!o->only_rule || !strcmp(o->only_rule, f->rule)) &&
	       (!o->only_fault || !strcmp(o->only_fault, f->id));
}

int faults_run(const struct fault_catalog *c, const struct fault_run_options *o,
	       unsigned *validated, unsigned *failed, struct ac_error *err)
{
	struct runner R = { .o = o };
	size_t nsel = 0;
	int rc = 0;

	*validated = *failed = 0;
	for (size_t i = 0; i < fault_catalog_count(c); i++)
		nsel += selected(o, fault_catalog_get(c, i));
	if (!nsel)
		return ac_error_set(err, AC_ENOTFOUND, "no_faults", "no fault in the catalogue %s%s",
				    o->only_rule ? "triggers rule " : "is named ",
				    o->only_rule ? o->only_rule : o->only_fault ? o->only_fault : "");
	if (o->workdir) {
		if ((size_t)snprintf(R.work, sizeof R.work, "%s", o->workdir) >= sizeof R.work)
			return ac_error_set(err, AC_EINVAL, "work", "--work path is too long");
		if (ac_mkdir_p(R.work, err))
			return err->code;
	} else {
		const char *tmp = getenv("TMPDIR");
		snprintf(R.work, sizeof R.work, "%s/autocoder-faults.XXXXXX", tmp && *tmp ? tmp : "/tmp");
		if (!mkdtemp(R.work))
			return ac_error_set(err, AC_EIO, "mkdtemp", "%s: %s", R.work, strerror(errno));
	}
	if (!(R.results = ac_db_open(o->db_path, AC_DB_WRITE, err)))
		return err->code;
	logf_(&R, "work directory %s\n", R.work);
	if ((rc = start_collector(&R, err)))
		goto out;
	for (size_t i = 0; i < fault_catalog_count(c) && !rc; i++) {
		const struct fault *f = fault_catalog_get(c, i);
		bool ok;
		if (!selected(o, f))
			continue;
		if (!(rc = run_fault(&R, f, &ok, err)))
			ok ? (*validated)++ : (*failed)++;
	}
out:
	if (stop_collector(&R) && !rc)
		rc = ac_error_set(err, AC_EIO, "collector", "the run's collector did not stop cleanly "
				  "(see %s/collector.log)", R.work);
	ac_db_close(R.results);
	if (!o->keep && !rc && !*failed) {
		char *rm[] = { "rm", "-rf", R.work, NULL };
		run_cmd(rm, NULL, NULL, "/dev/null", 60);
	} else {
		logf_(&R, "kept %s\n", R.work);
	}
	return rc;
}

/* ------------------------------------------------------------------ reading results */

int faults_list(ac_sql *db, FILE *out, bool json, struct ac_error *err)
{
	ac_sql_stmt *st = NULL;
	json_t *arr = json_array();

	if (ac_sql_prepare_v2(db, "SELECT id, fault, rule_id, outcome, fix_outcome, ran_at, system, "
			       "version, events, evidence, detail, samples FROM fault_runs "
			       "ORDER BY ran_at DESC, id DESC", -1, &st, NULL) != AC_SQL_OK) {
		json_decref(arr);
		return ac_db_error(db, err, "fault_runs");
	}
	if (!json)
		fprintf(out, "%-10s  %-28s %-34s %-10s %-13s %6s  %s\n", "date", "fault", "rule",
			"outcome", "fix", "events", "system");
	while (ac_sql_step(st) == AC_SQL_ROW) {
		char date[32];
		const char *fix = (const char *)ac_sql_column_text(st, 4);
		ac_format_iso8601(ac_sql_column_double(st, 5), date, sizeof date);
		if (json) {
			json_t *ids = json_loads((const char *)ac_sql_column_text(st, 9), 0, NULL);
			json_t *samples = json_loads((const char *)ac_sql_column_text(st, 11), 0, NULL);
			json_array_append_new(arr, json_pack(
				"{s:I, s:s, s:s, s:s, s:s?, s:s, s:s?, s:s, s:I, s:o, s:s?, s:o}",
				"id", (json_int_t)ac_sql_column_int64(st, 0),
				"fault", ac_sql_column_text(st, 1), "rule", ac_sql_column_text(st, 2),
				"outcome", ac_sql_column_text(st, 3), "fix", fix, "date", date,
				"system", ac_sql_column_text(st, 6), "version", ac_sql_column_text(st, 7),
				"events", (json_int_t)ac_sql_column_int64(st, 8),
				"evidence", ids ? ids : json_array(),
				"detail", ac_sql_column_text(st, 10),
				"samples", samples ? samples : json_array()));
		} else {
			fprintf(out, "%.10s  %-28s %-34s %-10s %-13s %6lld  %s\n", date,
				ac_sql_column_text(st, 1), ac_sql_column_text(st, 2),
				ac_sql_column_text(st, 3), fix ? fix : "-",
				(long long)ac_sql_column_int64(st, 8),
				ac_sql_column_text(st, 6) ? (const char *)ac_sql_column_text(st, 6) : "");
		}
	}
	ac_sql_finalize(st);
	if (json) {
		json_t *o = json_pack("{s:o}", "runs", arr);
		json_dumpf(o, out, JSON_COMPACT);
		fputc('\n', out);
		json_decref(o);
	} else {
		json_decref(arr);
	}
	return 0;
}

int faults_rule_validation(ac_sql *db, const char *rule_id, struct fault_validation *v,
			   struct ac_error *err)
{
	ac_sql_stmt *st = NULL;
	bool first = true;

	memset(v, 0, sizeof *v);
	if (ac_sql_prepare_v2(db, "SELECT outcome, ran_at, events, fault FROM fault_runs "
			       "WHERE rule_id = ? ORDER BY ran_at DESC, id DESC", -1, &st, NULL) != AC_SQL_OK)
		return ac_db_error(db, err, "fault_runs");
	ac_sql_bind_text(st, 1, rule_id, -1, AC_SQL_STATIC);
	while (ac_sql_step(st) == AC_SQL_ROW) {
		bool ok = !strcmp((const char *)ac_sql_column_text(st, 0), "validated");
		v->any = true;
		if (first) {
			snprintf(v->fault, sizeof v->fault, "%s", ac_sql_column_text(st, 3));
			v->validated = ok;
		}
		if (ok) {
			char iso[32];
			ac_format_iso8601(ac_sql_column_double(st, 1), iso, sizeof iso);
			snprintf(v->date, sizeof v->date, "%.10s", iso);
			v->events = ac_sql_column_int64(st, 2);
			v->stale = !first;
			break;
		}
		first = false;
	}
	ac_sql_finalize(st);
	return 0;
}

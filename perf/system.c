/*
 * system.c — the system under test of `autocoder bench` (perf.h): build it with its own
 * Makefile, start it with a private data directory and the ports we chose, wait for /ready,
 * read its threads' CPU time (/proc/PID/task/TID/stat: utime + stime, grouped by the thread
 * name the runtime gives each component) and memory (/proc/PID/status), scrape /metrics, and
 * stop it with SIGTERM like an orchestrator would.
 */
#include "core/common.h"
#include "perf/perf.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <ftw.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct perf_system {
	pid_t pid;
	/* --container: the container's name (the pid is its main process seen from here) */
	char *container;
	const struct perf_container *ct;
	char *rundir;
};

static void watch(pid_t pid);

struct perf_system *perf_system_adopt(int pid, const char *container,
				      const struct perf_container *ct, const char *rundir)
{
	struct perf_system *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	s->pid = pid;
	s->container = strdup(container);
	s->rundir = strdup(rundir);
	s->ct = ct;
	if (!s->container || !s->rundir) {
		free(s->container);
		free(s->rundir);
		free(s);
		return NULL;
	}
	watch(pid);   /* an interrupted bench stops the container's system too (SIGTERM) */
	return s;
}

int perf_system_alive(const struct perf_system *s, struct ac_error *err)
{
	if (!s || !s->container)
		return 0;
	return perf_container_alive(s->container, s->ct, s->rundir, err);
}

static int stop_container(struct perf_system *s, struct ac_error *err)
{
	int rc = perf_container_stop(s->container, s->ct, s->rundir, err);
	watch(0);
	free(s->container);
	free(s->rundir);
	free(s);
	return rc;
}

static void nap_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Variables a parent make passes down would change how the system is compiled. */
static void clean_make_env(void)
{
	unsetenv("MAKEFLAGS");
	unsetenv("MFLAGS");
	unsetenv("MAKELEVEL");
	unsetenv("CC");
	unsetenv("CFLAGS");
}

int perf_system_build(const char *dir, struct ac_error *err)
{
	char log[4096];
	pid_t pid;
	int st = 0;

	snprintf(log, sizeof log, "%s/bench-build.log", dir);
	pid = fork();
	if (pid < 0)
		return ac_error_set(err, AC_EIO, NULL, "fork: %s", strerror(errno));
	if (!pid) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		clean_make_env();
		execlp("make", "make", "-s", "-j2", "-C", dir, (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		return ac_error_set(err, AC_EIO, "build_failed", "building %s failed (see %s)", dir,
				    log);
	return 0;
}

/* The last non-empty line of a log (what a failed start said), at most n-1 bytes. */
static void last_line(const char *path, char *out, size_t n)
{
	char buf[4096];
	FILE *f = fopen(path, "r");
	size_t len = 0;
	snprintf(out, n, "no output");
	if (!f)
		return;
	if (!fseek(f, -(long)(sizeof buf - 1), SEEK_END) || !fseek(f, 0, SEEK_SET))
		len = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		len--;
	buf[len] = 0;
	char *nl = strrchr(buf, '\n');
	if (len)
		snprintf(out, n, "%.*s", (int)(n - 1), nl ? nl + 1 : buf);
}

/* The running system, so an interrupted bench does not leave it behind. */
static volatile sig_atomic_t running_pid;

static void on_interrupt(int sig)
{
	if (running_pid > 0)
		kill((pid_t)running_pid, SIGTERM);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void watch_interrupts(void)
{
	static bool done;
	if (done)
		return;
	done = true;
	signal(SIGINT, on_interrupt);
	signal(SIGTERM, on_interrupt);
	signal(SIGHUP, on_interrupt);
}

static void watch(pid_t pid)
{
	running_pid = pid;
	if (pid)
		watch_interrupts();
}

int perf_system_start(const char *dir, const char *name, const char *rundir, char **env,
		      int ready_port, struct perf_system **out, struct ac_error *err)
{
	char bin[4096], logp[4096], datadir[4096];
	struct perf_system *s;
	pid_t pid;

	*out = NULL;
	snprintf(bin, sizeof bin, "%s/%s", dir, name);
	snprintf(logp, sizeof logp, "%s/system.log", rundir);
	snprintf(datadir, sizeof datadir, "%s/data", rundir);
	if (access(bin, X_OK))
		return ac_error_set(err, AC_ENOTFOUND, NULL, "%s: no such program (build failed?)", bin);
	mkdir(datadir, 0755);
	pid = fork();
	if (pid < 0)
		return ac_error_set(err, AC_EIO, NULL, "fork: %s", strerror(errno));
	if (!pid) {
		int fd = open(logp, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		if (chdir(dir))
			_exit(126);
		setenv("DATA_DIR", datadir, 1);
		setenv("LOG_LEVEL", "warn", 0);
		for (char **e = env; e && *e; e++)
			putenv(*e);
		/* after chdir(dir) a relative SYSTEM_DIR no longer leads to the binary */
		char self[300];
		snprintf(self, sizeof self, "./%s", name);
		execl(self, self, (char *)NULL);
		_exit(127);
	}
	s = calloc(1, sizeof *s);
	if (!s) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return ac_error_set(err, AC_ENOMEM, NULL, "out of memory");
	}
	s->pid = pid;
	running_pid = pid;
	watch_interrupts();
	double until = now_s() + 60;
	for (;;) {
		int status = 0, st;
		char *b = perf_http_get(ready_port, "/ready", &status);
		free(b);
		if (status == 200)
			break;
		if (waitpid(pid, &st, WNOHANG) == pid) {
			char last[300];
			running_pid = 0;
			free(s);
			last_line(logp, last, sizeof last);
			return ac_error_set(err, AC_EIO, "start_failed",
					    "%s exited while starting: %s (see %s)", bin, last, logp);
		}
		if (now_s() > until) {
			perf_system_stop(s, NULL);
			return ac_error_set(err, AC_EIO, "not_ready",
					    "%s not ready on port %d after 60 s (see %s)", bin,
					    ready_port, logp);
		}
		nap_ms(20);
	}
	*out = s;
	return 0;
}

int perf_system_stop(struct perf_system *s, struct ac_error *err)
{
	int st = 0, rc = 0;
	double until = now_s() + 30;
	if (!s)
		return 0;
	if (s->container)
		return stop_container(s, err);
	kill(s->pid, SIGTERM);
	for (;;) {
		pid_t r = waitpid(s->pid, &st, WNOHANG);
		if (r == s->pid)
			break;
		if (r < 0 && errno != EINTR) {
			st = 0;
			break;
		}
		if (now_s() > until) {
			kill(s->pid, SIGKILL);
			waitpid(s->pid, &st, 0);
			rc = ac_error_set(err, AC_EIO, NULL, "system did not stop within 30 s of SIGTERM");
			break;
		}
		nap_ms(10);
	}
	running_pid = 0;
	if (!rc && (!WIFEXITED(st) || WEXITSTATUS(st)))
		rc = ac_error_set(err, AC_EIO, "bad_exit", "system exited with status %d after SIGTERM",
				  WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
	free(s);
	return rc;
}

int perf_system_pid(const struct perf_system *s)
{
	return s ? (int)s->pid : 0;
}

/* ---------------------------------------------------------------- /proc */

/* comm and utime + stime (seconds) of one /proc stat file. */
static int read_stat(const char *path, char *comm, size_t n, double *cpu)
{
	char buf[1024];
	FILE *f = fopen(path, "r");
	size_t len;
	if (!f)
		return -1;
	len = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[len] = 0;
	char *lp = strchr(buf, '('), *rp = strrchr(buf, ')');
	if (!lp || !rp || rp < lp)
		return -1;
	snprintf(comm, n, "%.*s", (int)(rp - lp - 1), lp + 1);
	unsigned long long ut = 0, stt = 0;
	/* after ") ": state(3) ... utime is field 14, stime 15 */
	if (sscanf(rp + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &stt) != 2)
		return -1;
	*cpu = (double)(ut + stt) / (double)sysconf(_SC_CLK_TCK);
	return 0;
}

json_t *perf_proc_threads(int pid, double *total_cpu)
{
	char path[320], comm[64];
	json_t *out = json_object();
	DIR *d;
	struct dirent *e;
	double cpu;

	*total_cpu = 0;
	snprintf(path, sizeof path, "/proc/%d/stat", pid);
	if (!read_stat(path, comm, sizeof comm, &cpu))
		*total_cpu = cpu;
	snprintf(path, sizeof path, "/proc/%d/task", pid);
	d = opendir(path);
	if (!d)
		return out;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "/proc/%d/task/%s/stat", pid, e->d_name);
		if (read_stat(path, comm, sizeof comm, &cpu))
			continue;
		json_t *v = json_object_get(out, comm);
		json_object_set_new(out, comm, json_real(cpu + (v ? json_real_value(v) : 0)));
	}
	closedir(d);
	return out;
}

void perf_proc_memory(int pid, long *hwm_kb, long *rss_kb)
{
	char path[64], line[256];
	FILE *f;
	*hwm_kb = *rss_kb = 0;
	snprintf(path, sizeof path, "/proc/%d/status", pid);
	f = fopen(path, "r");
	if (!f)
		return;
	while (fgets(line, sizeof line, f)) {
		if (!strncmp(line, "VmHWM:", 6))
			*hwm_kb = strtol(line + 6, NULL, 10);
		else if (!strncmp(line, "VmRSS:", 6))
			*rss_kb = strtol(line + 6, NULL, 10);
	}
	fclose(f);
}

/* ---------------------------------------------------------------- small HTTP client */

int perf_free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t l = sizeof a;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), port = -1;
	if (fd < 0)
		return -1;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (!bind(fd, (struct sockaddr *)&a, sizeof a) && !getsockname(fd, (struct sockaddr *)&a, &l))
		port = ntohs(a.sin_port);
	close(fd);
	return port;
}

char *perf_http_request(int port, const char *method, const char *path, const char *body,
			int *status)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	struct timeval tv = { 5, 0 };
	size_t cap = 65536, have = 0, blen = body ? strlen(body) : 0;
	char *req, *buf = NULL;
	int fd, n;

	*status = 0;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return NULL;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	if (connect(fd, (struct sockaddr *)&a, sizeof a))
		goto out;
	n = asprintf(&req, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
		     "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
		     method, path, blen, body ? body : "");
	if (n < 0)
		goto out;
	if (send(fd, req, (size_t)n, MSG_NOSIGNAL) != n) {
		free(req);
		goto out;
	}
	free(req);
	buf = malloc(cap + 1);
	while (buf) {
		ssize_t r;
		if (have == cap) {
			char *nb = cap < (64u << 20) ? realloc(buf, cap * 2 + 1) : NULL;
			if (!nb) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = nb;
			cap *= 2;
		}
		r = recv(fd, buf + have, cap - have, 0);
		if (r <= 0)
			break;
		have += (size_t)r;
	}
	if (buf) {
		buf[have] = 0;
		char *b = strstr(buf, "\r\n\r\n");
		if (have > 12 && !strncmp(buf, "HTTP/1.", 7) && b) {
			*status = (int)strtol(buf + 9, NULL, 10);
			memmove(buf, b + 4, strlen(b + 4) + 1);
		} else {
			free(buf);
			buf = NULL;
		}
	}
out:
	close(fd);
	return buf;
}

char *perf_http_get(int port, const char *path, int *status)
{
	return perf_http_request(port, "GET", path, NULL, status);
}

/* ---------------------------------------------------------------- Prometheus text */

static bool labels_match(const char *labels, size_t len, const char *match)
{
	char m[512], *save = NULL;
	if (!match)
		return true;
	snprintf(m, sizeof m, "%s", match);
	for (char *t = strtok_r(m, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		const char *hit = memmem(labels, len, t, strlen(t));
		if (!hit)
			return false;
	}
	return true;
}

static double metric_fold(const char *text, const char *metric, const char *match, bool max)
{
	size_t ml = strlen(metric);
	double acc = 0;
	for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		if (strncmp(l, metric, ml) || (l[ml] != '{' && l[ml] != ' '))
			continue;
		const char *end = strchr(l, '\n');
		size_t len = end ? (size_t)(end - l) : strlen(l);
		if (!labels_match(l, len, match))
			continue;
		const char *sp = memrchr(l, ' ', len);
		if (!sp)
			continue;
		double v = strtod(sp + 1, NULL);
		if (max)
			acc = v > acc ? v : acc;
		else
			acc += v;
	}
	return acc;
}

double perf_metric_sum(const char *text, const char *metric, const char *match)
{
	return text ? metric_fold(text, metric, match, false) : 0;
}

double perf_metric_max(const char *text, const char *metric, const char *match)
{
	return text ? metric_fold(text, metric, match, true) : 0;
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path) && errno != ENOENT ? -1 : 0;
}

int perf_rm_rf(const char *path)
{
	if (access(path, F_OK))
		return 0;
	return nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

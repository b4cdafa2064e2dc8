/*
 * container.c — `autocoder bench --container` (perf.h, docs/BENCH.md): the same bench against
 * the system's image, run under the CPU and memory limits its Kubernetes manifest declares.
 *
 * 1. The limits and the image name come from the generated manifest itself
 *    (deployments/k8s/statefulset.yaml or deployment.yaml: containers[0].image,
 *    resources.limits.cpu and .memory, terminationGracePeriodSeconds), read with the
 *    blueprint front end's YAML reader, so a hand-edited manifest is measured as it is.
 * 2. The image is built with the system's deployments/Dockerfile through the docker CLI
 *    (AUTOCODER_DOCKER, default `docker`; the engine is DOCKER_HOST's), log in
 *    SYSTEM_DIR/bench-image.log.
 * 3. Each start is `docker run -d --network host --cpus C --memory M --memory-swap M` (no swap,
 *    as in a pod) with the bench's port variables and BIND_ADDRESS=127.0.0.1: the load still
 *    goes to loopback. The container's main process is the system, so its host pid
 *    (`docker inspect .State.Pid`) gives the same per-thread CPU from /proc as a local run.
 * 4. The container's cgroup (from /proc/PID/cgroup; v2 or v1 hierarchies) gives CPU throttling
 *    (nr_periods, nr_throttled, throttled time), the memory peak (memory.peak or
 *    memory.max_usage_in_bytes) and limit, and OOM kills (memory.events or
 *    memory.oom_control); `docker inspect .State.OOMKilled` says whether the system died of it.
 * 5. Stop: `docker stop -t GRACE` (SIGTERM, as Kubernetes does), exit code and OOMKilled
 *    checked, logs copied to the run directory, `docker rm -f -v`.
 */
#include "core/common.h"
#include "perf/perf.h"
#include "generator/bp_int.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---------------------------------------------------------------- docker CLI */

static const char *docker_cli(void)
{
	const char *d = getenv("AUTOCODER_DOCKER");
	return d && *d ? d : "docker";
}

/* Run argv; stdout into out (NUL-terminated, trailing newlines cut) when out is given, else
 * with stderr into logpath (or /dev/null). Returns the exit status, -1 when it did not run. */
static int run_cmd(char *const argv[], const char *logpath, char *out, size_t outn)
{
	int pfd[2] = { -1, -1 }, st = 0;
	pid_t pid;

	if (out && pipe2(pfd, O_CLOEXEC))
		return -1;
	pid = fork();
	if (pid < 0) {
		if (out) {
			close(pfd[0]);
			close(pfd[1]);
		}
		return -1;
	}
	if (!pid) {
		int fd = open(logpath ? logpath : "/dev/null", O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (fd >= 0) {
			dup2(fd, 2);
			if (!out)
				dup2(fd, 1);
		}
		if (out)
			dup2(pfd[1], 1);
		setenv("DOCKER_BUILDKIT", "0", 0);   /* the classic builder takes --network host */
		execvp(argv[0], argv);
		_exit(127);
	}
	if (out) {
		size_t have = 0;
		close(pfd[1]);
		for (;;) {
			char sink[512];
			ssize_t r = read(pfd[0], have + 1 < outn ? out + have : sink,
					 have + 1 < outn ? outn - have - 1 : sizeof sink);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				break;
			if (have + 1 < outn)
				have += (size_t)r;
		}
		close(pfd[0]);
		out[have] = 0;
		while (have && (out[have - 1] == '\n' || out[have - 1] == '\r'))
			out[--have] = 0;
	}
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* docker inspect -f FORMAT NAME into out; 0 when it answered. */
static int inspect(const char *name, const char *format, char *out, size_t n)
{
	char *argv[] = { (char *)docker_cli(), "inspect", "-f", (char *)format, (char *)name, NULL };
	return run_cmd(argv, NULL, out, n) ? -1 : 0;
}

/* ---------------------------------------------------------------- the manifest */

/* "350m" -> 0.35, "1.5" -> 1.5 cores; <= 0 when unreadable. */
static double parse_cpu(const char *s)
{
	char *end;
	double v = s ? strtod(s, &end) : 0;
	if (!s || end == s)
		return 0;
	return !strcmp(end, "m") ? v / 1000 : !*end ? v : 0;
}

/* "704Mi", "1Gi", "512M", bytes -> MiB; <= 0 when unreadable. */
static double parse_mem_mi(const char *s)
{
	static const struct { const char *suf; double mul; } u[] = {
		{ "Ki", 1.0 / 1024 }, { "Mi", 1 }, { "Gi", 1024 }, { "Ti", 1048576 },
		{ "K", 1e3 / 1048576 }, { "M", 1e6 / 1048576 }, { "G", 1e9 / 1048576 }, { "", 1.0 / 1048576 },
	};
	char *end;
	double v = s ? strtod(s, &end) : 0;
	if (!s || end == s)
		return 0;
	for (size_t i = 0; i < AC_ARRAY_SIZE(u); i++)
		if (!strcmp(end, u[i].suf))
			return v * u[i].mul;
	return 0;
}

static const struct ynode *ypath(const struct ynode *n, const char *const *keys)
{
	for (; n && *keys; keys++)
		n = yderef(yget(yderef(n), *keys));
	return yderef(n);
}

int perf_container_plan(const char *dir, struct perf_container *ct, struct ac_error *err)
{
	struct ydoc *doc = NULL;
	struct bp_diags d;
	char *data = NULL;
	size_t len = 0;
	int rc = 0;

	memset(ct, 0, sizeof *ct);
	snprintf(ct->docker, sizeof ct->docker, "%s", docker_cli());
	snprintf(ct->manifest, sizeof ct->manifest, "%s/deployments/k8s/statefulset.yaml", dir);
	if (access(ct->manifest, R_OK))
		snprintf(ct->manifest, sizeof ct->manifest, "%s/deployments/k8s/deployment.yaml", dir);
	FILE *f = fopen(ct->manifest, "r");
	if (!f)
		return ac_error_set(err, AC_ENOTFOUND, NULL, "--container: %s: %s (the limits come from "
				    "the generated Kubernetes manifest)", ct->manifest, strerror(errno));
	data = malloc(1 << 20);
	if (data)
		len = fread(data, 1, (1 << 20) - 1, f);
	fclose(f);
	if (!data)
		return ac_error_set(err, AC_ENOMEM, NULL, "out of memory");
	bp_diags_init(&d);
	if (ydoc_parse(ct->manifest, data, len, &doc, &d) || !doc->nroots) {
		rc = ac_error_set(err, AC_EINVAL, NULL, "--container: %s is not readable YAML", ct->manifest);
		goto out;
	}
	static const char *const spec[] = { "spec", "template", "spec", NULL };
	static const char *const cpu[] = { "resources", "limits", "cpu", NULL };
	static const char *const mem[] = { "resources", "limits", "memory", NULL };
	const struct ynode *ps = ypath(doc->roots[0], spec);
	const struct ynode *cs = yderef(yget(ps, "containers"));
	const struct ynode *c0 = yis_seq(cs) && cs->n ? yderef(cs->kids[0]) : NULL;
	const char *image = ystr(yderef(yget(c0, "image")));
	long long grace = 30;
	ct->cpus = parse_cpu(ystr(ypath(c0, cpu)));
	ct->memory_mi = parse_mem_mi(ystr(ypath(c0, mem)));
	if (!image || ct->cpus <= 0 || ct->memory_mi <= 0) {
		rc = ac_error_set(err, AC_EINVAL, NULL, "--container: %s: containers[0] needs image and "
				  "resources.limits.cpu and .memory", ct->manifest);
		goto out;
	}
	snprintf(ct->image, sizeof ct->image, "%s", image);
	yas_int(yderef(yget(ps, "terminationGracePeriodSeconds")), &grace);
	ct->grace_s = grace > 0 && grace < 3600 ? (int)grace : 30;
out:
	ydoc_free(doc);
	bp_diags_free(&d);
	free(data);
	return rc;
}

int perf_container_build(const struct perf_container *ct, const char *dir, struct ac_error *err)
{
	char log[2300], file[2300], out[512];
	char *ver[] = { (char *)ct->docker, "version", "--format", "{{.Server.Version}}", NULL };
	if (run_cmd(ver, NULL, out, sizeof out) || !out[0])
		return ac_error_set(err, AC_EIO, "no_engine", "--container: no Docker engine answers "
				    "`%s version` (start one, or point DOCKER_HOST at it)", ct->docker);
	snprintf(log, sizeof log, "%s/bench-image.log", dir);
	snprintf(file, sizeof file, "%s/deployments/Dockerfile", dir);
	unlink(log);
	char *argv[] = { (char *)ct->docker, "build", "--network", "host", "-f", file, "-t",
			 (char *)ct->image, (char *)dir, NULL };
	if (run_cmd(argv, log, NULL, 0))
		return ac_error_set(err, AC_EIO, "image_build_failed", "--container: building the image "
				    "%s failed (see %s)", ct->image, log);
	return 0;
}

/* ---------------------------------------------------------------- a running container */

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void nap_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static void save_logs(const char *name, const char *rundir)
{
	char log[2300];
	snprintf(log, sizeof log, "%s/system.log", rundir);
	char *argv[] = { (char *)docker_cli(), "logs", (char *)name, NULL };
	run_cmd(argv, log, NULL, 0);
}

static void remove_container(const char *name)
{
	char *argv[] = { (char *)docker_cli(), "rm", "-f", "-v", (char *)name, NULL };
	run_cmd(argv, NULL, NULL, 0);
}

/* Why a container that stopped running stopped: "OOM-killed" or "exited with status N". */
static void death(const char *name, char *why, size_t n, bool *oom)
{
	char st[128] = "";
	int code = -1;
	char k[16] = "";
	*oom = false;
	if (!inspect(name, "{{.State.ExitCode}} {{.State.OOMKilled}}", st, sizeof st))
		sscanf(st, "%d %15s", &code, k);
	*oom = !strcmp(k, "true");
	if (*oom)
		snprintf(why, n, "was OOM-killed");
	else
		snprintf(why, n, "exited with status %d", code);
}

int perf_container_start(const struct perf_container *ct, const char *rundir, char **env,
			 int ready_port, struct perf_system **out, struct ac_error *err)
{
	static int seq;
	char name[96], cpus[32], mem[32], grace[16], out_id[256], pid_s[32];
	char *argv[128];
	int n = 0, rc;

	*out = NULL;
	snprintf(name, sizeof name, "autocoder-bench-%d-%d", (int)getpid(), ++seq);
	snprintf(cpus, sizeof cpus, "%.3f", ct->cpus);
	snprintf(mem, sizeof mem, "%ldm", (long)ceil(ct->memory_mi));
	snprintf(grace, sizeof grace, "%d", ct->grace_s);
	argv[n++] = (char *)ct->docker;
	argv[n++] = "run";
	argv[n++] = "-d";
	argv[n++] = "--name";
	argv[n++] = name;
	argv[n++] = "--network";
	argv[n++] = "host";
	argv[n++] = "--cpus";
	argv[n++] = cpus;
	argv[n++] = "--memory";
	argv[n++] = mem;
	argv[n++] = "--memory-swap";
	argv[n++] = mem;
	argv[n++] = "--stop-timeout";
	argv[n++] = grace;
	argv[n++] = "-e";
	argv[n++] = "BIND_ADDRESS=127.0.0.1";
	argv[n++] = "-e";
	argv[n++] = "LOG_LEVEL=warn";
	for (char **e = env; e && *e && n < 120; e++) {
		argv[n++] = "-e";
		argv[n++] = *e;
	}
	argv[n++] = (char *)ct->image;
	argv[n] = NULL;
	char log[2300];
	snprintf(log, sizeof log, "%s/system.log", rundir);
	if ((rc = run_cmd(argv, log, out_id, sizeof out_id))) {
		remove_container(name);
		return ac_error_set(err, AC_EIO, "start_failed", "--container: docker run %s failed "
				    "(status %d, see %s)", ct->image, rc, log);
	}
	double until = now_s() + 90;
	for (;;) {
		char running[32] = "";
		int status = 0;
		char *b = perf_http_get(ready_port, "/ready", &status);
		free(b);
		if (status == 200)
			break;
		if (!inspect(name, "{{.State.Running}}", running, sizeof running) &&
		    !strcmp(running, "false")) {
			char why[64];
			bool oom;
			death(name, why, sizeof why, &oom);
			save_logs(name, rundir);
			remove_container(name);
			return ac_error_set(err, AC_EIO, oom ? "oom_killed" : "start_failed",
					    "the container %s while starting%s (memory limit %.0f MiB, "
					    "%.3g CPU from %s; log %s)", why,
					    oom ? ": the system does not fit its memory limit" : "",
					    ct->memory_mi, ct->cpus, ct->manifest, log);
		}
		if (now_s() > until) {
			save_logs(name, rundir);
			remove_container(name);
			return ac_error_set(err, AC_EIO, "not_ready", "the container was not ready on "
					    "port %d after 90 s (see %s)", ready_port, log);
		}
		nap_ms(50);
	}
	long cpid = 0;
	if (!inspect(name, "{{.State.Pid}}", pid_s, sizeof pid_s))
		cpid = strtol(pid_s, NULL, 10);
	if (cpid <= 0) {
		save_logs(name, rundir);
		remove_container(name);
		return ac_error_set(err, AC_EIO, "start_failed", "docker inspect %s: no pid", name);
	}
	*out = perf_system_adopt((int)cpid, name, ct, rundir);
	if (!*out) {
		remove_container(name);
		return ac_error_set(err, AC_ENOMEM, NULL, "out of memory");
	}
	return 0;
}

int perf_container_alive(const char *name, const struct perf_container *ct, const char *rundir,
			 struct ac_error *err)
{
	char running[32] = "", why[64];
	bool oom;
	if (inspect(name, "{{.State.Running}}", running, sizeof running) || strcmp(running, "false"))
		return 0;
	death(name, why, sizeof why, &oom);
	save_logs(name, rundir);
	return ac_error_set(err, AC_EIO, oom ? "oom_killed" : "died", "the container %s under load%s "
			    "(memory limit %.0f MiB, %.3g CPU from %s; log %s/system.log)", why,
			    oom ? ": the system does not fit its memory limit" : "", ct->memory_mi,
			    ct->cpus, ct->manifest, rundir);
}

int perf_container_stop(const char *name, const struct perf_container *ct, const char *rundir,
			struct ac_error *err)
{
	char grace[16], st[128] = "", why[64];
	int code = -1, rc = 0;
	bool oom;
	snprintf(grace, sizeof grace, "%d", ct->grace_s);
	char *argv[] = { (char *)ct->docker, "stop", "-t", grace, (char *)name, NULL };
	if (run_cmd(argv, NULL, NULL, 0))
		rc = ac_error_set(err, AC_EIO, NULL, "docker stop %s failed", name);
	if (!rc && !inspect(name, "{{.State.ExitCode}}", st, sizeof st))
		code = (int)strtol(st, NULL, 10);
	death(name, why, sizeof why, &oom);
	if (!rc && (oom || code)) {
		save_logs(name, rundir);
		rc = ac_error_set(err, AC_EIO, oom ? "oom_killed" : "bad_exit", "the container %s by the "
				  "end of the run%s (memory limit %.0f MiB, %.3g CPU from %s; log "
				  "%s/system.log)", why, oom ? ": the system does not fit its memory limit" : "",
				  ct->memory_mi, ct->cpus, ct->manifest, rundir);
	}
	remove_container(name);
	return rc;
}

/* ---------------------------------------------------------------- cgroup figures */

/* The cgroup directory of pid for a v1 controller ("memory", "cpu"), or the v2 one (ctl
 * NULL); 0 when found. */
static int cgroup_dir(int pid, const char *ctl, char *out, size_t n)
{
	char path[64], line[1024];
	FILE *f;
	int rc = -1;
	snprintf(path, sizeof path, "/proc/%d/cgroup", pid);
	if (!(f = fopen(path, "r")))
		return -1;
	while (rc && fgets(line, sizeof line, f)) {
		char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c2)
			continue;
		line[strcspn(line, "\n")] = 0;
		*c1 = 0;
		*c2 = 0;
		const char *ctls = c1 + 1, *cg = c2 + 1;
		if (!ctl) {
			if (!*ctls && !strcmp(line, "0")) {
				snprintf(out, n, "/sys/fs/cgroup%s", cg);
				rc = 0;
			}
			continue;
		}
		/* "cpu,cpuacct" or "cpu": the controller among the comma-separated names */
		char list[256];
		snprintf(list, sizeof list, ",%s,", ctls);
		char want[64];
		snprintf(want, sizeof want, ",%s,", ctl);
		if (strstr(list, want)) {
			snprintf(out, n, "/sys/fs/cgroup/%s%s", ctls, cg);
			if (access(out, R_OK))
				snprintf(out, n, "/sys/fs/cgroup/%s%s", ctl, cg);
			rc = access(out, R_OK) ? -1 : 0;
		}
	}
	fclose(f);
	return rc;
}

/* Value of "key N" in a flat keyed file, or a single number file (key NULL). */
static bool read_kv(const char *dir, const char *file, const char *key, uint64_t *v)
{
	char path[2300], line[256];
	bool found = false;
	snprintf(path, sizeof path, "%s/%s", dir, file);
	FILE *f = fopen(path, "r");
	if (!f)
		return false;
	while (!found && fgets(line, sizeof line, f)) {
		size_t kl = key ? strlen(key) : 0;
		if (!key) {
			if (!strncmp(line, "max", 3))
				*v = UINT64_MAX;
			else
				*v = strtoull(line, NULL, 10);
			found = true;
		} else if (!strncmp(line, key, kl) && line[kl] == ' ') {
			*v = strtoull(line + kl + 1, NULL, 10);
			found = true;
		}
	}
	fclose(f);
	return found;
}

int perf_cgroup_read(int pid, struct perf_cgroup *cg)
{
	char dir[2300];
	uint64_t v = 0;
	memset(cg, 0, sizeof *cg);
	if (pid <= 0)
		return -1;
	char probe[2400];
	if (!cgroup_dir(pid, NULL, dir, sizeof dir) &&
	    snprintf(probe, sizeof probe, "%s/cpu.stat", dir) > 0 && !access(probe, R_OK)) {
		cg->version = 2;
		read_kv(dir, "cpu.stat", "nr_periods", &cg->nr_periods);
		read_kv(dir, "cpu.stat", "nr_throttled", &cg->nr_throttled);
		if (read_kv(dir, "cpu.stat", "throttled_usec", &v))
			cg->throttled_s = (double)v / 1e6;
		if (!read_kv(dir, "memory.peak", NULL, &cg->mem_peak))
			cg->mem_peak = 0;
		read_kv(dir, "memory.current", NULL, &cg->mem_current);
		read_kv(dir, "memory.max", NULL, &cg->mem_limit);
		read_kv(dir, "memory.events", "oom_kill", &cg->oom_kills);
		read_kv(dir, "memory.events", "max", &cg->limit_hits);
		return 0;
	}
	if (!cgroup_dir(pid, "cpu", dir, sizeof dir)) {
		cg->version = 1;
		read_kv(dir, "cpu.stat", "nr_periods", &cg->nr_periods);
		read_kv(dir, "cpu.stat", "nr_throttled", &cg->nr_throttled);
		if (read_kv(dir, "cpu.stat", "throttled_time", &v))
			cg->throttled_s = (double)v / 1e9;
	}
	if (!cgroup_dir(pid, "memory", dir, sizeof dir)) {
		cg->version = 1;
		read_kv(dir, "memory.max_usage_in_bytes", NULL, &cg->mem_peak);
		read_kv(dir, "memory.usage_in_bytes", NULL, &cg->mem_current);
		read_kv(dir, "memory.limit_in_bytes", NULL, &cg->mem_limit);
		read_kv(dir, "memory.oom_control", "oom_kill", &cg->oom_kills);
		read_kv(dir, "memory.failcnt", NULL, &cg->limit_hits);
	}
	return cg->version ? 0 : -1;
}

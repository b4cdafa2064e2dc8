/*
 * rt_crash.c — crash handler and crash-report upload.
 *
 * At start-up rt_crash_init() finds the binary's GNU build id, creates the spool directory,
 * calls backtrace() once (so libgcc's unwinder is loaded before any crash: loading it inside a
 * signal handler would call malloc) and installs one handler for SIGSEGV, SIGBUS, SIGFPE,
 * SIGILL and SIGABRT on an alternate stack (each component thread gets its own, see
 * rt_crash_thread_init, so a stack overflow can still be reported).
 *
 * The handler uses only async-signal-safe calls (open, write, clock_gettime, backtrace_symbols_fd
 * after the pre-load, close, raise): it writes a line-oriented report into
 * <spool>/crash-<pid>-<time>.txt:
 *
 *     signal: SIGSEGV
 *     fault_address: 0x0
 *     thread: ingest
 *     component: ingest
 *     system: event_pipeline
 *     release: 1.0.0
 *     build_id: 3f2a...
 *     timestamp: 1795900000
 *     backtrace:
 *     ./build/event_pipeline(ingest_crash+0x4) [0x55...]
 *     ...
 *
 * then re-raises the signal with the default action. Symbolisation happens at the next start
 * (rt_crash_upload_spool): each backtrace line "module(function+off) [addr]" becomes a frame
 * {function, module, file, in_app, address} (innermost first, backtrace order, which is what
 * the collector's /api/v1/crashes expects), and the report is POSTed to $AUTOCODER_COLLECTOR_URL/api/v1/crashes; a 2xx deletes the file.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <execinfo.h>
#include <fcntl.h>
#include <limits.h>
#include <link.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "rt_int.h"

#define ALT_STACK_SIZE (64 * 1024)

static char spool_dir[600];
static char build_id[80] = "unknown";
static char system_name[128];
static char release[64];
static char exe_path[PATH_MAX];
static char load_base[24] = "0x0";   /* where the executable was mapped: frames -> file offsets */
static __thread char tl_name[64] = "main";
static __thread void *tl_altstack;

/* ---------------------------------------------------------------- async-signal-safe output */

static size_t safe_strlen(const char *s)
{
	size_t n = 0;
	while (s[n])
		n++;
	return n;
}

static void put(int fd, const char *s)
{
	size_t n = safe_strlen(s);
	while (n) {
		ssize_t w = write(fd, s, n);
		if (w <= 0)
			return;
		s += w;
		n -= (size_t)w;
	}
}

static void fmt_unsigned(char *out, unsigned long long v, unsigned base)
{
	char tmp[32];
	int i = 0, j = 0;
	do {
		unsigned d = (unsigned)(v % base);
		tmp[i++] = (char)(d < 10 ? '0' + d : 'a' + d - 10);
		v /= base;
	} while (v && i < 31);
	while (i)
		out[j++] = tmp[--i];
	out[j] = 0;
}

static void put_kv(int fd, const char *key, const char *val)
{
	put(fd, key);
	put(fd, ": ");
	put(fd, val);
	put(fd, "\n");
}

static const char *signal_name(int sig)
{
	switch (sig) {
	case SIGSEGV: return "SIGSEGV";
	case SIGBUS: return "SIGBUS";
	case SIGFPE: return "SIGFPE";
	case SIGILL: return "SIGILL";
	case SIGABRT: return "SIGABRT";
	default: return "SIGNAL";
	}
}

/* Exported (not static) so backtraces name it and the uploader can skip it. */
void rt_crash_handler(int sig, siginfo_t *si, void *uctx);
void rt_crash_handler(int sig, siginfo_t *si, void *uctx)
{
	char path[700], num[32], addr[40];
	void *frames[64];
	struct timespec ts;
	int fd, n, len;
	(void)uctx;

	clock_gettime(CLOCK_REALTIME, &ts);
	/* path = <spool>/crash-<pid>-<sec>.txt, built without snprintf (not signal-safe) */
	len = 0;
	for (const char *p = spool_dir; *p && len < 600; p++)
		path[len++] = *p;
	for (const char *p = "/crash-"; *p; p++)
		path[len++] = *p;
	fmt_unsigned(num, (unsigned long long)getpid(), 10);
	for (const char *p = num; *p; p++)
		path[len++] = *p;
	path[len++] = '-';
	fmt_unsigned(num, (unsigned long long)ts.tv_sec, 10);
	for (const char *p = num; *p; p++)
		path[len++] = *p;
	for (const char *p = ".txt"; *p; p++)
		path[len++] = *p;
	path[len] = 0;

	/* the stderr line in one write(): other threads keep logging while this one crashes */
	{
		const char *parts[] = { "{\"level\":\"fatal\",\"msg\":\"crash: ", signal_name(sig),
					" in component ", tl_name, ", report in ", path, "\"}\n" };
		char line[1024];
		size_t ll = 0;
		for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
			for (const char *p = parts[i]; *p && ll < sizeof line - 1; p++)
				line[ll++] = *p;
		if (write(2, line, ll) < 0) {
			/* nothing more a crashing process can do about stderr */
		}
	}

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd >= 0) {
		addr[0] = '0';
		addr[1] = 'x';
		fmt_unsigned(addr + 2, (unsigned long long)(uintptr_t)si->si_addr, 16);
		put_kv(fd, "signal", signal_name(sig));
		put_kv(fd, "fault_address", addr);
		put_kv(fd, "thread", tl_name);
		put_kv(fd, "component", tl_name);
		put_kv(fd, "system", system_name);
		put_kv(fd, "release", release);
		put_kv(fd, "build_id", build_id);
		fmt_unsigned(num, (unsigned long long)ts.tv_sec, 10);
		put_kv(fd, "timestamp", num);
		put_kv(fd, "exe", exe_path);
		put_kv(fd, "load_base", load_base);
		put(fd, "backtrace:\n");
		n = backtrace(frames, 64);
		backtrace_symbols_fd(frames, n, fd);
		close(fd);
	}
	/* SA_RESETHAND restored the default action: re-raise so the process dies with sig. */
	raise(sig);
}

/* ---------------------------------------------------------------- set-up */

static int find_build_id(struct dl_phdr_info *info, size_t size, void *data)
{
	int *objects = data;
	(void)size;
	if ((*objects)++ == 0)
		snprintf(load_base, sizeof load_base, "0x%lx", (unsigned long)info->dlpi_addr);
	/* the first object is the executable itself */
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		const char *p, *end;
		if (ph->p_type != PT_NOTE)
			continue;
		p = (const char *)(info->dlpi_addr + ph->p_vaddr);
		end = p + ph->p_memsz;
		while (p + sizeof(ElfW(Nhdr)) <= end) {
			const ElfW(Nhdr) *nh = (const ElfW(Nhdr) *)p;
			const unsigned char *desc = (const unsigned char *)p + sizeof *nh +
						    ((nh->n_namesz + 3) & ~3u);
			if (nh->n_type == NT_GNU_BUILD_ID && nh->n_namesz == 4 &&
			    !memcmp(p + sizeof *nh, "GNU", 4) && nh->n_descsz <= 32) {
				for (unsigned k = 0; k < nh->n_descsz; k++)
					snprintf(build_id + 2 * k, 3, "%02x", desc[k]);
				return 1;
			}
			p += sizeof *nh + ((nh->n_namesz + 3) & ~3u) + ((nh->n_descsz + 3) & ~3u);
		}
	}
	return 1;
}

static void mkdirs(const char *path)
{
	char tmp[700];
	snprintf(tmp, sizeof tmp, "%s", path);
	for (char *p = tmp + 1; *p; p++) {
		if (*p == '/') {
			*p = 0;
			mkdir(tmp, 0755);
			*p = '/';
		}
	}
	mkdir(tmp, 0755);
}

void rt_crash_thread_init(const char *name)
{
	stack_t ss;
	snprintf(tl_name, sizeof tl_name, "%s", name);
	if (tl_altstack)
		return;
	tl_altstack = malloc(ALT_STACK_SIZE);
	if (!tl_altstack)
		return;
	ss.ss_sp = tl_altstack;
	ss.ss_size = ALT_STACK_SIZE;
	ss.ss_flags = 0;
	sigaltstack(&ss, NULL);
}

void rt_crash_thread_fini(void)
{
	stack_t ss = { .ss_flags = SS_DISABLE };
	if (!tl_altstack)
		return;
	sigaltstack(&ss, NULL);
	free(tl_altstack);
	tl_altstack = NULL;
}

int rt_crash_init(struct rt_system *s)
{
	static const int sigs[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT };
	struct sigaction sa;
	void *warm[4];
	ssize_t n;

	snprintf(spool_dir, sizeof spool_dir, "%s", s->spool_dir);
	snprintf(system_name, sizeof system_name, "%s", s->def->name);
	snprintf(release, sizeof release, "%s", s->release);
	n = readlink("/proc/self/exe", exe_path, sizeof exe_path - 1);
	exe_path[n > 0 ? n : 0] = 0;
	int objects = 0;
	dl_iterate_phdr(find_build_id, &objects);
	snprintf(s->build_id, sizeof s->build_id, "%s", build_id);
	mkdirs(spool_dir);
	backtrace(warm, 4);   /* loads libgcc_s now, not inside the handler */
	rt_crash_thread_init("main");

	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = rt_crash_handler;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESETHAND;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
		sigaction(sigs[i], &sa, NULL);
	return 0;
}

/* ---------------------------------------------------------------- upload */

/* "module(function+0x1d) [0x...]" -> frame object; NULL for lines that are not frames. */
static json_t *parse_frame(const char *line, const char *exe)
{
	const char *lp = strchr(line, '('), *rp = lp ? strchr(lp, ')') : NULL;
	char module[PATH_MAX], func[256];
	const char *base;
	bool in_app;
	json_t *f;

	if (!lp || !rp)
		return NULL;
	snprintf(module, sizeof module, "%.*s", (int)(lp - line), line);
	const char *plus = memchr(lp, '+', (size_t)(rp - lp));
	size_t flen = (size_t)((plus ? plus : rp) - lp - 1);
	snprintf(func, sizeof func, "%.*s", (int)flen, lp + 1);
	base = strrchr(module, '/') ? strrchr(module, '/') + 1 : module;
	in_app = exe[0] && (!strcmp(module, exe) || !strcmp(base, strrchr(exe, '/') ?
							    strrchr(exe, '/') + 1 : exe));
	if (!func[0]) {
		/* unexported (static) function or stripped library: name the module offset */
		snprintf(func, sizeof func, "%.200s%.*s", base, plus ? (int)(rp - plus) : 0,
			 plus ? plus : "");
		in_app = false;
	} else if (!strncmp(func, "rt_", 3)) {
		in_app = false;   /* the runtime is framework code, not the system's own */
	}
	f = json_pack("{s:s, s:s, s:b}", "function", func, "module", base, "in_app", in_app);
	const char *lb = strchr(rp, '[');
	if (f && lb) {
		char addr[40];
		snprintf(addr, sizeof addr, "%.*s", (int)strcspn(lb + 1, "]"), lb + 1);
		json_object_set_new(f, "address", json_string(addr));
	}
	return f;
}

/* Name the source file of an instance function: <instance>_process/_crash live in
 * src/<instance>.c. */
static void attach_files(json_t *frames, struct rt_system *s)
{
	size_t i;
	json_t *f;
	json_array_foreach(frames, i, f) {
		const char *fn = json_string_value(json_object_get(f, "function"));
		if (!fn)
			continue;
		for (size_t k = 0; k < s->ncomps; k++) {
			const char *name = s->comps[k].def->name;
			size_t nl = strlen(name);
			if (!strncmp(fn, name, nl) && (!strcmp(fn + nl, "_process") ||
						      !strcmp(fn + nl, "_crash"))) {
				char file[300];
				snprintf(file, sizeof file, "src/%s.c", name);
				json_object_set_new(f, "file", json_string(file));
				json_object_set_new(f, "in_app", json_true());
			}
		}
	}
}

/* Does frame f belong to the executable exe (its module is exe's file name)? */
static bool frame_in_exe(json_t *f, const char *exe)
{
	const char *mod = json_string_value(json_object_get(f, "module"));
	const char *base = strrchr(exe, '/') ? strrchr(exe, '/') + 1 : exe;
	return mod && json_is_string(json_object_get(f, "address")) && !strcmp(mod, base);
}

/* loc relative to the deepest directory above the executable that contains it (the
 * system's directory, where it was built): the stored frames name "src/x.c". */
static const char *relative_to_exe(const char *loc, const char *exe)
{
	char dir[PATH_MAX];
	char *slash;

	snprintf(dir, sizeof dir, "%s", exe);
	while ((slash = strrchr(dir, '/')) && slash != dir) {
		size_t n;
		*slash = 0;
		n = strlen(dir);
		if (!strncmp(loc, dir, n) && loc[n] == '/')
			return loc + n + 1;
	}
	return loc;
}

/* One "file:line" answer of addr2line onto frame f. */
static void set_file_line(json_t *f, const char *fn, char *loc, const char *exe)
{
	char *colon;
	long line;

	loc[strcspn(loc, " \n")] = 0;   /* drop " (discriminator N)" */
	colon = strrchr(loc, ':');
	if (!colon || !strncmp(loc, "??", 2))
		return;
	*colon = 0;
	line = strtol(colon + 1, NULL, 10);
	if (line <= 0)
		return;
	loc = (char *)relative_to_exe(loc, exe);
	json_object_set_new(f, "file", json_string(loc));
	json_object_set_new(f, "line", json_integer(line));
	/* an unexported function was named "module+0x..." by backtrace_symbols: name it now */
	const char *cur = json_string_value(json_object_get(f, "function"));
	if (fn[0] && strcmp(fn, "??") && cur && strchr(cur, '+'))
		json_object_set_new(f, "function", json_string(fn));
}

/* File and line of each frame in the executable, from its debug information, with binutils'
 * addr2line when it is installed (a development machine; the runtime image has no binutils,
 * and frames then keep function names only). Only for the binary that crashed: after a
 * rebuild (another build id) the addresses would point into different code. */
static void symbolize_frames(json_t *frames, const char *exe, unsigned long long base,
			     const char *report_build_id)
{
	char cmd[PATH_MAX + 2048], fn[512], loc[PATH_MAX + 64];
	size_t i, len, n = 0;
	json_t *f;
	FILE *p;

	if (!exe[0] || strchr(exe, '\'') || !report_build_id || strcmp(report_build_id, build_id))
		return;
	len = (size_t)snprintf(cmd, sizeof cmd, "addr2line -f -e '%s'", exe);
	json_array_foreach(frames, i, f) {
		unsigned long long a;
		if (!frame_in_exe(f, exe) || len + 24 >= sizeof cmd)
			continue;
		/* a return address: the call is the instruction before it */
		a = strtoull(json_string_value(json_object_get(f, "address")), NULL, 16) - base - 1;
		len += (size_t)snprintf(cmd + len, sizeof cmd - len, " 0x%llx", a);
		n++;
	}
	if (!n || len + 20 >= sizeof cmd)
		return;
	snprintf(cmd + len, sizeof cmd - len, " 2>/dev/null");
	if (!(p = popen(cmd, "r")))
		return;
	json_array_foreach(frames, i, f) {
		if (!frame_in_exe(f, exe))
			continue;
		if (!fgets(fn, sizeof fn, p) || !fgets(loc, sizeof loc, p))
			break;
		fn[strcspn(fn, "\n")] = 0;
		set_file_line(f, fn, loc, exe);
	}
	pclose(p);
}

static json_t *parse_report(const char *path, struct rt_system *s)
{
	FILE *f = fopen(path, "r");
	char line[2048], exe[PATH_MAX] = "";
	unsigned long long base = 0;
	json_t *rep, *raw = json_array();
	bool in_bt = false;

	if (!f) {
		json_decref(raw);
		return NULL;
	}
	rep = json_object();
	while (fgets(line, sizeof line, f)) {
		line[strcspn(line, "\n")] = 0;
		if (in_bt) {
			json_array_append_new(raw, json_string(line));
			continue;
		}
		if (!strcmp(line, "backtrace:")) {
			in_bt = true;
			continue;
		}
		char *colon = strstr(line, ": ");
		if (!colon)
			continue;
		*colon = 0;
		if (!strcmp(line, "exe"))   /* for in_app only; not a field of the report */
			snprintf(exe, sizeof exe, "%s", colon + 2);
		else if (!strcmp(line, "load_base"))   /* for symbolisation only */
			base = strtoull(colon + 2, NULL, 16);
		else if (!strcmp(line, "timestamp")) {
			char iso[40];
			time_t t = (time_t)strtoll(colon + 2, NULL, 10);
			struct tm tm;
			gmtime_r(&t, &tm);
			strftime(iso, sizeof iso, "%Y-%m-%dT%H:%M:%S.000Z", &tm);
			json_object_set_new(rep, "timestamp", json_string(iso));
		} else
			json_object_set_new(rep, line, json_string(colon + 2));
	}
	fclose(f);

	/* innermost first in the file; skip the handler and the signal trampoline after it */
	json_t *frames = json_array();
	size_t n = json_array_size(raw), start = 0;
	for (size_t i = 0; i < n && i < 4; i++) {
		const char *l = json_string_value(json_array_get(raw, i));
		if (!strstr(l, "rt_crash_handler"))
			continue;
		start = i + 1;
		if (start < n && strstr(json_string_value(json_array_get(raw, start)), "libc.so"))
			start++;
		break;
	}
	for (size_t i = start; i < n; i++) {   /* innermost first, as the collector expects */
		json_t *fr = parse_frame(json_string_value(json_array_get(raw, i)), exe);
		if (fr)
			json_array_append_new(frames, fr);
	}
	json_decref(raw);
	attach_files(frames, s);
	symbolize_frames(frames, exe, base,
			 json_string_value(json_object_get(rep, "build_id")));
	json_object_set_new(rep, "frames", frames);
	json_object_set_new(rep, "environment", json_string(s->environment));
	return rep;
}

void rt_crash_upload_spool(struct rt_system *s)
{
	DIR *d = opendir(s->spool_dir);
	struct dirent *e;
	const char *url = rt_shipper_url();
	int waiting = 0;

	if (!d)
		return;
	while ((e = readdir(d))) {
		char path[1024];
		json_t *rep;
		char *body;
		int status;
		if (strncmp(e->d_name, "crash-", 6) || !strstr(e->d_name, ".txt"))
			continue;
		snprintf(path, sizeof path, "%s/%s", s->spool_dir, e->d_name);
		if (!url) {
			waiting++;
			continue;
		}
		rep = parse_report(path, s);
		if (!rep)
			continue;
		body = json_dumps(rep, JSON_COMPACT);
		rt_log(NULL, "warn", NULL, "previous run crashed: uploading crash report",
		       json_pack("{s:s, s:O}", "file", path, "signal",
				 json_object_get(rep, "signal") ? json_object_get(rep, "signal") :
				 json_null()));
		json_decref(rep);
		status = body ? rt_http_post(url, "/api/v1/crashes", rt_shipper_key(), body,
					     strlen(body), 5000) : -1;
		free(body);
		if (status >= 200 && status < 300) {
			unlink(path);
		} else {
			rt_log(NULL, "warn", NULL, "crash report upload failed; kept in spool",
			       json_pack("{s:s, s:i}", "file", path, "status", status));
		}
	}
	closedir(d);
	if (waiting)
		rt_log(NULL, "warn", NULL, "crash reports waiting in spool (set AUTOCODER_COLLECTOR_URL)",
		       json_pack("{s:i, s:s}", "count", waiting, "spool", s->spool_dir));
}

/*
 * rt_resource.c — truthful reports of resource exhaustion (issue 14), so the analyzer's rules
 * (posix.too-many-open-files, posix.cannot-allocate-memory, autocoder.queue-full) can fire on
 * what a generated system says:
 *
 *   - rt_errno_name(): the errno name (EMFILE, ENOMEM, ECONNREFUSED...) the messages carry
 *     next to strerror's text, so a message names the cause in both forms.
 *   - rt_mhd_log(): the external logger of every libmicrohttpd daemon of the system. MHD
 *     accepts connections itself; when accept() fails (EMFILE, ENFILE, ENOBUFS, ENOMEM) it
 *     says "Error accepting connection: Too many open files". That becomes one error event
 *     per second at most ("accept failed: EMFILE (Too many open files)", with how many
 *     failures it stands for and the RLIMIT_NOFILE in force). With connections open MHD stops
 *     accepting until one closes; with none it retries at once, a busy loop ("Hit process or
 *     system resource limit at FIRST connection"): the logger sleeps 100 ms in the daemon's
 *     thread there, which is the loop's back-off. MHD failing to allocate a connection or to
 *     start a thread is reported too; everything else MHD says stays unlogged, as before.
 *   - rt_log_thread_failure(): pthread_create's EAGAIN covers both "no memory for the stack"
 *     (RLIMIT_AS, an exhausted host) and "too many threads". A probe mapping of one stack
 *     tells them apart, so running out of address space is reported as out of memory.
 *   - rt_note_drop(): a binding with error_handling.strategy ignore drops messages when its
 *     queue stays full; the drops are counted and reported (at most one event a second).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>

#include "rt_int.h"

static const struct {
	int e;
	const char *name;
} errno_names[] = {
	{ EMFILE, "EMFILE" }, { ENFILE, "ENFILE" }, { ENOMEM, "ENOMEM" }, { ENOBUFS, "ENOBUFS" },
	{ EAGAIN, "EAGAIN" }, { ECONNREFUSED, "ECONNREFUSED" }, { ETIMEDOUT, "ETIMEDOUT" },
	{ ECONNRESET, "ECONNRESET" }, { EHOSTUNREACH, "EHOSTUNREACH" },
	{ ENETUNREACH, "ENETUNREACH" }, { EPIPE, "EPIPE" }, { ENOSPC, "ENOSPC" },
	{ EROFS, "EROFS" }, { EACCES, "EACCES" }, { EPERM, "EPERM" }, { ENOENT, "ENOENT" },
	{ EIO, "EIO" }, { EADDRINUSE, "EADDRINUSE" }, { EFBIG, "EFBIG" }, { EISDIR, "EISDIR" },
	{ EINVAL, "EINVAL" }, { EDQUOT, "EDQUOT" },
};

const char *rt_errno_name(int e)
{
	for (size_t i = 0; i < sizeof errno_names / sizeof errno_names[0]; i++)
		if (errno_names[i].e == e)
			return errno_names[i].name;
	return NULL;
}

/* "EMFILE (Too many open files)", or "errno 123 (...)" for a number without a name here. */
void rt_errno_text(int e, char *buf, size_t n)
{
	const char *name = rt_errno_name(e);
	char num[24];
	if (!name) {
		snprintf(num, sizeof num, "errno %d", e);
		name = num;
	}
	snprintf(buf, n, "%s (%s)", name, strerror(e));
}

/* The errno whose strerror() text is reason (MHD passes the text, not the number), or 0. */
static int errno_of_text(const char *reason)
{
	for (size_t i = 0; i < sizeof errno_names / sizeof errno_names[0]; i++)
		if (!strcmp(strerror(errno_names[i].e), reason))
			return errno_names[i].e;
	return 0;
}

/* At most one event per second per kind of report; *repeats gets how many reports the event
 * stands for (this one and those suppressed since the last). */
struct rate {
	pthread_mutex_t lock;
	double last;
	unsigned long long suppressed;
};

static bool rate_allow(struct rate *r, unsigned long long *repeats)
{
	bool ok;
	double now = rt_mono();
	pthread_mutex_lock(&r->lock);
	ok = r->last == 0 || now - r->last >= 1.0;
	if (ok) {
		*repeats = r->suppressed + 1;
		r->suppressed = 0;
		r->last = now;
	} else {
		r->suppressed++;
	}
	pthread_mutex_unlock(&r->lock);
	return ok;
}

static json_t *nofile_limit(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur == RLIM_INFINITY)
		return json_string("unlimited");
	return json_integer((json_int_t)rl.rlim_cur);
}

static json_t *address_space_limit(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_AS, &rl) || rl.rlim_cur == RLIM_INFINITY)
		return json_string("unlimited");
	return json_integer((json_int_t)rl.rlim_cur);
}

static void report_accept_failure(struct rt_component *c, const char *reason)
{
	static struct rate rate = { .lock = PTHREAD_MUTEX_INITIALIZER };
	unsigned long long repeats;
	int e = errno_of_text(reason);
	char what[160], msg[256];

	if (!rate_allow(&rate, &repeats))
		return;
	if (e)
		rt_errno_text(e, what, sizeof what);
	else
		snprintf(what, sizeof what, "%.150s", reason);
	snprintf(msg, sizeof msg, "accept failed: %s", what);
	rt_log(c, "error", NULL, msg,
	       json_pack("{s:s, s:s?, s:o, s:I}", "doing", "accepting a connection", "errno",
			 e ? rt_errno_name(e) : NULL, "open_files_limit", nofile_limit(), "repeats",
			 (json_int_t)repeats));
}

static void report_connection_oom(struct rt_component *c, const char *reason)
{
	static struct rate rate = { .lock = PTHREAD_MUTEX_INITIALIZER };
	unsigned long long repeats;
	if (!rate_allow(&rate, &repeats))
		return;
	rt_log(c, "error", NULL, "out of memory: cannot allocate a connection (ENOMEM)",
	       json_pack("{s:s, s:s, s:o, s:I}", "doing", "accepting a connection", "error", reason,
			 "address_space_limit", address_space_limit(), "repeats",
			 (json_int_t)repeats));
}

void rt_mhd_log(void *cls, const char *fmt, va_list ap)
{
	static const char accept_prefix[] = "Error accepting connection: ";
	static const char alloc_prefix[] = "Error allocating memory: ";
	static const char first_prefix[] = "Hit process or system resource limit at FIRST";
	struct rt_component *c = cls;
	char text[512];

	vsnprintf(text, sizeof text, fmt, ap);
	text[strcspn(text, "\n")] = '\0';
	if (!strncmp(text, first_prefix, sizeof first_prefix - 1)) {
		/* MHD retries accept() at once while no connection is open: back off */
		struct timespec ts = { 0, 100 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	} else if (!strncmp(text, accept_prefix, sizeof accept_prefix - 1)) {
		report_accept_failure(c, text + sizeof accept_prefix - 1);
	} else if (!strncmp(text, alloc_prefix, sizeof alloc_prefix - 1)) {
		report_connection_oom(c, text + sizeof alloc_prefix - 1);
	} else if (!strncmp(text, "Failed to create ", 17) && strstr(text, "thread")) {
		const char *colon = strrchr(text, ':');
		int e = colon ? errno_of_text(colon + 2) : 0;
		rt_log_thread_failure(c, "an HTTP server thread", e ? e : EAGAIN);
	}
}

/* True when a thread stack of n bytes can still be mapped. */
static bool stack_fits(size_t n)
{
	void *p = mmap(NULL, n, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return errno != ENOMEM;
	munmap(p, n);
	return true;
}

void rt_log_thread_failure(struct rt_component *c, const char *what, int err)
{
	pthread_attr_t a;
	size_t stack = 8u << 20;
	char msg[256], errtext[160];

	if (!pthread_attr_init(&a)) {
		pthread_attr_getstacksize(&a, &stack);
		pthread_attr_destroy(&a);
	}
	rt_errno_text(err, errtext, sizeof errtext);
	if (err == ENOMEM || (err == EAGAIN && !stack_fits(stack))) {
		snprintf(msg, sizeof msg, "out of memory: cannot start %s (ENOMEM: no room for a "
			 "%zu KiB thread stack)", what, stack >> 10);
		rt_log(c, "error", NULL, msg,
		       json_pack("{s:s, s:s, s:o}", "doing", "starting a thread", "pthread_create",
				 errtext, "address_space_limit", address_space_limit()));
	} else {
		rt_log(c, "error", NULL, "cannot start thread",
		       json_pack("{s:s, s:s}", "doing", what, "error", errtext));
	}
}

void rt_note_drop(struct rt_component *c, struct rt_queue *q)
{
	static struct rate rate = { .lock = PTHREAD_MUTEX_INITIALIZER };
	unsigned long long repeats;
	if (!rate_allow(&rate, &repeats))
		return;
	rt_log(c, "warn", NULL, "queue full: messages dropped (error_handling.strategy ignore)",
	       json_pack("{s:s, s:I, s:I}", "to", q->def->to, "dropped",
			 (json_int_t)repeats, "dropped_total", (json_int_t)atomic_load(&q->dropped)));
}

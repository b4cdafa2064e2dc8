/*
 * rt_shipper.c — ships warning and error events to the collector from a background thread.
 *
 * Components call rt_shipper_push() (via rt_log) which only appends a pointer to a bounded
 * ring under a mutex held for a few instructions; when the ring is full the event is dropped
 * and counted, so a slow or absent collector never blocks a component. The shipper thread
 * wakes every second (or when half a batch is waiting), POSTs up to 100 events as one JSON
 * array to $AUTOCODER_COLLECTOR_URL/api/v1/events with "Authorization: Bearer $AUTOCODER_KEY",
 * and counts sent and failed events (a failed batch is not retried: the log line on stderr
 * remains the durable record). Except when the batch could not leave because this process ran
 * out of descriptors or memory (socket() failing with EMFILE, ENFILE, ENOBUFS, ENOMEM): the
 * events are often the report of that very shortage, so the shipper holds one descriptor in
 * reserve (/dev/null) and gives it up for one more try, and a batch that still cannot leave
 * is kept and sent first in the next rounds (for up to 60 rounds, about a minute, and at
 * shutdown).
 * Without AUTOCODER_COLLECTOR_URL the shipper is off.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rt_int.h"

#define SHIP_CAP 1024
#define SHIP_BATCH 100

static struct {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	pthread_t thread;
	bool running, stop;
	json_t *ring[SHIP_CAP];
	size_t head, count;
	char url[512];
	char key[256];
	atomic_ullong sent, dropped, failed;
	json_t *held;       /* a batch kept for lack of descriptors or memory */
	int held_rounds;
	int reserve_fd;     /* given up when the process runs out of descriptors (-1: none) */
} sh = { .lock = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER, .reserve_fd = -1 };

static void reserve_take(void)
{
	if (sh.reserve_fd < 0)
		sh.reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

void rt_shipper_stats(unsigned long long *sent, unsigned long long *dropped,
		      unsigned long long *failed)
{
	*sent = atomic_load(&sh.sent);
	*dropped = atomic_load(&sh.dropped);
	*failed = atomic_load(&sh.failed);
}

void rt_shipper_push(json_t *event)
{
	bool wake = false;
	if (!event)
		return;
	pthread_mutex_lock(&sh.lock);
	if (!sh.running || sh.stop) {
		pthread_mutex_unlock(&sh.lock);
		json_decref(event);
		return;
	}
	if (sh.count == SHIP_CAP) {
		pthread_mutex_unlock(&sh.lock);
		atomic_fetch_add(&sh.dropped, 1);
		json_decref(event);
		return;
	}
	sh.ring[(sh.head + sh.count) % SHIP_CAP] = event;
	sh.count++;
	wake = sh.count == SHIP_BATCH / 2;
	pthread_mutex_unlock(&sh.lock);
	if (wake)
		pthread_cond_signal(&sh.wake);
}

static json_t *take_batch(void)
{
	json_t *arr = json_array();
	while (sh.count && json_array_size(arr) < SHIP_BATCH) {
		json_array_append_new(arr, sh.ring[sh.head]);
		sh.head = (sh.head + 1) % SHIP_CAP;
		sh.count--;
	}
	return arr;
}

/* The post failed for lack of descriptors or memory in this process. */
static bool local_shortage(int status, const char *why)
{
	return status < 0 && (!why || strstr(why, "EMFILE") || strstr(why, "ENFILE") ||
			      strstr(why, "ENOBUFS") || strstr(why, "ENOMEM"));
}

/* Send arr (taken); a batch that failed for a local shortage is kept in sh.held, unless the
 * system is stopping (last round). */
static void send_batch(json_t *arr, bool stopping)
{
	size_t n = json_array_size(arr);
	char *body;
	bool serialised;
	int status;
	if (!n) {
		json_decref(arr);
		return;
	}
	body = json_dumps(arr, JSON_COMPACT);
	serialised = body != NULL;
	status = body ? rt_http_post(sh.url, "/api/v1/events", sh.key[0] ? sh.key : NULL, body,
				     strlen(body), 5000) : -1;
	if (body && local_shortage(status, rt_http_post_failure()) && sh.reserve_fd >= 0) {
		/* out of descriptors: the reserved one makes room for this report */
		close(sh.reserve_fd);
		sh.reserve_fd = -1;
		status = rt_http_post(sh.url, "/api/v1/events", sh.key[0] ? sh.key : NULL, body,
				      strlen(body), 5000);
	}
	reserve_take();
	free(body);
	if (status >= 200 && status < 300) {
		atomic_fetch_add(&sh.sent, n);
	} else if (local_shortage(status, serialised ? rt_http_post_failure() : NULL) &&
		   !stopping && sh.held_rounds < 60) {
		sh.held = arr;
		sh.held_rounds++;
		return;
	} else {
		atomic_fetch_add(&sh.failed, n);
	}
	json_decref(arr);
	sh.held_rounds = 0;
}

static void *shipper_main(void *arg)
{
	(void)arg;
	pthread_setname_np(pthread_self(), "shipper");
	pthread_mutex_lock(&sh.lock);
	for (;;) {
		struct timespec dl;
		json_t *batch;
		bool stop;
		clock_gettime(CLOCK_REALTIME, &dl);
		dl.tv_sec += 1;
		if (!sh.stop && (sh.count < SHIP_BATCH / 2 || sh.held))
			pthread_cond_timedwait(&sh.wake, &sh.lock, &dl);
		stop = sh.stop;
		batch = sh.held ? sh.held : take_batch();
		sh.held = NULL;
		pthread_mutex_unlock(&sh.lock);
		send_batch(batch, stop);
		pthread_mutex_lock(&sh.lock);
		if (stop && !sh.count && !sh.held)
			break;
	}
	pthread_mutex_unlock(&sh.lock);
	return NULL;
}

int rt_shipper_start(struct rt_system *s)
{
	const char *url = getenv("AUTOCODER_COLLECTOR_URL"), *key = getenv("AUTOCODER_KEY");
	(void)s;
	if (!url || !*url)
		return 0;
	snprintf(sh.url, sizeof sh.url, "%s", url);
	snprintf(sh.key, sizeof sh.key, "%s", key ? key : "");
	sh.running = true;
	reserve_take();
	if (pthread_create(&sh.thread, NULL, shipper_main, NULL)) {
		sh.running = false;
		return -1;
	}
	return 0;
}

void rt_shipper_stop(void)
{
	pthread_mutex_lock(&sh.lock);
	if (!sh.running) {
		pthread_mutex_unlock(&sh.lock);
		return;
	}
	sh.stop = true;
	pthread_mutex_unlock(&sh.lock);
	pthread_cond_signal(&sh.wake);
	pthread_join(sh.thread, NULL);
	sh.running = false;
	if (sh.reserve_fd >= 0)
		close(sh.reserve_fd);
	sh.reserve_fd = -1;
}

const char *rt_shipper_url(void)
{
	return sh.url[0] ? sh.url : NULL;
}

const char *rt_shipper_key(void)
{
	return sh.key[0] ? sh.key : NULL;
}

/*
 * rt_pool.c — per-thread free lists for jansson's small blocks, so messages are built and
 * released without a malloc()/free() pair per block.
 *
 * A message is a handful of small jansson blocks (the object, its hash table, one block per
 * member, numbers, strings) made by one thread (a Source) and freed by another (the Sink). With
 * glibc's malloc that pattern misses the per-thread cache on both sides: every allocation takes
 * the producer's arena lock and every free goes back to that arena (about a fifth of the
 * pipeline's CPU time). Here jansson's allocator (json_set_alloc_funcs) keeps freed blocks of up
 * to 256 bytes in the freeing thread's own lists (16 size classes); a thread with more than
 * POOL_LOCAL_MAX blocks of a class moves POOL_MOVE of them to a shared stack (one lock per
 * POOL_MOVE blocks), and a thread whose list is empty takes a whole batch from there before it
 * asks malloc. Bounded: the shared stack holds at most POOL_SHARED_MAX blocks per class and a
 * thread at most POOL_LOCAL_MAX, so memory never grows beyond the peak in flight plus those
 * limits; what does not fit is given back with free(). A thread's lists are handed back when it
 * exits.
 *
 * Every block is an ordinary malloc() chunk (its class comes from malloc_usable_size()), so a
 * block may be released with free() — jansson's json_dumps() text is, by its callers — and a
 * chunk from malloc() may be given to jansson's free. Under AddressSanitizer the pool is not
 * installed, so use-after-free stays detectable.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <malloc.h>
#include <pthread.h>
#include <stdlib.h>

#include "rt_int.h"

#if defined(__SANITIZE_ADDRESS__)
#define RT_POOL_OFF 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RT_POOL_OFF 1
#endif
#endif

#ifndef RT_POOL_OFF

#define POOL_CLASSES 16          /* 16, 32, ... 256 bytes */
#define POOL_LOCAL_MAX 256       /* blocks one thread keeps per class */
#define POOL_MOVE 128            /* blocks moved between a thread and the shared stack at once */
#define POOL_SHARED_MAX 65536    /* blocks the shared stack keeps per class */

struct block {
	struct block *next;        /* within a list or batch */
	struct block *next_batch;  /* first block of a batch on the shared stack: the next batch */
};

struct local {
	struct block *head[POOL_CLASSES];
	unsigned n[POOL_CLASSES];
	bool registered;
};

struct shared {
	pthread_mutex_t lock;
	struct block *batches;     /* each a list of POOL_MOVE blocks */
	size_t blocks;
};

static struct shared shared[POOL_CLASSES];
static _Thread_local struct local local;
static pthread_key_t exit_key;

/* Class of a request of size bytes (1..256), or -1. */
static inline int class_of_request(size_t size)
{
	return size && size <= 16 * POOL_CLASSES ? (int)((size + 15) / 16) - 1 : -1;
}

static void *pool_malloc(size_t size)
{
	int k = class_of_request(size);
	struct local *l = &local;
	struct block *b;

	if (k < 0)
		return malloc(size);
	if (!l->head[k]) {
		struct shared *s = &shared[k];
		pthread_mutex_lock(&s->lock);
		b = s->batches;
		if (b) {
			s->batches = b->next_batch;
			s->blocks -= POOL_MOVE;
		}
		pthread_mutex_unlock(&s->lock);
		if (!b)
			return malloc(16 * (size_t)(k + 1));
		l->head[k] = b;
		l->n[k] = POOL_MOVE;
	}
	b = l->head[k];
	l->head[k] = b->next;
	l->n[k]--;
	return b;
}

/* Move POOL_MOVE blocks of class k from this thread to the shared stack (or free them when it
 * is full). */
static void give_back(struct local *l, int k)
{
	struct block *first = l->head[k], *last = first;
	struct shared *s = &shared[k];
	bool kept = false;

	for (int i = 1; i < POOL_MOVE; i++)
		last = last->next;
	l->head[k] = last->next;
	l->n[k] -= POOL_MOVE;
	last->next = NULL;
	pthread_mutex_lock(&s->lock);
	if (s->blocks + POOL_MOVE <= POOL_SHARED_MAX) {
		first->next_batch = s->batches;
		s->batches = first;
		s->blocks += POOL_MOVE;
		kept = true;
	}
	pthread_mutex_unlock(&s->lock);
	while (!kept && first) {
		struct block *next = first->next;
		free(first);
		first = next;
	}
}

static void register_exit(struct local *l);

static void pool_free(void *p)
{
	struct local *l = &local;
	size_t usable;
	int k;
	struct block *b = p;

	if (!p)
		return;
	usable = malloc_usable_size(p);
	k = (int)(usable / 16) - 1;
	if (k < 0 || k >= POOL_CLASSES) {
		free(p);
		return;
	}
	if (!l->registered)
		register_exit(l);
	if (l->n[k] >= POOL_LOCAL_MAX)
		give_back(l, k);
	b->next = l->head[k];
	l->head[k] = b;
	l->n[k]++;
}

/* Thread exit: its blocks go back to malloc (the shared stack keeps what others released). */
static void thread_exit(void *arg)
{
	struct local *l = arg;
	for (int k = 0; k < POOL_CLASSES; k++) {
		while (l->head[k]) {
			struct block *next = l->head[k]->next;
			free(l->head[k]);
			l->head[k] = next;
		}
		l->n[k] = 0;
	}
	l->registered = false;
}

static void register_exit(struct local *l)
{
	l->registered = true;
	pthread_setspecific(exit_key, l);
}

void rt_pool_install(void)
{
	const char *off = getenv("AUTOCODER_NO_POOL");
	if (off && *off && *off != '0')
		return;
	for (int k = 0; k < POOL_CLASSES; k++)
		pthread_mutex_init(&shared[k].lock, NULL);
	if (pthread_key_create(&exit_key, thread_exit))
		return;
	json_set_alloc_funcs(pool_malloc, pool_free);
}

#else

void rt_pool_install(void)
{
}

#endif

/*
 * rt_metrics.c — per-component counters, processing latency histograms, HTTP request counts,
 * and their Prometheus text rendering (served on /metrics).
 *
 * Counters are C11 atomics updated by the owning thread; rendering reads them without locks,
 * so a scrape never slows the pipeline. HTTP counts are a small table of (route, status) pairs
 * under a mutex, since routes are few (the endpoint's templates, not raw URLs).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rt_int.h"

/* Upper bounds of the latency buckets, in microseconds (the last bucket is +Inf). */
static const unsigned lat_bounds_us[RT_LAT_BUCKETS] = {
	1, 5, 10, 25, 50, 100, 250, 500, 1000, 5000, 25000, 100000,
};

void rt_metrics_observe_n(struct rt_component *c, double seconds, unsigned n)
{
	double us = seconds * 1e6;
	int b = 0;
	while (b < RT_LAT_BUCKETS && us > lat_bounds_us[b])
		b++;
	atomic_fetch_add_explicit(&c->lat_bucket[b], n, memory_order_relaxed);
	atomic_fetch_add_explicit(&c->lat_sum_us, (unsigned long long)(us * n), memory_order_relaxed);
}

void rt_metrics_observe(struct rt_component *c, double seconds)
{
	rt_metrics_observe_n(c, seconds, 1);
}

/* Index of (route, status) among the first n entries, or n. */
static size_t route_find(struct rt_system *s, size_t n, const char *route, int status)
{
	size_t i;
	for (i = 0; i < n; i++)
		if (s->routes[i].status == status && !strncmp(s->routes[i].route, route,
							       sizeof s->routes[i].route - 1))
			break;
	return i;
}

void rt_metrics_http(const char *route, int status)
{
	struct rt_system *s = rt_sys;
	size_t n, i;
	if (!s)
		return;
	/* Entries are filled before nroutes is raised past them and never change after: known
	 * pairs (every request but the first few) are counted without the lock. */
	n = atomic_load_explicit(&s->nroutes, memory_order_acquire);
	i = route_find(s, n, route, status);
	if (i == n) {
		pthread_mutex_lock(&s->route_lock);
		n = atomic_load_explicit(&s->nroutes, memory_order_relaxed);
		i = route_find(s, n, route, status);
		if (i == n && n < AC_RT_ROUTES) {
			snprintf(s->routes[i].route, sizeof s->routes[i].route, "%s", route);
			s->routes[i].status = status;
			atomic_store_explicit(&s->nroutes, n + 1, memory_order_release);
		}
		pthread_mutex_unlock(&s->route_lock);
	}
	if (i < AC_RT_ROUTES)
		atomic_fetch_add_explicit(&s->routes[i].count, 1, memory_order_relaxed);
}

/* Append printf output to a growing buffer (bounded by available memory only: the number of
 * series is fixed by the blueprint). */
struct mbuf {
	char *p;
	size_t len, cap;
	bool oom;
};

__attribute__((format(printf, 2, 3))) static void mb_printf(struct mbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;
	if (b->oom)
		return;
	if (!b->p) {
		b->cap = 16384;
		b->p = malloc(b->cap);
		if (!b->p) {
			b->oom = true;
			return;
		}
	}
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->oom = true;
			return;
		}
		if ((size_t)n < b->cap - b->len) {
			b->len += (size_t)n;
			return;
		}
		size_t ncap = (b->cap + (size_t)n + 1) * 2;
		char *np = realloc(b->p, ncap);
		if (!np) {
			b->oom = true;
			return;
		}
		b->p = np;
		b->cap = ncap;
	}
}

static size_t queue_depth(struct rt_component *c)
{
	size_t d = 0;
	pthread_mutex_lock(&c->lock);
	for (size_t k = 0; k < c->ninq; k++)
		d += c->inq[k]->count;
	pthread_mutex_unlock(&c->lock);
	return d;
}

/* The prefix of every metric name: "app_", or $METRICS_PREFIX when it is a valid Prometheus
 * name prefix. Generated systems do not use the collector's "autocoder_" names, so one
 * Prometheus can scrape both without their series colliding. */
static const char *metric_prefix(char *buf, size_t n)
{
	const char *env = getenv("METRICS_PREFIX");
	size_t len = env ? strlen(env) : 0;

	if (!len || len >= n || (env[0] >= '0' && env[0] <= '9') ||
	    strspn(env, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_:") != len)
		return "app_";
	snprintf(buf, n, "%s", env);
	return buf;
}

static void render_counter(struct mbuf *b, struct rt_system *s, const char *pfx,
			   const char *name, const char *help, size_t off)
{
	mb_printf(b, "# HELP %s%s %s\n# TYPE %s%s counter\n", pfx, name, help, pfx, name);
	for (size_t i = 0; i < s->ncomps; i++) {
		struct rt_component *c = &s->comps[i];
		atomic_ullong *v = (atomic_ullong *)((char *)c + off);
		mb_printf(b, "%s%s{system=\"%s\",component=\"%s\",type=\"%s\"} %llu\n", pfx, name,
			  s->def->name, c->def->name, c->ops->type_name, atomic_load(v));
	}
}

static void render_histograms(struct mbuf *b, struct rt_system *s, const char *pfx)
{
	char n[128];

	snprintf(n, sizeof n, "%sprocessing_seconds", pfx);
	mb_printf(b, "# HELP %s Time a component spends on one message.\n# TYPE %s histogram\n",
		  n, n);
	for (size_t i = 0; i < s->ncomps; i++) {
		struct rt_component *c = &s->comps[i];
		unsigned long long cum = 0;
		for (int k = 0; k <= RT_LAT_BUCKETS; k++) {
			cum += atomic_load(&c->lat_bucket[k]);
			if (k < RT_LAT_BUCKETS)
				mb_printf(b, "%s_bucket{component=\"%s\",le=\"%g\"} %llu\n", n,
					  c->def->name, lat_bounds_us[k] / 1e6, cum);
			else
				mb_printf(b, "%s_bucket{component=\"%s\",le=\"+Inf\"} %llu\n", n,
					  c->def->name, cum);
		}
		mb_printf(b, "%s_sum{component=\"%s\"} %g\n%s_count{component=\"%s\"} %llu\n", n,
			  c->def->name, atomic_load(&c->lat_sum_us) / 1e6, n, c->def->name, cum);
	}
}

char *rt_metrics_render(size_t *len)
{
	struct rt_system *s = rt_sys;
	struct mbuf b = { 0 };
	unsigned long long sent, dropped, failed;
	char pbuf[64];
	const char *p = metric_prefix(pbuf, sizeof pbuf);

	render_counter(&b, s, p, "messages_in_total", "Messages a component received.",
		       offsetof(struct rt_component, msgs_in));
	render_counter(&b, s, p, "messages_out_total", "Messages a component sent.",
		       offsetof(struct rt_component, msgs_out));
	render_counter(&b, s, p, "errors_total", "Messages a component failed to process.",
		       offsetof(struct rt_component, errors));
	mb_printf(&b, "# HELP %squeue_depth Messages waiting in a component's queues.\n"
		  "# TYPE %squeue_depth gauge\n", p, p);
	for (size_t i = 0; i < s->ncomps; i++)
		mb_printf(&b, "%squeue_depth{component=\"%s\"} %zu\n", p, s->comps[i].def->name,
			  queue_depth(&s->comps[i]));
	mb_printf(&b, "# HELP %scomponent_up 1 when the component is healthy.\n"
		  "# TYPE %scomponent_up gauge\n", p, p);
	for (size_t i = 0; i < s->ncomps; i++)
		mb_printf(&b, "%scomponent_up{component=\"%s\"} %d\n", p, s->comps[i].def->name,
			  !atomic_load(&s->comps[i].unhealthy));
	render_histograms(&b, s, p);
	mb_printf(&b, "# HELP %sstore_pool_waits_total Waits of a Store for a free pooled connection.\n"
		  "# TYPE %sstore_pool_waits_total counter\n", p, p);
	for (size_t i = 0; i < s->ncomps; i++)
		if (s->comps[i].def->type == RT_STORE)
			mb_printf(&b, "%sstore_pool_waits_total{component=\"%s\"} %llu\n", p,
				  s->comps[i].def->name, atomic_load(&s->comps[i].pool_waits));
	mb_printf(&b, "# HELP %sdead_letters_total Messages written to a dead-letter file.\n"
		  "# TYPE %sdead_letters_total counter\n", p, p);
	for (size_t i = 0; i < s->nqueues; i++) {
		const struct rt_binding_def *d = s->queues[i].def;
		mb_printf(&b, "%sdead_letters_total{binding=\"%s.%s->%s.%s\"} %llu\n", p,
			  d->from, d->from_port, d->to, d->to_port,
			  atomic_load(&s->queues[i].dead_lettered));
	}
	mb_printf(&b, "# HELP %shttp_requests_total HTTP requests by route and status.\n"
		  "# TYPE %shttp_requests_total counter\n", p, p);
	pthread_mutex_lock(&s->route_lock);
	for (size_t i = 0; i < atomic_load(&s->nroutes); i++)
		mb_printf(&b, "%shttp_requests_total{route=\"%s\",status=\"%d\"} %llu\n", p,
			  s->routes[i].route, s->routes[i].status, atomic_load(&s->routes[i].count));
	pthread_mutex_unlock(&s->route_lock);
	rt_shipper_stats(&sent, &dropped, &failed);
	mb_printf(&b, "# HELP %sshipper_events_total Error events for the collector.\n"
		  "# TYPE %sshipper_events_total counter\n"
		  "%sshipper_events_total{outcome=\"sent\"} %llu\n"
		  "%sshipper_events_total{outcome=\"dropped\"} %llu\n"
		  "%sshipper_events_total{outcome=\"failed\"} %llu\n", p, p, p, sent, p, dropped, p,
		  failed);
	if (b.oom) {
		free(b.p);
		return NULL;
	}
	*len = b.len;
	return b.p;
}

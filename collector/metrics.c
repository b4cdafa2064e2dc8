/*
 * metrics.c — the collector's counters and histogram, rendered as Prometheus text.
 *
 * Request counters are indexed by route and by status code (a fixed list of the codes the
 * collector sends; anything else is counted under "other"). Counters are C11 atomics so the
 * request threads and the writer never take a lock to count.
 */
#include "core/common.h"
#include "collector/internal.h"

#include <ctype.h>
#include <pthread.h>
#include <stdatomic.h>

#define DISCARD_SLOTS 64

static const unsigned status_codes[] = { 200, 202, 204, 400, 401, 403, 404, 405, 413, 415,
					 429, 500, 503 };
#define N_STATUS (AC_ARRAY_SIZE(status_codes) + 1)

static const double latency_buckets[] = { 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
					   0.25, 0.5, 1, 2.5 };
#define N_BUCKETS AC_ARRAY_SIZE(latency_buckets)

/* method and route labels (the route is the path pattern; the method is its own label) */
static const struct { const char *method, *path; } route_names[ROUTE__COUNT] = {
	[ROUTE_EVENTS_POST] = { "POST", "/api/v1/events" },
	[ROUTE_LOGS_POST] = { "POST", "/api/v1/logs" },
	[ROUTE_CRASHES_POST] = { "POST", "/api/v1/crashes" },
	[ROUTE_SENTRY_ENVELOPE] = { "POST", "/api/{project}/envelope/" },
	[ROUTE_SENTRY_STORE] = { "POST", "/api/{project}/store/" },
	[ROUTE_OTLP_LOGS] = { "POST", "/v1/logs" },
	[ROUTE_EVENTS_GET] = { "GET", "/api/v1/events" },
	[ROUTE_EVENT_GET] = { "GET", "/api/v1/events/{id}" },
	[ROUTE_HEALTH] = { "GET", "/health" },
	[ROUTE_METRICS] = { "GET", "/metrics" },
	[ROUTE_API_OTHER] = { "*", "/api/v1 (other)" },
	[ROUTE_STATIC] = { "GET", "/web" },
	[ROUTE_NOT_FOUND] = { "*", "unmatched" },
	[ROUTE_CLUSTERS_GET] = { "GET", "/api/v1/clusters" },
	[ROUTE_CLUSTER_GET] = { "GET", "/api/v1/clusters/{id}" },
	[ROUTE_CLUSTER_STATUS] = { "POST", "/api/v1/clusters/{id}/status" },
	[ROUTE_CLUSTERS_MERGE] = { "POST", "/api/v1/clusters/merge" },
	[ROUTE_CLUSTER_SPLIT] = { "POST", "/api/v1/clusters/{id}/split" },
	[ROUTE_GUIDE] = { "GET", "/api/v1/guide" },
	[ROUTE_ALERT_DELIVERIES] = { "GET", "/api/v1/alerts/deliveries" },
	[ROUTE_CLUSTER_UNMERGE] = { "POST", "/api/v1/clusters/{id}/unmerge" },
	[ROUTE_BENCH_RUNS] = { "GET", "/api/v1/bench/runs" },
	[ROUTE_CLUSTER_FEEDBACK] = { "POST", "/api/v1/clusters/{id}/feedback" },
	[ROUTE_REPORT_CLUSTERS] = { "POST", "/api/v1/report/clusters" },
	[ROUTE_FEEDBACK_MODERATE] = { "POST", "/api/v1/feedback/{id}/hide" },
	[ROUTE_FAULTS_RUNS] = { "GET", "/api/v1/faults/runs" },
};

struct metrics {
	atomic_ulong requests[ROUTE__COUNT][N_STATUS];
	atomic_ulong events_stored, events_duplicate, items_counted, commits;
	atomic_ulong commit_bucket[N_BUCKETS + 1];
	atomic_ulong commit_events;
	_Atomic double commit_seconds_sum;
	atomic_ulong rejected_queue_full, rejected_rate_limit;
	atomic_ulong side_stored, attachments_over_quota;
	/* Sentry client reports: SDK-side discards by reason and category (bounded table; the
	 * pairs past the last slot are summed into reason "other") */
	pthread_mutex_t discard_lock;
	struct { char reason[41], category[41]; unsigned long long n; } discard[DISCARD_SLOTS];
	size_t n_discard;
};

struct metrics *metrics_new(void)
{
	struct metrics *m = calloc(1, sizeof(struct metrics));
	if (m)
		pthread_mutex_init(&m->discard_lock, NULL);
	return m;
}

/* A Prometheus label value from client text: [A-Za-z0-9_.:-] kept, others '_'. */
static void label_value(char *dst, size_t cap, const char *src, size_t n)
{
	size_t i = 0;
	for (; i < n && i + 1 < cap && src[i]; i++) {
		char c = src[i];
		dst[i] = (isalnum((unsigned char)c) || strchr("_.:-", c)) ? c : '_';
	}
	dst[i] = '\0';
}

void metrics_client_discards(struct metrics *m, const json_t *discards)
{
	const char *key;
	const json_t *v;

	pthread_mutex_lock(&m->discard_lock);
	json_object_foreach((json_t *)discards, key, v) {
		const char *tab = strchr(key, '\t');
		char reason[41], cat[41];
		size_t i;
		if (!tab || !json_is_integer(v))
			continue;
		label_value(reason, sizeof reason, key, (size_t)(tab - key));
		label_value(cat, sizeof cat, tab + 1, strlen(tab + 1));
		for (i = 0; i < m->n_discard; i++)
			if (!strcmp(m->discard[i].reason, reason) && !strcmp(m->discard[i].category, cat))
				break;
		if (i == m->n_discard) {
			if (m->n_discard == DISCARD_SLOTS) {
				i = DISCARD_SLOTS - 1;   /* the last slot collects the rest */
				snprintf(m->discard[i].reason, sizeof m->discard[i].reason, "other");
				snprintf(m->discard[i].category, sizeof m->discard[i].category, "other");
			} else {
				snprintf(m->discard[i].reason, sizeof m->discard[i].reason, "%s", reason);
				snprintf(m->discard[i].category, sizeof m->discard[i].category, "%s", cat);
				m->n_discard++;
			}
		}
		m->discard[i].n += (unsigned long long)json_integer_value(v);
	}
	pthread_mutex_unlock(&m->discard_lock);
}

void metrics_side_rows(struct metrics *m, unsigned long stored, unsigned long dropped_over_quota)
{
	atomic_fetch_add(&m->side_stored, stored);
	atomic_fetch_add(&m->attachments_over_quota, dropped_over_quota);
}

static void render_discards(struct metrics *m, struct ac_buf *b)
{
	ac_buf_printf(b, "# HELP autocoder_envelope_side_rows_stored_total User feedback and attachments "
			 "from Sentry envelopes committed with their events.\n"
			 "# TYPE autocoder_envelope_side_rows_stored_total counter\n"
			 "autocoder_envelope_side_rows_stored_total %lu\n"
			 "# HELP autocoder_attachments_over_quota_total Envelope attachments dropped because "
			 "their project's attachment quota was used up.\n"
			 "# TYPE autocoder_attachments_over_quota_total counter\n"
			 "autocoder_attachments_over_quota_total %lu\n",
		      atomic_load(&m->side_stored), atomic_load(&m->attachments_over_quota));
	ac_buf_printf(b, "# HELP autocoder_client_discarded_events_total Events Sentry SDKs report "
			 "they discarded (client_report items), by reason and category.\n"
			 "# TYPE autocoder_client_discarded_events_total counter\n");
	pthread_mutex_lock(&m->discard_lock);
	for (size_t i = 0; i < m->n_discard; i++)
		ac_buf_printf(b, "autocoder_client_discarded_events_total{reason=\"%s\",category=\"%s\"} %llu\n",
			      m->discard[i].reason, m->discard[i].category, m->discard[i].n);
	pthread_mutex_unlock(&m->discard_lock);
}

void metrics_free(struct metrics *m)
{
	if (m)
		pthread_mutex_destroy(&m->discard_lock);
	free(m);
}

const char *metrics_route_path(enum metrics_route route)
{
	return route < ROUTE__COUNT ? route_names[route].path : "unmatched";
}

void metrics_request(struct metrics *m, enum metrics_route route, unsigned status)
{
	size_t s = N_STATUS - 1;

	for (size_t i = 0; i < AC_ARRAY_SIZE(status_codes); i++)
		if (status_codes[i] == status)
			s = i;
	atomic_fetch_add(&m->requests[route][s], 1);
}

void metrics_events_stored(struct metrics *m, unsigned long n, unsigned long duplicates)
{
	atomic_fetch_add(&m->events_stored, n);
	atomic_fetch_add(&m->events_duplicate, duplicates);
}

void metrics_items_counted(struct metrics *m, unsigned long n)
{
	atomic_fetch_add(&m->items_counted, n);
}

void metrics_commit(struct metrics *m, double seconds, unsigned events)
{
	size_t b = N_BUCKETS;
	double old, sum;

	for (size_t i = 0; i < N_BUCKETS; i++)
		if (seconds <= latency_buckets[i]) {
			b = i;
			break;
		}
	atomic_fetch_add(&m->commit_bucket[b], 1);
	atomic_fetch_add(&m->commits, 1);
	atomic_fetch_add(&m->commit_events, events);
	old = atomic_load(&m->commit_seconds_sum);
	do
		sum = old + seconds;
	while (!atomic_compare_exchange_weak(&m->commit_seconds_sum, &old, sum));
}

void metrics_rejected(struct metrics *m, const char *reason)
{
	if (!strcmp(reason, "queue_full"))
		atomic_fetch_add(&m->rejected_queue_full, 1);
	else
		atomic_fetch_add(&m->rejected_rate_limit, 1);
}

static void render_requests(struct metrics *m, struct ac_buf *b)
{
	ac_buf_puts(b, "# HELP autocoder_http_requests_total HTTP requests by route, method and status.\n"
		       "# TYPE autocoder_http_requests_total counter\n");
	for (size_t r = 0; r < ROUTE__COUNT; r++)
		for (size_t s = 0; s < N_STATUS; s++) {
			unsigned long v = atomic_load(&m->requests[r][s]);
			if (!v)
				continue;
			if (s < AC_ARRAY_SIZE(status_codes))
				ac_buf_printf(b, "autocoder_http_requests_total{route=\"%s\",method=\"%s\",status=\"%u\"} %lu\n",
					      route_names[r].path, route_names[r].method, status_codes[s], v);
			else
				ac_buf_printf(b, "autocoder_http_requests_total{route=\"%s\",method=\"%s\",status=\"other\"} %lu\n",
					      route_names[r].path, route_names[r].method, v);
		}
}

static void render_histogram(struct metrics *m, struct ac_buf *b)
{
	unsigned long cum = 0;

	ac_buf_puts(b, "# HELP autocoder_commit_seconds Group commit latency (BEGIN to COMMIT).\n"
		       "# TYPE autocoder_commit_seconds histogram\n");
	for (size_t i = 0; i < N_BUCKETS; i++) {
		cum += atomic_load(&m->commit_bucket[i]);
		ac_buf_printf(b, "autocoder_commit_seconds_bucket{le=\"%g\"} %lu\n", latency_buckets[i], cum);
	}
	cum += atomic_load(&m->commit_bucket[N_BUCKETS]);
	ac_buf_printf(b, "autocoder_commit_seconds_bucket{le=\"+Inf\"} %lu\n", cum);
	ac_buf_printf(b, "autocoder_commit_seconds_sum %.6f\n", atomic_load(&m->commit_seconds_sum));
	ac_buf_printf(b, "autocoder_commit_seconds_count %lu\n", cum);
}

int metrics_render(struct metrics *m, struct ac_buf *b, unsigned queue_depth,
		   unsigned queue_capacity)
{
	render_requests(m, b);
	ac_buf_printf(b,
		      "# HELP autocoder_events_stored_total Events committed to the database.\n"
		      "# TYPE autocoder_events_stored_total counter\n"
		      "autocoder_events_stored_total %lu\n"
		      "# HELP autocoder_events_duplicate_total Events acknowledged but already stored (same event_id).\n"
		      "# TYPE autocoder_events_duplicate_total counter\n"
		      "autocoder_events_duplicate_total %lu\n"
		      "# HELP autocoder_envelope_items_counted_total Sentry envelope items accepted and counted, not stored.\n"
		      "# TYPE autocoder_envelope_items_counted_total counter\n"
		      "autocoder_envelope_items_counted_total %lu\n"
		      "# HELP autocoder_rejected_total Requests refused with 429, by reason.\n"
		      "# TYPE autocoder_rejected_total counter\n"
		      "autocoder_rejected_total{reason=\"queue_full\"} %lu\n"
		      "autocoder_rejected_total{reason=\"rate_limit\"} %lu\n"
		      "# HELP autocoder_queue_depth Events waiting for the writer.\n"
		      "# TYPE autocoder_queue_depth gauge\n"
		      "autocoder_queue_depth %u\n"
		      "# HELP autocoder_queue_capacity Events the writer queue holds before 429.\n"
		      "# TYPE autocoder_queue_capacity gauge\n"
		      "autocoder_queue_capacity %u\n"
		      "# HELP autocoder_commit_events_total Events written by group commits.\n"
		      "# TYPE autocoder_commit_events_total counter\n"
		      "autocoder_commit_events_total %lu\n",
		      atomic_load(&m->events_stored), atomic_load(&m->events_duplicate),
		      atomic_load(&m->items_counted), atomic_load(&m->rejected_queue_full),
		      atomic_load(&m->rejected_rate_limit), queue_depth, queue_capacity,
		      atomic_load(&m->commit_events));
	render_histogram(m, b);
	render_discards(m, b);
	return 0;
}

/*
 * bench.c — one `autocoder bench` run (perf.h, docs/BENCH.md).
 *
 * 1. The target: a generated system's directory (its blueprint.yaml and config/system.json
 *    say what it is), or a blueprint, which is generated into a work directory first. The
 *    system is built with its own Makefile when needed; with --container its image is built
 *    instead and every start is a container under the manifest's limits (container.c).
 * 2. The plan: the first HTTP ingress (an APIEndpoint's /<resource> routes or endpoint_path,
 *    or a Source with generation.type http) gets HTTP load; requests are shaped from the
 *    blueprint: bodies from the schema the endpoint serves (every property given a valid
 *    value), GETs of ids that exist (POSTed before the steps). Without an HTTP ingress, a
 *    WebSocket whose `messages` output is bound gets WebSocket clients (loadgen_ws.c) sending
 *    frames shaped from that port's schema, measured end to end at the Sinks. Otherwise the
 *    system is driven by its Source through the runtime's bench hook (unbounded count,
 *    AUTOCODER_BENCH_RATE for a fixed rate) and measured Source -> Sink from /metrics.
 * 3. The steps: closed-loop concurrency (default 1, 8, 64, 256) and open-loop rates; per step
 *    throughput, latency percentiles, statuses, CPU per thread (threads carry component
 *    names), peak RSS, queue depths and dead letters.
 * 4. The verdict: validation.performance and policy.slos become criteria. A step "holds the
 *    SLO" when its latency and availability criteria hold; the run passes when the fastest
 *    such step also reaches the throughput criterion. That step is the sizing point.
 */
#include "core/common.h"
#include "perf/perf.h"
#include "generator/blueprint.h"
#include "generator/generator.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SEED_IDS 32

struct plan {
	char dir[2048], name[256], rundir[2048];
	json_t *model, *config;
	bool http;                    /* HTTP ingress, else a pipeline driven at its Source */
	const char *ingress;          /* component name */
	const char *port_env;
	char collection[512];         /* "/todos" or an endpoint path */
	bool crud;                    /* /<resource>/{id} GETs are possible */
	const json_t *schema;         /* the body schema or NULL */
	json_t *required;             /* required fields when no schema says more */
	const char *source;           /* pipeline: the Source instance */
	int port, metrics_port;
	struct perf_request *reqs;
	size_t nreqs;
	bool keep_rundir;             /* a failure points at its log: keep it */
	bool has_sink;                /* Sink rates are reported per step */
	char *body;                   /* --body: the POST body (compact JSON, owned) */
	bool container;               /* --container: the image under its manifest's limits */
	struct perf_container ct;
	bool ws;                      /* no HTTP ingress: a WebSocket ingress gets the load */
	const char *ws_comp;          /* the WebSocket whose `messages` output is bound */
	const char *ws_port_env;
	char ws_path[256];
	int ws_max;                   /* its max_connections */
	const json_t *ws_schema;
};

static double mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void nap(double s)
{
	struct timespec ts = { (time_t)s, (long)((s - (double)(time_t)s) * 1e9) };
	nanosleep(&ts, NULL);
}

static json_t *comp_config(struct plan *p, const char *name)
{
	return json_object_get(json_object_get(json_object_get(p->config, "components"), name),
			       "config");
}

/* ---------------------------------------------------------------- target */

static int load_target(const struct perf_options *o, struct plan *p, struct ac_error *err)
{
	struct stat sb;
	char path[4096];
	struct bp_diags d;
	json_error_t je;
	int rc;

	if (stat(o->target, &sb))
		return ac_error_set(err, AC_ENOTFOUND, NULL, "%s: %s", o->target, strerror(errno));
	if (S_ISDIR(sb.st_mode)) {
		snprintf(p->dir, sizeof p->dir, "%s", o->target);
	} else {
		json_t *m = NULL;
		bp_diags_init(&d);
		rc = blueprint_load(o->target, false, &m, &d, err);
		if (rc == AC_EINVAL) {
			bp_diags_print(&d, stderr);
			ac_error_set(err, AC_EINVAL, NULL, "%s is invalid; nothing benched", o->target);
		}
		bp_diags_free(&d);
		if (rc)
			return rc;
		if (o->workdir)
			snprintf(p->dir, sizeof p->dir, "%s", o->workdir);
		else {
			const char *t = getenv("TMPDIR");
			snprintf(p->dir, sizeof p->dir, "%s/autocoder-bench-XXXXXX", t && *t ? t : "/tmp");
			if (!mkdtemp(p->dir)) {
				json_decref(m);
				return ac_error_set(err, AC_EIO, NULL, "mkdtemp: %s", strerror(errno));
			}
		}
		rc = generator_emit(m, p->dir, true, err);
		json_decref(m);
		if (rc)
			return rc;
	}
	snprintf(path, sizeof path, "%s/blueprint.yaml", p->dir);
	if (access(path, R_OK))
		return ac_error_set(err, AC_ENOTFOUND, NULL, "%s is not a generated system (no "
				    "blueprint.yaml); give a blueprint or a directory `autocoder "
				    "generate` wrote", p->dir);
	bp_diags_init(&d);
	rc = blueprint_load(path, false, &p->model, &d, err);
	bp_diags_free(&d);
	if (rc)
		return rc == AC_EINVAL ? ac_error_set(err, AC_EINVAL, NULL,
			"%s: not a generated system (its blueprint.yaml is invalid)", p->dir) : rc;
	snprintf(path, sizeof path, "%s/config/system.json", p->dir);
	p->config = json_load_file(path, 0, &je);
	if (!p->config)
		return ac_error_set(err, AC_EINVAL, NULL, "%s: %s (line %d)", path, je.text, je.line);
	snprintf(p->name, sizeof p->name, "%s",
		 json_string_value(json_object_get(json_object_get(p->model, "system"), "name")));
	if (o->container) {
		/* the image compiles the system itself: no build on this machine */
		p->container = true;
		rc = perf_container_plan(p->dir, &p->ct, err);
		return rc ? rc : perf_container_build(&p->ct, p->dir, err);
	}
	return perf_system_build(p->dir, err);
}

/* The schema an endpoint's bodies follow: config.schema by name, else the schema named like
 * the resource (todos -> Todo), else the only schema. */
static const json_t *find_schema(const json_t *schemas, const char *want, const char *resource)
{
	const char *k;
	json_t *v;
	if (!json_is_object(schemas))
		return NULL;
	if (want && json_object_get(schemas, want))
		return json_object_get(schemas, want);
	json_object_foreach((json_t *)schemas, k, v) {
		size_t kl = strlen(k);
		if (resource && !strncasecmp(k, resource, kl) &&
		    (!resource[kl] || !strcmp(resource + kl, "s") || !strcmp(resource + kl, "es")))
			return v;
	}
	return json_object_size(schemas) == 1 ? json_object_iter_value(json_object_iter((json_t *)schemas))
					      : NULL;
}

/* A WebSocket's `messages` output (client messages into the pipeline), or NULL. */
static const json_t *ws_messages_port(const json_t *comp)
{
	const json_t *o;
	size_t i;
	json_array_foreach(json_object_get(comp, "outputs"), i, o) {
		const char *n = json_string_value(json_object_get(o, "name"));
		if (n && !strcmp(n, "messages"))
			return o;
	}
	return NULL;
}

static int plan_ingress(struct plan *p, struct ac_error *err)
{
	json_t *comps = json_object_get(json_object_get(p->model, "system"), "components"), *c;
	json_t *schemas = json_object_get(p->model, "schemas");
	size_t i;

	json_array_foreach(comps, i, c) {
		const char *type = json_string_value(json_object_get(c, "type"));
		const char *name = json_string_value(json_object_get(c, "name"));
		json_t *cfg = comp_config(p, name);
		json_t *entry = json_object_get(json_object_get(p->config, "components"), name);
		if (!type || !cfg)
			continue;
		if (!strcmp(type, "APIEndpoint") && !p->ingress) {
			const char *res = json_string_value(json_object_get(cfg, "resource"));
			const char *ep = json_string_value(json_object_get(cfg, "endpoint_path"));
			p->ingress = name;
			p->port_env = json_string_value(json_object_get(entry, "port_env"));
			if (res) {
				snprintf(p->collection, sizeof p->collection, "/%s", res);
				p->crud = true;
			} else
				snprintf(p->collection, sizeof p->collection, "%s", ep ? ep : "/");
			p->schema = find_schema(schemas, json_string_value(json_object_get(cfg, "schema")), res);
		} else if (!strcmp(type, "Source") && !p->source) {
			const char *gen = json_string_value(json_object_get(json_object_get(cfg, "generation"), "type"));
			p->source = name;
			if (gen && !strcmp(gen, "http") && !p->ingress) {
				p->ingress = name;
				p->port_env = json_string_value(json_object_get(entry, "port_env"));
				snprintf(p->collection, sizeof p->collection, "/");
				p->schema = find_schema(schemas, NULL, NULL);
			}
		} else if (!strcmp(type, "WebSocket") && !p->ws_comp && ws_messages_port(c)) {
			const json_t *port = ws_messages_port(c);
			const char *path = json_string_value(json_object_get(cfg, "path"));
			p->ws_comp = name;
			p->ws_port_env = json_string_value(json_object_get(entry, "port_env"));
			snprintf(p->ws_path, sizeof p->ws_path, "%s", path ? path : "/ws");
			p->ws_max = (int)json_number_value(json_object_get(cfg, "max_connections"));
			if (p->ws_max <= 0)
				p->ws_max = 100;   /* the runtime's default (rt_ws.c) */
			p->ws_schema = find_schema(schemas, json_string_value(json_object_get(port, "schema")), NULL);
		} else if (!strcmp(type, "Sink")) {
			p->has_sink = true;
		} else if (!strcmp(type, "Controller") && !p->required) {
			p->required = json_object_get(cfg, "required_fields");
		}
	}
	p->http = p->ingress != NULL;
	if (!p->http && p->ws_comp) {
		/* WebSocket clients drive it; its bodies follow the `messages` port's schema */
		p->ws = true;
		p->port_env = p->ws_port_env;
		p->schema = p->ws_schema;
	}
	if (!p->http && !p->source && !p->ws)
		return ac_error_set(err, AC_EUNSUPP, NULL, "%s has neither an HTTP ingress, a "
				    "WebSocket ingress nor a Source to drive", p->name);
	return 0;
}

/* ---------------------------------------------------------------- requests */

static json_t *value_for(const json_t *schema, long n)
{
	const char *type = json_string_value(json_object_get(schema, "type"));
	json_t *en = json_object_get(schema, "enum");
	if (json_is_array(en) && json_array_size(en))
		return json_deep_copy(json_array_get(en, (size_t)n % json_array_size(en)));
	if (!type || !strcmp(type, "string")) {
		char b[64];
		snprintf(b, sizeof b, "bench item %ld", n);
		return json_string(b);
	}
	if (!strcmp(type, "boolean"))
		return json_boolean(n % 2);
	if (!strcmp(type, "integer"))
		return json_integer(n);
	if (!strcmp(type, "number"))
		return json_real((double)n + 0.5);
	if (!strcmp(type, "array"))
		return json_array();
	if (!strcmp(type, "object")) {
		json_t *o = json_object(), *props = json_object_get(schema, "properties"), *v;
		const char *k;
		json_object_foreach(props, k, v)
			json_object_set_new(o, k, value_for(v, n));
		return o;
	}
	return json_null();
}

/* Without a schema: the fields the components downstream read — a Controller's
 * required_fields and group_by keys (strings), value_field (a number) — plus "value". */
static json_t *body_from_config(struct plan *p, long n)
{
	json_t *o = json_object(), *comp, *f;
	const char *name;
	size_t i;
	json_object_set_new(o, "value", json_integer(n));
	json_array_foreach(p->required, i, f)
		if (json_is_string(f))
			json_object_set_new(o, json_string_value(f), value_for(NULL, n));
	json_object_foreach(json_object_get(p->config, "components"), name, comp) {
		json_t *cfg = json_object_get(comp, "config");
		json_t *vf = json_object_get(cfg, "value_field");
		json_array_foreach(json_object_get(cfg, "group_by"), i, f)
			if (json_is_string(f)) {
				char b[32];
				snprintf(b, sizeof b, "key-%ld", n % 8);
				json_object_set_new(o, json_string_value(f), json_string(b));
			}
		if (json_is_string(vf))
			json_object_set_new(o, json_string_value(vf), json_real((double)(n % 100) + 0.5));
	}
	return o;
}

static char *body_for(struct plan *p, long n)
{
	if (p->body)
		return strdup(p->body);
	json_t *o = p->schema ? value_for(p->schema, n) : body_from_config(p, n);
	char *s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return s;
}

static int add_request(struct plan *p, const char *method, const char *path, const char *body)
{
	struct perf_request *nr = realloc(p->reqs, (p->nreqs + 1) * sizeof *nr);
	int n;
	if (!nr)
		return -1;
	p->reqs = nr;
	if (body)
		n = asprintf(&nr[p->nreqs].data, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
			     "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
			     method, path, strlen(body), body);
	else
		n = asprintf(&nr[p->nreqs].data, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", method, path);
	if (n < 0)
		return -1;
	nr[p->nreqs++].len = (size_t)n;
	return 0;
}

static void free_requests(struct plan *p)
{
	for (size_t i = 0; i < p->nreqs; i++)
		free(p->reqs[i].data);
	free(p->reqs);
	p->reqs = NULL;
	p->nreqs = 0;
}

/* POST SEED_IDS documents (CRUD) and build the request mix from the ids that came back. */
static int shape_requests(struct plan *p, const char *mix, json_t *info, struct ac_error *err)
{
	json_t *ids = json_array();
	bool reads = strcmp(mix, "write"), writes = strcmp(mix, "read") || !p->crud;
	int status = 0;

	free_requests(p);
	for (long n = 0; p->crud && reads && n < SEED_IDS; n++) {
		char *body = body_for(p, n);
		char *resp = perf_http_request(p->port, "POST", p->collection, body, &status);
		json_t *j = resp ? json_loads(resp, 0, NULL) : NULL;
		json_t *id = json_object_get(j, "id");
		if (json_is_string(id) || json_is_integer(id)) {
			char b[800];
			if (json_is_string(id))
				snprintf(b, sizeof b, "%s/%s", p->collection, json_string_value(id));
			else
				snprintf(b, sizeof b, "%s/%lld", p->collection, (long long)json_integer_value(id));
			json_array_append_new(ids, json_string(b));
		}
		json_decref(j);
		free(resp);
		free(body);
		if (status >= 400 && !n) {
			json_decref(ids);
			return ac_error_set(err, AC_EINVAL, "seed_failed",
					    "seeding POST %s answered %d: the shaped body does not fit",
					    p->collection, status);
		}
	}
	json_object_set_new(info, "seeded_ids", json_integer((json_int_t)json_array_size(ids)));
	/* the mix: 9 reads per write (mixed), or only one kind */
	for (long n = 0; n < 200; n++) {
		bool w = writes && (!reads || !json_array_size(ids) || n % 10 == 9);
		int rc;
		if (w) {
			char *body = body_for(p, 1000 + n);
			rc = add_request(p, "POST", p->collection, body);
			free(body);
		} else
			rc = add_request(p, "GET", json_string_value(json_array_get(ids, (size_t)n % json_array_size(ids))), NULL);
		if (rc) {
			json_decref(ids);
			return ac_error_set(err, AC_ENOMEM, NULL, "out of memory");
		}
	}
	json_object_set_new(info, "example_request", json_stringn(p->reqs[p->nreqs - 1].data,
								  p->reqs[p->nreqs - 1].len));
	json_decref(ids);
	return 0;
}

/* ---------------------------------------------------------------- one step */

struct sample {
	json_t *threads;
	double cpu;
	char *metrics;
	double t;
	struct perf_cgroup cg;        /* --container */
};

static void take_sample(struct plan *p, int pid, struct sample *s)
{
	int st;
	s->t = mono();
	s->threads = perf_proc_threads(pid, &s->cpu);
	s->metrics = perf_http_get(p->http ? p->port : p->metrics_port, "/metrics", &st);
	if (p->container)
		perf_cgroup_read(pid, &s->cg);
}

static void free_sample(struct sample *s)
{
	json_decref(s->threads);
	free(s->metrics);
}

/* While a step runs, /metrics is read every 250 ms for the deepest queue (the end of a step
 * says little: the queues drain as the load stops). */
struct sampler {
	pthread_t th;
	int port;
	atomic_bool stop;
	double queue_max;
};

static void *sampler_main(void *arg)
{
	struct sampler *sm = arg;
	while (!atomic_load(&sm->stop)) {
		int st;
		char *m = perf_http_get(sm->port, "/metrics", &st);
		double q = perf_metric_max(m, "autocoder_queue_depth", NULL);
		free(m);
		if (q > sm->queue_max)
			sm->queue_max = q;
		for (int i = 0; i < 25 && !atomic_load(&sm->stop); i++)
			nap(0.01);
	}
	return NULL;
}

static bool sampler_start(struct sampler *sm, int port)
{
	memset(sm, 0, sizeof *sm);
	sm->port = port;
	atomic_init(&sm->stop, false);
	return port > 0 && !pthread_create(&sm->th, NULL, sampler_main, sm);
}

static double sampler_stop(struct sampler *sm, bool started)
{
	atomic_store(&sm->stop, true);
	if (started)
		pthread_join(sm->th, NULL);
	return sm->queue_max;
}

/* --container: CPU throttling over the step, the cgroup's memory peak so far against the
 * limit, OOM kills. */
static void container_figures(struct plan *p, const struct sample *a, const struct sample *b,
			      json_t *step)
{
	const struct perf_cgroup *x = &a->cg, *y = &b->cg;
	double periods = (double)(y->nr_periods - x->nr_periods);
	double throttled = (double)(y->nr_throttled - x->nr_throttled);
	double limit = y->mem_limit && y->mem_limit != UINT64_MAX ? (double)y->mem_limit / 1048576
								 : p->ct.memory_mi;
	if (!y->version) {
		json_object_set_new(step, "container", json_pack("{s:s}", "cgroup", "not found"));
		return;
	}
	json_object_set_new(step, "container", json_pack(
		"{s:i, s:f, s:f, s:f, s:f, s:f, s:f, s:I, s:I}",
		"cgroup_version", y->version,
		"cpu_periods", periods, "cpu_throttled_periods", throttled,
		"cpu_throttled_fraction", periods > 0 ? throttled / periods : 0.0,
		"cpu_throttled_s", y->throttled_s - x->throttled_s,
		"memory_peak_mi", (double)y->mem_peak / 1048576,
		"memory_limit_mi", limit,
		"oom_kills", (json_int_t)(y->oom_kills - x->oom_kills),
		"memory_limit_hits", (json_int_t)(y->limit_hits - x->limit_hits)));
}

/* Figures every step has: CPU per thread, memory, queues, dead letters, Sink counts. */
static void step_common(struct plan *p, int pid, const struct sample *a, const struct sample *b,
			json_t *step)
{
	json_t *cpu = json_object(), *v;
	const char *k;
	double wall = b->t - a->t;
	long hwm, rss;

	json_object_foreach(b->threads, k, v) {
		double d = json_real_value(v) - json_real_value(json_object_get(a->threads, k));
		if (d > 0)
			json_object_set_new(cpu, k, json_real(round(d * 1000) / 1000));
	}
	json_object_set_new(step, "cpu_seconds", cpu);
	json_object_set_new(step, "cpu_cores", json_real(wall > 0 ? (b->cpu - a->cpu) / wall : 0));
	perf_proc_memory(pid, &hwm, &rss);
	json_object_set_new(step, "rss_peak_kb", json_integer(hwm));
	json_object_set_new(step, "rss_kb", json_integer(rss));
	json_object_set_new(step, "queue_depth_max",
			    json_real(perf_metric_max(b->metrics, "autocoder_queue_depth", NULL)));
	json_object_set_new(step, "dead_letters",
			    json_real(perf_metric_sum(b->metrics, "autocoder_dead_letters_total", NULL) -
				      perf_metric_sum(a->metrics, "autocoder_dead_letters_total", NULL)));
	json_object_set_new(step, "store_pool_waits",
			    json_real(perf_metric_sum(b->metrics, "autocoder_store_pool_waits_total", NULL) -
				      perf_metric_sum(a->metrics, "autocoder_store_pool_waits_total", NULL)));
	json_object_set_new(step, "errors_in_components",
			    json_real(perf_metric_sum(b->metrics, "autocoder_errors_total", NULL) -
				      perf_metric_sum(a->metrics, "autocoder_errors_total", NULL)));
	if (p->container)
		container_figures(p, a, b, step);
	if (p->source || p->has_sink) {
		double in = perf_metric_sum(b->metrics, "autocoder_messages_in_total", "type=\"Sink\"") -
			    perf_metric_sum(a->metrics, "autocoder_messages_in_total", "type=\"Sink\"");
		double src = perf_metric_sum(b->metrics, "autocoder_messages_in_total", "type=\"Source\"") -
			     perf_metric_sum(a->metrics, "autocoder_messages_in_total", "type=\"Source\"");
		json_object_set_new(step, "sink_msgs_per_s", json_real(wall > 0 ? in / wall : 0));
		json_object_set_new(step, "source_msgs_per_s", json_real(wall > 0 ? src / wall : 0));
	}
}

/* The terminal's progress line: step, elapsed, current rate (rewritten in place). */
struct progress {
	const char *what;
	double last_t;
	uint64_t last_n;
};

static void show_progress(void *arg, double elapsed, uint64_t answers)
{
	struct progress *pr = arg;
	double dt = elapsed - pr->last_t;
	if (dt <= 0)
		return;
	fprintf(stderr, "\r\033[Kbench: %s, %.1f s, %.0f/s", pr->what, elapsed,
		(double)(answers - pr->last_n) / dt);
	pr->last_t = elapsed;
	pr->last_n = answers;
}

static json_t *http_step(struct plan *p, int pid, const struct perf_options *o, int conc,
			 double rate, struct ac_error *err)
{
	char what[96];
	struct progress pr = { what, 0, 0 };
	struct perf_load cfg = { .port = p->port, .requests = p->reqs, .nrequests = p->nreqs,
				 .connections = conc, .threads = o->threads, .rate = rate,
				 .duration = o->duration, .warmup = o->warmup,
				 .progress = o->progress ? show_progress : NULL, .progress_arg = &pr };
	if (rate > 0)
		snprintf(what, sizeof what, "open loop %.0f/s", rate);
	else
		snprintf(what, sizeof what, "%d connection%s", conc, conc == 1 ? "" : "s");
	struct perf_load_result *r = calloc(1, sizeof *r);
	struct sample a = { 0 }, b = { 0 };
	json_t *step, *status;
	uint64_t bad = 0, n429 = 0, n503 = 0;

	if (!r)
		return NULL;
	if (rate > 0 && cfg.connections < 1)
		cfg.connections = 1;
	struct sampler sm;
	bool sampling;
	take_sample(p, pid, &a);
	/* the sampler's connection would be one more from 127.0.0.1: at the concurrencies near a
	 * runtime's per-IP connection cap (256) it would take a load connection's place */
	sampling = pid > 0 && conc < 250 && sampler_start(&sm, p->port);
	int lrc = perf_load_run(&cfg, r, err);
	double qmax = sampler_stop(&sm, sampling);
	if (lrc) {
		free_sample(&a);
		free(r);
		return NULL;
	}
	take_sample(p, pid, &b);
	step = json_object();
	json_object_set_new(step, "mode", json_string(rate > 0 ? "open" : "closed"));
	json_object_set_new(step, "concurrency", json_integer(cfg.connections));
	if (rate > 0)
		json_object_set_new(step, "rate", json_real(rate));
	status = json_object();
	for (int i = 0; i < r->nstatus; i++) {
		char k[16];
		snprintf(k, sizeof k, "%d", r->status[i].code);
		json_object_set_new(status, k, json_integer((json_int_t)r->status[i].count));
		if (r->status[i].code >= 400)
			bad += r->status[i].count;
		if (r->status[i].code == 429)
			n429 += r->status[i].count;
		if (r->status[i].code == 503)
			n503 += r->status[i].count;
	}
	uint64_t ok = r->responses - bad, all = r->responses + r->conn_errors + r->unanswered;
	json_object_set_new(step, "requests", json_integer((json_int_t)r->responses));
	json_object_set_new(step, "throughput", json_real((double)ok / o->duration));
	json_object_set_new(step, "p50_ms", json_real(perf_hist_quantile_ms(&r->hist, 0.50)));
	json_object_set_new(step, "p90_ms", json_real(perf_hist_quantile_ms(&r->hist, 0.90)));
	json_object_set_new(step, "p95_ms", json_real(perf_hist_quantile_ms(&r->hist, 0.95)));
	json_object_set_new(step, "p99_ms", json_real(perf_hist_quantile_ms(&r->hist, 0.99)));
	json_object_set_new(step, "p999_ms", json_real(perf_hist_quantile_ms(&r->hist, 0.999)));
	json_object_set_new(step, "max_ms", json_real((double)r->hist.max_us / 1000));
	json_object_set_new(step, "status", status);
	json_object_set_new(step, "errors", json_integer((json_int_t)(bad + r->conn_errors + r->unanswered)));
	json_object_set_new(step, "conn_errors", json_integer((json_int_t)r->conn_errors));
	json_object_set_new(step, "status_429", json_integer((json_int_t)n429));
	json_object_set_new(step, "status_503", json_integer((json_int_t)n503));
	if (rate > 0) {
		json_object_set_new(step, "unanswered", json_integer((json_int_t)r->unanswered));
		json_object_set_new(step, "not_sent", json_integer((json_int_t)r->not_sent));
	}
	json_object_set_new(step, "availability",
			    json_real(all ? 100.0 * (double)ok / (double)all : 0));
	step_common(p, pid, &a, &b, step);
	if (qmax > json_number_value(json_object_get(step, "queue_depth_max")))
		json_object_set_new(step, "queue_depth_max", json_real(qmax));
	free_sample(&a);
	free_sample(&b);
	free(r);
	return step;
}

/* ---------------------------------------------------------------- runs */

/* Start the system: every component's port variable gets a free loopback port (the
 * ingress's is p->port), METRICS_PORT another, the Sinks write under the run directory. */
static int start_system(struct plan *p, char **extra, struct perf_system **sys,
			struct ac_error *err)
{
	char *env[48] = { 0 };
	char ports[32][160], mport[64], sinkd[2300];
	const char *name;
	json_t *entry;
	int n = 0, np = 0, rc;

	p->port = perf_free_port();
	p->metrics_port = perf_free_port();
	if (p->port < 0 || p->metrics_port < 0)
		return ac_error_set(err, AC_EIO, NULL, "no free loopback port");
	json_object_foreach(json_object_get(p->config, "components"), name, entry) {
		const char *pe = json_string_value(json_object_get(entry, "port_env"));
		if (!pe || np == 32)
			continue;
		snprintf(ports[np], sizeof ports[np], "%s=%d", pe,
			 p->port_env && !strcmp(pe, p->port_env) ? p->port : perf_free_port());
		env[n++] = ports[np++];
	}
	snprintf(mport, sizeof mport, "METRICS_PORT=%d", p->metrics_port);
	env[n++] = mport;
	/* the names this bench reads: runtimes that prefix their metrics (app_ by default) are
	 * told to use autocoder_, the names older runtimes always use */
	env[n++] = (char *)"METRICS_PREFIX=autocoder_";
	snprintf(sinkd, sizeof sinkd, "SINK_DIR=%s/out", p->rundir);
	if (!p->container)
		env[n++] = sinkd;   /* a container writes under its own /app/data */
	for (; extra && *extra && n < 44; extra++)
		if (*extra)
			env[n++] = *extra;
	/* a container does not inherit the bench's environment: pass the slow-down hook on */
	char slow[2][300];
	static const char *const pass[] = { "AUTOCODER_SLOW_COMPONENT", "AUTOCODER_SLOW_US" };
	for (int k = 0; p->container && k < 2; k++)
		if (getenv(pass[k])) {
			snprintf(slow[k], sizeof slow[k], "%s=%s", pass[k], getenv(pass[k]));
			env[n++] = slow[k];
		}
	if (p->container)
		rc = perf_container_start(&p->ct, p->rundir, env, p->http ? p->port : p->metrics_port,
					  sys, err);
	else
		rc = perf_system_start(p->dir, p->name, p->rundir, env,
				       p->http ? p->port : p->metrics_port, sys, err);
	if (rc)
		p->keep_rundir = true;   /* the log the error points at */
	return rc;
}

static void upper(const char *in, char *out, size_t n)
{
	size_t i = 0;
	for (; in[i] && i + 1 < n; i++)
		out[i] = (in[i] >= 'a' && in[i] <= 'z') ? (char)(in[i] - 32) :
			 ((in[i] >= 'A' && in[i] <= 'Z') || (in[i] >= '0' && in[i] <= '9')) ? in[i] : '_';
	out[i] = 0;
}

static void progress_step(const struct perf_options *o, int i, int n, const char *what)
{
	if (o->progress)
		fprintf(stderr, "\r\033[Kbench: step %d/%d: %s", i, n, what);
}

static void progress_done(const struct perf_options *o, const json_t *step, double t0)
{
	if (!o->progress)
		return;
	json_t *tp = json_object_get(step, "throughput");
	fprintf(stderr, "\r\033[Kbench: step done, %.0f/s (total elapsed %.1f s)\n",
		json_number_value(tp), mono() - t0);
}

static bool step_holds(const json_t *model, const json_t *step, int *nlatency);

/* --size with latency criteria: between the fastest step that held the SLO (lo) and the
 * fastest step seen (hi), open-loop rates are bisected four times, so the sizing point is the
 * load the SLO still holds at rather than the nearest concurrency step. The search steps are
 * added to the run (mode "open", "search": true). */
static int search_sizing(struct plan *p, const struct perf_options *o, int pid, json_t *steps,
			 struct ac_error *err)
{
	double lo = 0, hi = 0;
	int nlat = 0, conc = 64;
	size_t i;
	json_t *s;
	json_array_foreach(steps, i, s) {
		double tp = json_number_value(json_object_get(s, "throughput"));
		if (tp > hi)
			hi = tp;
		if (step_holds(p->model, s, &nlat) && tp > lo)
			lo = tp;
		if (json_integer_value(json_object_get(s, "concurrency")) > conc)
			conc = (int)json_integer_value(json_object_get(s, "concurrency"));
	}
	if (!nlat || hi <= 0 || lo >= hi * 0.97)
		return 0;   /* nothing to refine: no latency criteria, or the fastest step holds */
	if (lo <= 0)
		lo = hi / 64;
	for (int k = 0; k < 4; k++) {
		double mid = (lo + hi) / 2;
		progress_step(o, k + 1, 4, "sizing search");
		s = http_step(p, pid, o, conc, mid, err);
		if (!s)
			return err->code ? err->code : AC_ENOMEM;
		json_object_set_new(s, "search", json_true());
		bool ok = step_holds(p->model, s, &nlat) &&
			  json_number_value(json_object_get(s, "throughput")) >= 0.9 * mid;
		if (ok)
			lo = mid;
		else
			hi = mid;
		json_array_append_new(steps, s);
	}
	return 0;
}

static int run_http(struct plan *p, const struct perf_options *o, json_t *steps, json_t *info,
		    struct ac_error *err)
{
	struct perf_system *sys = NULL;
	int nsteps = o->nconc + o->nrates, k = 0, rc;
	double t0 = mono();

	rc = start_system(p, NULL, &sys, err);
	if (rc)
		return rc;
	rc = shape_requests(p, o->mix ? o->mix : "mixed", info, err);
	for (int i = 0; !rc && i < o->nconc; i++) {
		char what[64];
		snprintf(what, sizeof what, "closed loop, %d connections", o->conc[i]);
		progress_step(o, ++k, nsteps, what);
		json_t *s = http_step(p, perf_system_pid(sys), o, o->conc[i], 0, err);
		if (!s)
			rc = err->code ? err->code : AC_ENOMEM;
		else {
			progress_done(o, s, t0);
			json_array_append_new(steps, s);
			rc = perf_system_alive(sys, err);
		}
	}
	for (int i = 0; !rc && i < o->nrates; i++) {
		char what[64];
		int conc = o->nconc ? o->conc[o->nconc - 1] : 64;
		snprintf(what, sizeof what, "open loop, %.0f requests/s", o->rates[i]);
		progress_step(o, ++k, nsteps, what);
		json_t *s = http_step(p, perf_system_pid(sys), o, conc < 16 ? 16 : conc, o->rates[i], err);
		if (!s)
			rc = err->code ? err->code : AC_ENOMEM;
		else {
			progress_done(o, s, t0);
			json_array_append_new(steps, s);
			rc = perf_system_alive(sys, err);
		}
	}
	if (!rc && o->size_path && !json_object_get(info, "steps"))
		rc = search_sizing(p, o, perf_system_pid(sys), steps, err);
	struct ac_error serr = { 0 };
	if (perf_system_stop(sys, &serr) && !rc) {
		*err = serr;
		rc = AC_EIO;
	}
	return rc;
}

/* The measured window of a pipeline step on a terminal: the Sinks' rate every half second. */
static void pipeline_progress(struct plan *p, const struct perf_options *o, double rate)
{
	double t0 = mono(), last_t = t0, last_n = -1;
	char what[64];
	snprintf(what, sizeof what, rate > 0 ? "Source at %.0f/s" : "Source unpaced", rate);
	while (mono() - t0 < o->duration) {
		double left = o->duration - (mono() - t0);
		int st;
		nap(left < 0.5 ? left : 0.5);
		char *m = perf_http_get(p->metrics_port, "/metrics", &st);
		double n = perf_metric_sum(m, "autocoder_messages_in_total", "type=\"Sink\""), t = mono();
		free(m);
		if (last_n >= 0 && t > last_t)
			fprintf(stderr, "\r\033[Kbench: %s, %.1f s, Sinks %.0f msg/s", what, t - t0,
				(n - last_n) / (t - last_t));
		last_n = n;
		last_t = t;
	}
}

/* Per-component mean processing time in a step's window (from the processing histograms). */
static void component_latency(struct plan *p, const struct sample *a, const struct sample *b,
			      json_t *step)
{
	json_t *lat = json_object();
	json_t *comps = json_object_get(json_object_get(p->model, "system"), "components"), *c;
	size_t i;
	json_array_foreach(comps, i, c) {
		char m[256];
		const char *n = json_string_value(json_object_get(c, "name"));
		snprintf(m, sizeof m, "component=\"%s\"", n);
		double cnt = perf_metric_sum(b->metrics, "autocoder_processing_seconds_count", m) -
			     perf_metric_sum(a->metrics, "autocoder_processing_seconds_count", m);
		double sum = perf_metric_sum(b->metrics, "autocoder_processing_seconds_sum", m) -
			     perf_metric_sum(a->metrics, "autocoder_processing_seconds_sum", m);
		if (cnt > 0)
			json_object_set_new(lat, n, json_real(sum / cnt * 1e6));
	}
	json_object_set_new(step, "mean_processing_us", lat);
}

/* ---------------------------------------------------------------- WebSocket ingress */

/* 200 client frames shaped like the HTTP bodies (the `messages` port's schema, else the
 * fields the components read). */
static int shape_frames(struct plan *p, json_t *info, struct ac_error *err)
{
	free_requests(p);
	p->reqs = calloc(200, sizeof *p->reqs);
	if (!p->reqs)
		return ac_error_set(err, AC_ENOMEM, NULL, "out of memory");
	for (long n = 0; n < 200; n++) {
		char *body = body_for(p, n);
		int rc = body ? perf_ws_frame(body, strlen(body), &p->reqs[p->nreqs]) : -1;
		if (!rc && n == 0)
			json_object_set_new(info, "example_message", json_string(body));
		free(body);
		if (rc)
			return ac_error_set(err, AC_ENOMEM, NULL, "out of memory");
		p->nreqs++;
	}
	return 0;
}

/* Between WebSocket steps: a closed-loop step leaves messages in socket buffers and queues,
 * and its connections count against max_connections until the system has read them to the
 * end. Wait (at most 20 s) until the queues are empty and the Sinks' count has stopped moving,
 * so the next step measures itself. */
static void ws_settle(struct plan *p)
{
	double until = mono() + 20, last = -1;
	int still = 0;
	while (mono() < until && still < 3) {
		int st;
		char *m = perf_http_get(p->metrics_port, "/metrics", &st);
		double q = perf_metric_max(m, "autocoder_queue_depth", NULL);
		double n = perf_metric_sum(m, "autocoder_messages_in_total", "type=\"Sink\"");
		free(m);
		still = q == 0 && n == last ? still + 1 : 0;
		last = n;
		nap(0.1);
	}
}

static json_t *ws_step(struct plan *p, int pid, const struct perf_options *o, int conc,
		       double rate, struct ac_error *err)
{
	struct perf_ws_load cfg = { .port = p->port, .path = p->ws_path, .messages = p->reqs,
				    .nmessages = p->nreqs, .connections = conc, .threads = o->threads,
				    .rate = rate, .duration = o->duration, .warmup = o->warmup };
	struct perf_ws_result r;
	struct sample a = { 0 }, b = { 0 };
	struct sampler sm;
	take_sample(p, pid, &a);
	bool sampling = sampler_start(&sm, p->metrics_port);
	int lrc = perf_ws_run(&cfg, &r, err);
	double qmax = sampler_stop(&sm, sampling);
	if (lrc) {
		free_sample(&a);
		return NULL;
	}
	take_sample(p, pid, &b);
	json_t *step = json_object();
	json_object_set_new(step, "mode", json_string(rate > 0 ? "open" : "closed"));
	json_object_set_new(step, "concurrency", json_integer(conc));
	if (rate > 0) {
		json_object_set_new(step, "rate", json_real(rate));
		json_object_set_new(step, "not_sent", json_integer((json_int_t)r.not_sent));
	}
	json_object_set_new(step, "sent", json_integer((json_int_t)r.sent));
	json_object_set_new(step, "sent_msgs_per_s", json_real((double)r.sent / o->duration));
	json_object_set_new(step, "connected", json_integer((json_int_t)r.connected));
	json_object_set_new(step, "handshake_errors", json_integer((json_int_t)r.handshake_errors));
	json_object_set_new(step, "conn_errors", json_integer((json_int_t)r.conn_errors));
	if (r.refused[0])
		json_object_set_new(step, "refused", json_string(r.refused));
	json_object_set_new(step, "errors", json_integer((json_int_t)(r.handshake_errors + r.conn_errors)));
	uint64_t all = r.sent + r.not_sent + r.conn_errors;
	json_object_set_new(step, "availability", json_real(all ? 100.0 * (double)r.sent / (double)all : 0));
	step_common(p, pid, &a, &b, step);
	/* end to end: what the Sinks received (without a Sink, what the clients sent) */
	json_object_set_new(step, "throughput", json_deep_copy(json_object_get(step,
		p->has_sink ? "sink_msgs_per_s" : "sent_msgs_per_s")));
	if (qmax > json_number_value(json_object_get(step, "queue_depth_max")))
		json_object_set_new(step, "queue_depth_max", json_real(qmax));
	component_latency(p, &a, &b, step);
	free_sample(&a);
	free_sample(&b);
	return step;
}

/* The same running system for every step, like HTTP: closed-loop connection counts (at most
 * the component's max_connections: more would be refused by design), then open-loop rates. */
static int run_ws(struct plan *p, const struct perf_options *o, json_t *steps, json_t *info,
		  struct ac_error *err)
{
	struct perf_system *sys = NULL;
	int nsteps = o->nconc + o->nrates, k = 0, last = 0, rc;
	double t0 = mono();

	json_object_set_new(info, "path", json_string(p->ws_path));
	rc = start_system(p, NULL, &sys, err);
	if (!rc)
		rc = shape_frames(p, info, err);
	for (int i = 0; !rc && i < nsteps; i++) {
		bool open = i >= o->nconc;
		int conc = open ? (o->nconc ? last : 8) : o->conc[i];
		char what[96];
		if (p->ws_max > 0 && conc > p->ws_max)
			conc = p->ws_max;
		if (!open && conc == last)
			continue;   /* clamped to the same count as the step before */
		if (!open)
			last = conc;
		if (open)
			snprintf(what, sizeof what, "WebSocket, open loop, %.0f messages/s", o->rates[i - o->nconc]);
		else
			snprintf(what, sizeof what, "WebSocket, %d connection%s", conc, conc == 1 ? "" : "s");
		progress_step(o, ++k, nsteps, what);
		if (k > 1)
			ws_settle(p);
		json_t *s = ws_step(p, perf_system_pid(sys), o, conc < 1 ? 1 : conc,
				    open ? o->rates[i - o->nconc] : 0, err);
		if (!s) {
			rc = err->code ? err->code : AC_ENOMEM;
			break;
		}
		progress_done(o, s, t0);
		json_array_append_new(steps, s);
		rc = perf_system_alive(sys, err);
	}
	struct ac_error serr = { 0 };
	if (perf_system_stop(sys, &serr) && !rc) {
		*err = serr;
		rc = AC_EIO;
	}
	return rc;
}

/* A pipeline step: a fresh process whose Source runs unbounded (rate 0: as fast as the
 * pipeline takes it, i.e. closed loop through backpressure) or at a fixed rate. */
static json_t *pipeline_step(struct plan *p, const struct perf_options *o, double rate,
			     struct ac_error *err)
{
	char up[128], count[256], delay[256], ratev[96];
	struct perf_system *sys = NULL;
	struct sample a = { 0 }, b = { 0 };
	json_t *step;

	upper(p->source, up, sizeof up);
	snprintf(count, sizeof count, "%s_DATA_COUNT=0", up);
	snprintf(delay, sizeof delay, "%s_DATA_DELAY=0", up);
	snprintf(ratev, sizeof ratev, "AUTOCODER_BENCH_RATE=%.3f", rate);
	char *extra[] = { count, delay, rate > 0 ? ratev : NULL, NULL };
	if (start_system(p, extra, &sys, err))
		return NULL;
	nap(o->warmup);
	take_sample(p, perf_system_pid(sys), &a);
	struct sampler sm;
	bool sampling = sampler_start(&sm, p->metrics_port);
	if (o->progress)
		pipeline_progress(p, o, rate);
	else
		nap(o->duration);
	double qmax = sampler_stop(&sm, sampling);
	take_sample(p, perf_system_pid(sys), &b);
	step = json_object();
	json_object_set_new(step, "mode", json_string(rate > 0 ? "open" : "max"));
	if (rate > 0)
		json_object_set_new(step, "rate", json_real(rate));
	step_common(p, perf_system_pid(sys), &a, &b, step);
	if (qmax > json_number_value(json_object_get(step, "queue_depth_max")))
		json_object_set_new(step, "queue_depth_max", json_real(qmax));
	json_object_set_new(step, "throughput", json_deep_copy(json_object_get(step, "sink_msgs_per_s")));
	json_object_set_new(step, "availability", json_real(100));
	component_latency(p, &a, &b, step);
	free_sample(&a);
	free_sample(&b);
	struct ac_error aerr = { 0 };
	if (perf_system_alive(sys, &aerr)) {
		perf_system_stop(sys, NULL);
		*err = aerr;
		json_decref(step);
		return NULL;
	}
	if (perf_system_stop(sys, err)) {
		json_decref(step);
		return NULL;
	}
	/* the sink's output of an unbounded run can be large: do not keep it */
	char out[2100];
	snprintf(out, sizeof out, "%.2000s/out", p->rundir);
	perf_rm_rf(out);
	snprintf(out, sizeof out, "%.2000s/data", p->rundir);
	perf_rm_rf(out);
	return step;
}

static int run_pipeline(struct plan *p, const struct perf_options *o, json_t *steps,
			struct ac_error *err)
{
	int nsteps = 1 + o->nrates;
	double t0 = mono();
	for (int i = 0; i < nsteps; i++) {
		double rate = i ? o->rates[i - 1] : 0;
		char what[64];
		if (rate > 0)
			snprintf(what, sizeof what, "Source at %.0f messages/s", rate);
		else
			snprintf(what, sizeof what, "Source unpaced (backpressure)");
		progress_step(o, i + 1, nsteps, what);
		json_t *s = pipeline_step(p, o, rate, err);
		if (!s)
			return err->code ? err->code : AC_EIO;
		progress_done(o, s, t0);
		json_array_append_new(steps, s);
	}
	return 0;
}

/* ---------------------------------------------------------------- criteria */

struct crit_def {
	const char *section, *key, *figure, *label;
	bool at_least;
};

static const struct crit_def crit_defs[] = {
	{ "policy.slos", "throughput_requests_per_second", "throughput", "throughput /s", true },
	{ "policy.slos", "p95_latency_ms", "p95_ms", "p95 latency ms", false },
	{ "policy.slos", "p99_latency_ms", "p99_ms", "p99 latency ms", false },
	{ "policy.slos", "availability_percentage", "availability", "availability %", true },
	{ "validation.performance", "throughput_requests_per_second", "throughput", "throughput /s", true },
	{ "validation.performance", "latency_p95_ms", "p95_ms", "p95 latency ms", false },
	{ "validation.performance", "latency_p99_ms", "p99_ms", "p99 latency ms", false },
};

static const json_t *crit_section(const json_t *model, const char *section)
{
	if (!strcmp(section, "policy.slos"))
		return json_object_get(json_object_get(model, "policy"), "slos");
	return json_object_get(json_object_get(json_object_get(model, "system"), "validation"),
			       "performance");
}

static bool crit_holds(const struct crit_def *d, double want, const json_t *step)
{
	const json_t *f = json_object_get(step, d->figure);
	if (!f)
		return true;   /* not measured for this kind of system */
	return d->at_least ? json_number_value(f) >= want : json_number_value(f) <= want;
}

/* Does step hold every latency and availability criterion? *nlatency: how many latency
 * criteria there are. */
static bool step_holds(const json_t *model, const json_t *step, int *nlatency)
{
	bool ok = true;
	*nlatency = 0;
	for (size_t k = 0; k < AC_ARRAY_SIZE(crit_defs); k++) {
		const json_t *v = json_object_get(crit_section(model, crit_defs[k].section),
						  crit_defs[k].key);
		if (!json_is_number(v) || !strcmp(crit_defs[k].figure, "throughput"))
			continue;
		if (strcmp(crit_defs[k].figure, "availability"))
			(*nlatency)++;
		if (!crit_holds(&crit_defs[k], json_number_value(v), step))
			ok = false;
	}
	return ok;
}

/* Criteria, per-step SLO flags, the sizing step; returns true when all criteria hold. */
static bool judge(const json_t *model, json_t *steps, json_t *run)
{
	json_t *crits = json_array(), *s;
	size_t i;
	int best = -1;
	bool pass = true;

	json_array_foreach(steps, i, s) {
		int nlat;
		bool ok = step_holds(model, s, &nlat);
		json_object_set_new(s, "slo_ok", json_boolean(ok));
		if (ok && (best < 0 || json_number_value(json_object_get(s, "throughput")) >
				       json_number_value(json_object_get(json_array_get(steps, (size_t)best), "throughput"))))
			best = (int)i;
	}
	for (size_t k = 0; k < AC_ARRAY_SIZE(crit_defs); k++) {
		const struct crit_def *d = &crit_defs[k];
		const json_t *v = json_object_get(crit_section(model, d->section), d->key);
		if (!json_is_number(v))
			continue;
		/* the figure: at the sizing step, or the best any step reached */
		const json_t *at = best >= 0 ? json_array_get(steps, (size_t)best) : NULL;
		double fig = NAN;
		bool measured = false;
		if (at && json_object_get(at, d->figure)) {
			fig = json_number_value(json_object_get(at, d->figure));
			measured = true;
		} else {
			json_array_foreach(steps, i, s) {
				const json_t *f = json_object_get(s, d->figure);
				if (!f)
					continue;
				double x = json_number_value(f);
				if (!measured || (d->at_least ? x > fig : x < fig))
					fig = x;
				measured = true;
			}
		}
		double want = json_number_value(v);
		bool ok = !measured || (at ? crit_holds(d, want, at) :
					d->at_least ? fig >= want : fig <= want);
		pass &= ok;
		char where[128];
		snprintf(where, sizeof where, "%s.%s", d->section, d->key);
		json_array_append_new(crits, json_pack("{s:s, s:s, s:s, s:f, s:o, s:s}",
			"criterion", where, "label", d->label, "op", d->at_least ? ">=" : "<=",
			"want", json_number_value(v), "got", measured ? json_real(fig) : json_null(),
			"verdict", !measured ? "not measured" : ok ? "pass" : "FAIL"));
	}
	if (best < 0)
		pass = false;   /* no step held every latency and availability criterion at once */
	json_object_set_new(run, "criteria", crits);
	json_object_set_new(run, "sizing_step", best >= 0 ? json_integer(best) : json_null());
	return pass;
}

/* ---------------------------------------------------------------- the run */

static json_t *run_header(struct plan *p, const struct perf_options *o)
{
	char host[256] = "", when[32];
	double la[3] = { 0 };
	time_t t = time(NULL);
	struct tm tm;
	gethostname(host, sizeof host - 1);
	gmtime_r(&t, &tm);
	strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (getloadavg(la, 3) < 1)
		la[0] = -1;
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:f, s:s, s:f, s:f, s:i}",
			 "system", p->name, "system_dir", p->dir, "started", when, "host", host,
			 "kind", p->http ? "http" : p->ws ? "websocket" : "pipeline", "cores", (int)sysconf(_SC_NPROCESSORS_ONLN),
			 "load_average", la[0], "ingress", p->http ? p->ingress : p->ws ? p->ws_comp : p->source,
			 "duration_s", o->duration, "warmup_s", o->warmup, "threads", o->threads);
}

/* --url http://127.0.0.1:PORT/PATH: GETs against a server someone else started (how the
 * load generator is compared with wrk, docs/BENCH.md). */
static int plan_url(const struct perf_options *o, struct plan *p, struct ac_error *err)
{
	int port = 0, off = 0;
	if (sscanf(o->url, "http://127.0.0.1:%d%n", &port, &off) < 1 || port <= 0 || port > 65535)
		return ac_error_set(err, AC_EINVAL, NULL,
				    "--url: want http://127.0.0.1:PORT/PATH, got '%s'", o->url);
	snprintf(p->name, sizeof p->name, "url");
	snprintf(p->collection, sizeof p->collection, "%s", o->url[off] ? o->url + off : "/");
	p->http = true;
	p->ingress = "url";
	p->port = port;
	return add_request(p, "GET", p->collection, NULL) ?
	       ac_error_set(err, AC_ENOMEM, NULL, "out of memory") : 0;
}

static int run_url(struct plan *p, const struct perf_options *o, json_t *steps, struct ac_error *err)
{
	double t0 = mono();
	for (int i = 0; i < o->nconc + o->nrates; i++) {
		bool open = i >= o->nconc;
		json_t *s = http_step(p, 0, o, open ? 64 : o->conc[i], open ? o->rates[i - o->nconc] : 0, err);
		if (!s)
			return err->code ? err->code : AC_ENOMEM;
		progress_done(o, s, t0);
		json_array_append_new(steps, s);
	}
	return 0;
}

/* Store, gate, size and draw a finished run; returns the exit status to add (0, 1, 3). */
static int finish_run(const struct perf_options *o, struct plan *p, json_t *run,
		      struct ac_error *err)
{
	int rc = 0;
	long long id = 0;
	if (o->db) {
		if (o->baseline) {
			json_t *v = NULL;
			if (perf_runs_gate(o->db, o->baseline, run, o->threshold > 0 ? o->threshold : 0.10,
					   &v, err))
				return err->code;
			const char *verdict = json_string_value(json_object_get(v, "verdict"));
			if (!strcmp(verdict, "regression"))
				rc = 1;
			else if (!strcmp(verdict, "inconclusive"))
				rc = 3;
			json_object_set_new(run, "gate", v);
		}
		if (perf_runs_save(o->db, run, o->save_baseline, &id, err))
			return err->code;
		json_object_set_new(run, "run_id", json_integer(id));
	}
	if (o->size_path) {
		if (perf_profile_write(o->size_path, run, o->headroom > 0 ? o->headroom : 0.3, err))
			return err->code;
		json_object_set_new(run, "profile", json_string(o->size_path));
	}
	if (o->report_dir || !o->url) {
		char dir[2300], path[2400], stamp[64];
		snprintf(dir, sizeof dir, "%s", o->report_dir ? o->report_dir : p->dir);
		if (!o->report_dir)
			snprintf(dir + strlen(dir), sizeof dir - strlen(dir), "/bench");
		mkdir(dir, 0755);
		snprintf(stamp, sizeof stamp, "%s", json_string_value(json_object_get(run, "started")));
		for (char *c = stamp; *c; c++)
			if (*c == ':')
				*c = '-';
		snprintf(path, sizeof path, "%s/run-%s%s%lld.svg", dir, stamp, id ? "-" : "", id);
		if (!id)
			snprintf(path, sizeof path, "%s/run-%s.svg", dir, stamp);
		if (perf_write_svg(path, run, err))
			return err->code;
		json_object_set_new(run, "svg", json_string(path));
		memcpy(path + strlen(path) - 4, ".json", 6);
		json_object_set_new(run, "json", json_string(path));
		if (json_dump_file(run, path, JSON_INDENT(2)))
			return ac_error_set(err, AC_EIO, NULL, "%s: cannot write", path);
	}
	return rc;
}

/* One repeat's latency figures for the regression gate: {"c=8": {"p50_ms", "p99_ms"}, ...}
 * for the steps that measure latency (HTTP; the sizing search's steps vary, so not those). */
static json_t *step_latencies(const json_t *steps)
{
	json_t *out = json_object(), *s;
	size_t i;
	json_array_foreach(steps, i, s) {
		const char *mode = json_string_value(json_object_get(s, "mode"));
		char key[64];
		if (!json_is_number(json_object_get(s, "p50_ms")) || json_is_true(json_object_get(s, "search")) ||
		    !json_integer_value(json_object_get(s, "requests")))
			continue;
		if (mode && !strcmp(mode, "open"))
			snprintf(key, sizeof key, "r=%.0f", json_number_value(json_object_get(s, "rate")));
		else
			snprintf(key, sizeof key, "c=%lld", (long long)json_integer_value(json_object_get(s, "concurrency")));
		json_object_set_new(out, key, json_pack("{s:O, s:O}", "p50_ms", json_object_get(s, "p50_ms"),
							"p99_ms", json_object_get(s, "p99_ms")));
	}
	return out;
}

/* --container: the run's memory peak against the limit, the most throttled step, OOM kills. */
static void container_summary(json_t *c, const json_t *steps)
{
	double peak = 0, thr = 0;
	json_int_t ooms = 0;
	const json_t *s;
	size_t i;
	json_array_foreach(steps, i, s) {
		const json_t *x = json_object_get(s, "container");
		double pk = json_number_value(json_object_get(x, "memory_peak_mi"));
		double tf = json_number_value(json_object_get(x, "cpu_throttled_fraction"));
		peak = pk > peak ? pk : peak;
		thr = tf > thr ? tf : thr;
		ooms += json_integer_value(json_object_get(x, "oom_kills"));
	}
	double limit = json_number_value(json_object_get(c, "memory_limit_mi"));
	json_object_set_new(c, "memory_peak_mi", json_real(peak));
	json_object_set_new(c, "memory_peak_fraction", json_real(limit > 0 ? peak / limit : 0));
	json_object_set_new(c, "cpu_throttled_fraction_max", json_real(thr));
	json_object_set_new(c, "oom_kills", json_integer(ooms));
	json_object_set_new(c, "fits", json_boolean(!ooms && peak < limit));
}

/* validation.load_testing {enabled, concurrent_users}: that concurrency joins the default
 * sweep (in order), so the blueprint's own load is always one of the steps. */
static void add_load_testing_users(const json_t *model, struct perf_options *o)
{
	const json_t *lt = json_object_get(json_object_get(json_object_get(model, "system"),
							   "validation"), "load_testing");
	const json_t *users = json_object_get(lt, "concurrent_users");
	int u;
	if (json_is_false(json_object_get(lt, "enabled")) || !json_is_integer(users))
		return;
	u = (int)json_integer_value(users);
	if (u < 1 || u > 10000 || o->nconc >= PERF_MAX_STEPS)
		return;
	for (int i = 0; i < o->nconc; i++)
		if (o->conc[i] == u)
			return;
	int k = o->nconc++;
	while (k > 0 && o->conc[k - 1] > u) {
		o->conc[k] = o->conc[k - 1];
		k--;
	}
	o->conc[k] = u;
}

int perf_bench(const struct perf_options *o, json_t **result, struct ac_error *err)
{
	struct plan p = { 0 };
	json_t *run = NULL, *heads = json_array();
	int rc = 0;

	*result = NULL;
	if (o->body) {
		json_error_t je;
		json_t *b = o->body[0] == '@' ? json_load_file(o->body + 1, JSON_DECODE_ANY, &je)
					      : json_loads(o->body, JSON_DECODE_ANY, &je);
		if (!b && je.line > 0)
			rc = ac_error_set(err, AC_EINVAL, NULL, "--body %s:%d:%d: %s",
					  o->body[0] == '@' ? o->body + 1 : "(JSON)", je.line, je.column, je.text);
		else if (!b)
			rc = ac_error_set(err, AC_EINVAL, NULL, "--body: %s", je.text);
		p.body = b ? json_dumps(b, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
		json_decref(b);
	}
	if (!rc && o->url)
		rc = plan_url(o, &p, err);
	else if (!rc) {
		rc = load_target(o, &p, err);
		if (!rc)
			rc = plan_ingress(&p, err);
	}
	json_t *lats = json_array();
	struct perf_options eff = *o;
	if (!rc && !o->url && !o->conc_given && o->nconc > 0)
		add_load_testing_users(p.model, &eff);
	o = &eff;
	if (!rc && !o->url) {
		snprintf(p.rundir, sizeof p.rundir, "%.2000s/bench-run", p.dir);
		mkdir(p.rundir, 0755);
	}
	if (!rc) {
		run = run_header(&p, o);
		if (p.http)
			json_object_set_new(run, "path", json_string(p.collection));
		if (p.container)
			json_object_set_new(run, "container", json_pack("{s:s, s:f, s:f, s:s, s:i}",
				"image", p.ct.image, "cpus", p.ct.cpus, "memory_limit_mi", p.ct.memory_mi,
				"limits_from", p.ct.manifest, "grace_s", p.ct.grace_s));
	}
	for (int r = 0; !rc && r < (o->repeat > 0 ? o->repeat : 1); r++) {
		json_t *steps = json_array();
		rc = o->url ? run_url(&p, o, steps, err) : p.http ? run_http(&p, o, steps, run, err) :
		     p.ws ? run_ws(&p, o, steps, run, err) : run_pipeline(&p, o, steps, err);
		double head = 0;
		size_t i;
		json_t *s;
		json_array_foreach(steps, i, s)
			if (json_number_value(json_object_get(s, "throughput")) > head)
				head = json_number_value(json_object_get(s, "throughput"));
		json_array_append_new(heads, json_real(head));
		json_array_append_new(lats, step_latencies(steps));
		if (!r)
			json_object_set_new(run, "steps", steps);
		else
			json_decref(steps);
	}
	if (!rc) {
		if (p.container)
			container_summary(json_object_get(run, "container"), json_object_get(run, "steps"));
		json_object_set(run, "headline_throughputs", heads);
		json_object_set(run, "headline_latencies", lats);
		bool pass = judge(p.model, json_object_get(run, "steps"), run);
		json_object_set_new(run, "passed", json_boolean(pass));
		rc = finish_run(o, &p, run, err);
		if (rc >= 0 && !pass)
			rc = 1;
		/* the figures are shown even when storing, sizing or drawing them failed */
		*result = run;
		run = NULL;
	} else {
		p.keep_rundir = true;   /* the run failed: its logs say why */
	}
	json_decref(heads);
	json_decref(lats);
	json_decref(run);
	free_requests(&p);
	free(p.body);
	json_decref(p.model);
	json_decref(p.config);
	if (!o->keep && !p.keep_rundir && p.rundir[0]) {
		perf_rm_rf(p.rundir);
	}
	return rc;
}

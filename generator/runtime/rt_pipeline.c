/*
 * rt_pipeline.c — the stateless stream components: Source, Transformer, Filter, Router, Model
 * and Sink (BLUEPRINT-LANGUAGE.md, "The 13 component types").
 *
 * Transformer order: copy, fields, numeric and set are computed from the incoming field names,
 * then rename, upper/lowercase (on the new names), remove, and the timestamp.
 *
 * Each type is a struct rt_type_ops. Config is read once in init into a small state struct;
 * expressions are compiled there (they were already checked at generation time, so a failure
 * here means a hand-edited config and stops the start with the expression's column).
 * Single-output types emit on every output port (blueprints name them freely); the Router
 * emits on the port named by the rule's destination.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rt_int.h"
#include "rt_util.h"

/* ================================================================ Source */

struct source_state {
	const char *gen;          /* sequence | random | file | http */
	json_t *fields;           /* borrowed from config */
	long long count;          /* 0 = unbounded */
	double delay;
	uint64_t rng;
	FILE *file;
	long long line_no;
	struct MHD_Daemon *http;
};

static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static double rnd01(uint64_t *s)
{
	return (double)(xorshift(s) >> 11) / 9007199254740992.0;
}

static json_t *gen_field(struct source_state *st, json_t *spec, long long n)
{
	const char *type = json_string_value(json_object_get(spec, "type"));
	double lo = json_number_value(json_object_get(spec, "min"));
	double hi = json_object_get(spec, "max") ? json_number_value(json_object_get(spec, "max")) : 100;
	json_t *values = json_object_get(spec, "values");

	if (json_is_array(values) && json_array_size(values))
		return json_incref(json_array_get(values, xorshift(&st->rng) % json_array_size(values)));
	if (!type || !strcmp(type, "integer"))
		return json_integer((json_int_t)(lo + (double)(xorshift(&st->rng) %
					(uint64_t)(hi - lo + 1 > 0 ? hi - lo + 1 : 1))));
	if (!strcmp(type, "number"))
		return json_real(round((lo + rnd01(&st->rng) * (hi - lo)) * 100) / 100);
	if (!strcmp(type, "boolean"))
		return json_boolean(xorshift(&st->rng) & 1);
	if (!strcmp(type, "sequence"))
		return json_integer(n);
	if (!strcmp(type, "timestamp")) {
		char ts[40];
		rt_iso_now(ts, sizeof ts);
		return json_string(ts);
	}
	/* string: prefix + number */
	const char *prefix = json_string_value(json_object_get(spec, "prefix"));
	char buf[128];
	snprintf(buf, sizeof buf, "%s%llu", prefix ? prefix : "item_",
		 (unsigned long long)(xorshift(&st->rng) % (uint64_t)(hi > 0 ? hi : 100)));
	return json_string(buf);
}

static json_t *gen_message(struct source_state *st, long long n)
{
	json_t *m = json_object();
	const char *key;
	json_t *spec;
	size_t i;

	json_object_set_new(m, "id", json_integer(n));
	if (!strcmp(st->gen, "random"))
		json_object_set_new(m, "value", json_real(round(rnd01(&st->rng) * 10000) / 100));
	else
		json_object_set_new(m, "value", json_integer(n));
	if (json_is_object(st->fields)) {
		json_object_foreach(st->fields, key, spec)
			json_object_set_new(m, key, gen_field(st, spec, n));
	} else if (json_is_array(st->fields)) {
		json_array_foreach(st->fields, i, spec)
			if (json_is_string(spec))
				json_object_set_new(m, json_string_value(spec),
						    gen_field(st, NULL, n));
	}
	return m;
}

static json_t *read_file_message(struct source_state *st)
{
	char line[65536];
	while (fgets(line, sizeof line, st->file)) {
		json_t *j;
		line[strcspn(line, "\r\n")] = 0;
		st->line_no++;
		if (!line[0])
			continue;
		j = json_loads(line, 0, NULL);
		if (json_is_object(j))
			return j;
		json_decref(j);
		return json_pack("{s:s, s:I}", "line", line, "line_number", (json_int_t)st->line_no);
	}
	return NULL;
}

static enum MHD_Result source_http(void *cls, struct MHD_Connection *conn, const char *url,
				   const char *method, const char *version,
				   const char *upload_data, size_t *upload_data_size, void **con_cls)
{
	struct rt_component *c = cls;
	struct rt_body *b = *con_cls;
	bool handled;
	enum MHD_Result r;
	(void)version;

	if (!b) {
		rt_http_thread_named(c);
		b = rt_body_new((size_t)rt_cfg_num(c, "max_body_bytes", 1048576));
		*con_cls = b;
		return b ? MHD_YES : MHD_NO;
	}
	if (*upload_data_size) {
		rt_body_append(b, upload_data, *upload_data_size);
		*upload_data_size = 0;
		return MHD_YES;
	}
	r = rt_http_builtin(conn, url, &handled);
	if (handled)
		return r;
	if (strcmp(method, "POST"))
		return rt_http_send_json(conn, 405, json_pack("{s:s}", "error", "POST JSON here"),
					 "source");
	if (b->too_big)
		return rt_http_send_json(conn, 413, json_pack("{s:s}", "error", "body too large"),
					 "source");
	if (atomic_load(&rt_sys->draining))
		return rt_http_send_json(conn, 503, json_pack("{s:s}", "error", "shutting down"),
					 "source");
	json_error_t je;
	json_t *body = json_loadb(b->data ? b->data : "", b->len, 0, &je);
	if (!body || !(json_is_object(body) || json_is_array(body))) {
		json_decref(body);
		return rt_http_send_json(conn, 400, json_pack("{s:s, s:s}", "error", "invalid JSON",
							      "detail", je.text), "source");
	}
	size_t n = 0, i;
	json_t *item;
	json_t *arr = json_is_array(body) ? body : NULL;
	if (!arr) {
		arr = json_array();
		json_array_append(arr, body);
		json_decref(body);
	}
	json_array_foreach(arr, i, item) {
		struct rt_msg m;
		double t0 = rt_mono();
		if (!json_is_object(item))
			continue;
		rt_msg_init(&m, json_incref(item));
		atomic_fetch_add(&c->msgs_in, 1);
		c->def->process(c, &m);
		rt_metrics_observe(c, rt_mono() - t0);
		json_decref(m.data);
		n++;
	}
	json_decref(arr);
	return rt_http_send_json(conn, 202, json_pack("{s:I}", "accepted", (json_int_t)n), "source");
}

static void source_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			     enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)conn;
	(void)toe;
	rt_body_free(*con_cls);
	*con_cls = NULL;
}

static int source_init(struct rt_component *c)
{
	struct source_state *st = calloc(1, sizeof *st);
	json_t *gen = json_object_get(c->config, "generation");
	if (!st)
		return rt_fail(c, "out of memory");
	c->state = st;
	st->gen = json_string_value(json_object_get(gen, "type"));
	if (!st->gen)
		st->gen = rt_cfg_str(c, "source_type", "sequence");
	st->fields = json_object_get(gen, "fields");
	st->count = (long long)rt_cfg_num(c, "data_count", 100);
	st->delay = rt_cfg_num(c, "data_delay", 0.1);
	if (json_number_value(json_object_get(gen, "rate")) > 0)
		st->delay = 1.0 / json_number_value(json_object_get(gen, "rate"));
	st->rng = (uint64_t)rt_cfg_num(c, "seed", 42) * 2654435761u + 1;
	if (!strcmp(st->gen, "file")) {
		const char *path = json_string_value(json_object_get(gen, "file"));
		if (!path)
			path = rt_cfg_str(c, "file_path", NULL);
		if (!path)
			return rt_fail(c, "generation.type is file but generation.file is not set");
		st->file = fopen(path, "r");
		if (!st->file) {
			/* the rest of the system still runs: this source emits nothing */
			rt_log(c, "error", NULL, "cannot open the source file; emitting nothing",
			       json_pack("{s:s, s:s}", "file", path, "error", strerror(errno)));
			st->count = -1;
		}
	} else if (!strcmp(st->gen, "http")) {
		int port = rt_port_of(c, 0);
		struct sockaddr_in sa;
		char shown[256];
		if (rt_bind_address(rt_cfg_str(c, "host", NULL), port, &sa, shown, sizeof shown))
			return rt_fail(c, "host '%s' does not resolve to an IPv4 address", shown);
		st->http = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
					    MHD_USE_ERROR_LOG,
					    (uint16_t)port, NULL, NULL, source_http, c,
					    MHD_OPTION_SOCK_ADDR, &sa,
					    MHD_OPTION_EXTERNAL_LOGGER, rt_mhd_log, c,
					    MHD_OPTION_NOTIFY_COMPLETED, source_completed, c,
					    MHD_OPTION_CONNECTION_TIMEOUT, 30u,
					    MHD_OPTION_PER_IP_CONNECTION_LIMIT, RT_HTTP_PER_IP_LIMIT,
					    MHD_OPTION_END);
		if (!st->http)
			return rt_fail(c, "cannot listen on port %d", port);
		rt_log(c, "info", NULL, "source listening", json_pack("{s:i}", "port", port));
	} else if (strcmp(st->gen, "sequence") && strcmp(st->gen, "random")) {
		return rt_fail(c, "unknown generation.type '%s' (sequence, random, file, http)",
			       st->gen);
	}
	return 0;
}

/* Sleep up to seconds, returning early when the system drains. */
static void nap(double seconds)
{
	double end = rt_mono() + seconds;
	while (!atomic_load(&rt_sys->draining)) {
		double left = end - rt_mono();
		if (left <= 0)
			return;
		usleep(left > 0.05 ? 50000 : (useconds_t)(left * 1e6));
	}
}

static void source_run(struct rt_component *c)
{
	struct source_state *st = c->state;
	if (strcmp(st->gen, "http")) {
		double t0 = rt_mono(), start = t0;
		unsigned timed = 0;
		/* bench hook (`autocoder bench`, docs/BENCH.md): AUTOCODER_BENCH_RATE=r paces the
		 * messages on a fixed schedule (message n is due at start + n/r; a late source
		 * catches up instead of shifting the schedule) */
		const char *bench = getenv("AUTOCODER_BENCH_RATE");
		double rate = bench ? strtod(bench, NULL) : 0;
		/* messages leave in groups of up to 64 (one queue lock per group), and before
		 * every pause */
		rt_outbox_begin(c);
		for (long long n = 1; (!st->count || n <= st->count) &&
				      !atomic_load(&rt_sys->draining); n++) {
			struct rt_msg m;
			json_t *d = st->file ? read_file_message(st) : gen_message(st, n);
			if (!d)
				break;
			rt_msg_init(&m, d);
			atomic_fetch_add_explicit(&c->msgs_in, 1, memory_order_relaxed);
			if (c->def->process(c, &m))
				atomic_fetch_add(&c->errors, 1);
			json_decref(m.data);
			if (rate > 0 && start + (double)n / rate - rt_mono() > 1e-3) {
				rt_outbox_flush();
				nap(start + (double)n / rate - rt_mono());
				rt_outbox_begin(c);
			}
			/* time messages in groups of 64 (or one by one when paced), see rt_queue_loop */
			if (++timed == 64 || st->delay > 0) {
				double t1;
				rt_outbox_flush();
				rt_outbox_begin(c);
				t1 = rt_mono();
				rt_metrics_observe_n(c, (t1 - t0) / timed, timed);
				timed = 0;
				if (st->delay > 0)
					nap(st->delay);
				t0 = rt_mono();
			}
		}
		rt_outbox_flush();
		if (timed)
			rt_metrics_observe_n(c, (rt_mono() - t0) / timed, timed);
		rt_log(c, "info", NULL, "source finished",
		       json_pack("{s:I}", "messages", (json_int_t)atomic_load(&c->msgs_out)));
	}
	while (!atomic_load(&rt_sys->stopping))
		usleep(50000);
}

static int source_process(struct rt_component *c, struct rt_msg *m)
{
	return rt_emit(c, NULL, m, json_incref(m->data));
}

static void source_stop_ingress(struct rt_component *c)
{
	struct source_state *st = c->state;
	if (st && st->http) {
		MHD_stop_daemon(st->http);
		st->http = NULL;
	}
}

static void source_fini(struct rt_component *c)
{
	struct source_state *st = c->state;
	source_stop_ingress(c);
	if (st->file)
		fclose(st->file);
	free(st);
	c->state = NULL;
}

const struct rt_type_ops rt_source_ops = {
	.type_name = "Source", .init = source_init, .process = source_process, .fini = source_fini,
	.run = source_run, .stop_ingress = source_stop_ingress,
};

/* ================================================================ Transformer */

/* Config keys may sit under `transform:` or directly in config. */
static json_t *tcfg(struct rt_component *c, const char *key)
{
	json_t *t = json_object_get(c->config, "transform"), *v = json_object_get(t, key);
	return v ? v : json_object_get(c->config, key);
}

static json_t *apply_op(json_t *msg, json_t *spec, struct rt_component *c, const char *target)
{
	const char *op, *from;
	json_t *src, *val;
	double x, y;

	if (json_is_string(spec))
		return rt_template(json_string_value(spec), msg);
	if (!json_is_object(spec))
		return json_incref(spec);
	op = json_string_value(json_object_get(spec, "op"));
	from = json_string_value(json_object_get(spec, "from"));
	if (!from)
		from = json_string_value(json_object_get(spec, "field"));
	if (!from)
		from = target;   /* numeric: {amount: {op: multiply, value: 2}} works in place */
	src = from ? rt_path_get(msg, from) : NULL;
	val = json_object_get(spec, "value");
	if (!op)
		op = json_object_get(spec, "template") ? "template" : "copy";
	if (!strcmp(op, "template"))
		return rt_template(json_string_value(json_object_get(spec, "template")), msg);
	if (!strcmp(op, "timestamp")) {
		char ts[40];
		rt_iso_now(ts, sizeof ts);
		return json_string(ts);
	}
	if (!strcmp(op, "constant"))
		return json_incref(val);
	if (!src)
		return NULL;
	if (!strcmp(op, "copy"))
		return json_deep_copy(src);
	if (!strcmp(op, "upper") || !strcmp(op, "uppercase") || !strcmp(op, "lower") ||
	    !strcmp(op, "lowercase"))
		return json_is_string(src) ? rt_case(json_string_value(src), op[0] == 'u') :
					     json_incref(src);
	if (!strcmp(op, "length"))
		return json_integer(json_is_string(src) ? (json_int_t)json_string_length(src) :
				    json_is_array(src) ? (json_int_t)json_array_size(src) : 0);
	if (!json_is_number(src))
		return NULL;
	x = json_number_value(src);
	y = json_is_number(val) ? json_number_value(val) : 0;
	if (!strcmp(op, "add"))
		x += y;
	else if (!strcmp(op, "subtract"))
		x -= y;
	else if (!strcmp(op, "multiply"))
		x *= y;
	else if (!strcmp(op, "divide"))
		x = y != 0 ? x / y : 0;
	else if (!strcmp(op, "round"))
		x = round(x * pow(10, y)) / pow(10, y);
	else if (!strcmp(op, "abs"))
		x = fabs(x);
	else {
		rt_log(c, "warn", NULL, "unknown transform op", json_pack("{s:s}", "op", op));
		return NULL;
	}
	if (x == floor(x) && fabs(x) < 9e15 && json_is_integer(src) &&
	    strcmp(op, "divide"))
		return json_integer((json_int_t)x);
	return json_real(x);
}

/* The transform's config, looked up once at start (config does not change while running):
 * each member is borrowed from c->config or NULL. */
struct transformer_state {
	bool passthrough, enrich;
	json_t *copy, *fields, *numeric, *set, *rename, *upper, *lower, *remove, *timestamp;
};

static int transformer_init(struct rt_component *c)
{
	struct transformer_state *st = calloc(1, sizeof *st);
	const char *type = json_string_value(tcfg(c, "type"));
	if (!st)
		return rt_fail(c, "out of memory");
	c->state = st;
	st->passthrough = type && !strcmp(type, "passthrough");
	st->enrich = type && !strcmp(type, "enrich");
	st->copy = tcfg(c, "copy");
	st->fields = tcfg(c, "fields");
	st->numeric = tcfg(c, "numeric");
	st->set = tcfg(c, "set");
	st->rename = tcfg(c, "rename");
	st->upper = tcfg(c, "uppercase");
	st->lower = tcfg(c, "lowercase");
	st->remove = tcfg(c, "remove");
	st->timestamp = tcfg(c, "add_timestamp");
	return 0;
}

static void transformer_fini(struct rt_component *c)
{
	free(c->state);
	c->state = NULL;
}

static int transformer_process(struct rt_component *c, struct rt_msg *m)
{
	struct transformer_state *st = c->state;
	json_t *msg = m->data, *v;
	const char *key;
	size_t i;

	if (!json_is_object(msg))
		return rt_fail(c, "message is not a JSON object");
	if (st->passthrough)
		return rt_emit(c, NULL, m, json_incref(msg));
	json_object_foreach(st->copy, key, v)
		if (json_is_string(v) && rt_path_get(msg, json_string_value(v)))
			json_object_set_new(msg, key,
					    json_deep_copy(rt_path_get(msg, json_string_value(v))));
	json_object_foreach(st->fields, key, v) {
		json_t *nv = apply_op(msg, v, c, key);
		if (nv)
			rt_path_set(msg, key, nv);
	}
	json_object_foreach(st->numeric, key, v) {
		json_t *nv = json_is_object(v) ? apply_op(msg, v, c, key) : NULL;
		if (nv)
			rt_path_set(msg, key, nv);
	}
	json_object_foreach(st->set, key, v) {
		if (json_is_string(v) && strstr(json_string_value(v), "{{"))
			rt_path_set(msg, key, rt_template(json_string_value(v), msg));
		else
			rt_path_set(msg, key, json_deep_copy(v));
	}
	json_object_foreach(st->rename, key, v)
		if (json_is_string(v) && json_object_get(msg, key)) {
			json_object_set(msg, json_string_value(v), json_object_get(msg, key));
			json_object_del(msg, key);
		}
	json_array_foreach(st->upper, i, v) {
		json_t *f = json_is_string(v) ? json_object_get(msg, json_string_value(v)) : NULL;
		if (json_is_string(f))
			json_object_set_new(msg, json_string_value(v), rt_case(json_string_value(f), 1));
	}
	json_array_foreach(st->lower, i, v) {
		json_t *f = json_is_string(v) ? json_object_get(msg, json_string_value(v)) : NULL;
		if (json_is_string(f))
			json_object_set_new(msg, json_string_value(v), rt_case(json_string_value(f), 0));
	}
	json_array_foreach(st->remove, i, v)
		if (json_is_string(v))
			json_object_del(msg, json_string_value(v));
	v = st->timestamp;
	if (json_is_true(v) || json_is_string(v) || st->enrich) {
		char ts[40];
		rt_iso_now(ts, sizeof ts);
		json_object_set_new(msg, json_is_string(v) ? json_string_value(v) : "processed_at",
				    json_string(ts));
		if (st->enrich)
			json_object_set_new(msg, "processed_by", json_string(c->def->name));
	}
	return rt_emit(c, NULL, m, json_incref(msg));
}

const struct rt_type_ops rt_transformer_ops = {
	.type_name = "Transformer", .init = transformer_init, .process = transformer_process,
	.fini = transformer_fini,
};

/* ================================================================ Filter and Router */

struct rule {
	struct expr *e;
	bool pass;
	const char *dest;
};

struct rules_state {
	struct rule *r;
	size_t n;
	bool default_pass;
	const char *default_route;
	atomic_ullong passed, blocked;
};

static int compile_rules(struct rt_component *c, json_t *list, bool router)
{
	struct rules_state *st = calloc(1, sizeof *st);
	size_t i;
	json_t *item;

	if (!st)
		return rt_fail(c, "out of memory");
	c->state = st;
	st->r = calloc(json_array_size(list) + 1, sizeof *st->r);
	if (!st->r)
		return rt_fail(c, "out of memory");
	json_array_foreach(list, i, item) {
		const char *src = json_is_string(item) ? json_string_value(item) :
				  json_string_value(json_object_get(item, "condition"));
		const char *action = json_string_value(json_object_get(item, "action"));
		char eb[256];
		int col = 0;
		if (!src)
			return rt_fail(c, "rule %zu has no condition", i + 1);
		if (expr_compile(src, &st->r[st->n].e, eb, sizeof eb, &col))
			return rt_fail(c, "rule %zu: column %d: %s", i + 1, col, eb);
		st->r[st->n].pass = !action || strcmp(action, "block");
		st->r[st->n].dest = json_string_value(json_object_get(item, "destination"));
		if (router && !st->r[st->n].dest)
			st->r[st->n].dest = json_string_value(json_object_get(item, "route"));
		st->n++;
	}
	return 0;
}

static int filter_init(struct rt_component *c)
{
	json_t *list = json_object_get(c->config, "filter_conditions");
	json_t *one = json_object_get(c->config, "condition");
	json_t *tmp = NULL;
	int rc;
	if (!json_is_array(list) && json_is_string(one)) {
		tmp = json_pack("[O]", one);
		list = tmp;
	}
	rc = compile_rules(c, list, false);
	json_decref(tmp);
	if (!rc)
		((struct rules_state *)c->state)->default_pass =
			strcmp(rt_cfg_str(c, "default_action", "pass"), "block") != 0;
	return rc;
}

static int filter_process(struct rt_component *c, struct rt_msg *m)
{
	struct rules_state *st = c->state;
	bool pass = st->default_pass;
	for (size_t i = 0; i < st->n; i++)
		if (expr_eval(st->r[i].e, m->data)) {
			pass = st->r[i].pass;
			break;
		}
	if (!pass) {
		atomic_fetch_add(&st->blocked, 1);
		return 0;
	}
	atomic_fetch_add(&st->passed, 1);
	return rt_emit(c, NULL, m, json_incref(m->data));
}

static void rules_fini(struct rt_component *c)
{
	struct rules_state *st = c->state;
	for (size_t i = 0; i < st->n; i++)
		expr_free(st->r[i].e);
	free(st->r);
	free(st);
	c->state = NULL;
}

const struct rt_type_ops rt_filter_ops = {
	.type_name = "Filter", .init = filter_init, .process = filter_process, .fini = rules_fini,
};

static int router_init(struct rt_component *c)
{
	int rc = compile_rules(c, json_object_get(c->config, "routing_rules"), true);
	if (!rc)
		((struct rules_state *)c->state)->default_route = rt_cfg_str(c, "default_route", NULL);
	return rc;
}

static int router_process(struct rt_component *c, struct rt_msg *m)
{
	struct rules_state *st = c->state;
	const char *dest = st->default_route;
	for (size_t i = 0; i < st->n; i++)
		if (expr_eval(st->r[i].e, m->data)) {
			dest = st->r[i].dest;
			break;
		}
	if (!dest) {
		atomic_fetch_add(&st->blocked, 1);
		return 0;
	}
	return rt_emit(c, dest, m, json_incref(m->data));
}

const struct rt_type_ops rt_router_ops = {
	.type_name = "Router", .init = router_init, .process = router_process, .fini = rules_fini,
};

/* ================================================================ Model */

struct model_state {
	const char *kind;
	json_t *weights, *thresholds;
	const char *output_field, *label_field;
	double bias;
	long long count;
};

static int model_init(struct rt_component *c)
{
	struct model_state *st = calloc(1, sizeof *st);
	if (!st)
		return rt_fail(c, "out of memory");
	c->state = st;
	st->kind = rt_cfg_str(c, "model_type", "weighted");
	st->weights = json_object_get(c->config, "weights");
	st->thresholds = json_object_get(c->config, "thresholds");
	st->output_field = rt_cfg_str(c, "output_field", "score");
	st->label_field = rt_cfg_str(c, "label_field", "risk_level");
	st->bias = rt_cfg_num(c, "bias", 0);
	if (strcmp(st->kind, "weighted") && strcmp(st->kind, "echo") && strcmp(st->kind, "count") &&
	    strcmp(st->kind, "uppercase"))
		return rt_fail(c, "unknown model_type '%s' (weighted, echo, count, uppercase)",
			       st->kind);
	return 0;
}

static double feature_value(json_t *v)
{
	if (json_is_number(v))
		return json_number_value(v);
	if (json_is_true(v))
		return 1;
	return 0;
}

static int model_process(struct rt_component *c, struct rt_msg *m)
{
	struct model_state *st = c->state;
	json_t *msg = m->data, *w;
	const char *key;

	if (!json_is_object(msg))
		return rt_fail(c, "message is not a JSON object");
	if (!strcmp(st->kind, "weighted")) {
		double score = st->bias, best = -INFINITY;
		const char *label = NULL;
		json_object_foreach(st->weights, key, w)
			score += json_number_value(w) * feature_value(rt_path_get(msg, key));
		json_object_foreach(st->thresholds, key, w)
			if (json_is_number(w) && score >= json_number_value(w) &&
			    json_number_value(w) > best) {
				best = json_number_value(w);
				label = key;
			}
		json_object_set_new(msg, st->output_field, json_real(round(score * 1e6) / 1e6));
		if (label)
			json_object_set_new(msg, st->label_field, json_string(label));
	} else if (!strcmp(st->kind, "count")) {
		json_object_set_new(msg, "count", json_integer(++st->count));
	} else if (!strcmp(st->kind, "uppercase")) {
		json_t *v;
		json_object_foreach(msg, key, v)
			if (json_is_string(v))
				json_object_set_new(msg, key, rt_case(json_string_value(v), 1));
	}
	return rt_emit(c, NULL, m, json_incref(msg));
}

static void model_fini(struct rt_component *c)
{
	free(c->state);
	c->state = NULL;
}

const struct rt_type_ops rt_model_ops = {
	.type_name = "Model", .init = model_init, .process = model_process, .fini = model_fini,
};

/* ================================================================ Sink */

struct sink_state {
	const char *kind;         /* file | console | http */
	FILE *out;
	char path[1024];
	const char *url;
	char *buf;
	size_t len, cap;
	json_t *pending;          /* http: batch array */
	size_t count;
	size_t batch;
	double flush_interval, last_flush;
	unsigned long long written;
};

static int sink_init(struct rt_component *c)
{
	struct sink_state *st = calloc(1, sizeof *st);
	json_t *o = json_object_get(c->config, "output");
	const char *dir, *fname;
	char def_name[300];

	if (!st)
		return rt_fail(c, "out of memory");
	c->state = st;
	st->kind = json_string_value(json_object_get(o, "type"));
	if (!st->kind)
		st->kind = rt_cfg_str(c, "output_type", "file");
	st->batch = (size_t)rt_cfg_num(c, "batch_size", 100);
	if (!st->batch)
		st->batch = 1;
	st->flush_interval = rt_cfg_num(c, "flush_interval", 1.0);
	st->last_flush = rt_mono();
	if (!strcmp(st->kind, "console")) {
		st->out = stdout;
	} else if (!strcmp(st->kind, "http")) {
		st->url = json_string_value(json_object_get(o, "url"));
		if (!st->url || strncmp(st->url, "http://", 7))
			return rt_fail(c, "output.url must be an http:// URL");
		st->pending = json_array();
	} else if (!strcmp(st->kind, "file")) {
		dir = json_string_value(json_object_get(o, "directory"));
		fname = json_string_value(json_object_get(o, "filename"));
		snprintf(def_name, sizeof def_name, "%s.jsonl", c->def->name);
		if (getenv("SINK_DIR"))
			dir = getenv("SINK_DIR");
		snprintf(st->path, sizeof st->path, "%s/%s", dir ? dir : "./output",
			 fname ? fname : def_name);
		if (rt_mkdirs(dir ? dir : "./output"))
			return rt_fail(c, "cannot create %s: %s", dir ? dir : "./output",
				       strerror(errno));
		st->out = fopen(st->path, "a");
		if (!st->out)
			return rt_fail(c, "cannot open %s: %s", st->path, strerror(errno));
	} else {
		return rt_fail(c, "unknown output.type '%s' (file, console, http)", st->kind);
	}
	return 0;
}

static int sink_flush(struct rt_component *c)
{
	struct sink_state *st = c->state;
	int rc = 0;
	st->last_flush = rt_mono();
	if (!st->count)
		return 0;
	if (st->pending) {
		char *body = json_dumps(st->pending, JSON_COMPACT);
		int status = body ? rt_http_post(st->url, NULL, NULL, body, strlen(body), 5000) : -1;
		free(body);
		if (status < 200 || status >= 300) {
			const char *why = status < 0 ? rt_http_post_failure() : "";
			rt_fail(c, "POST %s failed (status %d%s%s): %zu messages lost", st->url, status,
				*why ? ", " : "", why, st->count);
			rt_set_unhealthy(c, c->last_error);
			rc = -1;
		} else {
			rt_set_healthy(c);
		}
		json_array_clear(st->pending);
	} else {
		if (fwrite(st->buf, 1, st->len, st->out) != st->len || fflush(st->out)) {
			rt_fail(c, "write to %s failed: %s", st->path[0] ? st->path : "stdout",
				strerror(errno));
			rt_set_unhealthy(c, c->last_error);
			rc = -1;
		}
		st->len = 0;
	}
	st->written += st->count;
	st->count = 0;
	return rc;
}

static int sink_process(struct rt_component *c, struct rt_msg *m)
{
	struct sink_state *st = c->state;
	if (st->pending) {
		json_array_append(st->pending, m->data);
	} else {
		/* serialise straight into the batch buffer (no per-message allocation) */
		const size_t flags = JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(15);
		for (;;) {
			size_t room = st->cap - st->len, n = 0;
			if (room > 1) {
				/* jansson's own encoder only for what the fast writer leaves to it */
				n = rt_json_write_compact(m->data, st->buf + st->len, room - 1);
				if (n == 0)
					n = json_dumpb(m->data, st->buf + st->len, room - 1, flags);
			}
			if (room > 1 && n == 0)
				return rt_fail(c, "cannot serialise message");
			if (room > 1 && n < room) {
				st->buf[st->len + n] = '\n';
				st->len += n + 1;
				break;
			}
			size_t ncap = (st->cap + n + 2) * 2;
			char *nb = realloc(st->buf, ncap);
			if (!nb)
				return rt_fail(c, "out of memory");
			st->buf = nb;
			st->cap = ncap;
		}
	}
	if (++st->count >= st->batch)
		return sink_flush(c);
	return 0;
}

static void sink_tick(struct rt_component *c, double now)
{
	struct sink_state *st = c->state;
	if (st->count && now - st->last_flush >= st->flush_interval)
		sink_flush(c);
}

static void sink_fini(struct rt_component *c)
{
	struct sink_state *st = c->state;
	sink_flush(c);
	if (st->out && st->out != stdout)
		fclose(st->out);
	json_decref(st->pending);
	free(st->buf);
	free(st);
	c->state = NULL;
}

const struct rt_type_ops rt_sink_ops = {
	.type_name = "Sink", .init = sink_init, .process = sink_process, .tick = sink_tick,
	.fini = sink_fini,
};

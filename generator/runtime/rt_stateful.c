/*
 * rt_stateful.c — components that keep state between messages: Aggregator (batches by size or
 * timeout, optionally per group), Accumulator (keyed running totals persisted in SQLite) and
 * StreamProcessor (tumbling windows by time or count, two-input join on a key, bounded
 * deduplication).
 *
 * State lives in the component's own thread, so nothing here needs a lock; time-driven output
 * (batch timeouts, window ends, periodic persistence) happens in tick(), and fini() flushes
 * what is left at shutdown so a drained system loses nothing.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rt_int.h"
#include "rt_util.h"

/* Text key of a message for grouping/joining: the field values joined by '|'. */
static void key_of(json_t *msg, json_t *fields, char *out, size_t n)
{
	size_t i, len = 0;
	json_t *f;
	out[0] = 0;
	json_array_foreach(fields, i, f) {
		json_t *v = json_is_string(f) ? rt_path_get(msg, json_string_value(f)) : NULL;
		char *t = v ? json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
		len += (size_t)snprintf(out + len, len < n ? n - len : 0, "%s%s", i ? "|" : "",
					t ? t : "null");
		free(t);
	}
}

static void scalar_key(json_t *v, char *out, size_t n)
{
	if (json_is_string(v))
		snprintf(out, n, "%s", json_string_value(v));
	else if (json_is_integer(v))
		snprintf(out, n, "%lld", (long long)json_integer_value(v));
	else if (json_is_real(v))
		snprintf(out, n, "%g", json_real_value(v));
	else if (json_is_boolean(v))
		snprintf(out, n, "%s", json_is_true(v) ? "true" : "false");
	else
		out[0] = 0;
}

/* Fill sum/average/min/max/count of field over items into out. */
static void numeric_summary(json_t *items, const char *field, json_t *out)
{
	double sum = 0, mn = INFINITY, mx = -INFINITY;
	size_t i, n = 0;
	json_t *it;
	json_array_foreach(items, i, it) {
		json_t *v = rt_path_get(it, field);
		if (!json_is_number(v))
			continue;
		double x = json_number_value(v);
		sum += x;
		mn = x < mn ? x : mn;
		mx = x > mx ? x : mx;
		n++;
	}
	json_object_set_new(out, "sum", json_real(sum));
	json_object_set_new(out, "average", n ? json_real(sum / (double)n) : json_null());
	json_object_set_new(out, "min", n ? json_real(mn) : json_null());
	json_object_set_new(out, "max", n ? json_real(mx) : json_null());
}

/* ================================================================ Aggregator */

#define AGG_MAX_GROUPS 4096

struct agg_group {
	char *key;
	json_t *items;
	json_t *group;   /* the group_by field values */
	double first;
	struct rt_msg parent;
};

struct agg_state {
	size_t batch;
	double timeout;
	const char *strategy, *field;
	json_t *group_by;
	struct agg_group g[AGG_MAX_GROUPS];
	size_t ng;
};

static int agg_init(struct rt_component *c)
{
	struct agg_state *st = calloc(1, sizeof *st);
	static const char *const strategies[] = { "collect", "sum", "average", "count", "min",
						  "max" };
	bool ok = false;
	if (!st)
		return rt_fail(c, "out of memory");
	c->state = st;
	st->batch = (size_t)rt_cfg_num(c, "batch_size", 10);
	if (!st->batch)
		st->batch = 1;
	st->timeout = rt_cfg_num(c, "timeout_seconds", 30);
	st->strategy = rt_cfg_str(c, "aggregation_strategy", "collect");
	st->field = rt_cfg_str(c, "aggregate_field", rt_cfg_str(c, "value_field", "value"));
	st->group_by = json_object_get(c->config, "group_by");
	for (size_t i = 0; i < 6; i++)
		ok |= !strcmp(st->strategy, strategies[i]);
	if (!ok)
		return rt_fail(c, "unknown aggregation_strategy '%s' (collect, sum, average, count, "
			       "min, max)", st->strategy);
	return 0;
}

static void agg_flush(struct rt_component *c, size_t gi)
{
	struct agg_state *st = c->state;
	struct agg_group *g = &st->g[gi];
	json_t *out = json_pack("{s:s, s:I}", "strategy", st->strategy, "count",
				(json_int_t)json_array_size(g->items));
	if (json_object_size(g->group))
		json_object_set(out, "group", g->group);
	if (!strcmp(st->strategy, "collect")) {
		json_object_set(out, "items", g->items);
	} else if (strcmp(st->strategy, "count")) {
		json_t *sum = json_object();
		numeric_summary(g->items, st->field, sum);
		json_object_set_new(out, "field", json_string(st->field));
		json_object_set(out, st->strategy, json_object_get(sum, st->strategy));
		json_decref(sum);
	}
	rt_emit(c, NULL, &g->parent, out);
	free(g->key);
	json_decref(g->items);
	json_decref(g->group);
	st->g[gi] = st->g[--st->ng];
}

static int agg_process(struct rt_component *c, struct rt_msg *m)
{
	struct agg_state *st = c->state;
	char key[1024];
	size_t gi;
	key_of(m->data, st->group_by, key, sizeof key);
	for (gi = 0; gi < st->ng; gi++)
		if (!strcmp(st->g[gi].key, key))
			break;
	if (gi == st->ng) {
		if (st->ng == AGG_MAX_GROUPS)
			return rt_fail(c, "more than %d open groups", AGG_MAX_GROUPS);
		struct agg_group *g = &st->g[st->ng++];
		size_t i;
		json_t *f;
		g->key = strdup(key);
		g->items = json_array();
		g->group = json_object();
		g->first = rt_mono();
		g->parent = *m;
		g->parent.data = NULL;
		g->parent.origin = NULL;
		json_array_foreach(st->group_by, i, f) {
			json_t *v = json_is_string(f) ? rt_path_get(m->data, json_string_value(f)) : NULL;
			if (json_is_string(f))
				json_object_set_new(g->group, json_string_value(f),
						    v ? json_deep_copy(v) : json_null());
		}
	}
	json_array_append(st->g[gi].items, m->data);
	if (json_array_size(st->g[gi].items) >= st->batch)
		agg_flush(c, gi);
	return 0;
}

static void agg_tick(struct rt_component *c, double now)
{
	struct agg_state *st = c->state;
	for (size_t i = st->ng; i-- > 0;)
		if (now - st->g[i].first >= st->timeout)
			agg_flush(c, i);
}

static void agg_flush_all(struct rt_component *c)
{
	struct agg_state *st = c->state;
	while (st->ng)
		agg_flush(c, st->ng - 1);
}

static void agg_fini(struct rt_component *c)
{
	struct agg_state *st = c->state;
	/* only when the drain ran out of time: threads are stopped, nothing can be delivered */
	if (st->ng)
		rt_log(c, "warn", NULL, "unfinished batches at shutdown discarded",
		       json_pack("{s:i}", "groups", (int)st->ng));
	for (size_t i = 0; i < st->ng; i++) {
		free(st->g[i].key);
		json_decref(st->g[i].items);
		json_decref(st->g[i].group);
	}
	free(st);
	c->state = NULL;
}

const struct rt_type_ops rt_aggregator_ops = {
	.type_name = "Aggregator", .init = agg_init, .process = agg_process, .tick = agg_tick,
	.fini = agg_fini, .flush = agg_flush_all,
};

/* ================================================================ Accumulator */

struct acc_state {
	sqlite3 *db;
	json_t *totals;     /* key -> [total, count] */
	json_t *dirty;      /* key -> true */
	const char *key_field, *value_field, *op, *out_field;
	double flush_interval, last_flush;
};

static int acc_persist(struct rt_component *c)
{
	struct acc_state *st = c->state;
	sqlite3_stmt *s = NULL;
	const char *key;
	json_t *v;
	int rc = 0;
	if (!json_object_size(st->dirty))
		return 0;
	sqlite3_exec(st->db, "BEGIN", NULL, NULL, NULL);
	if (sqlite3_prepare_v2(st->db, "INSERT OR REPLACE INTO totals(key, total, count) "
			       "VALUES (?, ?, ?)", -1, &s, NULL) != SQLITE_OK) {
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
		return rt_fail(c, "sqlite: %s", sqlite3_errmsg(st->db));
	}
	json_object_foreach(st->dirty, key, v) {
		json_t *t = json_object_get(st->totals, key);
		sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
		sqlite3_bind_double(s, 2, json_number_value(json_array_get(t, 0)));
		sqlite3_bind_int64(s, 3, json_integer_value(json_array_get(t, 1)));
		if (sqlite3_step(s) != SQLITE_DONE)
			rc = rt_fail(c, "sqlite: %s", sqlite3_errmsg(st->db));
		sqlite3_reset(s);
	}
	sqlite3_finalize(s);
	sqlite3_exec(st->db, rc ? "ROLLBACK" : "COMMIT", NULL, NULL, NULL);
	if (!rc)
		json_object_clear(st->dirty);
	st->last_flush = rt_mono();
	return rc;
}

static int acc_init(struct rt_component *c)
{
	struct acc_state *st = calloc(1, sizeof *st);
	char path[1024];
	sqlite3_stmt *s;
	if (!st)
		return rt_fail(c, "out of memory");
	c->state = st;
	st->totals = json_object();
	st->dirty = json_object();
	st->key_field = rt_cfg_str(c, "key_field", "key");
	st->value_field = rt_cfg_str(c, "value_field", "value");
	st->op = rt_cfg_str(c, "operation", "add");
	st->out_field = rt_cfg_str(c, "output_field", "total");
	st->flush_interval = rt_cfg_num(c, "flush_interval", 5.0);
	rt_sqlite_path(c, rt_cfg_str(c, "database_url", ""), path, sizeof path);
	if (sqlite3_open(path, &st->db) != SQLITE_OK)
		return rt_fail(c, "cannot open %s: %s", path, sqlite3_errmsg(st->db));
	sqlite3_busy_timeout(st->db, 5000);
	if (sqlite3_exec(st->db, "PRAGMA journal_mode=WAL; CREATE TABLE IF NOT EXISTS totals("
			 "key TEXT PRIMARY KEY, total REAL NOT NULL, count INTEGER NOT NULL)",
			 NULL, NULL, NULL) != SQLITE_OK)
		return rt_fail(c, "sqlite %s: %s", path, sqlite3_errmsg(st->db));
	if (sqlite3_prepare_v2(st->db, "SELECT key, total, count FROM totals", -1, &s, NULL) ==
	    SQLITE_OK) {
		while (sqlite3_step(s) == SQLITE_ROW)
			json_object_set_new(st->totals, (const char *)sqlite3_column_text(s, 0),
					    json_pack("[f, I]", sqlite3_column_double(s, 1),
						      (json_int_t)sqlite3_column_int64(s, 2)));
		sqlite3_finalize(s);
	}
	st->last_flush = rt_mono();
	rt_log(c, "info", NULL, "accumulator loaded",
	       json_pack("{s:s, s:i}", "database", path, "keys", (int)json_object_size(st->totals)));
	return 0;
}

static int acc_process(struct rt_component *c, struct rt_msg *m)
{
	struct acc_state *st = c->state;
	char key[512];
	const char *op = json_string_value(json_object_get(m->data, "operation"));
	json_t *t, *vv = rt_path_get(m->data, st->value_field);
	double total, v = json_is_number(vv) ? json_number_value(vv) : 0;
	json_int_t count;

	if (!op)
		op = st->op;
	scalar_key(rt_path_get(m->data, st->key_field), key, sizeof key);
	if (!key[0]) /* as the original: a message without the key counts under one total */
		snprintf(key, sizeof key, "default_accumulator");
	t = json_object_get(st->totals, key);
	total = t ? json_number_value(json_array_get(t, 0)) : (!strcmp(op, "multiply") ? 1 : 0);
	count = t ? json_integer_value(json_array_get(t, 1)) : 0;
	if (!strcmp(op, "add")) {
		total += v;
		count++;
	} else if (!strcmp(op, "multiply")) {
		total *= v;
		count++;
	} else if (!strcmp(op, "reset")) {
		total = 0;
		count = 0;
	} else if (strcmp(op, "get")) {
		return rt_fail(c, "unknown operation '%s' (add, multiply, reset, get)", op);
	}
	if (strcmp(op, "get")) {
		json_object_set_new(st->totals, key, json_pack("[f, I]", total, count));
		json_object_set_new(st->dirty, key, json_true());
	}
	json_object_set_new(m->data, st->out_field, json_real(total));
	json_object_set_new(m->data, "count", json_integer(count));
	return rt_emit(c, NULL, m, json_incref(m->data));
}

static void acc_tick(struct rt_component *c, double now)
{
	struct acc_state *st = c->state;
	if (now - st->last_flush >= st->flush_interval && acc_persist(c))
		rt_log(c, "error", NULL, c->last_error, NULL);
}

static void acc_fini(struct rt_component *c)
{
	struct acc_state *st = c->state;
	if (st->db && acc_persist(c))
		rt_log(c, "error", NULL, c->last_error, NULL);
	sqlite3_close(st->db);
	json_decref(st->totals);
	json_decref(st->dirty);
	free(st);
	c->state = NULL;
}

const struct rt_type_ops rt_accumulator_ops = {
	.type_name = "Accumulator", .init = acc_init, .process = acc_process, .tick = acc_tick,
	.fini = acc_fini,
};

/* ================================================================ StreamProcessor */

enum sp_variant { SP_WINDOW, SP_JOIN, SP_DEDUP };

struct sp_state {
	enum sp_variant v;
	/* windowing */
	bool by_count;
	double size;
	double win_start;          /* wall-clock seconds; 0 = no open window */
	json_t *items;
	const char *value_field;
	bool include_items;
	struct rt_msg parent;
	/* joining */
	const char *join_key;
	const char *left_port;
	json_t *pending[2];
	/* dedup */
	const char *dedup_key;
	json_t *seen;
	char **ring;
	size_t ring_head;
	/* shared */
	size_t max_keys;
	unsigned long long dropped;
};

static double wall(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int sp_init(struct rt_component *c)
{
	struct sp_state *st = calloc(1, sizeof *st);
	const char *variant = rt_cfg_str(c, "variant", "windowing");
	if (!st)
		return rt_fail(c, "out of memory");
	c->state = st;
	st->max_keys = (size_t)rt_cfg_num(c, "max_keys", 100000);
	if (!st->max_keys)
		st->max_keys = 1;
	if (!strcmp(variant, "windowing")) {
		st->v = SP_WINDOW;
		st->by_count = !strcmp(rt_cfg_str(c, "window_type", "time"), "count");
		st->size = rt_cfg_num(c, "window_size", 5.0);
		if (st->size <= 0)
			return rt_fail(c, "window_size must be > 0");
		st->items = json_array();
		st->value_field = rt_cfg_str(c, "value_field", "value");
		st->include_items = rt_cfg_bool(c, "include_items", false);
	} else if (!strcmp(variant, "joining")) {
		st->v = SP_JOIN;
		st->join_key = rt_cfg_str(c, "join_key", "id");
		st->pending[0] = json_object();
		st->pending[1] = json_object();
		/* a port named "left" (stream_name: left) is the left side; else the first bound */
		st->left_port = rt_port_bound(c, "left", true) || !c->ninq ? "left"
									     : c->inq[0]->def->to_port;
	} else if (!strcmp(variant, "deduplication")) {
		st->v = SP_DEDUP;
		st->dedup_key = rt_cfg_str(c, "dedup_key", "id");
		st->seen = json_object();
		st->ring = calloc(st->max_keys, sizeof *st->ring);
		if (!st->ring)
			return rt_fail(c, "out of memory");
	} else {
		return rt_fail(c, "unknown variant '%s' (windowing, joining, deduplication)", variant);
	}
	return 0;
}

static void window_emit(struct rt_component *c, double end)
{
	struct sp_state *st = c->state;
	char a[40], b[40];
	struct tm tm;
	time_t t;
	json_t *out;
	if (!json_array_size(st->items))
		return;
	out = json_pack("{s:I}", "count", (json_int_t)json_array_size(st->items));
	if (!st->by_count) {
		t = (time_t)st->win_start;
		gmtime_r(&t, &tm);
		strftime(a, sizeof a, "%Y-%m-%dT%H:%M:%SZ", &tm);
		t = (time_t)end;
		gmtime_r(&t, &tm);
		strftime(b, sizeof b, "%Y-%m-%dT%H:%M:%SZ", &tm);
		json_object_set_new(out, "window_start", json_string(a));
		json_object_set_new(out, "window_end", json_string(b));
	}
	json_object_set_new(out, "field", json_string(st->value_field));
	numeric_summary(st->items, st->value_field, out);
	if (st->include_items)
		json_object_set(out, "items", st->items);
	json_array_clear(st->items);
	rt_emit(c, NULL, &st->parent, out);
}

static void dedup_remember(struct sp_state *st, const char *key)
{
	if (st->ring[st->ring_head]) {
		json_object_del(st->seen, st->ring[st->ring_head]);
		free(st->ring[st->ring_head]);
	}
	st->ring[st->ring_head] = strdup(key);
	st->ring_head = (st->ring_head + 1) % st->max_keys;
	json_object_set_new(st->seen, key, json_true());
}

static int sp_process(struct rt_component *c, struct rt_msg *m)
{
	struct sp_state *st = c->state;
	char key[512];

	if (st->v == SP_WINDOW) {
		if (st->by_count) {
			st->parent = *m;
			st->parent.data = NULL;
			st->parent.origin = NULL;
			json_array_append(st->items, m->data);
			if ((double)json_array_size(st->items) >= st->size)
				window_emit(c, 0);
			return 0;
		}
		double now = wall();
		if (st->win_start && now >= st->win_start + st->size) {
			window_emit(c, st->win_start + st->size);
			st->win_start = 0;
		}
		if (!st->win_start) {
			st->win_start = floor(now / st->size) * st->size;
			st->parent = *m;
			st->parent.data = NULL;
			st->parent.origin = NULL;
		}
		json_array_append(st->items, m->data);
		return 0;
	}
	if (st->v == SP_DEDUP) {
		scalar_key(rt_path_get(m->data, st->dedup_key), key, sizeof key);
		if (json_object_get(st->seen, key)) {
			st->dropped++;
			return 0;
		}
		dedup_remember(st, key);
		return rt_emit(c, NULL, m, json_incref(m->data));
	}
	/* joining */
	int side = strcmp(m->port ? m->port : "", st->left_port) ? 1 : 0;
	json_t *other;
	scalar_key(rt_path_get(m->data, st->join_key), key, sizeof key);
	if (!key[0]) {
		/* cannot pair: counted as dropped, logged on the first one, never a failure */
		if (st->dropped++ == 0)
			rt_log(c, "warn", m, "message without the join key dropped",
			       json_pack("{s:s}", "join_key", st->join_key));
		return 0;
	}
	other = json_object_get(st->pending[!side], key);
	if (other) {
		json_t *out = json_pack("{s:s, s:O, s:O}", st->join_key, key, "left",
					side ? other : m->data, "right", side ? m->data : other);
		json_object_del(st->pending[!side], key);
		return rt_emit(c, NULL, m, out);
	}
	if (json_object_size(st->pending[side]) >= st->max_keys) {
		st->dropped++;
		return rt_fail(c, "join buffer full (%zu keys waiting)", st->max_keys);
	}
	json_object_set(st->pending[side], key, m->data);
	return 0;
}

static void sp_tick(struct rt_component *c, double now)
{
	struct sp_state *st = c->state;
	double w = wall();
	(void)now;
	if (st->v == SP_WINDOW && !st->by_count && st->win_start && w >= st->win_start + st->size) {
		window_emit(c, st->win_start + st->size);
		st->win_start = 0;
	}
}

static void sp_flush(struct rt_component *c)
{
	struct sp_state *st = c->state;
	if (st->v != SP_WINDOW)
		return;
	if (st->by_count)
		window_emit(c, 0);
	else if (st->win_start)
		window_emit(c, wall());   /* a partial window ends now */
	st->win_start = 0;
}

static void sp_fini(struct rt_component *c)
{
	struct sp_state *st = c->state;
	json_decref(st->items);
	json_decref(st->pending[0]);
	json_decref(st->pending[1]);
	json_decref(st->seen);
	if (st->ring)
		for (size_t i = 0; i < st->max_keys; i++)
			free(st->ring[i]);
	free(st->ring);
	free(st);
	c->state = NULL;
}

const struct rt_type_ops rt_stream_ops = {
	.type_name = "StreamProcessor", .init = sp_init, .process = sp_process, .tick = sp_tick,
	.fini = sp_fini, .flush = sp_flush,
};

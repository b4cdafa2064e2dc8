/*
 * rt_store.c — Store (SQLite key/value document store) and Controller (API requests to store
 * commands).
 *
 * Store messages are commands {action: create|get|update|delete|list, id, data}; a message
 * without `action` is stored as a new document (a Store at the end of a pipeline). Documents
 * are JSON text in one table per store: (id TEXT PRIMARY KEY, data TEXT, created_at,
 * updated_at). Replies {status, data | error} go out on `response` when it is bound (to an
 * APIEndpoint, which turns them into HTTP responses). Connections come from a small pool
 * (pool_size, opened lazily, each with its prepared statements) so a Store can be given more
 * worker threads later without changing its interface; the pool counts waits for /metrics.
 *
 * The Controller maps a request {method, path, resource, id, body, query} to a command:
 * POST -> create, GET /r/{id} -> get, GET /r -> list, PUT|PATCH -> update, DELETE -> delete;
 * it checks required_fields on create and answers 400/405 itself (rt_reply) without bothering
 * the store. Queuing the command is tried 1 + max_retries times within `timeout` seconds, then
 * the client is answered 503.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <ctype.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rt_int.h"
#include "rt_util.h"

enum { ST_INSERT, ST_GET, ST_UPDATE, ST_DELETE, ST_LIST, ST_COUNT };

struct store_conn {
	sqlite3 *db;
	sqlite3_stmt *st[ST_COUNT];
	bool busy;
};

struct store_state {
	char path[1024];
	char table[64];
	int busy_timeout;
	struct store_conn *pool;
	size_t pool_size;
	pthread_mutex_t lock;
	pthread_cond_t freed;
	unsigned long long waits;
	bool respond;
};

static bool valid_ident(const char *s)
{
	if (!*s || strlen(s) >= 64)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_')
			return false;
	return true;
}

static int conn_open(struct rt_component *c, struct store_conn *sc)
{
	struct store_state *st = c->state;
	char sql[ST_COUNT][256];
	if (sqlite3_open_v2(st->path, &sc->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
			    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK)
		return rt_fail(c, "cannot open %s: %s", st->path, sqlite3_errmsg(sc->db));
	sqlite3_busy_timeout(sc->db, st->busy_timeout);
	/* The system owns its store file: exclusive locking keeps the WAL index in memory and
	 * saves two fcntl() lock calls per query (about 40% of a GET's store time). Only one
	 * pool connection is open at a time while the store runs in one thread. */
	sqlite3_exec(sc->db, "PRAGMA locking_mode=EXCLUSIVE", NULL, NULL, NULL);
	snprintf(sql[ST_INSERT], 256, "INSERT INTO \"%s\"(id, data, created_at, updated_at) "
		 "VALUES (?1, ?2, ?3, ?3)", st->table);
	snprintf(sql[ST_GET], 256, "SELECT data FROM \"%s\" WHERE id = ?1", st->table);
	snprintf(sql[ST_UPDATE], 256, "UPDATE \"%s\" SET data = ?2, updated_at = ?3 WHERE id = ?1",
		 st->table);
	snprintf(sql[ST_DELETE], 256, "DELETE FROM \"%s\" WHERE id = ?1", st->table);
	snprintf(sql[ST_LIST], 256, "SELECT data FROM \"%s\" ORDER BY rowid LIMIT ?1 OFFSET ?2",
		 st->table);
	for (int i = 0; i < ST_COUNT; i++)
		if (sqlite3_prepare_v3(sc->db, sql[i], -1, SQLITE_PREPARE_PERSISTENT, &sc->st[i],
				       NULL) != SQLITE_OK)
			return rt_fail(c, "sqlite prepare: %s", sqlite3_errmsg(sc->db));
	return 0;
}

static void conn_close(struct store_conn *sc)
{
	for (int i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(sc->st[i]);
	sqlite3_close(sc->db);
	memset(sc, 0, sizeof *sc);
}

/* Take a connection from the pool (opening it on first use); waits while all are busy. */
static struct store_conn *pool_acquire(struct rt_component *c)
{
	struct store_state *st = c->state;
	struct store_conn *sc = NULL;
	pthread_mutex_lock(&st->lock);
	for (;;) {
		for (size_t i = 0; i < st->pool_size; i++)
			if (!st->pool[i].busy) {
				sc = &st->pool[i];
				break;
			}
		if (sc)
			break;
		st->waits++;
		pthread_cond_wait(&st->freed, &st->lock);
	}
	sc->busy = true;
	pthread_mutex_unlock(&st->lock);
	if (!sc->db && conn_open(c, sc)) {
		conn_close(sc);
		pthread_mutex_lock(&st->lock);
		sc->busy = false;
		pthread_mutex_unlock(&st->lock);
		return NULL;
	}
	return sc;
}

static void pool_release(struct rt_component *c, struct store_conn *sc)
{
	struct store_state *st = c->state;
	pthread_mutex_lock(&st->lock);
	sc->busy = false;
	pthread_mutex_unlock(&st->lock);
	pthread_cond_signal(&st->freed);
}

static int store_init(struct rt_component *c)
{
	struct store_state *st = calloc(1, sizeof *st);
	sqlite3 *db = NULL;
	char sql[512];
	const char *table;

	if (!st)
		return rt_fail(c, "out of memory");
	c->state = st;
	pthread_mutex_init(&st->lock, NULL);
	pthread_cond_init(&st->freed, NULL);
	table = rt_cfg_str(c, "table_name", c->def->name);
	if (!valid_ident(table))
		return rt_fail(c, "table_name '%s' must be letters, digits and _", table);
	snprintf(st->table, sizeof st->table, "%s", table);
	rt_sqlite_path(c, rt_cfg_str(c, "database_url", ""), st->path, sizeof st->path);
	st->busy_timeout = (int)rt_cfg_num(c, "busy_timeout_ms", 5000);
	st->pool_size = (size_t)rt_cfg_num(c, "pool_size", 10);
	if (st->pool_size < 1)
		st->pool_size = 1;
	st->pool = calloc(st->pool_size, sizeof *st->pool);
	if (!st->pool)
		return rt_fail(c, "out of memory");
	st->respond = rt_port_bound(c, "response", false);
	if (sqlite3_open(st->path, &db) != SQLITE_OK) {
		rt_fail(c, "cannot open %s: %s", st->path, sqlite3_errmsg(db));
		sqlite3_close(db);
		return -1;
	}
	snprintf(sql, sizeof sql, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
		 "CREATE TABLE IF NOT EXISTS \"%s\"(id TEXT PRIMARY KEY, data TEXT NOT NULL, "
		 "created_at TEXT, updated_at TEXT)", st->table);
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK) {
		rt_fail(c, "sqlite %s: %s", st->path, sqlite3_errmsg(db));
		sqlite3_close(db);
		return -1;
	}
	sqlite3_close(db);
	rt_log(c, "info", NULL, "store ready",
	       json_pack("{s:s, s:s, s:i}", "database", st->path, "table", st->table, "pool_size",
			 (int)st->pool_size));
	return 0;
}

static json_t *reply(int status, json_t *data, const char *error)
{
	json_t *r = json_pack("{s:i}", "status", status);
	if (data)
		json_object_set_new(r, "data", data);
	if (error)
		json_object_set_new(r, "error", json_string(error));
	return r;
}

static json_t *row_doc(sqlite3_stmt *s)
{
	const char *text = (const char *)sqlite3_column_text(s, 0);
	return text ? json_loads(text, 0, NULL) : NULL;
}

static json_t *do_get(struct store_conn *sc, const char *id)
{
	sqlite3_stmt *s = sc->st[ST_GET];
	json_t *doc = NULL;
	sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
	if (sqlite3_step(s) == SQLITE_ROW)
		doc = row_doc(s);
	sqlite3_reset(s);
	return doc;
}

static int write_doc(struct store_conn *sc, int which, const char *id, json_t *doc)
{
	sqlite3_stmt *s = sc->st[which];
	char ts[40], *text = json_dumps(doc, JSON_COMPACT);
	int rc;
	if (!text)
		return SQLITE_NOMEM;
	rt_iso_now(ts, sizeof ts);
	sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, text, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, ts, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	free(text);
	return rc;
}

static json_t *store_command(struct rt_component *c, struct store_conn *sc, json_t *msg)
{
	const char *action = json_string_value(json_object_get(msg, "action"));
	json_t *idv = json_object_get(msg, "id"), *data = json_object_get(msg, "data");
	char id[256] = "";
	int rc;

	if (!action) {   /* a plain document flowing into the store */
		action = "create";
		data = msg;
		idv = json_object_get(msg, "id");
	}
	if (json_is_string(idv))
		snprintf(id, sizeof id, "%s", json_string_value(idv));
	else if (json_is_integer(idv))
		snprintf(id, sizeof id, "%lld", (long long)json_integer_value(idv));

	if (!strcmp(action, "create")) {
		json_t *doc;
		if (!json_is_object(data))
			return reply(400, NULL, "data must be a JSON object");
		if (!id[0] && json_is_string(json_object_get(data, "id")))
			snprintf(id, sizeof id, "%s", json_string_value(json_object_get(data, "id")));
		if (!id[0]) {
			rt_random_hex(id, 16);
		}
		doc = json_deep_copy(data);
		json_object_set_new(doc, "id", json_string(id));
		rc = write_doc(sc, ST_INSERT, id, doc);
		if (rc == SQLITE_CONSTRAINT) {
			json_decref(doc);
			return reply(409, NULL, "a document with this id exists");
		}
		if (rc != SQLITE_DONE) {
			json_decref(doc);
			rt_fail(c, "insert failed: %s", sqlite3_errmsg(sc->db));
			return NULL;
		}
		return reply(201, doc, NULL);
	}
	if (!strcmp(action, "list")) {
		sqlite3_stmt *s = sc->st[ST_LIST];
		json_t *arr = json_array();
		json_int_t limit = json_integer_value(json_object_get(msg, "limit"));
		json_int_t offset = json_integer_value(json_object_get(msg, "offset"));
		sqlite3_bind_int64(s, 1, limit > 0 && limit <= 1000 ? limit : 100);
		sqlite3_bind_int64(s, 2, offset > 0 ? offset : 0);
		while (sqlite3_step(s) == SQLITE_ROW) {
			json_t *d = row_doc(s);
			if (d)
				json_array_append_new(arr, d);
		}
		sqlite3_reset(s);
		return reply(200, arr, NULL);
	}
	if (!id[0])
		return reply(400, NULL, "id is required");
	if (!strcmp(action, "get")) {
		json_t *doc = do_get(sc, id);
		return doc ? reply(200, doc, NULL) : reply(404, NULL, "not found");
	}
	if (!strcmp(action, "update")) {
		json_t *doc;
		if (!json_is_object(data))
			return reply(400, NULL, "data must be a JSON object");
		doc = do_get(sc, id);
		if (!doc)
			return reply(404, NULL, "not found");
		json_object_update(doc, data);
		json_object_set_new(doc, "id", json_string(id));
		if (write_doc(sc, ST_UPDATE, id, doc) != SQLITE_DONE) {
			json_decref(doc);
			rt_fail(c, "update failed: %s", sqlite3_errmsg(sc->db));
			return NULL;
		}
		return reply(200, doc, NULL);
	}
	if (!strcmp(action, "delete")) {
		sqlite3_stmt *s = sc->st[ST_DELETE];
		sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
		rc = sqlite3_step(s);
		sqlite3_reset(s);
		if (rc != SQLITE_DONE) {
			rt_fail(c, "delete failed: %s", sqlite3_errmsg(sc->db));
			return NULL;
		}
		if (!sqlite3_changes(sc->db))
			return reply(404, NULL, "not found");
		return reply(200, json_pack("{s:s, s:b}", "id", id, "deleted", 1), NULL);
	}
	return reply(400, NULL, "unknown action (create, get, update, delete, list)");
}

static int store_process(struct rt_component *c, struct rt_msg *m)
{
	struct store_state *st = c->state;
	struct store_conn *sc;
	json_t *r;

	if (!json_is_object(m->data))
		return rt_fail(c, "message is not a JSON object");
	sc = pool_acquire(c);
	if (!sc) {
		rt_set_unhealthy(c, c->last_error);
		return -1;
	}
	r = store_command(c, sc, m->data);
	pool_release(c, sc);
	if (!r) {
		/* storage failure: tell a waiting client now, then let the retry policy run */
		rt_reply(c, m, 500, json_pack("{s:s}", "error", "storage error"));
		return -1;
	}
	if (st->respond)
		return rt_emit(c, "response", m, r);
	json_decref(r);
	return 0;
}

static void store_fini(struct rt_component *c)
{
	struct store_state *st = c->state;
	if (st->pool)
		for (size_t i = 0; i < st->pool_size; i++)
			conn_close(&st->pool[i]);
	free(st->pool);
	pthread_mutex_destroy(&st->lock);
	pthread_cond_destroy(&st->freed);
	free(st);
	c->state = NULL;
}

const struct rt_type_ops rt_store_ops = {
	.type_name = "Store", .init = store_init, .process = store_process, .fini = store_fini,
};

/* ================================================================ Controller */

static const char *action_for(const char *method, bool has_id)
{
	if (!strcmp(method, "POST"))
		return has_id ? NULL : "create";
	if (!strcmp(method, "GET"))
		return has_id ? "get" : "list";
	if (!strcmp(method, "PUT") || !strcmp(method, "PATCH"))
		return has_id ? "update" : NULL;
	if (!strcmp(method, "DELETE"))
		return has_id ? "delete" : NULL;
	return NULL;
}

static int controller_process(struct rt_component *c, struct rt_msg *m)
{
	json_t *msg = m->data, *cmd, *req, *alias, *f;
	const char *method = json_string_value(json_object_get(msg, "method"));
	const char *action;
	json_t *idv = json_object_get(msg, "id"), *body = json_object_get(msg, "body");
	size_t i;

	if (!method) {
		/* already a command (or a pipeline message): map action aliases, pass it on */
		const char *a = json_string_value(json_object_get(msg, "action"));
		alias = a ? json_object_get(json_object_get(c->config, "actions"), a) : NULL;
		if (json_is_string(alias))
			json_object_set(msg, "action", alias);
		cmd = json_incref(msg);
	} else {
		action = action_for(method, idv && !json_is_null(idv));
		if (!action) {
			rt_reply(c, m, 405, json_pack("{s:s, s:s}", "error", "method not allowed",
						      "method", method));
			return 0;
		}
		if ((!strcmp(action, "create") || !strcmp(action, "update")) &&
		    !json_is_object(body)) {
			rt_reply(c, m, 400, json_pack("{s:s}", "error",
						      "request body must be a JSON object"));
			return 0;
		}
		req = json_object_get(c->config, "required_fields");
		if (!strcmp(action, "create")) {
			json_array_foreach(req, i, f) {
				const char *name = json_string_value(f);
				json_t *v = name ? json_object_get(body, name) : NULL;
				if (name && (!v || json_is_null(v))) {
					char why[300];
					snprintf(why, sizeof why, "missing required field '%s'", name);
					rt_reply(c, m, 400, json_pack("{s:s, s:s}", "error", why,
								      "field", name));
					return 0;
				}
			}
		}
		cmd = json_pack("{s:s}", "action", action);
		if (idv && !json_is_null(idv))
			json_object_set(cmd, "id", idv);
		if (body && json_is_object(body))
			json_object_set(cmd, "data", body);
		json_t *q = json_object_get(msg, "query");
		if (json_is_object(q)) {
			json_t *lim = json_object_get(q, "limit"), *off = json_object_get(q, "offset");
			if (json_is_string(lim))
				json_object_set_new(cmd, "limit",
						    json_integer(strtoll(json_string_value(lim), NULL, 10)));
			if (json_is_string(off))
				json_object_set_new(cmd, "offset",
						    json_integer(strtoll(json_string_value(off), NULL, 10)));
		}
	}
	/* Queue the command: 1 + max_retries attempts sharing `timeout` seconds; a store that
	 * stays overloaded that long gets the client a 503 instead of an unbounded wait. */
	int attempts = 1 + (int)rt_cfg_num(c, "max_retries", 3);
	int per_ms = (int)(rt_cfg_num(c, "timeout", 30) * 1000 / attempts);
	for (int a = 1; a <= attempts; a++) {
		if (rt_emit_timeout(c, m, json_incref(cmd), per_ms > 0 ? per_ms : 1) == 0) {
			json_decref(cmd);
			return 0;
		}
		if (atomic_load(&rt_sys->stopping))
			break;
	}
	json_decref(cmd);
	rt_reply(c, m, 503, json_pack("{s:s}", "error", "store unavailable"));
	return rt_fail(c, "could not queue the command for the store in %d attempts", attempts);
}

const struct rt_type_ops rt_controller_ops = {
	.type_name = "Controller", .process = controller_process,
};

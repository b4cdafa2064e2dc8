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
 * Readers (rt_store_reader_*, below) give other threads — an APIEndpoint's direct reads —
 * their own read-only connections that see every write the store has acknowledged.
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

/* The two reads, shared by the store's own connections and the readers of APIEndpoints. */
#define GET_SQL "SELECT data FROM \"%s\" WHERE id = ?1"
#define LIST_SQL "SELECT data FROM \"%s\" ORDER BY rowid LIMIT ?1 OFFSET ?2"

struct store_conn {
	sqlite3 *db;
	sqlite3_stmt *st[ST_COUNT];
	bool busy;
};

struct store_state {
	char path[1024];
	char table[64];
	int busy_timeout;
	double slow;              /* seconds: a slower command is reported (slow_ms) */
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

/* rt_fail with SQLite's message and, when there is one, the system error that caused it
 * (EMFILE: out of descriptors, ENOENT, EACCES...): "cannot open X: unable to open database
 * file; EMFILE (Too many open files)". */
static int sqlite_failure(struct rt_component *c, sqlite3 *db, const char *what)
{
	int e = sqlite3_system_errno(db);
	char why[160] = "";
	if (e)
		rt_errno_text(e, why, sizeof why);
	return rt_fail(c, "%s: %s%s%s", what, sqlite3_errmsg(db), e ? "; " : "", why);
}

static int conn_open(struct rt_component *c, struct store_conn *sc)
{
	struct store_state *st = c->state;
	char sql[ST_COUNT][256];
	if (sqlite3_open_v2(st->path, &sc->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
			    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		char what[1100];
		snprintf(what, sizeof what, "cannot open %s", st->path);
		return sqlite_failure(c, sc->db, what);
	}
	sqlite3_busy_timeout(sc->db, st->busy_timeout);
	/* Normal (not exclusive) locking: APIEndpoints read this file concurrently through
	 * their own connections (rt_store_reader below); WAL keeps them from blocking writes. */
	snprintf(sql[ST_INSERT], 256, "INSERT INTO \"%s\"(id, data, created_at, updated_at) "
		 "VALUES (?1, ?2, ?3, ?3)", st->table);
	snprintf(sql[ST_GET], 256, GET_SQL, st->table);
	snprintf(sql[ST_UPDATE], 256, "UPDATE \"%s\" SET data = ?2, updated_at = ?3 WHERE id = ?1",
		 st->table);
	snprintf(sql[ST_DELETE], 256, "DELETE FROM \"%s\" WHERE id = ?1", st->table);
	snprintf(sql[ST_LIST], 256, LIST_SQL, st->table);
	for (int i = 0; i < ST_COUNT; i++)
		if (sqlite3_prepare_v3(sc->db, sql[i], -1, SQLITE_PREPARE_PERSISTENT, &sc->st[i],
				       NULL) != SQLITE_OK)
			return sqlite_failure(c, sc->db, "sqlite prepare");
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
		atomic_fetch_add_explicit(&c->pool_waits, 1, memory_order_relaxed);
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
	st->slow = rt_cfg_num(c, "slow_ms", 1000) / 1000.0;
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

/* Run the prepared GET statement s: the document (new reference) or NULL when there is none
 * or its text does not parse; *rc gets the step's result (SQLITE_ROW, SQLITE_DONE or an error). */
static json_t *read_doc(sqlite3_stmt *s, const char *id, int *rc)
{
	json_t *doc = NULL;
	sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
	*rc = sqlite3_step(s);
	if (*rc == SQLITE_ROW)
		doc = row_doc(s);
	sqlite3_reset(s);
	return doc;
}

static json_t *do_get(struct store_conn *sc, const char *id)
{
	int rc;
	return read_doc(sc->st[ST_GET], id, &rc);
}

/* Run the prepared LIST statement s with the list command's limit (1..1000, default 100) and
 * offset (default 0): a new array of the documents read; *rc gets the last step's result
 * (SQLITE_DONE when the page is complete). */
static void bind_page(sqlite3_stmt *s, json_int_t limit, json_int_t offset)
{
	sqlite3_bind_int64(s, 1, limit > 0 && limit <= 1000 ? limit : 100);
	sqlite3_bind_int64(s, 2, offset > 0 ? offset : 0);
}

static json_t *read_page(sqlite3_stmt *s, json_int_t limit, json_int_t offset, int *rc)
{
	json_t *arr = json_array();
	bind_page(s, limit, offset);
	while ((*rc = sqlite3_step(s)) == SQLITE_ROW) {
		json_t *d = row_doc(s);
		if (d)
			json_array_append_new(arr, d);
	}
	sqlite3_reset(s);
	return arr;
}

/* After every write statement: direct readers take a new snapshot before their next read. */
static void note_write(struct rt_component *c)
{
	atomic_fetch_add_explicit(&c->store_writes, 1, memory_order_release);
}

static int write_doc(struct rt_component *c, struct store_conn *sc, int which, const char *id,
		     json_t *doc)
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
	note_write(c);
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
		rc = write_doc(c, sc, ST_INSERT, id, doc);
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
		json_t *arr = read_page(sc->st[ST_LIST],
					json_integer_value(json_object_get(msg, "limit")),
					json_integer_value(json_object_get(msg, "offset")), &rc);
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
		if (write_doc(c, sc, ST_UPDATE, id, doc) != SQLITE_DONE) {
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
		note_write(c);
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

/* A command slower than slow_ms (waiting for a lock or the pool, a slow disk) is reported:
 * the Store itself says it is slow, not only the clients' timeouts. */
static void note_slow(struct rt_component *c, json_t *cmd, double seconds)
{
	struct store_state *st = c->state;
	const char *action = json_string_value(json_object_get(cmd, "action"));
	char msg[128];
	if (st->slow <= 0 || seconds < st->slow)
		return;
	snprintf(msg, sizeof msg, "slow store command: %s took %.0f ms", action ? action : "create",
		 seconds * 1000);
	rt_log(c, "warn", NULL, msg,
	       json_pack("{s:s, s:i, s:i, s:I}", "database", st->path, "slow_ms",
			 (int)(st->slow * 1000), "busy_timeout_ms", st->busy_timeout, "pool_waits",
			 (json_int_t)atomic_load(&c->pool_waits)));
}

static int store_process(struct rt_component *c, struct rt_msg *m)
{
	struct store_state *st = c->state;
	struct store_conn *sc;
	json_t *r;

	if (!json_is_object(m->data))
		return rt_fail(c, "message is not a JSON object");
	double t0 = rt_mono();
	sc = pool_acquire(c);
	if (!sc) {
		rt_set_unhealthy(c, c->last_error);
		/* tell a waiting client now (it waited for request_timeout_ms before) */
		rt_reply(c, m, 500, json_pack("{s:s}", "error", "storage error"));
		return -1;
	}
	r = store_command(c, sc, m->data);
	pool_release(c, sc);
	note_slow(c, m->data, rt_mono() - t0);
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

/* ================================================================ readers */

/* A read-only connection to a Store's file for an APIEndpoint's direct reads (rt_int.h).
 *
 * Starting and ending an SQLite read transaction per query costs several fcntl() lock calls
 * and WAL-index work — most of a GET by id. So a reader keeps its read transaction (its
 * snapshot) open across queries and renews it only when the store has written since: the
 * store counts its write statements (rt_component.store_writes, bumped after each statement
 * completes and before the reply is emitted), and the reader compares that count with the one
 * it saw before its snapshot began. A client that got a write's reply therefore always reads
 * a snapshot that contains the write. WAL lets the store write while snapshots are open; an
 * open snapshot only keeps the WAL from being reset, so rt_store_reader_idle() (called from
 * the endpoint's tick, ~10 times a second) ends snapshots that are stale or older than
 * max_age. The lock orders the reader's own thread against that call. */
struct rt_store_reader {
	sqlite3 *db;
	sqlite3_stmt *get, *list, *begin, *end;
	atomic_ullong *writes;      /* the store's write count */
	unsigned long long gen;     /* its value before the open snapshot began */
	double since;               /* when the snapshot began (rt_mono) */
	bool open;                  /* a read transaction is open */
	pthread_mutex_t lock;
};

static void reader_end(struct rt_store_reader *r)
{
	if (!r->open)
		return;
	sqlite3_step(r->end);
	sqlite3_reset(r->end);
	r->open = false;
}

/* Make sure an up-to-date read transaction is open. 0 or -1 (SQLite failed). */
static int reader_snapshot(struct rt_store_reader *r)
{
	unsigned long long gen = atomic_load_explicit(r->writes, memory_order_acquire);
	int rc;
	if (r->open && gen == r->gen)
		return 0;
	reader_end(r);
	/* BEGIN is deferred: the snapshot is taken by the first query, after gen was read */
	rc = sqlite3_step(r->begin);
	sqlite3_reset(r->begin);
	if (rc != SQLITE_DONE)
		return -1;
	r->open = true;
	r->gen = gen;
	r->since = rt_mono();
	return 0;
}

void rt_store_reader_close(struct rt_store_reader *r)
{
	if (!r)
		return;
	if (r->db)
		reader_end(r);
	sqlite3_finalize(r->get);
	sqlite3_finalize(r->list);
	sqlite3_finalize(r->begin);
	sqlite3_finalize(r->end);
	sqlite3_close(r->db);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

static int reader_prepare(struct rt_store_reader *r, const char *sql, sqlite3_stmt **out)
{
	return sqlite3_prepare_v3(r->db, sql, -1, SQLITE_PREPARE_PERSISTENT, out, NULL);
}

struct rt_store_reader *rt_store_reader_open(struct rt_component *store)
{
	struct store_state *st = store->state;
	struct rt_store_reader *r;
	char sql[2][256];

	if (!st || store->def->type != RT_STORE)
		return NULL;
	r = calloc(1, sizeof *r);
	if (!r)
		return NULL;
	pthread_mutex_init(&r->lock, NULL);
	r->writes = &store->store_writes;
	snprintf(sql[0], sizeof sql[0], GET_SQL, st->table);
	snprintf(sql[1], sizeof sql[1], LIST_SQL, st->table);
	if (sqlite3_open_v2(st->path, &r->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
			    NULL) != SQLITE_OK ||
	    sqlite3_busy_timeout(r->db, st->busy_timeout) != SQLITE_OK ||
	    sqlite3_exec(r->db, "PRAGMA query_only=1", NULL, NULL, NULL) != SQLITE_OK ||
	    reader_prepare(r, sql[0], &r->get) != SQLITE_OK ||
	    reader_prepare(r, sql[1], &r->list) != SQLITE_OK ||
	    reader_prepare(r, "BEGIN", &r->begin) != SQLITE_OK ||
	    reader_prepare(r, "COMMIT", &r->end) != SQLITE_OK) {
		rt_store_reader_close(r);
		return NULL;
	}
	return r;
}

/* Run the reader's GET for key: the stored text copied (when text is non-NULL and it is
 * canonical, rt_json_canonical) or parsed into *doc, like row_doc. The step's result. */
static int reader_read(struct rt_store_reader *r, const char *key, json_t **doc, char **text,
		       size_t *len)
{
	sqlite3_stmt *s = r->get;
	int rc;
	sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		const char *t = (const char *)sqlite3_column_text(s, 0);
		size_t n = (size_t)sqlite3_column_bytes(s, 0);
		if (t && text && rt_json_canonical(t, n) && (*text = malloc(n ? n : 1))) {
			memcpy(*text, t, n);
			*len = n;
		} else if (t) {
			*doc = json_loads(t, 0, NULL);
		}
	}
	sqlite3_reset(s);
	return rc;
}

int rt_store_reader_get(struct rt_store_reader *r, const char *id, json_t **doc, char **text,
			size_t *len)
{
	char key[256];
	int rc = -1, step;
	*doc = NULL;
	if (text)
		*text = NULL;
	snprintf(key, sizeof key, "%s", id);   /* the store's command keeps 255 bytes of an id */
	pthread_mutex_lock(&r->lock);
	if (reader_snapshot(r) == 0) {
		step = reader_read(r, key, doc, text, len);
		rc = step == SQLITE_ROW || step == SQLITE_DONE ? 0 : -1;
	}
	if (rc) {
		reader_end(r);   /* start afresh next time */
		json_decref(*doc);
		*doc = NULL;
		if (text) {
			free(*text);
			*text = NULL;
		}
	}
	pthread_mutex_unlock(&r->lock);
	return rc;
}

/* The page as "[" text "," text ... "]" of its stored texts — what serialising the parsed
 * array gives when every row is canonical: 1 with *text (malloc'd) and *len, 0 when a row is
 * not canonical (nothing returned), -1 when SQLite or memory failed. */
static int read_page_text(sqlite3_stmt *s, json_int_t limit, json_int_t offset, char **text,
			  size_t *len)
{
	size_t n = 1, cap = 1024;
	char *b = malloc(cap);
	int rc = 1, step;
	if (!b)
		return -1;
	b[0] = '[';
	bind_page(s, limit, offset);
	while (rc == 1 && (step = sqlite3_step(s)) == SQLITE_ROW) {
		const char *t = (const char *)sqlite3_column_text(s, 0);
		size_t tn = (size_t)sqlite3_column_bytes(s, 0);
		if (!t || !rt_json_canonical(t, tn)) {
			rc = 0;
		} else if (n + tn + 2 > cap) {
			char *nb;
			cap = (n + tn + 2) * 2;
			nb = realloc(b, cap);
			rc = nb ? 1 : -1;
			b = nb ? nb : b;
		}
		if (rc == 1) {
			if (n > 1)
				b[n++] = ',';
			memcpy(b + n, t, tn);
			n += tn;
		}
	}
	sqlite3_reset(s);
	if (rc == 1 && step != SQLITE_DONE)
		rc = -1;
	if (rc != 1) {
		free(b);
		return rc;
	}
	b[n++] = ']';
	*text = b;
	*len = n;
	return 1;
}

int rt_store_reader_list(struct rt_store_reader *r, json_int_t limit, json_int_t offset,
			 json_t **arr, char **text, size_t *len)
{
	int rc = -1, step, raw = 0;
	*arr = NULL;
	if (text)
		*text = NULL;
	pthread_mutex_lock(&r->lock);
	if (reader_snapshot(r) == 0) {
		/* the same snapshot serves the second pass when a row needs parsing */
		raw = text ? read_page_text(r->list, limit, offset, text, len) : 0;
		if (raw == 1) {
			rc = 0;
		} else if (raw == 0) {
			*arr = read_page(r->list, limit, offset, &step);
			rc = step == SQLITE_DONE ? 0 : -1;
		}
	}
	if (rc) {
		reader_end(r);
		json_decref(*arr);
		*arr = NULL;
	}
	pthread_mutex_unlock(&r->lock);
	return rc;
}

void rt_store_reader_idle(struct rt_store_reader *r, double now, double max_age)
{
	if (pthread_mutex_trylock(&r->lock))
		return;   /* in use right now: its thread renews the snapshot itself */
	if (r->open && (now - r->since >= max_age ||
			atomic_load_explicit(r->writes, memory_order_acquire) != r->gen))
		reader_end(r);
	pthread_mutex_unlock(&r->lock);
}

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

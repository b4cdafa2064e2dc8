/*
 * keys.c — projects and their keys, and the cache the server authenticates with.
 *
 * A key has a public part (32 hex; the user part of a Sentry DSN, sent by SDKs as
 * sentry_key) and a secret token ("act_" + 40 hex; sent as Authorization: Bearer). Both
 * authorise ingest and reads for the key's project. Keys are created by `autocoder keys`
 * on the database file while the server may be running, so the cache looks unknown keys
 * up in the database (at most once per second per key) instead of loading keys at start.
 */
#include "core/common.h"
#include "core/db.h"
#include "collector/internal.h"

#include <pthread.h>

static int ensure_project(sqlite3 *db, const char *name, long long *id, struct ac_error *err)
{
	sqlite3_stmt *st = NULL;
	int rc = 0;

	if (sqlite3_prepare_v2(db, "INSERT INTO projects(name, created_at) VALUES(?, ?)"
				   " ON CONFLICT(name) DO NOTHING", -1, &st, NULL) != SQLITE_OK)
		return ac_db_error(db, err, "creating project");
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_double(st, 2, ac_now());
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = ac_db_error(db, err, "creating project");
	sqlite3_finalize(st);
	if (rc)
		return rc;
	if (sqlite3_prepare_v2(db, "SELECT id FROM projects WHERE name = ?", -1, &st, NULL) != SQLITE_OK)
		return ac_db_error(db, err, "reading project");
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		*id = sqlite3_column_int64(st, 0);
	else
		rc = ac_db_error(db, err, "reading project");
	sqlite3_finalize(st);
	return rc;
}

static bool valid_project_name(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n > 100)
		return false;
	for (const char *p = name; *p; p++)
		if (!(*p >= 'a' && *p <= 'z') && !(*p >= 'A' && *p <= 'Z') && !(*p >= '0' && *p <= '9') &&
		    *p != '-' && *p != '_' && *p != '.')
			return false;
	return true;
}

int collector_key_create(const char *db_path, const char *name, struct collector_key *out,
			 struct ac_error *err)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int rc;

	if (!valid_project_name(name))
		return ac_error_set(err, AC_EINVAL, "invalid_name",
				    "project name '%s' must be 1-100 letters, digits, '-', '_' or '.'", name);
	memset(out, 0, sizeof *out);
	db = ac_db_open(db_path, AC_DB_WRITE, err);
	if (!db)
		return AC_EDB;
	if ((rc = ac_db_exec(db, "BEGIN IMMEDIATE", err)))
		goto out;
	if ((rc = ensure_project(db, name, &out->project_id, err)))
		goto rollback;
	snprintf(out->project, sizeof out->project, "%s", name);
	ac_random_hex(out->public_key, 16);
	memcpy(out->token, "act_", 4);
	ac_random_hex(out->token + 4, 20);
	out->created_at = ac_now();
	if (sqlite3_prepare_v2(db, "INSERT INTO keys(project_id, public_key, token, scope, created_at)"
				   " VALUES(?, ?, ?, 'ingest,read', ?)", -1, &st, NULL) != SQLITE_OK) {
		rc = ac_db_error(db, err, "creating key");
		goto rollback;
	}
	sqlite3_bind_int64(st, 1, out->project_id);
	sqlite3_bind_text(st, 2, out->public_key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, out->token, -1, SQLITE_STATIC);
	sqlite3_bind_double(st, 4, out->created_at);
	if (sqlite3_step(st) != SQLITE_DONE) {
		rc = ac_db_error(db, err, "creating key");
		goto rollback;
	}
	rc = ac_db_exec(db, "COMMIT", err);
	goto out;
rollback:
	ac_db_exec(db, "ROLLBACK", NULL);
out:
	sqlite3_finalize(st);
	ac_db_close(db);
	return rc;
}

int collector_key_list(const char *db_path,
		       void (*fn)(const struct collector_key *k, void *arg), void *arg,
		       struct ac_error *err)
{
	sqlite3 *db = ac_db_open(db_path, AC_DB_WRITE, err);
	sqlite3_stmt *st = NULL;
	int rc = 0, step;

	if (!db)
		return AC_EDB;
	if (sqlite3_prepare_v2(db, "SELECT p.id, p.name, k.public_key, k.token, k.created_at, k.revoked"
				   " FROM keys k JOIN projects p ON p.id = k.project_id ORDER BY k.id",
			       -1, &st, NULL) != SQLITE_OK) {
		rc = ac_db_error(db, err, "listing keys");
		goto out;
	}
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		struct collector_key k;
		memset(&k, 0, sizeof k);
		k.project_id = sqlite3_column_int64(st, 0);
		snprintf(k.project, sizeof k.project, "%s", (const char *)sqlite3_column_text(st, 1));
		snprintf(k.public_key, sizeof k.public_key, "%s", (const char *)sqlite3_column_text(st, 2));
		snprintf(k.token, sizeof k.token, "%s", (const char *)sqlite3_column_text(st, 3));
		k.created_at = sqlite3_column_double(st, 4);
		k.revoked = sqlite3_column_int(st, 5) != 0;
		fn(&k, arg);
	}
	if (step != SQLITE_DONE)
		rc = ac_db_error(db, err, "listing keys");
out:
	sqlite3_finalize(st);
	ac_db_close(db);
	return rc;
}

int collector_key_revoke(const char *db_path, const char *key, struct ac_error *err)
{
	sqlite3 *db = ac_db_open(db_path, AC_DB_WRITE, err);
	sqlite3_stmt *st = NULL;
	int rc = 0;

	if (!db)
		return AC_EDB;
	if (sqlite3_prepare_v2(db, "UPDATE keys SET revoked = 1 WHERE public_key = ?1 OR token = ?1",
			       -1, &st, NULL) != SQLITE_OK) {
		rc = ac_db_error(db, err, "revoking key");
		goto out;
	}
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = ac_db_error(db, err, "revoking key");
	else if (sqlite3_changes(db) == 0)
		rc = ac_error_set(err, AC_ENOTFOUND, "not_found", "no key '%s'", key);
out:
	sqlite3_finalize(st);
	ac_db_close(db);
	return rc;
}

/* ---- the cache ---- */

#define CACHE_SLOTS 256

struct cache_entry {
	char key[64];
	long long project_id;     /* 0 = known not to exist (negative entry) */
	char project[128];
	double checked_at;
};

struct key_cache {
	pthread_mutex_t lock;
	char *db_path;
	struct cache_entry slots[CACHE_SLOTS];
};

struct key_cache *key_cache_new(const char *db_path)
{
	struct key_cache *kc = calloc(1, sizeof *kc);
	if (!kc)
		return NULL;
	kc->db_path = strdup(db_path);
	if (!kc->db_path) {
		free(kc);
		return NULL;
	}
	pthread_mutex_init(&kc->lock, NULL);
	return kc;
}

void key_cache_free(struct key_cache *kc)
{
	if (!kc)
		return;
	pthread_mutex_destroy(&kc->lock);
	free(kc->db_path);
	free(kc);
}

static unsigned slot_of(const char *key)
{
	unsigned h = 2166136261u;
	for (const char *p = key; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	return h % CACHE_SLOTS;
}

static int key_lookup_db(const char *db_path, const char *key, struct cache_entry *e)
{
	struct ac_error err;
	sqlite3 *db = ac_db_open(db_path, AC_DB_READ, &err);
	sqlite3_stmt *st = NULL;
	int rc = 0;

	if (!db)
		return AC_EDB;
	if (sqlite3_prepare_v2(db, "SELECT p.id, p.name FROM keys k JOIN projects p ON p.id = k.project_id"
				   " WHERE (k.public_key = ?1 OR k.token = ?1) AND k.revoked = 0",
			       -1, &st, NULL) != SQLITE_OK) {
		rc = AC_EDB;
		goto out;
	}
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	e->project_id = 0;
	if (sqlite3_step(st) == SQLITE_ROW) {
		e->project_id = sqlite3_column_int64(st, 0);
		snprintf(e->project, sizeof e->project, "%s", (const char *)sqlite3_column_text(st, 1));
	}
out:
	sqlite3_finalize(st);
	ac_db_close(db);
	return rc;
}

int key_cache_lookup(struct key_cache *kc, const char *key, long long *project_id,
		     char *project_name, size_t name_len)
{
	struct cache_entry *e, fresh;
	double now = ac_now();
	int rc;

	if (!key || !*key || strlen(key) >= sizeof e->key)
		return AC_EAUTH;
	pthread_mutex_lock(&kc->lock);
	e = &kc->slots[slot_of(key)];
	/* positive entries are rechecked every 5 s so a revoked key stops working quickly */
	if (!strcmp(e->key, key) && now - e->checked_at < (e->project_id ? 5.0 : 1.0)) {
		fresh = *e;
		pthread_mutex_unlock(&kc->lock);
		goto found;
	}
	pthread_mutex_unlock(&kc->lock);
	memset(&fresh, 0, sizeof fresh);
	snprintf(fresh.key, sizeof fresh.key, "%s", key);
	if ((rc = key_lookup_db(kc->db_path, key, &fresh)))
		return rc;
	fresh.checked_at = now;
	pthread_mutex_lock(&kc->lock);
	kc->slots[slot_of(key)] = fresh;
	pthread_mutex_unlock(&kc->lock);
found:
	if (!fresh.project_id)
		return AC_EAUTH;
	*project_id = fresh.project_id;
	if (project_name)
		snprintf(project_name, name_len, "%s", fresh.project);
	return 0;
}

/*
 * keys.c — projects, their DSN keys and tokens, and the cache the server authenticates with.
 *
 * A DSN key is the public part of a Sentry DSN (32 hex, sent by SDKs as sentry_key): public by
 * design, it may only ingest. A token ("act_" + 40 hex, sent as Authorization: Bearer) has a
 * role: "read" (ingest and read the project) or "admin" (also change clusters). Tokens are
 * stored as SHA-256 hex (table tokens), so a copied database file hands out no working token;
 * the secret is printed once at creation. Keys are created by `autocoder keys` on the database
 * file while the server may be running, so the cache looks unknown credentials up in the
 * database and keeps every answer at most 1 s (a revocation takes effect within a second).
 * The cache is indexed by the credential's SHA-256 and compares digests in constant time.
 */
#include "core/common.h"
#include "core/db.h"
#include "core/sha256.h"
#include "collector/internal.h"

#include <pthread.h>

static int ensure_project(ac_sql *db, const char *name, long long *id, struct ac_error *err)
{
	ac_sql_stmt *st = NULL;
	int rc = 0;

	if (ac_sql_prepare_v2(db, "INSERT INTO projects(name, created_at) VALUES(?, ?)"
				   " ON CONFLICT(name) DO NOTHING", -1, &st, NULL) != AC_SQL_OK)
		return ac_db_error(db, err, "creating project");
	ac_sql_bind_text(st, 1, name, -1, AC_SQL_STATIC);
	ac_sql_bind_double(st, 2, ac_now());
	if (ac_sql_step(st) != AC_SQL_DONE)
		rc = ac_db_error(db, err, "creating project");
	ac_sql_finalize(st);
	if (rc)
		return rc;
	if (ac_sql_prepare_v2(db, "SELECT id FROM projects WHERE name = ?", -1, &st, NULL) != AC_SQL_OK)
		return ac_db_error(db, err, "reading project");
	ac_sql_bind_text(st, 1, name, -1, AC_SQL_STATIC);
	if (ac_sql_step(st) == AC_SQL_ROW)
		*id = ac_sql_column_int64(st, 0);
	else
		rc = ac_db_error(db, err, "reading project");
	ac_sql_finalize(st);
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

static int insert_token(ac_sql *db, long long project_id, const char *role, char *secret,
			size_t n, struct ac_error *err)
{
	char hex[2 * AC_SHA256_LEN + 1];
	ac_sql_stmt *st = NULL;
	int rc = 0;

	if (n < 45)
		return ac_error_set(err, AC_EINVAL, "internal", "token buffer too small");
	memcpy(secret, "act_", 4);
	ac_random_hex(secret + 4, 20);
	ac_sha256_hex(secret, strlen(secret), hex);
	if (ac_sql_prepare_v2(db, "INSERT INTO tokens(project_id, role, hash, hint, created_at)"
				   " VALUES(?, ?, ?, ?, ?)", -1, &st, NULL) != AC_SQL_OK)
		return ac_db_error(db, err, "creating token");
	ac_sql_bind_int64(st, 1, project_id);
	ac_sql_bind_text(st, 2, role, -1, AC_SQL_STATIC);
	ac_sql_bind_text(st, 3, hex, -1, AC_SQL_TRANSIENT);
	ac_sql_bind_text(st, 4, secret, 8, AC_SQL_TRANSIENT);
	ac_sql_bind_double(st, 5, ac_now());
	if (ac_sql_step(st) != AC_SQL_DONE)
		rc = ac_db_error(db, err, "creating token");
	ac_sql_finalize(st);
	return rc;
}

static int insert_dsn_key(ac_sql *db, struct collector_key *out, struct ac_error *err)
{
	char placeholder[64];
	ac_sql_stmt *st = NULL;
	int rc = 0;

	ac_random_hex(out->public_key, 16);
	snprintf(placeholder, sizeof placeholder, "dsn:%s", out->public_key);
	if (ac_sql_prepare_v2(db, "INSERT INTO keys(project_id, public_key, token, scope, created_at)"
				   " VALUES(?, ?, ?, 'ingest', ?)", -1, &st, NULL) != AC_SQL_OK)
		return ac_db_error(db, err, "creating key");
	ac_sql_bind_int64(st, 1, out->project_id);
	ac_sql_bind_text(st, 2, out->public_key, -1, AC_SQL_STATIC);
	ac_sql_bind_text(st, 3, placeholder, -1, AC_SQL_TRANSIENT);
	ac_sql_bind_double(st, 4, out->created_at);
	if (ac_sql_step(st) != AC_SQL_DONE)
		rc = ac_db_error(db, err, "creating key");
	ac_sql_finalize(st);
	return rc;
}

static int find_project(ac_sql *db, const char *name, long long *id, struct ac_error *err)
{
	ac_sql_stmt *st = NULL;
	int rc;

	if (ac_sql_prepare_v2(db, "SELECT id FROM projects WHERE name = ?", -1, &st, NULL) != AC_SQL_OK)
		return ac_db_error(db, err, "reading project");
	ac_sql_bind_text(st, 1, name, -1, AC_SQL_STATIC);
	rc = ac_sql_step(st);
	if (rc == AC_SQL_ROW)
		*id = ac_sql_column_int64(st, 0);
	ac_sql_finalize(st);
	if (rc == AC_SQL_ROW)
		return 0;
	if (rc == AC_SQL_DONE)
		return ac_error_set(err, AC_ENOTFOUND, "not_found",
				    "no project '%s' (create it with 'autocoder keys create %s')", name, name);
	return ac_db_error(db, err, "reading project");
}

/* In one write transaction: create the project with a DSN key, a read token and (role
 * "admin") an admin token; or (!create) add one token with role to an existing project. */
static int in_transaction(const char *db_path, struct collector_key *out, const char *name,
			  const char *role, bool create,
			  struct ac_error *err)
{
	ac_sql *db = NULL;
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
	rc = create ? ensure_project(db, name, &out->project_id, err)
		    : find_project(db, name, &out->project_id, err);
	if (rc)
		goto rollback;
	snprintf(out->project, sizeof out->project, "%s", name);
	out->created_at = ac_now();
	if (create && ((rc = insert_dsn_key(db, out, err)) ||
		       (rc = insert_token(db, out->project_id, "read", out->token, sizeof out->token, err))))
		goto rollback;
	if (!create)
		rc = insert_token(db, out->project_id, role, out->token, sizeof out->token, err);
	else if (role)
		rc = insert_token(db, out->project_id, "admin", out->admin_token, sizeof out->admin_token, err);
	if (rc)
		goto rollback;
	rc = ac_db_exec(db, "COMMIT", err);
	goto out;
rollback:
	ac_db_exec(db, "ROLLBACK", NULL);
out:
	ac_db_close(db);
	return rc;
}

int collector_key_create(const char *db_path, const char *name, bool admin,
			 struct collector_key *out, struct ac_error *err)
{
	return in_transaction(db_path, out, name, admin ? "admin" : NULL, true, err);
}

int collector_token_create(const char *db_path, const char *name, const char *role,
			   struct collector_key *out, struct ac_error *err)
{
	if (!role || (strcmp(role, "read") && strcmp(role, "admin")))
		return ac_error_set(err, AC_EINVAL, "invalid_role", "role '%s' must be read or admin",
				    role ? role : "");
	return in_transaction(db_path, out, name, role, false, err);
}

int collector_key_list(const char *db_path,
		       void (*fn)(const struct collector_key *k, void *arg), void *arg,
		       struct ac_error *err)
{
	ac_sql *db = ac_db_open(db_path, AC_DB_WRITE, err);
	ac_sql_stmt *st = NULL;
	int rc = 0, step;

	if (!db)
		return AC_EDB;
	if (ac_sql_prepare_v2(db, "SELECT p.id, p.name, 'dsn', 'ingest', k.public_key, k.created_at,"
				   " k.revoked, k.id FROM keys k JOIN projects p ON p.id = k.project_id"
				   " UNION ALL SELECT p.id, p.name, 'token', t.role, t.hint, t.created_at,"
				   " t.revoked, t.id FROM tokens t JOIN projects p ON p.id = t.project_id"
				   " ORDER BY 1, 6, 8", -1, &st, NULL) != AC_SQL_OK) {
		rc = ac_db_error(db, err, "listing keys");
		goto out;
	}
	while ((step = ac_sql_step(st)) == AC_SQL_ROW) {
		struct collector_key k;
		const char *kind = (const char *)ac_sql_column_text(st, 2);
		const char *role = (const char *)ac_sql_column_text(st, 3);
		const char *id = (const char *)ac_sql_column_text(st, 4);
		memset(&k, 0, sizeof k);
		k.project_id = ac_sql_column_int64(st, 0);
		snprintf(k.project, sizeof k.project, "%s", (const char *)ac_sql_column_text(st, 1));
		k.kind = !strcmp(kind, "dsn") ? "dsn" : "token";
		k.role = !strcmp(role, "admin") ? "admin" : !strcmp(role, "read") ? "read" : "ingest";
		if (!strcmp(k.kind, "dsn"))
			snprintf(k.public_key, sizeof k.public_key, "%s", id);
		else
			snprintf(k.token, sizeof k.token, "%s", id);
		k.created_at = ac_sql_column_double(st, 5);
		k.revoked = ac_sql_column_int(st, 6) != 0;
		fn(&k, arg);
	}
	if (step != AC_SQL_DONE)
		rc = ac_db_error(db, err, "listing keys");
out:
	ac_sql_finalize(st);
	ac_db_close(db);
	return rc;
}

int collector_key_revoke(const char *db_path, const char *key, struct ac_error *err)
{
	char hex[2 * AC_SHA256_LEN + 1];
	ac_sql *db = ac_db_open(db_path, AC_DB_WRITE, err);
	ac_sql_stmt *st = NULL;
	bool token = !strncmp(key, "act_", 4);
	int rc = 0;

	if (!db)
		return AC_EDB;
	ac_sha256_hex(key, strlen(key), hex);
	if (ac_sql_prepare_v2(db, token ? "UPDATE tokens SET revoked = 1 WHERE hash = ?1"
					 : "UPDATE keys SET revoked = 1 WHERE public_key = ?1",
			       -1, &st, NULL) != AC_SQL_OK) {
		rc = ac_db_error(db, err, "revoking key");
		goto out;
	}
	ac_sql_bind_text(st, 1, token ? hex : key, -1, AC_SQL_STATIC);
	if (ac_sql_step(st) != AC_SQL_DONE)
		rc = ac_db_error(db, err, "revoking key");
	else if (ac_sql_changes(db) == 0)
		rc = ac_error_set(err, AC_ENOTFOUND, "not_found", "no key or token '%.48s'", key);
out:
	ac_sql_finalize(st);
	ac_db_close(db);
	return rc;
}

int collector_project_privacy(const char *db_path, const char *name, int scrub_user,
			      bool *now, struct ac_error *err)
{
	ac_sql *db = ac_db_open(db_path, AC_DB_WRITE, err);
	ac_sql_stmt *st = NULL;
	int rc = 0, step;

	if (!db)
		return AC_EDB;
	if (scrub_user >= 0) {
		if (ac_sql_prepare_v2(db, "UPDATE projects SET scrub_user = ?2 WHERE name = ?1", -1, &st,
				       NULL) != AC_SQL_OK) {
			rc = ac_db_error(db, err, "changing project");
			goto out;
		}
		ac_sql_bind_text(st, 1, name, -1, AC_SQL_STATIC);
		ac_sql_bind_int(st, 2, scrub_user);
		if (ac_sql_step(st) != AC_SQL_DONE) {
			rc = ac_db_error(db, err, "changing project");
			goto out;
		}
		ac_sql_finalize(st);
		st = NULL;
	}
	if (ac_sql_prepare_v2(db, "SELECT scrub_user FROM projects WHERE name = ?1", -1, &st,
			       NULL) != AC_SQL_OK) {
		rc = ac_db_error(db, err, "reading project");
		goto out;
	}
	ac_sql_bind_text(st, 1, name, -1, AC_SQL_STATIC);
	step = ac_sql_step(st);
	if (step == AC_SQL_ROW)
		*now = ac_sql_column_int(st, 0) != 0;
	else if (step == AC_SQL_DONE)
		rc = ac_error_set(err, AC_ENOTFOUND, "not_found", "no project '%s'", name);
	else
		rc = ac_db_error(db, err, "reading project");
out:
	ac_sql_finalize(st);
	ac_db_close(db);
	return rc;
}

/* Plaintext tokens left in keys.token (a database from before tokens were hashed, or a row an
 * older binary added since) move to the tokens table as read tokens, hashed. The schema
 * migration does the same once; this runs at every server start. */
int keys_upgrade_legacy(const char *db_path, struct ac_error *err)
{
	ac_sql *db = ac_db_open(db_path, AC_DB_WRITE, err);
	int rc;

	if (!db)
		return AC_EDB;
	rc = ac_db_exec(db, "BEGIN IMMEDIATE;"
			"INSERT OR IGNORE INTO tokens(project_id, role, hash, hint, created_at, revoked)"
			"  SELECT project_id, 'read', ac_sha256(token), substr(token, 1, 8), created_at,"
			"  revoked FROM keys WHERE token LIKE 'act!_%' ESCAPE '!';"
			"UPDATE keys SET token = 'dsn:' || public_key, scope = 'ingest'"
			"  WHERE token LIKE 'act!_%' ESCAPE '!';"
			"COMMIT", err);
	if (rc)
		ac_db_exec(db, "ROLLBACK", NULL);
	ac_db_close(db);
	return rc;
}

/* ---- the cache ---- */

#define CACHE_SLOTS 256

struct cache_entry {
	unsigned char digest[AC_SHA256_LEN];   /* SHA-256 of the credential */
	bool used;
	long long project_id;     /* 0 = known not to exist (negative entry) */
	int role;
	bool scrub_user;
	char project[128];
	double checked_at;
};

struct key_cache {
	pthread_mutex_t lock;
	char *db_path;
	/* PostgreSQL: one connection for the lookups, kept (a new connection per lookup costs a
	 * server process each time; SQLite opens a file, which is cheap) */
	pthread_mutex_t db_lock;
	ac_sql *db;
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
	pthread_mutex_init(&kc->db_lock, NULL);
	return kc;
}

void key_cache_free(struct key_cache *kc)
{
	if (!kc)
		return;
	pthread_mutex_destroy(&kc->lock);
	pthread_mutex_destroy(&kc->db_lock);
	ac_db_close(kc->db);
	free(kc->db_path);
	free(kc);
}

static int key_lookup_db(struct key_cache *kc, const char *key, struct cache_entry *e)
{
	char hex[2 * AC_SHA256_LEN + 1];
	struct ac_error err;
	bool kept = ac_db_is_postgres(kc->db_path);
	ac_sql *db;
	ac_sql_stmt *st = NULL;
	bool token = !strncmp(key, "act_", 4);
	int rc = 0, step;

	if (kept) {
		pthread_mutex_lock(&kc->db_lock);
		if (!kc->db)
			kc->db = ac_db_open(kc->db_path, AC_DB_READ, &err);
		db = kc->db;
	} else {
		db = ac_db_open(kc->db_path, AC_DB_READ, &err);
	}
	if (!db) {
		if (kept)
			pthread_mutex_unlock(&kc->db_lock);
		return AC_EDB;
	}
	ac_sha256_hex(key, strlen(key), hex);
	if (ac_sql_prepare_v2(db, token ? "SELECT p.id, p.name, t.role, p.scrub_user FROM tokens t"
					   " JOIN projects p ON p.id = t.project_id WHERE t.hash = ?1"
					   " AND t.revoked = 0"
					 : "SELECT p.id, p.name, 'ingest', p.scrub_user FROM keys k JOIN projects p"
					   " ON p.id = k.project_id WHERE k.public_key = ?1 AND k.revoked = 0",
			       -1, &st, NULL) != AC_SQL_OK) {
		rc = AC_EDB;
		goto out;
	}
	ac_sql_bind_text(st, 1, token ? hex : key, -1, AC_SQL_STATIC);
	e->project_id = 0;
	step = ac_sql_step(st);
	if (step != AC_SQL_ROW && step != AC_SQL_DONE)
		rc = AC_EDB;   /* the database failed: not "no such key" */
	if (step == AC_SQL_ROW) {
		const char *role = (const char *)ac_sql_column_text(st, 2);
		e->project_id = ac_sql_column_int64(st, 0);
		e->scrub_user = ac_sql_column_int(st, 3) != 0;
		snprintf(e->project, sizeof e->project, "%s", (const char *)ac_sql_column_text(st, 1));
		e->role = !strcmp(role, "admin") ? COLLECTOR_ROLE_ADMIN
			: !strcmp(role, "read") ? COLLECTOR_ROLE_READ : COLLECTOR_ROLE_INGEST;
	}
out:
	ac_sql_finalize(st);
	if (kept)
		pthread_mutex_unlock(&kc->db_lock);   /* a broken connection reconnects on next use */
	else
		ac_db_close(db);
	return rc;
}

int key_cache_lookup(struct key_cache *kc, const char *key, long long *project_id,
		     char *project_name, size_t name_len, int *role, bool *scrub_user)
{
	unsigned char digest[AC_SHA256_LEN];
	struct cache_entry *e, fresh;
	double now = ac_now();
	unsigned slot;
	int rc;

	if (!key || !*key || strlen(key) > 64)
		return AC_EAUTH;
	ac_sha256(key, strlen(key), digest);
	slot = ((unsigned)digest[0] << 8 | digest[1]) % CACHE_SLOTS;
	pthread_mutex_lock(&kc->lock);
	e = &kc->slots[slot];
	/* every answer is rechecked after 1 s, so a revoked key stops working within a second */
	if (e->used && ac_equal_ct(e->digest, digest, sizeof digest) && now - e->checked_at < 1.0) {
		fresh = *e;
		pthread_mutex_unlock(&kc->lock);
		goto found;
	}
	pthread_mutex_unlock(&kc->lock);
	memset(&fresh, 0, sizeof fresh);
	memcpy(fresh.digest, digest, sizeof digest);
	fresh.used = true;
	if ((rc = key_lookup_db(kc, key, &fresh)))
		return rc;
	fresh.checked_at = now;
	pthread_mutex_lock(&kc->lock);
	kc->slots[slot] = fresh;
	pthread_mutex_unlock(&kc->lock);
found:
	if (!fresh.project_id)
		return AC_EAUTH;
	*project_id = fresh.project_id;
	if (project_name)
		snprintf(project_name, name_len, "%s", fresh.project);
	if (role)
		*role = fresh.role;
	if (scrub_user)
		*scrub_user = fresh.scrub_user;
	return 0;
}

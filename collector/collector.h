/*
 * collector.h — the collector: an HTTP server that ingests events, logs, crash reports,
 * Sentry envelopes and OTLP logs into SQLite, durably.
 *
 * A 2xx reply means the request's data is committed: handlers parse and validate the whole
 * request, hand it to the single writer thread as one job, suspend the connection, and are
 * resumed only after the group transaction containing the job has committed. A job is
 * stored whole or not at all (one SAVEPOINT per job). When the writer's bounded queue is
 * full the reply is 429 with Retry-After; nothing is dropped silently.
 *
 * Usage (cmd/serve.c):
 *   struct collector_config cfg; collector_config_defaults(&cfg); ...set fields...;
 *   struct collector *c; collector_start(&cfg, &c, &err); collector_wait(c); collector_free(c);
 * collector_wait() returns after SIGTERM/SIGINT (or collector_stop()), having drained the queue.
 */
#ifndef AC_COLLECTOR_H
#define AC_COLLECTOR_H

#include <stdbool.h>
#include <stddef.h>

struct ac_error;
struct collector;

struct collector_config {
	const char *listen;          /* "127.0.0.1:8080", "[::1]:0", ":8080" */
	const char *db_path;         /* SQLite file, created and migrated if needed */
	const char *rules_dir;       /* rule packs for the analyzer (may be NULL) */
	const char *web_dir;         /* static UI files served at / (may be NULL) */
	bool open_read;              /* read API without token (only allowed on loopback) */
	size_t max_event_bytes;      /* one event, serialised (default 1 MiB) */
	size_t max_body_bytes;       /* a request body as received (default 20 MiB) */
	size_t max_decoded_bytes;    /* a body after gzip/deflate (default 20 MiB) */
	unsigned queue_events;       /* events waiting for the writer before 429 (default 20000) */
	unsigned threads;            /* HTTP threads (default: number of CPUs) */
	double rate_limit;           /* per-project events/s, 0 = unlimited */
	double rate_burst;           /* per-project bucket size (default max(rate, 1) * 2) */
	unsigned max_group_events;   /* events per group commit (default 5000) */
	size_t max_inflight_bytes;   /* all request bodies being received together (default 256 MiB);
				      * past it: 503 with Retry-After */
	size_t max_unauth_bytes;     /* a Sentry envelope whose key is only in its body (default 1 MiB) */
	unsigned max_conn_per_ip;    /* connections from one address (default 256 of 4000) */
	unsigned max_batch_events;   /* events in one request; past it 413 (default 100000) */
	size_t max_attachment_bytes; /* one Sentry envelope attachment (default 10 MiB) */
	unsigned long long attachment_quota_bytes;  /* attachments stored per project (100 MiB) */
};

void collector_config_defaults(struct collector_config *cfg);

/* Open the database, start the writer and the HTTP server. On success *out is a running
 * collector the caller stops with collector_wait()/collector_stop() and frees with
 * collector_free(). Returns 0 or a negative AC_E* code with err set. */
int collector_start(const struct collector_config *cfg, struct collector **out,
		    struct ac_error *err);
/* The port actually bound (useful with port 0). */
unsigned collector_port(const struct collector *c);
/* Block until SIGTERM/SIGINT or collector_stop(), then drain: stop accepting, answer every
 * queued request after its commit, stop threads. */
void collector_wait(struct collector *c);
/* Ask a running collector to stop (async-signal-safe). */
void collector_stop(struct collector *c);
/* Make SIGTERM and SIGINT stop c (one collector per process). */
void collector_handle_signals(struct collector *c);
/* Free everything. Safe on NULL. The collector must be stopped (collector_wait returned). */
void collector_free(struct collector *c);

/* Projects, keys and tokens (autocoder keys). Roles (docs/API.md, "Keys and roles"):
 *   DSN public key (32 hex, public by design: browser SDKs embed it)  ingest only
 *   read token ("act_" + 40 hex, Authorization: Bearer)                 ingest and reads
 *   admin token                                                         that plus mutations
 * Tokens are stored as SHA-256 hashes; a secret is shown once, when it is created. */
enum collector_role { COLLECTOR_ROLE_INGEST = 1, COLLECTOR_ROLE_READ, COLLECTOR_ROLE_ADMIN };

struct collector_key {
	long long project_id;
	char project[128];
	char public_key[33];     /* the DSN key ("" for a token in a listing) */
	char token[48];          /* created: the new read token; listed token: its first 8 chars */
	char admin_token[48];    /* created with an admin token: the secret, else "" */
	const char *kind;        /* listing: "dsn" or "token" */
	const char *role;        /* listing: "ingest", "read" or "admin" */
	double created_at;
	bool revoked;
};
/* Create project `name` if missing with a new DSN key and read token (and an admin token
 * when admin is true). 0 or negative with err set. */
int collector_key_create(const char *db_path, const char *name, bool admin,
			 struct collector_key *out, struct ac_error *err);
/* A new token with role "read" or "admin" for the existing project `name`; the secret is
 * returned in out->token. */
int collector_token_create(const char *db_path, const char *name, const char *role,
			   struct collector_key *out, struct ac_error *err);
/* Call fn for every DSN key and token (revoked too); never hands out secrets. */
int collector_key_list(const char *db_path,
		       void (*fn)(const struct collector_key *k, void *arg), void *arg,
		       struct ac_error *err);
/* A project's privacy setting: scrub_user 1 = user.email and user.ip_address are filtered
 * before storage, 0 = kept (the default), -1 = only read it. *now gets the setting. */
int collector_project_privacy(const char *db_path, const char *name, int scrub_user,
			      bool *now, struct ac_error *err);
/* Revoke a DSN key by its public key, or a token by its secret. AC_ENOTFOUND when none. */
int collector_key_revoke(const char *db_path, const char *key, struct ac_error *err);

#endif

/*
 * send.h — `autocoder send`: a beta user's uploader of logs, events and crash reports to a
 * collector, over libcurl, without writing code.
 *
 * Inputs (sender_send_path): a text log file or stdin ("-"), split by an optional
 * logparser --format (fields Level/Component go to the event, the other header fields to
 * tags); JSON lines (auto-detected: the first non-blank byte is '{'), a JSON event or array;
 * a crash report JSON (an object with "signal"); a generated system's crash spool directory
 * (crash-*.txt written by its runtime's crash handler, generator/runtime/rt_crash.c).
 *
 * Delivery: events go in NDJSON batches, gzip'd, to /api/v1/logs (text lines) or
 * /api/v1/events (JSON); crash reports one by one to /api/v1/crashes. Every event gets a
 * deterministic event_id = hash(file identity, byte offset, line), the file identity being a
 * hash of its first 4 KiB, so a batch sent twice (an interrupted run, a resend) is
 * acknowledged as duplicate by the collector's idempotency and never stored twice. After
 * each acknowledged batch a state file records the byte offset reached; the next run of the
 * same command resumes there. 5xx and network errors are retried with exponential backoff,
 * a 429 waits the server's Retry-After; a batch refused with 400/413 is split in halves until
 * the refused events are isolated, so one bad line costs only itself, with the reason kept.
 *
 * Feedback (sender_feedback): "fix N worked / did not work / other cause" on a cluster,
 * POSTed to /api/v1/clusters/<id>/feedback.
 */
#ifndef AC_SEND_H
#define AC_SEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct ac_error;
struct sender;

struct send_config {
	const char *url;          /* collector base URL, e.g. http://127.0.0.1:8080 */
	const char *key;          /* token or DSN public key (Authorization: Bearer) */
	const char *format;       /* logparser line format, or NULL (whole line = message) */
	const char *system, *component, *release, *environment;   /* defaults, may be NULL */
	const char *note, *contact;  /* user feedback attached to every event (context.report) */
	const char *state_dir;    /* resume state files; NULL = no state (always from 0) */
	bool restart;             /* ignore a saved offset and send from the start */
	int progress;             /* 1 progress bar on stderr, 0 none */
	unsigned retries;         /* attempts per batch on 5xx / network errors (default 8) */
	unsigned max_wait_429;    /* total seconds a batch may wait on 429s (default 600) */
	size_t batch_events;      /* events per batch (default 2000) */
	size_t batch_bytes;       /* uncompressed bytes per batch (default 2 MiB) */
	double backoff;           /* first backoff in seconds (default 0.5, doubling, cap 30) */
};

void send_config_defaults(struct send_config *c);

/* Split a DSN "http(s)://PUBLIC_KEY@host:port/PROJECT" into the base URL and the key.
 * 0, or AC_EINVAL with err naming what is wrong. */
int send_parse_dsn(const char *dsn, char *url, size_t urllen, char *key, size_t keylen,
		   struct ac_error *err);

/* The default state directory: $AUTOCODER_STATE_DIR, $XDG_STATE_HOME/autocoder or
 * $HOME/.local/state/autocoder (into buf); false when none can be named. */
bool send_default_state_dir(char *buf, size_t n);

struct sender *sender_new(const struct send_config *cfg, struct ac_error *err);
void sender_free(struct sender *s);

/* Send one input: a file, "-" for stdin, or a crash spool directory. Refused events are not
 * errors (they are counted with their reasons). Returns 0, or a negative code with err set
 * when the input could not be delivered (unreadable, authentication refused, the collector
 * unavailable after the retries, interrupted); what was acknowledged stays acknowledged. */
int sender_send_path(struct sender *s, const char *path, struct ac_error *err);

/* Feedback on a cluster: outcome "worked", "failed" (with fix step fix >= 1) or "other_cause";
 * text and contact may be NULL. Prints the server's reply. 0 or negative with err set. */
int sender_feedback(struct sender *s, long long cluster, const char *outcome, int fix,
		    const char *text, const char *contact, struct ac_error *err);

/* Ask the send loop to stop after the batch in flight (async-signal-safe). */
void sender_interrupt(void);

/* Summary of everything sent: per input and totals, refused events with reasons. */
void sender_print_summary(const struct sender *s, FILE *out, bool json);
/* True when every event read was acknowledged (stored or duplicate): nothing refused, nothing
 * left undelivered. */
bool sender_complete(const struct sender *s);

#endif

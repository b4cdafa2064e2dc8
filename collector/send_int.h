/*
 * send_int.h — what send.c (transport, batches, state, summary) and send_input.c (the input
 * readers) share. Not part of the module's interface: see send.h.
 */
#ifndef AC_SEND_INT_H
#define AC_SEND_INT_H

#include "collector/send.h"
#include "core/buf.h"

#include <jansson.h>
#include <limits.h>
#include <stdint.h>

#define SEND_REASONS_MAX 50

/* One input being sent. */
struct send_input {
	const char *name;          /* path as given, "-" for stdin */
	const char *route;         /* /api/v1/logs, /api/v1/events */
	unsigned char ident[16];   /* hash of the first 4 KiB: the file's identity */
	char state_path[PATH_MAX]; /* "" = no state file */
	uint64_t size;             /* bytes, 0 when unknown (stdin) */
	uint64_t acked;            /* byte offset up to which every event is acknowledged */
	unsigned long long lines_acked;
	unsigned long long events, stored, duplicates, refused;
	bool resumed, complete;
};

/* The batch being built: NDJSON lines with where each starts and the input line it came from. */
struct send_batch {
	struct ac_buf body;
	size_t *start;             /* n + 1 entries: start[i] .. start[i+1] is event i */
	unsigned long long *line;  /* input line number of event i */
	size_t n, cap;
	uint64_t end_offset;       /* input offset after the batch's last line */
	unsigned long long end_line;
};

struct sender {
	struct send_config cfg;
	void *curl;                /* CURL * */
	struct send_batch batch;
	json_t *inputs;            /* per-input summaries */
	json_t *reasons;           /* refused events: {input, line, error, detail} (first 50) */
	unsigned long long events, stored, duplicates, refused, reasons_total;
	unsigned long long throttled, retried;   /* 429 answers; retries after 5xx/network */
	bool undelivered;          /* some input was not fully delivered */
	/* progress */
	bool draw;
	double t0, last_draw;
	uint64_t bytes_read, bytes_total;
	const char *label;
};

/* send.c */
void send_event_id(const struct send_input *in, uint64_t offset, const char *line, size_t n,
		   char out[37]);
void send_ident(const void *data, size_t n, unsigned char out[16]);
int send_batch_add(struct sender *s, const json_t *ev, unsigned long long line,
		   struct ac_error *err);
/* Deliver the batch (bisecting refusals), then advance in->acked to end_offset and save the
 * state. 0 or negative with err set (not delivered: auth, unavailable, interrupted). */
int send_batch_flush(struct sender *s, struct send_input *in, struct ac_error *err);
/* Post one whole document (a crash report) with retries; a refusal is recorded. */
int send_document(struct sender *s, struct send_input *in, const char *route, const char *body,
		  size_t len, struct ac_error *err);
void send_refused(struct sender *s, const struct send_input *in, unsigned long long line,
		  const char *error, const char *detail);
void send_progress(struct sender *s, bool force);
int send_state_load(struct sender *s, struct send_input *in);
int send_state_save(const struct send_input *in, struct ac_error *err);
void send_input_done(struct sender *s, struct send_input *in);
bool send_interrupted(void);
/* context.report = {note, contact} when the user gave any (into ev). */
void send_attach_report(const struct sender *s, json_t *ev);

/* send_input.c */
int send_input_run(struct sender *s, const char *path, struct ac_error *err);

#endif

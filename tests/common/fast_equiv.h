/*
 * fast_equiv.h — the equivalence check between the ingest fast path and the general path,
 * shared by the unit tests (tests/unit/check_collector.c) and the differential fuzz target
 * (tests/fuzz/fuzz_fast_event.c).
 *
 * fast_equiv_check() runs one body through ingest_rows() (fast path with fallback) and
 * through ingest_parse_events()/_logs() + writer_job_add_events() (the general path, the
 * reference) and compares what would be stored: the same status and error, the same number
 * of rows, equal JSON values and equal column values. Values that legitimately differ
 * between two runs are compared loosely: generated event ids (both must be generated) and
 * the server clock (received_at, and timestamps of events that carry none: both near now).
 */
#ifndef AC_TESTS_FAST_EQUIV_H
#define AC_TESTS_FAST_EQUIV_H

#include "core/common.h"
#include "collector/internal.h"

#include <math.h>

static char fast_equiv_msg[1024];

static bool fast_equiv_generated_id(const char *id)
{
	if (!id || strlen(id) != 32)
		return false;
	for (const char *p = id; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return false;
	return true;
}

/* Equal, or both the server's clock (an event without a timestamp gets "now"): an explicit
 * timestamp that differs by a millisecond is a difference. */
static bool fast_equiv_same_time(double a, double b)
{
	double now = ac_now();
	return a == b || (fabs(a - now) < 60 && fabs(b - now) < 60);
}

/* Compare two stored JSON texts; NULL when equal. */
static const char *fast_equiv_raw(const char *ra, const char *rb, size_t i)
{
	json_t *a = json_loads(ra, JSON_ALLOW_NUL, NULL), *b = json_loads(rb, JSON_ALLOW_NUL, NULL);
	const char *why = NULL;
	double ta = 0, tb = 0;

	if (!a || !b) {
		why = !a ? "fast path stored invalid JSON" : "general path stored invalid JSON";
		goto out;
	}
	json_object_del(a, "received_at");
	json_object_del(b, "received_at");
	if (!json_equal(json_object_get(a, "event_id"), json_object_get(b, "event_id")) &&
	    fast_equiv_generated_id(json_string_value(json_object_get(a, "event_id"))) &&
	    fast_equiv_generated_id(json_string_value(json_object_get(b, "event_id")))) {
		json_object_del(a, "event_id");
		json_object_del(b, "event_id");
	}
	ac_parse_time(json_string_value(json_object_get(a, "timestamp")), &ta);
	ac_parse_time(json_string_value(json_object_get(b, "timestamp")), &tb);
	if (fast_equiv_same_time(ta, tb)) {
		json_object_del(a, "timestamp");
		json_object_del(b, "timestamp");
	}
	if (!json_equal(a, b))
		why = "stored JSON differs";
out:
	if (why)
		snprintf(fast_equiv_msg, sizeof fast_equiv_msg, "event %zu: %s:\n  fast:    %.200s\n  general: %.200s",
			 i, why, ra, rb);
	json_decref(a);
	json_decref(b);
	return why ? fast_equiv_msg : NULL;
}

static const char *fast_equiv_rows(const struct write_job *fa, const struct write_job *ge)
{
	static const char *const names[COL__COUNT] = {
		"event_id", "level", "kind", "system", "component", "release", "environment",
		"message", "exc_type", "exc_value", "fingerprint", "source",
	};

	if (fa->n_events != ge->n_events) {
		snprintf(fast_equiv_msg, sizeof fast_equiv_msg, "fast path made %u rows, general %u",
			 fa->n_events, ge->n_events);
		return fast_equiv_msg;
	}
	for (size_t i = 0; i < fa->n_events; i++) {
		const struct job_row *a = &fa->rows[i], *b = &ge->rows[i];
		const char *why = fast_equiv_raw(a->raw, b->raw, i);
		if (why)
			return why;
		for (int c = 0; c < COL__COUNT; c++) {
			const char *x = a->col[c], *y = b->col[c];
			if ((!x && !y) || (x && y && !strcmp(x, y)))
				continue;
			if (c == COL_EVENT_ID && fast_equiv_generated_id(x) && fast_equiv_generated_id(y))
				continue;
			snprintf(fast_equiv_msg, sizeof fast_equiv_msg,
				 "event %zu: column %s: fast '%.100s', general '%.100s'", i, names[c],
				 x ? x : "(null)", y ? y : "(null)");
			return fast_equiv_msg;
		}
		if (!fast_equiv_same_time(a->timestamp, b->timestamp) ||
		    !fast_equiv_same_time(a->received_at, b->received_at)) {
			snprintf(fast_equiv_msg, sizeof fast_equiv_msg,
				 "event %zu: times differ: fast %.3f/%.3f, general %.3f/%.3f", i,
				 a->timestamp, a->received_at, b->timestamp, b->received_at);
			return fast_equiv_msg;
		}
	}
	return NULL;
}

/* NULL when the fast path and the general path agree on body; otherwise what differs. */
static const char *fast_equiv_check(const char *body, size_t len, bool logs,
				    const struct event_defaults *d,
				    const struct ingest_limits *lim)
{
	struct write_job fa, ge;
	struct ac_error efa, ege;
	json_t *events = json_array();
	int rfa, rge;
	const char *why = NULL;

	memset(&fa, 0, sizeof fa);
	memset(&ge, 0, sizeof ge);
	ac_error_clear(&efa);
	ac_error_clear(&ege);
	rfa = ingest_rows(body, len, logs, d, lim, &fa, &efa);
	rge = logs ? ingest_parse_logs(body, len, false, d, lim, events, &ege)
		   : ingest_parse_events(body, len, d, lim, events, &ege);
	if (!rge)
		rge = writer_job_add_events(&ge, events, lim->max_event_bytes, &ege);
	if (rfa != rge) {
		snprintf(fast_equiv_msg, sizeof fast_equiv_msg,
			 "status: fast %d (%.200s), general %d (%.200s)", rfa, efa.msg, rge, ege.msg);
		why = fast_equiv_msg;
	} else if (rfa) {
		if (strcmp(efa.what, ege.what) || strcmp(efa.msg, ege.msg)) {
			snprintf(fast_equiv_msg, sizeof fast_equiv_msg,
				 "error: fast %s '%.200s', general %s '%.200s'", efa.what, efa.msg, ege.what,
				 ege.msg);
			why = fast_equiv_msg;
		}
	} else {
		why = fast_equiv_rows(&fa, &ge);
	}
	writer_job_release(&fa);
	writer_job_release(&ge);
	json_decref(events);
	return why;
}

#endif

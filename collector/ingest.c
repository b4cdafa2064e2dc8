/*
 * ingest.c — native request bodies: events (one object, an array, or NDJSON), structured
 * or plain-text log lines, and crash reports from generated systems' crash handlers.
 *
 * Each parser appends normalised events to the caller's array and stops at the first bad
 * document, naming it ("line 7: ..."). The caller stores the array only when the whole
 * body parsed, so a request is stored whole or not at all.
 */
#include "core/common.h"
#include "collector/internal.h"

#include <ctype.h>
#include <strings.h>

static bool is_blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isspace((unsigned char)s[i]))
			return false;
	return true;
}

static const char *skip_space(const char *p, const char *end)
{
	while (p < end && isspace((unsigned char)*p))
		p++;
	return p;
}

static int append_normalized(json_t *out, const json_t *ev, const char *source,
			     const struct event_defaults *d, const struct ingest_limits *lim,
			     const char *what, struct ac_error *err)
{
	json_t *n = event_normalize(ev, source, d, lim, what, err);
	if (!n)
		return err ? err->code : AC_EINVAL;
	json_array_append_new(out, n);
	return 0;
}

/* Calls fn for every non-blank line of body with its 1-based number. */
static int for_each_line(const char *body, size_t len,
			 int (*fn)(const char *line, size_t n, unsigned lineno, void *arg), void *arg)
{
	const char *p = body, *end = body + len;
	unsigned lineno = 0;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t full = nl ? (size_t)(nl - p) : (size_t)(end - p), n = full;
		lineno++;
		if (n && p[n - 1] == '\r')
			n--;
		if (!is_blank(p, n)) {
			int rc = fn(p, n, lineno, arg);
			if (rc)
				return rc;
		}
		p += full + (nl ? 1 : 0);
	}
	return 0;
}

struct line_ctx {
	json_t *out;
	const char *source;
	const struct event_defaults *d;
	const struct ingest_limits *lim;
	struct ac_error *err;
	bool text;
};

static int ndjson_line(const char *line, size_t n, unsigned lineno, void *arg)
{
	struct line_ctx *c = arg;
	char what[32];
	json_t *v;
	int rc;

	snprintf(what, sizeof what, "line %u", lineno);
	if (n > c->lim->max_event_bytes)
		return ac_error_set(c->err, AC_ETOOBIG, "event_too_large",
				    "%s: event is %zu bytes, more than the limit of %zu", what, n,
				    c->lim->max_event_bytes);
	v = json_parse_checked(line, n, what, c->err);
	if (!v)
		return c->err ? c->err->code : AC_EINVAL;
	rc = append_normalized(c->out, v, c->source, c->d, c->lim, what, c->err);
	json_decref(v);
	return rc;
}

int ingest_parse_events(const char *body, size_t len, const struct event_defaults *d,
			const struct ingest_limits *lim, json_t *out, struct ac_error *err)
{
	const char *p = skip_space(body, body + len);
	json_t *doc = NULL, *ev;
	size_t i;
	int rc = 0;

	if (p == body + len)
		return ac_error_set(err, AC_EINVAL, "empty_body", "body is empty; send a JSON event, an array or NDJSON");
	if (*p == '[') {
		doc = json_parse_checked(body, len, "body", err);
		if (!doc)
			return AC_EINVAL;
		if (json_array_size(doc) == 0) {
			rc = ac_error_set(err, AC_EINVAL, "empty_body", "body is an empty array");
			goto out;
		}
		json_array_foreach(doc, i, ev) {
			char what[32];
			snprintf(what, sizeof what, "event %zu", i);
			if ((rc = append_normalized(out, ev, "native", d, lim, what, err)))
				goto out;
		}
		goto out;
	}
	/* One object, or NDJSON: try the whole body as one document first. */
	if (*p == '{') {
		struct ac_error ignored;
		doc = json_parse_checked(body, len, "body", &ignored);
		if (!doc && ignored.code == AC_EINVAL && strcmp(ignored.what, "invalid_json"))
			return ac_error_set(err, AC_EINVAL, ignored.what, "%s", ignored.msg);
		if (doc) {
			if (len > lim->max_event_bytes)
				rc = ac_error_set(err, AC_ETOOBIG, "event_too_large",
						  "event: event is %zu bytes, more than the limit of %zu",
						  len, lim->max_event_bytes);
			else
				rc = append_normalized(out, doc, "native", d, lim, "event", err);
			goto out;
		}
		/* Not one document: fall through to NDJSON, which names the bad line. */
	}
	{
		struct line_ctx c = { out, "native", d, lim, err, false };
		rc = for_each_line(body, len, ndjson_line, &c);
	}
out:
	json_decref(doc);
	return rc;
}

/* A level word among the first tokens of a text line decides its level: "ERROR",
 * "[warn]", "<E>"-style words are accepted when upper case or bracketed, "level=info" always.
 * Lower-case words in running text ("an error occurred") do not count. */
static const char *detect_text_level(const char *line, size_t n)
{
	size_t i = 0;

	for (int tokens = 0; tokens < 6 && i < n; tokens++) {
		char word[24];
		size_t start, end, w = 0;
		bool bracketed, upper = true, keyed = false;

		while (i < n && isspace((unsigned char)line[i]))
			i++;
		start = i;
		while (i < n && !isspace((unsigned char)line[i]))
			i++;
		end = i;
		if (end - start > 6 && !strncasecmp(line + start, "level=", 6)) {
			start += 6;
			keyed = true;
		}
		bracketed = start < end && strchr("[(<", line[start]);
		while (start < end && !isalpha((unsigned char)line[start]))
			start++;
		while (end > start && !isalpha((unsigned char)line[end - 1]))
			end--;
		for (size_t k = start; k < end && w < sizeof word - 1; k++) {
			if (!isalpha((unsigned char)line[k]))
				break;
			upper = upper && isupper((unsigned char)line[k]);
			word[w++] = line[k];
		}
		word[w] = '\0';
		if (w >= 3 && (upper || bracketed || keyed) && strcasecmp(word, "log")) {
			const char *lvl = event_level_name(word);
			if (lvl)
				return lvl;
		}
	}
	return NULL;
}

const char *ingest_text_level(const char *line, size_t n)
{
	return detect_text_level(line, n);
}

static int text_line(const char *line, size_t n, unsigned lineno, void *arg)
{
	struct line_ctx *c = arg;
	char what[32];
	struct event_defaults d = *c->d;
	json_t *ev;
	int rc;

	snprintf(what, sizeof what, "line %u", lineno);
	if (!ac_utf8_valid(line, n, NULL))
		return ac_error_set(c->err, AC_EINVAL, "invalid_utf8", "%s: invalid UTF-8", what);
	if (n > c->lim->max_event_bytes)
		return ac_error_set(c->err, AC_ETOOBIG, "event_too_large",
				    "%s: line is %zu bytes, more than the limit of %zu", what, n,
				    c->lim->max_event_bytes);
	if (!d.level)
		d.level = detect_text_level(line, n);
	ev = json_object();
	json_object_set_new(ev, "message", json_stringn(line, n));
	rc = append_normalized(c->out, ev, "log", &d, c->lim, what, c->err);
	json_decref(ev);
	return rc;
}

int ingest_parse_logs(const char *body, size_t len, bool text, const struct event_defaults *d,
		      const struct ingest_limits *lim, json_t *out, struct ac_error *err)
{
	struct line_ctx c = { out, "log", d, lim, err, text };
	int rc;

	if (is_blank(body, len))
		return ac_error_set(err, AC_EINVAL, "empty_body", "body is empty; send NDJSON or text lines");
	rc = for_each_line(body, len, text ? text_line : ndjson_line, &c);
	return rc;
}

static const char *signal_name(long long sig)
{
	static const char *const names[] = {
		[1] = "SIGHUP", [2] = "SIGINT", [3] = "SIGQUIT", [4] = "SIGILL", [5] = "SIGTRAP",
		[6] = "SIGABRT", [7] = "SIGBUS", [8] = "SIGFPE", [9] = "SIGKILL", [11] = "SIGSEGV",
		[13] = "SIGPIPE", [15] = "SIGTERM",
	};
	if (sig > 0 && sig < (long long)AC_ARRAY_SIZE(names) && names[sig])
		return names[sig];
	return NULL;
}

static const char *signal_meaning(const char *name)
{
	static const struct { const char *sig, *text; } m[] = {
		{ "SIGSEGV", "Segmentation fault" }, { "SIGBUS", "Bus error" },
		{ "SIGFPE", "Floating point exception" }, { "SIGILL", "Illegal instruction" },
		{ "SIGABRT", "Aborted" }, { "SIGTRAP", "Trace/breakpoint trap" },
	};
	for (size_t i = 0; i < AC_ARRAY_SIZE(m); i++)
		if (!strcmp(name, m[i].sig))
			return m[i].text;
	return "Fatal signal";
}

/* Crash frames arrive innermost first (backtrace order); stored order is outermost first. */
static int crash_frames(json_t *native, const json_t *crash, struct ac_error *err)
{
	const json_t *frames = json_object_get(crash, "frames");
	json_t *rev;
	size_t n;

	if (!frames || json_is_null(frames))
		return 0;
	if (!json_is_array(frames))
		return ac_error_set(err, AC_EINVAL, "invalid_field",
				    "crash: field 'frames' must be an array, got another type");
	rev = json_array();
	n = json_array_size(frames);
	for (size_t i = n; i-- > 0;)
		json_array_append(rev, json_array_get(frames, i));
	json_object_set_new(json_object_get(native, "exception"), "frames", rev);
	return 0;
}

int ingest_parse_crash(const char *body, size_t len, const struct event_defaults *d,
		       const struct ingest_limits *lim, json_t *out, struct ac_error *err)
{
	json_t *crash, *native = NULL, *exc, *ctx;
	const json_t *sig, *v;
	const char *signame = NULL, *thread;
	char value[256];
	int rc = 0;

	if (len > lim->max_event_bytes)
		return ac_error_set(err, AC_ETOOBIG, "event_too_large",
				    "crash report is %zu bytes, more than the limit of %zu", len,
				    lim->max_event_bytes);
	crash = json_parse_checked(body, len, "body", err);
	if (!crash)
		return AC_EINVAL;
	if (!json_is_object(crash)) {
		rc = ac_error_set(err, AC_EINVAL, "invalid_event", "crash report must be a JSON object");
		goto out;
	}
	sig = json_object_get(crash, "signal");
	if (json_is_string(sig))
		signame = json_string_value(sig);
	else if (json_is_integer(sig))
		signame = signal_name(json_integer_value(sig));
	if (!signame || !*signame) {
		rc = ac_error_set(err, AC_EINVAL, "invalid_field",
				  "crash: field 'signal' is required (a name like \"SIGSEGV\" or a number)");
		goto out;
	}
	native = json_object();
	json_object_set_new(native, "kind", json_string("crash"));
	json_object_set_new(native, "level", json_string("fatal"));
	static const char *const copy[] = { "event_id", "timestamp", "system", "component",
					    "release", "environment", "message", "tags",
					    "fingerprint" };
	for (size_t i = 0; i < AC_ARRAY_SIZE(copy); i++)
		if ((v = json_object_get(crash, copy[i])))
			json_object_set(native, copy[i], (json_t *)v);
	thread = json_string_value(json_object_get(crash, "thread"));
	if (!json_object_get(native, "component") && thread)
		json_object_set_new(native, "component", json_string(thread));
	v = json_object_get(crash, "fault_address");
	snprintf(value, sizeof value, "%s (%s)%s%s%s%s", signame, signal_meaning(signame),
		 json_is_string(v) ? " at " : "", json_is_string(v) ? json_string_value(v) : "",
		 thread ? " in thread " : "", thread ? thread : "");
	exc = json_object();
	json_object_set_new(exc, "type", json_string(signame));
	json_object_set_new(exc, "value", json_string(value));
	json_object_set_new(native, "exception", exc);
	if ((rc = crash_frames(native, crash, err)))
		goto out;
	ctx = json_object();
	json_object_set_new(ctx, "crash", json_deep_copy(crash));
	json_object_del(json_object_get(ctx, "crash"), "frames");
	json_object_set_new(native, "context", ctx);
	if (!json_object_get(native, "message"))
		json_object_set_new(native, "message", json_string(value));
	rc = append_normalized(out, native, "crash", d, lim, "crash", err);
out:
	json_decref(native);
	json_decref(crash);
	return rc;
}

/* ------------------------------------------------------------ straight to rows (fast path) */

struct rows_ctx {
	struct write_job *job;
	const char *source;
	const struct event_defaults *d;
	const struct ingest_limits *lim;
	struct fast_clock clock;
	bool general;   /* a document failed: redo the whole body on the general path */
};

/* Only JSON's whitespace: what may follow a document that jansson accepted. */
static bool json_ws_only(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != ' ' && p[i] != '\t' && p[i] != '\n' && p[i] != '\r')
			return false;
	return true;
}

/* One document through the general path into the job; false when it fails. */
static bool general_document(struct rows_ctx *c, const char *text, size_t n, const char *what)
{
	struct ac_error ignored;
	json_t *doc = json_parse_checked(text, n, what, &ignored), *ev = NULL, *one = NULL;
	bool ok = false;

	if (doc && (ev = event_normalize(doc, c->source, c->d, c->lim, what, &ignored)) &&
	    (one = json_array()) && !json_array_append(one, ev))
		ok = writer_job_add_events(c->job, one, c->lim->max_event_bytes, &ignored) == 0;
	json_decref(one);
	json_decref(ev);
	json_decref(doc);
	return ok;
}

/* One document, fast when possible. The document must fill text[0..n) up to whitespace.
 * lineno names it for the general path ("line 3"). */
static int row_document(struct rows_ctx *c, const char *text, size_t n, unsigned lineno)
{
	char what[32];
	struct job_row *row = writer_job_add_row(c->job);
	size_t used = 0;
	int r;

	if (!row)
		return AC_ENOMEM;
	r = event_fast_row(text, n, 0, c->source, c->d, &c->clock, c->lim->max_event_bytes, row,
			   &used);
	if (r < 0)
		return r;
	if (r == 1 && json_ws_only(text + used, n - used))
		return 0;
	writer_job_drop_row(c->job);
	snprintf(what, sizeof what, "line %u", lineno);
	if (!general_document(c, text, n, what))
		c->general = true;
	return c->general ? 1 : 0;
}

static int row_line(const char *line, size_t n, unsigned lineno, void *arg)
{
	struct rows_ctx *c = arg;

	if (n > c->lim->max_event_bytes) {
		c->general = true;
		return 1;
	}
	return row_document(c, line, n, lineno);
}

/* JSON's whitespace from p on. */
static const char *skip_json_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

/* A JSON array of event objects, every one fast; 1 (general path) at the first that is not. */
static int event_array_rows(struct rows_ctx *c, const char *body, size_t len)
{
	const char *p = skip_json_ws(body, body + len), *end = body + len;

	if (p == end || *p != '[')
		return 1;
	p = skip_json_ws(p + 1, end);
	if (p < end && *p == ']')
		return 1;  /* the general path's "empty array" error */
	for (;;) {
		struct job_row *row = writer_job_add_row(c->job);
		size_t used = 0;
		int r;

		if (!row)
			return AC_ENOMEM;
		r = event_fast_row(p, (size_t)(end - p), 1, c->source, c->d, &c->clock,
				   c->lim->max_event_bytes, row, &used);
		if (r != 1)
			return r < 0 ? r : 1;
		p = skip_json_ws(p + used, end);
		if (p < end && *p == ']')
			return skip_json_ws(p + 1, end) == end ? 0 : 1;
		if (p == end || *p != ',')
			return 1;
		p++;
	}
}

/* The events route's body: a single object, or NDJSON when more follows the first object,
 * or an array. 0 done, 1 use the general path for the whole body, AC_ENOMEM. */
static int event_body_rows(struct rows_ctx *c, const char *body, size_t len)
{
	const char *p = skip_space(body, body + len), *end = body + len;
	struct job_row *row;
	size_t used = 0;
	int r;

	if (p < end && *p == '[')
		return event_array_rows(c, body, len);
	if (p == end || *p != '{')
		return 1;
	if (!(row = writer_job_add_row(c->job)))
		return AC_ENOMEM;
	r = event_fast_row(body, len, 0, c->source, c->d, &c->clock, c->lim->max_event_bytes, row,
			   &used);
	if (r < 0)
		return r;
	if (r == 1 && json_ws_only(body + used, len - used))
		return len > c->lim->max_event_bytes ? 1 : 0;
	writer_job_drop_row(c->job);
	if (r == 0) {
		/* not fast: only the general path can tell one odd document from NDJSON */
		struct ac_error e;
		json_t *doc = json_parse_checked(body, len, "body", &e);
		json_decref(doc);
		if (doc || strcmp(e.what, "invalid_json"))
			return 1;
	}
	r = for_each_line(body, len, row_line, c);
	return r < 0 ? r : c->general ? 1 : 0;
}

int ingest_rows(const char *body, size_t len, bool logs, const struct event_defaults *d,
		const struct ingest_limits *lim, struct write_job *job, struct ac_error *err)
{
	struct rows_ctx c = { job, logs ? "log" : "native", d, lim, { 0, 0, "" }, false };
	json_t *events;
	int rc;

	event_fast_clock(&c.clock);
	if (logs)
		rc = is_blank(body, len) ? 1 : for_each_line(body, len, row_line, &c);
	else
		rc = event_body_rows(&c, body, len);
	if (rc < 0)
		return ac_error_set(err, AC_ENOMEM, "internal", "out of memory");
	if (rc == 0 && !c.general)
		return 0;
	/* the general path, whose results and error messages are the reference */
	writer_job_release(job);
	events = json_array();
	rc = logs ? ingest_parse_logs(body, len, false, d, lim, events, err)
		  : ingest_parse_events(body, len, d, lim, events, err);
	if (!rc)
		rc = writer_job_add_events(job, events, lim->max_event_bytes, err);
	json_decref(events);
	return rc;
}

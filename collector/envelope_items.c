/*
 * envelope_items.c — the Sentry envelope item types other than `event` (sentry.c hands them
 * here):
 *   log          a batch of structured log records ({"items": [...]}, Sentry.logger.*) ->
 *                one event each, kind "log", with level, message (body), timestamp, trace
 *                and span ids, attributes (typed values unwrapped from {value, type}),
 *                sentry.release/sentry.environment -> release/environment, and a
 *                sentry.message.template with its sentry.message.parameter.N kept as
 *                context.logentry (the grouping input, like a logentry).
 *   user_report  legacy user feedback {event_id, name, email, comments}, and
 *   feedback     the current form (an event whose contexts.feedback holds message,
 *                contact_email, name, associated_event_id) -> a feedback row attached to
 *                the event (side rows, stored by the writer with the events).
 *   attachment   the payload bytes with filename/content_type/attachment_type from the item
 *                header -> an attachment row for the envelope's event, refused (413) above
 *                the per-attachment limit; the per-project quota is enforced by the writer.
 *   client_report  discarded_events [{reason, category, quantity}] -> summed per
 *                reason/category into `discards` (reported in /metrics).
 * Everything else (transaction, session, sessions, profile, check_in, ...) is only counted.
 */
#include "core/common.h"
#include "collector/internal.h"

#include <ctype.h>

/* Event ids as event.c stores them: a dashed UUID loses its dashes; lowercase. */
void side_event_id(const char *in, char out[65])
{
	size_t n = 0, len = in ? strlen(in) : 0;

	for (size_t i = 0; in && in[i] && n < 64; i++) {
		if (in[i] == '-' && len == 36)
			continue;
		out[n++] = (char)tolower((unsigned char)in[i]);
	}
	out[n] = '\0';
}

void side_rows_free(struct side_row *s)
{
	while (s) {
		struct side_row *next = s->next;
		free(s->name);
		free(s->email);
		free(s->comments);
		free(s->filename);
		free(s->content_type);
		free(s->attachment_type);
		free(s->data);
		free(s);
		s = next;
	}
}

static char *dup_str(const json_t *v)
{
	const char *s = json_string_value(v);
	return s ? strdup(s) : NULL;
}

static void push_side(struct side_row **list, struct side_row *s)
{
	while (*list)
		list = &(*list)->next;
	*list = s;
}

static const char *log_level(const char *l)
{
	if (!l)
		return "info";
	if (!strcmp(l, "trace"))
		return "debug";
	return event_level_name(l) ? event_level_name(l) : "info";
}

/* {"k": {"value": v, "type": "string"}} -> {"k": v} */
static json_t *log_attributes(const json_t *attrs)
{
	json_t *out = json_object();
	const char *k;
	const json_t *v;

	json_object_foreach((json_t *)attrs, k, v) {
		const json_t *val = json_is_object(v) && json_object_get(v, "value")
					    ? json_object_get(v, "value") : v;
		json_object_set(out, k, (json_t *)val);
	}
	return out;
}

static int log_record(const json_t *rec, const struct event_defaults *d,
		      const struct ingest_limits *lim, json_t *out, const char *what,
		      struct ac_error *err)
{
	json_t *native, *ctx, *attrs, *n;
	const json_t *v;
	const char *s;

	if (!json_is_object(rec))
		return ac_error_set(err, AC_EINVAL, "invalid_envelope", "%s: a log record must be an object", what);
	native = json_object();
	ctx = json_object();
	json_object_set_new(native, "context", ctx);
	json_object_set_new(native, "kind", json_string("log"));
	json_object_set_new(native, "level",
			    json_string(log_level(json_string_value(json_object_get(rec, "level")))));
	if ((v = json_object_get(rec, "timestamp")) && json_is_number(v))
		json_object_set(native, "timestamp", (json_t *)v);
	v = json_object_get(rec, "body");
	json_object_set_new(native, "message", json_is_string(v) ? json_incref((json_t *)v) : json_string(""));
	attrs = log_attributes(json_is_object(json_object_get(rec, "attributes"))
				       ? json_object_get(rec, "attributes") : NULL);
	if ((s = json_string_value(json_object_get(attrs, "sentry.release"))))
		json_object_set_new(native, "release", json_string(s));
	if ((s = json_string_value(json_object_get(attrs, "sentry.environment"))))
		json_object_set_new(native, "environment", json_string(s));
	if ((s = json_string_value(json_object_get(attrs, "sentry.message.template")))) {
		json_t *params = json_array();
		char key[48];
		for (unsigned i = 0; i < 64; i++) {
			snprintf(key, sizeof key, "sentry.message.parameter.%u", i);
			if (!(v = json_object_get(attrs, key)))
				break;
			json_array_append(params, (json_t *)v);
		}
		json_object_set_new(ctx, "logentry", json_pack("{s:s,s:o}", "message", s, "params", params));
	}
	if ((s = json_string_value(json_object_get(rec, "trace_id"))))
		json_object_set_new(ctx, "trace_id", json_string(s));
	if ((s = json_string_value(json_object_get(rec, "span_id"))) ||
	    (s = json_string_value(json_object_get(attrs, "sentry.trace.parent_span_id"))))
		json_object_set_new(ctx, "span_id", json_string(s));
	if ((v = json_object_get(rec, "severity_number")) && json_is_integer(v))
		json_object_set(ctx, "severity_number", (json_t *)v);
	json_object_set_new(ctx, "attributes", attrs);
	n = event_normalize(native, "sentry", d, lim, what, err);
	json_decref(native);
	if (!n)
		return err->code;
	json_array_append_new(out, n);
	return 0;
}

static int log_item(const char *payload, size_t len, const struct event_defaults *d,
		    const struct ingest_limits *lim, json_t *out, const char *what,
		    struct ac_error *err)
{
	json_t *doc = json_parse_checked(payload, len, what, err);
	const json_t *items, *rec;
	size_t i;
	int rc = 0;

	if (!doc)
		return AC_EINVAL;
	items = json_object_get(doc, "items");
	if (!json_is_array(items)) {
		json_decref(doc);
		return ac_error_set(err, AC_EINVAL, "invalid_envelope", "%s: a log item needs an 'items' array", what);
	}
	json_array_foreach(items, i, rec) {
		char rwhat[80];
		snprintf(rwhat, sizeof rwhat, "%s, log %zu", what, i);
		if ((rc = log_record(rec, d, lim, out, rwhat, err)))
			break;
	}
	json_decref(doc);
	return rc;
}

static int feedback_item(const char *payload, size_t len, bool legacy, const char *envelope_id,
			 struct side_row **side, const char *what, struct ac_error *err)
{
	json_t *doc = json_parse_checked(payload, len, what, err);
	const json_t *fb;
	struct side_row *s;
	const char *id;

	if (!doc)
		return AC_EINVAL;
	fb = legacy ? doc : json_object_get(json_object_get(doc, "contexts"), "feedback");
	if (!json_is_object(fb)) {
		json_decref(doc);
		return ac_error_set(err, AC_EINVAL, "invalid_envelope",
				    legacy ? "%s: a user_report must be an object"
					   : "%s: a feedback item needs contexts.feedback", what);
	}
	id = json_string_value(json_object_get(fb, legacy ? "event_id" : "associated_event_id"));
	if (!id)
		id = json_string_value(json_object_get(doc, "event_id"));
	if (!id)
		id = envelope_id;
	s = calloc(1, sizeof *s);
	s->kind = SIDE_FEEDBACK;
	side_event_id(id, s->event_id);
	s->name = dup_str(json_object_get(fb, "name"));
	s->email = dup_str(json_object_get(fb, legacy ? "email" : "contact_email"));
	s->comments = dup_str(json_object_get(fb, legacy ? "comments" : "message"));
	json_decref(doc);
	if (!s->event_id[0] || !s->comments) {
		side_rows_free(s);
		return ac_error_set(err, AC_EINVAL, "invalid_envelope",
				    "%s: feedback needs an event id and a message (comments)", what);
	}
	push_side(side, s);
	return 0;
}

static int attachment_item(const json_t *ih, const char *payload, size_t len,
			   const char *envelope_id, size_t max, struct side_row **side,
			   const char *what, struct ac_error *err)
{
	struct side_row *s;
	const char *fn = json_string_value(json_object_get(ih, "filename"));

	if (len > max)
		return ac_error_set(err, AC_ETOOBIG, "attachment_too_large",
				    "%s: attachment is %zu bytes, more than the limit of %zu", what, len, max);
	if (!envelope_id || !envelope_id[0])
		return ac_error_set(err, AC_EINVAL, "invalid_envelope",
				    "%s: an attachment needs the envelope header's event_id", what);
	s = calloc(1, sizeof *s);
	s->kind = SIDE_ATTACHMENT;
	side_event_id(envelope_id, s->event_id);
	s->filename = strdup(fn && *fn ? fn : "attachment");
	s->content_type = dup_str(json_object_get(ih, "content_type"));
	s->attachment_type = dup_str(json_object_get(ih, "attachment_type"));
	s->data = malloc(len ? len : 1);
	memcpy(s->data, payload, len);
	s->len = len;
	push_side(side, s);
	return 0;
}

static void client_report(const char *payload, size_t len, json_t *discards)
{
	json_t *doc = json_loadb(payload, len, 0, NULL);
	const json_t *d;
	size_t i;

	json_array_foreach(json_object_get(doc, "discarded_events"), i, d) {
		const char *reason = json_string_value(json_object_get(d, "reason"));
		const char *cat = json_string_value(json_object_get(d, "category"));
		const json_t *q = json_object_get(d, "quantity");
		char key[96];
		if (!reason || !cat || !json_is_integer(q) || json_integer_value(q) <= 0)
			continue;
		snprintf(key, sizeof key, "%.40s\t%.40s", reason, cat);
		json_t *c = json_object_get(discards, key);
		json_object_set_new(discards, key, json_integer((c ? json_integer_value(c) : 0) +
								json_integer_value(q)));
	}
	json_decref(doc);
}

int envelope_other_item(const char *type, const json_t *ih, const char *payload, size_t len,
			const char *envelope_id, const struct event_defaults *d,
			const struct ingest_limits *lim, json_t *out, struct envelope_side *es,
			const char *what, struct ac_error *err)
{
	if (!strcmp(type, "log"))
		return log_item(payload, len, d, lim, out, what, err);
	if (!es)
		return 0;
	if (!strcmp(type, "user_report"))
		return feedback_item(payload, len, true, envelope_id, &es->side, what, err);
	if (!strcmp(type, "feedback"))
		return feedback_item(payload, len, false, envelope_id, &es->side, what, err);
	if (!strcmp(type, "attachment"))
		return attachment_item(ih, payload, len, envelope_id,
				       es->max_attachment_bytes ? es->max_attachment_bytes : AC_ATTACHMENT_MAX,
				       &es->side, what, err);
	if (!strcmp(type, "client_report") && es->discards)
		client_report(payload, len, es->discards);
	return 0;
}

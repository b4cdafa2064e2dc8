/*
 * attachments.c — reading what Sentry envelopes attach to events (stored by the writer from
 * envelope_items.c's side rows): the "feedback" and "attachments" lists that
 * GET /api/v1/events/<id> adds to an event, and GET /api/v1/attachments/<id>, which answers
 * an attachment's bytes with its content type. Both are scoped like event reads: a token
 * sees only its project's rows (project_id -1 = open read, every project).
 */
#include "core/common.h"
#include "collector/internal.h"
#include "core/db.h"

static int decorate_feedback(ac_sql *db, json_t *ev, const char *event_id, long long project,
			     struct ac_error *err)
{
	ac_sql_stmt *st = NULL;
	json_t *list = json_array();
	int step;

	if (ac_sql_prepare_v2(db, "SELECT name, email, comments, received_at FROM event_feedback"
				   " WHERE event_id = ? AND (? < 0 OR project_id = ?) ORDER BY id",
			       -1, &st, NULL) != AC_SQL_OK) {
		json_decref(list);
		return ac_db_error(db, err, "reading feedback");
	}
	ac_sql_bind_text(st, 1, event_id, -1, AC_SQL_TRANSIENT);
	ac_sql_bind_int64(st, 2, project);
	ac_sql_bind_int64(st, 3, project);
	while ((step = ac_sql_step(st)) == AC_SQL_ROW) {
		json_t *f = json_object();
		char iso[40];
		static const char *const cols[] = { "name", "email", "comments" };
		for (int i = 0; i < 3; i++)
			if (ac_sql_column_type(st, i) == AC_SQL_TEXT)
				json_object_set_new(f, cols[i],
						    json_string((const char *)ac_sql_column_text(st, i)));
		ac_format_iso8601(ac_sql_column_double(st, 3), iso, sizeof iso);
		json_object_set_new(f, "received_at", json_string(iso));
		json_array_append_new(list, f);
	}
	ac_sql_finalize(st);
	if (step != AC_SQL_DONE) {
		json_decref(list);
		return ac_db_error(db, err, "reading feedback");
	}
	if (json_array_size(list))
		json_object_set_new(ev, "feedback", list);
	else
		json_decref(list);
	return 0;
}

static int decorate_attachments(ac_sql *db, json_t *ev, const char *event_id, long long project,
				struct ac_error *err)
{
	ac_sql_stmt *st = NULL;
	json_t *list = json_array();
	int step;

	if (ac_sql_prepare_v2(db, "SELECT id, filename, content_type, attachment_type, size"
				   " FROM event_attachments WHERE event_id = ? AND (? < 0 OR project_id = ?)"
				   " ORDER BY id", -1, &st, NULL) != AC_SQL_OK) {
		json_decref(list);
		return ac_db_error(db, err, "reading attachments");
	}
	ac_sql_bind_text(st, 1, event_id, -1, AC_SQL_TRANSIENT);
	ac_sql_bind_int64(st, 2, project);
	ac_sql_bind_int64(st, 3, project);
	while ((step = ac_sql_step(st)) == AC_SQL_ROW) {
		long long id = ac_sql_column_int64(st, 0);
		json_t *a = json_pack("{s:I,s:s,s:I}", "id", (json_int_t)id, "filename",
				      (const char *)ac_sql_column_text(st, 1), "size",
				      (json_int_t)ac_sql_column_int64(st, 4));
		char url[64];
		snprintf(url, sizeof url, "/api/v1/attachments/%lld", id);
		json_object_set_new(a, "url", json_string(url));
		if (ac_sql_column_type(st, 2) == AC_SQL_TEXT)
			json_object_set_new(a, "content_type", json_string((const char *)ac_sql_column_text(st, 2)));
		if (ac_sql_column_type(st, 3) == AC_SQL_TEXT)
			json_object_set_new(a, "attachment_type", json_string((const char *)ac_sql_column_text(st, 3)));
		json_array_append_new(list, a);
	}
	ac_sql_finalize(st);
	if (step != AC_SQL_DONE) {
		json_decref(list);
		return ac_db_error(db, err, "reading attachments");
	}
	if (json_array_size(list))
		json_object_set_new(ev, "attachments", list);
	else
		json_decref(list);
	return 0;
}

int attachments_decorate(ac_sql *db, json_t *ev, long long project_id, struct ac_error *err)
{
	const char *id = json_string_value(json_object_get(ev, "event_id"));
	int rc;

	if (!id)
		return 0;
	if ((rc = decorate_feedback(db, ev, id, project_id, err)))
		return rc;
	return decorate_attachments(db, ev, id, project_id, err);
}

enum MHD_Result api_attachment_get(struct request *r)
{
	struct ac_error err;
	ac_sql *db;
	ac_sql_stmt *st = NULL;
	int64_t id;
	int rc, step;
	char *body = NULL, ctype[128] = "application/octet-stream";
	size_t len = 0;

	ac_error_clear(&err);
	if ((rc = req_authenticate(r, &err)))
		return req_reply_error(r, rc, err.what, err.msg);
	if (ac_parse_i64(req_arg(r), &id) || id <= 0)
		return req_reply_error(r, AC_ENOTFOUND, "not_found", "no attachment with that id");
	db = req_reader(r);
	if (ac_sql_prepare_v2(db, "SELECT content_type, data FROM event_attachments WHERE id = ?"
				   " AND (? < 0 OR project_id = ?)", -1, &st, NULL) != AC_SQL_OK) {
		rc = ac_db_error(db, &err, "reading attachment");
		req_reader_put(r, db);
		return req_reply_error(r, rc, err.what, err.msg);
	}
	ac_sql_bind_int64(st, 1, id);
	ac_sql_bind_int64(st, 2, req_project(r));
	ac_sql_bind_int64(st, 3, req_project(r));
	step = ac_sql_step(st);
	if (step == AC_SQL_ROW) {
		const void *data = ac_sql_column_blob(st, 1);
		len = (size_t)ac_sql_column_bytes(st, 1);
		body = malloc(len ? len : 1);
		if (body && len)
			memcpy(body, data, len);
		if (ac_sql_column_type(st, 0) == AC_SQL_TEXT)
			snprintf(ctype, sizeof ctype, "%s", (const char *)ac_sql_column_text(st, 0));
	} else if (step != AC_SQL_DONE) {
		rc = ac_db_error(db, &err, "reading attachment");
	}
	ac_sql_finalize(st);
	req_reader_put(r, db);
	if (rc)
		return req_reply_error(r, rc, err.what, err.msg);
	if (step != AC_SQL_ROW)
		return req_reply_error(r, AC_ENOTFOUND, "not_found", "no attachment with that id");
	if (!body)
		return req_reply_error(r, AC_ENOMEM, "internal", "out of memory");
	/* the client's content type is only trusted when it names no active content */
	if (strchr(ctype, '\n') || strchr(ctype, '\r') || strstr(ctype, "html") ||
	    strstr(ctype, "javascript") || strstr(ctype, "xml"))
		snprintf(ctype, sizeof ctype, "application/octet-stream");
	return req_reply_text(r, 200, ctype, body, len);
}

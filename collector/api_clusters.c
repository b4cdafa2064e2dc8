/*
 * api_clusters.c — the cluster and guide routes of the collector's HTTP API (docs/API.md,
 * "Clusters and guide"):
 *
 *   GET  /api/v1/clusters               list (filters, sort, paging)       clusters_list()
 *   GET  /api/v1/clusters/<id>          one cluster with details            cluster_detail()
 *   POST /api/v1/clusters/<id>/status   {"status": "open|resolved|ignored"} analyzer_set_status()
 *   POST /api/v1/clusters/merge         {"into": id, "from": [ids]}         analyzer_merge()
 *   POST /api/v1/clusters/<id>/split                                        analyzer_split()
 *   POST /api/v1/clusters/<id>/unmerge                                      analyzer_unmerge()
 *   GET  /api/v1/guide?format=md|html   the debugging guide                 guide_render()
 *
 * Reads use a pooled read-only connection; changes go through the analyzer (its own write
 * connection and lock), so they never race with the clustering of new events. Every route
 * authenticates as a reader (a project token, or no token with --open-read) and only sees the
 * token's project. Handlers parse and check input, call the analyzer library, and answer.
 */
#include "core/common.h"
#include "collector/internal.h"
#include "analyzer/analyzer.h"
#include "analyzer/clusters.h"
#include "analyzer/guide.h"

static enum MHD_Result reply_err(struct request *r, const struct ac_error *err)
{
	return req_reply_error(r, err->code, err->what, err->msg);
}

static enum MHD_Result bad_param(struct request *r, const char *detail)
{
	return req_reply_error(r, AC_EINVAL, "invalid_parameter", detail);
}

/* Optional integer query parameter within [min, max]; false (and *bad set) when malformed. */
static bool int_param(struct request *r, const char *name, int64_t min, int64_t max,
		      int64_t *out)
{
	const char *v = req_query(r, name);
	if (!v || !*v)
		return true;
	return ac_parse_i64(v, out) == 0 && *out >= min && *out <= max;
}

/* The cluster id in the path: a positive integer. */
static bool path_id(struct request *r, long long *id)
{
	int64_t v;
	if (ac_parse_i64(req_arg(r), &v) || v < 1)
		return false;
	*id = v;
	return true;
}

static enum MHD_Result bad_id(struct request *r)
{
	char detail[256];
	snprintf(detail, sizeof detail, "cluster id must be a positive integer, got '%.60s'",
		 req_arg(r));
	return req_reply_error(r, AC_EINVAL, "invalid_cluster_id", detail);
}

static enum MHD_Result need_analyzer(struct request *r)
{
	return req_reply_error(r, AC_EIO, "analyzer_off",
			       "clustering is off: start 'autocoder serve' with --rules DIR");
}

/* Authenticate; 0 or the reply already sent through *ret. */
static int auth(struct request *r, enum MHD_Result *ret)
{
	struct ac_error err;
	ac_error_clear(&err);
	if (req_authenticate(r, &err)) {
		*ret = reply_err(r, &err);
		return -1;
	}
	return 0;
}

/* Reply with the cluster's detail (after a change). */
static enum MHD_Result reply_detail(struct request *r, long long id, unsigned status)
{
	struct ac_error err;
	json_t *out = NULL;
	ac_sql *db = req_reader(r);
	int rc = cluster_detail(db, analyzer_rules(req_analyzer(r)), id, req_project(r), 0, 10, &out,
				&err);
	req_reader_put(r, db);
	return rc ? reply_err(r, &err) : req_reply_json(r, status, out);
}

/* The body as a JSON object; NULL with the error reply sent through *ret. */
static json_t *body_object(struct request *r, const char *example, enum MHD_Result *ret)
{
	struct ac_error err;
	size_t len;
	const char *body = req_body(r, &len);
	json_t *o = json_parse_checked(body, len, "body", &err);
	char detail[300];

	if (!o) {
		*ret = reply_err(r, &err);
		return NULL;
	}
	if (!json_is_object(o)) {
		json_decref(o);
		snprintf(detail, sizeof detail, "body must be a JSON object like %s", example);
		*ret = req_reply_error(r, AC_EINVAL, "invalid_body", detail);
		return NULL;
	}
	return o;
}

enum MHD_Result api_clusters_list(struct request *r)
{
	struct cluster_query q = { .project = -1 };
	struct ac_error err;
	enum MHD_Result ret;
	json_t *out = NULL;
	int64_t limit = 50, offset = 0;
	const char *since;
	ac_sql *db;
	int rc;

	if (auth(r, &ret))
		return ret;
	q.q = req_query(r, "q");
	q.status = req_query(r, "status");
	q.system = req_query(r, "system");
	q.component = req_query(r, "component");
	q.kind = req_query(r, "kind");
	q.sort = req_query(r, "sort");
	q.project = req_project(r);
	if ((q.level = req_query(r, "level")) && *q.level && !(q.level = event_level_name(q.level)))
		return bad_param(r, "level must be debug, info, warning, error or fatal");
	if (q.kind && *q.kind && strcmp(q.kind, "log") && strcmp(q.kind, "error") && strcmp(q.kind, "crash"))
		return bad_param(r, "kind must be log, error or crash");
	if ((since = req_query(r, "since")) && *since && ac_parse_time(since, &q.since))
		return bad_param(r, "since must be an RFC 3339 time or unix seconds");
	if (!int_param(r, "limit", 1, 500, &limit))
		return bad_param(r, "limit must be an integer from 1 to 500");
	if (!int_param(r, "offset", 0, 100000000, &offset))
		return bad_param(r, "offset must be a non-negative integer (the previous page's next_offset)");
	q.limit = (unsigned)limit;
	q.offset = (unsigned)offset;
	db = req_reader(r);
	rc = clusters_list(db, &q, &out, &err);
	req_reader_put(r, db);
	return rc ? reply_err(r, &err) : req_reply_json(r, 200, out);
}

enum MHD_Result api_cluster_get(struct request *r)
{
	struct ac_error err;
	enum MHD_Result ret;
	long long id;
	int64_t events = 10;
	json_t *out = NULL;
	ac_sql *db;
	int rc;

	if (auth(r, &ret))
		return ret;
	if (!path_id(r, &id))
		return bad_id(r);
	if (!int_param(r, "events", 1, 100, &events))
		return bad_param(r, "events must be an integer from 1 to 100");
	db = req_reader(r);
	rc = cluster_detail(db, analyzer_rules(req_analyzer(r)), id, req_project(r), 0,
			    (unsigned)events, &out, &err);
	req_reader_put(r, db);
	return rc ? reply_err(r, &err) : req_reply_json(r, 200, out);
}

enum MHD_Result api_cluster_status(struct request *r)
{
	struct ac_error err;
	enum MHD_Result ret;
	long long id;
	json_t *body;
	const char *status;
	int rc;

	if (auth(r, &ret))
		return ret;
	if (!path_id(r, &id))
		return bad_id(r);
	if (!req_analyzer(r))
		return need_analyzer(r);
	if (!(body = body_object(r, "{\"status\": \"resolved\"}", &ret)))
		return ret;
	status = json_string_value(json_object_get(body, "status"));
	rc = status ? analyzer_set_status(req_analyzer(r), id, req_project(r), status, &err)
		    : ac_error_set(&err, AC_EINVAL, "invalid_status",
				   "\"status\" must be the string \"open\", \"resolved\" or \"ignored\"");
	json_decref(body);
	return rc ? reply_err(r, &err) : reply_detail(r, id, 200);
}

/* Read {"into": id, "from": [ids]}; 0 or the error reply through *ret. */
static int merge_args(struct request *r, json_t *body, long long *into, long long **from,
		      size_t *n, enum MHD_Result *ret)
{
	const json_t *in = json_object_get(body, "into"), *list = json_object_get(body, "from"), *v;
	size_t i;

	if (!json_is_integer(in) || json_integer_value(in) < 1) {
		*ret = bad_param(r, "\"into\" must be a cluster id (a positive integer)");
		return -1;
	}
	if (!json_is_array(list) || json_array_size(list) == 0 || json_array_size(list) > 1000) {
		*ret = bad_param(r, "\"from\" must be an array of 1 to 1000 cluster ids");
		return -1;
	}
	*into = json_integer_value(in);
	*n = json_array_size(list);
	if (!(*from = calloc(*n, sizeof **from))) {
		*ret = req_reply_error(r, AC_ENOMEM, "internal", "out of memory");
		return -1;
	}
	json_array_foreach(list, i, v) {
		if (!json_is_integer(v) || json_integer_value(v) < 1) {
			char detail[128];
			snprintf(detail, sizeof detail, "\"from\"[%zu] must be a cluster id (a positive integer)", i);
			free(*from);
			*from = NULL;
			*ret = bad_param(r, detail);
			return -1;
		}
		(*from)[i] = json_integer_value(v);
	}
	return 0;
}

/* Merge, split and unmerge of a big cluster take seconds (moved in chunks, see
 * analyzer/cluster_ops.c): they run on their own thread (req_offload) so the other
 * connections of this HTTP thread, ingest included, are not held up meanwhile. */
enum cluster_op { OP_MERGE, OP_SPLIT, OP_UNMERGE };

struct op_ctx {
	enum cluster_op op;
	struct request *r;        /* suspended while the work runs */
	struct analyzer *a;
	json_t *detail;           /* merge and unmerge: the reply, read on the work thread too */
	long long id, project, *from, *children;
	size_t n, nchildren;
	int rc;
	struct ac_error err;
};

static void op_free(void *arg)
{
	struct op_ctx *o = arg;
	free(o->from);
	free(o->children);
	json_decref(o->detail);
	free(o);
}

static void op_work(void *arg)
{
	struct op_ctx *o = arg;

	if (o->op == OP_MERGE)
		o->rc = analyzer_merge(o->a, o->id, o->from, o->n, o->project, &o->err);
	else if (o->op == OP_SPLIT)
		o->rc = analyzer_split(o->a, o->id, o->project, &o->children, &o->nchildren, &o->err);
	else
		o->rc = analyzer_unmerge(o->a, o->id, o->project, NULL, &o->err);
	if (!o->rc && o->op != OP_SPLIT) {
		ac_sql *db = req_reader(o->r);
		o->rc = cluster_detail(db, analyzer_rules(o->a), o->id, o->project, 0, 10, &o->detail,
				       &o->err);
		req_reader_put(o->r, db);
	}
}

static enum MHD_Result op_reply(struct request *r, void *arg)
{
	struct op_ctx *o = arg;
	json_t *ids;

	if (o->rc)
		return reply_err(r, &o->err);
	if (o->op != OP_SPLIT) {
		json_t *d = o->detail;
		o->detail = NULL;
		return req_reply_json(r, 200, d);
	}
	ids = json_array();
	for (size_t i = 0; i < o->nchildren; i++)
		json_array_append_new(ids, json_integer(o->children[i]));
	return req_reply_json(r, 200, json_pack("{s:I,s:o}", "cluster", (json_int_t)o->id, "children", ids));
}

static enum MHD_Result start_op(struct request *r, enum cluster_op op, long long id,
				long long *from, size_t n)
{
	struct op_ctx *o = calloc(1, sizeof *o);

	if (!o) {
		free(from);
		return req_reply_error(r, AC_ENOMEM, "internal", "out of memory");
	}
	o->op = op;
	o->r = r;
	o->a = req_analyzer(r);
	o->id = id;
	o->project = req_project(r);
	o->from = from;
	o->n = n;
	return req_offload(r, op_work, op_reply, op_free, o);
}

enum MHD_Result api_clusters_merge(struct request *r)
{
	enum MHD_Result ret;
	long long into = 0, *from = NULL;
	size_t n = 0;
	json_t *body;
	int rc;

	if (auth(r, &ret))
		return ret;
	if (!req_analyzer(r))
		return need_analyzer(r);
	if (!(body = body_object(r, "{\"into\": 3, \"from\": [5, 8]}", &ret)))
		return ret;
	rc = merge_args(r, body, &into, &from, &n, &ret);
	json_decref(body);
	if (rc)
		return ret;
	return start_op(r, OP_MERGE, into, from, n);
}

enum MHD_Result api_cluster_split(struct request *r)
{
	enum MHD_Result ret;
	long long id;

	if (auth(r, &ret))
		return ret;
	if (!path_id(r, &id))
		return bad_id(r);
	if (!req_analyzer(r))
		return need_analyzer(r);
	return start_op(r, OP_SPLIT, id, NULL, 0);
}

/* Undo a merge: the merged cluster is live again with its own events; replies its detail. */
enum MHD_Result api_cluster_unmerge(struct request *r)
{
	enum MHD_Result ret;
	long long id;

	if (auth(r, &ret))
		return ret;
	if (!path_id(r, &id))
		return bad_id(r);
	if (!req_analyzer(r))
		return need_analyzer(r);
	return start_op(r, OP_UNMERGE, id, NULL, 0);
}

enum MHD_Result api_guide(struct request *r)
{
	struct guide_options go = { .format = GUIDE_MARKDOWN };
	struct ac_error err;
	enum MHD_Result ret;
	const char *now;
	int64_t limit = 25;
	char *text = NULL;
	size_t len = 0;
	ac_sql *db;
	int rc;

	if (auth(r, &ret))
		return ret;
	if (guide_parse_format(req_query(r, "format"), &go.format))
		return bad_param(r, "format must be md or html");
	if (!int_param(r, "limit", 1, 500, &limit))
		return bad_param(r, "limit must be an integer from 1 to 500");
	if ((now = req_query(r, "now")) && *now && (ac_parse_time(now, &go.now) || go.now <= 0))
		return bad_param(r, "now must be an RFC 3339 time or unix seconds");
	go.limit = (unsigned)limit;
	go.project = req_project(r);
	db = req_reader(r);
	rc = guide_render(db, analyzer_rules(req_analyzer(r)), &go, &text, &len, &err);
	req_reader_put(r, db);
	if (rc)
		return reply_err(r, &err);
	return req_reply_text(r, 200,
			      go.format == GUIDE_HTML ? "text/html; charset=utf-8"
						      : "text/markdown; charset=utf-8",
			      text, len);
}

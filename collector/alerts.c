/*
 * alerts.c — the alert detector, the delivery loop and alert-rule management. See alerts.h.
 *
 * One scan: in a single write transaction, read the rules, find the clusters each rule
 * fires on, apply the per-(rule, cluster) minimum interval through alert_state, queue a
 * delivery row with the rendered payload, and move the watermarks (alert_meta). Delivery
 * happens outside any transaction: due rows are read, sent with libcurl, and updated with
 * the outcome, so a slow webhook never holds the database lock.
 */
#include "core/common.h"
#include "core/db.h"
#include "collector/alerts.h"

#include <curl/curl.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include "core/sql.h"

/* clusters updated this long before the previous scan are looked at again (a commit can
 * become visible after the scan that should have seen it; alert_state removes repeats) */
#define RESCAN_SECONDS 300.0

struct alerts {
	char *db_path;
	struct alerts_config cfg;
	pthread_t thread;
	bool started, stop;
	pthread_mutex_t lock;
	pthread_cond_t cond;
};

struct rule {
	long long id, project_id;
	char kind[16], format[8], target[512], match[128];
	bool has_match;
	double min_interval, spike_factor;
};

struct scan {
	ac_sql *db;
	const struct alerts_config *cfg;
	double now, since;        /* since: clusters updated after this are rechecked */
	long long old_max_id, max_id;
	unsigned queued;
};

/* ---------------------------------------------------------------- small SQL helpers */

static int meta_get(ac_sql *db, const char *key, double *out, bool *found)
{
	ac_sql_stmt *st = NULL;
	int rc;

	*found = false;
	if (ac_sql_prepare_v2(db, "SELECT value FROM alert_meta WHERE key=?1", -1, &st, NULL) != AC_SQL_OK)
		return AC_EDB;
	ac_sql_bind_text(st, 1, key, -1, AC_SQL_STATIC);
	rc = ac_sql_step(st);
	if (rc == AC_SQL_ROW) {
		*out = ac_sql_column_double(st, 0);
		*found = true;
	}
	ac_sql_finalize(st);
	return rc == AC_SQL_ROW || rc == AC_SQL_DONE ? 0 : AC_EDB;
}

static int meta_set(ac_sql *db, const char *key, double v)
{
	ac_sql_stmt *st = NULL;
	char buf[64];
	int rc;

	snprintf(buf, sizeof buf, "%.17g", v);
	if (ac_sql_prepare_v2(db, "INSERT INTO alert_meta(key, value) VALUES(?1, ?2) ON CONFLICT(key)"
			       " DO UPDATE SET value=excluded.value", -1, &st, NULL) != AC_SQL_OK)
		return AC_EDB;
	ac_sql_bind_text(st, 1, key, -1, AC_SQL_STATIC);
	ac_sql_bind_text(st, 2, buf, -1, AC_SQL_TRANSIENT);
	rc = ac_sql_step(st);
	ac_sql_finalize(st);
	return rc == AC_SQL_DONE ? 0 : AC_EDB;
}

static long long scalar(ac_sql *db, const char *sql, long long a, long long b)
{
	ac_sql_stmt *st = NULL;
	long long v = 0;

	if (ac_sql_prepare_v2(db, sql, -1, &st, NULL) != AC_SQL_OK)
		return 0;
	ac_sql_bind_int64(st, 1, a);
	ac_sql_bind_int64(st, 2, b);
	if (ac_sql_step(st) == AC_SQL_ROW)
		v = ac_sql_column_int64(st, 0);
	ac_sql_finalize(st);
	return v;
}

/* ---------------------------------------------------------------- payloads */

static const char *kind_title(const char *kind)
{
	if (!strcmp(kind, "new_cluster"))
		return "New error pattern";
	if (!strcmp(kind, "regression"))
		return "Regression";
	if (!strcmp(kind, "spike"))
		return "Spike";
	return "Fatal";
}

static void iso(double t, char *out, size_t n)
{
	time_t s = (time_t)t;
	struct tm tm;

	if (t <= 0 || !gmtime_r(&s, &tm)) {
		snprintf(out, n, "-");
		return;
	}
	strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* cluster row: id, title, kind, count, first_seen, last_seen, status, rule_id, max_level,
 * regressed_at (columns 0..9) */
static char *render_payload(const struct scan *s, const struct rule *r, ac_sql_stmt *c,
			    const char *project, const char *detail)
{
	static const char *const levels[] = { "debug", "info", "warning", "error", "fatal" };
	const char *title = (const char *)ac_sql_column_text(c, 1);
	const char *ckind = (const char *)ac_sql_column_text(c, 2);
	const char *rule_id = (const char *)ac_sql_column_text(c, 7);
	int lvl = ac_sql_column_int(c, 8);
	char text[1024], first[32], last[32], sent[32], link[600] = "";
	json_t *o = NULL, *cluster;
	char *out;

	iso(ac_sql_column_double(c, 4), first, sizeof first);
	iso(ac_sql_column_double(c, 5), last, sizeof last);
	iso(s->now, sent, sizeof sent);
	if (s->cfg->public_url && *s->cfg->public_url)
		snprintf(link, sizeof link, " %s/#/clusters/%lld", s->cfg->public_url,
			 (long long)ac_sql_column_int64(c, 0));
	snprintf(text, sizeof text, "[autocoder] %s in %s: %s (%s, %lld events, last seen %s)%s%s",
		 kind_title(r->kind), project, title ? title : "", ckind ? ckind : "",
		 (long long)ac_sql_column_int64(c, 3), last, detail, link);
	cluster = json_pack("{s:I,s:s,s:s,s:s,s:I,s:s,s:s,s:s,s:s*}", "id",
			    (json_int_t)ac_sql_column_int64(c, 0), "title", title ? title : "",
			    "kind", ckind ? ckind : "", "level", levels[lvl >= 0 && lvl < 5 ? lvl : 1],
			    "count", (json_int_t)ac_sql_column_int64(c, 3), "first_seen", first,
			    "last_seen", last, "status", (const char *)ac_sql_column_text(c, 6),
			    "rule_id", rule_id);
	if (!strcmp(r->format, "json"))
		o = json_pack("{s:s,s:i,s:s,s:s,s:{s:I,s:s},s:o,s:{s:I,s:f},s:s}", "type",
			      "autocoder.alert", "version", 1, "kind", r->kind, "text", text,
			      "project", "id", (json_int_t)r->project_id, "name", project, "cluster",
			      cluster, "alert_rule", "id", (json_int_t)r->id, "min_interval",
			      r->min_interval, "sent_at", sent);
	else {
		json_decref(cluster);
		if (!strcmp(r->format, "slack"))
			o = json_pack("{s:s,s:[{s:s,s:{s:s,s:s}}]}", "text", text, "blocks", "type",
				      "section", "text", "type", "mrkdwn", "text", text);
		else
			o = json_pack("{s:s}", "text", text);
	}
	out = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(o);
	return out;
}

/* ---------------------------------------------------------------- detection */

/* Queue a delivery unless the rule's interval for this cluster has not passed. */
static int fire(struct scan *s, const struct rule *r, ac_sql_stmt *c, const char *project,
		const char *detail)
{
	long long cluster = ac_sql_column_int64(c, 0);
	double regressed = ac_sql_column_double(c, 9);
	ac_sql_stmt *st = NULL;
	bool have = false;
	double last_sent = 0, last_reg = 0;
	char *payload;
	int rc;

	if (ac_sql_prepare_v2(s->db, "SELECT last_sent_at, coalesce(last_regressed_at, 0) FROM"
			       " alert_state WHERE rule_id=?1 AND cluster_id=?2", -1, &st, NULL) != AC_SQL_OK)
		return AC_EDB;
	ac_sql_bind_int64(st, 1, r->id);
	ac_sql_bind_int64(st, 2, cluster);
	if (ac_sql_step(st) == AC_SQL_ROW) {
		have = true;
		last_sent = ac_sql_column_double(st, 0);
		last_reg = ac_sql_column_double(st, 1);
	}
	ac_sql_finalize(st);
	if (have && !strcmp(r->kind, "regression") && regressed <= last_reg)
		return 0;  /* this regression was handled */
	if (have && (!strcmp(r->kind, "new_cluster") || s->now - last_sent < r->min_interval)) {
		if (strcmp(r->kind, "new_cluster"))
			scalar(s->db, "UPDATE alert_state SET suppressed=suppressed+1,"
			       " last_regressed_at=max(coalesce(last_regressed_at,0), (SELECT coalesce(regressed_at,0)"
			       " FROM clusters WHERE id=?2)) WHERE rule_id=?1 AND cluster_id=?2", r->id, cluster);
		return 0;
	}
	if (!(payload = render_payload(s, r, c, project, detail)))
		return AC_ENOMEM;
	rc = AC_EDB;
	if (ac_sql_prepare_v2(s->db, "INSERT INTO alert_deliveries(rule_id, project_id, cluster_id,"
			       " kind, target, payload, created_at, next_attempt_at) VALUES(?1,?2,?3,?4,?5,?6,?7,?7)",
			       -1, &st, NULL) == AC_SQL_OK) {
		ac_sql_bind_int64(st, 1, r->id);
		ac_sql_bind_int64(st, 2, r->project_id);
		ac_sql_bind_int64(st, 3, cluster);
		ac_sql_bind_text(st, 4, r->kind, -1, AC_SQL_STATIC);
		ac_sql_bind_text(st, 5, r->target, -1, AC_SQL_STATIC);
		ac_sql_bind_text(st, 6, payload, -1, AC_SQL_STATIC);
		ac_sql_bind_double(st, 7, s->now);
		rc = ac_sql_step(st) == AC_SQL_DONE ? 0 : AC_EDB;
	}
	ac_sql_finalize(st);
	free(payload);
	if (rc)
		return rc;
	if (ac_sql_prepare_v2(s->db, "INSERT INTO alert_state(rule_id, cluster_id, last_sent_at,"
			       " last_regressed_at) VALUES(?1,?2,?3,?4) ON CONFLICT(rule_id, cluster_id) DO UPDATE"
			       " SET last_sent_at=?3, last_regressed_at=?4", -1, &st, NULL) != AC_SQL_OK)
		return AC_EDB;
	ac_sql_bind_int64(st, 1, r->id);
	ac_sql_bind_int64(st, 2, cluster);
	ac_sql_bind_double(st, 3, s->now);
	ac_sql_bind_double(st, 4, regressed);
	rc = ac_sql_step(st) == AC_SQL_DONE ? 0 : AC_EDB;
	ac_sql_finalize(st);
	s->queued += rc == 0;
	return rc;
}

#define CLUSTER_COLS "c.id, c.title, c.kind, c.count, c.first_seen, c.last_seen, c.status," \
		     " c.rule_id, c.max_level, coalesce(c.regressed_at, 0)"

static int check_rule(struct scan *s, const struct rule *r, const char *project)
{
	static const char *const sql_new =
		"SELECT " CLUSTER_COLS " FROM clusters c WHERE c.project_id=?1 AND c.id>?2 AND c.id<=?3"
		" AND c.merged_into IS NULL AND c.split=0 ORDER BY c.id";
	static const char *const sql_reg =
		"SELECT " CLUSTER_COLS " FROM clusters c WHERE c.project_id=?1 AND c.regressed_at>?4"
		" AND c.status='open' AND c.merged_into IS NULL ORDER BY c.id";
	static const char *const sql_fatal =
		"SELECT " CLUSTER_COLS " FROM clusters c WHERE c.project_id=?1 AND c.updated_at>?4"
		" AND (c.max_level>=4 OR c.kind='crash') AND c.rule_id IS NOT NULL"
		" AND (?5 IS NULL OR substr(c.rule_id, 1, length(?5))=?5) AND c.merged_into IS NULL ORDER BY c.id";
	static const char *const sql_spike =
		"SELECT " CLUSTER_COLS ", coalesce((SELECT count FROM cluster_hourly WHERE cluster_id=c.id"
		" AND hour=?6), 0), coalesce((SELECT sum(count) FROM cluster_hourly WHERE cluster_id=c.id"
		" AND hour>=?6-24 AND hour<?6), 0) FROM clusters c WHERE c.project_id=?1 AND c.updated_at>?4"
		" AND c.merged_into IS NULL AND c.split=0 ORDER BY c.id";
	const char *sql = !strcmp(r->kind, "new_cluster") ? sql_new : !strcmp(r->kind, "regression")
			  ? sql_reg : !strcmp(r->kind, "fatal") ? sql_fatal : sql_spike;
	bool spike = sql == sql_spike;
	ac_sql_stmt *c = NULL;
	int rc = 0, step;

	if (ac_sql_prepare_v2(s->db, sql, -1, &c, NULL) != AC_SQL_OK)
		return AC_EDB;
	ac_sql_bind_int64(c, 1, r->project_id);
	if (sql == sql_new) {
		ac_sql_bind_int64(c, 2, s->old_max_id);
		ac_sql_bind_int64(c, 3, s->max_id);
	}
	if (sql != sql_new)
		ac_sql_bind_double(c, 4, s->since);
	if (sql == sql_fatal && r->has_match)
		ac_sql_bind_text(c, 5, r->match, -1, AC_SQL_STATIC);
	if (spike)
		ac_sql_bind_int64(c, 6, (long long)floor(s->now / 3600.0));
	while (rc == 0 && (step = ac_sql_step(c)) == AC_SQL_ROW) {
		char detail[160] = "";
		if (spike) {
			double cur = (double)ac_sql_column_int64(c, 10);
			double base = (double)ac_sql_column_int64(c, 11) / 24.0;
			if (cur <= r->spike_factor * (base > 1 ? base : 1))
				continue;
			snprintf(detail, sizeof detail, "; %.0f events this hour, baseline %.1f/hour (factor %g)",
				 cur, base, r->spike_factor);
		} else if (sql == sql_reg) {
			snprintf(detail, sizeof detail, "; it was resolved and occurred again");
		}
		rc = fire(s, r, c, project, detail);
	}
	ac_sql_finalize(c);
	return rc;
}

static int scan_rules(struct scan *s)
{
	ac_sql_stmt *st = NULL;
	int rc = 0;

	if (ac_sql_prepare_v2(s->db, "SELECT r.id, r.project_id, r.kind, r.target, r.format,"
			       " r.min_interval, r.spike_factor, r.match, coalesce(p.name, '')"
			       " FROM alert_rules r LEFT JOIN projects p ON p.id=r.project_id ORDER BY r.id",
			       -1, &st, NULL) != AC_SQL_OK)
		return AC_EDB;
	while (rc == 0 && ac_sql_step(st) == AC_SQL_ROW) {
		struct rule r = { .id = ac_sql_column_int64(st, 0), .project_id = ac_sql_column_int64(st, 1) };
		snprintf(r.kind, sizeof r.kind, "%s", (const char *)ac_sql_column_text(st, 2));
		snprintf(r.target, sizeof r.target, "%s", (const char *)ac_sql_column_text(st, 3));
		snprintf(r.format, sizeof r.format, "%s", (const char *)ac_sql_column_text(st, 4));
		r.min_interval = ac_sql_column_double(st, 5);
		r.spike_factor = ac_sql_column_double(st, 6);
		r.has_match = ac_sql_column_type(st, 7) != AC_SQL_NULL;
		if (r.has_match)
			snprintf(r.match, sizeof r.match, "%s", (const char *)ac_sql_column_text(st, 7));
		rc = check_rule(s, &r, (const char *)ac_sql_column_text(st, 8));
	}
	ac_sql_finalize(st);
	return rc;
}

static int scan(ac_sql *db, const struct alerts_config *cfg, struct ac_error *err)
{
	struct scan s = { .db = db, .cfg = cfg, .now = ac_now() };
	double v = 0;
	bool found;
	int rc;

	if (ac_db_exec(db, "BEGIN IMMEDIATE", err))
		return AC_EDB;
	s.max_id = scalar(db, "SELECT coalesce(max(id), 0) FROM clusters", 0, 0);
	if ((rc = meta_get(db, "last_cluster_id", &v, &found)))
		goto out;
	/* first scan ever: clusters that exist already are history, not news */
	s.old_max_id = found ? (long long)v : s.max_id;
	if ((rc = meta_get(db, "scanned_at", &v, &found)))
		goto out;
	s.since = (found ? v : s.now) - RESCAN_SECONDS;
	if ((rc = scan_rules(&s)) || (rc = meta_set(db, "last_cluster_id", (double)s.max_id)) ||
	    (rc = meta_set(db, "scanned_at", s.now)))
		goto out;
	rc = ac_db_exec(db, "COMMIT", err);
	if (!rc && s.queued) {
		char n[16];
		snprintf(n, sizeof n, "%u", s.queued);
		ac_log(AC_LOG_INFO, "alerts queued", "count", n, NULL);
	}
	return rc;
out:
	ac_db_error(db, err, "alerts scan");
	ac_db_exec(db, "ROLLBACK", NULL);
	return rc;
}

/* ---------------------------------------------------------------- delivery */

struct mail_body {
	const char *data;
	size_t len, off;
};

static size_t discard(char *p, size_t size, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return size * n;
}

static size_t mail_read(char *buf, size_t size, size_t n, void *arg)
{
	struct mail_body *m = arg;
	size_t k = m->len - m->off < size * n ? m->len - m->off : size * n;

	memcpy(buf, m->data + m->off, k);
	m->off += k;
	return k;
}

/* 0 sent, else failed with response describing why. */
static int send_http(const char *url, const char *payload, char *response, size_t rn)
{
	CURL *h = curl_easy_init();
	struct curl_slist *hdr = NULL;
	long code = 0;
	CURLcode rc;

	if (!h) {
		snprintf(response, rn, "cannot create a libcurl handle");
		return -1;
	}
	hdr = curl_slist_append(hdr, "Content-Type: application/json");
	hdr = curl_slist_append(hdr, "User-Agent: autocoder-alerts/" AC_VERSION);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, payload);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 5L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 15L);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	rc = curl_easy_perform(h);
	if (rc == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
	curl_slist_free_all(hdr);
	curl_easy_cleanup(h);
	if (rc != CURLE_OK)
		snprintf(response, rn, "%s", curl_easy_strerror(rc));
	else
		snprintf(response, rn, "HTTP %ld", code);
	return rc == CURLE_OK && code >= 200 && code < 300 ? 0 : -1;
}

static int send_mail(const struct alerts_config *cfg, const char *to, const char *payload,
		     char *response, size_t rn)
{
	json_t *o = json_loads(payload, 0, NULL);
	const char *text = json_string_value(json_object_get(o, "text"));
	struct ac_buf msg;
	struct mail_body body;
	struct curl_slist *rcpt = NULL;
	CURL *h;
	CURLcode rc = CURLE_FAILED_INIT;
	char subject[200];

	if (!cfg->smtp_url) {
		json_decref(o);
		snprintf(response, rn, "e-mail is off: start serve with --smtp-url");
		return -1;
	}
	snprintf(subject, sizeof subject, "%.180s", text ? text : "autocoder alert");
	ac_buf_init(&msg, 1 << 20);
	ac_buf_printf(&msg, "From: <%s>\r\nTo: <%s>\r\nSubject: %s\r\nContent-Type: text/plain; "
		      "charset=utf-8\r\n\r\n%s\r\n", cfg->smtp_from ? cfg->smtp_from : "autocoder@localhost",
		      to, subject, text ? text : payload);
	json_decref(o);
	body = (struct mail_body){ msg.data, msg.len, 0 };
	if ((h = curl_easy_init())) {
		rcpt = curl_slist_append(NULL, to);
		curl_easy_setopt(h, CURLOPT_URL, cfg->smtp_url);
		curl_easy_setopt(h, CURLOPT_MAIL_FROM, cfg->smtp_from ? cfg->smtp_from : "autocoder@localhost");
		curl_easy_setopt(h, CURLOPT_MAIL_RCPT, rcpt);
		curl_easy_setopt(h, CURLOPT_READFUNCTION, mail_read);
		curl_easy_setopt(h, CURLOPT_READDATA, &body);
		curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 5L);
		curl_easy_setopt(h, CURLOPT_TIMEOUT, 30L);
		curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
		rc = curl_easy_perform(h);
		curl_slist_free_all(rcpt);
		curl_easy_cleanup(h);
	}
	ac_buf_release(&msg);
	snprintf(response, rn, "%s", rc == CURLE_OK ? "SMTP accepted" : curl_easy_strerror(rc));
	return rc == CURLE_OK ? 0 : -1;
}

static void record_attempt(ac_sql *db, long long id, int attempts, bool ok, const char *response)
{
	ac_sql_stmt *st = NULL;
	double now = ac_now();
	bool give_up = !ok && attempts >= ALERT_MAX_ATTEMPTS;

	if (ac_sql_prepare_v2(db, "UPDATE alert_deliveries SET status=?2, attempts=?3,"
			       " last_attempt_at=?4, next_attempt_at=?5, response=?6 WHERE id=?1",
			       -1, &st, NULL) != AC_SQL_OK)
		return;
	ac_sql_bind_int64(st, 1, id);
	ac_sql_bind_text(st, 2, ok ? "sent" : give_up ? "failed" : "pending", -1, AC_SQL_STATIC);
	ac_sql_bind_int(st, 3, attempts);
	ac_sql_bind_double(st, 4, now);
	ac_sql_bind_double(st, 5, now + ldexp(1.0, attempts));  /* 2, 4, 8, 16 s */
	ac_sql_bind_text(st, 6, response, -1, AC_SQL_TRANSIENT);
	if (ac_sql_step(st) != AC_SQL_DONE)
		ac_log(AC_LOG_ERROR, "alerts: cannot record a delivery", "error", ac_sql_errmsg(db), NULL);
	ac_sql_finalize(st);
}

struct due {
	long long id;
	int attempts;
	char *target, *payload;
};

static int deliver_due(ac_sql *db, const struct alerts_config *cfg)
{
	struct due due[32];
	ac_sql_stmt *st = NULL;
	int n = 0;

	if (ac_sql_prepare_v2(db, "SELECT id, attempts, target, payload FROM alert_deliveries"
			       " WHERE status='pending' AND next_attempt_at<=?1 ORDER BY id LIMIT 32",
			       -1, &st, NULL) != AC_SQL_OK)
		return AC_EDB;
	ac_sql_bind_double(st, 1, ac_now());
	while (n < 32 && ac_sql_step(st) == AC_SQL_ROW) {
		due[n].id = ac_sql_column_int64(st, 0);
		due[n].attempts = ac_sql_column_int(st, 1);
		due[n].target = strdup((const char *)ac_sql_column_text(st, 2));
		due[n].payload = strdup((const char *)ac_sql_column_text(st, 3));
		n++;
	}
	ac_sql_finalize(st);
	for (int i = 0; i < n; i++) {
		char response[256] = "";
		int rc = -1;
		if (!due[i].target || !due[i].payload)
			snprintf(response, sizeof response, "out of memory");
		else if (!strncmp(due[i].target, "mailto:", 7))
			rc = send_mail(cfg, due[i].target + 7, due[i].payload, response, sizeof response);
		else
			rc = send_http(due[i].target, due[i].payload, response, sizeof response);
		if (rc)
			ac_log(AC_LOG_WARN, "alert delivery failed", "target", due[i].target ? due[i].target : "",
			       "response", response, NULL);
		record_attempt(db, due[i].id, due[i].attempts + 1, rc == 0, response);
		free(due[i].target);
		free(due[i].payload);
	}
	return 0;
}

static int round_once(ac_sql *db, const struct alerts_config *cfg, struct ac_error *err)
{
	int rc = scan(db, cfg, err);

	if (deliver_due(db, cfg) && !rc)
		rc = ac_db_error(db, err, "alerts delivery");
	return rc;
}

int alerts_run_once(const char *db_path, const struct alerts_config *cfg, struct ac_error *err)
{
	ac_sql *db = ac_db_open(db_path, AC_DB_WRITE, err);
	int rc;

	if (!db)
		return AC_EDB;
	rc = round_once(db, cfg, err);
	ac_db_close(db);
	return rc;
}

/* ---------------------------------------------------------------- the thread */

static void *alerts_main(void *arg)
{
	struct alerts *a = arg;
	struct ac_error err;
	ac_sql *db = ac_db_open(a->db_path, AC_DB_WRITE, &err);

	if (!db) {
		ac_log(AC_LOG_ERROR, "alerts: cannot open the database", "error", err.msg, NULL);
		return NULL;
	}
	pthread_mutex_lock(&a->lock);
	while (!a->stop) {
		struct timespec ts;
		double at;
		pthread_mutex_unlock(&a->lock);
		if (round_once(db, &a->cfg, &err))
			ac_log(AC_LOG_ERROR, "alerts round failed", "error", err.msg, NULL);
		pthread_mutex_lock(&a->lock);
		clock_gettime(CLOCK_REALTIME, &ts);
		at = (double)ts.tv_sec + ts.tv_nsec / 1e9 + a->cfg.interval;
		ts.tv_sec = (time_t)at;
		ts.tv_nsec = (long)((at - (double)ts.tv_sec) * 1e9);
		while (!a->stop && pthread_cond_timedwait(&a->cond, &a->lock, &ts) == 0)
			;
	}
	pthread_mutex_unlock(&a->lock);
	ac_db_close(db);
	return NULL;
}

int alerts_start(const char *db_path, const struct alerts_config *cfg, struct alerts **out,
		 struct ac_error *err)
{
	struct alerts *a = calloc(1, sizeof *a);

	if (!a || !(a->db_path = strdup(db_path))) {
		free(a);
		return ac_error_set(err, AC_ENOMEM, "internal", "out of memory");
	}
	a->cfg = *cfg;
	if (a->cfg.interval <= 0)
		a->cfg.interval = 10;
	pthread_mutex_init(&a->lock, NULL);
	pthread_cond_init(&a->cond, NULL);
	if (pthread_create(&a->thread, NULL, alerts_main, a)) {
		alerts_stop(a);
		return ac_error_set(err, AC_EIO, "internal", "cannot start the alerts thread");
	}
	a->started = true;
	*out = a;
	return 0;
}

void alerts_stop(struct alerts *a)
{
	if (!a)
		return;
	pthread_mutex_lock(&a->lock);
	a->stop = true;
	pthread_cond_broadcast(&a->cond);
	pthread_mutex_unlock(&a->lock);
	if (a->started)
		pthread_join(a->thread, NULL);
	pthread_mutex_destroy(&a->lock);
	pthread_cond_destroy(&a->cond);
	free(a->db_path);
	free(a);
}

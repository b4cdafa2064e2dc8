/*
 * send.c — the transport of `autocoder send` (see send.h): batches of NDJSON events gzip'd
 * and POSTed with libcurl over one kept-alive connection, retries (exponential backoff on
 * 5xx and network errors, the server's Retry-After on 429), refusals isolated by halving the
 * batch, the resume state file, the progress bar and the summary.
 *
 * A batch is acknowledged when the collector answers 2xx (its 2xx means committed); only
 * then does the state file's offset move past it, so an interruption at any point resends at
 * most the batch in flight, whose deterministic event ids make the collector count it as
 * duplicates instead of storing it twice.
 */
#include "core/common.h"
#include "collector/send_int.h"

#include <curl/curl.h>
#include <math.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

static volatile sig_atomic_t interrupted;

void sender_interrupt(void)
{
	interrupted = 1;
}

bool send_interrupted(void)
{
	return interrupted != 0;
}

void send_config_defaults(struct send_config *c)
{
	memset(c, 0, sizeof *c);
	c->retries = 8;
	c->max_wait_429 = 600;
	c->batch_events = 2000;
	c->batch_bytes = 2u << 20;
	c->backoff = 0.5;
}

/* ------------------------------------------------------------------ ids */

typedef unsigned __int128 u128;

static void fnv128(u128 *h, const void *p, size_t n)
{
	const u128 prime = ((u128)1 << 88) + 0x13b;
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++) {
		*h ^= b[i];
		*h *= prime;
	}
}

static u128 fnv128_basis(void)
{
	return ((u128)0x6c62272e07bb0142ULL << 64) | 0x62b821756295c58dULL;
}

void send_ident(const void *data, size_t n, unsigned char out[16])
{
	u128 h = fnv128_basis();
	fnv128(&h, "send-ident1", 11);
	fnv128(&h, data, n);
	for (int i = 0; i < 16; i++)
		out[i] = (unsigned char)(h >> (8 * i));
}

/* "snd" + 32 hex: the same input line at the same offset of the same file always gets the
 * same id (36 characters, no dashes, so the collector keeps it as is). */
void send_event_id(const struct send_input *in, uint64_t offset, const char *line, size_t n,
		   char out[37])
{
	u128 h = fnv128_basis();
	char off[24];
	int l = snprintf(off, sizeof off, ":%llu:", (unsigned long long)offset);
	fnv128(&h, in->ident, sizeof in->ident);
	fnv128(&h, off, (size_t)l);
	fnv128(&h, line, n);
	snprintf(out, 37, "snd:%016llx%016llx", (unsigned long long)(uint64_t)(h >> 64),
		 (unsigned long long)(uint64_t)h);
}

/* ------------------------------------------------------------------ DSN */

int send_parse_dsn(const char *dsn, char *url, size_t urllen, char *key, size_t keylen,
		   struct ac_error *err)
{
	const char *scheme_end = strstr(dsn, "://"), *at, *host, *slash;

	if (!scheme_end || (strncmp(dsn, "http://", 7) && strncmp(dsn, "https://", 8)))
		return ac_error_set(err, AC_EINVAL, "bad_dsn",
				    "DSN '%.200s' must start with http:// or https://", dsn);
	host = scheme_end + 3;
	at = strchr(host, '@');
	slash = strchr(host, '/');
	if (!at || (slash && at > slash) || at == host)
		return ac_error_set(err, AC_EINVAL, "bad_dsn",
				    "DSN '%.200s' has no key: expected http://KEY@host:port/PROJECT", dsn);
	size_t klen = (size_t)(at - host);
	const char *colon = memchr(host, ':', klen);   /* KEY:SECRET (old Sentry DSNs) */
	if (colon)
		klen = (size_t)(colon - host);
	if (klen >= keylen)
		return ac_error_set(err, AC_EINVAL, "bad_dsn", "DSN key is too long");
	memcpy(key, host, klen);
	key[klen] = '\0';
	const char *hend = strchr(at + 1, '/');
	size_t hlen = hend ? (size_t)(hend - at - 1) : strlen(at + 1);
	if (!hlen)
		return ac_error_set(err, AC_EINVAL, "bad_dsn", "DSN '%.200s' has no host", dsn);
	if ((size_t)snprintf(url, urllen, "%.*s%.*s", (int)(host - dsn), dsn, (int)hlen, at + 1) >=
	    urllen)
		return ac_error_set(err, AC_EINVAL, "bad_dsn", "DSN is too long");
	return 0;
}

bool send_default_state_dir(char *buf, size_t n)
{
	const char *d = getenv("AUTOCODER_STATE_DIR"), *x = getenv("XDG_STATE_HOME"),
		   *home = getenv("HOME");
	if (d && *d)
		return (size_t)snprintf(buf, n, "%s", d) < n;
	if (x && *x)
		return (size_t)snprintf(buf, n, "%s/autocoder", x) < n;
	if (home && *home)
		return (size_t)snprintf(buf, n, "%s/.local/state/autocoder", home) < n;
	return false;
}

/* ------------------------------------------------------------------ sender */

struct sender *sender_new(const struct send_config *cfg, struct ac_error *err)
{
	struct sender *s;

	if (!cfg->url || !*cfg->url) {
		ac_error_set(err, AC_EINVAL, "no_url",
			     "no collector: give --dsn or --url (or AUTOCODER_DSN / AUTOCODER_URL)");
		return NULL;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT)) {
		ac_error_set(err, AC_EIO, "curl", "cannot initialise libcurl");
		return NULL;
	}
	s = calloc(1, sizeof *s);
	if (!s || !(s->curl = curl_easy_init())) {
		free(s);
		curl_global_cleanup();
		ac_error_set(err, AC_ENOMEM, "oom", "out of memory");
		return NULL;
	}
	s->cfg = *cfg;
	if (!s->cfg.batch_events)
		s->cfg.batch_events = 2000;
	if (!s->cfg.batch_bytes)
		s->cfg.batch_bytes = 2u << 20;
	ac_buf_init(&s->batch.body, s->cfg.batch_bytes + (8u << 20));
	s->inputs = json_array();
	s->reasons = json_array();
	s->draw = cfg->progress > 0;
	s->t0 = ac_monotonic();
	return s;
}

void sender_free(struct sender *s)
{
	if (!s)
		return;
	curl_easy_cleanup(s->curl);
	curl_global_cleanup();
	ac_buf_release(&s->batch.body);
	free(s->batch.start);
	free(s->batch.line);
	json_decref(s->inputs);
	json_decref(s->reasons);
	free(s);
}

/* ------------------------------------------------------------------ HTTP */

struct reply {
	long status;
	struct ac_buf body;
	double retry_after;   /* seconds, -1 when absent */
};

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
	struct reply *r = arg;
	if (ac_buf_append(&r->body, p, size * n))
		return 0;
	return size * n;
}

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
	struct reply *r = arg;
	size_t len = size * n;
	if (len > 12 && !strncasecmp(p, "Retry-After:", 12)) {
		char v[32];
		snprintf(v, sizeof v, "%.*s", (int)(len - 12 < 31 ? len - 12 : 31), p + 12);
		double d;
		char *e;
		d = strtod(v, &e);
		r->retry_after = e != v && d >= 0 ? d : 1.0;
	}
	return len;
}

static int gzip_bytes(const char *in, size_t n, struct ac_buf *out)
{
	z_stream z = { 0 };
	unsigned char chunk[65536];
	int zrc, rc = 0;

	if (deflateInit2(&z, 3, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return AC_ENOMEM;
	z.next_in = (unsigned char *)(uintptr_t)in;
	z.avail_in = (uInt)n;
	do {
		z.next_out = chunk;
		z.avail_out = sizeof chunk;
		zrc = deflate(&z, Z_FINISH);
		if (zrc == Z_STREAM_ERROR) {
			rc = AC_EIO;
			break;
		}
		if ((rc = ac_buf_append(out, chunk, sizeof chunk - z.avail_out)))
			break;
	} while (zrc != Z_STREAM_END);
	deflateEnd(&z);
	return rc;
}

/* The route with the user's defaults as query parameters. */
static void route_url(struct sender *s, const char *route, struct ac_buf *u)
{
	const char *names[] = { "system", "component", "release", "environment" };
	const char *vals[] = { s->cfg.system, s->cfg.component, s->cfg.release,
			       s->cfg.environment };
	char sep = '?';

	size_t bl = strlen(s->cfg.url);
	while (bl && s->cfg.url[bl - 1] == '/')
		bl--;
	ac_buf_printf(u, "%.*s%s", (int)bl, s->cfg.url, route);
	for (size_t i = 0; i < AC_ARRAY_SIZE(names); i++) {
		if (!vals[i] || !*vals[i])
			continue;
		char *esc = curl_easy_escape(s->curl, vals[i], 0);
		if (esc)
			ac_buf_printf(u, "%c%s=%s", sep, names[i], esc);
		curl_free(esc);
		sep = '&';
	}
}

/* One attempt. r->status 0 when the request did not get an answer (network error). */
static void http_post(struct sender *s, const char *url, const char *ctype, const char *body,
		      size_t len, bool gzip, struct reply *r)
{
	struct curl_slist *h = NULL;
	char auth[600];
	CURL *c = s->curl;

	r->status = 0;
	r->retry_after = -1;
	ac_buf_reset(&r->body);
	snprintf(auth, sizeof auth, "Authorization: Bearer %s", s->cfg.key ? s->cfg.key : "");
	if (s->cfg.key && *s->cfg.key)
		h = curl_slist_append(h, auth);
	h = curl_slist_append(h, ctype);
	if (gzip)
		h = curl_slist_append(h, "Content-Encoding: gzip");
	h = curl_slist_append(h, "Expect:");
	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_POST, 1L);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 120L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "autocoder-send/" AC_VERSION);
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	curl_slist_free_all(h);
}

/* Sleep up to secs, waking early when interrupted. */
static void nap(double secs)
{
	while (secs > 0 && !interrupted) {
		double step = secs < 0.1 ? secs : 0.1;
		struct timespec ts = { 0, (long)(step * 1e9) };
		nanosleep(&ts, NULL);
		secs -= step;
	}
}

static void reply_error(const struct reply *r, char *code, size_t cn, char *detail, size_t dn)
{
	json_t *j = r->body.len ? json_loadb(r->body.data, r->body.len, 0, NULL) : NULL;
	snprintf(code, cn, "%s", json_string_value(json_object_get(j, "error")) ?
		 json_string_value(json_object_get(j, "error")) : "http_error");
	if (json_string_value(json_object_get(j, "detail")))
		snprintf(detail, dn, "%s", json_string_value(json_object_get(j, "detail")));
	else
		snprintf(detail, dn, "HTTP %ld", r->status);
	json_decref(j);
}

/* POST with retries until a final answer: 2xx, or a 4xx other than 429. Returns 0 with
 * r->status set, or negative with err when the collector stayed unavailable / interrupted. */
static int deliver(struct sender *s, const char *route, const char *ctype, const char *body,
		   size_t len, bool gzip, bool splittable, struct reply *r, struct ac_error *err)
{
	unsigned in_a_row = 0;
	struct ac_buf url;
	double backoff = s->cfg.backoff > 0 ? s->cfg.backoff : 0.5, waited429 = 0;
	unsigned attempts = 0;
	int rc = 0;

	ac_buf_init(&url, 1 << 16);
	route_url(s, route, &url);
	for (;;) {
		if (interrupted) {
			rc = ac_error_set(err, AC_EIO, "interrupted", "interrupted");
			break;
		}
		http_post(s, url.data, ctype, body, len, gzip, r);
		if (r->status == 429) {
			s->throttled++;
			/* a batch larger than the project's burst would never pass: let the
			 * caller halve it */
			if (splittable && ++in_a_row >= 2)
				break;
			double wait = r->retry_after >= 0 ? r->retry_after : 1.0;
			if (wait > 60)
				wait = 60;
			if (waited429 + wait > s->cfg.max_wait_429) {
				rc = ac_error_set(err, AC_EBUSY, "rate_limited",
						  "the collector kept answering 429 for %.0f s", waited429);
				break;
			}
			waited429 += wait;
			nap(wait);
			continue;
		}
		if (r->status && r->status < 500)
			break;
		if (++attempts >= (s->cfg.retries ? s->cfg.retries : 1)) {
			if (r->status)
				rc = ac_error_set(err, AC_EIO, "unavailable",
						  "the collector answered HTTP %ld %u times; giving up",
						  r->status, attempts);
			else
				rc = ac_error_set(err, AC_EIO, "unavailable",
						  "cannot reach %s after %u attempts", s->cfg.url,
						  attempts);
			break;
		}
		s->retried++;
		/* full jitter would desynchronise many senders; half jitter keeps progress */
		nap(backoff * (0.5 + 0.5 * (double)rand() / RAND_MAX));
		backoff = backoff * 2 > 30 ? 30 : backoff * 2;
	}
	ac_buf_release(&url);
	return rc;
}

/* ------------------------------------------------------------------ batches */

int send_batch_add(struct sender *s, const json_t *ev, unsigned long long line,
		   struct ac_error *err)
{
	struct send_batch *b = &s->batch;
	char *text = json_dumps(ev, JSON_COMPACT);
	int rc;

	if (!text)
		return ac_error_set(err, AC_ENOMEM, "oom", "out of memory");
	if (b->n + 2 > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 1024;
		size_t *st = realloc(b->start, cap * sizeof *st);
		if (st)
			b->start = st;
		unsigned long long *ln = st ? realloc(b->line, cap * sizeof *ln) : NULL;
		if (!st || !ln) {
			free(text);
			return ac_error_set(err, AC_ENOMEM, "oom", "out of memory");
		}
		b->line = ln;
		b->cap = cap;
	}
	b->start[b->n] = b->body.len;
	rc = ac_buf_puts(&b->body, text);
	if (!rc)
		rc = ac_buf_puts(&b->body, "\n");
	free(text);
	if (rc)
		return ac_error_set(err, rc, "too_big", "batch buffer is full");
	b->line[b->n++] = line;
	b->start[b->n] = b->body.len;
	return 0;
}

static void count_reply(struct sender *s, struct send_input *in, const struct reply *r)
{
	json_t *j = json_loadb(r->body.data ? r->body.data : "", r->body.len, 0, NULL);
	long long st = json_integer_value(json_object_get(j, "stored"));
	long long du = json_integer_value(json_object_get(j, "duplicates"));
	in->stored += (unsigned long long)st;
	in->duplicates += (unsigned long long)du;
	s->stored += (unsigned long long)st;
	s->duplicates += (unsigned long long)du;
	json_decref(j);
}

void send_refused(struct sender *s, const struct send_input *in, unsigned long long line,
		  const char *error, const char *detail)
{
	s->refused++;
	s->reasons_total++;
	if (json_array_size(s->reasons) < SEND_REASONS_MAX)
		json_array_append_new(s->reasons,
				      json_pack("{s:s, s:I, s:s, s:s}", "input", in->name, "line",
						(json_int_t)line, "error", error, "detail", detail));
}

/* Send events [a, b) of the batch; a 400/413 refusal of several events is split in two. */
static int post_range(struct sender *s, struct send_input *in, size_t a, size_t b,
		      struct ac_error *err)
{
	struct send_batch *bt = &s->batch;
	struct reply r = { 0 };
	struct ac_buf gz;
	int rc;

	ac_buf_init(&r.body, 16u << 20);
	ac_buf_init(&gz, bt->body.max);
	if ((rc = gzip_bytes(bt->body.data + bt->start[a], bt->start[b] - bt->start[a], &gz))) {
		rc = ac_error_set(err, rc, "gzip", "cannot compress a batch");
		goto out;
	}
	rc = deliver(s, in->route, "Content-Type: application/x-ndjson", gz.data, gz.len, true,
		     b - a > 1, &r, err);
	if (rc)
		goto out;
	if (r.status >= 200 && r.status < 300) {
		count_reply(s, in, &r);
	} else if ((r.status == 400 || r.status == 413 || r.status == 429) && b - a > 1) {
		size_t mid = a + (b - a) / 2;
		/* what the rate limit kept refusing whole: later batches start smaller */
		if (r.status == 429 && s->cfg.batch_events > mid - a)
			s->cfg.batch_events = mid - a;
		ac_buf_release(&gz);
		if (!(rc = post_range(s, in, a, mid, err)))
			rc = post_range(s, in, mid, b, err);
	} else if (r.status == 400 || r.status == 413 || r.status == 415) {
		char code[64], detail[512];
		reply_error(&r, code, sizeof code, detail, sizeof detail);
		/* the server numbers lines within the request: name the input's line instead */
		const char *d = !strncmp(detail, "line 1: ", 8) ? detail + 8 : detail;
		send_refused(s, in, bt->line[a], code, d);
		in->refused += b - a;
	} else {
		char code[64], detail[512];
		reply_error(&r, code, sizeof code, detail, sizeof detail);
		rc = ac_error_set(err, r.status == 401 || r.status == 403 ? AC_EAUTH : AC_EIO, code,
				  "the collector refused the upload: HTTP %ld %s: %s", r.status, code,
				  detail);
	}
out:
	ac_buf_release(&gz);
	ac_buf_release(&r.body);
	return rc;
}

int send_batch_flush(struct sender *s, struct send_input *in, struct ac_error *err)
{
	struct send_batch *b = &s->batch;
	int rc = 0;

	if (b->n) {
		if ((rc = post_range(s, in, 0, b->n, err)))
			return rc;
		in->events += b->n;
		s->events += b->n;
	}
	in->acked = b->end_offset;
	in->lines_acked = b->end_line;
	b->n = 0;
	ac_buf_reset(&b->body);
	send_progress(s, false);
	return send_state_save(in, err);
}

int send_document(struct sender *s, struct send_input *in, const char *route, const char *body,
		  size_t len, struct ac_error *err)
{
	struct reply r = { 0 };
	int rc;

	ac_buf_init(&r.body, 1u << 20);
	rc = deliver(s, route, "Content-Type: application/json", body, len, false, false, &r,
		     err);
	if (!rc) {
		in->events++;
		s->events++;
		if (r.status >= 200 && r.status < 300) {
			count_reply(s, in, &r);
		} else {
			char code[64], detail[512];
			reply_error(&r, code, sizeof code, detail, sizeof detail);
			if (r.status == 401 || r.status == 403)
				rc = ac_error_set(err, AC_EAUTH, code, "the collector refused the "
						  "upload: HTTP %ld: %s", r.status, detail);
			else {
				send_refused(s, in, 0, code, detail);
				in->refused++;
			}
		}
	}
	ac_buf_release(&r.body);
	return rc;
}

int sender_feedback(struct sender *s, long long cluster, const char *outcome, int fix,
		    const char *text, const char *contact, struct ac_error *err)
{
	struct reply r = { 0 };
	char route[64];
	json_t *body = json_pack("{s:s}", "outcome", outcome);
	char *doc;
	int rc;

	if (fix > 0)
		json_object_set_new(body, "fix", json_integer(fix));
	if (text)
		json_object_set_new(body, "text", json_string(text));
	if (contact)
		json_object_set_new(body, "contact", json_string(contact));
	doc = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	if (!doc)
		return ac_error_set(err, AC_EINVAL, "invalid_text", "feedback text is not valid UTF-8");
	snprintf(route, sizeof route, "/api/v1/clusters/%lld/feedback", cluster);
	ac_buf_init(&r.body, 1u << 20);
	struct send_config saved = s->cfg;
	s->cfg.system = s->cfg.component = s->cfg.release = s->cfg.environment = NULL;
	rc = deliver(s, route, "Content-Type: application/json", doc, strlen(doc), false, false,
		     &r, err);
	s->cfg = saved;
	if (!rc && (r.status < 200 || r.status >= 300)) {
		char code[64], detail[512];
		reply_error(&r, code, sizeof code, detail, sizeof detail);
		rc = ac_error_set(err, r.status == 401 || r.status == 403 ? AC_EAUTH : AC_EINVAL, code,
				  "feedback refused: HTTP %ld %s: %s", r.status, code, detail);
	} else if (!rc) {
		printf("%.*s\n", (int)r.body.len, r.body.data ? r.body.data : "");
	}
	ac_buf_release(&r.body);
	free(doc);
	return rc;
}

void send_attach_report(const struct sender *s, json_t *ev)
{
	json_t *ctx, *rep;

	if (!s->cfg.note && !s->cfg.contact)
		return;
	ctx = json_object_get(ev, "context");
	if (!json_is_object(ctx)) {
		ctx = json_object();
		json_object_set_new(ev, "context", ctx);
	}
	rep = json_object();
	if (s->cfg.note)
		json_object_set_new(rep, "note", json_string(s->cfg.note));
	if (s->cfg.contact)
		json_object_set_new(rep, "contact", json_string(s->cfg.contact));
	json_object_set_new(ctx, "report", rep);
}

/* ------------------------------------------------------------------ state */

int send_state_load(struct sender *s, struct send_input *in)
{
	char hex[33], file[64];
	json_t *j;

	if (!s->cfg.state_dir || !*s->cfg.state_dir)
		return 0;
	for (int i = 0; i < 16; i++)
		snprintf(hex + 2 * i, 3, "%02x", in->ident[i]);
	/* the identity is the content's; the state is per identity and path */
	unsigned char pk[16];
	char both[PATH_MAX + 40];
	int bl = snprintf(both, sizeof both, "%s\n%s", hex, in->name);
	send_ident(both, (size_t)bl, pk);
	for (int i = 0; i < 8; i++)
		snprintf(file + 2 * i, 3, "%02x", pk[i]);
	if ((size_t)snprintf(in->state_path, sizeof in->state_path, "%s/send-%s.json",
			     s->cfg.state_dir, file) >= sizeof in->state_path) {
		in->state_path[0] = '\0';
		return 0;
	}
	if (s->cfg.restart)
		return 0;
	j = json_load_file(in->state_path, 0, NULL);
	if (j && !strcmp(json_string_value(json_object_get(j, "identity")) ?
			 json_string_value(json_object_get(j, "identity")) : "", hex)) {
		in->acked = (uint64_t)json_integer_value(json_object_get(j, "offset"));
		in->lines_acked = (unsigned long long)json_integer_value(json_object_get(j, "lines"));
		in->resumed = in->acked > 0;
	}
	json_decref(j);
	return 0;
}

int send_state_save(const struct send_input *in, struct ac_error *err)
{
	char hex[33];
	char *text;
	int rc;

	if (!in->state_path[0])
		return 0;
	for (int i = 0; i < 16; i++)
		snprintf(hex + 2 * i, 3, "%02x", in->ident[i]);
	json_t *j = json_pack("{s:s, s:s, s:I, s:I}", "input", in->name, "identity", hex, "offset",
			      (json_int_t)in->acked, "lines", (json_int_t)in->lines_acked);
	text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (!text)
		return ac_error_set(err, AC_ENOMEM, "oom", "out of memory");
	char dir[PATH_MAX];
	snprintf(dir, sizeof dir, "%s", in->state_path);
	char *slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		ac_mkdir_p(dir, NULL);
	}
	rc = ac_write_file(in->state_path, text, strlen(text), err);
	free(text);
	return rc;
}

void send_input_done(struct sender *s, struct send_input *in)
{
	json_t *o = json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:b, s:b}", "input", in->name,
			      "events", (json_int_t)in->events, "stored", (json_int_t)in->stored,
			      "duplicates", (json_int_t)in->duplicates, "refused",
			      (json_int_t)in->refused, "offset", (json_int_t)in->acked, "resumed",
			      in->resumed, "complete", in->complete);
	if (in->size)
		json_object_set_new(o, "size", json_integer((json_int_t)in->size));
	if (in->state_path[0])
		json_object_set_new(o, "state", json_string(in->state_path));
	json_array_append_new(s->inputs, o);
	if (!in->complete)
		s->undelivered = true;
}

/* ------------------------------------------------------------------ progress */

static void human_bytes(double b, char *out, size_t n)
{
	const char *u[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	int i = 0;
	while (b >= 1024 && i < 4) {
		b /= 1024;
		i++;
	}
	snprintf(out, n, i ? "%.1f %s" : "%.0f %s", b, u[i]);
}

void send_progress(struct sender *s, bool force)
{
	double now = ac_monotonic(), el = now - s->t0;
	char done[24], total[24], rate[24], eta[32] = "";

	if (!s->draw || (!force && now - s->last_draw < 0.2))
		return;
	s->last_draw = now;
	human_bytes((double)s->bytes_read, done, sizeof done);
	human_bytes(el > 0 ? (double)s->bytes_read / el : 0, rate, sizeof rate);
	if (s->bytes_total) {
		human_bytes((double)s->bytes_total, total, sizeof total);
		double left = el > 0 && s->bytes_read ? (double)(s->bytes_total - s->bytes_read) /
				 ((double)s->bytes_read / el) : 0;
		if (s->bytes_read <= s->bytes_total)
			snprintf(eta, sizeof eta, "  ETA %d:%02d", (int)left / 60, (int)left % 60);
		fprintf(stderr, "\r\033[K%s  %s / %s  %3.0f%%  %llu events  %s/s  %.0f events/s%s",
			s->label ? s->label : "", done, total,
			100.0 * (double)s->bytes_read / (double)s->bytes_total, s->events, rate,
			el > 0 ? (double)s->events / el : 0, eta);
	} else {
		fprintf(stderr, "\r\033[K%s  %s  %llu events  %s/s  %.0f events/s",
			s->label ? s->label : "", done, s->events, rate,
			el > 0 ? (double)s->events / el : 0);
	}
	fflush(stderr);
}

/* ------------------------------------------------------------------ summary */

bool sender_complete(const struct sender *s)
{
	return !s->undelivered && s->refused == 0;
}

void sender_print_summary(const struct sender *s, FILE *out, bool json)
{
	size_t i;
	json_t *v;

	if (s->draw)
		fputs("\r\033[K", stderr);
	if (json) {
		json_t *j = json_pack("{s:O, s:I, s:I, s:I, s:I, s:O, s:b, s:I, s:I}", "inputs",
				      s->inputs, "events", (json_int_t)s->events, "stored",
				      (json_int_t)s->stored, "duplicates",
				      (json_int_t)s->duplicates, "refused", (json_int_t)s->refused,
				      "reasons", s->reasons, "complete", sender_complete(s),
				      "throttled", (json_int_t)s->throttled, "retried",
				      (json_int_t)s->retried);
		json_dumpf(j, out, JSON_COMPACT);
		fputc('\n', out);
		json_decref(j);
		return;
	}
	json_array_foreach(s->inputs, i, v) {
		fprintf(out, "%s: %lld events sent: %lld stored, %lld duplicate, %lld refused%s%s\n",
			json_string_value(json_object_get(v, "input")),
			json_integer_value(json_object_get(v, "events")),
			json_integer_value(json_object_get(v, "stored")),
			json_integer_value(json_object_get(v, "duplicates")),
			json_integer_value(json_object_get(v, "refused")),
			json_is_true(json_object_get(v, "resumed")) ? " (resumed)" : "",
			json_is_true(json_object_get(v, "complete")) ? "" :
			" — NOT fully delivered; run the same command again to resume");
	}
	fprintf(out, "total: %llu events sent: %llu stored, %llu duplicate (already there), "
		"%llu refused\n", s->events, s->stored, s->duplicates, s->refused);
	if (s->throttled || s->retried)
		fprintf(out, "waited: %llu answers 429 (rate limit or full queue), %llu retries after "
			"5xx or network errors\n", s->throttled, s->retried);
	json_array_foreach(s->reasons, i, v) {
		long long line = json_integer_value(json_object_get(v, "line"));
		char where[32] = "";
		if (line)
			snprintf(where, sizeof where, ":%lld", line);
		fprintf(out, "refused: %s%s: %s: %s\n", json_string_value(json_object_get(v, "input")),
			where, json_string_value(json_object_get(v, "error")),
			json_string_value(json_object_get(v, "detail")));
	}
	if (s->reasons_total > json_array_size(s->reasons))
		fprintf(out, "refused: ... and %llu more\n",
			s->reasons_total - (unsigned long long)json_array_size(s->reasons));
}

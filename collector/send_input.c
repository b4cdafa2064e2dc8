/*
 * send_input.c — the inputs of `autocoder send` (see send.h): text log lines (optionally split
 * by a logparser --format), JSON lines, a JSON event or array, a crash report JSON, and a
 * generated system's crash spool directory.
 *
 * Lines are read from a file descriptor with a byte offset per line, so the state file can
 * record exactly how far the acknowledged batches reach and a resumed run seeks (or, on a
 * pipe, skips) to that offset. A line's event id hashes the file identity (its first 4 KiB),
 * the line's offset and its bytes: resending a line anywhere yields the same id.
 */
#include "core/common.h"
#include "collector/send_int.h"
#include "collector/internal.h"
#include "analyzer/logformat.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#define IDENT_BYTES 4096
#define LINE_MAX_BYTES (4u << 20)

/* ------------------------------------------------------------------ line reader */

struct reader {
	int fd;
	char *buf;
	size_t cap, len, pos;     /* buf[pos..len) not yet returned */
	uint64_t base;            /* input offset of buf[0] */
	bool eof;
};

static int reader_fill(struct reader *r)
{
	if (r->pos > 0) {
		memmove(r->buf, r->buf + r->pos, r->len - r->pos);
		r->base += r->pos;
		r->len -= r->pos;
		r->pos = 0;
	}
	if (r->len == r->cap) {
		size_t cap = r->cap * 2;
		char *p = cap <= LINE_MAX_BYTES * 2 ? realloc(r->buf, cap) : NULL;
		if (!p)
			return AC_ETOOBIG;
		r->buf = p;
		r->cap = cap;
	}
	ssize_t n;
	do
		n = read(r->fd, r->buf + r->len, r->cap - r->len);
	while (n < 0 && errno == EINTR && !send_interrupted());
	if (n < 0)
		return AC_EIO;
	if (n == 0)
		r->eof = true;
	r->len += (size_t)n;
	return 0;
}

/* Next line (without its newline) and the offsets it spans. 1 = line, 0 = end, < 0 error.
 * A line longer than LINE_MAX_BYTES comes back cut (*cut = true) and the rest is skipped. */
static int reader_line(struct reader *r, const char **line, size_t *n, uint64_t *start,
		       uint64_t *end, bool *cut)
{
	*cut = false;
	for (;;) {
		char *nl = memchr(r->buf + r->pos, '\n', r->len - r->pos);
		if (nl || (r->eof && r->len > r->pos)) {
			size_t l = nl ? (size_t)(nl - r->buf - r->pos) : r->len - r->pos;
			*line = r->buf + r->pos;
			*start = r->base + r->pos;
			*n = l;
			r->pos += l + (nl ? 1 : 0);
			*end = r->base + r->pos;
			if (*n && (*line)[*n - 1] == '\r')
				(*n)--;
			return 1;
		}
		if (r->eof)
			return 0;
		if (r->len - r->pos >= LINE_MAX_BYTES) {
			/* hand out the head, then drop bytes up to the next newline */
			*cut = true;
			*line = r->buf + r->pos;
			*n = 1024;
			*start = r->base + r->pos;
			for (;;) {
				r->pos = r->len;
				int rc = reader_fill(r);
				if (rc)
					return rc;
				char *p = memchr(r->buf, '\n', r->len);
				if (p || r->eof) {
					r->pos = p ? (size_t)(p - r->buf) + 1 : r->len;
					break;
				}
			}
			*end = r->base + r->pos;
			*line = "";
			*n = 0;
			return 1;
		}
		int rc = reader_fill(r);
		if (rc)
			return rc;
	}
}

/* ------------------------------------------------------------------ events from lines */

enum line_kind { LINES_TEXT, LINES_JSON };

struct line_ctx {
	struct sender *s;
	struct send_input *in;
	struct logformat *fmt;
	enum line_kind kind;
};

static void add_tag(json_t *ev, const char *name, const char *p, size_t n)
{
	json_t *tags = json_object_get(ev, "tags");
	if (!tags) {
		tags = json_object();
		json_object_set_new(ev, "tags", tags);
	}
	json_object_set_new(tags, name, json_stringn(p, n < 200 ? n : 200));
}

/* Date and Time header fields that read as an ISO-8601 time (taken as UTC) become the event's
 * timestamp; other layouts stay tags only. */
static void event_time_from_tags(json_t *ev)
{
	json_t *tags = json_object_get(ev, "tags");
	const char *d = json_string_value(json_object_get(tags, "Date"));
	const char *t = json_string_value(json_object_get(tags, "Time"));
	char iso[96];
	double ts;

	if (!d || !t)
		return;
	snprintf(iso, sizeof iso, "%sT%s%s", d, t, strpbrk(t, "Z+") ? "" : "Z");
	for (char *p = iso; *p; p++)
		if (*p == ',')   /* log4j's "10:00:00,123" */
			*p = '.';
	if (!ac_parse_time(iso, &ts))
		json_object_set_new(ev, "timestamp", json_string(iso));
}

/* A text line as an event: message = <Content>; Level, Component and Logger fields become
 * the event's; other header fields become tags. */
static json_t *text_event(struct line_ctx *c, const char *line, size_t n)
{
	const char *content, *p, *level = NULL;
	size_t clen, pn;
	json_t *ev = json_object();
	bool fits = logformat_content(c->fmt, line, n, &content, &clen);

	json_object_set_new(ev, "message", json_stringn(content, clen));
	for (size_t i = 0; fits && i < logformat_nfields(c->fmt); i++) {
		const char *name = logformat_field(c->fmt, i, line, &p, &pn);
		char v[64];
		if (!p || !strcmp(name, "Content"))
			continue;
		if (!strcmp(name, "Level") && pn < sizeof v) {
			snprintf(v, sizeof v, "%.*s", (int)pn, p);
			if ((level = event_level_name(v)))
				continue;
		}
		if (!strcmp(name, "Component") && pn && !json_object_get(ev, "component"))
			json_object_set_new(ev, "component", json_stringn(p, pn));
		else if (!strcmp(name, "Logger") && pn)
			json_object_set_new(ev, "logger", json_stringn(p, pn));
		else if (pn)
			add_tag(ev, name, p, pn);
	}
	event_time_from_tags(ev);
	if (!level)
		level = ingest_text_level(line, n);
	if (level)
		json_object_set_new(ev, "level", json_string(level));
	return ev;
}

static int line_event(struct line_ctx *c, const char *line, size_t n, uint64_t off,
		      unsigned long long lineno, struct ac_error *err)
{
	char id[37];
	json_t *ev;
	int rc;

	if (!ac_utf8_valid(line, n, NULL)) {
		send_refused(c->s, c->in, lineno, "invalid_utf8", "invalid UTF-8 (not sent)");
		c->in->refused++;
		return 0;
	}
	if (c->kind == LINES_JSON) {
		json_error_t je;
		ev = json_loadb(line, n, 0, &je);
		if (!json_is_object(ev)) {
			char d[300];
			snprintf(d, sizeof d, "not a JSON object (%s); not sent", ev ? "other type" : je.text);
			send_refused(c->s, c->in, lineno, "invalid_json", d);
			c->in->refused++;
			json_decref(ev);
			return 0;
		}
	} else {
		ev = text_event(c, line, n);
	}
	if (!json_object_get(ev, "event_id")) {
		send_event_id(c->in, off, line, n, id);
		json_object_set_new(ev, "event_id", json_string(id));
	}
	send_attach_report(c->s, ev);
	rc = send_batch_add(c->s, ev, lineno, err);
	json_decref(ev);
	return rc;
}

static bool blank(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strchr(" \t\r\f\v", p[i]))
			return false;
	return true;
}

/* Read lines from r's offset on, batch them, flush full batches; the last flush marks the
 * input complete. */
static int send_lines(struct line_ctx *c, struct reader *r, struct ac_error *err)
{
	struct sender *s = c->s;
	struct send_input *in = c->in;
	unsigned long long lineno = in->lines_acked;
	const char *line = "";
	size_t n = 0;
	uint64_t start = 0, end = 0;
	bool cut = false;
	int rc;

	s->batch.n = 0;
	ac_buf_reset(&s->batch.body);
	s->batch.end_offset = in->acked;
	s->batch.end_line = lineno;
	while ((rc = reader_line(r, &line, &n, &start, &end, &cut)) == 1) {
		lineno++;
		s->bytes_read = end;
		if (cut) {
			send_refused(s, in, lineno, "line_too_long",
				     "line longer than 4 MiB; not sent");
			in->refused++;
		} else if (!blank(line, n) && (rc = line_event(c, line, n, start, lineno, err))) {
			return rc;
		}
		s->batch.end_offset = end;
		s->batch.end_line = lineno;
		if (s->batch.n >= s->cfg.batch_events || s->batch.body.len >= s->cfg.batch_bytes) {
			if ((rc = send_batch_flush(s, in, err)))
				return rc;
		}
		send_progress(s, false);
		if (send_interrupted())
			return ac_error_set(err, AC_EIO, "interrupted", "interrupted");
	}
	if (rc < 0)
		return ac_error_set(err, rc, "read", "%s: %s", in->name,
				    rc == AC_ETOOBIG ? "line too long" : strerror(errno));
	if ((rc = send_batch_flush(s, in, err)))
		return rc;
	in->complete = true;
	return 0;
}

/* ------------------------------------------------------------------ crash spool */

/* One "module(function+0x1d) [0x...]" backtrace line as a frame; NULL when it is not one. */
static json_t *spool_frame(const char *line, const char *exe)
{
	const char *lp = strchr(line, '('), *rp = lp ? strchr(lp, ')') : NULL;
	const char *ebase = strrchr(exe, '/') ? strrchr(exe, '/') + 1 : exe;
	char module[512], func[256];

	if (!lp || !rp)
		return NULL;
	snprintf(module, sizeof module, "%.*s", (int)(lp - line), line);
	const char *base = strrchr(module, '/') ? strrchr(module, '/') + 1 : module;
	const char *plus = memchr(lp, '+', (size_t)(rp - lp));
	snprintf(func, sizeof func, "%.*s", (int)((plus ? plus : rp) - lp - 1), lp + 1);
	bool in_app = *ebase && !strcmp(base, ebase) && func[0] && strncmp(func, "rt_", 3);
	if (!func[0])
		snprintf(func, sizeof func, "%.200s%.*s", base, plus ? (int)(rp - plus) : 0,
			 plus ? plus : "");
	json_t *f = json_pack("{s:s, s:s, s:b}", "function", func, "module", base, "in_app", in_app);
	const char *lb = strchr(rp, '[');
	if (lb)
		json_object_set_new(f, "address", json_stringn(lb + 1, strcspn(lb + 1, "]")));
	return f;
}

/* The runtime's line-oriented crash report (rt_crash.c) as /api/v1/crashes JSON. */
static json_t *spool_report(const char *text)
{
	json_t *rep = json_object(), *frames = json_array();
	char exe[512] = "";
	bool in_bt = false, skipped_handler = false;
	const char *p = text;

	while (*p) {
		size_t n = strcspn(p, "\n");
		char line[2048];
		snprintf(line, sizeof line, "%.*s", (int)(n < sizeof line - 1 ? n : sizeof line - 1), p);
		p += n + (p[n] == '\n');
		if (in_bt) {
			if (!skipped_handler && strstr(line, "rt_crash_handler")) {
				json_array_clear(frames);   /* the handler and what is above it */
				skipped_handler = true;
				continue;
			}
			if (skipped_handler && !json_array_size(frames) && strstr(line, "libc.so"))
				continue;   /* the signal trampoline */
			json_t *f = spool_frame(line, exe);
			if (f)
				json_array_append_new(frames, f);
			continue;
		}
		if (!strcmp(line, "backtrace:")) {
			in_bt = true;
			continue;
		}
		char *colon = strstr(line, ": ");
		if (!colon)
			continue;
		*colon = '\0';
		if (!strcmp(line, "exe"))
			snprintf(exe, sizeof exe, "%s", colon + 2);
		else if (!strcmp(line, "load_base"))
			continue;
		else if (!strcmp(line, "timestamp")) {
			char iso[40];
			ac_format_iso8601(strtod(colon + 2, NULL), iso, sizeof iso);
			json_object_set_new(rep, "timestamp", json_string(iso));
		} else
			json_object_set_new(rep, line, json_string(colon + 2));
	}
	/* as the runtime does: <component>_process/_crash live in src/<component>.c */
	const char *comp = json_string_value(json_object_get(rep, "component"));
	size_t i, cl = comp ? strlen(comp) : 0;
	json_t *f;
	json_array_foreach(frames, i, f) {
		const char *fn = json_string_value(json_object_get(f, "function"));
		if (cl && fn && !strncmp(fn, comp, cl) &&
		    (!strcmp(fn + cl, "_process") || !strcmp(fn + cl, "_crash"))) {
			char file[300];
			snprintf(file, sizeof file, "src/%s.c", comp);
			json_object_set_new(f, "file", json_string(file));
			json_object_set_new(f, "in_app", json_true());
		}
	}
	json_object_set_new(rep, "frames", frames);
	return rep;
}

static int send_crash_json(struct sender *s, struct send_input *in, json_t *rep,
			   const char *text, size_t len, struct ac_error *err)
{
	char id[37];
	int rc;

	if (!json_object_get(rep, "event_id")) {
		send_event_id(in, 0, text, len, id);
		json_object_set_new(rep, "event_id", json_string(id));
	}
	/* the collector keeps the whole report in context.crash: the note goes at its top */
	json_t *tmp = json_object();
	send_attach_report(s, tmp);
	json_t *r = json_object_get(json_object_get(tmp, "context"), "report");
	if (r)
		json_object_set(rep, "report", r);
	json_decref(tmp);
	char *doc = json_dumps(rep, JSON_COMPACT);
	if (!doc)
		return ac_error_set(err, AC_ENOMEM, "oom", "out of memory");
	rc = send_document(s, in, "/api/v1/crashes", doc, strlen(doc), err);
	free(doc);
	return rc;
}

static int send_spool(struct sender *s, const char *dir, struct ac_error *err)
{
	struct dirent **names = NULL;
	int n = scandir(dir, &names, NULL, alphasort), rc = 0, found = 0;

	if (n < 0)
		return ac_error_set(err, AC_EIO, "read", "%s: %s", dir, strerror(errno));
	for (int i = 0; i < n; i++) {
		const char *nm = names[i]->d_name;
		size_t nl = strlen(nm);
		char path[PATH_MAX];
		if (rc || strncmp(nm, "crash-", 6) || nl < 4 || strcmp(nm + nl - 4, ".txt"))
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, nm);
		size_t len;
		char *text = ac_read_file(path, 1u << 20, &len, err);
		struct send_input in = { .name = path, .route = "/api/v1/crashes" };
		found++;
		if (!text) {
			rc = err->code;
			continue;
		}
		send_ident(text, len, in.ident);
		json_t *rep = spool_report(text);
		s->label = path;
		rc = send_crash_json(s, &in, rep, text, len, err);
		in.complete = rc == 0;
		in.acked = len;
		send_input_done(s, &in);
		json_decref(rep);
		free(text);
	}
	for (int i = 0; i < n; i++)
		free(names[i]);
	free(names);
	if (!rc && !found)
		return ac_error_set(err, AC_ENOTFOUND, "empty_spool",
				    "%s: no crash reports (crash-*.txt) in this directory", dir);
	return rc;
}

/* ------------------------------------------------------------------ JSON documents */

/* A file that is one JSON document: an array of events, one event, or a crash report. */
static int send_json_doc(struct sender *s, struct send_input *in, json_t *doc, const char *text,
			 size_t len, struct ac_error *err)
{
	int rc = 0;

	if (json_is_object(doc) && json_object_get(doc, "signal")) {
		rc = send_crash_json(s, in, doc, text, len, err);
		in->complete = rc == 0;
		in->acked = len;
		return rc;
	}
	json_t *arr = json_is_array(doc) ? json_incref(doc) : json_pack("[O]", doc);
	size_t i;
	json_t *ev;
	in->route = "/api/v1/events";
	s->batch.n = 0;
	ac_buf_reset(&s->batch.body);
	json_array_foreach(arr, i, ev) {
		char id[37], pos[32];
		if (!json_is_object(ev)) {
			send_refused(s, in, i + 1, "invalid_event", "array element is not an object");
			in->refused++;
			continue;
		}
		json_t *copy = json_deep_copy(ev);
		if (!json_object_get(copy, "event_id")) {
			int pl = snprintf(pos, sizeof pos, "[%zu]", i);
			send_event_id(in, i, pos, (size_t)pl, id);
			json_object_set_new(copy, "event_id", json_string(id));
		}
		send_attach_report(s, copy);
		rc = send_batch_add(s, copy, i + 1, err);
		json_decref(copy);
		if (rc)
			break;
		if (s->batch.n >= s->cfg.batch_events || s->batch.body.len >= s->cfg.batch_bytes) {
			s->batch.end_offset = 0;   /* no partial resume inside one document */
			if ((rc = send_batch_flush(s, in, err)))
				break;
		}
	}
	json_decref(arr);
	if (!rc) {
		s->batch.end_offset = len;
		if (!(rc = send_batch_flush(s, in, err)))
			in->complete = true;
	}
	return rc;
}

/* ------------------------------------------------------------------ dispatch */

/* First non-blank byte of the first 4 KiB, or 0. */
static char first_byte(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strchr(" \t\r\n\f\v", p[i]))
			return p[i];
	return 0;
}

/* Whole-document JSON when the content parses as one value; else NULL (JSON lines). */
static json_t *whole_json(int fd, uint64_t size, char **text, size_t *len)
{
	if (size > (64u << 20))
		return NULL;
	char *buf = malloc(size + 1);
	size_t got = 0;
	while (buf && got < size) {
		ssize_t r = pread(fd, buf + got, size - got, (off_t)got);
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	if (!buf || got != size) {
		free(buf);
		return NULL;
	}
	json_t *j = json_loadb(buf, got, 0, NULL);
	if (!j) {
		free(buf);
		return NULL;
	}
	*text = buf;
	*len = got;
	return j;
}

static int send_fd(struct sender *s, struct send_input *in, int fd, bool seekable,
		   struct ac_error *err)
{
	struct reader r = { .fd = fd, .cap = 1u << 20 };
	struct line_ctx c = { .s = s, .in = in, .kind = LINES_TEXT };
	int rc = 0;

	if (!(r.buf = malloc(r.cap)))
		return ac_error_set(err, AC_ENOMEM, "oom", "out of memory");
	/* the identity: the first 4 KiB (kept in the reader's buffer for a pipe) */
	while (!r.eof && r.len < IDENT_BYTES && !(rc = reader_fill(&r)))
		;
	if (rc) {
		free(r.buf);
		return ac_error_set(err, AC_EIO, "read", "%s: %s", in->name, strerror(errno));
	}
	send_ident(r.buf, r.len < IDENT_BYTES ? r.len : IDENT_BYTES, in->ident);
	char fb = first_byte(r.buf, r.len < IDENT_BYTES ? r.len : IDENT_BYTES);
	if (fb == 0 && r.eof) {
		in->complete = true;
		goto out;
	}
	if (!s->cfg.format && (fb == '{' || fb == '[')) {
		char *text = NULL;
		size_t len = 0;
		json_t *doc = seekable ? whole_json(fd, in->size, &text, &len) : NULL;
		if (doc) {
			rc = send_json_doc(s, in, doc, text, len, err);
			json_decref(doc);
			free(text);
			goto out;
		}
		c.kind = LINES_JSON;
		in->route = "/api/v1/events";
	}
	if (s->cfg.format && !(c.fmt = logformat_compile(s->cfg.format, err))) {
		rc = err->code;
		goto out;
	}
	send_state_load(s, in);
	if (in->acked) {
		if (seekable && lseek(fd, (off_t)in->acked, SEEK_SET) >= 0) {
			r.len = r.pos = 0;
			r.base = in->acked;
			r.eof = false;
		} else {
			/* a pipe: skip to the offset */
			while (r.base + r.len < in->acked && !r.eof) {
				r.pos = r.len;
				if ((rc = reader_fill(&r))) {
					rc = ac_error_set(err, AC_EIO, "read", "%s: %s", in->name,
							  strerror(errno));
					goto out;
				}
			}
			if (r.base + r.len < in->acked) {
				rc = ac_error_set(err, AC_EINVAL, "short_input",
						  "%s is shorter than the saved offset %llu; use "
						  "--restart", in->name, (unsigned long long)in->acked);
				goto out;
			}
			r.pos = (size_t)(in->acked - r.base);
		}
		s->bytes_read = in->acked;
	}
	rc = send_lines(&c, &r, err);
out:
	logformat_free(c.fmt);
	free(r.buf);
	return rc;
}

int send_input_run(struct sender *s, const char *path, struct ac_error *err)
{
	struct send_input in = { .name = path, .route = "/api/v1/logs" };
	struct stat st;
	int fd, rc;
	bool is_stdin = !strcmp(path, "-");

	if (is_stdin) {
		fd = STDIN_FILENO;
	} else {
		if (stat(path, &st))
			return ac_error_set(err, AC_EIO, "read", "%s: %s", path, strerror(errno));
		if (S_ISDIR(st.st_mode))
			return send_spool(s, path, err);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return ac_error_set(err, AC_EIO, "read", "%s: %s", path, strerror(errno));
	}
	if (!fstat(fd, &st) && S_ISREG(st.st_mode))
		in.size = (uint64_t)st.st_size;
	s->label = is_stdin ? "stdin" : path;
	s->bytes_read = 0;
	s->bytes_total = in.size;
	rc = send_fd(s, &in, fd, in.size > 0 || (S_ISREG(st.st_mode)), err);
	send_progress(s, true);
	send_input_done(s, &in);
	if (!is_stdin)
		close(fd);
	return rc;
}

int sender_send_path(struct sender *s, const char *path, struct ac_error *err)
{
	return send_input_run(s, path, err);
}

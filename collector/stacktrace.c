/*
 * stacktrace.c — frames from the text of a stack trace, for OTLP records whose
 * exception.stacktrace attribute is all the client sends (otlp.c). With frames, such an
 * event fingerprints on type + in-app frames exactly like a Sentry exception.
 *
 * The text is read line by line; each line is tried against the frame forms of the runtimes
 * we know, which do not overlap:
 *   Python       File "path", line N, in func              (outermost first)
 *   Java/JVM     at pkg.Class.method(File.java:N)           (innermost first)
 *   .NET         at Ns.Class.Method(args) in path:line N    (innermost first)
 *   JavaScript   at func (file:L:C) / at file:L:C           (V8, innermost first)
 *                func@file:L:C                              (SpiderMonkey/JSC)
 *   Go           pkg.func(args)  followed by  <TAB>/path/file.go:N +0x..   (innermost first)
 * Only the exception that was thrown is described: Java's "Caused by:" / "Suppressed:"
 * sections and the lines after the first goroutine of a Go panic are not its frames; for a
 * chained Python traceback the last block is; for .NET the frames after "--- End of inner
 * exception stack trace ---" are. Frames come out outermost first (Sentry's order).
 * in_app is false for the runtimes' own and third-party code (site-packages, node_modules,
 * node:internal, java./javax./sun./jdk./kotlin., System./Microsoft., the Go runtime) and
 * true otherwise. The exception type is the first line's "Type: message" prefix (the last
 * such line for Python).
 */
#include "core/common.h"
#include "collector/internal.h"

#include <ctype.h>

#define MAX_FRAMES 256
#define LINE_MAX_LEN 2048

enum style { ST_NONE, ST_PYTHON, ST_JAVA, ST_DOTNET, ST_JS, ST_GO };

struct frame_text {
	char function[256], module[256], file[512];
	long line, column;
};

static bool has_prefix(const char *s, const char *p)
{
	return !strncmp(s, p, strlen(p));
}

static void copy_n(char *dst, size_t cap, const char *s, size_t n)
{
	if (n >= cap)
		n = cap - 1;
	memcpy(dst, s, n);
	dst[n] = '\0';
}

/* "path:L[:C]" from the right: fills file, line, column (0 if absent). false if no line. */
static bool split_location(const char *s, size_t n, struct frame_text *f)
{
	long nums[2] = { 0, 0 };
	int k = 0;

	while (k < 2) {
		size_t e = n;
		while (e > 0 && isdigit((unsigned char)s[e - 1]))
			e--;
		if (e == n || e == 0 || s[e - 1] != ':')
			break;
		nums[k++] = strtol(s + e, NULL, 10);
		n = e - 1;
	}
	if (k == 0)
		return false;
	f->line = k == 2 ? nums[1] : nums[0];
	f->column = k == 2 ? nums[0] : 0;
	copy_n(f->file, sizeof f->file, s, n);
	return true;
}

static bool not_in_app(const struct frame_text *f, enum style st)
{
	static const char *const fn_prefixes[] = { "java.", "javax.", "sun.", "jdk.", "kotlin.",
						   "kotlinx.", "scala.", "System.", "Microsoft.",
						   "runtime.", "testing.", "net/http." };
	const char *name = f->module[0] ? f->module : f->function;

	if (strstr(f->file, "site-packages") || strstr(f->file, "dist-packages") ||
	    strstr(f->file, "/lib/python") || strstr(f->file, "node_modules") ||
	    has_prefix(f->file, "node:") || has_prefix(f->file, "internal/") ||
	    strstr(f->file, "/go/src/") || strstr(f->file, "/pkg/mod/"))
		return true;
	if (st == ST_JAVA || st == ST_DOTNET || st == ST_GO)
		for (size_t i = 0; i < AC_ARRAY_SIZE(fn_prefixes); i++)
			if (has_prefix(name, fn_prefixes[i]))
				return true;
	return false;
}

static bool python_frame(const char *l, struct frame_text *f)
{
	const char *q, *p = strstr(l, "File \"");
	if (p != l)
		return false;
	p += 6;
	q = strstr(p, "\", line ");
	if (!q)
		return false;
	copy_n(f->file, sizeof f->file, p, (size_t)(q - p));
	f->line = strtol(q + 8, NULL, 10);
	p = strstr(q, ", in ");
	if (p)
		copy_n(f->function, sizeof f->function, p + 5, strlen(p + 5));
	return true;
}

/* "Ns.Class.Method" -> module "Ns.Class", function "Method" (Java and .NET). */
static void split_qualified(const char *s, size_t n, struct frame_text *f)
{
	size_t dot = n;
	int depth = 0;

	for (size_t i = n; i > 0; i--) {
		char c = s[i - 1];
		if (c == '>' || c == ']')
			depth++;
		else if ((c == '<' || c == '[') && depth)
			depth--;
		else if (c == '.' && !depth && i - 1 > 0 && i < n) {
			dot = i - 1;
			break;
		}
	}
	if (dot == n) {
		copy_n(f->function, sizeof f->function, s, n);
		return;
	}
	copy_n(f->module, sizeof f->module, s, dot);
	copy_n(f->function, sizeof f->function, s + dot + 1, n - dot - 1);
	/* Java 9+ "java.base/java.lang.Thread": the module layer is not part of the class */
	const char *slash = strchr(f->module, '/');
	if (slash && !strchr(slash, ' '))
		memmove(f->module, slash + 1, strlen(slash + 1) + 1);
}

/* After "at ": Java, .NET or V8. */
static enum style at_frame(const char *p, struct frame_text *f)
{
	size_t n = strlen(p);
	const char *paren = strchr(p, '('), *in;

	if (has_prefix(p, "async "))
		p += 6, n -= 6, paren = strchr(p, '(');
	/* V8: "func (loc)" with a space before '(' and loc at the end, or a bare location */
	if (paren && paren > p && paren[-1] == ' ' && p[n - 1] == ')') {
		const char *loc = strrchr(p, '(');
		copy_n(f->function, sizeof f->function, p, (size_t)(paren - 1 - p));
		if (!split_location(loc + 1, (size_t)(p + n - 1 - loc - 1), f))
			copy_n(f->file, sizeof f->file, loc + 1, (size_t)(p + n - 1 - loc - 1));
		return ST_JS;
	}
	if (!paren) {
		if (split_location(p, n, f))
			return ST_JS;
		return ST_NONE;
	}
	/* .NET: "Ns.C.M(args) in path:line N" */
	if ((in = strstr(paren, ") in ")) && strstr(in, ":line ")) {
		const char *ln = strstr(in, ":line ");
		split_qualified(p, (size_t)(paren - p), f);
		copy_n(f->file, sizeof f->file, in + 5, (size_t)(ln - in - 5));
		f->line = strtol(ln + 6, NULL, 10);
		return ST_DOTNET;
	}
	const char *close = strrchr(paren, ')');
	if (!close || close[1])
		return ST_NONE;
	/* Java: "(File.java:42)", "(Native Method)", "(Unknown Source)" */
	size_t inner = (size_t)(close - paren - 1);
	const char *colon = memchr(paren + 1, ':', inner);
	bool java = (inner > 0 && !memchr(paren + 1, ' ', inner) && memchr(paren + 1, '.', inner)) ||
		    has_prefix(paren + 1, "Native Method") || has_prefix(paren + 1, "Unknown Source");
	split_qualified(p, (size_t)(paren - p), f);
	if (java) {
		if (colon) {
			copy_n(f->file, sizeof f->file, paren + 1, (size_t)(colon - paren - 1));
			f->line = strtol(colon + 1, NULL, 10);
		} else if (!has_prefix(paren + 1, "Native") && !has_prefix(paren + 1, "Unknown")) {
			copy_n(f->file, sizeof f->file, paren + 1, inner);
		}
		return ST_JAVA;
	}
	return ST_DOTNET; /* .NET without file information: "at Ns.C.M(Int32 x)" */
}

/* "func@file:L:C" (Firefox, Safari). */
static bool at_sign_frame(const char *l, struct frame_text *f)
{
	const char *at = strchr(l, '@');
	if (!at || strchr(l, ' ') || !split_location(at + 1, strlen(at + 1), f))
		return false;
	copy_n(f->function, sizeof f->function, l, (size_t)(at - l));
	return strchr(f->file, '/') || strchr(f->file, '.');
}

/* "<TAB>/path/file.go:N +0x1d" */
static bool go_location(const char *raw, struct frame_text *f)
{
	if (raw[0] != '\t')
		return false;
	const char *p = raw + 1, *sp = strstr(p, " +0x");
	size_t n = sp ? (size_t)(sp - p) : strlen(p);
	return split_location(p, n, f) && f->column == 0 && f->line > 0;
}

/* "main.(*T).m(0x1, ...)" or "main.main()" at the start of a line */
static bool go_function(const char *raw, char *out, size_t cap)
{
	size_t n = strlen(raw);
	if (!n || isspace((unsigned char)raw[0]) || raw[n - 1] != ')' || !strchr(raw, '.'))
		return false;
	const char *p = raw + n - 1;
	int depth = 0;
	for (; p >= raw; p--) {
		if (*p == ')')
			depth++;
		else if (*p == '(' && --depth == 0)
			break;
	}
	const char *sp = strchr(raw, ' ');
	if (p <= raw || (sp && sp < p))
		return false;
	copy_n(out, cap, raw, (size_t)(p - raw));
	return true;
}

/* "Type: message" or "Type" on its own: an identifier with dots, no spaces. */
static bool type_line(const char *l, char *type, size_t cap)
{
	size_t n = 0;
	while (l[n] && (isalnum((unsigned char)l[n]) || strchr("._$`<>+", l[n])))
		n++;
	if (!n || !(isalpha((unsigned char)l[0]) || l[0] == '_' || l[0] == '$') ||
	    (l[n] && l[n] != ':'))
		return false;
	copy_n(type, cap, l, n);
	return true;
}

static json_t *frame_json(const struct frame_text *f, enum style st)
{
	json_t *o = json_object();
	if (f->function[0])
		json_object_set_new(o, "function", json_string(f->function));
	if (f->module[0])
		json_object_set_new(o, "module", json_string(f->module));
	if (f->file[0])
		json_object_set_new(o, "file", json_string(f->file));
	if (f->line > 0)
		json_object_set_new(o, "line", json_integer(f->line));
	if (f->column > 0)
		json_object_set_new(o, "column", json_integer(f->column));
	json_object_set_new(o, "in_app", json_boolean(!not_in_app(f, st)));
	return o;
}

struct parse_state {
	json_t *frames;
	enum style style;
	bool stop;                  /* past the thrown exception's frames */
	char go_func[256];          /* a Go function line waiting for its location */
	char type[256];
	bool first_line;
};

static void add_frame(struct parse_state *s, const struct frame_text *f, enum style st)
{
	if (s->style == ST_NONE)
		s->style = st;
	if (json_array_size(s->frames) < MAX_FRAMES)
		json_array_append_new(s->frames, frame_json(f, st));
}

static void parse_line(struct parse_state *s, const char *raw)
{
	const char *l = raw;
	struct frame_text f;

	memset(&f, 0, sizeof f);
	while (*l == ' ' || *l == '\t')
		l++;
	if (!*l)
		return;
	if (s->first_line) {
		s->first_line = false;
		if (!has_prefix(l, "Traceback ") && !has_prefix(l, "goroutine "))
			type_line(l, s->type, sizeof s->type);
		if (has_prefix(l, "panic: "))
			snprintf(s->type, sizeof s->type, "panic");
	}
	if (s->stop)
		return;
	if (has_prefix(l, "Traceback (most recent call last)")) {
		json_array_clear(s->frames);   /* chained: the last traceback is the raised one */
		s->style = ST_PYTHON;
		return;
	}
	if (s->style == ST_PYTHON && l == raw && type_line(l, s->type, sizeof s->type))
		return;
	if (has_prefix(l, "Caused by:") || has_prefix(l, "Suppressed:")) {
		if (json_array_size(s->frames))
			s->stop = true;
		return;
	}
	if (has_prefix(l, "--- End of inner exception stack trace ---")) {
		json_array_clear(s->frames);
		return;
	}
	if (s->style == ST_GO && has_prefix(l, "goroutine ") && json_array_size(s->frames)) {
		s->stop = true;
		return;
	}
	if (python_frame(l, &f)) {
		add_frame(s, &f, ST_PYTHON);
		return;
	}
	if (has_prefix(l, "at ")) {
		enum style st = at_frame(l + 3, &f);
		if (st != ST_NONE)
			add_frame(s, &f, st);
		return;
	}
	if (s->go_func[0] && go_location(raw, &f)) {
		split_qualified(s->go_func, strlen(s->go_func), &f);
		/* keep the package path with the function: "main.(*T).m" groups as written */
		copy_n(f.function, sizeof f.function, s->go_func, strlen(s->go_func));
		f.module[0] = '\0';
		s->go_func[0] = '\0';
		add_frame(s, &f, ST_GO);
		return;
	}
	s->go_func[0] = '\0';
	if (go_function(raw, s->go_func, sizeof s->go_func))
		return;
	if (at_sign_frame(l, &f))
		add_frame(s, &f, ST_JS);
}

json_t *stacktrace_parse(const char *text, char *type, size_t cap)
{
	struct parse_state s;
	char line[LINE_MAX_LEN];
	const char *p = text;

	memset(&s, 0, sizeof s);
	s.frames = json_array();
	s.first_line = true;
	while (p && *p) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		copy_n(line, sizeof line, p, n);
		if (n && line[n < sizeof line ? n - 1 : sizeof line - 2] == '\r')
			line[n < sizeof line ? n - 1 : sizeof line - 2] = '\0';
		parse_line(&s, line);
		p = nl ? nl + 1 : NULL;
	}
	if (type && cap)
		snprintf(type, cap, "%s", s.type);
	if (!json_array_size(s.frames)) {
		json_decref(s.frames);
		return NULL;
	}
	if (s.style != ST_PYTHON) {   /* innermost first -> outermost first */
		size_t n = json_array_size(s.frames);
		json_t *rev = json_array();
		for (size_t i = n; i > 0; i--)
			json_array_append(rev, json_array_get(s.frames, i - 1));
		json_decref(s.frames);
		s.frames = rev;
	}
	return s.frames;
}

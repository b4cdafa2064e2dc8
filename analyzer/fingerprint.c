/*
 * fingerprint.c — default and custom fingerprints of error/crash events. See fingerprint.h.
 *
 * The components of a fingerprint are collected as strings into a list; the hash runs over
 * "fp1" + basis + components separated by control bytes that cannot occur in the components'
 * JSON-decoded text in a way that makes two lists collide (each component is length-prefixed).
 */
#include "core/common.h"
#include "analyzer/fingerprint.h"
#include "analyzer/mask.h"

#define MAX_FRAMES 64
#define NAME_MAX_LEN 256
#define MESSAGE_MAX 2048

struct parts {
	char *item[MAX_FRAMES + 2];
	size_t n;
};

static void parts_release(struct parts *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->item[i]);
	p->n = 0;
}

static int parts_add(struct parts *p, const char *s, size_t len)
{
	if (p->n >= AC_ARRAY_SIZE(p->item))
		return 0; /* more frames than we hash: the innermost are kept by the caller */
	char *d = malloc(len + 1);
	if (!d)
		return AC_ENOMEM;
	memcpy(d, s, len);
	d[len] = '\0';
	p->item[p->n++] = d;
	return 0;
}

/* ---- function name normalisation ---- */

static bool ident(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '$' || (unsigned char)c >= 0x80;
}

static bool hexdig(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* Delete w[a..b) in place. */
static void cut(char *w, size_t a, size_t b)
{
	memmove(w + a, w + b, strlen(w + b) + 1);
}

/* Index of the bracket closing the one at w[i] (open/close given), or 0 if unbalanced. */
static size_t closing(const char *w, size_t i, char open, char close)
{
	int depth = 0;
	for (size_t j = i; w[j]; j++) {
		if (w[j] == open)
			depth++;
		else if (w[j] == close && --depth == 0)
			return j;
	}
	return 0;
}

/* glibc backtrace_symbols: "./prog(func+0x1a) [0x55d0c0a1b2c3]" -> "func". */
static void take_backtrace_symbol(char *w)
{
	char *open = strchr(w, '(');
	char *plus = open ? strstr(open, "+0x") : NULL;
	char *close = plus ? strchr(plus, ')') : NULL;
	if (!open || !plus || !close)
		return;
	size_t len = (size_t)(plus - open - 1);
	memmove(w, open + 1, len);
	w[len] = '\0';
}

static void remove_addresses(char *w)
{
	for (size_t i = 0; w[i];) {
		bool start = i == 0 || !ident(w[i - 1]);
		if (w[i] == '+' && w[i + 1] == '0' && (w[i + 2] == 'x' || w[i + 2] == 'X')) {
			size_t j = i + 3;
			while (hexdig(w[j]))
				j++;
			cut(w, i, j);
			continue;
		}
		if (start && w[i] == '0' && (w[i + 1] == 'x' || w[i + 1] == 'X') && hexdig(w[i + 2])) {
			size_t j = i + 2;
			while (hexdig(w[j]))
				j++;
			cut(w, i, j);
			continue;
		}
		i++;
	}
}

/* "{lambda(int)#1}" -> "{lambda}", "lambda$main$0" -> "lambda$main", "foo#2" -> "foo". */
static void normalise_lambdas(char *w)
{
	char *p;
	while ((p = strstr(w, "{lambda(")) != NULL) {
		size_t i = (size_t)(p - w) + 7, j = closing(w, i, '(', ')');
		if (!j)
			break;
		cut(w, i, j + 1);
	}
	for (size_t i = 0; w[i];) {
		if ((w[i] == '#' || w[i] == '$') && w[i + 1] >= '0' && w[i + 1] <= '9') {
			size_t j = i + 1;
			while (w[j] >= '0' && w[j] <= '9')
				j++;
			if (!ident(w[j])) {
				cut(w, i, j);
				continue;
			}
		}
		i++;
	}
}

static bool keep_angle(const char *w, size_t i, size_t j)
{
	static const char *const words[] = { "<lambda>", "<anonymous>", "<module>", "<genexpr>",
					     "<listcomp>", "<dictcomp>", "<setcomp>", "<init>",
					     "<clinit>", "<unknown>" };
	for (size_t k = 0; k < AC_ARRAY_SIZE(words); k++)
		if (strlen(words[k]) == j - i + 1 && !memcmp(words[k], w + i, j - i + 1))
			return true;
	return false;
}

/* Template and generic arguments after a name: "vector<int>::push" -> "vector::push". */
static void remove_generic_args(char *w)
{
	for (size_t i = 1; w[i];) {
		if (w[i] == '<' && (ident(w[i - 1]) || w[i - 1] == '>')) {
			size_t j = closing(w, i, '<', '>');
			if (j && !keep_angle(w, i, j)) {
				cut(w, i, j + 1);
				continue;
			}
		}
		i++;
	}
}

/* Parameter lists "(int, char*)" after a name, " const" after them. Keeps Go's "(*T)". */
static void remove_params(char *w)
{
	for (size_t i = 1; w[i];) {
		if (w[i] == '(' && (ident(w[i - 1]) || w[i - 1] == '>' || w[i - 1] == ']')) {
			size_t j = closing(w, i, '(', ')');
			if (j) {
				cut(w, i, j + 1);
				continue;
			}
		}
		i++;
	}
	size_t n = strlen(w);
	if (n > 6 && !strcmp(w + n - 6, " const"))
		w[n - 6] = '\0';
}

static void remove_suffixes(char *w)
{
	char *p;
	size_t n;
	if ((p = strstr(w, " at ")) != NULL) /* gdb / node: "fn at file.c:12" */
		*p = '\0';
	if ((p = strstr(w, " [")) != NULL)
		*p = '\0';
	n = strlen(w);
	/* Rust symbol hash "::h0123456789abcdef" */
	if (n > 19 && w[n - 19] == ':' && w[n - 18] == ':' && w[n - 17] == 'h') {
		bool hex = true;
		for (size_t k = n - 16; k < n; k++)
			hex &= hexdig(w[k]);
		if (hex)
			w[n - 19] = '\0';
	}
	n = strlen(w);
	/* trailing ":123" line numbers */
	size_t k = n;
	while (k && w[k - 1] >= '0' && w[k - 1] <= '9')
		k--;
	if (k && k < n && w[k - 1] == ':')
		w[k - 1] = '\0';
}

static void trim_spaces(char *w)
{
	size_t a = 0, o = 0;
	bool space = false;
	while (w[a] == ' ' || w[a] == '\t')
		a++;
	for (; w[a]; a++) {
		if (w[a] == ' ' || w[a] == '\t' || w[a] == '\n' || w[a] == '\r') {
			space = true;
			continue;
		}
		if (space && o)
			w[o++] = ' ';
		space = false;
		w[o++] = w[a];
	}
	w[o] = '\0';
}

size_t fingerprint_function(const char *in, char *out, size_t cap)
{
	char w[NAME_MAX_LEN + 1];
	if (!cap)
		return 0;
	snprintf(w, sizeof w, "%s", in ? in : "");
	take_backtrace_symbol(w);
	remove_suffixes(w);
	remove_addresses(w);
	normalise_lambdas(w);
	remove_generic_args(w);
	remove_params(w);
	remove_suffixes(w);
	trim_spaces(w);
	if (!strcmp(w, "?") || !strcmp(w, "??") || !strcmp(w, "<unknown>"))
		w[0] = '\0';
	snprintf(out, cap, "%s", w);
	return strlen(out);
}

/* ---- event fields ---- */

static const char *str_field(const json_t *obj, const char *key)
{
	const json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
	return json_is_string(v) ? json_string_value(v) : NULL;
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/'), *b = strrchr(path, '\\');
	if (b && (!s || b > s))
		s = b;
	return s ? s + 1 : path;
}

/* The name a frame contributes: normalised function, else the file's base name. */
/* An unsymbolised backtrace_symbols() frame "./svc(+0x1a2b) [0x55d0...]" has only its offset
 * in the module to tell crash sites apart: "svc+0x1a2b" (stable within one build). */
static size_t module_offset(const char *fn, char *out, size_t cap)
{
	const char *open = strstr(fn, "(+0x"), *end;
	if (!open)
		return 0;
	for (end = open + 4; (*end >= '0' && *end <= '9') || (*end >= 'a' && *end <= 'f') ||
			     (*end >= 'A' && *end <= 'F'); end++)
		;
	if (*end != ')')
		return 0;
	char module[128];
	snprintf(module, sizeof module, "%.*s", (int)(open - fn), fn);
	snprintf(out, cap, "%s+%.*s", base_name(module), (int)(end - open - 2), open + 2);
	return strlen(out);
}

static size_t frame_name(const json_t *fr, char *out, size_t cap)
{
	const char *fn = str_field(fr, "function"), *file = str_field(fr, "file");
	size_t n = fn ? fingerprint_function(fn, out, cap) : 0;
	if (!n && fn)
		n = module_offset(fn, out, cap);
	if (!n && file && *file) {
		snprintf(out, cap, "%s", base_name(file));
		n = strlen(out);
	}
	return n;
}

/* Collect the frame names (in-app ones with in_app_only), innermost MAX_FRAMES, outermost
 * first. Returns 0 or AC_ENOMEM; *nout = names collected. */
static int collect_frames(const json_t *frames, bool in_app_only, struct parts *p, size_t *nout)
{
	char name[NAME_MAX_LEN + 1];
	size_t total = json_array_size(frames), used = 0;
	/* keep the innermost MAX_FRAMES frames: the crash site is at the end */
	size_t eligible = 0;
	for (size_t i = 0; i < total; i++)
		if (!in_app_only || json_is_true(json_object_get(json_array_get(frames, i), "in_app")))
			eligible++;
	size_t skip = eligible > MAX_FRAMES ? eligible - MAX_FRAMES : 0;
	for (size_t i = 0; i < total; i++) {
		const json_t *fr = json_array_get(frames, i);
		if (!json_is_object(fr))
			continue;
		if (in_app_only && !json_is_true(json_object_get(fr, "in_app")))
			continue;
		if (skip) {
			skip--;
			continue;
		}
		size_t n = frame_name(fr, name, sizeof name);
		if (!n)
			continue;
		if (parts_add(p, name, n))
			return AC_ENOMEM;
		used++;
	}
	*nout = used;
	return 0;
}

/* Collapse recursion in p->item[first..]: a frame repeated right after itself, or a cycle of
 * up to MAX_CYCLE frames repeated right after itself (a b a b -> a b), is kept once, so the
 * same recursive bug at any depth has one stack. Returns the number of frames left. */
#define MAX_CYCLE 8
static size_t collapse_recursion(struct parts *p, size_t first)
{
	bool again = true;
	while (again) {
		again = false;
		for (size_t len = 1; len <= MAX_CYCLE && !again; len++)
			for (size_t i = first; i + 2 * len <= p->n && !again; i++) {
				size_t k = 0;
				while (k < len && !strcmp(p->item[i + k], p->item[i + len + k]))
					k++;
				if (k < len)
					continue;
				for (k = 0; k < len; k++)
					free(p->item[i + len + k]);
				memmove(p->item + i + len, p->item + i + 2 * len,
					(p->n - i - 2 * len) * sizeof *p->item);
				p->n -= len;
				again = true;
			}
	}
	return p->n - first;
}

static char *masked_text(struct masker *mk, const char *s)
{
	size_t n = strlen(s);
	if (n > MESSAGE_MAX)
		n = MESSAGE_MAX;
	size_t cap = 4 * n + 64;
	char *out = malloc(cap);
	if (!out)
		return NULL;
	masker_apply(mk, s, n, out, cap);
	trim_spaces(out);
	return out;
}

/* ---- default grouping ---- */

struct result {
	struct parts parts;
	enum fingerprint_basis basis;
	struct ac_buf expl;
	struct ac_buf title;
};

/* The message of an error as part of its key: masked, and with quoted text masked too
 * ("KeyError: 'x'" names a variable value as often as a constant). Owned by the caller. */
static char *error_message(const json_t *ev, struct masker *mk)
{
	const json_t *exc = json_object_get(ev, "exception");
	const char *value = str_field(exc, "value");
	if (!value || !*value)
		value = str_field(ev, "message");
	char *m = masked_text(mk, value ? value : "");
	if (!m)
		return NULL;
	size_t len = strlen(m), o = 0;
	char *out = malloc(2 * len + 1); /* a quoted span is >= 3 bytes and becomes 5 */
	if (!out) {
		free(m);
		return NULL;
	}
	for (size_t i = 0; i < len;) {
		char q = m[i];
		const char *end = (q == '\'' || q == '"') ? strchr(m + i + 1, q) : NULL;
		if (end && end > m + i + 1 && (size_t)(end - m - i) < 200) {
			memcpy(out + o, "<STR>", 5);
			o += 5;
			i = (size_t)(end - m) + 1;
			continue;
		}
		out[o++] = m[i++];
	}
	out[o] = '\0';
	free(m);
	return out;
}

/* Group on the crash site: exception type, the innermost frame after recursion is collapsed,
 * and the error's masked message (a different word there is a different error). The frames
 * further out are callers: they do not split the group (fingerprint_caller() names the
 * nearest one for the cluster's breakdown). p->item[first..] holds the frames. */
static int crash_site(const json_t *ev, struct masker *mk, struct result *r, const char *type,
		      size_t first, bool in_app)
{
	size_t nframes = collapse_recursion(&r->parts, first);
	const char *site = r->parts.item[first + nframes - 1];
	char *site_copy = strdup(site), *msg = error_message(ev, mk);
	int rc = site_copy && msg ? 0 : AC_ENOMEM;
	/* keep only the site and the message as components */
	for (size_t i = first; i < r->parts.n; i++)
		free(r->parts.item[i]);
	r->parts.n = first;
	if (!rc)
		rc = parts_add(&r->parts, site_copy, strlen(site_copy));
	if (!rc)
		rc = parts_add(&r->parts, msg, strlen(msg));
	if (!rc) {
		r->basis = in_app ? FP_INAPP_FRAMES : FP_ALL_FRAMES;
		ac_buf_printf(&r->expl, "type %s + crash site %s%s (callers do not count) + masked message: %s",
			      type, in_app ? "in-app frame " : "frame ", site_copy, msg);
		ac_buf_printf(&r->title, "%s in %s", type, site_copy);
	}
	free(site_copy);
	free(msg);
	return rc;
}

#define CALLER_FRAMES 3

int fingerprint_caller(const json_t *ev, char *out, size_t cap)
{
	const json_t *exc = json_object_get(ev, "exception");
	const json_t *frames = json_object_get(exc, "frames");
	struct parts p = { .n = 0 };
	size_t n = 0;
	int rc;

	if (cap)
		out[0] = '\0';
	if (!json_is_object(exc) || !json_is_array(frames) || json_array_size(json_object_get(ev, "fingerprint")))
		return 0;
	if ((rc = collect_frames(frames, true, &p, &n)) == 0 && !n)
		rc = collect_frames(frames, false, &p, &n);
	/* the path that reached the site: up to CALLER_FRAMES frames, nearest first */
	if (!rc && n && collapse_recursion(&p, 0) >= 2) {
		size_t o = 0;
		for (size_t k = 0; k < CALLER_FRAMES && k + 2 <= p.n && o < cap; k++) {
			int w = snprintf(out + o, cap - o, "%s%s", k ? " < " : "", p.item[p.n - 2 - k]);
			if (w < 0)
				break;
			o += (size_t)w;
		}
	}
	parts_release(&p);
	return rc;
}

static int default_grouping(const json_t *ev, struct masker *mk, struct result *r)
{
	const json_t *exc = json_object_get(ev, "exception");
	const char *type = str_field(exc, "type");
	const json_t *frames = json_object_get(exc, "frames");
	size_t first = r->parts.n, nframes = 0;
	int rc;

	if (json_is_object(exc) && type && *type) {
		if ((rc = parts_add(&r->parts, type, strlen(type))))
			return rc;
		first = r->parts.n;
		if (json_is_array(frames)) {
			bool in_app = true;
			if ((rc = collect_frames(frames, true, &r->parts, &nframes)))
				return rc;
			if (!nframes) {
				in_app = false;
				if ((rc = collect_frames(frames, false, &r->parts, &nframes)))
					return rc;
			}
			if (nframes)
				return crash_site(ev, mk, r, type, first, in_app);
		}
		const char *value = str_field(exc, "value");
		if (!value || !*value)
			value = str_field(ev, "message");
		char *m = masked_text(mk, value ? value : "");
		if (!m)
			return AC_ENOMEM;
		rc = parts_add(&r->parts, m, strlen(m));
		if (!rc) {
			r->basis = FP_TYPE_MESSAGE;
			ac_buf_printf(&r->expl, "type %s + masked message: %s", type, m);
			ac_buf_printf(&r->title, "%s: %s", type, m);
		}
		free(m);
		return rc;
	}
	/* a Sentry logentry groups on its template, not on the text formatted from it */
	const char *msg = str_field(json_object_get(json_object_get(ev, "context"), "logentry"),
				    "message");
	if (!msg)
		msg = str_field(ev, "message");
	if (!msg && json_is_object(exc))
		msg = str_field(exc, "value");
	char *m = masked_text(mk, msg ? msg : "");
	if (!m)
		return AC_ENOMEM;
	rc = parts_add(&r->parts, m, strlen(m));
	if (!rc) {
		r->basis = FP_MESSAGE;
		ac_buf_printf(&r->expl, "masked message: %s", m);
		ac_buf_printf(&r->title, "%s", m);
	}
	free(m);
	return rc;
}

static bool is_default_marker(const char *s)
{
	return !strcmp(s, "{{ default }}") || !strcmp(s, "{{default}}");
}

/* An SDK-supplied fingerprint; "{{ default }}" entries expand to the default components. */
static int custom_grouping(const json_t *ev, const json_t *fpr, struct masker *mk,
			   struct result *r, struct ac_error *err)
{
	size_t i;
	const json_t *v;
	char num[64];
	int rc = 0;
	bool used_default = false;

	json_array_foreach(fpr, i, v) {
		const char *s;
		if (json_is_string(v))
			s = json_string_value(v);
		else if (json_is_integer(v) || json_is_real(v)) {
			snprintf(num, sizeof num, "%.17g", json_number_value(v));
			s = num;
		} else
			return ac_error_set(err, AC_EINVAL, "bad_fingerprint",
					    "fingerprint[%zu] must be a string", i);
		if (is_default_marker(s) && !used_default) {
			struct result d = { .basis = FP_MESSAGE };
			ac_buf_init(&d.expl, 4096);
			ac_buf_init(&d.title, 1024);
			rc = default_grouping(ev, mk, &d);
			for (size_t k = 0; !rc && k < d.parts.n; k++)
				rc = parts_add(&r->parts, d.parts.item[k], strlen(d.parts.item[k]));
			if (!rc) {
				ac_buf_printf(&r->expl, "%s{{ default }} = %s", i ? " + " : "",
					      d.expl.data ? d.expl.data : "");
				ac_buf_puts(&r->title, d.title.data ? d.title.data : "");
			}
			parts_release(&d.parts);
			ac_buf_release(&d.expl);
			ac_buf_release(&d.title);
			used_default = true;
		} else {
			rc = parts_add(&r->parts, s, strlen(s));
			if (!rc)
				ac_buf_printf(&r->expl, "%s\"%s\"", i ? " + " : "", s);
		}
		if (rc)
			return ac_error_set(err, rc, "oom", "out of memory");
	}
	if (!r->title.len)
		ac_buf_printf(&r->title, "%s", r->parts.n ? r->parts.item[0] : "");
	r->basis = FP_CUSTOM;
	return 0;
}

/* ---- hashing ---- */

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

static void hash_parts(const struct result *r, char out[33])
{
	u128 h = ((u128)0x6c62272e07bb0142ULL << 64) | 0x62b821756295c58dULL;
	char len[24];
	fnv128(&h, "fp1", 3);
	fnv128(&h, fingerprint_basis_name(r->basis), strlen(fingerprint_basis_name(r->basis)));
	for (size_t i = 0; i < r->parts.n; i++) {
		size_t n = strlen(r->parts.item[i]);
		int l = snprintf(len, sizeof len, ":%zu:", n);
		fnv128(&h, len, (size_t)l);
		fnv128(&h, r->parts.item[i], n);
	}
	uint64_t hi = (uint64_t)(h >> 64), lo = (uint64_t)h;
	snprintf(out, 33, "%016llx%016llx", (unsigned long long)hi, (unsigned long long)lo);
}

const char *fingerprint_basis_name(enum fingerprint_basis b)
{
	switch (b) {
	case FP_CUSTOM: return "custom";
	case FP_INAPP_FRAMES: return "in_app_frames";
	case FP_ALL_FRAMES: return "all_frames";
	case FP_TYPE_MESSAGE: return "type_message";
	case FP_MESSAGE: return "message";
	}
	return "unknown";
}

void fingerprint_release(struct fingerprint *fp)
{
	if (!fp)
		return;
	free(fp->explanation);
	free(fp->title);
	fp->explanation = NULL;
	fp->title = NULL;
}

int fingerprint_event(const json_t *ev, struct masker *mk, struct fingerprint *fp,
		      struct ac_error *err)
{
	struct masker *own = NULL;
	struct result r = { .basis = FP_MESSAGE };
	const json_t *fpr;
	int rc;

	memset(fp, 0, sizeof *fp);
	ac_buf_init(&r.expl, 4096);
	ac_buf_init(&r.title, 1024);
	if (!json_is_object(ev)) {
		rc = ac_error_set(err, AC_EINVAL, "bad_event", "event must be a JSON object");
		goto out;
	}
	if (!mk && !(mk = own = masker_new(NULL, err))) {
		rc = AC_ENOMEM;
		goto out;
	}
	fpr = json_object_get(ev, "fingerprint");
	if (fpr && !json_is_array(fpr) && !json_is_null(fpr)) {
		rc = ac_error_set(err, AC_EINVAL, "bad_fingerprint",
				  "fingerprint must be an array of strings");
		goto out;
	}
	if (json_array_size(fpr))
		rc = custom_grouping(ev, fpr, mk, &r, err);
	else if ((rc = default_grouping(ev, mk, &r)))
		ac_error_set(err, rc, "oom", "out of memory");
	if (rc)
		goto out;
	hash_parts(&r, fp->hash);
	fp->basis = r.basis;
	fp->explanation = ac_buf_detach(&r.expl, NULL);
	fp->title = ac_buf_detach(&r.title, NULL);
	if (!fp->explanation || !fp->title) {
		fingerprint_release(fp);
		rc = ac_error_set(err, AC_ENOMEM, "oom", "out of memory");
	}
out:
	parts_release(&r.parts);
	ac_buf_release(&r.expl);
	ac_buf_release(&r.title);
	masker_free(own);
	return rc;
}

/*
 * logformat.c — logparser-style line formats compiled to one anchored PCRE2 pattern (see
 * logformat.h). Moved here from cmd/cluster.c so `send` splits lines the same way `cluster`
 * does; the field names are kept in order so a caller can walk the header fields.
 */
#include "core/common.h"
#include "analyzer/logformat.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#define FIELDS_MAX 32

struct logformat {
	pcre2_code *re;
	pcre2_match_data *md;
	uint32_t content_group;
	size_t nfields;
	char names[FIELDS_MAX][33];
	uint32_t groups[FIELDS_MAX];
};

#define FORMAT_MAX 1024

/* Mark the '(' ... ')?' pairs of logparser's optional parts ("<Component>(\[<PID>\])?"):
 * grp[i] = 1 at such an opener, 2 at its closer. Other parentheses are literal text. */
static void mark_optional_groups(const char *spec, size_t n, unsigned char *grp)
{
	size_t stack[16], depth = 0;
	for (size_t i = 0; i < n; i++) {
		if (spec[i] == '\\' && i + 1 < n) {
			i++;
		} else if (spec[i] == '<') {
			const char *gt = memchr(spec + i, '>', n - i);
			if (gt)
				i = (size_t)(gt - spec);
		} else if (spec[i] == '(' && depth < AC_ARRAY_SIZE(stack)) {
			stack[depth++] = i;
		} else if (spec[i] == ')' && depth) {
			size_t open = stack[--depth];
			if (i + 1 < n && spec[i + 1] == '?') {
				grp[open] = 1;
				grp[i] = 2;
			}
		}
	}
}

/* Append the PCRE2 for field "<name>" at spec[i]; *end receives the index after '>'. */
static int add_field(struct ac_buf *re, const char *spec, size_t i, size_t *end, int *content,
		     struct ac_error *err)
{
	const char *lt = spec + i, *gt = strchr(lt, '>');
	size_t nl = gt ? (size_t)(gt - lt - 1) : 0;
	if (!gt || !nl || nl > 32)
		return ac_error_set(err, AC_EINVAL, "bad_format",
				    "bad --format at column %zu: expected <Field>", i + 1);
	for (size_t k = 1; k <= nl; k++)
		if (!((lt[k] >= 'a' && lt[k] <= 'z') || (lt[k] >= 'A' && lt[k] <= 'Z') ||
		      (lt[k] >= '0' && lt[k] <= '9' && k > 1) || lt[k] == '_'))
			return ac_error_set(err, AC_EINVAL, "bad_format",
					    "bad --format at column %zu: field names use letters, "
					    "digits and '_'", i + 1 + k);
	if (nl == 7 && !memcmp(lt + 1, "Content", 7))
		(*content)++;
	*end = i + nl + 2;
	return ac_buf_printf(re, "(?<%.*s>.*?)", (int)nl, lt + 1);
}

/* Translate a logparser format into an anchored PCRE2 pattern. Text between fields is literal,
 * except: a run of spaces matches any whitespace, "\X" is X (logparser formats escape
 * brackets as "\[" since their text is a regex there), and "( ... )?" around fields marks an
 * optional part. So both '[<Pid>]' and '\[<Pid>\]' work. */
static int format_to_regex(struct ac_buf *re, const char *spec, int *content, struct ac_error *err)
{
	size_t n = strlen(spec);
	unsigned char grp[FORMAT_MAX] = { 0 };
	int rc = 0;

	if (n >= FORMAT_MAX)
		return ac_error_set(err, AC_EINVAL, "bad_format", "--format is longer than %d bytes",
				    FORMAT_MAX - 1);
	mark_optional_groups(spec, n, grp);
	ac_buf_puts(re, "^");
	for (size_t i = 0; i < n && !rc;) {
		unsigned char c = (unsigned char)spec[i];
		if (c == '<') {
			rc = add_field(re, spec, i, &i, content, err);
			if (rc && rc != AC_ETOOBIG)
				return rc;
			continue;
		}
		if (c == ' ') {
			while (i < n && spec[i] == ' ')
				i++;
			rc = ac_buf_puts(re, "\\s+");
		} else if (grp[i] == 1) {
			rc = ac_buf_puts(re, "(?:");
			i++;
		} else if (grp[i] == 2) {
			rc = ac_buf_puts(re, ")?");
			i += 2;
		} else if (c == '\\' && i + 1 < n) {
			unsigned char e = (unsigned char)spec[i + 1];
			bool alnum = (e >= '0' && e <= '9') || (e >= 'a' && e <= 'z') || (e >= 'A' && e <= 'Z');
			rc = alnum ? ac_buf_printf(re, "%c", e) : ac_buf_printf(re, "\\%c", e);
			i += 2;
		} else if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			   c >= 0x80) {
			rc = ac_buf_append(re, spec + i, 1);
			i++;
		} else {
			rc = ac_buf_printf(re, "\\%c", c);
			i++;
		}
	}
	if (!rc)
		rc = ac_buf_puts(re, "$");
	return rc ? ac_error_set(err, AC_EINVAL, "bad_format", "--format is too long") : 0;
}

/* The named groups in pattern order (PCRE2's name table), for logformat_field(). */
static void collect_names(struct logformat *fmt)
{
	uint32_t count = 0, size = 0;
	PCRE2_SPTR table;

	pcre2_pattern_info(fmt->re, PCRE2_INFO_NAMECOUNT, &count);
	pcre2_pattern_info(fmt->re, PCRE2_INFO_NAMEENTRYSIZE, &size);
	pcre2_pattern_info(fmt->re, PCRE2_INFO_NAMETABLE, &table);
	for (uint32_t i = 0; i < count && fmt->nfields < FIELDS_MAX; i++) {
		PCRE2_SPTR e = table + (size_t)i * size;
		fmt->groups[fmt->nfields] = (uint32_t)(e[0] << 8 | e[1]);
		snprintf(fmt->names[fmt->nfields], sizeof fmt->names[0], "%s", (const char *)e + 2);
		fmt->nfields++;
	}
}

/* Compile a logparser-style format into fmt. 0, or AC_EINVAL with err naming the problem. */
static int format_compile(struct logformat *fmt, const char *spec, struct ac_error *err)
{
	struct ac_buf re;
	int rc, content = 0, errcode;
	PCRE2_SIZE erroff;

	ac_buf_init(&re, 64 * 1024);
	if ((rc = format_to_regex(&re, spec, &content, err)))
		goto out;
	if (content != 1) {
		rc = ac_error_set(err, AC_EINVAL, "bad_format",
				  "--format must contain <Content> exactly once");
		goto out;
	}
	fmt->re = pcre2_compile((PCRE2_SPTR)re.data, PCRE2_ZERO_TERMINATED,
				PCRE2_DOTALL | PCRE2_DUPNAMES, &errcode, &erroff, NULL);
	if (!fmt->re) {
		PCRE2_UCHAR msg[160];
		pcre2_get_error_message(errcode, msg, sizeof msg);
		rc = ac_error_set(err, AC_EINVAL, "bad_format", "bad --format: %s", (char *)msg);
		goto out;
	}
	pcre2_jit_compile(fmt->re, PCRE2_JIT_COMPLETE);
	fmt->md = pcre2_match_data_create_from_pattern(fmt->re, NULL);
	int g = pcre2_substring_number_from_name(fmt->re, (PCRE2_SPTR) "Content");
	if (!fmt->md || g < 0) {
		rc = ac_error_set(err, AC_ENOMEM, "oom", "cannot prepare --format");
		goto out;
	}
	fmt->content_group = (uint32_t)g;
	collect_names(fmt);
out:
	ac_buf_release(&re);
	return rc;
}

struct logformat *logformat_compile(const char *spec, struct ac_error *err)
{
	struct logformat *f = calloc(1, sizeof *f);

	if (!f) {
		ac_error_set(err, AC_ENOMEM, "oom", "out of memory");
		return NULL;
	}
	if (format_compile(f, spec, err)) {
		logformat_free(f);
		return NULL;
	}
	return f;
}

void logformat_free(struct logformat *f)
{
	if (!f)
		return;
	pcre2_match_data_free(f->md);
	pcre2_code_free(f->re);
	free(f);
}

bool logformat_content(struct logformat *f, const char *line, size_t n, const char **content,
		       size_t *clen)
{
	*content = line;
	*clen = n;
	if (!f || !f->re)
		return true;
	if (pcre2_match(f->re, (PCRE2_SPTR)line, n, 0, 0, f->md, NULL) < 0)
		return false;
	PCRE2_SIZE *ov = pcre2_get_ovector_pointer(f->md);
	*content = line + ov[2 * f->content_group];
	*clen = ov[2 * f->content_group + 1] - ov[2 * f->content_group];
	return true;
}

size_t logformat_nfields(const struct logformat *f)
{
	return f ? f->nfields : 0;
}

const char *logformat_field(struct logformat *f, size_t i, const char *line, const char **p,
			    size_t *n)
{
	PCRE2_SIZE *ov = pcre2_get_ovector_pointer(f->md);
	uint32_t g = f->groups[i];

	*p = NULL;
	*n = 0;
	if (ov[2 * g] != PCRE2_UNSET) {
		*p = line + ov[2 * g];
		*n = ov[2 * g + 1] - ov[2 * g];
	}
	return f->names[i];
}

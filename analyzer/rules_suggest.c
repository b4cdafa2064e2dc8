/*
 * rules_suggest.c — turning a mined template of an unknown pattern into a rule to paste.
 *
 * The guide lists clusters no rule matches; for each it offers a rule whose pattern is derived
 * from the cluster's template: literal text is escaped for PCRE2, each placeholder (`<*>` or a
 * mask name such as `<NUM>`, `<IP>`) becomes a lazy `.+?` (a mask may have replaced text with
 * spaces, such as a quoted string), and runs of spaces match `\s+`. The suggested YAML is loaded with the real loader and its example matched
 * before it is returned, so what the guide prints is known to work.
 */
#include "core/common.h"
#include "analyzer/rules.h"

/* Length of a placeholder starting at s ("<*>", "<NUM>", "<IP_PORT>"), or 0. */
static size_t placeholder_len(const char *s)
{
	if (s[0] != '<')
		return 0;
	if (s[1] == '*' && s[2] == '>')
		return 3;
	size_t i = 1;
	while ((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_')
		i++;
	return (i > 1 && s[i] == '>') ? i + 1 : 0;
}

char *rules_pattern_from_template(const char *tmpl)
{
	struct ac_buf b;
	int rc = 0;
	ac_buf_init(&b, 64 * 1024);
	for (const char *p = tmpl; *p && !rc;) {
		size_t ph = placeholder_len(p);
		if (ph) {
			rc = ac_buf_puts(&b, ".+?");
			p += ph;
		} else if (*p == ' ' || *p == '\t') {
			while (*p == ' ' || *p == '\t')
				p++;
			rc = ac_buf_puts(&b, "\\s+");
		} else if (strchr("\\^$.|?*+()[]{}", *p)) {
			char esc[3] = { '\\', *p, '\0' };
			rc = ac_buf_puts(&b, esc);
			p++;
		} else {
			rc = ac_buf_append(&b, p, 1);
			p++;
		}
	}
	if (rc || b.len == 0) {
		ac_buf_release(&b);
		return NULL;
	}
	return ac_buf_detach(&b, NULL);
}

/* Append s as a single-quoted YAML scalar (quotes doubled, line breaks as spaces). */
static int yaml_quote(struct ac_buf *b, const char *s, size_t max)
{
	int rc = ac_buf_puts(b, "'");
	for (size_t i = 0; s[i] && i < max && !rc; i++) {
		if (s[i] == '\'')
			rc = ac_buf_puts(b, "''");
		else if (s[i] == '\n' || s[i] == '\r')
			rc = ac_buf_puts(b, " ");
		else
			rc = ac_buf_append(b, s + i, 1);
	}
	return rc ? rc : ac_buf_puts(b, "'");
}

static int suggest_yaml(struct ac_buf *b, const char *id, const char *tmpl, const char *pattern,
			const char *example)
{
	int rc = 0;
	rc |= ac_buf_printf(b, "  - id: %s\n    title: ", id);
	rc |= yaml_quote(b, tmpl, 100);
	rc |= ac_buf_puts(b, "\n    category: unknown\n    severity: error\n    match:\n      message: ");
	rc |= yaml_quote(b, pattern, SIZE_MAX);
	rc |= ac_buf_puts(b, "\n    causes:\n      - 'TODO: why this happens'\n"
			     "    fix:\n      - 'TODO: the first step to fix it'\n"
			     "    examples:\n      match:\n        - ");
	rc |= yaml_quote(b, example, SIZE_MAX);
	rc |= ac_buf_puts(b, "\n");
	return rc ? AC_ETOOBIG : 0;
}

char *rules_suggest_rule(const char *id, const char *tmpl, const char *example,
			 struct ac_error *err)
{
	struct ac_buf b, pack;
	struct rules *rs = NULL;
	char *pattern = NULL, *out = NULL;
	json_t *ev = NULL;
	struct rule_match m;

	ac_buf_init(&b, 256 * 1024);
	ac_buf_init(&pack, 256 * 1024);
	pattern = rules_pattern_from_template(tmpl);
	if (!pattern) {
		ac_error_set(err, AC_EINVAL, "empty_template", "empty or oversized template");
		goto out;
	}
	if (suggest_yaml(&b, id, tmpl, pattern, example) || ac_buf_puts(&pack, "rules:\n") ||
	    ac_buf_append(&pack, b.data, b.len)) {
		ac_error_set(err, AC_ETOOBIG, "too_large", "template or example too large");
		goto out;
	}
	if (rules_load_buffer("suggestion", pack.data, pack.len, NULL, &rs, err))
		goto out;
	ev = json_pack("{s:s}", "message", example);
	if (!ev || !rule_matches(rules_get(rs, 0), ev, &m)) {
		ac_error_set(err, AC_EINVAL, "example_mismatch",
			     "the pattern derived from the template does not match the example");
		goto out;
	}
	out = ac_buf_detach(&b, NULL);
out:
	json_decref(ev);
	rules_free(rs);
	free(pattern);
	ac_buf_release(&b);
	ac_buf_release(&pack);
	return out;
}

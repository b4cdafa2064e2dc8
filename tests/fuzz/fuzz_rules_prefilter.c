/*
 * fuzz_rules_prefilter.c — libFuzzer target for the literal prefilter's soundness. Input: the
 * first line is a PCRE2 pattern, the rest a message. The pattern becomes a one-rule pack; if it
 * loads, matching the message with the prefilter must give the same answer as running the
 * regex (rules_match_text_unscreened). A difference is a bug in literal extraction.
 */
#include "core/common.h"
#include "analyzer/rules.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *nl = memchr(data, '\n', size);
	if (!nl)
		return 0;
	size_t plen = (size_t)(nl - (const char *)data);
	const char *msg = nl + 1;
	size_t mlen = size - plen - 1;
	struct ac_buf y;
	ac_buf_init(&y, 1 << 20);
	ac_buf_puts(&y, "rules:\n  - id: f\n    title: t\n    category: c\n    severity: info\n"
			"    match: { message: '");
	for (size_t i = 0; i < plen; i++) /* single-quoted YAML: a quote is written twice */
		ac_buf_append(&y, (const char *)data + i, 1 + (data[i] == '\''));
	ac_buf_puts(&y, "' }\n    causes: [c]\n    fix: [f]\n    examples: { match: [x], nomatch: [y] }\n");
	struct rules *rs = NULL;
	struct ac_error err;
	if (y.data && rules_load_buffer("p.yaml", y.data, y.len, NULL, &rs, &err) == 0) {
		struct rule_match a, b;
		bool ha = rules_match_text(rs, msg, mlen, &a);
		bool hb = rules_match_text_unscreened(rs, msg, mlen, &b);
		if (ha != hb)
			AC_BUG("prefilter %d, regex %d for pattern '%.*s'", ha, hb, (int)plen,
			       (const char *)data);
		rules_free(rs);
	}
	ac_buf_release(&y);
	return 0;
}

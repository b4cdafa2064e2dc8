/*
 * fuzz_rules.c — libFuzzer target for the rule pack loader (rules_load_buffer): any bytes must
 * load or fail with a diagnostic, never crash, leak or hang. When a pack loads, its examples
 * are run through both the prefiltered and the reference matcher, which must agree.
 */
#include "core/common.h"
#include "analyzer/rules.h"

static void ignore(void *ctx, const char *file, int line, int col, const char *msg)
{
	(void)ctx;
	(void)file;
	(void)line;
	(void)col;
	(void)msg;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rules *rs = NULL;
	struct ac_error err;
	struct rules_load_opts opts = { .diag = ignore, .ctx = NULL };
	if (rules_load_buffer("fuzz.yaml", (const char *)data, size, &opts, &rs, &err))
		return 0;
	for (size_t k = 0; k < rules_count(rs); k++) {
		const struct rule *r = rules_get(rs, k);
		for (size_t i = 0; i < rule_example_count(r); i++) {
			struct rule_match a, b, c;
			const json_t *ev = rule_example(r, i, NULL, NULL, NULL);
			(void)rule_matches(r, ev, &c);
			(void)rules_match(rs, ev, &a);
			const char *msg = json_string_value(json_object_get(ev, "message"));
			if (!msg || json_object_size(ev) != 1)
				continue;
			bool ha = rules_match_text(rs, msg, strlen(msg), &a);
			bool hb = rules_match_text_unscreened(rs, msg, strlen(msg), &b);
			if (ha != hb || a.rule != b.rule)
				AC_BUG("prefilter disagrees with the reference on '%s'", msg);
		}
	}
	rules_free(rs);
	return 0;
}

/*
 * fuzz_miner.c — libFuzzer target: masks and the template miner on arbitrary bytes.
 * The input is split into lines; each is masked (into a full-size and a tiny buffer, to hit
 * truncation), mined, matched again, and used as a function name for the fingerprint
 * normaliser. Invariants checked: ids are in range, templates exist, masks stay bounded.
 */
#include "core/common.h"
#include "analyzer/fingerprint.h"
#include "analyzer/mask.h"
#include "analyzer/miner.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct miner_config cfg;
	miner_config_default(&cfg);
	cfg.max_clusters = 64;
	cfg.no_merge = size && (data[0] & 1);
	struct miner *m = miner_new(&cfg, NULL);
	struct masker *mk = masker_new(&(struct mask_config){ MASK_ALL_BUILTINS }, NULL);
	char small[7], name[64];
	const char *p = (const char *)data, *end = p + size;

	if (!m || !mk)
		abort();
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
		size_t cap = 4 * len + 64;
		char *out = malloc(cap);
		if (!out)
			abort();
		size_t n = masker_apply(mk, p, len, out, cap);
		if (n >= cap || strlen(out) > n)
			abort();
		if (masker_apply(mk, p, len, small, sizeof small) >= sizeof small)
			abort();
		free(out);
		long id = miner_add(m, p, len);
		if (id > 0) {
			if ((size_t)id > miner_count(m) || !miner_template(m, id) ||
			    miner_resolve(m, id) != id)
				abort();
			long again = miner_match(m, p, len);
			if (again < 0 || (size_t)again > miner_count(m))
				abort();
		} else if (id != AC_ETOOBIG) {
			abort();
		}
		char fn[300];
		snprintf(fn, sizeof fn, "%.*s", (int)(len < 299 ? len : 299), p);
		fingerprint_function(fn, name, sizeof name);
		p += len + 1;
	}
	masker_free(mk);
	miner_free(m);
	return 0;
}

/*
 * fuzz_fast_event.c — differential libFuzzer target for the ingest fast path
 * (collector/event_fast.c): every body goes through the fast path and through the general
 * path (jansson + event_normalize), and any difference in what would be stored or in the
 * error reported is a crash (see tests/common/fast_equiv.h). The first byte picks the route
 * (events or NDJSON logs) and whether request defaults are set.
 */
#include "core/common.h"
#include "collector/internal.h"
#include "tests/common/fast_equiv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct ingest_limits lim = { 4096, 1 << 20 };
	struct event_defaults none = { NULL, NULL, NULL, NULL, NULL };
	struct event_defaults some = { "sys\"tem", "comp", NULL, "prod\n", "warning" };
	const char *why;
	char *s;
	unsigned which;

	if (size < 1)
		return 0;
	which = data[0];
	data++;
	size--;
	s = malloc(size + 1);
	memcpy(s, data, size);
	s[size] = '\0';
	why = fast_equiv_check(s, size, which & 1, (which & 2) ? &some : &none, &lim);
	if (why) {
		fprintf(stderr, "fast path and general path differ: %s\n", why);
		abort();
	}
	free(s);
	return 0;
}

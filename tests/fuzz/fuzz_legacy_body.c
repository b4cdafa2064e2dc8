/*
 * fuzz_legacy_body.c — libFuzzer target: the legacy Sentry body sniffing path (decode.c's
 * decode_sniff_legacy: base64, gzip/zlib/raw deflate detection, bounded inflate) and the
 * /store/ parser behind it, plus logentry formatting of the decoded text with fixed params.
 * Must never crash, leak, read out of bounds or produce more than the limit.
 */
#include "core/common.h"
#include "collector/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct ingest_limits lim = { 64 * 1024, 256 * 1024 };
	struct event_defaults d = { "fuzz", NULL, NULL, NULL, NULL };
	struct ac_error err;
	char *s = malloc(size + 1), *plain = NULL, *f;
	size_t len = 0;
	json_t *out = json_array(), *params = json_pack("[s,i,f,n,{s:b}]", "a", 7, 1.5, "k", 1);
	json_t *named = json_pack("{s:s,s:i}", "name", "x", "n", 3);

	memcpy(s, data, size);
	s[size] = '\0';
	if (decode_sniff_legacy(s, size, lim.max_decoded_bytes, &plain, &len, &err) == 0 && plain) {
		if (len > lim.max_decoded_bytes)
			abort();
		free(plain);
	}
	sentry_parse_store(s, size, &d, &lim, out, &err);
	free(logentry_format(s, params, 4096));
	free(logentry_format(s, named, 4096));
	json_decref(out);
	json_decref(params);
	json_decref(named);
	free(s);
	return 0;
}

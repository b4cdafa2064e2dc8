/*
 * fuzz_events.c — libFuzzer target: native event bodies (object, array, NDJSON), logs
 * (NDJSON and text), crash reports, OTLP logs and gzip/deflate decoding on arbitrary bytes.
 * The first byte picks the parser so one corpus explores all of them.
 */
#include "core/common.h"
#include "collector/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct ingest_limits lim = { 64 * 1024, 1 << 20 };
	struct event_defaults d = { NULL, NULL, NULL, NULL, NULL };
	struct ac_error err;
	json_t *out;
	char *s, *dec = NULL;
	size_t declen;
	unsigned which;

	if (size < 1)
		return 0;
	which = data[0] % 7;
	data++;
	size--;
	s = malloc(size + 1);
	memcpy(s, data, size);
	s[size] = '\0';
	out = json_array();
	switch (which) {
	case 0: ingest_parse_events(s, size, &d, &lim, out, &err); break;
	case 1: ingest_parse_logs(s, size, false, &d, &lim, out, &err); break;
	case 2: ingest_parse_logs(s, size, true, &d, &lim, out, &err); break;
	case 3: ingest_parse_crash(s, size, &d, &lim, out, &err); break;
	case 4: { struct otlp_result res; otlp_parse_logs(s, size, &d, &lim, out, &res, &err); break; }
	case 5:
		if (decode_body("gzip", s, size, 1 << 20, &dec, &declen, &err) == 0 && dec)
			ingest_parse_events(dec, declen, &d, &lim, out, &err);
		break;
	case 6:
		if (decode_body("deflate", s, size, 1 << 20, &dec, &declen, &err) == 0 && dec)
			ingest_parse_events(dec, declen, &d, &lim, out, &err);
		break;
	}
	free(dec);
	json_decref(out);
	free(s);
	return 0;
}

/*
 * fuzz_otlp_pb.c — libFuzzer target: the OTLP protobuf decoder (otlp_pb.c: the wire check
 * before protobuf-c, protobuf-c's unpacker, AnyValue conversion, UTF-8 repair) and the
 * stack trace text parser (stacktrace.c) on the same bytes. Must never crash, leak, read
 * out of bounds or recurse without bound; any result is fine.
 */
#include "core/common.h"
#include "collector/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct ingest_limits lim = { 64 * 1024, 1 << 20 };
	struct event_defaults d = { "fuzz", NULL, NULL, NULL, NULL };
	struct ac_error err;
	struct otlp_result res;
	char *s = malloc(size + 1), type[64];
	json_t *out = json_array(), *frames;
	size_t n;

	memcpy(s, data, size);
	s[size] = '\0';
	otlp_parse_logs_pb(s, size, &d, &lim, out, &res, &err);
	free(otlp_response_pb(&res, &n));
	json_decref(otlp_response_json(&res));
	frames = stacktrace_parse(s, type, sizeof type);
	json_decref(frames);
	json_decref(out);
	free(s);
	return 0;
}

/*
 * fuzz_envelope.c — libFuzzer target: Sentry envelope and /store/ parsing, and
 * X-Sentry-Auth / DSN parsing, on arbitrary bytes (with the log, feedback, attachment and
 * client_report items of envelope_items.c). Must never crash, leak or read out of
 * bounds; any result (stored events or an error) is fine.
 */
#include "core/common.h"
#include "collector/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct ingest_limits lim = { 64 * 1024, 1 << 20 };
	struct event_defaults d = { "fuzz", NULL, NULL, NULL, NULL };
	struct ac_error err;
	struct sentry_auth a;
	char key[65], id[65], *s = malloc(size + 1);
	json_t *out = json_array(), *counts = json_object();

	memcpy(s, data, size);
	s[size] = '\0';
	struct envelope_side es = { NULL, json_object(), 4096 };
	sentry_parse_envelope(s, size, &d, &lim, out, counts, &es, key, id, &err);
	side_rows_free(es.side);
	json_decref(es.discards);
	json_array_clear(out);
	sentry_parse_store(s, size, &d, &lim, out, &err);
	sentry_parse_auth_header(s, &a);
	sentry_dsn_key(s, key, sizeof key);
	json_decref(out);
	json_decref(counts);
	free(s);
	return 0;
}

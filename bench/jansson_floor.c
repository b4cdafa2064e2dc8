/*
 * jansson_floor.c — part of `make bench-ingest`: what jansson alone costs per ingested event.
 *
 * The collector parses every event into a jansson tree and serialises the normalised event
 * again for the `raw` column. This program times exactly those two library calls, single
 * threaded, on the same ~1 KB event bench/ingest.lua sends, in thread CPU time (so a busy
 * machine inflates it little). The result is a floor under the collector's CPU per event.
 *
 * usage: jansson_floor [ITERATIONS]   (default 100000) — prints one RESULT line in µs.
 */
#include "core/common.h"

#include <jansson.h>

static double thread_cpu_seconds(void)
{
	struct timespec t;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* The event of bench/ingest.lua with the id "b-1-123456". */
static int make_event(char *buf, size_t cap)
{
	char note[226];

	memset(note, 'x', sizeof note - 1);
	note[sizeof note - 1] = '\0';
	return snprintf(buf, cap,
		"{\"event_id\":\"b-1-123456\",\"level\":\"error\",\"kind\":\"error\","
		"\"system\":\"checkout\",\"component\":\"payments\",\"release\":\"checkout@3.14.2\","
		"\"environment\":\"production\",\"message\":\"card authorization failed for order: "
		"upstream gateway returned 502\",\"exception\":{\"type\":\"GatewayError\","
		"\"value\":\"upstream gateway returned 502 Bad Gateway\",\"frames\":["
		"{\"function\":\"main\",\"file\":\"src/main.c\",\"line\":88,\"in_app\":true},"
		"{\"function\":\"handle_checkout\",\"file\":\"src/checkout.c\",\"line\":412,\"in_app\":true},"
		"{\"function\":\"gateway_authorize\",\"file\":\"src/gateway.c\",\"line\":157,\"in_app\":true}]},"
		"\"tags\":{\"region\":\"eu-west-1\",\"host\":\"web-07\",\"customer_tier\":\"gold\"},"
		"\"context\":{\"order_id\":\"ORD-20261124-000123\",\"amount_cents\":12999,\"currency\":\"EUR\","
		"\"gateway\":\"acme-pay\",\"attempt\":2,\"request_id\":\"9f1c2b7e-4d3a-4f8e-9a61-0c5d2e8b7a44\","
		"\"note\":\"%s\"}}", note);
}

int main(int argc, char **argv)
{
	char ev[2048];
	int64_t iters = 100000;
	json_error_t je;
	json_t *tree;
	double t0, t1, t2;
	int n = make_event(ev, sizeof ev);

	if (argc > 1 && (ac_parse_i64(argv[1], &iters) || iters < 1)) {
		fprintf(stderr, "usage: jansson_floor [ITERATIONS]\n");
		return 2;
	}
	tree = json_loadb(ev, (size_t)n, 0, &je);
	if (!tree) {
		fprintf(stderr, "jansson_floor: the sample event does not parse: %s\n", je.text);
		return 1;
	}
	t0 = thread_cpu_seconds();
	for (int64_t i = 0; i < iters; i++) /* the collector's flags */
		json_decref(json_loadb(ev, (size_t)n, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &je));
	t1 = thread_cpu_seconds();
	for (int64_t i = 0; i < iters; i++)
		free(json_dumps(tree, JSON_COMPACT));
	t2 = thread_cpu_seconds();
	json_decref(tree);
	printf("RESULT bytes=%d parse_us=%.2f dump_us=%.2f\n", n, (t1 - t0) / (double)iters * 1e6,
	       (t2 - t1) / (double)iters * 1e6);
	return 0;
}

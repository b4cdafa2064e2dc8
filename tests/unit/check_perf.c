/*
 * check_perf.c — unit tests for `autocoder bench`'s pieces (perf/perf.h): the latency
 * histogram's quantiles, the Prometheus text reader, the regression gate's verdicts on a real
 * SQLite database (ok, regression, inconclusive, missing baseline), the resource profile,
 * and the load generator against a real loopback HTTP server (a tiny one in this file).
 */
#include "core/common.h"
#include "perf/perf.h"
#include "generator/deploy.h"

#include <check.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/unit/check_run.h"

START_TEST(hist_quantiles)
{
	struct perf_hist *h = calloc(1, sizeof *h);
	for (uint64_t us = 1; us <= 10000; us++)
		perf_hist_add(h, us);
	ck_assert_uint_eq(h->n, 10000);
	double p50 = perf_hist_quantile_ms(h, 0.5), p99 = perf_hist_quantile_ms(h, 0.99);
	double p999 = perf_hist_quantile_ms(h, 0.999);
	/* log-linear buckets: within 2 % of the exact value */
	ck_assert(p50 > 4.9 && p50 < 5.1);
	ck_assert(p99 > 9.7 && p99 < 10.1);
	ck_assert(p50 <= p99 && p99 <= p999 && p999 <= 10.0);
	ck_assert(perf_hist_quantile_ms(h, 0.0) <= 0.002);
	struct perf_hist *e = calloc(1, sizeof *e);
	ck_assert(perf_hist_quantile_ms(e, 0.99) == 0);
	perf_hist_merge(e, h);
	ck_assert_uint_eq(e->n, 10000);
	ck_assert(perf_hist_quantile_ms(e, 0.5) == p50);
	/* huge values land in the last bucket without overflow */
	perf_hist_add(e, UINT64_MAX / 2);
	ck_assert(perf_hist_quantile_ms(e, 1.0) > 0);
	free(h);
	free(e);
}
END_TEST

START_TEST(metrics_text)
{
	const char *t =
		"# HELP autocoder_messages_in_total x\n"
		"autocoder_messages_in_total{system=\"s\",component=\"a\",type=\"Source\"} 10\n"
		"autocoder_messages_in_total{system=\"s\",component=\"b\",type=\"Sink\"} 7\n"
		"autocoder_messages_in_total{system=\"s\",component=\"c\",type=\"Sink\"} 3\n"
		"autocoder_messages_in_total_other 99\n"
		"autocoder_queue_depth{component=\"a\"} 4\n"
		"autocoder_queue_depth{component=\"b\"} 12\n";
	ck_assert(perf_metric_sum(t, "autocoder_messages_in_total", NULL) == 20);
	ck_assert(perf_metric_sum(t, "autocoder_messages_in_total", "type=\"Sink\"") == 10);
	ck_assert(perf_metric_sum(t, "autocoder_messages_in_total", "type=\"Sink\",component=\"b\"") == 7);
	ck_assert(perf_metric_max(t, "autocoder_queue_depth", NULL) == 12);
	ck_assert(perf_metric_sum(t, "absent", NULL) == 0);
	ck_assert(perf_metric_sum(NULL, "autocoder_queue_depth", NULL) == 0);
}
END_TEST

static json_t *run_with(const char *system, double a, double b, double c)
{
	json_t *run = json_pack("{s:s, s:s, s:s, s:f, s:b, s:[f,f,f], s:[{s:s, s:f, s:f, s:I, s:{s:f}}], s:i, s:i}",
				"system", system, "started", "2026-12-03T10:00:00Z", "host", "h",
				"load_average", 1.5, "passed", 1, "headline_throughputs", a, b, c,
				"steps", "mode", "closed", "throughput", b, "cpu_cores", 0.5,
				"rss_peak_kb", (json_int_t)20480, "cpu_seconds", "api-http", 1.0,
				"sizing_step", 0, "cores", 2);
	ck_assert_ptr_nonnull(run);
	return run;
}

static const char *gate(const char *db, json_t *cur, double threshold)
{
	static char verdict[32];
	json_t *v = NULL;
	struct ac_error err = { 0 };
	ck_assert_int_eq(perf_runs_gate(db, "base", cur, threshold, &v, &err), 0);
	snprintf(verdict, sizeof verdict, "%s", json_string_value(json_object_get(v, "verdict")));
	json_decref(v);
	json_decref(cur);
	return verdict;
}

/* run_with plus per-step latencies per repeat: p50 and p99 at c=8 of three repeats. */
static json_t *run_lat(double tp, const double p50[3], const double p99[3])
{
	json_t *run = run_with("sys", tp, tp, tp), *lats = json_array();
	for (int i = 0; i < 3; i++)
		json_array_append_new(lats, json_pack("{s:{s:f, s:f}}", "c=8", "p50_ms", p50[i],
						      "p99_ms", p99[i]));
	json_object_set_new(run, "headline_latencies", lats);
	return run;
}

/* The verdict of one figure ("p99_ms at c=8") in a gate result. */
static const char *figure_verdict(const json_t *v, const char *fig)
{
	const json_t *f;
	size_t i;
	json_array_foreach(json_object_get(v, "figures"), i, f)
		if (!strcmp(json_string_value(json_object_get(f, "figure")), fig))
			return json_string_value(json_object_get(f, "verdict"));
	return "absent";
}

static void lat_gate(const char *db, json_t *cur, const char *want, const char *want_p99)
{
	json_t *v = NULL;
	struct ac_error err = { 0 };
	ck_assert_int_eq(perf_runs_gate(db, "lat", cur, 0.10, &v, &err), 0);
	ck_assert_str_eq(json_string_value(json_object_get(v, "verdict")), want);
	ck_assert_str_eq(json_string_value(json_object_get(v, "throughput_verdict")), "ok");
	ck_assert_str_eq(figure_verdict(v, "p99_ms at c=8"), want_p99);
	ck_assert_str_eq(figure_verdict(v, "p50_ms at c=8"), "ok");
	ck_assert(json_number_value(json_object_get(v, "latency_threshold")) > 0.19);
	json_decref(v);
	json_decref(cur);
}

/* The gate on latency: medians of p50/p99 per step, latency threshold twice the throughput
 * one, inconclusive when the repeats overlap, the worst figure decides. */
START_TEST(latency_gate)
{
	char dir[] = "/tmp/ac-check-perf-XXXXXX", db[128];
	struct ac_error err = { 0 };
	long long id = 0;
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(db, sizeof db, "%s/l.db", dir);
	static const double p50[3] = { 1.0, 1.1, 0.9 }, p99[3] = { 5.0, 5.5, 4.5 };
	json_t *base = run_lat(1000, p50, p99);
	ck_assert_int_eq(perf_runs_save(db, base, "lat", &id, &err), 0);
	json_decref(base);
	/* the same latencies: ok */
	lat_gate(db, run_lat(1000, p50, p99), "ok", "ok");
	/* p99 up 10 % (within the latency threshold of 20 %): ok */
	static const double p99_10[3] = { 5.5, 6.0, 5.0 };
	lat_gate(db, run_lat(1000, p50, p99_10), "ok", "ok");
	/* p99 three times as high, every repeat slower than every baseline repeat: regression,
	 * although the throughput held */
	static const double p99_x3[3] = { 15, 16, 14 };
	lat_gate(db, run_lat(1000, p50, p99_x3), "regression", "regression");
	/* p99 median up 60 %, but one repeat is as fast as the baseline's slowest: inconclusive */
	static const double p99_noisy[3] = { 8, 5.2, 12 };
	lat_gate(db, run_lat(1000, p50, p99_noisy), "inconclusive", "inconclusive");
	/* a baseline without latencies (an older run) gates on throughput alone */
	json_t *v = NULL;
	base = run_with("sys", 1000, 1000, 1000);
	ck_assert_int_eq(perf_runs_save(db, base, "old", &id, &err), 0);
	json_decref(base);
	json_t *cur = run_lat(1000, p50, p99_x3);
	ck_assert_int_eq(perf_runs_gate(db, "old", cur, 0.10, &v, &err), 0);
	ck_assert_str_eq(json_string_value(json_object_get(v, "verdict")), "ok");
	ck_assert_str_eq(figure_verdict(v, "p99_ms at c=8"), "absent");
	json_decref(v);
	json_decref(cur);
	unlink(db);
	rmdir(dir);
}
END_TEST

START_TEST(regression_gate)
{
	char dir[] = "/tmp/ac-check-perf-XXXXXX", db[128];
	struct ac_error err = { 0 };
	long long id = 0;
	json_t *v = NULL;
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(db, sizeof db, "%s/b.db", dir);

	json_t *base = run_with("sys", 1000, 1010, 990);
	ck_assert_int_eq(perf_runs_save(db, base, "base", &id, &err), 0);
	ck_assert_int_gt(id, 0);
	json_decref(base);
	/* the same again: ok; 2 % slower: ok at 10 %; half as fast, tight runs: regression */
	ck_assert_str_eq(gate(db, run_with("sys", 1005, 995, 1000), 0.10), "ok");
	ck_assert_str_eq(gate(db, run_with("sys", 980, 985, 975), 0.10), "ok");
	ck_assert_str_eq(gate(db, run_with("sys", 500, 505, 495), 0.10), "regression");
	/* 30 % slower but the runs disagree by more than that: inconclusive */
	ck_assert_str_eq(gate(db, run_with("sys", 300, 700, 1100), 0.10), "inconclusive");
	/* noisy, but every run now is slower than every baseline run: regression */
	ck_assert_str_eq(gate(db, run_with("sys", 100, 400, 200), 0.10), "regression");
	/* no baseline of that name for that system */
	json_t *other = run_with("other", 1, 1, 1);
	ck_assert_int_eq(perf_runs_gate(db, "base", other, 0.1, &v, &err), AC_ENOTFOUND);
	ck_assert_ptr_null(v);
	ck_assert(strstr(err.msg, "no baseline 'base'"));
	json_decref(other);

	/* the resource profile: the sizing step's CPU and the peak memory plus headroom */
	char prof[160];
	snprintf(prof, sizeof prof, "%s/p.json", dir);
	json_t *run = run_with("sys", 1, 1, 1);
	json_object_set_new(run, "run_id", json_integer(7));
	ck_assert_int_eq(perf_profile_write(prof, run, 0.5, &err), 0);
	json_t *p = json_load_file(prof, 0, NULL);
	ck_assert_int_eq(json_integer_value(json_object_get(p, "cpu_request_m")), 750);
	ck_assert_int_eq(json_integer_value(json_object_get(p, "mem_request_mi")), 32);
	ck_assert(strstr(json_string_value(json_object_get(p, "source")), "run 7 of sys"));
	json_decref(p);
	json_object_set_new(run, "sizing_step", json_null());
	ck_assert_int_eq(perf_profile_write(prof, run, 0.5, &err), AC_EINVAL);
	json_decref(run);
	unlink(prof);
	unlink(db);
	char side[160];
	snprintf(side, sizeof side, "%s-wal", db);
	unlink(side);
	snprintf(side, sizeof side, "%s-shm", db);
	unlink(side);
	rmdir(dir);
}
END_TEST

/* ---- a tiny keep-alive HTTP server for the load generator */

struct tiny {
	int lfd, port;
	pthread_t th;
};

static void *tiny_conn(void *arg)
{
	int fd = (int)(intptr_t)arg;
	char buf[4096];
	size_t have = 0;
	static const char resp[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
	static const char chunked[] = "HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nno!\r\n0\r\n\r\n";
	for (;;) {
		ssize_t n = recv(fd, buf + have, sizeof buf - have, 0);
		if (n <= 0)
			break;
		have += (size_t)n;
		char *end;
		while ((end = memmem(buf, have, "\r\n\r\n", 4))) {
			size_t used = (size_t)(end - buf) + 4;
			bool miss = !strncmp(buf, "GET /missing", 12), big = !strncmp(buf, "GET /big", 8);
			if (big) {
				/* a body far larger than the load generator's buffer */
				static char body[100000];
				char head[96];
				int hl = snprintf(head, sizeof head, "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n",
						  sizeof body);
				memset(body, 'x', sizeof body);
				if (send(fd, head, (size_t)hl, MSG_NOSIGNAL) < 0 ||
				    send(fd, body, sizeof body, MSG_NOSIGNAL) < 0)
					goto out;
			} else if (send(fd, miss ? chunked : resp, miss ? sizeof chunked - 1 : sizeof resp - 1,
					MSG_NOSIGNAL) < 0)
				goto out;
			memmove(buf, buf + used, have - used);
			have -= used;
		}
	}
out:
	close(fd);
	return NULL;
}

static void *tiny_main(void *arg)
{
	struct tiny *t = arg;
	for (;;) {
		int fd = accept(t->lfd, NULL, NULL);
		pthread_t th;
		if (fd < 0)
			break;
		pthread_create(&th, NULL, tiny_conn, (void *)(intptr_t)fd);
		pthread_detach(th);
	}
	return NULL;
}

static void tiny_start(struct tiny *t)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t l = sizeof a;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	t->lfd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_eq(bind(t->lfd, (struct sockaddr *)&a, sizeof a), 0);
	ck_assert_int_eq(listen(t->lfd, 64), 0);
	getsockname(t->lfd, (struct sockaddr *)&a, &l);
	t->port = ntohs(a.sin_port);
	pthread_create(&t->th, NULL, tiny_main, t);
}

static uint64_t status_count(const struct perf_load_result *r, int code)
{
	for (int i = 0; i < r->nstatus; i++)
		if (r->status[i].code == code)
			return r->status[i].count;
	return 0;
}

START_TEST(load_generator)
{
	struct tiny t;
	char r1[] = "GET /ok HTTP/1.1\r\nHost: x\r\n\r\n", r2[] = "GET /missing HTTP/1.1\r\nHost: x\r\n\r\n";
	struct perf_request reqs[] = { { r1, sizeof r1 - 1 }, { r2, sizeof r2 - 1 } };
	struct perf_load cfg = { .requests = reqs, .nrequests = 2, .connections = 4, .threads = 2,
				 .duration = 0.5, .warmup = 0.1 };
	struct perf_load_result *res = calloc(1, sizeof *res);
	struct ac_error err = { 0 };
	tiny_start(&t);
	cfg.port = t.port;
	/* closed loop: both kinds answered, alternating, no connection errors */
	ck_assert_int_eq(perf_load_run(&cfg, res, &err), 0);
	ck_assert_uint_gt(res->responses, 10);
	ck_assert_uint_eq(res->conn_errors, 0);
	ck_assert_uint_gt(status_count(res, 200), 0);
	ck_assert_uint_gt(status_count(res, 404), 0);
	ck_assert_uint_eq(status_count(res, 200) + status_count(res, 404), res->responses);
	ck_assert_uint_eq(res->hist.n, res->responses);
	/* answers larger than the buffer are read to their end and counted */
	char r3[] = "GET /big HTTP/1.1\r\nHost: x\r\n\r\n";
	struct perf_request big[] = { { r3, sizeof r3 - 1 } };
	cfg.requests = big;
	cfg.nrequests = 1;
	ck_assert_int_eq(perf_load_run(&cfg, res, &err), 0);
	ck_assert_uint_gt(res->responses, 3);
	ck_assert_uint_eq(res->conn_errors, 0);
	ck_assert_uint_eq(status_count(res, 200), res->responses);
	cfg.requests = reqs;
	cfg.nrequests = 2;
	/* open loop at 200/s: about 100 requests in 0.5 s (wide margin), latency recorded */
	cfg.rate = 200;
	ck_assert_int_eq(perf_load_run(&cfg, res, &err), 0);
	ck_assert_uint_gt(res->responses, 40);
	ck_assert_uint_lt(res->responses, 140);
	ck_assert(perf_hist_quantile_ms(&res->hist, 0.5) > 0);
	shutdown(t.lfd, SHUT_RDWR);
	pthread_join(t.th, NULL);
	close(t.lfd);
	/* nobody listening: connection errors, no answers, no crash */
	cfg.rate = 0;
	cfg.port = perf_free_port();
	ck_assert_int_eq(perf_load_run(&cfg, res, &err), 0);
	ck_assert_uint_eq(res->responses, 0);
	ck_assert_uint_gt(res->conn_errors, 0);
	free(res);
}
END_TEST

/* generate --profile: a bench_profile in the model replaces the sizing table */
START_TEST(deploy_uses_profile)
{
	struct deploy_resources table, measured;
	struct ac_error err = { 0 };
	json_t *model = json_pack("{s:{s:s, s:[{s:s, s:s}]}}", "system", "name", "x", "components",
				  "name", "api", "type", "APIEndpoint");
	ck_assert_int_eq(deploy_pod_resources(model, &table, &err), 0);
	ck_assert_str_eq(table.source, "");
	json_object_set_new(model, "bench_profile",
			    json_pack("{s:i, s:i, s:i, s:i, s:i, s:s}", "cpu_request_m", 123, "mem_request_mi", 40,
				      "cpu_limit_m", 246, "mem_limit_mi", 80, "hpa_cpu_target", 76,
				      "source", "autocoder bench run 3"));
	ck_assert_int_eq(deploy_pod_resources(model, &measured, &err), 0);
	ck_assert_int_eq(measured.cpu_request_m, 123);
	ck_assert_int_eq(measured.mem_limit_mi, 80);
	ck_assert_int_eq(measured.hpa_cpu_target, 76);
	ck_assert_str_eq(measured.source, "autocoder bench run 3");
	ck_assert_int_ne(measured.cpu_request_m, table.cpu_request_m);
	/* a broken profile is an error naming the field, not a silent fallback */
	json_object_set_new(json_object_get(model, "bench_profile"), "mem_limit_mi", json_string("lots"));
	ck_assert_int_eq(deploy_pod_resources(model, &measured, &err), AC_EINVAL);
	ck_assert(strstr(err.msg, "bench_profile.mem_limit_mi"));
	json_decref(model);
}
END_TEST

static Suite *perf_suite(void)
{
	Suite *s = suite_create("perf");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, hist_quantiles);
	tcase_add_test(tc, metrics_text);
	tcase_add_test(tc, regression_gate);
	tcase_add_test(tc, latency_gate);
	tcase_add_test(tc, load_generator);
	tcase_add_test(tc, deploy_uses_profile);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return ac_check_run(perf_suite());
}

/*
 * report.c — what `autocoder bench` shows (perf.h): the per-step table with the criteria
 * (figure and criterion side by side), and an SVG report of three small charts drawn by hand
 * (throughput per step, latency percentiles per step, CPU seconds per thread of the sizing
 * step, or of the last step).
 */
#include "core/common.h"
#include "perf/perf.h"

#include <errno.h>
#include <math.h>

static double num(const json_t *o, const char *k)
{
	return json_number_value(json_object_get(o, k));
}

static void step_label(const json_t *s, char *b, size_t n)
{
	const char *mode = json_string_value(json_object_get(s, "mode"));
	if (mode && !strcmp(mode, "closed"))
		snprintf(b, n, "c=%lld", (long long)json_integer_value(json_object_get(s, "concurrency")));
	else if (mode && !strcmp(mode, "open"))
		snprintf(b, n, "%s=%.0f/s", json_is_true(json_object_get(s, "search")) ? "size" : "r",
			 num(s, "rate"));
	else
		snprintf(b, n, "max");
}

/* The three threads that used most CPU, as "name 0.52s, ...". */
static void top_threads(const json_t *s, char *b, size_t n)
{
	const json_t *cpu = json_object_get(s, "cpu_seconds");
	const char *used[3] = { 0 };
	size_t off = 0;
	b[0] = 0;
	for (int k = 0; k < 3; k++) {
		const char *key, *bestk = NULL;
		json_t *v;
		double best = -1;
		json_object_foreach((json_t *)cpu, key, v) {
			bool taken = false;
			for (int j = 0; j < k; j++)
				taken |= used[j] && !strcmp(used[j], key);
			if (!taken && json_real_value(v) > best) {
				best = json_real_value(v);
				bestk = key;
			}
		}
		if (!bestk)
			break;
		used[k] = bestk;
		off += (size_t)snprintf(b + off, off < n ? n - off : 0, "%s%s %.2fs", k ? ", " : "", bestk, best);
		if (off >= n)
			break;
	}
}

void perf_print_table(FILE *out, const json_t *run)
{
	const json_t *steps = json_object_get(run, "steps"), *s, *c;
	bool http = !strcmp(json_string_value(json_object_get(run, "kind")), "http");
	bool ws = !strcmp(json_string_value(json_object_get(run, "kind")), "websocket");
	size_t i;

	fprintf(out, "bench %s (%s, %s) on %s, %lld cores, load average %.2f\n",
		json_string_value(json_object_get(run, "system")), json_string_value(json_object_get(run, "kind")),
		json_string_value(json_object_get(run, "ingress")), json_string_value(json_object_get(run, "host")),
		(long long)json_integer_value(json_object_get(run, "cores")), num(run, "load_average"));
	if (http)
		fprintf(out, "%-12s %10s %8s %8s %8s %8s %8s %7s %5s %5s %6s %8s %7s  %s\n", "step", "req/s",
			"p50 ms", "p90 ms", "p99 ms", "p99.9", "max ms", "errors", "429", "503", "cores",
			"RSS MiB", "queue", "CPU by thread");
	else
		fprintf(out, "%-12s %12s %12s %6s %8s %7s %6s  %s\n", "step", "sink msg/s",
			ws ? "sent msg/s" : "source msg/s", "cores", "RSS MiB", "queue", "dead", "CPU by thread");
	json_array_foreach(steps, i, s) {
		char label[32], thr[256];
		step_label(s, label, sizeof label);
		top_threads(s, thr, sizeof thr);
		if (http)
			fprintf(out, "%-12s %10.0f %8.2f %8.2f %8.2f %8.2f %8.2f %7lld %5lld %5lld %6.2f %8.1f %7.0f  %s\n",
				label, num(s, "throughput"), num(s, "p50_ms"), num(s, "p90_ms"),
				num(s, "p99_ms"), num(s, "p999_ms"), num(s, "max_ms"),
				(long long)json_integer_value(json_object_get(s, "errors")),
				(long long)json_integer_value(json_object_get(s, "status_429")),
				(long long)json_integer_value(json_object_get(s, "status_503")),
				num(s, "cpu_cores"), num(s, "rss_peak_kb") / 1024, num(s, "queue_depth_max"), thr);
		else
			fprintf(out, "%-12s %12.0f %12.0f %6.2f %8.1f %7.0f %6.0f  %s\n", label,
				num(s, "sink_msgs_per_s"), num(s, ws ? "sent_msgs_per_s" : "source_msgs_per_s"), num(s, "cpu_cores"),
				num(s, "rss_peak_kb") / 1024, num(s, "queue_depth_max"), num(s, "dead_letters"), thr);
	}
	const json_t *ct = json_object_get(run, "container");
	if (ct) {
		fprintf(out, "container %s: limits %.3g CPU, %.0f MiB (from %s)\n",
			json_string_value(json_object_get(ct, "image")), num(ct, "cpus"),
			num(ct, "memory_limit_mi"), json_string_value(json_object_get(ct, "limits_from")));
		fprintf(out, "container: memory peak %.1f MiB (%.0f %% of the limit), CPU throttled in "
			"up to %.0f %% of periods, OOM kills %lld: %s\n", num(ct, "memory_peak_mi"),
			100 * num(ct, "memory_peak_fraction"), 100 * num(ct, "cpu_throttled_fraction_max"),
			(long long)json_integer_value(json_object_get(ct, "oom_kills")),
			json_is_true(json_object_get(ct, "fits")) ? "fits its limits" : "DOES NOT FIT its limits");
		json_array_foreach(steps, i, s) {
			const json_t *k = json_object_get(s, "container");
			char label[32];
			if (!json_is_number(json_object_get(k, "cpu_periods")))
				continue;
			step_label(s, label, sizeof label);
			fprintf(out, "  %-10s CPU throttled in %3.0f %% of periods (%.2f s), memory peak %.1f MiB, "
				"OOM kills %lld\n", label, 100 * num(k, "cpu_throttled_fraction"),
				num(k, "cpu_throttled_s"), num(k, "memory_peak_mi"),
				(long long)json_integer_value(json_object_get(k, "oom_kills")));
		}
	}
	json_array_foreach(json_object_get(run, "criteria"), i, c) {
		const json_t *got = json_object_get(c, "got");
		fprintf(out, "%-5s %-48s %s %-10g got %s", json_string_value(json_object_get(c, "verdict")),
			json_string_value(json_object_get(c, "criterion")), json_string_value(json_object_get(c, "op")),
			num(c, "want"), json_is_null(got) ? "-" : "");
		if (!json_is_null(got))
			fprintf(out, "%.3f", json_number_value(got));
		fputc('\n', out);
	}
	if (!json_array_size(json_object_get(run, "criteria")))
		fprintf(out, "no criteria: the blueprint has no validation.performance or policy.slos\n");
	const json_t *gate = json_object_get(run, "gate");
	if (gate)
		fprintf(out, "regression gate vs baseline '%s': %s (median %.0f/s vs %.0f/s, change %+.1f%%, spread %.1f%%)\n",
			json_string_value(json_object_get(gate, "baseline")),
			json_string_value(json_object_get(gate, "verdict")), num(gate, "current_median"),
			num(gate, "baseline_median"), 100 * num(gate, "change"), 100 * num(gate, "spread"));
	if (gate) {
		const json_t *f;
		size_t k;
		json_array_foreach(json_object_get(gate, "figures"), k, f) {
			const char *v = json_string_value(json_object_get(f, "verdict"));
			const char *fig = json_string_value(json_object_get(f, "figure"));
			if (!v || !fig || !strcmp(v, "ok") || !strcmp(fig, "throughput"))
				continue;
			fprintf(out, "  %s: %s (median %.3f ms vs %.3f ms, change %+.1f%%, spread %.1f%%)\n",
				fig, v, num(f, "current_median"), num(f, "baseline_median"),
				100 * num(f, "change"), 100 * num(f, "spread"));
		}
	}
	if (json_is_integer(json_object_get(run, "run_id")))
		fprintf(out, "stored as run %lld\n", (long long)json_integer_value(json_object_get(run, "run_id")));
	if (json_is_string(json_object_get(run, "svg")))
		fprintf(out, "report: %s\n", json_string_value(json_object_get(run, "svg")));
}

void perf_progress(const char *what, double elapsed, double rate)
{
	fprintf(stderr, "bench: %s, elapsed %.1f s, %.0f/s\n", what, elapsed, rate);
}

/* ---------------------------------------------------------------- SVG */

static const char *colors[] = { "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b" };

/* A chart at (x, y), w x h: series[k] over the steps, log scale when asked. */
static void chart(FILE *f, int x, int y, int w, int h, const char *title, const json_t *steps,
		  const char **keys, const char **names, int nkeys, bool logy)
{
	size_t n = json_array_size(steps), i;
	double maxv = 0, minv = 1e300;
	const json_t *s;
	fprintf(f, "<g transform=\"translate(%d,%d)\"><text x=\"0\" y=\"-8\" font-size=\"13\">%s</text>\n"
		"<rect width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"#999\"/>\n", x, y, title, w, h);
	for (int k = 0; k < nkeys; k++)
		json_array_foreach(steps, i, s) {
			double v = num(s, keys[k]);
			maxv = v > maxv ? v : maxv;
			if (v > 0 && v < minv)
				minv = v;
		}
	if (maxv <= 0)
		maxv = 1;
	if (minv > maxv)
		minv = maxv / 10;
	fprintf(f, "<text x=\"-4\" y=\"10\" font-size=\"10\" text-anchor=\"end\">%.4g</text>\n", maxv);
	fprintf(f, "<text x=\"-4\" y=\"%d\" font-size=\"10\" text-anchor=\"end\">%.2g</text>\n", h,
		logy ? minv : 0.0);
	json_array_foreach(steps, i, s) {
		char label[32];
		const char *mode = json_string_value(json_object_get(s, "mode"));
		if (mode && !strcmp(mode, "closed"))
			snprintf(label, sizeof label, "c=%lld", (long long)json_integer_value(json_object_get(s, "concurrency")));
		else if (mode && !strcmp(mode, "open"))
			snprintf(label, sizeof label, "%.0f/s", num(s, "rate"));
		else
			snprintf(label, sizeof label, "max");
		fprintf(f, "<text x=\"%.1f\" y=\"%d\" font-size=\"10\" text-anchor=\"middle\">%s</text>\n",
			n > 1 ? (double)w * (double)i / (double)(n - 1) : w / 2.0, h + 14, label);
	}
	for (int k = 0; k < nkeys; k++) {
		fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"", colors[k % 6]);
		json_array_foreach(steps, i, s) {
			double v = num(s, keys[k]), fy;
			if (logy)
				fy = v > 0 ? (log(v) - log(minv)) / (log(maxv) - log(minv) + 1e-12) : 0;
			else
				fy = v / maxv;
			fprintf(f, "%.1f,%.1f ", n > 1 ? (double)w * (double)i / (double)(n - 1) : w / 2.0,
				(double)h - fy * (double)h);
		}
		fprintf(f, "\"/>\n<text x=\"%d\" y=\"%d\" font-size=\"10\" fill=\"%s\">%s</text>\n", w + 6,
			12 + 12 * k, colors[k % 6], names[k]);
	}
	fprintf(f, "</g>\n");
}

static void cpu_bars(FILE *f, int x, int y, int w, const json_t *step)
{
	const json_t *cpu = json_object_get(step, "cpu_seconds");
	const char *k;
	json_t *v;
	double maxv = 0;
	int row = 0;
	json_object_foreach((json_t *)cpu, k, v)
		maxv = json_real_value(v) > maxv ? json_real_value(v) : maxv;
	fprintf(f, "<g transform=\"translate(%d,%d)\"><text x=\"0\" y=\"-8\" font-size=\"13\">CPU seconds by thread (sizing step)</text>\n", x, y);
	json_object_foreach((json_t *)cpu, k, v) {
		double bw = maxv > 0 ? json_real_value(v) / maxv * (w - 140) : 0;
		fprintf(f, "<text x=\"0\" y=\"%d\" font-size=\"10\">%s</text>"
			"<rect x=\"110\" y=\"%d\" width=\"%.1f\" height=\"10\" fill=\"%s\"/>"
			"<text x=\"%.1f\" y=\"%d\" font-size=\"10\">%.2f</text>\n", row * 14 + 10, k,
			row * 14 + 1, bw, colors[row % 6], 114 + bw, row * 14 + 10, json_real_value(v));
		row++;
	}
	fprintf(f, "</g>\n");
}

int perf_write_svg(const char *path, const json_t *run, struct ac_error *err)
{
	const json_t *steps = json_object_get(run, "steps");
	const json_t *sz = json_object_get(run, "sizing_step");
	const json_t *cpu_step = json_array_get(steps, json_is_integer(sz) ? (size_t)json_integer_value(sz) :
						       json_array_size(steps) - 1);
	size_t nthreads = json_object_size(json_object_get(cpu_step, "cpu_seconds"));
	int height = 560 + (int)nthreads * 14;
	bool http = !strcmp(json_string_value(json_object_get(run, "kind")), "http");
	FILE *f = fopen(path, "w");
	if (!f)
		return ac_error_set(err, AC_EIO, NULL, "%s: %s", path, strerror(errno));
	fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"720\" height=\"%d\" "
		"font-family=\"sans-serif\">\n<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
		"<text x=\"20\" y=\"24\" font-size=\"16\">autocoder bench: %s — %s, load average %.2f</text>\n",
		height, json_string_value(json_object_get(run, "system")),
		json_string_value(json_object_get(run, "started")), num(run, "load_average"));
	const char *tk[] = { "throughput" }, *tn[] = { http ? "req/s" : "sink msg/s" };
	chart(f, 80, 70, 520, 160, http ? "Throughput per step (req/s)" : "Throughput per step (msg/s)",
	      steps, tk, tn, 1, false);
	if (http) {
		const char *lk[] = { "p50_ms", "p90_ms", "p99_ms", "p999_ms" };
		const char *ln[] = { "p50", "p90", "p99", "p99.9" };
		chart(f, 80, 290, 520, 160, "Latency percentiles per step (ms, log scale)", steps, lk, ln, 4, true);
	} else {
		const char *lk[] = { "cpu_cores" }, *ln[] = { "cores" };
		chart(f, 80, 290, 520, 160, "CPU cores used per step", steps, lk, ln, 1, false);
	}
	cpu_bars(f, 20, 510, 600, cpu_step);
	fprintf(f, "</svg>\n");
	if (fclose(f))
		return ac_error_set(err, AC_EIO, NULL, "%s: %s", path, strerror(errno));
	return 0;
}

/*
 * perf.h — `autocoder bench`: performance validation of generated systems (docs/BENCH.md).
 *
 * Files:
 *   loadgen.c  the HTTP/1.1 load generator (epoll, closed-loop concurrency or open-loop rate
 *              with latency from the intended send time) and its latency histogram
 *   loadgen_ws.c  WebSocket clients (RFC 6455 handshake, masked text frames) for a WebSocket
 *              ingress, closed loop or open loop
 *   container.c  --container: the system's image under its manifest's limits (docker CLI),
 *              cgroup throttling, memory peak and OOM kills
 *   system.c   building, starting and stopping a generated system on free loopback ports with
 *              a private data directory; per-thread CPU from /proc/PID/task/TID/stat, RSS, and
 *              /metrics scrapes
 *   bench.c    the run: which ingress gets which requests (shaped from the blueprint's
 *              schemas), the steps, per-step figures, criteria from validation.performance and
 *              policy.slos, the sizing point
 *   report.c   the table, the progress line and the SVG report
 *   runs.c     runs and baselines in SQLite, the noise-aware regression gate, the resource
 *              profile that `autocoder generate --profile` uses
 */
#ifndef AC_PERF_H
#define AC_PERF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>
#include "core/sql.h"

struct ac_error;

/* ---- load generator (loadgen.c) */

#define PERF_HIST_SUB 64
#define PERF_HIST_BUCKETS (PERF_HIST_SUB * 40)
#define PERF_MAX_STATUS 16

struct perf_hist {
	uint64_t count[PERF_HIST_BUCKETS];
	uint64_t n, sum_us, max_us;
};

void perf_hist_add(struct perf_hist *h, uint64_t us);
void perf_hist_merge(struct perf_hist *into, const struct perf_hist *h);
/* Latency at quantile q (0..1) in milliseconds; 0 when empty. */
double perf_hist_quantile_ms(const struct perf_hist *h, double q);

/* One complete HTTP/1.1 request (request line, headers, body), sent as it is. */
struct perf_request {
	char *data;
	size_t len;
};

struct perf_load {
	int port;                          /* 127.0.0.1:port */
	const struct perf_request *requests;
	size_t nrequests;                  /* cycled in order */
	int connections, threads;
	double rate;                       /* requests/s (open loop), 0: closed loop */
	double duration, warmup;           /* seconds measured, seconds before that */
	/* optional: called about twice a second from one load thread with the seconds since the
	 * start and the answers so far (all threads) — the terminal's progress line */
	void (*progress)(void *arg, double elapsed, uint64_t answers);
	void *progress_arg;
};

struct perf_load_result {
	struct perf_hist hist;
	uint64_t responses;                /* answers in the measured window */
	uint64_t conn_errors;              /* failed connections / unparseable answers */
	uint64_t unanswered;               /* open loop: still out at the end */
	uint64_t not_sent;                 /* open loop: due but never sent (all busy) */
	struct { int code; uint64_t count; } status[PERF_MAX_STATUS];
	int nstatus;
	double seconds;
};

/* Drive load as cfg says; fills out. 0 or an AC_E* code with err set. */
int perf_load_run(const struct perf_load *cfg, struct perf_load_result *out, struct ac_error *err);

/* ---- WebSocket clients (loadgen_ws.c) */

struct perf_ws_load {
	int port;                          /* 127.0.0.1:port */
	const char *path;                  /* the upgrade path ("/ws") */
	const struct perf_request *messages;   /* complete masked frames (perf_ws_frame), cycled */
	size_t nmessages;
	int connections, threads;
	double rate;                       /* messages/s (open loop), 0: as fast as sockets take them */
	double duration, warmup;
};

struct perf_ws_result {
	uint64_t sent;                     /* messages written completely inside the window */
	uint64_t connected;                /* handshakes answered 101 */
	uint64_t handshake_errors;         /* connections refused, upgrades not answered 101 */
	uint64_t conn_errors;              /* connections lost in the window */
	uint64_t not_sent;                 /* open loop: due in the window, never written */
	char refused[128];                 /* the first non-101 status line */
	double seconds;
};

/* One client text frame (FIN, opcode 1, masked with a random key) carrying payload. */
int perf_ws_frame(const char *payload, size_t len, struct perf_request *out);
int perf_ws_run(const struct perf_ws_load *cfg, struct perf_ws_result *out, struct ac_error *err);

/* ---- the bench (bench.c) */

#define PERF_MAX_STEPS 16

struct perf_options {
	const char *target;        /* SYSTEM_DIR or BLUEPRINT */
	const char *url;           /* --url http://127.0.0.1:PORT/PATH: bench a running server */
	int conc[PERF_MAX_STEPS];  /* closed-loop steps */
	int nconc;
	bool conc_given;           /* -c given: validation.load_testing adds no step */
	double rates[PERF_MAX_STEPS]; /* open-loop steps (requests or messages per second) */
	int nrates;
	double duration, warmup;
	int threads;               /* load generator threads */
	int repeat;                /* whole runs (for the regression gate) */
	const char *mix;           /* "read", "write" or "mixed" (default) */
	const char *body;          /* POST body (JSON) instead of one shaped from the schema */
	const char *workdir;       /* where a blueprint is generated (default: a temp dir) */
	const char *db;            /* store runs here */
	const char *save_baseline, *baseline;
	double threshold;          /* regression gate: allowed relative loss (0.10) */
	const char *size_path;     /* --size: write the resource profile here */
	double headroom;           /* sizing headroom (0.3) */
	const char *report_dir;    /* JSON + SVG go here (default SYSTEM_DIR/bench) */
	bool json, progress, keep;
	bool container;            /* --container: the image under its manifest's limits */
};

/* Run the bench; *result gets the run as JSON (new reference) whenever the steps ran — also
 * when a criterion failed or storing, sizing or drawing the run failed afterwards.
 * Returns 0 when everything ran and every criterion held, 1 when a criterion or the
 * regression gate failed, 3 when the gate is inconclusive, or a negative AC_E* code with err
 * set when the bench itself could not run. */
int perf_bench(const struct perf_options *o, json_t **result, struct ac_error *err);

/* ---- system under test (system.c) */

struct perf_system;

/* Build (make) the generated system in dir if needed; 0 or AC_E* with err (build output is
 * in dir/bench-build.log). */
int perf_system_build(const char *dir, struct ac_error *err);
/* Start dir's binary with a private data directory under rundir; env is NULL-terminated
 * "NAME=value" strings added to ours. ready_port: the port whose /ready is polled (60 s). */
int perf_system_start(const char *dir, const char *name, const char *rundir, char **env,
		      int ready_port, struct perf_system **out, struct ac_error *err);
/* SIGTERM, wait (30 s, then SIGKILL); 0 when it exited 0. */
int perf_system_stop(struct perf_system *s, struct ac_error *err);
int perf_system_pid(const struct perf_system *s);

/* ---- containers (container.c): --container */

struct perf_container {
	char docker[512];          /* the docker CLI (AUTOCODER_DOCKER, default docker) */
	char image[256];           /* containers[0].image of the manifest */
	char manifest[2300];       /* where the limits came from */
	double cpus;               /* resources.limits.cpu, cores */
	double memory_mi;          /* resources.limits.memory, MiB */
	int grace_s;               /* terminationGracePeriodSeconds */
};

/* Read dir's Kubernetes manifest (image, CPU and memory limits, grace period). */
int perf_container_plan(const char *dir, struct perf_container *ct, struct ac_error *err);
/* docker build the image from dir/deployments/Dockerfile (log dir/bench-image.log); an engine
 * that does not answer is an error naming DOCKER_HOST. */
int perf_container_build(const struct perf_container *ct, const char *dir, struct ac_error *err);
/* docker run under the limits with env (-e each), host networking; waits for /ready on
 * ready_port (90 s). A container that dies while starting is an error saying why (OOM). */
int perf_container_start(const struct perf_container *ct, const char *rundir, char **env,
			 int ready_port, struct perf_system **out, struct ac_error *err);
/* 0 while the container runs; else an error saying why it stopped (OOM-killed, exit status). */
int perf_container_alive(const char *name, const struct perf_container *ct, const char *rundir,
			 struct ac_error *err);
/* docker stop -t grace; 0 when it exited 0 and was not OOM-killed; always removed. */
int perf_container_stop(const char *name, const struct perf_container *ct, const char *rundir,
			struct ac_error *err);

/* A container's cgroup figures (v2, or v1 controllers), cumulative. */
struct perf_cgroup {
	int version;               /* 0: not found */
	uint64_t nr_periods, nr_throttled;
	double throttled_s;
	uint64_t mem_peak, mem_current, mem_limit;   /* bytes; peak 0 when the kernel has none */
	uint64_t oom_kills, limit_hits;
};
int perf_cgroup_read(int pid, struct perf_cgroup *cg);

/* A running container as a system (system.c; used by container.c). */
struct perf_system *perf_system_adopt(int pid, const char *container,
				      const struct perf_container *ct, const char *rundir);
/* 0 unless the system is a container that stopped running (err says why). */
int perf_system_alive(const struct perf_system *s, struct ac_error *err);

/* CPU seconds per thread name ({"api-http": 1.2, ...}) and the whole process; new reference. */
json_t *perf_proc_threads(int pid, double *total_cpu);
/* VmHWM and VmRSS in kB (0 when unknown). */
void perf_proc_memory(int pid, long *hwm_kb, long *rss_kb);
/* GET http://127.0.0.1:port/path; malloc'd body or NULL; *status the HTTP status. */
char *perf_http_get(int port, const char *path, int *status);
/* One HTTP request with a body; malloc'd response body or NULL. */
char *perf_http_request(int port, const char *method, const char *path, const char *body,
			int *status);
/* Sum of the samples of a Prometheus metric whose labels contain every "k=\"v\"" in match
 * (NULL: all). */
double perf_metric_sum(const char *text, const char *metric, const char *match);
double perf_metric_max(const char *text, const char *metric, const char *match);
int perf_free_port(void);
/* Remove a directory tree (0 when gone). */
int perf_rm_rf(const char *path);

/* ---- reports (report.c) */

void perf_print_table(FILE *out, const json_t *run);
int perf_write_svg(const char *path, const json_t *run, struct ac_error *err);
void perf_progress(const char *what, double elapsed, double rate);

/* ---- runs, baselines, profile (runs.c) */

/* Store the run (its JSON) in db; *id its row id. */
int perf_runs_save(const char *db, json_t *run, const char *baseline, long long *id,
		   struct ac_error *err);
/* Compare the headline figures of the current repeats with the latest baseline NAME:
 * fills a {"verdict": "ok"|"regression"|"inconclusive", ...} object. */
int perf_runs_gate(const char *db, const char *name, const json_t *current, double threshold,
		   json_t **verdict, struct ac_error *err);
/* The latest runs on an open connection, newest first, for the web UI's Benchmarks page:
 * [{id, system, started, host, load_average, baseline, passed, headline, result}] (new
 * reference) or NULL with err set. */
json_t *perf_runs_list(ac_sql *db, int limit, struct ac_error *err);
/* Write the resource profile (sizing point) as JSON. */
int perf_profile_write(const char *path, const json_t *run, double headroom,
		       struct ac_error *err);

#endif

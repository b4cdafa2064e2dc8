/*
 * deploy_internal.h — shared between the deploy emitter's files (not part of the module API).
 *
 * deploy_plan.c reduces the model to a `struct dp_plan` (names, ports, health port, state,
 * sizing, scaling) once; deploy_docker.c and deploy_k8s.c only format that plan, so every file
 * agrees on ports, names and limits. The plan borrows strings from the model: the model must
 * outlive it.
 */
#ifndef AC_GENERATOR_DEPLOY_INTERNAL_H
#define AC_GENERATOR_DEPLOY_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>

#include "core/buf.h"
#include "generator/deploy.h"

#define DP_MAX_PORTS 64
#define DP_FILE_MAX (1u << 20)
#define DP_UID 10001

struct dp_port {
	const char *component;  /* component name (model string) */
	const char *type;       /* component type */
	long port;              /* default port */
	char env[96];           /* variable overriding the port at run time */
	char name[16];          /* Kubernetes port name (IANA_SVC_NAME, unique) */
	const char *protocol;   /* HTTP, WebSocket, TCP */
};

struct dp_plan {
	const json_t *model;
	const char *name;        /* system.name, snake_case: binary, compose project */
	char dns[54];            /* DNS-1123 form of name: Kubernetes names, image name */
	const char *version;
	char tag[64];            /* version as a Docker image tag */
	long collector_port;     /* the compose collector's default host port */
	const char *environment;
	const char *log_level;
	struct dp_port ports[DP_MAX_PORTS];
	size_t nports;
	long health_port;        /* where /health and /ready answer */
	char health_env[96];     /* variable overriding health_port */
	bool health_on_metrics;  /* no APIEndpoint: METRICS_PORT, added to ports */
	bool stateful;           /* a Store or Accumulator: persistent volume, StatefulSet */
	char stateful_kinds[64]; /* "Store", "Store, Accumulator" (for comments) */
	long min_replicas;
	long max_replicas;
	bool autoscale;          /* HPA requested (and possible: not stateful) */
	bool autoscale_wanted;   /* auto_scaling in the blueprint */
	const json_t *scale_metrics;
	struct deploy_resources res;
	long startup_s;
	long shutdown_s;
	long shutdown_ms;
	long health_timeout_s;
	size_t ncomponents;
};

/* Build the plan. 0 or AC_EINVAL naming the model field. */
int dp_plan_build(const json_t *model, struct dp_plan *plan, struct ac_error *err);

/* Writers: each appends to its own buffer and writes one file. 0 or negative with err set. */
int dp_write_docker(const struct dp_plan *p, const char *outdir, struct ac_error *err);
int dp_write_k8s(const struct dp_plan *p, const char *outdir, struct ac_error *err);

/* An output file being built: appends record the first failure, written once at the end. */
struct dp_out {
	struct ac_buf b;
	int rc;
};
void dp_out_init(struct dp_out *o);
void dp_printf(struct dp_out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Append s as a YAML double-quoted scalar (JSON escaping, which YAML accepts). */
void dp_qstr(struct dp_out *o, const char *s);
/* Write the file outdir/rel (creating directories) and release the buffer. 0 or negative
 * with err naming the file. */
int dp_out_write(struct dp_out *o, const char *outdir, const char *rel, struct ac_error *err);
/* "350m" / "1.5" style CPU and "704Mi" memory. */
void dp_fmt_cpu_k8s(long m, char *out, size_t n);
void dp_fmt_cpu_docker(long m, char *out, size_t n);
void dp_fmt_mem_k8s(long mi, char *out, size_t n);
/* Number of seconds for a duration in ms, rounded up, at least 1. */
long dp_ms_to_s(long ms);

#endif

/*
 * deploy.h — the deployment emitter: a generated system's Docker, Compose and Kubernetes files.
 *
 * deploy_emit() reads the NORMALISED blueprint model (see GENERATOR-CONTRACT.md: defaults
 * filled, components with resolved network_ports) and writes, under DIR:
 *
 *   .dockerignore                    (at the build context root, where the builder reads it)
 *   deployments/Dockerfile           multi-stage, debian:bookworm-slim, non-root, HEALTHCHECK
 *   deployments/healthcheck.c        the libc-only probe the HEALTHCHECK runs
 *   deployments/.env                 COMPOSE_PROJECT_NAME, so two systems' stacks never collide
 *   deployments/docker-compose.yml   the system + an autocoder collector, volumes, limits
 *   deployments/docker-compose.host.yml   the same stack with host networking
 *   deployments/README.md            how to build and run each of them
 *   deployments/k8s/NAME.yaml         namespace, configmap, deployment or statefulset, service,
 *                                    hpa (when auto_scaling), kustomization.yaml
 *
 * The output depends on the model only (no clock, no paths, no environment), so the same
 * blueprint always gives byte-identical files.
 *
 * What the emitter assumes of the generated system (the runtime's side of the contract):
 * `make` in DIR builds the executable DIR/<system.name>; it runs with DIR as working directory,
 * keeps its state (SQLite stores and accumulators, crash spool, dead letters, sink files) under
 * ./data, takes each port from its environment variable, serves /health and /ready on the first
 * APIEndpoint's port (or on METRICS_PORT, default DEPLOY_METRICS_PORT, when it has none), ships
 * events to $AUTOCODER_COLLECTOR_URL with $AUTOCODER_KEY, and drains and exits 0 on SIGTERM.
 */
#ifndef AC_GENERATOR_DEPLOY_H
#define AC_GENERATOR_DEPLOY_H

#include <jansson.h>
#include <stdbool.h>

struct ac_error;

/* Port of /health, /ready and /metrics when the system has no APIEndpoint. */
#define DEPLOY_METRICS_PORT 9090
/* Sizing table of BLUEPRINT-LANGUAGE.md (before measured profiles replace it). */
#define DEPLOY_POD_OVERHEAD_CPU_M 50
#define DEPLOY_POD_OVERHEAD_MEM_MI 64
#define DEPLOY_LIMIT_CAP_CPU_M 2000
#define DEPLOY_LIMIT_CAP_MEM_MI 4096

/* CPU in millicores and memory in MiB. */
struct deploy_resources {
	long cpu_request_m;
	long mem_request_mi;
	long cpu_limit_m;
	long mem_limit_mi;
	/* measured sizing (a bench_profile in the model, see `autocoder bench --size`): where the
	 * figures came from, and the HPA CPU target that keeps the measured load per pod; empty
	 * and 0 when the sizing table decided */
	char source[512];
	long hpa_cpu_target;
};

/* Write the deployment files of the system described by model under outdir (created if
 * missing). Returns 0, AC_EINVAL when the model lacks what the files need (the message names
 * the missing or malformed field), AC_EIO/AC_ETOOBIG on write failures; err says which file.
 * On failure, files already written stay. Besides the files above it only removes
 * deployments/k8s/{deployment,statefulset,hpa}.yaml when this model does not call for them
 * (a regenerated system that changed shape). */
int deploy_emit(const json_t *model, const char *outdir, struct ac_error *err);

/* The pod's requests and limits for model, as the manifests and compose file declare them:
 * per component the type's request from the sizing table, capped by
 * policy.resource_limits.max_{cpu,memory}_per_component; its limit twice the table request,
 * capped by the same policy; pod request = sum + 50m/64Mi; pod limit = sum of limits + twice
 * the overhead, capped at 2000m/4096Mi, and the request never above the limit.
 * 0 or AC_EINVAL (malformed model or policy quantity) with err set. */
int deploy_pod_resources(const json_t *model, struct deploy_resources *out,
			 struct ac_error *err);
/* When the model carries a "bench_profile" object (added by `autocoder generate --profile`,
 * written by `autocoder bench --size`, docs/BENCH.md), its measured requests and limits
 * replace the sizing table above. */

/* Parse Kubernetes quantities: "500m", "0.5", "2" CPU to millicores; "512Mi", "1Gi", "1G",
 * "800M", "1048576" memory to MiB (rounded up). 0 or AC_EINVAL. */
int deploy_parse_cpu(const char *s, long *millicores);
int deploy_parse_memory(const char *s, long *mebibytes);

#endif

// system-info.mjs — facts about a generated system for the container tests, as shell
// assignments (eval'd by tests/integration/t85-deploy-containers.sh and `make bench-deploy`).
//
//   node system-info.mjs SYSTEM_DIR
//
// Reads SYSTEM_DIR/blueprint.yaml (the normalised model) and the Kubernetes workload the
// deploy emitter wrote, so the container runs with exactly the limits its manifest declares.
// Prints NAME, IMAGE, HEALTH_ENV, HEALTH_PORT, PORT_ENVS ("ENV ENV ..."), STATEFUL (0/1),
// HAS_API, API_RESOURCE, NEEDS_INPUT, INPUT_FILES, PROBE_PORT, PROBE_ENV, LIVENESS_PATH,
// READINESS_PATH, CONTROLLER, HAS_STORE, HAS_CRUD, MEM_LIMIT_MI, CPU_LIMIT (cores), SHUTDOWN_S.
import { readFileSync, existsSync } from "node:fs";
import { parse } from "yaml";

const dir = process.argv[2];
const model = parse(readFileSync(`${dir}/blueprint.yaml`, "utf8"));
const k8s = `${dir}/deployments/k8s`;
const wf = existsSync(`${k8s}/statefulset.yaml`) ? `${k8s}/statefulset.yaml` : `${k8s}/deployment.yaml`;
const w = parse(readFileSync(wf, "utf8"));
const c = w.spec.template.spec.containers[0];
const comps = model.system.components || [];
const env = (cmp, p) => p.env || `${cmp.name.toUpperCase().replace(/[^A-Z0-9]/g, "_")}_PORT`;
const api = comps.find((x) => x.type === "APIEndpoint" && (x.network_ports || []).length);
const portEnvs = comps.flatMap((x) => (x.network_ports || []).map((p) => env(x, p)));
if (!api) portEnvs.push("METRICS_PORT");
const cpu = String(c.resources.limits.cpu);
// The probes as the manifest declares them, and the ConfigMap variable that sets that port.
const cm = parse(readFileSync(`${k8s}/configmap.yaml`, "utf8")).data || {};
const live = c.livenessProbe.httpGet, ready = c.readinessProbe.httpGet;
const probePort = typeof live.port === "number" ? live.port : c.ports.find((p) => p.name === live.port)?.containerPort;
const probeEnv = Object.keys(cm).find((k) => k.endsWith("_PORT") && String(cm[k]) === String(probePort)) || "";
const inputs = comps.filter((x) => x.type === "Source" && x.config?.generation?.type === "file").map((x) => x.config.generation.file);
const q = (s) => `'${String(s).replace(/'/g, "'\\''")}'`;
const out = {
  NAME: model.system.name,
  IMAGE: c.image,
  HEALTH_ENV: api ? env(api, api.network_ports[0]) : "METRICS_PORT",
  HEALTH_PORT: api ? api.network_ports[0].port : 9090,
  PORT_ENVS: portEnvs.join(" "),
  STATEFUL: comps.some((x) => x.type === "Store" || x.type === "Accumulator") ? 1 : 0,
  HAS_API: api ? 1 : 0,
  API_RESOURCE: api ? api.config?.resource || "" : "",
  // A Source reading a file needs that file mounted: not runnable on its own.
  NEEDS_INPUT: comps.some((x) => x.type === "Source" && x.config?.generation?.type === "file") ? 1 : 0,
  INPUT_FILES: inputs.join(" "),
  PROBE_PORT: probePort,
  PROBE_ENV: probeEnv,
  LIVENESS_PATH: live.path,
  READINESS_PATH: ready.path,
  CONTROLLER: comps.find((x) => x.type === "Controller")?.name || "",
  HAS_STORE: comps.some((x) => x.type === "Store") ? 1 : 0,
  // REST CRUD: the APIEndpoint's requests go through a Controller to a Store.
  HAS_CRUD: api && comps.some((x) => x.type === "Controller") && comps.some((x) => x.type === "Store") ? 1 : 0,
  MEM_LIMIT_MI: Number(String(c.resources.limits.memory).replace(/Mi$/, "")),
  CPU_LIMIT: cpu.endsWith("m") ? Number(cpu.slice(0, -1)) / 1000 : Number(cpu),
  SHUTDOWN_S: w.spec.template.spec.terminationGracePeriodSeconds,
};
for (const [k, v] of Object.entries(out)) console.log(`${k}=${q(v)}`);

// check-compose.mjs — semantic checks of a generated system's Compose files.
//
//   node check-compose.mjs MODEL BASE.yml HOST.yml RENDERED_K8S.yaml
//
// BASE.yml and HOST.yml are `docker-compose config` output for docker-compose.yml and for
// docker-compose.host.yml (so interpolation is Compose's own). Checks: the
// system and the collector services exist with healthchecks and a restart policy; the system's
// state directory and the collector's database are on named volumes; the system's CPU and
// memory limits equal the Kubernetes pod limits; every blueprint port is published (bridge) or
// passed as its variable (host); with the host file both services use host networking and
// the system's collector URL points at the collector's own listen port on 127.0.0.1.
import { readFileSync } from "node:fs";
import { parse, parseAllDocuments } from "yaml";

const [modelPath, basePath, hostPath, k8sPath] = process.argv.slice(2);
if (!k8sPath) {
  console.error("usage: node check-compose.mjs MODEL BASE.yml HOST.yml RENDERED_K8S.yaml");
  process.exit(2);
}
const model = parse(readFileSync(modelPath, "utf8"));
const base = parse(readFileSync(basePath, "utf8"));
const host = parse(readFileSync(hostPath, "utf8"));
const k8s = parseAllDocuments(readFileSync(k8sPath, "utf8")).map((d) => d.toJS()).filter(Boolean);
const problems = [];
const name = model.system.name;
const comps = model.system.components || [];
const stateful = comps.some((c) => c.type === "Store" || c.type === "Accumulator");
const api = comps.find((c) => c.type === "APIEndpoint" && (c.network_ports || []).length);
const portEnv = (c, p) => p.env || `${c.name.toUpperCase().replace(/[^A-Z0-9]/g, "_")}_PORT`;
const ports = comps.flatMap((c) => (c.network_ports || []).map((p) => ({ port: p.port, env: portEnv(c, p) })));
if (!api) ports.push({ port: 9090, env: "METRICS_PORT" });

const workload = k8s.find((d) => d.kind === "Deployment" || d.kind === "StatefulSet");
const limits = workload.spec.template.spec.containers[0].resources.limits;
const cpuLimit = String(limits.cpu).endsWith("m") ? Number(String(limits.cpu).slice(0, -1)) / 1000 : Number(limits.cpu);
const memLimitMi = Number(String(limits.memory).replace(/Mi$/, ""));
const toMi = (v) => {
  if (typeof v === "number") return v / 1048576;
  const m = /^(\d+)([bkmg]?)$/i.exec(String(v));
  return m ? Number(m[1]) * { "": 1 / 1048576, b: 1 / 1048576, k: 1 / 1024, m: 1, g: 1024 }[m[2].toLowerCase()] : NaN;
};

function checkCommon(cfg, label) {
  const sys = cfg.services?.[name];
  const col = cfg.services?.collector;
  if (!sys || !col) {
    problems.push(`${label}: services '${name}' and 'collector' expected, found ${Object.keys(cfg.services || {})}`);
    return {};
  }
  for (const [n, s] of [[name, sys], ["collector", col]]) {
    if (!s.healthcheck?.test) problems.push(`${label}: ${n} has no healthcheck`);
    if (!s.restart) problems.push(`${label}: ${n} has no restart policy`);
  }
  const vol = (s, path) => (s.volumes || []).map((v) => (typeof v === "string" ? { source: v.split(":")[0], target: v.split(":")[1] } : v)).find((v) => v.target === path);
  const sv = vol(sys, "/app/data");
  if (!sv || !cfg.volumes?.[sv.source]) problems.push(`${label}: ${name}'s /app/data is not a named volume`);
  const cv = vol(col, "/data");
  if (!cv || !cfg.volumes?.[cv.source]) problems.push(`${label}: the collector's /data is not a named volume`);
  if (Number(sys.cpus) !== cpuLimit) problems.push(`${label}: cpus ${sys.cpus} differs from the pod limit ${cpuLimit}`);
  if (toMi(sys.mem_limit) !== memLimitMi) problems.push(`${label}: mem_limit ${sys.mem_limit} differs from the pod limit ${memLimitMi}Mi`);
  if (sys.depends_on?.collector?.condition !== "service_healthy") problems.push(`${label}: ${name} does not wait for a healthy collector`);
  return { sys, col };
}

{
  const { sys } = checkCommon(base, "docker-compose.yml");
  if (sys) {
    const published = (sys.ports || []).map((p) => (typeof p === "object" ? Number(p.target) : Number(String(p).split(":").pop())));
    for (const p of ports) if (!published.includes(p.port)) problems.push(`docker-compose.yml: port ${p.port} is not published`);
    if (!/^http:\/\/collector:8080$/.test(sys.environment?.AUTOCODER_COLLECTOR_URL || ""))
      problems.push(`docker-compose.yml: AUTOCODER_COLLECTOR_URL is ${sys.environment?.AUTOCODER_COLLECTOR_URL}`);
  }
}
{
  const { sys, col } = checkCommon(host, "docker-compose.host.yml");
  if (sys && col) {
    for (const [n, s] of [[name, sys], ["collector", col]])
      if (s.network_mode !== "host") problems.push(`docker-compose.host.yml: ${n} is not on host networking`);
    for (const p of ports) if (!(p.env in (sys.environment || {}))) problems.push(`docker-compose.host.yml: ${p.env} is not passed to the system`);
    const listen = (col.command || []).join(" ").match(/--listen (\S+)/)?.[1] || "";
    const url = sys.environment?.AUTOCODER_COLLECTOR_URL || "";
    if (!listen.startsWith("127.0.0.1:") || url !== `http://${listen}`)
      problems.push(`docker-compose.host.yml: the system reports to ${url} but the collector listens on ${listen}`);
    if (String(col.environment?.AUTOCODER_PORT) !== listen.split(":")[1])
      problems.push("docker-compose.host.yml: the collector's healthcheck port variable differs from its listen port");
  }
}
for (const p of problems) console.log(`${basePath}: ${p}`);
console.log(`check-compose: ${problems.length} problems`);
process.exit(problems.length ? 1 : 0);

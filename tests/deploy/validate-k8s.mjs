// validate-k8s.mjs — schema and semantic checks of a generated system's Kubernetes manifests.
//
//   node validate-k8s.mjs MODEL RENDERED.yaml K8S_DIR
//   node validate-k8s.mjs - RENDERED.yaml K8S_DIR --readiness /health --state-mount /data
//   node validate-k8s.mjs - RENDERED.yaml K8S_DIR --several   (more than one workload)
//
// MODEL is the system's normalised blueprint (blueprint.yaml, or a JSON model fixture): what
// the manifests must say is derived from it, not from the manifests themselves. With "-"
// (the project's own collector manifests) the expectations come from the options instead.
// RENDERED.yaml is the output of `kubectl kustomize K8S_DIR` (every resource the kustomization
// really produces). Each document is validated with the kubernetes-models class for its
// apiVersion/kind (the OpenAPI schemas of Kubernetes, compiled). Those validators ignore
// fields the schema does not know, so unknown fields are found by probing: every field of
// the document is replaced in turn by a value of the wrong type; a field the schema declares
// then fails validation at its own path, while an unknown one passes unchecked and is
// reported. Semantic checks follow: selectors match pod labels, the Service selects the pods,
// probes use declared container ports, requests do not exceed limits, every YAML file in
// K8S_DIR is listed in the kustomization, state has a volume claim mounted at /app/data, the
// HPA targets the workload. Prints one line per problem; exit 1 when there is any.
import { readFileSync, readdirSync } from "node:fs";
import { parseAllDocuments, parse } from "yaml";

const [modelPath, renderedPath, k8sDir, ...opts] = process.argv.slice(2);
if (!modelPath || !renderedPath || !k8sDir) {
  console.error("usage: node validate-k8s.mjs MODEL|- RENDERED.yaml K8S_DIR [--readiness PATH] [--state-mount DIR] [--several]");
  process.exit(2);
}
const opt = (name, def) => (opts.includes(name) ? opts[opts.indexOf(name) + 1] : def);
const readinessPath = opt("--readiness", "/ready");
const stateMount = opt("--state-mount", "/app/data");
const several = opts.includes("--several");
// What the blueprint implies.
const model = modelPath === "-" ? null : parse(readFileSync(modelPath, "utf8"));
const comps = model?.system?.components || [];
const stateful = model ? comps.some((c) => c.type === "Store" || c.type === "Accumulator") : opts.includes("--state-mount");
const scaling = model?.system?.deployment?.scaling || {};
const wantHpa = !stateful && scaling.auto_scaling === true && (scaling.max_instances ?? 10) > (scaling.min_instances ?? 1);
const api = comps.find((c) => c.type === "APIEndpoint" && (c.network_ports || []).length);
const healthPort = model ? (api ? api.network_ports[0].port : 9090) : null;
const modelPorts = comps.flatMap((c) => (c.network_ports || []).map((p) => p.port));
if (model && !api) modelPorts.push(9090);
const problems = [];
const problem = (doc, msg) => problems.push(`${doc.kind}/${doc.metadata?.name}: ${msg}`);

const docs = [];
for (const d of parseAllDocuments(readFileSync(renderedPath, "utf8"))) {
  if (d.errors.length) {
    problems.push(`YAML: ${d.errors[0].message}`);
    continue;
  }
  const js = d.toJS();
  if (js) docs.push(js);
}

async function modelClass(doc) {
  const [group, version] = doc.apiVersion.includes("/") ? doc.apiVersion.split("/") : [null, doc.apiVersion];
  const mod = group ? `kubernetes-models/${group}/${version}/${doc.kind}` : `kubernetes-models/${version}/${doc.kind}`;
  try {
    return (await import(mod))[doc.kind];
  } catch (e) {
    return null;
  }
}

function validationErrors(Cls, obj) {
  try {
    new Cls(obj).validate();
    return [];
  } catch (e) {
    return e.errors || [{ instancePath: "", message: e.message }];
  }
}

const esc = (k) => String(k).replace(/~/g, "~0").replace(/\//g, "~1");

// Walk every field; report those whose wrong-typed replacement goes unnoticed.
function unknownFields(Cls, root) {
  const found = [];
  const visit = (node, path) => {
    if (node === null || typeof node !== "object") return;
    const keys = Array.isArray(node) ? node.keys() : Object.keys(node);
    for (const k of keys) {
      const here = `${path}/${esc(k)}`;
      const original = node[k];
      // apiVersion/kind are checked by the class itself.
      if (path === "" && (k === "apiVersion" || k === "kind")) continue;
      node[k] = typeof original === "boolean" ? "probe-not-a-boolean" : true;
      const errs = validationErrors(Cls, root);
      node[k] = original;
      const noticed = errs.some((e) => e.instancePath === here || e.instancePath.startsWith(here + "/"));
      if (!noticed) {
        found.push(here);
        continue; // do not descend into an unknown field
      }
      visit(original, here);
    }
  };
  visit(root, "");
  return found;
}

const byKind = (kind) => docs.filter((d) => d.kind === kind);
const contains = (labels, selector) =>
  selector && labels && Object.entries(selector).every(([k, v]) => labels[k] === v);

for (const doc of docs) {
  const Cls = await modelClass(doc);
  if (!Cls) {
    problem(doc, `no schema for ${doc.apiVersion} ${doc.kind}`);
    continue;
  }
  for (const e of validationErrors(Cls, doc))
    problem(doc, `schema: ${e.instancePath || "/"} ${e.message}`);
  for (const f of unknownFields(Cls, structuredClone(doc))) problem(doc, `unknown field ${f}`);
}

const workloads = [...byKind("Deployment"), ...byKind("StatefulSet")];
if (several) {
  // Several workloads (the PostgreSQL mode: collectors, analyzers, a trial database): each is
  // consistent in itself, every Service selects one of them and targets its declared ports,
  // every HPA scales one of them.
  if (!workloads.length) problems.push("no Deployment or StatefulSet");
  for (const w of workloads) {
    if (!contains(w.spec?.template?.metadata?.labels, w.spec?.selector?.matchLabels))
      problem(w, "selector.matchLabels does not match the pod template labels");
    for (const c of w.spec.template.spec.containers) {
      const ports = c.ports || [];
      const lp = c.livenessProbe;
      if (!lp) problem(w, `container ${c.name} has no livenessProbe`);
      for (const pr of ["livenessProbe", "readinessProbe"]) {
        const g = c[pr]?.httpGet;
        if (g && !ports.some((p) => p.containerPort === g.port || p.name === g.port))
          problem(w, `${pr} port ${g.port} is not a declared container port`);
      }
      const r = c.resources || {};
      for (const res of ["cpu", "memory"])
        if (!r.requests?.[res] || !r.limits?.[res]) problem(w, `container ${c.name} lacks ${res} request or limit`);
    }
  }
  for (const s of byKind("Service")) {
    const picked = workloads.filter((w) => contains(w.spec?.template?.metadata?.labels, s.spec?.selector));
    if (!picked.length) problem(s, "selector selects no workload's pods");
    for (const w of picked)
      for (const sp of s.spec.ports || [])
        if (!w.spec.template.spec.containers.some((c) => (c.ports || []).some((p) => p.name === sp.targetPort || p.containerPort === sp.targetPort)))
          problem(s, `targetPort ${sp.targetPort} is not a container port of ${w.kind}/${w.metadata.name}`);
  }
  for (const h of byKind("HorizontalPodAutoscaler")) {
    const t = h.spec.scaleTargetRef;
    if (!workloads.some((w) => w.kind === t.kind && w.metadata.name === t.name))
      problem(h, `scaleTargetRef ${t.kind}/${t.name} is not a workload here`);
    if (h.spec.minReplicas > h.spec.maxReplicas) problem(h, "minReplicas above maxReplicas");
  }
} else {
  if (workloads.length !== 1) problems.push(`expected one Deployment or StatefulSet, found ${workloads.length}`);
  for (const w of workloads) {
    const podLabels = w.spec?.template?.metadata?.labels;
    if (!contains(podLabels, w.spec?.selector?.matchLabels))
      problem(w, "selector.matchLabels does not match the pod template labels");
    const services = byKind("Service");
    if (!services.length) problem(w, "no Service");
    for (const s of services)
      if (!contains(podLabels, s.spec?.selector)) problem(s, "selector does not select the workload's pods");
    for (const c of w.spec.template.spec.containers) {
      const ports = c.ports || [];
      for (const pr of ["livenessProbe", "readinessProbe"]) {
        const g = c[pr]?.httpGet;
        if (!g) {
          problem(w, `container ${c.name} has no ${pr}.httpGet`);
          continue;
        }
        const want = pr === "livenessProbe" ? "/health" : readinessPath;
        if (g.path !== want) problem(w, `${pr} path is ${g.path}, expected ${want}`);
        if (!ports.some((p) => p.containerPort === g.port || p.name === g.port))
          problem(w, `${pr} port ${g.port} is not a declared container port`);
        const portNum = typeof g.port === "number" ? g.port : ports.find((p) => p.name === g.port)?.containerPort;
        if (healthPort !== null && portNum !== healthPort) problem(w, `${pr} probes port ${g.port}, the system serves /health on ${healthPort}`);
      }
      const q = (v, cpu) => {
        const s = String(v);
        if (cpu) return s.endsWith("m") ? Number(s.slice(0, -1)) : Number(s) * 1000;
        const m = { Ki: 1 / 1024, Mi: 1, Gi: 1024 }[s.slice(-2)];
        return m ? Number(s.slice(0, -2)) * m : Number(s) / 1048576;
      };
      const r = c.resources || {};
      for (const [res, cpu] of [["cpu", true], ["memory", false]]) {
        if (!r.requests?.[res] || !r.limits?.[res]) problem(w, `container ${c.name} lacks ${res} request or limit`);
        else if (q(r.requests[res], cpu) > q(r.limits[res], cpu)) problem(w, `${res} request above its limit`);
      }
      for (const s of services)
        for (const sp of s.spec.ports || [])
          if (!ports.some((p) => p.name === sp.targetPort || p.containerPort === sp.targetPort))
            problem(s, `targetPort ${sp.targetPort} is not a container port`);
      for (const mp of modelPorts)
        if (!ports.some((p) => p.containerPort === mp)) problem(w, `blueprint port ${mp} is not a container port`);
      const mount = (c.volumeMounts || []).find((m) => m.mountPath === stateMount);
      if (stateful) {
        if (w.kind !== "StatefulSet") problem(w, "the system has a Store/Accumulator but is not a StatefulSet");
        const claims = (w.spec.volumeClaimTemplates || []).map((v) => v.metadata.name);
        if (!mount || !claims.includes(mount.name))
          problem(w, `${stateMount} is not mounted from a volumeClaimTemplate (its data would be lost)`);
        if (w.spec.replicas !== 1) problem(w, "a SQLite-backed StatefulSet must run one replica");
        // The runtime puts sqlite:///data/x.db (and relative paths) under DATA_DIR=/app/data;
        // an absolute path elsewhere would live outside the volume.
        for (const cmp of comps.filter((x) => x.type === "Store" || x.type === "Accumulator")) {
          const url = cmp.config?.database_url || "";
          const path = url.replace(/^sqlite:\/\/\/?/, "");
          if (path.startsWith("/") && !path.startsWith("/app/data/"))
            problem(w, `${cmp.type} '${cmp.name}' keeps its database at ${path}, outside the /app/data volume`);
        }
        if (!w.spec.template.spec.securityContext?.fsGroup) problem(w, "no fsGroup: the non-root user cannot write the volume");
      }
    }
  }
  const hpas = byKind("HorizontalPodAutoscaler");
  if (wantHpa && hpas.length !== 1) problems.push(`expected one HorizontalPodAutoscaler, found ${hpas.length}`);
  if (!wantHpa && hpas.length) problems.push("unexpected HorizontalPodAutoscaler");
  for (const h of hpas) {
    const t = h.spec.scaleTargetRef;
    if (!workloads.some((w) => w.kind === t.kind && w.metadata.name === t.name))
      problem(h, `scaleTargetRef ${t.kind}/${t.name} is not the workload`);
    if (h.spec.minReplicas > h.spec.maxReplicas) problem(h, "minReplicas above maxReplicas");
  }

}

const kust = parse(readFileSync(`${k8sDir}/kustomization.yaml`, "utf8"));
for (const f of readdirSync(k8sDir).filter((f) => f.endsWith(".yaml") && f !== "kustomization.yaml"))
  if (!(kust.resources || []).includes(f)) problems.push(`${f} is not listed in kustomization.yaml`);

for (const p of problems) console.log(`${renderedPath}: ${p}`);
console.log(`validate-k8s: ${docs.length} resources, ${problems.length} problems`);
process.exit(problems.length ? 1 : 0);

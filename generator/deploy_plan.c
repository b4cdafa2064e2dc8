/*
 * deploy_plan.c — reduce the normalised model to the facts the deployment files need.
 *
 * Everything the Dockerfile, the compose files and the manifests must agree on is decided here
 * once: Kubernetes-safe names, the port list with the variable overriding each port, where
 * /health answers, whether the system keeps state (a Store or an Accumulator needs a persistent
 * volume), replicas and autoscaling, and the pod's requests and limits from the sizing table.
 * The model is trusted to be normalised, but not to be complete: a missing or mistyped field
 * the files need is an AC_EINVAL naming the field, never a crash.
 */
#include "core/common.h"
#include "generator/catalog.h"
#include "generator/deploy_internal.h"

#include <ctype.h>
#include <limits.h>
#include <math.h>

static const char *jstr(const json_t *obj, const char *key, const char *def)
{
	const json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
	return json_is_string(v) ? json_string_value(v) : def;
}

static long jlong(const json_t *obj, const char *key, long def)
{
	const json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
	if (json_is_integer(v))
		return (long)json_integer_value(v);
	if (json_is_real(v))
		return (long)json_real_value(v);
	return def;
}

static const json_t *jpath(const json_t *obj, const char *a, const char *b)
{
	const json_t *v = json_is_object(obj) ? json_object_get(obj, a) : NULL;
	if (b)
		v = json_is_object(v) ? json_object_get(v, b) : NULL;
	return v;
}

static int parse_number_suffix(const char *s, double *num, const char **suffix)
{
	char *end = NULL;

	if (!s || !*s || isspace((unsigned char)*s))
		return AC_EINVAL;
	errno = 0;
	*num = strtod(s, &end);
	if (errno || end == s || !isfinite(*num) || *num < 0)
		return AC_EINVAL;
	*suffix = end;
	return 0;
}

int deploy_parse_cpu(const char *s, long *millicores)
{
	double v;
	const char *suf;

	if (parse_number_suffix(s, &v, &suf) < 0)
		return AC_EINVAL;
	if (!strcmp(suf, "m"))
		v = ceil(v);
	else if (!*suf)
		v = ceil(v * 1000.0);
	else
		return AC_EINVAL;
	if (v < 1 || v > 1e9)
		return AC_EINVAL;
	*millicores = (long)v;
	return 0;
}

int deploy_parse_memory(const char *s, long *mebibytes)
{
	static const struct { const char *suffix; double bytes; } units[] = {
		{ "", 1.0 }, { "k", 1e3 }, { "K", 1e3 }, { "M", 1e6 }, { "G", 1e9 }, { "T", 1e12 },
		{ "Ki", 1024.0 }, { "Mi", 1048576.0 }, { "Gi", 1073741824.0 },
		{ "Ti", 1099511627776.0 },
	};
	double v;
	const char *suf;

	if (parse_number_suffix(s, &v, &suf) < 0)
		return AC_EINVAL;
	for (size_t i = 0; i < AC_ARRAY_SIZE(units); i++) {
		if (strcmp(suf, units[i].suffix))
			continue;
		v = ceil(v * units[i].bytes / 1048576.0);
		if (v < 1 || v > 1e9)
			return AC_EINVAL;
		*mebibytes = (long)v;
		return 0;
	}
	return AC_EINVAL;
}

/* A policy quantity: a string ("500m", "512Mi") or a bare number (cores / bytes). LONG_MAX
 * when absent. */
static int policy_quantity(const json_t *limits, const char *key, bool cpu, long *out,
			   struct ac_error *err)
{
	const json_t *v = json_is_object(limits) ? json_object_get(limits, key) : NULL;
	char num[64];
	const char *s;
	int rc;

	*out = LONG_MAX;
	if (!v || json_is_null(v))
		return 0;
	if (json_is_string(v)) {
		s = json_string_value(v);
	} else if (json_is_number(v)) {
		snprintf(num, sizeof(num), "%.17g", json_number_value(v));
		s = num;
	} else {
		return ac_error_set(err, AC_EINVAL, "bad_policy",
				    "policy.resource_limits.%s: expected a quantity like %s", key,
				    cpu ? "\"500m\"" : "\"512Mi\"");
	}
	rc = cpu ? deploy_parse_cpu(s, out) : deploy_parse_memory(s, out);
	if (rc < 0)
		return ac_error_set(err, AC_EINVAL, "bad_policy",
				    "policy.resource_limits.%s: '%s' is not a %s quantity (e.g. %s)",
				    key, s, cpu ? "CPU" : "memory", cpu ? "500m or 0.5" : "512Mi");
	return 0;
}

/* The type's request from the catalog (the sizing table of BLUEPRINT-LANGUAGE.md). */
static int type_request(const json_t *c, long *cpu_m, long *mem_mi, struct ac_error *err)
{
	const char *type = jstr(c, "type", NULL);
	const struct cat_type *t = type ? catalog_find(type, NULL) : NULL;

	if (!t)
		return ac_error_set(err, AC_EINVAL, "bad_model", "component '%s': unknown type '%s'",
				    jstr(c, "name", "?"), type ? type : "(none)");
	if (deploy_parse_cpu(t->cpu_request, cpu_m) < 0 ||
	    deploy_parse_memory(t->mem_request, mem_mi) < 0)
		AC_BUG("catalog sizing of %s is not a quantity", t->name);
	return 0;
}

static long min_l(long a, long b) { return a < b ? a : b; }
static long max_l(long a, long b) { return a > b ? a : b; }

/* A measured resource profile (perf/runs.c writes it): positive integers, request <= limit. */
static int profile_resources(const json_t *prof, struct deploy_resources *out,
			     struct ac_error *err)
{
	long v[4];
	const char *keys[4] = { "cpu_request_m", "mem_request_mi", "cpu_limit_m", "mem_limit_mi" };
	for (int i = 0; i < 4; i++) {
		v[i] = jlong(prof, keys[i], 0);
		if (v[i] <= 0)
			return ac_error_set(err, AC_EINVAL, "bad_profile",
					    "bench_profile.%s: missing or not a positive number", keys[i]);
	}
	out->cpu_request_m = min_l(v[0], v[2]);
	out->mem_request_mi = min_l(v[1], v[3]);
	out->cpu_limit_m = v[2];
	out->mem_limit_mi = v[3];
	out->hpa_cpu_target = jlong(prof, "hpa_cpu_target", 0);
	snprintf(out->source, sizeof out->source, "%s", jstr(prof, "source", "autocoder bench"));
	return 0;
}

static int table_resources(const json_t *model, struct deploy_resources *out,
			   struct ac_error *err)
{
	const json_t *comps = jpath(jpath(model, "system", NULL), "components", NULL);
	const json_t *limits = jpath(jpath(model, "policy", NULL), "resource_limits", NULL);
	long pol_cpu, pol_mem, req_cpu = 0, req_mem = 0, lim_cpu = 0, lim_mem = 0;
	size_t i;
	const json_t *c;

	if (!json_is_array(comps) || json_array_size(comps) == 0)
		return ac_error_set(err, AC_EINVAL, "bad_model", "system.components: missing or empty");
	if (policy_quantity(limits, "max_cpu_per_component", true, &pol_cpu, err) < 0 ||
	    policy_quantity(limits, "max_memory_per_component", false, &pol_mem, err) < 0)
		return AC_EINVAL;
	json_array_foreach(comps, i, c) {
		long cpu, mem;
		if (type_request(c, &cpu, &mem, err) < 0)
			return AC_EINVAL;
		req_cpu += min_l(cpu, pol_cpu);
		req_mem += min_l(mem, pol_mem);
		lim_cpu += min_l(2 * cpu, pol_cpu);
		lim_mem += min_l(2 * mem, pol_mem);
	}
	req_cpu += DEPLOY_POD_OVERHEAD_CPU_M;
	req_mem += DEPLOY_POD_OVERHEAD_MEM_MI;
	lim_cpu = min_l(lim_cpu + 2 * DEPLOY_POD_OVERHEAD_CPU_M, DEPLOY_LIMIT_CAP_CPU_M);
	lim_mem = min_l(lim_mem + 2 * DEPLOY_POD_OVERHEAD_MEM_MI, DEPLOY_LIMIT_CAP_MEM_MI);
	/* Kubernetes rejects a request above its limit: the cap wins. */
	out->cpu_request_m = min_l(req_cpu, lim_cpu);
	out->mem_request_mi = min_l(req_mem, lim_mem);
	out->cpu_limit_m = lim_cpu;
	out->mem_limit_mi = lim_mem;
	out->source[0] = 0;
	out->hpa_cpu_target = 0;
	return 0;
}

int deploy_pod_resources(const json_t *model, struct deploy_resources *out,
			 struct ac_error *err)
{
	if (json_is_object(jpath(model, "bench_profile", NULL)))
		return profile_resources(jpath(model, "bench_profile", NULL), out, err);
	return table_resources(model, out, err);
}

/* DNS-1123 label from a snake_case or free-form name: lowercase alphanumerics and single
 * dashes, no dash at either end, at most max-1 characters. */
static void dns_name(const char *in, char *out, size_t max)
{
	size_t n = 0;
	bool dash = false;

	for (const char *s = in; *s && n + 1 < max; s++) {
		unsigned char ch = (unsigned char)*s;
		if (isalnum(ch) && ch < 0x80) {
			if (dash && n > 0)
				out[n++] = '-';
			if (n + 1 >= max)
				break;
			out[n++] = (char)tolower(ch);
			dash = false;
		} else {
			dash = true;
		}
	}
	while (n > 0 && out[n - 1] == '-')
		n--;
	out[n] = '\0';
}

static void env_name(const char *component, char *out, size_t max)
{
	size_t n = 0;

	for (const char *s = component; *s && n + 6 < max; s++) {
		unsigned char ch = (unsigned char)*s;
		out[n++] = (isalnum(ch) && ch < 0x80) ? (char)toupper(ch) : '_';
	}
	snprintf(out + n, max - n, "_PORT");
}

static bool port_name_taken(const struct dp_plan *p, const char *name)
{
	for (size_t i = 0; i < p->nports; i++)
		if (!strcmp(p->ports[i].name, name))
			return true;
	return false;
}

/* IANA service name: <= 15 chars, lowercase alnum and '-', at least one letter. */
static void port_name(const struct dp_plan *p, const char *component, long port, char *out)
{
	char cand[16];
	bool letter = false;

	dns_name(component, cand, sizeof(cand));
	for (const char *s = cand; *s; s++)
		letter |= (*s >= 'a' && *s <= 'z');
	if (!letter || port_name_taken(p, cand))
		snprintf(cand, sizeof(cand), "port-%ld", port);
	snprintf(out, 16, "%s", cand);
}

static int add_port(struct dp_plan *p, const char *component, const char *type, long port,
		    const char *env, const char *protocol, struct ac_error *err)
{
	struct dp_port *dp;

	if (port < 1 || port > 65535)
		return ac_error_set(err, AC_EINVAL, "bad_model",
				    "component '%s': network port %ld is not in 1..65535", component, port);
	for (size_t i = 0; i < p->nports; i++)
		if (p->ports[i].port == port)
			return ac_error_set(err, AC_EINVAL, "bad_model",
					    "components '%s' and '%s' both use port %ld",
					    p->ports[i].component, component, port);
	if (p->nports == DP_MAX_PORTS)
		return ac_error_set(err, AC_EINVAL, "bad_model", "more than %d network ports",
				    DP_MAX_PORTS);
	dp = &p->ports[p->nports];
	dp->component = component;
	dp->type = type;
	dp->port = port;
	dp->protocol = protocol ? protocol : "HTTP";
	if (env && *env)
		snprintf(dp->env, sizeof(dp->env), "%s", env);
	else
		env_name(component, dp->env, sizeof(dp->env));
	port_name(p, component, port, dp->name);
	p->nports++;
	return 0;
}

static int plan_component_ports(struct dp_plan *p, const json_t *c, struct ac_error *err)
{
	const char *name = jstr(c, "name", NULL), *type = jstr(c, "type", NULL);
	const json_t *nps = json_object_get(c, "network_ports"), *np;
	const struct cat_type *t;
	size_t i;

	if (!name || !type)
		return ac_error_set(err, AC_EINVAL, "bad_model", "a component lacks its name or type");
	t = catalog_find(type, NULL);
	if (!t)
		return ac_error_set(err, AC_EINVAL, "bad_model", "component '%s': unknown type '%s'",
				    name, type);
	type = t->name;
	if (nps && !json_is_array(nps))
		return ac_error_set(err, AC_EINVAL, "bad_model",
				    "component '%s': network_ports is not a list", name);
	json_array_foreach(nps, i, np) {
		long port = jlong(np, "port", -1);
		if (add_port(p, name, type, port, jstr(np, "env", NULL), jstr(np, "protocol", NULL),
			     err) < 0)
			return AC_EINVAL;
		if (t->id == CAT_API_ENDPOINT && p->health_port == 0) {
			p->health_port = port;
			snprintf(p->health_env, sizeof(p->health_env), "%s", p->ports[p->nports - 1].env);
		}
	}
	if (t->id == CAT_STORE || t->id == CAT_ACCUMULATOR) {
		if (!strstr(p->stateful_kinds, type)) {
			size_t n = strlen(p->stateful_kinds);
			snprintf(p->stateful_kinds + n, sizeof(p->stateful_kinds) - n, "%s%s",
				 n ? ", " : "", type);
		}
		p->stateful = true;
	}
	return 0;
}

static int plan_ports(struct dp_plan *p, const json_t *comps, struct ac_error *err)
{
	size_t i;
	const json_t *c;

	json_array_foreach(comps, i, c)
		if (plan_component_ports(p, c, err) < 0)
			return AC_EINVAL;
	if (p->health_port == 0) {
		p->health_on_metrics = true;
		p->health_port = DEPLOY_METRICS_PORT;
		snprintf(p->health_env, sizeof(p->health_env), "METRICS_PORT");
		if (add_port(p, "metrics", "metrics", DEPLOY_METRICS_PORT, "METRICS_PORT", "HTTP",
			     err) < 0)
			return AC_EINVAL;
	}
	return 0;
}

/* Docker tag: [A-Za-z0-9_.-], not starting with '.' or '-' ("1.0.0+build" -> "1.0.0-build"). */
static void image_tag(const char *version, char *out, size_t max)
{
	size_t n = 0;

	for (const char *s = version; *s && n + 1 < max; s++) {
		unsigned char ch = (unsigned char)*s;
		out[n++] = (isalnum(ch) && ch < 0x80) || ch == '_' || ch == '.' || ch == '-' ? (char)ch
											   : '-';
	}
	out[n] = '\0';
	if (n == 0 || out[0] == '.' || out[0] == '-')
		snprintf(out, max, "latest");
}

/* The collector's host port in the compose stack: 8080 unless the system uses it. */
static void plan_collector_port(struct dp_plan *p)
{
	bool taken;

	p->collector_port = 8080;
	do {
		taken = false;
		for (size_t i = 0; i < p->nports; i++)
			if (p->ports[i].port == p->collector_port)
				taken = true;
		if (taken)
			p->collector_port++;
	} while (taken);
}

static void plan_scaling(struct dp_plan *p, const json_t *system)
{
	const json_t *scaling = jpath(jpath(system, "deployment", NULL), "scaling", NULL);
	const json_t *as = jpath(scaling, "auto_scaling", NULL);

	p->min_replicas = max_l(1, jlong(scaling, "min_instances", 1));
	p->max_replicas = max_l(p->min_replicas, jlong(scaling, "max_instances", 10));
	p->autoscale_wanted = json_is_true(as);
	p->scale_metrics = jpath(scaling, "metrics", NULL);
	/* Each replica of a StatefulSet gets its own SQLite file: more than one would serve
	 * different data behind one Service, so a stateful system runs exactly one. */
	if (p->stateful) {
		p->min_replicas = 1;
		p->max_replicas = 1;
	}
	p->autoscale = p->autoscale_wanted && !p->stateful && p->max_replicas > p->min_replicas;
}

static void plan_configuration(struct dp_plan *p, const json_t *system)
{
	const json_t *conf = jpath(system, "configuration", NULL);
	const json_t *timeouts = jpath(conf, "timeouts", NULL);
	const json_t *logging = jpath(conf, "logging", NULL);

	p->environment = jstr(conf, "environment", "development");
	p->log_level = jstr(logging, "level", "info");
	p->startup_s = dp_ms_to_s(jlong(timeouts, "startup_timeout_ms", 30000));
	p->shutdown_ms = jlong(timeouts, "shutdown_timeout_ms", 10000);
	if (p->shutdown_ms <= 0)
		p->shutdown_ms = 10000;
	p->shutdown_s = dp_ms_to_s(p->shutdown_ms);
	p->health_timeout_s = dp_ms_to_s(jlong(timeouts, "health_check_timeout_ms", 5000));
}

int dp_plan_build(const json_t *model, struct dp_plan *p, struct ac_error *err)
{
	const json_t *system = jpath(model, "system", NULL);
	const json_t *comps = jpath(system, "components", NULL);

	memset(p, 0, sizeof(*p));
	p->model = model;
	if (!json_is_object(system))
		return ac_error_set(err, AC_EINVAL, "bad_model", "model has no 'system' object");
	p->name = jstr(system, "name", NULL);
	if (!p->name || !*p->name)
		return ac_error_set(err, AC_EINVAL, "bad_model", "system.name: missing");
	for (const char *s = p->name; *s; s++)
		if (!(isalnum((unsigned char)*s) || *s == '_') || (unsigned char)*s >= 0x80)
			return ac_error_set(err, AC_EINVAL, "bad_model",
					    "system.name '%s' is not snake_case", p->name);
	dns_name(p->name, p->dns, sizeof(p->dns));
	if (!p->dns[0])
		return ac_error_set(err, AC_EINVAL, "bad_model",
				    "system.name '%s' gives no Kubernetes name", p->name);
	p->version = jstr(system, "version", "1.0.0");
	image_tag(p->version, p->tag, sizeof(p->tag));
	if (!json_is_array(comps) || json_array_size(comps) == 0)
		return ac_error_set(err, AC_EINVAL, "bad_model", "system.components: missing or empty");
	p->ncomponents = json_array_size(comps);
	if (plan_ports(p, comps, err) < 0)
		return AC_EINVAL;
	plan_configuration(p, system);
	plan_scaling(p, system);
	plan_collector_port(p);
	return deploy_pod_resources(model, &p->res, err);
}

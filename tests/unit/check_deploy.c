/*
 * check_deploy.c — unit tests for the deployment emitter (generator/deploy.h).
 *
 * Golden tests: each model fixture tests/golden/deploy/NAME.json is emitted into a temporary
 * directory and every file is compared byte for byte with tests/golden/deploy/NAME/ (the same
 * set of files, no more, no less; deployments/healthcheck.c, a verbatim copy of
 * generator/deploy/healthcheck.c, is compared with that source instead of a golden copy).
 * `make update-golden` (AC_UPDATE_GOLDEN=1) rewrites the golden files instead; review the diff
 * before committing it.
 * Then the rules a user relies on: sizing (table, policy caps, the 2000m/4096Mi cap), StatefulSet for state, HPA only when possible, and clear errors for
 * malformed models.
 */
#include "core/common.h"
#include "generator/deploy.h"

#include <check.h>

#include "tests/unit/check_run.h"
#include <dirent.h>
#include <sys/stat.h>

#define GOLDEN_DIR "tests/golden/deploy"
#define HEALTHCHECK_REL "deployments/healthcheck.c"
#define HEALTHCHECK_SRC "generator/deploy/healthcheck.c"

static char *make_tmpdir(void)
{
	char tmpl[] = "/tmp/ac-check-deploy-XXXXXX";
	char *d = mkdtemp(tmpl);
	ck_assert_ptr_nonnull(d);
	return strdup(d);
}

static void rm_rf(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	char sub[4096];

	if (!d) {
		unlink(path);
		return;
	}
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
		rm_rf(sub);
	}
	closedir(d);
	rmdir(path);
}

/* Append every regular file under root/rel to list (relative paths, newline-separated). */
static void list_files(const char *root, const char *rel, struct ac_buf *list)
{
	char path[8192], sub[2048];
	DIR *d;
	struct dirent *e;
	struct stat st;

	snprintf(path, sizeof(path), "%s%s%s", root, *rel ? "/" : "", rel);
	d = opendir(path);
	if (!d)
		return;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(sub, sizeof(sub), "%s%s%s", rel, *rel ? "/" : "", e->d_name);
		snprintf(path, sizeof(path), "%s/%s", root, sub);
		ck_assert_int_eq(stat(path, &st), 0);
		if (S_ISDIR(st.st_mode))
			list_files(root, sub, list);
		else
			ac_buf_printf(list, "%s\n", sub);
	}
	closedir(d);
}

static json_t *load_fixture(const char *name)
{
	char path[512];
	json_error_t je;
	json_t *m;

	snprintf(path, sizeof(path), GOLDEN_DIR "/%s.json", name);
	m = json_load_file(path, 0, &je);
	ck_assert_msg(m != NULL, "%s:%d: %s", path, je.line, je.text);
	return m;
}

static bool has_line(const char *list, const char *line)
{
	size_t n = strlen(line);
	for (const char *p = list; (p = strstr(p, line)); p++)
		if ((p == list || p[-1] == '\n') && p[n] == '\n')
			return true;
	return false;
}

static void compare_with_golden(const char *name, const char *out)
{
	char golden[512], a[8192], b[8192];
	struct ac_buf got, want;
	struct ac_error err;
	const char *line, *nl;
	bool update = getenv("AC_UPDATE_GOLDEN") && !strcmp(getenv("AC_UPDATE_GOLDEN"), "1");

	snprintf(golden, sizeof(golden), GOLDEN_DIR "/%s", name);
	ac_buf_init(&got, 1 << 16);
	ac_buf_init(&want, 1 << 16);
	list_files(out, "", &got);
	list_files(golden, "", &want);
	ck_assert_msg(got.len > 0, "%s: nothing emitted", name);
	for (line = got.data; *line; line = nl + 1) {
		size_t glen, wlen;
		char *g, *w, rel[1024];
		nl = strchr(line, '\n');
		snprintf(rel, sizeof(rel), "%.*s", (int)(nl - line), line);
		snprintf(a, sizeof(a), "%s/%s", out, rel);
		/* the health probe is copied verbatim: its golden is its one source file */
		if (!strcmp(rel, HEALTHCHECK_REL))
			snprintf(b, sizeof(b), "%s", HEALTHCHECK_SRC);
		else
			snprintf(b, sizeof(b), "%s/%s", golden, rel);
		g = ac_read_file(a, 1 << 20, &glen, &err);
		ck_assert_msg(g != NULL, "%s", err.msg);
		if (update && !strcmp(rel, HEALTHCHECK_REL)) {
			free(g);
			continue;
		}
		if (update) {
			char *slash = strrchr(b, '/');
			*slash = '\0';
			ck_assert_int_eq(ac_mkdir_p(b, &err), 0);
			*slash = '/';
			ck_assert_int_eq(ac_write_file(b, g, glen, &err), 0);
			free(g);
			continue;
		}
		w = ac_read_file(b, 1 << 20, &wlen, &err);
		ck_assert_msg(w != NULL, "%s: emitted %s, which has no golden file", name, rel);
		ck_assert_msg(glen == wlen && !memcmp(g, w, glen),
			      "%s: %s differs from its golden file (diff -r %s %s)", name, rel, out, golden);
		free(g);
		free(w);
	}
	if (!update && want.len)
		for (line = want.data; *line; line = nl + 1) {
			char rel[1024];
			nl = strchr(line, '\n');
			snprintf(rel, sizeof(rel), "%.*s", (int)(nl - line), line);
			ck_assert_msg(has_line(got.data, rel), "%s: golden file %s was not emitted", name,
				      rel);
		}
	ac_buf_release(&got);
	ac_buf_release(&want);
}

static void golden_case(const char *name)
{
	json_t *m = load_fixture(name);
	char *out = make_tmpdir();
	struct ac_error err = { 0 };

	ck_assert_msg(deploy_emit(m, out, &err) == 0, "%s: %s", name, err.msg);
	compare_with_golden(name, out);
	rm_rf(out);
	free(out);
	json_decref(m);
}

START_TEST(todo_api_matches_golden) { golden_case("todo_api"); }
END_TEST
START_TEST(event_pipeline_matches_golden) { golden_case("event_pipeline"); }
END_TEST
START_TEST(fraud_scoring_matches_golden) { golden_case("fraud_scoring"); }
END_TEST

static char *emit_and_read(json_t *m, const char *rel, char **dir_out)
{
	char *out = make_tmpdir(), path[4096];
	struct ac_error err = { 0 };
	char *txt;

	ck_assert_msg(deploy_emit(m, out, &err) == 0, "%s", err.msg);
	snprintf(path, sizeof(path), "%s/%s", out, rel);
	txt = ac_read_file(path, 1 << 20, NULL, &err);
	*dir_out = out;
	return txt;
}

static void cleanup_dir(char *dir)
{
	rm_rf(dir);
	free(dir);
}

START_TEST(same_model_gives_identical_files)
{
	json_t *m = load_fixture("event_pipeline");
	char *d1, *d2;
	char *a = emit_and_read(m, "deployments/k8s/deployment.yaml", &d1);
	char *b = emit_and_read(m, "deployments/k8s/deployment.yaml", &d2);

	ck_assert_ptr_nonnull(a);
	ck_assert_str_eq(a, b);
	free(a);
	free(b);
	cleanup_dir(d1);
	cleanup_dir(d2);
	json_decref(m);
}
END_TEST

START_TEST(quantities_parse_like_kubernetes)
{
	long v;
	ck_assert_int_eq(deploy_parse_cpu("500m", &v), 0);
	ck_assert_int_eq(v, 500);
	ck_assert_int_eq(deploy_parse_cpu("0.25", &v), 0);
	ck_assert_int_eq(v, 250);
	ck_assert_int_eq(deploy_parse_cpu("2", &v), 0);
	ck_assert_int_eq(v, 2000);
	ck_assert_int_eq(deploy_parse_memory("512Mi", &v), 0);
	ck_assert_int_eq(v, 512);
	ck_assert_int_eq(deploy_parse_memory("1Gi", &v), 0);
	ck_assert_int_eq(v, 1024);
	ck_assert_int_eq(deploy_parse_memory("1G", &v), 0);
	ck_assert_int_eq(v, 954); /* 10^9 bytes rounded up to MiB */
	ck_assert_int_eq(deploy_parse_memory("1048576", &v), 0);
	ck_assert_int_eq(v, 1);
	ck_assert_int_eq(deploy_parse_cpu("lots", &v), AC_EINVAL);
	ck_assert_int_eq(deploy_parse_cpu("5x", &v), AC_EINVAL);
	ck_assert_int_eq(deploy_parse_cpu("-1", &v), AC_EINVAL);
	ck_assert_int_eq(deploy_parse_memory("12Qi", &v), AC_EINVAL);
	ck_assert_int_eq(deploy_parse_memory("", &v), AC_EINVAL);
}
END_TEST

static json_t *model_with(const char **types, size_t n, const char *policy_json)
{
	json_t *comps = json_array(), *m;
	char name[32];

	for (size_t i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "c%zu", i);
		json_array_append_new(comps, json_pack("{s:s, s:s, s:[]}", "name", name, "type",
						       types[i], "network_ports"));
	}
	m = json_pack("{s:{s:s, s:s, s:o}}", "system", "name", "s", "version", "1.0.0",
		      "components", comps);
	if (policy_json)
		json_object_set_new(m, "policy", json_loads(policy_json, 0, NULL));
	return m;
}

START_TEST(sizing_follows_the_table)
{
	const char *types[] = { "APIEndpoint", "Store", "Model", "Filter" };
	json_t *m = model_with(types, 4, NULL);
	struct deploy_resources r;
	struct ac_error err;

	ck_assert_int_eq(deploy_pod_resources(m, &r, &err), 0);
	/* 200+250+500+100 + 50; 256+512+512+128 + 64 */
	ck_assert_int_eq(r.cpu_request_m, 1100);
	ck_assert_int_eq(r.mem_request_mi, 1472);
	/* twice the request, CPU capped at 2000m */
	ck_assert_int_eq(r.cpu_limit_m, 2000);
	ck_assert_int_eq(r.mem_limit_mi, 2944);
	json_decref(m);
}
END_TEST

START_TEST(sizing_respects_policy_and_caps)
{
	const char *types[] = { "Model", "Model", "Store" };
	const char *many[40];
	json_t *m = model_with(types, 3, "{\"resource_limits\": {\"max_cpu_per_component\": \"300m\","
					 " \"max_memory_per_component\": \"256Mi\"}}");
	struct deploy_resources r;
	struct ac_error err;

	ck_assert_int_eq(deploy_pod_resources(m, &r, &err), 0);
	ck_assert_int_eq(r.cpu_request_m, 300 + 300 + 250 + 50); /* Models capped to 300m */
	ck_assert_int_eq(r.mem_request_mi, 3 * 256 + 64);
	ck_assert_int_eq(r.cpu_limit_m, 3 * 300 + 100);       /* 2x capped by the policy too */
	ck_assert_int_eq(r.mem_limit_mi, 3 * 256 + 128);
	json_decref(m);

	for (size_t i = 0; i < 40; i++)
		many[i] = "Model";
	m = model_with(many, 40, NULL);
	ck_assert_int_eq(deploy_pod_resources(m, &r, &err), 0);
	ck_assert_int_eq(r.cpu_limit_m, 2000);
	ck_assert_int_eq(r.mem_limit_mi, 4096);
	ck_assert_int_le(r.cpu_request_m, r.cpu_limit_m); /* never a request above the limit */
	ck_assert_int_le(r.mem_request_mi, r.mem_limit_mi);
	json_decref(m);

	m = model_with(types, 3, "{\"resource_limits\": {\"max_cpu_per_component\": \"fast\"}}");
	ck_assert_int_eq(deploy_pod_resources(m, &r, &err), AC_EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "max_cpu_per_component"));
	json_decref(m);
}
END_TEST

START_TEST(state_means_statefulset_without_hpa)
{
	json_t *m = load_fixture("todo_api");
	char *dir, *kust = emit_and_read(m, "deployments/k8s/kustomization.yaml", &dir);
	char path[4096];

	ck_assert_ptr_nonnull(kust);
	ck_assert_ptr_nonnull(strstr(kust, "- statefulset.yaml"));
	ck_assert_ptr_null(strstr(kust, "hpa.yaml"));
	snprintf(path, sizeof(path), "%s/deployments/k8s/hpa.yaml", dir);
	ck_assert_int_ne(access(path, F_OK), 0);
	free(kust);
	cleanup_dir(dir);
	json_decref(m);

	m = load_fixture("event_pipeline");
	kust = emit_and_read(m, "deployments/k8s/kustomization.yaml", &dir);
	ck_assert_ptr_nonnull(strstr(kust, "- deployment.yaml"));
	ck_assert_ptr_nonnull(strstr(kust, "- hpa.yaml"));
	free(kust);
	cleanup_dir(dir);
	json_decref(m);
}
END_TEST

START_TEST(system_without_api_probes_metrics_port)
{
	json_t *m = load_fixture("event_pipeline");
	char *dir, *df = emit_and_read(m, "deployments/Dockerfile", &dir);
	char buf[64];

	snprintf(buf, sizeof(buf), "EXPOSE %d/tcp", DEPLOY_METRICS_PORT);
	ck_assert_ptr_nonnull(strstr(df, buf));
	ck_assert_ptr_nonnull(strstr(df, "\"-e\", \"METRICS_PORT\""));
	free(df);
	cleanup_dir(dir);
	json_decref(m);
}
END_TEST

START_TEST(regenerating_removes_manifests_of_the_old_shape)
{
	json_t *m = load_fixture("todo_api");
	char *dir, *kust = emit_and_read(m, "deployments/k8s/kustomization.yaml", &dir);
	json_t *comps = json_object_get(json_object_get(m, "system"), "components");
	struct ac_error err = { 0 };
	char path[4096];

	free(kust);
	/* The Store goes away and autoscaling applies: Deployment + HPA, no StatefulSet left. */
	json_array_remove(comps, 2);
	ck_assert_msg(deploy_emit(m, dir, &err) == 0, "%s", err.msg);
	snprintf(path, sizeof(path), "%s/deployments/k8s/statefulset.yaml", dir);
	ck_assert_int_ne(access(path, F_OK), 0);
	snprintf(path, sizeof(path), "%s/deployments/k8s/deployment.yaml", dir);
	ck_assert_int_eq(access(path, F_OK), 0);
	snprintf(path, sizeof(path), "%s/deployments/k8s/hpa.yaml", dir);
	ck_assert_int_eq(access(path, F_OK), 0);
	/* Autoscaling off again: the HPA file goes too. */
	json_object_set_new(json_object_get(json_object_get(json_object_get(m, "system"), "deployment"),
					    "scaling"), "auto_scaling", json_false());
	ck_assert_msg(deploy_emit(m, dir, &err) == 0, "%s", err.msg);
	ck_assert_int_ne(access(path, F_OK), 0);
	cleanup_dir(dir);
	json_decref(m);
}
END_TEST

static void expect_bad_model(const char *json, const char *needle)
{
	json_t *m = json_loads(json, 0, NULL);
	char *out = make_tmpdir();
	struct ac_error err = { 0 };

	ck_assert_ptr_nonnull(m);
	ck_assert_int_eq(deploy_emit(m, out, &err), AC_EINVAL);
	ck_assert_msg(strstr(err.msg, needle), "message '%s' lacks '%s'", err.msg, needle);
	rm_rf(out);
	free(out);
	json_decref(m);
}

START_TEST(malformed_models_are_named)
{
	expect_bad_model("{}", "system");
	expect_bad_model("{\"system\": {\"components\": []}}", "system.name");
	expect_bad_model("{\"system\": {\"name\": \"x y\", \"components\": []}}", "snake_case");
	expect_bad_model("{\"system\": {\"name\": \"x\", \"components\": {}}}", "system.components");
	expect_bad_model("{\"system\": {\"name\": \"x\", \"components\": [{\"name\": \"a\"}]}}",
			 "name or type");
	expect_bad_model("{\"system\": {\"name\": \"x\", \"components\": [{\"name\": \"a\", \"type\":"
			 " \"APIEndpoint\", \"network_ports\": [{\"port\": 70000}]}]}}", "70000");
	expect_bad_model("{\"system\": {\"name\": \"x\", \"components\": [{\"name\": \"a\", \"type\":"
			 " \"APIEndpoint\", \"network_ports\": [{\"port\": 80}]}, {\"name\": \"b\","
			 " \"type\": \"WebSocket\", \"network_ports\": [{\"port\": 80}]}]}}",
			 "both use port 80");
}
END_TEST

static Suite *deploy_suite(void)
{
	Suite *s = suite_create("deploy");
	TCase *tc = tcase_create("emit");

	tcase_add_test(tc, todo_api_matches_golden);
	tcase_add_test(tc, event_pipeline_matches_golden);
	tcase_add_test(tc, fraud_scoring_matches_golden);
	tcase_add_test(tc, same_model_gives_identical_files);
	tcase_add_test(tc, quantities_parse_like_kubernetes);
	tcase_add_test(tc, sizing_follows_the_table);
	tcase_add_test(tc, sizing_respects_policy_and_caps);
	tcase_add_test(tc, state_means_statefulset_without_hpa);
	tcase_add_test(tc, system_without_api_probes_metrics_port);
	tcase_add_test(tc, malformed_models_are_named);
	tcase_add_test(tc, regenerating_removes_manifests_of_the_old_shape);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return ac_check_run(deploy_suite());
}

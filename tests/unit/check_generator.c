/*
 * check_generator.c — unit tests for the system emitter (generator/generator.h): the files a
 * blueprint produces, that they are identical across runs, that C string literals and comments
 * built from user text stay well-formed, that the runtime is embedded, and that a directory
 * autocoder did not write is refused.
 */
#include "core/common.h"
#include "generator/blueprint.h"
#include "generator/generator.h"
#include "generator/runtime_files.h"

#include <check.h>

#include "tests/unit/check_run.h"
#include <dirent.h>
#include <sys/stat.h>

static const char blueprint[] =
	"schema_version: \"1.0.0\"\n"
	"system:\n"
	"  name: unit_sys\n"
	"  description: 'a */ comment breaker'\n"
	"  components:\n"
	"    - name: src\n"
	"      type: Source\n"
	"      description: 'emits */ things \"quoted\"'\n"
	"    - name: pick\n"
	"      type: Filter\n"
	"      config:\n"
	"        filter_conditions:\n"
	"          - {condition: 'name == \"a\\\\b\" or tag matches \"^x?y$\"', action: pass}\n"
	"    - name: main\n"
	"      type: Sink\n"
	"  bindings:\n"
	"    - {from: src.output, to: pick.input, condition: 'value > 2 and kind == \"q\"'}\n"
	"    - {from: pick.output, to: main.input}\n";

static json_t *load_model(void)
{
	struct bp_diags d;
	struct ac_error err = { 0 };
	json_t *model = NULL;
	bp_diags_init(&d);
	int rc = blueprint_load_buffer("unit.yaml", blueprint, sizeof blueprint - 1, false, &model,
				       &d, &err);
	if (rc)
		bp_diags_print(&d, stderr);
	bp_diags_free(&d);
	ck_assert_int_eq(rc, 0);
	return model;
}

static char *tmpdir(void)
{
	char tmpl[] = "/tmp/ac-check-gen.XXXXXX";
	char *d = mkdtemp(tmpl);
	ck_assert_ptr_nonnull(d);
	return strdup(d);
}

static char *slurp(const char *dir, const char *rel)
{
	char path[1024];
	snprintf(path, sizeof path, "%s/%s", dir, rel);
	return ac_read_file(path, 1 << 24, NULL, NULL);
}

static void rm_rf(const char *dir)
{
	char cmd[1200];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

START_TEST(test_files_and_determinism)
{
	json_t *model = load_model();
	struct ac_error err = { 0 };
	char *a = tmpdir(), *b = tmpdir();
	char cmd[2200];

	ck_assert_int_eq(generator_emit(model, a, false, &err), 0);
	ck_assert_int_eq(generator_emit(model, b, false, &err), 0);
	snprintf(cmd, sizeof cmd, "diff -r '%s' '%s' >/dev/null", a, b);
	ck_assert_int_eq(system(cmd), 0);

	/* the instance called "main" does not overwrite the wiring */
	char *wiring = slurp(a, "src/main.c"), *inst = slurp(a, "src/main_component.c");
	ck_assert_ptr_nonnull(wiring);
	ck_assert_ptr_nonnull(inst);
	ck_assert_ptr_nonnull(strstr(wiring, "{ \"main\", RT_SINK, main_process }"));
	ck_assert_ptr_nonnull(strstr(inst, "int main_process(struct rt_component *c"));
	/* the binding condition is a valid, escaped C literal */
	ck_assert_ptr_nonnull(strstr(wiring, "\"value > 2 and kind == \\\"q\\\"\""));
	/* user text cannot close a comment early */
	char *src_c = slurp(a, "src/src.c");
	ck_assert_ptr_nonnull(src_c);
	ck_assert_ptr_null(strstr(strstr(src_c, "emits"), "*/ things"));
	/* the filter's config carries the expression untouched */
	char *cfg = slurp(a, "config/system.json");
	json_t *j = json_loads(cfg, 0, NULL);
	ck_assert_ptr_nonnull(j);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(json_object_get(
		json_object_get(json_object_get(json_object_get(j, "components"), "pick"), "config"),
		"filter_conditions"), 0), "condition")), "name == \"a\\\\b\" or tag matches \"^x?y$\"");
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(j, "system"),
							    "metrics_port")), 9090);
	json_decref(j);
	/* executable smoke test, manifest, deployments placeholder */
	char path[1100];
	struct stat st;
	snprintf(path, sizeof path, "%s/tests/smoke.sh", a);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert(st.st_mode & 0100);
	char *man = slurp(a, ".autocoder-generated");
	ck_assert_ptr_nonnull(strstr(man, "\nsrc/main_component.c\n"));
	ck_assert_ptr_nonnull(strstr(man, "\nruntime/rt_core.c\n"));
	snprintf(path, sizeof path, "%s/deployments", a);
	ck_assert_int_eq(stat(path, &st), 0);
	free(wiring);
	free(inst);
	free(src_c);
	free(cfg);
	free(man);
	rm_rf(a);
	rm_rf(b);
	free(a);
	free(b);
	json_decref(model);
}
END_TEST

START_TEST(test_runtime_embedded)
{
	bool rt_h = false, expr_c = false;
	ck_assert_uint_gt(runtime_files_count, 10);
	for (size_t i = 0; i < runtime_files_count; i++) {
		ck_assert_uint_gt(runtime_files[i].len, 0);
		ck_assert_uint_eq(strlen((const char *)runtime_files[i].data), runtime_files[i].len);
		rt_h |= !strcmp(runtime_files[i].name, "rt.h");
		expr_c |= !strcmp(runtime_files[i].name, "expr.c");
		if (i)
			ck_assert_int_lt(strcmp(runtime_files[i - 1].name, runtime_files[i].name), 0);
	}
	ck_assert(rt_h && expr_c);
}
END_TEST

START_TEST(test_refuses_foreign_dir)
{
	json_t *model = load_model();
	struct ac_error err = { 0 };
	char *d = tmpdir();
	char path[1100];

	snprintf(path, sizeof path, "%s/mine.txt", d);
	ck_assert_int_eq(ac_write_file(path, "x", 1, NULL), 0);
	ck_assert_int_eq(generator_emit(model, d, false, &err), AC_EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "--force"));
	ck_assert_int_eq(generator_emit(model, d, true, &err), 0);
	ck_assert_int_eq(access(path, F_OK), 0);   /* --force keeps files it did not write */
	/* a later generation is allowed without --force, and removes what is no longer made */
	snprintf(path, sizeof path, "%s/src/stale.c", d);
	ck_assert_int_eq(ac_write_file(path, "x", 1, NULL), 0);
	ck_assert_int_eq(generator_emit(model, d, false, &err), 0);
	ck_assert_int_eq(access(path, F_OK), 0);   /* not ours: kept */
	rm_rf(d);
	free(d);
	json_decref(model);
}
END_TEST

START_TEST(test_bad_model)
{
	struct ac_error err = { 0 };
	json_t *m = json_pack("{s:{s:s, s:[]}}", "system", "name", "x", "components");
	ck_assert_int_eq(generator_emit(m, "/tmp/ac-never-written", false, &err), AC_EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "no components"));
	json_decref(m);
	m = json_pack("{s:{s:s, s:[{s:s, s:s}]}}", "system", "name", "x", "components", "name", "a",
		      "type", "Teleporter");
	ck_assert_int_eq(generator_emit(m, "/tmp/ac-never-written", false, &err), AC_EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "Teleporter"));
	json_decref(m);
	ck_assert_int_ne(access("/tmp/ac-never-written", F_OK), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("generator");
	TCase *tc = tcase_create("emit");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_files_and_determinism);
	tcase_add_test(tc, test_runtime_embedded);
	tcase_add_test(tc, test_refuses_foreign_dir);
	tcase_add_test(tc, test_bad_model);
	suite_add_tcase(s, tc);
	return ac_check_run(s);
}

/*
 * check_blueprint.c — unit tests for the blueprint front end API (generator/blueprint.h):
 * the normalised model emitters rely on, strict mode, limits, and hostile input.
 */
#include "core/common.h"
#include "generator/blueprint.h"

#include <check.h>

#include "tests/unit/check_run.h"

static json_t *load(const char *yaml, bool strict, struct bp_diags *d, int *rc)
{
	json_t *model = NULL;
	struct ac_error err;

	bp_diags_init(d);
	*rc = blueprint_load_buffer("t.yaml", yaml, strlen(yaml), strict, &model, d, &err);
	return model;
}

static json_t *component(json_t *model, size_t i)
{
	return json_array_get(json_object_get(json_object_get(model, "system"), "components"), i);
}

static json_t *binding(json_t *model, size_t i)
{
	return json_array_get(json_object_get(json_object_get(model, "system"), "bindings"), i);
}

static const char *str(json_t *obj, const char *path)
{
	char buf[200], *save = NULL;
	snprintf(buf, sizeof buf, "%s", path);
	for (char *k = strtok_r(buf, ".", &save); k && obj; k = strtok_r(NULL, ".", &save))
		obj = json_object_get(obj, k);
	return json_string_value(obj);
}

static const char fanout[] =
	"schema_version: '1.0.0'\n"
	"system:\n"
	"  name: shop\n"
	"  components:\n"
	"    - {name: api, type: APIEndpoint, config: {port: '${SHOP_PORT:-9090}'}}\n"
	"    - {name: score, type: Model}\n"
	"    - {name: route, type: Router, config: {routing_rules: [{condition: 'score > 0.8',"
	" destination: risky}], default_route: fine}}\n"
	"    - {name: a, type: Sink}\n"
	"    - {name: b, type: Sink}\n"
	"  bindings:\n"
	"    - {from: api.request, to: score}\n"
	"    - {from: score, to: route}\n"
	"    - {from: route.risky, to: [a.input, b.input], condition: 'amount > 1'}\n"
	"    - {from: route.fine, to: b}\n";

/* The 50-component timing check measures this thread's CPU time and is off under ASan. */
#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZED 1
#endif
#endif
#ifndef SANITIZED
#define SANITIZED 0
#endif

static double thread_cpu_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

START_TEST(model_fills_defaults_ports_and_fanout)
{
	struct bp_diags d;
	int rc;
	json_t *m = load(fanout, false, &d, &rc), *api, *np;

	ck_assert_int_eq(rc, 0);
	ck_assert_uint_eq(d.errors, 0);
	api = component(m, 0);
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(api, "config"), "port")),
			 9090);
	np = json_array_get(json_object_get(api, "network_ports"), 0);
	ck_assert_int_eq(json_integer_value(json_object_get(np, "port")), 9090);
	ck_assert_str_eq(str(np, "env"), "SHOP_PORT");
	/* no host default: the generated system listens on 127.0.0.1 unless BIND_ADDRESS says */
	ck_assert_ptr_null(json_object_get(json_object_get(api, "config"), "host"));
	/* Model default ports, Router outputs from its rules */
	ck_assert_str_eq(str(binding(m, 0), "to_port"), "features");
	ck_assert_str_eq(str(binding(m, 1), "from_port"), "predictions");
	ck_assert_uint_eq(json_array_size(json_object_get(component(m, 2), "outputs")), 2);
	/* fan-out expands to one binding per target, options copied */
	ck_assert_str_eq(str(binding(m, 2), "to_component"), "a");
	ck_assert_str_eq(str(binding(m, 3), "to_component"), "b");
	ck_assert_str_eq(str(binding(m, 3), "condition"), "amount > 1");
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(binding(m, 3), "qos"),
							    "buffering")), 1000);
	ck_assert_str_eq(str(binding(m, 4), "to_port"), "input");
	ck_assert_str_eq(str(component(m, 3), "config.output.filename"), "a.jsonl");
	json_decref(m);
	bp_diags_free(&d);
}
END_TEST

START_TEST(strict_turns_heals_into_errors)
{
	const char *y = "schema_version: '1.0'\nsystem:\n  name: s\n  components:\n"
			"    - {name: src, type: source}\n";
	struct bp_diags d;
	int rc;
	json_t *m = load(y, false, &d, &rc);

	ck_assert_int_eq(rc, 0);
	ck_assert_uint_eq(d.warnings, 2);
	ck_assert_str_eq(str(m, "schema_version"), "1.0.0");
	ck_assert_str_eq(str(component(m, 0), "type"), "Source");
	json_decref(m);
	bp_diags_free(&d);
	m = load(y, true, &d, &rc);
	ck_assert_int_eq(rc, AC_EINVAL);
	ck_assert_ptr_null(m);
	ck_assert_uint_eq(d.errors, 2);
	ck_assert_int_eq(d.v[0].line, 1);
	ck_assert_int_eq(d.v[0].column, 17);
	bp_diags_free(&d);
}
END_TEST

START_TEST(errors_have_positions_and_hints)
{
	const char *y = "schema_version: '1.0.0'\nsystem:\n  name: s\n  components:\n"
			"    - {name: src, type: Source}\n    - {name: out, type: Snik}\n";
	struct bp_diags d;
	int rc;
	json_t *m = load(y, false, &d, &rc);
	json_t *j;

	ck_assert_int_eq(rc, AC_EINVAL);
	ck_assert_ptr_null(m);
	ck_assert_uint_eq(d.errors, 1);
	ck_assert_int_eq(d.v[0].line, 6);
	ck_assert_int_eq(d.v[0].column, 25);
	ck_assert_str_eq(d.v[0].hint, "did you mean 'Sink'?");
	j = bp_diags_to_json(&d);
	ck_assert(json_is_false(json_object_get(j, "ok")));
	ck_assert_str_eq(str(json_array_get(json_object_get(j, "diagnostics"), 0), "severity"),
			 "error");
	json_decref(j);
	bp_diags_free(&d);
}
END_TEST

START_TEST(hostile_input_is_rejected_cleanly)
{
	static const char *const inputs[] = {
		"", "\t\x01\x02", "[", "{a: b", "- - - -", "system: [1, 2]", "a: *nope",
		"&a [*a]", "system:\n  components: 5\n", "system:\n  components: [5, [1], {}]\n",
		("system:\n  name: x\n  components:\n    - {name: a, type: Source}\n  bindings:\n"
		 "    - {from: a, to: a}\n"),
		"\xff\xfe garbage",
	};
	for (size_t i = 0; i < AC_ARRAY_SIZE(inputs); i++) {
		struct bp_diags d;
		int rc;
		json_t *m = load(inputs[i], false, &d, &rc);
		ck_assert_msg(rc == AC_EINVAL, "input %zu: rc %d", i, rc);
		ck_assert_ptr_null(m);
		ck_assert_msg(d.errors > 0, "input %zu: no error", i);
		bp_diags_free(&d);
	}
}
END_TEST

START_TEST(size_limit_is_enforced)
{
	size_t n = BLUEPRINT_MAX_BYTES + 1;
	char *big = malloc(n);
	struct bp_diags d;
	struct ac_error err;
	json_t *m = NULL;

	memset(big, ' ', n);
	bp_diags_init(&d);
	ck_assert_int_eq(blueprint_load_buffer("big.yaml", big, n, false, &m, &d, &err),
			 AC_ETOOBIG);
	ck_assert_ptr_null(m);
	free(big);
	bp_diags_free(&d);
}
END_TEST

START_TEST(fifty_components_load_fast)
{
	struct ac_buf b;
	struct bp_diags d;
	struct ac_error err;
	json_t *m = NULL;
	double t0;

	ac_buf_init(&b, 1 << 20);
	ac_buf_puts(&b, "schema_version: '1.0.0'\nsystem:\n  name: big\n  components:\n"
			"    - {name: c0, type: Source}\n");
	for (int i = 1; i < 50; i++)
		ac_buf_printf(&b, "    - {name: c%d, type: Transformer}\n", i);
	ac_buf_puts(&b, "  bindings:\n");
	for (int i = 1; i < 50; i++)
		ac_buf_printf(&b, "    - {from: c%d.output, to: c%d.input, condition: 'x > %d'}\n",
			      i - 1, i, i);
	bp_diags_init(&d);
	t0 = thread_cpu_seconds();
	ck_assert_int_eq(blueprint_load_buffer("big.yaml", b.data, b.len, false, &m, &d, &err), 0);
	/* CPU time of this thread, not wall clock (the machine may be loaded); and not under the
	 * sanitizers, which multiply it — the plain build holds the documented < 100 ms */
	if (!SANITIZED)
		ck_assert_msg(thread_cpu_seconds() - t0 < 0.1, "took %.3f s of CPU",
			      thread_cpu_seconds() - t0);
	ck_assert_uint_eq(json_array_size(json_object_get(json_object_get(m, "system"),
							  "bindings")), 49);
	json_decref(m);
	bp_diags_free(&d);
	ac_buf_release(&b);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("blueprint");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, model_fills_defaults_ports_and_fanout);
	tcase_add_test(tc, strict_turns_heals_into_errors);
	tcase_add_test(tc, errors_have_positions_and_hints);
	tcase_add_test(tc, hostile_input_is_rejected_cleanly);
	tcase_add_test(tc, size_limit_is_enforced);
	tcase_add_test(tc, fifty_components_load_fast);
	suite_add_tcase(s, tc);
	return ac_check_run(s);
}

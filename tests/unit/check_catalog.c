/*
 * check_catalog.c — unit tests for the component catalog (generator/catalog.h): every spelling
 * users write reaches the right type, suggestions for typos, defaults with the component name.
 */
#include "core/common.h"
#include "generator/catalog.h"

#include <check.h>

#include "tests/unit/check_run.h"

START_TEST(has_thirteen_well_formed_types)
{
	ck_assert_uint_eq(catalog_count(), 13);
	for (size_t i = 0; i < catalog_count(); i++) {
		const struct cat_type *t = catalog_at(i);
		ck_assert_int_eq((int)t->id, (int)i);
		ck_assert_ptr_eq(catalog_get(t->id), t);
		ck_assert_ptr_nonnull(t->cpu_request);
		for (const struct cat_key *k = t->keys; k->name; k++) {
			json_t *d = catalog_default(k, "x");
			if (k->def)
				ck_assert_ptr_nonnull(d);
			json_decref(d);
		}
	}
	ck_assert_ptr_null(catalog_at(13));
}
END_TEST

START_TEST(finds_every_spelling)
{
	bool exact = true;
	ck_assert_str_eq(catalog_find("APIEndpoint", &exact)->name, "APIEndpoint");
	ck_assert(exact);
	ck_assert_str_eq(catalog_find("api_endpoint", &exact)->name, "APIEndpoint");
	ck_assert(!exact);
	ck_assert_str_eq(catalog_find("apiendpoint", NULL)->name, "APIEndpoint");
	ck_assert_str_eq(catalog_find("API_ENDPOINT", NULL)->name, "APIEndpoint");
	ck_assert_str_eq(catalog_find("stream-processor", NULL)->name, "StreamProcessor");
	ck_assert_str_eq(catalog_find("websocket", NULL)->name, "WebSocket");
	ck_assert_str_eq(catalog_find("sink", NULL)->name, "Sink");
	ck_assert_ptr_null(catalog_find("Databse", NULL));
	ck_assert_ptr_null(catalog_find("", NULL));
}
END_TEST

START_TEST(suggests_close_names_only)
{
	ck_assert_str_eq(catalog_suggest("Tranformer"), "Transformer");
	ck_assert_str_eq(catalog_suggest("Stor"), "Store");
	ck_assert_str_eq(catalog_suggest("APIEndpiont"), "APIEndpoint");
	ck_assert_ptr_null(catalog_suggest("Blockchain"));
	ck_assert_uint_eq(catalog_distance("kitten", "sitting"), 3);
}
END_TEST

START_TEST(defaults_carry_the_component_name)
{
	const struct cat_type *store = catalog_get(CAT_STORE);
	json_t *url = catalog_default(catalog_key(store->keys, "database_url"), "todo_store");
	ck_assert_str_eq(json_string_value(url), "sqlite:///data/todo_store.db");
	json_decref(url);
	const struct cat_type *sink = catalog_get(CAT_SINK);
	json_t *out = catalog_default(catalog_key(sink->keys, "output"), "events");
	ck_assert_str_eq(json_string_value(json_object_get(out, "type")), "file");
	json_decref(out);
	json_t *fn = catalog_default(catalog_key(catalog_key(sink->keys, "output")->fields,
						 "filename"), "events");
	ck_assert_str_eq(json_string_value(fn), "events.jsonl");
	json_decref(fn);
	ck_assert(catalog_key(catalog_get(CAT_API_ENDPOINT)->keys, "port")->required);
	ck_assert(catalog_get(CAT_STORE)->breaks_cycles && catalog_get(CAT_STORE)->data_sink);
	ck_assert_ptr_null(catalog_key(store->keys, "nope"));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("catalog");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, has_thirteen_well_formed_types);
	tcase_add_test(tc, finds_every_spelling);
	tcase_add_test(tc, suggests_close_names_only);
	tcase_add_test(tc, defaults_carry_the_component_name);
	suite_add_tcase(s, tc);
	return ac_check_run(s);
}

/*
 * check_stacktrace.c — unit tests for collector/stacktrace.c: stack trace text from Python,
 * Java (with "Caused by:"), JavaScript (V8 and SpiderMonkey), Go panics and .NET becomes
 * frames, outermost first, with function, module, file, line, column and in_app; the
 * exception type is read from the text; text without frames gives NULL. And the point of
 * it: an OTLP record with such a stack fingerprints on its in-app frames, so two records
 * with the same stack but different messages group together.
 */
#include "core/common.h"
#include "collector/internal.h"
#include "analyzer/fingerprint.h"

#include <check.h>

#include "tests/unit/check_run.h"

static const char *fs(const json_t *frames, size_t i, const char *k)
{
	return json_string_value(json_object_get(json_array_get(frames, i), k));
}

static long fi(const json_t *frames, size_t i, const char *k)
{
	return (long)json_integer_value(json_object_get(json_array_get(frames, i), k));
}

static bool fb(const json_t *frames, size_t i)
{
	return json_is_true(json_object_get(json_array_get(frames, i), "in_app"));
}

START_TEST(python_traceback_chained)
{
	const char *t =
		"Traceback (most recent call last):\n"
		"  File \"/app/shop/db.py\", line 10, in load\n"
		"    raise KeyError(k)\n"
		"KeyError: 'x'\n"
		"\n"
		"During handling of the above exception, another exception occurred:\n"
		"\n"
		"Traceback (most recent call last):\n"
		"  File \"/app/shop/app.py\", line 42, in checkout\n"
		"    total = price(cart)\n"
		"  File \"/usr/lib/python3/dist-packages/requests/api.py\", line 7, in get\n"
		"    return 1 / 0\n"
		"ZeroDivisionError: division by zero\n";
	char type[64];
	json_t *f = stacktrace_parse(t, type, sizeof type);
	ck_assert_ptr_nonnull(f);
	ck_assert_str_eq(type, "ZeroDivisionError");
	ck_assert_uint_eq(json_array_size(f), 2);
	ck_assert_str_eq(fs(f, 0, "function"), "checkout");
	ck_assert_str_eq(fs(f, 0, "file"), "/app/shop/app.py");
	ck_assert_int_eq(fi(f, 0, "line"), 42);
	ck_assert(fb(f, 0));
	ck_assert_str_eq(fs(f, 1, "function"), "get");
	ck_assert(!fb(f, 1));
	json_decref(f);
}
END_TEST

START_TEST(java_with_caused_by)
{
	const char *t =
		"java.lang.IllegalStateException: order ORD-1 failed\n"
		"\tat com.acme.shop.Checkout.pay(Checkout.java:88)\n"
		"\tat com.acme.shop.Checkout$Inner.<init>(Checkout.java:20)\n"
		"\tat java.base/java.lang.Thread.run(Thread.java:829)\n"
		"\tat jdk.internal.reflect.NativeMethodAccessorImpl.invoke0(Native Method)\n"
		"Caused by: java.io.IOException: disk full\n"
		"\tat com.acme.shop.Disk.write(Disk.java:7)\n"
		"\t... 2 more\n";
	char type[64];
	json_t *f = stacktrace_parse(t, type, sizeof type);
	ck_assert_ptr_nonnull(f);
	ck_assert_str_eq(type, "java.lang.IllegalStateException");
	ck_assert_uint_eq(json_array_size(f), 4);
	/* outermost first: invoke0 ... pay */
	ck_assert_str_eq(fs(f, 0, "function"), "invoke0");
	ck_assert_ptr_null(fs(f, 0, "file"));
	ck_assert(!fb(f, 0));
	ck_assert_str_eq(fs(f, 1, "module"), "java.lang.Thread");
	ck_assert(!fb(f, 1));
	ck_assert_str_eq(fs(f, 2, "function"), "<init>");
	ck_assert_str_eq(fs(f, 2, "module"), "com.acme.shop.Checkout$Inner");
	ck_assert_str_eq(fs(f, 3, "function"), "pay");
	ck_assert_str_eq(fs(f, 3, "module"), "com.acme.shop.Checkout");
	ck_assert_str_eq(fs(f, 3, "file"), "Checkout.java");
	ck_assert_int_eq(fi(f, 3, "line"), 88);
	ck_assert(fb(f, 3));
	json_decref(f);
}
END_TEST

START_TEST(javascript_v8_and_spidermonkey)
{
	const char *t =
		"RangeError: amount must not be negative: -5\n"
		"    at chargeCard (file:///app/billing.mjs:52:11)\n"
		"    at async Worker.run (/app/worker.js:9:3)\n"
		"    at file:///app/billing.mjs:57:3\n"
		"    at ModuleJob.run (node:internal/modules/esm/module_job:234:25)\n"
		"    at /app/node_modules/express/lib/router.js:12:5\n";
	char type[64];
	json_t *f = stacktrace_parse(t, type, sizeof type);
	ck_assert_ptr_nonnull(f);
	ck_assert_str_eq(type, "RangeError");
	ck_assert_uint_eq(json_array_size(f), 5);
	ck_assert(!fb(f, 0));   /* node_modules */
	ck_assert(!fb(f, 1));   /* node:internal */
	ck_assert_str_eq(fs(f, 2, "file"), "file:///app/billing.mjs");
	ck_assert_int_eq(fi(f, 2, "line"), 57);
	ck_assert_str_eq(fs(f, 3, "function"), "Worker.run");
	ck_assert_str_eq(fs(f, 4, "function"), "chargeCard");
	ck_assert_int_eq(fi(f, 4, "line"), 52);
	ck_assert_int_eq(fi(f, 4, "column"), 11);
	ck_assert(fb(f, 4));
	json_decref(f);

	f = stacktrace_parse("TypeError: x is undefined\nrender@https://shop.example/app.js:10:4\n"
			     "@https://shop.example/app.js:99:1\n", type, sizeof type);
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(json_array_size(f), 2);
	ck_assert_str_eq(fs(f, 1, "function"), "render");
	ck_assert_str_eq(fs(f, 1, "file"), "https://shop.example/app.js");
	json_decref(f);
}
END_TEST

START_TEST(go_panic_first_goroutine_only)
{
	const char *t =
		"panic: runtime error: index out of range [5] with length 3\n"
		"\n"
		"goroutine 1 [running]:\n"
		"main.(*Cart).lookup(0xc000010000, 0x5)\n"
		"\t/app/cart.go:12 +0x1d\n"
		"main.main()\n"
		"\t/app/main.go:20 +0x3a\n"
		"runtime.goexit()\n"
		"\t/usr/local/go/src/runtime/asm_amd64.s:1650 +0x1\n"
		"\n"
		"goroutine 7 [chan receive]:\n"
		"main.worker()\n"
		"\t/app/worker.go:5 +0x1\n"
		"exit status 2\n";
	char type[64];
	json_t *f = stacktrace_parse(t, type, sizeof type);
	ck_assert_ptr_nonnull(f);
	ck_assert_str_eq(type, "panic");
	ck_assert_uint_eq(json_array_size(f), 3);
	ck_assert_str_eq(fs(f, 0, "function"), "runtime.goexit");
	ck_assert(!fb(f, 0));
	ck_assert_str_eq(fs(f, 1, "function"), "main.main");
	ck_assert_str_eq(fs(f, 2, "function"), "main.(*Cart).lookup");
	ck_assert_str_eq(fs(f, 2, "file"), "/app/cart.go");
	ck_assert_int_eq(fi(f, 2, "line"), 12);
	ck_assert(fb(f, 2));
	json_decref(f);
}
END_TEST

START_TEST(dotnet_with_inner_exception)
{
	const char *t =
		"System.InvalidOperationException: checkout failed\n"
		" ---> System.IO.IOException: disk\n"
		"   at Acme.Shop.Disk.Write(Byte[] data) in /src/Disk.cs:line 7\n"
		"   --- End of inner exception stack trace ---\n"
		"   at Acme.Shop.Cart.Checkout(Int32 id) in /src/Cart.cs:line 42\n"
		"   at System.Linq.Enumerable.First[TSource](IEnumerable`1 source)\n"
		"   at Acme.Shop.Program.Main(String[] args) in C:\\src\\Program.cs:line 10\n";
	char type[64];
	json_t *f = stacktrace_parse(t, type, sizeof type);
	ck_assert_ptr_nonnull(f);
	ck_assert_str_eq(type, "System.InvalidOperationException");
	ck_assert_uint_eq(json_array_size(f), 3);
	ck_assert_str_eq(fs(f, 0, "function"), "Main");
	ck_assert_str_eq(fs(f, 0, "file"), "C:\\src\\Program.cs");
	ck_assert_str_eq(fs(f, 1, "function"), "First[TSource]");
	ck_assert_str_eq(fs(f, 1, "module"), "System.Linq.Enumerable");
	ck_assert(!fb(f, 1));
	ck_assert_str_eq(fs(f, 2, "function"), "Checkout");
	ck_assert_str_eq(fs(f, 2, "module"), "Acme.Shop.Cart");
	ck_assert_int_eq(fi(f, 2, "line"), 42);
	ck_assert(fb(f, 2));
	json_decref(f);
}
END_TEST

START_TEST(text_without_frames)
{
	char type[64];
	ck_assert_ptr_null(stacktrace_parse("", type, sizeof type));
	ck_assert_ptr_null(stacktrace_parse("something went wrong\nat the end of the day", type, sizeof type));
	ck_assert_ptr_null(stacktrace_parse("ValueError: bad", type, sizeof type));
	ck_assert_str_eq(type, "ValueError");
}
END_TEST

static void otlp_fp(const char *msg, const char *stack, struct fingerprint *fp)
{
	static const struct ingest_limits lim = { 1 << 20, 4 << 20 };
	json_t *req = json_pack("{s:[{s:{s:[]},s:[{s:{s:s},s:[{s:i,s:{s:s},s:[{s:s,s:{s:s}},{s:s,s:{s:s}}]}]}]}]}",
				"resourceLogs", "resource", "attributes", "scopeLogs", "scope", "name", "app",
				"logRecords", "severityNumber", 17, "body", "stringValue", msg,
				"attributes", "key", "exception.message", "value", "stringValue", msg,
				"key", "exception.stacktrace", "value", "stringValue", stack);
	char *body = json_dumps(req, 0);
	struct ac_error err;
	struct otlp_result res;
	json_t *out = json_array();
	ck_assert_int_eq(otlp_parse_logs(body, strlen(body), NULL, &lim, out, &res, &err), 0);
	json_t *ev = json_array_get(out, 0);
	ck_assert_str_eq(json_string_value(json_object_get(ev, "kind")), "error");
	ck_assert_int_eq(fingerprint_event(ev, NULL, fp, &err), 0);
	json_decref(out);
	json_decref(req);
	free(body);
}

START_TEST(otlp_stack_fingerprints_on_frames)
{
	/* same crash site and message shape (other line numbers and ids): one group; another
	 * crash site: another group (the message words are part of the key, issue 12) */
	const char *s1 = "Traceback (most recent call last):\n  File \"/app/a.py\", line 3, in f\n"
			 "  File \"/app/b.py\", line 9, in g\nValueError: user 17 missing\n";
	const char *s2 = "Traceback (most recent call last):\n  File \"/app/a.py\", line 4, in f\n"
			 "  File \"/app/b.py\", line 12, in g\nValueError: user 42 missing\n";
	const char *s3 = "Traceback (most recent call last):\n  File \"/app/c.py\", line 1, in h\n"
			 "ValueError: user 17 missing\n";
	struct fingerprint a, b, c;
	otlp_fp("user 17 missing", s1, &a);
	otlp_fp("user 42 missing", s2, &b);
	otlp_fp("user 17 missing", s3, &c);
	ck_assert_int_eq(a.basis, FP_INAPP_FRAMES);
	ck_assert_str_eq(a.hash, b.hash);
	ck_assert_str_ne(a.hash, c.hash);
	fingerprint_release(&a);
	fingerprint_release(&b);
	fingerprint_release(&c);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("stacktrace");
	TCase *tc = tcase_create("text");

	tcase_add_test(tc, python_traceback_chained);
	tcase_add_test(tc, java_with_caused_by);
	tcase_add_test(tc, javascript_v8_and_spidermonkey);
	tcase_add_test(tc, go_panic_first_goroutine_only);
	tcase_add_test(tc, dotnet_with_inner_exception);
	tcase_add_test(tc, text_without_frames);
	tcase_add_test(tc, otlp_stack_fingerprints_on_frames);
	suite_add_tcase(s, tc);
	return ac_check_run(s);
}

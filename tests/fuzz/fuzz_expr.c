/*
 * fuzz_expr.c — libFuzzer target for the expression language: the first line of the input is
 * compiled as an expression, the rest (if it is JSON) is the message it is evaluated against.
 */
#include "core/common.h"
#include "generator/runtime/expr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *src = strndup((const char *)data, size);
	char *nl, errbuf[200];
	struct expr *e = NULL;
	json_t *msg = NULL;
	int col;

	if (!src)
		return 0;
	nl = strchr(src, '\n');
	if (nl) {
		*nl = '\0';
		msg = json_loads(nl + 1, JSON_DECODE_ANY, NULL);
	}
	if (expr_compile(src, &e, errbuf, sizeof errbuf, &col) == 0) {
		expr_eval(e, msg);
		expr_free(e);
	} else if (col < 1 || (size_t)col > strlen(src) + 1) {
		AC_BUG("error column %d outside the expression '%s'", col, src);
	}
	json_decref(msg);
	free(src);
	return 0;
}

/*
 * validate.c — `autocoder validate BLUEPRINT [--strict] [--json]`: run the blueprint front end
 * alone and print its diagnostics (compiler style on stderr, or JSON on stdout).
 * Exit 0 when valid (warnings allowed), 1 when invalid or unreadable, 2 on usage errors.
 * Hidden helpers for tests and docs: --print-normalized (the model as JSON on stdout) and
 * --catalog-markdown (the component table of docs/BLUEPRINT.md).
 */
#include "core/common.h"
#include "cmd/cmds.h"
#include "generator/blueprint.h"

static const char usage[] =
	"usage: autocoder validate BLUEPRINT [--strict] [--json]\n"
	"  --strict   treat every heal (a warning) as an error\n"
	"  --json     print {\"ok\", \"diagnostics\": [...]} on stdout instead of text on stderr\n";

int cmd_validate(int argc, char **argv)
{
	const char *path = NULL;
	bool strict = false, as_json = false, print_model = false;
	struct bp_diags diags;
	struct ac_error err = { 0 };
	json_t *model = NULL;
	int rc;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--strict"))
			strict = true;
		else if (!strcmp(argv[i], "--json"))
			as_json = true;
		else if (!strcmp(argv[i], "--print-normalized"))
			print_model = true;
		else if (!strcmp(argv[i], "--catalog-markdown")) {
			blueprint_catalog_markdown(stdout);
			return 0;
		} else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			printf("%s", usage);
			return 0;
		} else if (argv[i][0] == '-' && argv[i][1])
			return usage_error(usage, "unknown option '%s'", argv[i]);
		else if (path)
			return usage_error(usage, "only one blueprint, got '%s' and '%s'", path, argv[i]);
		else
			path = argv[i];
	}
	if (!path)
		return usage_error(usage, "missing BLUEPRINT");
	bp_diags_init(&diags);
	rc = blueprint_load(path, strict, &model, &diags, &err);
	if (rc && rc != AC_EINVAL) {
		if (as_json) {
			bp_diag_add(&diags, BP_ERROR, path, 0, 0, NULL, "%s", err.msg);
		} else {
			fprintf(stderr, "autocoder: %s\n", err.msg);
			bp_diags_free(&diags);
			return 1;
		}
	}
	if (as_json) {
		json_t *j = bp_diags_to_json(&diags);
		json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		fputc('\n', stdout);
		json_decref(j);
	} else {
		bp_diags_print(&diags, stderr);
	}
	if (print_model && model) {
		json_dumpf(model, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15));
		fputc('\n', stdout);
	}
	if (!rc && !as_json && !print_model)
		printf("ok\n");
	json_decref(model);
	bp_diags_free(&diags);
	return rc ? 1 : 0;
}

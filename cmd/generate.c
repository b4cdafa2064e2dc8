/*
 * generate.c — `autocoder generate BLUEPRINT -o DIR [--force] [--strict]`: run the blueprint
 * front end, print its diagnostics, and when the blueprint is valid write the C system into
 * DIR (generator/generator.h). Exit 0 when written, 1 when the blueprint is invalid or the
 * output cannot be written, 2 on usage errors.
 */
#include "core/common.h"
#include "cmd/cmds.h"
#include "generator/blueprint.h"
#include "generator/generator.h"

static const char usage[] =
	"usage: autocoder generate BLUEPRINT -o DIR [--force] [--strict] [--json] [--profile FILE]\n"
	"  -o, --output DIR  where to write the system (created if missing)\n"
	"  --force           write into a non-empty directory autocoder did not generate\n"
	"  --strict          treat every heal (a warning) as an error\n"
	"  --json            print the result as JSON ({\"generated\": DIR, \"build\": ...})\n"
	"  --profile FILE    size the deployments from a measured resource profile\n"
	"                    (`autocoder bench --size FILE`) instead of the sizing table\n";

int cmd_generate(int argc, char **argv)
{
	const char *path = NULL, *outdir = NULL, *profile = NULL;
	bool strict = false, force = false, quiet = false, json = false;
	struct bp_diags diags;
	struct ac_error err = { 0 };
	json_t *model = NULL;
	int rc;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--strict"))
			strict = true;
		else if (!strcmp(argv[i], "--force"))
			force = true;
		else if (!strcmp(argv[i], "--json"))
			json = true;
		else if (!strcmp(argv[i], "--quiet") || !strcmp(argv[i], "-q"))
			quiet = true;
		else if (!strcmp(argv[i], "-o") || !strcmp(argv[i], "--output")) {
			if (i + 1 >= argc)
				return usage_error(usage, "%s needs a directory", argv[i]);
			outdir = argv[++i];
		} else if (!strcmp(argv[i], "--profile")) {
			if (i + 1 >= argc)
				return usage_error(usage, "--profile needs a file");
			profile = argv[++i];
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
	if (!outdir || !*outdir)
		return usage_error(usage, "missing -o DIR");
	bp_diags_init(&diags);
	rc = blueprint_load(path, strict, &model, &diags, &err);
	bp_diags_print(&diags, stderr);
	bp_diags_free(&diags);
	if (rc) {
		if (rc != AC_EINVAL)
			fprintf(stderr, "autocoder: %s\n", err.msg);
		else
			fprintf(stderr, "autocoder: %s is invalid; nothing generated\n", path);
		return 1;
	}
	if (profile) {
		json_error_t je;
		json_t *prof = json_load_file(profile, 0, &je);
		const char *kind = json_string_value(json_object_get(prof, "kind"));
		if (!prof || !kind || strcmp(kind, "autocoder-resource-profile")) {
			if (prof)
				fprintf(stderr, "autocoder: %s: not a resource profile (kind is not "
					"autocoder-resource-profile)\n", profile);
			else
				fprintf(stderr, "autocoder: %s:%d:%d: %s\n", profile, je.line, je.column, je.text);
			json_decref(prof);
			json_decref(model);
			return 1;
		}
		json_object_set_new(model, "bench_profile", prof);
	}
	rc = generator_emit(model, outdir, force, &err);
	json_decref(model);
	if (rc) {
		fprintf(stderr, "autocoder: %s\n", err.msg);
		return 1;
	}
	if (json) {
		json_t *o = json_pack("{s:s,s:s+}", "generated", outdir, "build", "make -C ", outdir);
		json_dumpf(o, stdout, JSON_COMPACT);
		putchar('\n');
		json_decref(o);
	} else if (!quiet) {
		printf("generated %s (build: make -C %s)\n", outdir, outdir);
	}
	return 0;
}

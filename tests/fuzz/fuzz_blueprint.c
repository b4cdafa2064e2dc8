/*
 * fuzz_blueprint.c — libFuzzer target for the blueprint front end: any bytes go through
 * blueprint_load_buffer() (YAML parsing, normalisation, validation) in normal and strict mode.
 * It must never crash, hang or leak, whatever the input.
 */
#include "core/common.h"
#include "generator/blueprint.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	for (int strict = 0; strict < 2; strict++) {
		struct bp_diags diags;
		struct ac_error err;
		json_t *model = NULL;
		char *text;

		bp_diags_init(&diags);
		if (blueprint_load_buffer("fuzz.yaml", (const char *)data, size, strict, &model, &diags,
					  &err) == 0 && model) {
			/* what the emitters do with it: serialise the model */
			text = json_dumps(model, JSON_COMPACT);
			free(text);
		}
		json_decref(model);
		json_decref(bp_diags_to_json(&diags));
		bp_diags_free(&diags);
	}
	return 0;
}

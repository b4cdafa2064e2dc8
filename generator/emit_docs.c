/*
 * emit_docs.c — the non-C files of a generated system: README.md, Makefile, tests/smoke.sh and
 * blueprint.yaml (the normalised model, written with libyaml's emitter so quoting is right;
 * strings that would read back as numbers, booleans or null are double-quoted).
 */
#include "core/common.h"
#include "generator/gen_int.h"

#include <yaml.h>

/* ---------------------------------------------------------------- Makefile */

static int emit_makefile(const struct gen_model *gm, struct ac_buf *b)
{
	return ac_buf_printf(b,
		"# Makefile — build the generated system \"%s\" (autocoder).\n"
		"#\n"
		"#   make          build ./%s\n"
		"#   make run      build and run it (Ctrl-C or SIGTERM drains and stops)\n"
		"#   make test     tests/smoke.sh: start on a free port, check /health and /metrics\n"
		"#\n"
		"# Needs: cc, pkg-config, libmicrohttpd, jansson, sqlite3, libpcre2-8 (-dev packages).\n"
		"# -rdynamic keeps function names in crash backtraces.\n\n"
		"CC      ?= cc\n"
		"CFLAGS  ?= -O2 -g\n"
		"PKGS    := libmicrohttpd jansson sqlite3 libpcre2-8\n"
		"ALL_CFLAGS := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -fno-omit-frame-pointer \\\n"
		"              -I. $(shell pkg-config --cflags $(PKGS) 2>/dev/null) $(CFLAGS) -MMD -MP\n"
		"LDFLAGS ?=\n"
		"LDLIBS  := -ljansson -lsqlite3 -lmicrohttpd -lpcre2-8 -lpthread -ldl -lm\n"
		"SRC     := $(sort $(wildcard src/*.c runtime/*.c))\n"
		"OBJDIR  := %s\n"
		"OBJ     := $(SRC:%%.c=$(OBJDIR)/%%.o)\n"
		"BIN     := %s\n"
		"# the binary's rule names it by its full path, so a system called test, run,\n"
		"# clean or all does not collide with the phony targets\n"
		"TARGET  := $(CURDIR)/$(BIN)\n\n"
		".PHONY: all run test clean\n"
		"all: $(TARGET)\n\n"
		"$(OBJDIR)/%%.o: %%.c\n"
		"\t@mkdir -p $(dir $@)\n"
		"\t$(CC) $(ALL_CFLAGS) -c $< -o $@\n\n"
		"$(TARGET): $(OBJ)\n"
		"\t$(CC) $(CFLAGS) -rdynamic -Wl,--build-id $(LDFLAGS) -o $@ $(OBJ) $(LDLIBS)\n\n"
		"run: $(TARGET)\n"
		"\t./$(BIN)\n\n"
		"test: $(TARGET)\n"
		"\tsh tests/smoke.sh\n\n"
		"clean:\n"
		"\trm -rf $(OBJDIR) $(TARGET)\n\n"
		"-include $(OBJ:.o=.d)\n", gm->name, gm->name,
		strcmp(gm->name, "build") ? "build" : "obj", gm->name);
}

/* ---------------------------------------------------------------- smoke test */

static int emit_smoke(const struct gen_model *gm, struct ac_buf *b)
{
	int rc = ac_buf_printf(b,
		"#!/bin/sh\n"
		"# smoke.sh — build %s, start it on free loopback ports with a private data\n"
		"# directory, check /health and /metrics, then stop it with SIGTERM and expect a clean\n"
		"# exit. Run from anywhere: sh tests/smoke.sh\n"
		"set -eu\n"
		"cd \"$(dirname \"$0\")/..\"\n"
		"make -s\n"
		"free_port() {\n"
		"\tpython3 -c 'import socket; s=socket.socket(); s.bind((\"127.0.0.1\", 0)); "
		"print(s.getsockname()[1])'\n"
		"}\n"
		"DATA_DIR=$(mktemp -d)\n"
		"SINK_DIR=$DATA_DIR/output\n"
		"export DATA_DIR SINK_DIR\n", gm->name);
	const char *health_var = gm->has_api ? NULL : "METRICS_PORT";
	for (size_t i = 0; i < gm->ncomps; i++) {
		const struct gen_comp *gc = &gm->comps[i];
		if (!gc->port_env[0])
			continue;
		rc |= ac_buf_printf(b, "%s=$(free_port); export %s\n", gc->port_env, gc->port_env);
		if (!health_var && !strcmp(gc->type, "APIEndpoint"))
			health_var = gc->port_env;
	}
	if (!gm->has_api)
		rc |= ac_buf_puts(b, "METRICS_PORT=$(free_port); export METRICS_PORT\n");
	rc |= ac_buf_printf(b,
		"./%s >\"$DATA_DIR/stdout.log\" 2>\"$DATA_DIR/stderr.log\" &\n"
		"pid=$!\n"
		"trap 'kill $pid 2>/dev/null || true; rm -rf \"$DATA_DIR\"' EXIT\n"
		"url=http://127.0.0.1:$%s\n"
		"i=0\n"
		"until curl -sf \"$url/ready\" >/dev/null; do\n"
		"\ti=$((i + 1)); [ $i -lt 100 ] || { echo 'smoke: never ready'; "
		"cat \"$DATA_DIR/stderr.log\"; exit 1; }\n"
		"\tsleep 0.1\n"
		"done\n"
		"curl -sf \"$url/health\" >/dev/null || { echo 'smoke: unhealthy'; exit 1; }\n"
		"curl -sf \"$url/metrics\" | grep -q '^app_messages_in_total' || "
		"{ echo 'smoke: /metrics lacks counters'; exit 1; }\n"
		"kill -TERM $pid\n"
		"wait $pid || { echo 'smoke: unclean exit'; cat \"$DATA_DIR/stderr.log\"; exit 1; }\n"
		"echo 'smoke: ok'\n", gm->name, health_var);
	return rc;
}

/* ---------------------------------------------------------------- README */

static const char *str_or(const json_t *o, const char *key, const char *dflt)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s && *s ? s : dflt;
}

/* An override variable that exists in this system: the first scalar config key found. */
static const char *example_var(const struct gen_model *gm, char *out, size_t n)
{
	char up[128], key[128];
	for (size_t i = 0; i < gm->ncomps; i++) {
		const char *k;
		json_t *v;
		json_object_foreach(json_object_get(gm->comps[i].json, "config"), k, v) {
			if (json_is_object(v) || json_is_array(v) || !strcmp(k, "port"))
				continue;
			gen_upper(gm->comps[i].name, up, sizeof up);
			gen_upper(k, key, sizeof key);
			snprintf(out, n, "%s_%s=...", up, key);
			return out;
		}
	}
	snprintf(out, n, "<COMPONENT>_<KEY>=...");
	return out;
}

static int emit_readme(const struct gen_model *gm, struct ac_buf *b)
{
	size_t i;
	const json_t *bd;
	int rc = ac_buf_printf(b, "# %s\n\n%s%s"
		"Generated by autocoder from `blueprint.yaml` (version %s). Regenerate rather than "
		"edit:\n`autocoder generate blueprint.yaml -o .` (files listed in "
		"`.autocoder-generated` are replaced).\n\n"
		"## Build and run\n\n```sh\nmake        # builds ./%s\n./%s\t# runs in the "
		"foreground; SIGTERM/Ctrl-C drains queues and stops\nmake test   "
		"# tests/smoke.sh\n```\n\nRun it from this directory (it reads `config/system.json`; "
		"`--config PATH` or\n`AUTOCODER_CONFIG` points elsewhere).\n\n"
		"## Components\n\n| name | type | port (variable) | description |\n|---|---|---|---|\n",
		gm->name, gm->description, *gm->description ? "\n\n" : "", gm->version, gm->name,
		gm->name);
	for (i = 0; i < gm->ncomps; i++) {
		const struct gen_comp *gc = &gm->comps[i];
		char port[200] = "";
		if (gc->port)
			snprintf(port, sizeof port, "%d (`%s`)", gc->port, gc->port_env);
		rc |= ac_buf_printf(b, "| %s | %s | %s | %s |\n", gc->name, gc->type, port,
				    str_or(gc->json, "description", ""));
	}
	rc |= ac_buf_puts(b, "\n## Bindings\n\n");
	if (!json_array_size(gm->bindings))
		rc |= ac_buf_puts(b, "None.\n");
	json_array_foreach(gm->bindings, i, bd) {
		const char *cond = json_string_value(json_object_get(bd, "condition"));
		const json_t *qos = json_object_get(bd, "qos");
		rc |= ac_buf_printf(b, "- `%s.%s` → `%s.%s`%s%s%s (queue %lld)\n",
				    str_or(bd, "from_component", "?"), str_or(bd, "from_port", "?"),
				    str_or(bd, "to_component", "?"), str_or(bd, "to_port", "?"),
				    cond ? " when `" : "", cond ? cond : "", cond ? "`" : "",
				    json_is_integer(json_object_get(qos, "buffering")) ?
				    (long long)json_integer_value(json_object_get(qos, "buffering")) :
				    1000LL);
	}
	char example[300];
	rc |= ac_buf_printf(b, "\n## Configuration\n\n"
		"`config/system.json` holds every component's configuration. Environment variables "
		"override it:\n\n"
		"| variable | effect |\n|---|---|\n"
		"| `<COMPONENT>_PORT` or the blueprint's port variable | the component's port (see "
		"table above) |\n"
		"| `<COMPONENT>_<KEY>` | a scalar config key, e.g. `%s` (JSON values: numbers, "
		"true/false) |\n"
		"| `METRICS_PORT` | port of /health, /ready, /metrics when there is no APIEndpoint "
		"(default %d) |\n"
		"| `DATA_DIR` | state: SQLite stores and totals, dead letters, crash spool (default "
		"`data`) |\n"
		"| `SINK_DIR` | directory of file sinks (default: each sink's `output.directory`) |\n"
		"| `BIND_ADDRESS` | address the servers listen on (default: the blueprint's `host`, "
		"else 127.0.0.1; the deployments set 0.0.0.0) |\n"
		"| `METRICS_PREFIX` | prefix of the metric names (default `app_`) |\n"
		"| `LOG_LEVEL` | debug, info, warn, error |\n"
		"| `SHUTDOWN_TIMEOUT_MS` | how long SIGTERM waits for queues to drain |\n"
		"| `AUTOCODER_COLLECTOR_URL`, `AUTOCODER_KEY` | ship warnings, errors and crash "
		"reports to an autocoder collector |\n"
		"| `AUTOCODER_SPOOL_DIR` | crash report spool (default `$DATA_DIR/crash_spool`) |\n"
		"| `AUTOCODER_CRASH_AFTER`, `AUTOCODER_CRASH_COMPONENT` | debug hook: crash the named "
		"component after N messages |\n\n"
		"## Observability\n\n"
		"- Logs: one JSON object per line on stderr (ts, level, system, component, msg, "
		"trace_id, fields).\n"
		"- `/health` (503 when a component is unhealthy), `/ready`, `/metrics` (Prometheus): "
		"%s.\n"
		"- Warnings and errors are sent to the collector in batches from a background thread; "
		"a crash writes a\n  report to the spool directory, uploaded to the collector on the "
		"next start.\n",
		example_var(gm, example, sizeof example), 9090,
		gm->has_api ? "on the APIEndpoint's port" : "on `METRICS_PORT`");
	return rc;
}

/* ---------------------------------------------------------------- blueprint.yaml */

struct yout {
	struct ac_buf *b;
	int rc;
};

static int yaml_write(void *data, unsigned char *buffer, size_t size)
{
	struct yout *o = data;
	if (ac_buf_append(o->b, buffer, size)) {
		o->rc = AC_ETOOBIG;
		return 0;
	}
	return 1;
}

/* A string that a YAML reader would take for another type must be quoted. */
static bool ambiguous(const char *s)
{
	static const char *const words[] = { "true", "false", "null", "yes", "no", "on", "off",
					      "y", "n", "~", "True", "False", "Null", "NULL", "TRUE",
					      "FALSE", "Yes", "No", "On", "Off", "YES", "NO" };
	char *end;
	if (!*s)
		return true;
	for (size_t i = 0; i < AC_ARRAY_SIZE(words); i++)
		if (!strcmp(s, words[i]))
			return true;
	errno = 0;
	(void)strtod(s, &end);
	if (end != s && !*end)
		return true;
	return s[0] == '.' || s[0] == '0';
}

static int y_scalar(yaml_emitter_t *em, const char *text, bool quote)
{
	yaml_event_t ev;
	yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)text, (int)strlen(text), 1, 1,
				     quote ? YAML_DOUBLE_QUOTED_SCALAR_STYLE : YAML_ANY_SCALAR_STYLE);
	return yaml_emitter_emit(em, &ev) ? 0 : -1;
}

static int y_value(yaml_emitter_t *em, const json_t *v, int depth)
{
	yaml_event_t ev;
	char num[64];
	if (depth > 64)
		return -1;
	switch (json_typeof(v)) {
	case JSON_OBJECT: {
		const char *k;
		json_t *x;
		yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE);
		if (!yaml_emitter_emit(em, &ev))
			return -1;
		json_object_foreach((json_t *)v, k, x)
			if (y_scalar(em, k, ambiguous(k)) || y_value(em, x, depth + 1))
				return -1;
		yaml_mapping_end_event_initialize(&ev);
		return yaml_emitter_emit(em, &ev) ? 0 : -1;
	}
	case JSON_ARRAY: {
		size_t i;
		json_t *x;
		yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1,
						     json_array_size(v) ? YAML_BLOCK_SEQUENCE_STYLE :
						     YAML_FLOW_SEQUENCE_STYLE);
		if (!yaml_emitter_emit(em, &ev))
			return -1;
		json_array_foreach(v, i, x)
			if (y_value(em, x, depth + 1))
				return -1;
		yaml_sequence_end_event_initialize(&ev);
		return yaml_emitter_emit(em, &ev) ? 0 : -1;
	}
	case JSON_STRING:
		return y_scalar(em, json_string_value(v), ambiguous(json_string_value(v)));
	case JSON_INTEGER:
		snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return y_scalar(em, num, false);
	case JSON_REAL:
		snprintf(num, sizeof num, "%.17g", json_real_value(v));
		if (!strpbrk(num, ".eEn"))
			strncat(num, ".0", sizeof num - strlen(num) - 1);
		return y_scalar(em, num, false);
	case JSON_TRUE:
		return y_scalar(em, "true", false);
	case JSON_FALSE:
		return y_scalar(em, "false", false);
	default:
		return y_scalar(em, "null", false);
	}
}

static int emit_yaml(const struct gen_model *gm, struct ac_buf *b)
{
	yaml_emitter_t em;
	yaml_event_t ev;
	struct yout o = { b, 0 };
	int rc = ac_buf_puts(b, "# Normalised blueprint (defaults filled in, one binding form) "
			     "written by autocoder generate.\n");
	if (rc || !yaml_emitter_initialize(&em))
		return AC_ENOMEM;
	yaml_emitter_set_output(&em, yaml_write, &o);
	yaml_emitter_set_unicode(&em, 1);
	yaml_emitter_set_width(&em, 100);
	yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING);
	rc = yaml_emitter_emit(&em, &ev) ? 0 : -1;
	if (!rc) {
		yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1);
		rc = yaml_emitter_emit(&em, &ev) ? 0 : -1;
	}
	if (!rc)
		rc = y_value(&em, gm->model, 0);
	if (!rc) {
		yaml_document_end_event_initialize(&ev, 1);
		rc = yaml_emitter_emit(&em, &ev) ? 0 : -1;
	}
	if (!rc) {
		yaml_stream_end_event_initialize(&ev);
		rc = yaml_emitter_emit(&em, &ev) ? 0 : -1;
	}
	yaml_emitter_delete(&em);
	return rc || o.rc ? AC_EINVAL : 0;
}

/* ---------------------------------------------------------------- all */

int emit_docs(const struct gen_model *gm, struct gen_files *out, struct ac_error *err)
{
	struct ac_buf b;
	int rc;

	ac_buf_init(&b, GEN_MAX_FILE);
	if ((rc = emit_makefile(gm, &b)) || (rc = gen_add_buf(out, "Makefile", &b, false)))
		goto fail;
	ac_buf_init(&b, GEN_MAX_FILE);
	if ((rc = emit_smoke(gm, &b)) || (rc = gen_add_buf(out, "tests/smoke.sh", &b, true)))
		goto fail;
	ac_buf_init(&b, GEN_MAX_FILE);
	if ((rc = emit_readme(gm, &b)) || (rc = gen_add_buf(out, "README.md", &b, false)))
		goto fail;
	ac_buf_init(&b, GEN_MAX_FILE);
	if ((rc = emit_yaml(gm, &b)) || (rc = gen_add_buf(out, "blueprint.yaml", &b, false)))
		goto fail;
	return 0;
fail:
	ac_buf_release(&b);
	return ac_error_set(err, rc == AC_EINVAL ? AC_EINVAL : AC_ENOMEM, "emit",
			    "cannot render the system's documentation files");
}

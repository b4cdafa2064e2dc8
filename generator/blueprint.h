/*
 * blueprint.h — the blueprint front end: YAML in, one normalised JSON model out, with
 * compiler-style diagnostics (file:line:column, severity, message, hint).
 *
 * Pipeline (files):
 *   bp_yaml.c      libyaml events -> a node tree that keeps the line:column of every node
 *                  (bounded: size, depth, node count, alias expansion)
 *   bp_normalize.c every dialect of the blueprint language reduced to one model: top level,
 *                  system, bindings (all four forms); heals reported as warnings
 *   bp_component.c one component: name, type, config (catalog keys and defaults), ports,
 *                  network ports, databases
 *   bp_check.c     values checked against key tables (type, range, choices, defaults),
 *                  expressions, ports, versions
 *   bp_validate.c  graph checks: ports, directions, Store/Sink outgoing data, cycles, schemas,
 *                  network port conflicts (healed)
 *   bp_diag.c      the diagnostics list and its text / JSON renderings
 *   blueprint.c    blueprint_load(): the steps above in order
 *
 * The normalised model (docs/BLUEPRINT.md describes it):
 *   { schema_version, metadata, schemas, policy,
 *     system: { name, description, version, configuration, deployment, validation,
 *               components: [ {name, type, description, processing_mode, config, inputs,
 *                              outputs, network_ports, databases, observability} ],
 *               bindings: [ {from_component, from_port, to_component, to_port, condition,
 *                            transformation, error_handling, qos, description} ] } }
 * Object keys keep a fixed insertion order, so dumping with JSON_PRESERVE_ORDER is stable.
 * Fields the front end does not know are kept where they were found and reported once as
 * ignored (a note, never an error).
 */
#ifndef AC_BLUEPRINT_H
#define AC_BLUEPRINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

struct ac_error;

/* Largest blueprint accepted (bytes) and deepest YAML nesting. */
#define BLUEPRINT_MAX_BYTES (4u << 20)
#define BLUEPRINT_MAX_DEPTH 64

enum bp_severity { BP_NOTE, BP_WARNING, BP_ERROR };

struct bp_diag {
	enum bp_severity severity;
	char *file;      /* as given to blueprint_load (owned) */
	int line;        /* 1-based; 0 when the problem has no place in the file */
	int column;      /* 1-based; 0 likewise */
	char *message;   /* one line, no trailing newline (owned) */
	char *hint;      /* NULL or one line (owned) */
};

/* A list of diagnostics. Zero-initialise it (or bp_diags_init) before use;
 * bp_diags_free() releases the entries and leaves an empty list. */
struct bp_diags {
	struct bp_diag *v;
	size_t n, cap;
	size_t errors, warnings, notes;
};

void bp_diags_init(struct bp_diags *d);
void bp_diags_free(struct bp_diags *d);

/* Append one diagnostic; hint may be NULL. Returns nothing: allocation failures drop it. */
void bp_diag_add(struct bp_diags *d, enum bp_severity sev, const char *file, int line,
		 int column, const char *hint, const char *fmt, ...)
	__attribute__((format(printf, 7, 8)));

/* Print like a compiler: "file:line:col: error: message" and "  hint: ..." lines. */
void bp_diags_print(const struct bp_diags *d, FILE *out);

/* {"ok": bool, "diagnostics": [{severity, file, line, column, message, hint}]} as a new
 * reference the caller json_decref()s. ok is true when there are no errors. */
json_t *bp_diags_to_json(const struct bp_diags *d);

/* Parse, heal and validate the blueprint at path. On success returns 0 and *out holds the
 * NORMALISED model (a new reference the caller json_decref()s); warnings and notes may be in
 * diags. Returns AC_EINVAL when there is at least one error (diags has them, *out is NULL),
 * AC_EIO / AC_ETOOBIG when the file cannot be read (err says why, nothing in diags).
 * strict: every heal is reported as an error instead of a warning. */
int blueprint_load(const char *path, bool strict, json_t **out, struct bp_diags *diags,
		   struct ac_error *err);

/* The same for a blueprint already in memory; `name` is the file name used in diagnostics.
 * data need not be NUL-terminated. Returns AC_ETOOBIG past BLUEPRINT_MAX_BYTES. */
int blueprint_load_buffer(const char *name, const char *data, size_t len, bool strict,
			  json_t **out, struct bp_diags *diags, struct ac_error *err);

/* Write the catalog as the Markdown table of docs/BLUEPRINT.md. */
void blueprint_catalog_markdown(FILE *out);

#endif

/*
 * gen_int.h — the system emitter's private interfaces (emit*.c). Not for other modules.
 *
 * The emitter renders every file into memory first (struct gen_files), then emit.c writes
 * them all; so a failure while rendering leaves the output directory untouched.
 */
#ifndef AC_GEN_INT_H
#define AC_GEN_INT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

struct ac_error;
struct ac_buf;

/* Largest single generated file (bytes); bounds every rendering buffer. */
#define GEN_MAX_FILE (16u << 20)

struct gen_file {
	char *path;    /* relative to the output directory */
	char *data;
	size_t len;
	bool exec;     /* mode 0755 instead of 0644 */
};

struct gen_files {
	struct gen_file *v;
	size_t n, cap;
};

/* Add a file taking the buffer's data (the buffer is left empty). 0 or AC_ENOMEM. */
int gen_add_buf(struct gen_files *f, const char *path, struct ac_buf *b, bool exec);
/* Add a file with a copy of data. 0 or AC_ENOMEM. */
int gen_add_copy(struct gen_files *f, const char *path, const void *data, size_t len, bool exec);
void gen_files_free(struct gen_files *f);

/* What the emitters need to know about one component, derived once from the model. */
struct gen_comp {
	const json_t *json;       /* the component object (borrowed) */
	const char *name;
	const char *type;         /* canonical type name */
	const char *rt_enum;      /* "RT_SOURCE", ... */
	char ident[128];          /* C identifier prefix of its functions */
	char file[160];           /* "src/<ident>.c" */
	int port;                 /* 0 when it does not listen */
	char port_env[160];       /* variable overriding the port, "" when none */
};

struct gen_model {
	const json_t *model;
	const json_t *system;
	const char *name;
	const char *version;
	const char *description;
	struct gen_comp *comps;
	size_t ncomps;
	const json_t *bindings;
	bool has_api;
	int metrics_port;        /* system-level /metrics port when there is no APIEndpoint */
};

/* Fill gm from the model (borrowed). 0 or AC_EINVAL naming what is missing. */
int gen_model_init(struct gen_model *gm, const json_t *model, struct ac_error *err);
void gen_model_release(struct gen_model *gm);

/* Append s as a C string literal (with quotes, escaped) or NULL as `NULL`. */
int gen_c_string(struct ac_buf *b, const char *s);
/* Upper-case identifier of s ("event-source" -> "EVENT_SOURCE"). */
void gen_upper(const char *s, char *out, size_t n);

/* emit_c.c: src/main.c, src/components.h, src/<instance>.c, config/system.json */
int emit_sources(const struct gen_model *gm, struct gen_files *out, struct ac_error *err);
/* emit_docs.c: README.md, Makefile, tests/smoke.sh, blueprint.yaml */
int emit_docs(const struct gen_model *gm, struct gen_files *out, struct ac_error *err);

#endif

/*
 * bp_int.h — private interface between the blueprint front end's files (see blueprint.h for
 * the pipeline). Not for use outside generator/bp_*.c and generator/blueprint.c.
 *
 * YAML is kept as a tree of `struct ynode` with 1-based line:column marks. Scalars keep their
 * raw text and style, so "1.0" can be read as a version string while `port: 8080` reads as an
 * integer. Mappings store key and value nodes interleaved. Aliases point at the anchored node
 * (owned elsewhere in the tree); everything is freed with the document.
 */
#ifndef AC_BP_INT_H
#define AC_BP_INT_H

#include "generator/blueprint.h"
#include "generator/catalog.h"

enum ykind { Y_SCALAR, Y_MAP, Y_SEQ, Y_ALIAS };

struct ynode {
	enum ykind kind;
	int line, col;          /* 1-based position of the node's first character */
	char *text;             /* Y_SCALAR: NUL-terminated raw text */
	size_t len;
	bool plain;             /* Y_SCALAR: unquoted, so YAML typing applies */
	bool block;             /* Y_SCALAR: literal | or folded > block */
	struct ynode **kids;    /* Y_MAP: key, value, key, value...; Y_SEQ: items */
	size_t n;               /* number of kids (2 per mapping entry) */
	struct ynode *target;   /* Y_ALIAS */
};

struct ydoc {
	struct ynode **roots;   /* one per YAML document */
	size_t nroots;
	struct ynode **all;     /* every node, for freeing */
	size_t nall, capall;
};

/* Parse len bytes of YAML. On a syntax or limit error returns AC_EINVAL and reports one
 * error diagnostic at libyaml's line:column. *doc is freed with ydoc_free(). */
int ydoc_parse(const char *file, const char *data, size_t len, struct ydoc **doc,
	       struct bp_diags *diags);
void ydoc_free(struct ydoc *doc);

/* Follow an alias (NULL stays NULL). */
const struct ynode *yderef(const struct ynode *n);
/* Mapping lookup by key text; NULL when absent or n is not a mapping. */
const struct ynode *yget(const struct ynode *map, const char *key);
/* The key node of an entry, for positions (NULL when absent). */
const struct ynode *ygetkey(const struct ynode *map, const char *key);
bool yis_map(const struct ynode *n);
bool yis_seq(const struct ynode *n);
bool yis_scalar(const struct ynode *n);
/* Plain null / ~ / empty scalar (or a missing node). */
bool yis_null(const struct ynode *n);
/* Scalar text (NULL when not a scalar). */
const char *ystr(const struct ynode *n);
/* Human name of the node's YAML type: "mapping", "list", "string", "integer", ... */
const char *ytype_name(const struct ynode *n);

/* YAML core-schema typing of a scalar (plain scalars only; quoted ones are strings). */
bool yas_int(const struct ynode *n, long long *out);
bool yas_number(const struct ynode *n, double *out);
bool yas_bool(const struct ynode *n, bool *out);

/* Convert a subtree to JSON with YAML typing. Returns a new reference, or NULL when the
 * alias expansion budget (*budget nodes) is exhausted. */
json_t *yto_json(const struct ynode *n, size_t *budget);

/* ---- diagnostics ---------------------------------------------------------------------- */

/* Sort by line then column, keeping the order of equal positions. */
void bp_diags_sort(struct bp_diags *d);

/* ---- normalisation context ------------------------------------------------------------- */

struct bp_comp {
	const struct cat_type *type;    /* NULL when the type is unknown */
	json_t *obj;                    /* the component in the model (borrowed) */
	const char *name;               /* its final name (points into obj) */
	const struct ynode *node;       /* the component's mapping */
	const struct ynode *port_node;  /* where its listening port was written, if any */
	bool response_bound;            /* Store: its reply port is used */
};

/* One binding per target (fan-out is already expanded). Strings point into the YAML tree or
 * into ctx->strings; both outlive validation. */
struct bp_bind {
	json_t *obj;                    /* the binding in the model (borrowed) */
	const struct ynode *node;       /* the binding's mapping */
	const struct ynode *from_node;  /* where the source was written */
	const struct ynode *to_node;    /* where this target was written */
	const char *from_ref, *from_port;  /* as written; port NULL = not given */
	const char *to_ref, *to_port;
	long from_comp, to_comp;        /* indexes into comps, -1 until resolved */
	bool dropped;                   /* removed (duplicate or unresolved) */
	bool to_stream;                 /* to_port came from `stream_name:` (a label) */
};

struct bp_ctx {
	const char *file;
	struct bp_diags *diags;
	bool strict;
	size_t budget;                  /* alias expansion budget for yto_json */
	json_t *model;
	json_t *names;                  /* final component name -> index */
	json_t *renames;                /* name as written -> final name */
	json_t *ignored;                /* "where/key" seen, to report each ignored field once */
	json_t *strings;                /* keeps strings referenced by bp_bind alive */
	struct bp_comp *comps;
	size_t ncomps;
	struct bp_bind *binds;
	size_t nbinds, capbinds;
};

/* Diagnostics at a node's position (n may be NULL: no position). */
void bp_error(struct bp_ctx *c, const struct ynode *n, const char *hint, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void bp_warn(struct bp_ctx *c, const struct ynode *n, const char *hint, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void bp_note(struct bp_ctx *c, const struct ynode *n, const char *hint, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* A heal: a warning, or an error under --strict. */
void bp_heal(struct bp_ctx *c, const struct ynode *n, const char *hint, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Same at an explicit position (line, column). */
void bp_error_at(struct bp_ctx *c, int line, int col, const char *hint, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

void bp_note_at(struct bp_ctx *c, int line, int col, const char *hint, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/* Report key `key` (node k) of `where` as ignored, once per where/key pair. */
void bp_ignored(struct bp_ctx *c, const char *where, const struct ynode *k);

/* "did you mean 'x'?" for the closest of the candidates (NULL-terminated array or JSON array
 * of strings), written into buf; returns buf or NULL when nothing is close. */
const char *bp_suggest(const char *word, const char *const *cands, json_t *jcands, char *buf,
		       size_t n);

/* snake_case form of a name ("Real-Time Pipeline" -> "real_time_pipeline") into a new
 * malloc'd string, or NULL when nothing usable remains. */
char *bp_snake_case(const char *s);
bool bp_is_snake_case(const char *s);

/* Keep a copy of s[0..n) alive until the context is released. NULL on allocation failure. */
const char *bp_keep(struct bp_ctx *c, const char *s, size_t n);

/* ---- checked values (bp_check.c) ------------------------------------------------------ */

/* Where a checked mapping sits, for messages: `what 'prefix.key' owner` reads like
 * "config 'output.type' of component 'sink'"; `where` classifies it for ignored-field notes;
 * `cname` replaces "<name>" in defaults. */
struct bp_site {
	const char *what, *prefix, *owner, *where, *cname;
};

/* Check a mapping against keys and fill defaults. map may be NULL (all defaults); alt is a
 * second mapping consulted for keys map lacks (config over configuration). Returns a new
 * object (keys in table order, then unknown keys, which are reported unless `open`) or NULL
 * after reporting that map is not a mapping. */
json_t *bp_check_map(struct bp_ctx *c, const struct ynode *map, const struct ynode *alt,
		     const struct cat_key *keys, bool open, const struct bp_site *st);
/* Check one value (key: its key node, for positions); NULL after reporting an error. */
json_t *bp_check_value(struct bp_ctx *c, const struct ynode *key, const struct ynode *v,
		       const struct cat_key *k, const struct bp_site *st);
/* Compile the expression at n; a new JSON string, or NULL after reporting with the column. */
json_t *bp_check_expr(struct bp_ctx *c, const struct ynode *key, const struct ynode *n,
		      const char *what);
/* A port: 8080, "8080" or "${VAR:-8080}". 0 with *port and *env (new string or NULL), or -1
 * after reporting. */
int bp_parse_port(struct bp_ctx *c, const struct ynode *n, const char *what, long *port,
		  char **env);
/* The VAR of "${VAR:-8080}" as a new string, NULL for plain numbers. */
char *bp_port_env(const char *s);
/* A version string x.y.z, healed from "1.0", 1.0 or 1; NULL after reporting. */
json_t *bp_norm_version(struct bp_ctx *c, const struct ynode *n, const char *what);
bool bp_in_list(const char *const *list, const char *s);
/* "x-..." keys (as in docker-compose) hold anchors for aliases: dropped without a note. */
bool bp_is_extension(const char *key);
/* Copy the entries of map that `known` does not list into obj, reporting each once. */
void bp_keep_unknown(struct bp_ctx *c, const struct ynode *map, const char *const *known,
		     const char *where, json_t *obj);
extern const char *const bp_log_levels[];

/* Key of a network port entry that the blueprint did not number ({line, column, label});
 * validation gives it a free port, reports it and removes the key. */
#define BP_AUTO_PORT "_auto_port"

/* Normalise one component and append it to components (bp_component.c). */
void bp_norm_component(struct bp_ctx *c, const struct ynode *m, json_t *components);

/* Steps. Each reports into c->diags and returns 0, or a negative code when it could not
 * continue at all (the model is then incomplete). */
int bp_normalize(struct bp_ctx *c, const struct ydoc *doc);
int bp_validate(struct bp_ctx *c);

#endif

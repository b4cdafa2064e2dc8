/*
 * catalog.h — the ONE table of the 13 component types (after Redis' command table).
 *
 * For each type: its canonical name, accepted aliases, default input/output ports, config keys
 * (type, default, range or choices, nested fields), deployment sizing and the structural flags
 * the validator needs (which types break cycles, which may not send data). The validator, the
 * emitters, the deployment generator and docs/BLUEPRINT.md (`autocoder validate
 * --catalog-markdown`) all read this table; nothing else lists the types.
 *
 * Everything here is static, read-only data; no function allocates except catalog_default(),
 * whose result the caller json_decref()s.
 */
#ifndef AC_CATALOG_H
#define AC_CATALOG_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

/* Value types of config keys. */
enum cat_vtype {
	CAT_INT,     /* JSON integer (a whole real like 5.0 is accepted) */
	CAT_NUMBER,  /* integer or real */
	CAT_STRING,
	CAT_BOOL,
	CAT_ENUM,    /* a string out of `choices` */
	CAT_OBJECT,  /* a mapping; `fields` describes known keys (others allowed when `open`) */
	CAT_LIST,    /* a sequence; `fields` describes each item when items are mappings */
	CAT_EXPR,    /* a string in the expression language (generator/runtime/expr.h) */
	CAT_PORT,    /* TCP port 1..65535, or a string "${VAR:-8000}" / "${VAR}" */
	CAT_ANY,     /* anything (free-form maps such as weights) */
};

struct cat_key {
	const char *name;
	enum cat_vtype type;
	const char *def;               /* default as JSON text ("10", "\"json\"", "{}"); NULL =
					* no default (the key is omitted unless given). The
					* string "<name>" inside is replaced by the component name. */
	bool required;
	bool ranged;                   /* min/max apply (numbers) */
	double min, max;
	const char *const *choices;    /* CAT_ENUM: NULL-terminated */
	const struct cat_key *fields;  /* CAT_OBJECT / CAT_LIST items: {NULL}-terminated */
	bool open;                     /* CAT_OBJECT: keys outside `fields` are fine */
	bool free_form;                /* CAT_ENUM: the original took any word; known words map
					* to a choice (a note), others warn and use the default */
	const char *doc;               /* one line for the docs */
};

struct cat_port {
	const char *name;
	const char *doc;
};

/* Identifiers of the 13 types, in table order. */
enum cat_id {
	CAT_SOURCE, CAT_TRANSFORMER, CAT_FILTER, CAT_ROUTER, CAT_AGGREGATOR, CAT_ACCUMULATOR,
	CAT_STREAM_PROCESSOR, CAT_MODEL, CAT_STORE, CAT_CONTROLLER, CAT_API_ENDPOINT, CAT_SINK,
	CAT_WEBSOCKET, CAT_NTYPES
};

struct cat_type {
	enum cat_id id;
	const char *name;                  /* canonical: "APIEndpoint" */
	const char *const *aliases;        /* extra accepted names besides case/_/- variants */
	const char *behaviour;             /* one line for the docs */
	const struct cat_port *inputs;     /* default inputs, {NULL}-terminated */
	const struct cat_port *outputs;    /* default outputs, {NULL}-terminated */
	const struct cat_key *keys;        /* config keys, {NULL}-terminated */
	bool any_inputs;                   /* Aggregator: a binding may name any input port */
	bool breaks_cycles;                /* Store, APIEndpoint: a cycle through it is fine */
	bool data_sink;                    /* Store, Sink: no outgoing data bindings */
	const char *reply_port;            /* Store: "response", exempt from data_sink, and only
					    * present in the model when bound */
	bool listens;                      /* has its own network port (config.port) */
	const char *cpu_request;           /* Kubernetes sizing before measurements */
	const char *mem_request;
};

/* Number of types (13) and the i-th type in table order, or NULL past the end. */
size_t catalog_count(void);
const struct cat_type *catalog_at(size_t i);
const struct cat_type *catalog_get(enum cat_id id);

/* Find a type by any accepted spelling: canonical name, any casing, with or without '_', '-'
 * or spaces ("api_endpoint", "APIEndpoint", "API-ENDPOINT"), or an alias. Returns NULL if
 * unknown. *exact (optional) is set when the spelling is the canonical one. */
const struct cat_type *catalog_find(const char *spelling, bool *exact);

/* The closest canonical type name to an unknown spelling (edit distance on the folded form),
 * or NULL when nothing is reasonably close. */
const char *catalog_suggest(const char *spelling);

/* Config key by name, or NULL. Works on nested `fields` too. */
const struct cat_key *catalog_key(const struct cat_key *keys, const char *name);

/* The default of key as a new JSON value (caller json_decref()s), with "<name>" replaced by
 * component_name; NULL when the key has no default. */
json_t *catalog_default(const struct cat_key *key, const char *component_name);

/* Human name of a value type ("integer", "number", ...). */
const char *catalog_vtype_name(enum cat_vtype t);

/* Levenshtein distance between two strings (bytes), capped at 255; shared with the
 * validator's "did you mean" hints. */
unsigned catalog_distance(const char *a, const char *b);

#endif

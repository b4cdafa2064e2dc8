/*
 * rules_int.h — private structures of the rules engine, shared by rules_load.c (YAML loader),
 * rules_screen.c (literal extraction and the trigram prefilter) and rules.c (matching and
 * accessors). Nothing outside analyzer/rules*.c includes this; the public contract is rules.h.
 */
#ifndef AC_RULES_INT_H
#define AC_RULES_INT_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "analyzer/rules.h"

enum cond_kind { COND_FIELD, COND_ALL, COND_ANY, COND_NOT };

/* Literals shorter than this are not used for screening: they would hit nearly every line. */
#define RULES_MIN_LITERAL 3
#define RULES_MAX_LITERAL 64

/* The required literals of a pattern: one per top-level alternative; the pattern can only
 * match a subject that contains (case-folded) at least one of them. n == 0: unknown. */
struct litset {
	size_t n;
	char **lits; /* lower-case, NUL-terminated */
	size_t minlen;
};

struct cond {
	enum cond_kind kind;
	enum rule_field field;
	int item;              /* any: index of the item the condition belongs to */
	char *pattern;         /* as written */
	pcre2_code *code;
	struct litset lits;
	uint32_t name_count;   /* named groups: PCRE2 name table */
	uint32_t name_entry_size;
	PCRE2_SPTR name_table;
};

struct fix_step {
	char *step;
	char *command; /* NULL if none */
};

struct example {
	json_t *event;
	json_t *captures; /* expected captures (object) or NULL */
	bool expect_match;
	int line;
};

struct pack {
	char *name;
	char *path;
	char *description;
};

struct rule {
	char *id, *title, *category;
	enum rule_severity severity;
	const struct pack *pack; /* index into rules->packs is stable: packs never move after load */
	size_t pack_index;
	int line, column;
	size_t index;       /* load order */
	size_t rank;        /* position in precedence order */
	int specificity;
	struct cond *conds;
	size_t nconds;
	int nany;           /* number of any: items (0 = no any: block) */
	char **causes;
	size_t ncauses;
	struct fix_step *fix;
	size_t nfix;
	char **refs;
	size_t nrefs;
	struct example *examples;
	size_t nexamples;
	bool screened;      /* false: always a candidate */
};

/* One literal of the prefilter: finding it in `field` makes the rule of rank `rank` a
 * candidate. Sorted by (field, hash) for lookup after a bitmap hit. */
struct lit_entry {
	uint16_t hash;
	uint8_t field;
	uint8_t len;
	uint32_t rank;
	const char *s;
};

struct screen {
	uint64_t *bitmap[RULE_F_COUNT];   /* 65536-bit trigram bitmaps; NULL: field has no literal */
	struct lit_entry *ents;
	size_t nents;
	uint32_t *always;                 /* ranks of unscreened rules, ascending */
	size_t nalways;
};

struct rules {
	struct pack *packs;
	size_t npacks;
	struct rule **rules;   /* load order */
	size_t nrules;
	struct rule **ranked;  /* precedence order */
	struct screen screen;
	pcre2_match_context *mctx;
	uint32_t max_pairs;    /* ovector pairs needed by the largest pattern */
	uint64_t digest;       /* FNV-1a over every pack's name and bytes, in load order */
	char digest_hex[17];
};

/* rules_screen.c */
int rules_pattern_literals(const char *p, size_t n, struct litset *out);
void rules_litset_free(struct litset *ls);
int rules_screen_build(struct rules *rs);
void rules_screen_free(struct screen *sc);
/* Add the ranks of candidate rules found in s[0..n) of field f to cand (up to cap; returns the
 * new count, or cap + 1 on overflow, meaning "assume every rule is a candidate"). */
size_t rules_screen_scan(const struct screen *sc, enum rule_field f, const char *s, size_t n,
			 uint32_t *cand, size_t ncand, size_t cap);

/* rules.c */
int rules_finish(struct rules *rs); /* rank, screen, match context; 0 or AC_ENOMEM */
void rule_free(struct rule *r);
int rule_field_parse(const char *name);

#endif

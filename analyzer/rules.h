/*
 * rules.h — the rules engine: rule packs (rules/NAME.yaml) that recognise known error patterns.
 *
 * A rule pack is a YAML file:
 *
 *   pack: posix                      # optional, defaults to the file name without .yaml
 *   description: POSIX / libc errors # optional
 *   rules:
 *     - id: posix.addr-in-use        # unique over all loaded packs, [a-z0-9][a-z0-9._-]*
 *       title: Address already in use
 *       category: network            # free text, one word by convention
 *       severity: error              # info | warning | error | critical
 *       match:                       # see "Matching" below
 *         message: '(?i)bind\b.*?(?<addr>[0-9.:\[\]a-f]*?):(?<port>\d+).*address already in use'
 *       causes: [ "...", "..." ]     # non-empty list of strings
 *       fix:                         # ordered steps: a string or {step: ..., command: ...}
 *         - step: Find the process holding the port
 *           command: ss -ltnp 'sport = :8080'
 *       references: [ https://... ]  # optional list of http(s) URLs
 *       examples:                    # match: required, non-empty; nomatch: optional
 *         match:   [ "bind 0.0.0.0:8080: Address already in use" ]
 *         nomatch: [ "listening on 0.0.0.0:8080" ]
 *
 * Matching. A condition is `FIELD: PCRE2-pattern`; FIELD is one of message, exception_type,
 * exception_value, frame_function, logger, level, component, system. `match:` is a mapping whose
 * keys are fields (conditions that must all hold) and the combinators
 *   all: [ {FIELD: pattern, ...}, ... ]   every listed condition must hold
 *   any: [ {FIELD: pattern, ...}, ... ]   at least one item must hold (an item's fields all hold)
 *   not: [ {FIELD: pattern, ...}, ... ]   no listed condition may hold
 * and at least one positive condition (field, all or any) is required. A condition on an absent
 * field is false (so a `not:` on an absent field holds). `frame_function` holds when any stack
 * frame's function matches. The `message` of an event with no message is "<type>: <value>"
 * built from its exception, so message rules also recognise exception-only (Sentry) events.
 * Patterns are compiled with PCRE2 JIT, byte-wise (no UTF mode; (*UTF) is refused); case
 * folding is ASCII only. Named groups become the match's captures.
 *
 * Precedence (deterministic; the "best" rule when several match): the rule with more
 * conditions wins (specificity = number of positive field conditions + 1 for an `any:` block
 * + number of `not:` conditions), then the higher severity, then load order (files in byte
 * order of their names, rules in file order).
 *
 * Speed: every pattern's required literal substrings (case-folded, >= 3 bytes) are extracted at
 * load time; a message is scanned once with a trigram bitmap over all literals, and only rules
 * whose anchor literal occurs (plus the few without a usable literal) run their regexes, in
 * precedence order, stopping at the first that matches.
 *
 * Thread safety: a loaded `struct rules` is immutable; rules_match may run concurrently on it.
 */
#ifndef AC_RULES_H
#define AC_RULES_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

struct ac_error;
struct rules;
struct rule;

enum rule_severity {
	RULE_SEV_INFO = 0,
	RULE_SEV_WARNING = 1,
	RULE_SEV_ERROR = 2,
	RULE_SEV_CRITICAL = 3,
};

enum rule_field {
	RULE_F_MESSAGE = 0,
	RULE_F_EXCEPTION_TYPE,
	RULE_F_EXCEPTION_VALUE,
	RULE_F_FRAME_FUNCTION,
	RULE_F_LOGGER,
	RULE_F_LEVEL,
	RULE_F_COMPONENT,
	RULE_F_SYSTEM,
	RULE_F_COUNT
};

/* Limits: a bigger pack or more captures is a load error / truncation, never a crash. */
#define RULES_MAX_FILE_BYTES (4u << 20)
#define RULES_MAX_RULES 10000
#define RULE_MATCH_MAX_CAPTURES 16
#define RULE_MATCH_TEXT_BYTES 1024

struct rule_capture {
	const char *name;  /* group name, owned by the rules (valid while they are loaded) */
	const char *value; /* NUL-terminated copy inside the rule_match's text buffer */
	size_t len;        /* bytes in value (truncated to fit RULE_MATCH_TEXT_BYTES in total) */
	enum rule_field field;
};

/* The result of a match. Self-contained: it points only into itself and into the rules. */
struct rule_match {
	const struct rule *rule; /* NULL when no rule matched */
	size_t ncaptures;
	struct rule_capture captures[RULE_MATCH_MAX_CAPTURES];
	size_t text_used;
	char text[RULE_MATCH_TEXT_BYTES];
};

/* Called once per load problem; `line`/`column` are 1-based (0 when unknown). */
typedef void (*rules_diag_fn)(void *ctx, const char *file, int line, int column, const char *msg);

struct rules_load_opts {
	rules_diag_fn diag; /* optional: receives every problem, not just the first */
	void *ctx;
};

/*
 * Load every *.yaml / *.yml file in dir (sorted by name; not recursive). Returns 0 and a new
 * rule set the caller frees with rules_free(), or a negative AC_E* code, *out = NULL and err
 * describing the first problem as "file:line:column: message" (plus how many more there were).
 * A directory with no packs loads as an empty set. opts may be NULL.
 */
int rules_load_dir(const char *dir, struct rules **out, struct ac_error *err);
int rules_load_dir_opts(const char *dir, const struct rules_load_opts *opts, struct rules **out,
			struct ac_error *err);
/* Load the given files (in the order given) into one set. Same contract as rules_load_dir. */
int rules_load_files(const char *const *paths, size_t n, const struct rules_load_opts *opts,
		     struct rules **out, struct ac_error *err);
/* Load one pack from memory; `name` is used in diagnostics. Same contract. data need not be
 * NUL-terminated. */
int rules_load_buffer(const char *name, const char *data, size_t len,
		      const struct rules_load_opts *opts, struct rules **out, struct ac_error *err);
/* Safe on NULL. */
void rules_free(struct rules *rules);

/*
 * Find the best rule (see Precedence) for a collector-shaped event (a JSON object with message,
 * level, logger, system, component, exception{type,value,frames[{function,...}]}). Fills out
 * and returns true when a rule matched; false (out->rule = NULL) otherwise, also for a NULL or
 * non-object event. Never fails: a pattern hitting a PCRE2 resource limit counts as no match.
 */
bool rules_match(const struct rules *rules, const json_t *event, struct rule_match *out);
/* Same for a bare log message (every other field absent). msg need not be NUL-terminated. */
bool rules_match_text(const struct rules *rules, const char *msg, size_t len,
		      struct rule_match *out);
/* rules_match_text without the prefilter: every rule is tried in precedence order. Same answer,
 * much slower; the reference the prefilter is tested and benchmarked against. */
bool rules_match_text_unscreened(const struct rules *rules, const char *msg, size_t len,
				 struct rule_match *out);
/* Evaluate one rule on an event, bypassing the prefilter and precedence (for tests and for
 * explaining a match). Fills out (captures) when it matches. */
bool rule_matches(const struct rule *rule, const json_t *event, struct rule_match *out);

/* Captured value by group name, or NULL. */
const char *rule_match_capture(const struct rule_match *m, const char *name);

/* Enumeration, in load order. */
size_t rules_count(const struct rules *rules);
const struct rule *rules_get(const struct rules *rules, size_t i);
const struct rule *rules_find(const struct rules *rules, const char *id);
/* Number of packs loaded, and each pack's name/path/description, in load order. */
size_t rules_pack_count(const struct rules *rules);
const char *rules_pack_name(const struct rules *rules, size_t i);
const char *rules_pack_path(const struct rules *rules, size_t i);
const char *rules_pack_description(const struct rules *rules, size_t i); /* "" if none */
/* 16 hex chars identifying the loaded packs (their file names and bytes): store it with results and
 * re-label when it changes. Owned by the rule set. */
const char *rules_digest(const struct rules *rules);
/* Rules without a usable literal run their regex on every message; this counts them. */
size_t rules_unscreened_count(const struct rules *rules);

/* Rule fields. Strings are owned by the rule set and live until rules_free. */
const char *rule_id(const struct rule *r);
const char *rule_title(const struct rule *r);
const char *rule_category(const struct rule *r);
enum rule_severity rule_severity(const struct rule *r);
const char *rule_severity_name(enum rule_severity s); /* "info", ... ; never NULL */
const char *rule_pack(const struct rule *r);
const char *rule_file(const struct rule *r);
int rule_line(const struct rule *r); /* 1-based line of the rule's `id` */
size_t rule_index(const struct rule *r); /* load order */
int rule_specificity(const struct rule *r);
size_t rule_cause_count(const struct rule *r);
const char *rule_cause(const struct rule *r, size_t i);
size_t rule_fix_count(const struct rule *r);
const char *rule_fix_step(const struct rule *r, size_t i);
const char *rule_fix_command(const struct rule *r, size_t i); /* NULL when the step has none */
size_t rule_reference_count(const struct rule *r);
const char *rule_reference(const struct rule *r, size_t i);
/* Conditions as written, for display: count, and each one's kind ("field", "all", "any",
 * "not"), field name and pattern. */
size_t rule_condition_count(const struct rule *r);
void rule_condition(const struct rule *r, size_t i, const char **kind, const char **field,
		    const char **pattern);

/* Examples. Each is an event object (a bare string example becomes {"message": s}); owned by
 * the rule set. expect_match tells which list it came from; line is its line in the file.
 * `captures` is the example's expected captures object or NULL. */
size_t rule_example_count(const struct rule *r);
const json_t *rule_example(const struct rule *r, size_t i, bool *expect_match, int *line,
			   const json_t **captures);

/*
 * Suggestions for unknown patterns (the guide). rules_pattern_from_template turns a mined
 * template into a PCRE2 pattern: literal text escaped, each placeholder (<*> or a mask name like
 * <NUM>) a lazy non-space run (\S+?), runs of blanks \s+. Returns a new string the caller frees,
 * NULL for an empty template or on ENOMEM.
 * rules_suggest_rule returns a complete rule as YAML (an item for a pack's `rules:` list, with
 * TODO causes/fix and `example` as its match example), verified to load and to match the
 * example; the caller frees it. NULL with err set when it does not (e.g. the example is not an
 * instance of the template).
 */
char *rules_pattern_from_template(const char *tmpl);
char *rules_suggest_rule(const char *id, const char *tmpl, const char *example,
			 struct ac_error *err);

/*
 * JSON views for the API, the guide and `rules list --json`. rule_json: {id, title, category,
 * severity, pack, file, line, specificity, conditions[{kind,field,pattern}], causes[],
 * fix[{step,command?}], references[]}. rule_match_json: the same plus "captures" {name: value};
 * NULL when m has no rule. New references the caller json_decref()s; NULL on ENOMEM.
 */
json_t *rule_json(const struct rule *r);
json_t *rule_match_json(const struct rule_match *m);

/* Field names as used in rule files ("message", ...); NULL for an out-of-range value. */
const char *rule_field_name(enum rule_field f);

#endif

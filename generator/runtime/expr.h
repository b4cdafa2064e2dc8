/*
 * expr.h — the safe expression language of blueprints (conditions, routing rules, filters).
 *
 * One implementation shared by the generator (which compiles every expression at validation
 * time, so errors surface with a column before any code is generated) and by generated systems
 * (which compile it once at start-up and evaluate it per message). It depends only on the C
 * library, jansson and PCRE2, never on the autocoder binary.
 *
 * Language
 *   expr     := or
 *   or       := and  { ("or" | "||") and }
 *   and      := not  { ("and" | "&&") not }
 *   not      := ("not" | "!") not | cmp
 *   cmp      := operand [ ("==" | "!=" | "<" | "<=" | ">" | ">=") operand
 *                       | ["not"] "in" operand
 *                       | "contains" operand
 *                       | "matches" STRING ]
 *   operand  := NUMBER | STRING | true | false | null | PATH | "(" expr ")" | "[" [operand {"," operand}] "]"
 *   PATH     := ident { "." (ident | digits) }      e.g. amount, item.user.country, items.0.sku
 *   STRING   := "..." or '...' with \" \' \\ \n \t escapes (other backslashes are kept, so
 *               regexes like "^\d+$" work unchanged)
 *   True/False/None are accepted as spellings of true/false/null.
 *
 * Semantics (never fails at run time)
 *   - A path looks the field up in the message; a missing field is null. A leading `input.`,
 *     `message.` or `data.` refers to the message itself when the message has no such key.
 *     Numeric segments index arrays.
 *   - `==` / `!=`: numbers compare numerically (1 == 1.0), strings/bools/null by value, arrays
 *     and objects structurally; null equals only null (so `x == null` tests absence).
 *   - `< <= > >=`: numbers numerically, strings bytewise; anything else (null, a type mismatch)
 *     is false.
 *   - `a in [..]` / `a in field`: a equals an element of the list/array, or a is a substring of
 *     a string. `a contains b`: b is a substring of string a, or equals an element of array a,
 *     or is a key of object a. `a matches "re"`: a is a string matched by the PCRE2 regex
 *     (unanchored; compiled once at compile time, with a match limit).
 *   - A bare operand in boolean position is truthy when it is true, a non-zero number, a
 *     non-empty string, array or object.
 *
 * Thread safety: a compiled expression is read-only; several threads may evaluate it at once.
 */
#ifndef AC_EXPR_H
#define AC_EXPR_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

/* Compiled expression, opaque. */
struct expr;

/* Longest source accepted by expr_compile (bytes). */
#define EXPR_MAX_SOURCE 8192

/* Compile src (NUL-terminated). Returns 0 with *out set (the caller frees it with expr_free()),
 * or -1 with errbuf holding a one-line message (without position) and *err_column the 1-based
 * byte column in src of the problem. errbuf/err_column may be NULL/0-length. */
int expr_compile(const char *src, struct expr **out, char *errbuf, size_t errlen,
		 int *err_column);

/* Evaluate against a message (normally a JSON object; any json_t or NULL is accepted).
 * Never fails: type mismatches evaluate to false. */
bool expr_eval(const struct expr *e, const json_t *msg);

/* The source text the expression was compiled from. */
const char *expr_source(const struct expr *e);

/* Free a compiled expression. Safe on NULL. */
void expr_free(struct expr *e);

#endif

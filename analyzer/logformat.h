/*
 * logformat.h — line formats in logparser's notation ('<Date> <Time> <Level> <Component>:
 * <Content>'), shared by `autocoder cluster` (mines the content) and `autocoder send` (turns
 * the header fields into an event's level, component and tags).
 *
 * A format compiles to one anchored PCRE2 pattern: every <Field> matches lazily, a run of
 * spaces matches any whitespace, "\X" is X, "( ... )?" around fields marks an optional part.
 * The format must contain <Content> exactly once.
 */
#ifndef AC_LOGFORMAT_H
#define AC_LOGFORMAT_H

#include <stdbool.h>
#include <stddef.h>

struct ac_error;
struct logformat;

/* Compile spec; NULL with err naming the problem ("bad --format at column 7: ..."). */
struct logformat *logformat_compile(const char *spec, struct ac_error *err);
void logformat_free(struct logformat *f);

/* Point *content at the line's <Content>; false when the format does not fit the line (then
 * *content is the whole line). A NULL format fits every line whole. */
bool logformat_content(struct logformat *f, const char *line, size_t n, const char **content,
		       size_t *clen);

/* After a logformat_content() that returned true: the number of named fields, and field i's
 * name and matched text (*p = NULL when an optional field did not take part). */
size_t logformat_nfields(const struct logformat *f);
const char *logformat_field(struct logformat *f, size_t i, const char *line, const char **p,
			    size_t *n);

#endif

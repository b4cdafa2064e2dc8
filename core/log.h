/*
 * log.h — structured JSON log lines on stderr.
 *
 * One line per call: {"ts":"2026-11-24T23:05:01.123Z","level":"info","msg":"...", k: v...}.
 * Extra fields are given as alternating key/value C strings ending with NULL; values are
 * JSON-escaped strings. Thread-safe (one fwrite per line). The minimum level is global.
 */
#ifndef AC_LOG_H
#define AC_LOG_H

#include <stdbool.h>

enum ac_log_level { AC_LOG_DEBUG, AC_LOG_INFO, AC_LOG_WARN, AC_LOG_ERROR };

void ac_log_set_level(enum ac_log_level lvl);
/* Whether a line at lvl would be written (for callers that build their own lines). */
bool ac_log_enabled(enum ac_log_level lvl);
/* Parse "debug|info|warn|error"; returns 0 or AC_EINVAL. */
int ac_log_parse_level(const char *s, enum ac_log_level *out);
/* Log msg with key/value string pairs, terminated by NULL. */
void ac_log(enum ac_log_level lvl, const char *msg, ...) __attribute__((sentinel));

#endif

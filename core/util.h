/*
 * util.h — small helpers shared by every module: time, number parsing, UTF-8, ids, files.
 */
#ifndef AC_UTIL_H
#define AC_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ac_error;

/* Wall clock in seconds since the epoch, with sub-second precision. */
double ac_now(void);
/* Monotonic clock in seconds. */
double ac_monotonic(void);
/* Current UTC time as 2026-11-24T23:05:01.123Z into buf (>= 25 bytes). */
void ac_now_iso8601(char *buf, size_t n);
/* Format unix seconds as ISO-8601 UTC with milliseconds. */
void ac_format_iso8601(double t, char *buf, size_t n);
/* Parse ISO-8601 / RFC 3339 ("2026-11-24T23:05:01.5Z", "+01:00" offsets, or a date) or a
 * plain number of unix seconds (or milliseconds when > 1e11). 0 or AC_EINVAL. */
int ac_parse_time(const char *s, double *out);

/* Parse a whole decimal integer / number. 0 or AC_EINVAL (junk, empty, overflow). */
int ac_parse_i64(const char *s, int64_t *out);
int ac_parse_double(const char *s, double *out);
/* Parse sizes like "1048576", "512k", "20M", "1G", "64Mi". 0 or AC_EINVAL. */
int ac_parse_size(const char *s, size_t *out);

/* True when s[0..n) is valid UTF-8 (no overlongs, no surrogates, <= U+10FFFF).
 * If bad_off is non-NULL it receives the offset of the first invalid byte. */
bool ac_utf8_valid(const char *s, size_t n, size_t *bad_off);

/* Write 32 lowercase hex chars of a random UUIDv4 without dashes (Sentry style) + NUL. */
void ac_uuid_hex(char out[33]);
/* Fill out with n random bytes rendered as 2n hex chars + NUL. */
void ac_random_hex(char *out, size_t nbytes);

/* Read a whole file (bounded by max). Returns a malloc'd NUL-terminated buffer the caller
 * frees, or NULL with err set. */
char *ac_read_file(const char *path, size_t max, size_t *len, struct ac_error *err);
/* Write data to path atomically (temp file + rename). 0 or negative with err set. */
int ac_write_file(const char *path, const void *data, size_t len, struct ac_error *err);
/* mkdir -p. 0 or negative with err set. */
int ac_mkdir_p(const char *path, struct ac_error *err);

#endif

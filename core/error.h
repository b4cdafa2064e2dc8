/*
 * error.h — the one error convention used everywhere (after libuv and Git).
 *
 * Functions return 0 on success or a negative AC_E* code on failure and, when the caller
 * passes a non-NULL `struct ac_error *`, fill it with a human message. A 4xx HTTP reply is a
 * successful function that sent an error; AC_E* codes are for failures of the function itself.
 * The struct is plain data (no allocation), so it never needs freeing.
 */
#ifndef AC_ERROR_H
#define AC_ERROR_H

#include <stddef.h>

enum ac_errcode {
	AC_OK = 0,
	AC_EINVAL = -1,    /* bad input: parse error, wrong type, failed validation */
	AC_ENOMEM = -2,    /* allocation failed */
	AC_EIO = -3,       /* OS or file error */
	AC_EDB = -4,       /* SQLite error */
	AC_ETOOBIG = -5,   /* a bounded buffer or limit was exceeded */
	AC_ENOTFOUND = -6, /* a named thing does not exist */
	AC_EBUSY = -7,     /* overloaded: queue full, try later */
	AC_EAUTH = -8,     /* missing or invalid credentials */
	AC_EFORBID = -9,   /* valid credentials for something else */
	AC_EUNSUPP = -10,  /* unsupported media type or feature */
};

struct ac_error {
	int code;        /* one of enum ac_errcode */
	char what[48];   /* short machine code, e.g. "invalid_json" (may be empty) */
	char msg[512];   /* human text naming the problem */
};

/* Fill err (if non-NULL) and return code. `what` may be NULL. printf-style message. */
int ac_error_set(struct ac_error *err, int code, const char *what, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Reset to "no error". Safe on NULL. */
void ac_error_clear(struct ac_error *err);

/* Name of an error code ("invalid input", "out of memory", ...). Never NULL. */
const char *ac_strerror(int code);

/* Always-on check for impossible states (Git's BUG()): prints file:line and aborts. */
#define AC_BUG(...) ac_bug(__FILE__, __LINE__, __VA_ARGS__)
void ac_bug(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4), noreturn));

#endif

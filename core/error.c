/*
 * error.c — filling struct ac_error and the always-on BUG() check. See error.h.
 */
#include "core/common.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

int ac_error_set(struct ac_error *err, int code, const char *what, const char *fmt, ...)
{
	if (err) {
		va_list ap;
		err->code = code;
		snprintf(err->what, sizeof err->what, "%s", what ? what : "");
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof err->msg, fmt, ap);
		va_end(ap);
	}
	return code;
}

void ac_error_clear(struct ac_error *err)
{
	if (err) {
		err->code = 0;
		err->what[0] = '\0';
		err->msg[0] = '\0';
	}
}

const char *ac_strerror(int code)
{
	switch (code) {
	case AC_OK: return "ok";
	case AC_EINVAL: return "invalid input";
	case AC_ENOMEM: return "out of memory";
	case AC_EIO: return "I/O error";
	case AC_EDB: return "database error";
	case AC_ETOOBIG: return "too large";
	case AC_ENOTFOUND: return "not found";
	case AC_EBUSY: return "busy";
	case AC_EAUTH: return "unauthorized";
	case AC_EFORBID: return "forbidden";
	case AC_EUNSUPP: return "unsupported";
	default: return "unknown error";
	}
}

void ac_bug(const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "BUG at %s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

/*
 * log.c — JSON log lines. Builds the whole line in a stack buffer and writes it with one
 * fwrite so lines from different threads never interleave.
 */
#include "core/common.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

static enum ac_log_level min_level = AC_LOG_INFO;

void ac_log_set_level(enum ac_log_level lvl)
{
	min_level = lvl;
}

bool ac_log_enabled(enum ac_log_level lvl)
{
	return lvl >= min_level;
}

int ac_log_parse_level(const char *s, enum ac_log_level *out)
{
	static const char *names[] = { "debug", "info", "warn", "error" };
	for (size_t i = 0; i < AC_ARRAY_SIZE(names); i++)
		if (strcmp(s, names[i]) == 0) {
			*out = (enum ac_log_level)i;
			return 0;
		}
	return AC_EINVAL;
}

static void log_escaped(struct ac_buf *b, const char *s)
{
	ac_buf_puts(b, "\"");
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			ac_buf_printf(b, "\\%c", c);
		else if (c < 0x20)
			ac_buf_printf(b, "\\u%04x", c);
		else
			ac_buf_append(b, s, 1);
	}
	ac_buf_puts(b, "\"");
}

void ac_log(enum ac_log_level lvl, const char *msg, ...)
{
	static const char *names[] = { "debug", "info", "warn", "error" };
	char ts[40];
	struct ac_buf b;
	va_list ap;
	const char *k, *v;

	if (lvl < min_level)
		return;
	ac_now_iso8601(ts, sizeof ts);
	ac_buf_init(&b, 16384);
	ac_buf_printf(&b, "{\"ts\":\"%s\",\"level\":\"%s\",\"msg\":", ts, names[lvl]);
	log_escaped(&b, msg);
	va_start(ap, msg);
	while ((k = va_arg(ap, const char *)) != NULL) {
		v = va_arg(ap, const char *);
		ac_buf_puts(&b, ",");
		log_escaped(&b, k);
		ac_buf_puts(&b, ":");
		log_escaped(&b, v ? v : "");
	}
	va_end(ap);
	ac_buf_puts(&b, "}\n");
	if (b.data)
		fwrite(b.data, 1, b.len, stderr);
	ac_buf_release(&b);
}

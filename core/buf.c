/*
 * buf.c — bounded growable buffer. Growth doubles capacity up to `max` + 1 (for the NUL).
 */
#include "core/common.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

void ac_buf_init(struct ac_buf *b, size_t max)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max;
}

static int buf_grow(struct ac_buf *b, size_t need)
{
	size_t cap;
	char *p;

	if (need > b->max)
		return AC_ETOOBIG;
	if (need + 1 <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 256;
	while (cap < need + 1)
		cap = cap > SIZE_MAX / 2 ? need + 1 : cap * 2;
	if (b->max < SIZE_MAX && cap > b->max + 1)
		cap = b->max + 1;
	p = realloc(b->data, cap);
	if (!p)
		return AC_ENOMEM;
	b->data = p;
	b->cap = cap;
	return 0;
}

int ac_buf_append(struct ac_buf *b, const void *p, size_t n)
{
	int rc;

	if (n > SIZE_MAX - b->len - 1)
		return AC_ETOOBIG;
	rc = buf_grow(b, b->len + n);
	if (rc)
		return rc;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int ac_buf_puts(struct ac_buf *b, const char *s)
{
	return ac_buf_append(b, s, strlen(s));
}

int ac_buf_printf(struct ac_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n, rc;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return AC_EINVAL;
	rc = buf_grow(b, b->len + (size_t)n);
	if (rc)
		return rc;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

void ac_buf_reset(struct ac_buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

char *ac_buf_detach(struct ac_buf *b, size_t *len)
{
	char *p;

	if (!b->data && ac_buf_append(b, "", 0) < 0)
		return NULL;
	p = b->data;
	if (len)
		*len = b->len;
	b->data = NULL;
	b->len = b->cap = 0;
	return p;
}

void ac_buf_release(struct ac_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

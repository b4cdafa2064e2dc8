/*
 * buf.h — a growable byte buffer with a hard maximum (after curl's dynbuf).
 *
 * Every buffer that grows from input has a bound: request bodies, decompressed data,
 * generated files. Appending past `max` fails with AC_ETOOBIG and leaves the buffer as it was.
 * The data is always NUL-terminated (the terminator is not counted in `len`).
 *
 *   struct ac_buf b; ac_buf_init(&b, 1 << 20);
 *   if (ac_buf_append(&b, p, n) < 0) ...;
 *   ac_buf_release(&b);
 */
#ifndef AC_BUF_H
#define AC_BUF_H

#include <stddef.h>

struct ac_buf {
	char *data;   /* NULL until the first append; owned by the buffer */
	size_t len;   /* bytes used, excluding the NUL */
	size_t cap;   /* bytes allocated */
	size_t max;   /* hard limit on len */
};

void ac_buf_init(struct ac_buf *b, size_t max);
/* Append n bytes. 0, AC_ETOOBIG past max, AC_ENOMEM. */
int ac_buf_append(struct ac_buf *b, const void *p, size_t n);
int ac_buf_puts(struct ac_buf *b, const char *s);
int ac_buf_printf(struct ac_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void ac_buf_reset(struct ac_buf *b);
/* Hand the data to the caller (who frees it); the buffer becomes empty. Never NULL on success. */
char *ac_buf_detach(struct ac_buf *b, size_t *len);
/* Free the data. Safe on a zeroed or released buffer. */
void ac_buf_release(struct ac_buf *b);

#endif

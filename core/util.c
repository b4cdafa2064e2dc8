/*
 * util.c — time, number parsing, UTF-8 validation, random ids and whole-file I/O.
 */
#include "core/common.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

double ac_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

double ac_monotonic(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

void ac_format_iso8601(double t, char *buf, size_t n)
{
	struct tm tm;
	time_t secs = (time_t)floor(t);
	int ms = (int)((t - floor(t)) * 1000.0);

	if (ms > 999)
		ms = 999;
	gmtime_r(&secs, &tm);
	snprintf(buf, n, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
}

void ac_now_iso8601(char *buf, size_t n)
{
	ac_format_iso8601(ac_now(), buf, n);
}

static int parse_digits(const char **p, int count, int *out)
{
	int v = 0;
	for (int i = 0; i < count; i++) {
		if ((*p)[i] < '0' || (*p)[i] > '9')
			return AC_EINVAL;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += count;
	*out = v;
	return 0;
}

int ac_parse_time(const char *s, double *out)
{
	int y, mo, d, h = 0, mi = 0, sec = 0;
	double frac = 0, offset = 0;
	const char *p = s;
	struct tm tm;

	if (!s || !*s)
		return AC_EINVAL;
	if (ac_parse_double(s, out) == 0) {
		if (!isfinite(*out) || *out < 0)
			return AC_EINVAL;
		if (*out > 1e11)
			*out /= 1000.0;
		return 0;
	}
	if (parse_digits(&p, 4, &y) || *p++ != '-' || parse_digits(&p, 2, &mo) || *p++ != '-' ||
	    parse_digits(&p, 2, &d))
		return AC_EINVAL;
	if (*p == 'T' || *p == 't' || *p == ' ') {
		p++;
		if (parse_digits(&p, 2, &h) || *p++ != ':' || parse_digits(&p, 2, &mi))
			return AC_EINVAL;
		if (*p == ':') {
			p++;
			if (parse_digits(&p, 2, &sec))
				return AC_EINVAL;
			if (*p == '.' || *p == ',') {
				double scale = 0.1;
				p++;
				if (*p < '0' || *p > '9')
					return AC_EINVAL;
				while (*p >= '0' && *p <= '9') {
					frac += (*p - '0') * scale;
					scale /= 10;
					p++;
				}
			}
		}
		if (*p == 'Z' || *p == 'z') {
			p++;
		} else if (*p == '+' || *p == '-') {
			int oh, om = 0, sign = *p == '-' ? -1 : 1;
			p++;
			if (parse_digits(&p, 2, &oh))
				return AC_EINVAL;
			if (*p == ':')
				p++;
			if (*p && parse_digits(&p, 2, &om))
				return AC_EINVAL;
			offset = sign * (oh * 3600.0 + om * 60.0);
		}
	}
	if (*p || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
		return AC_EINVAL;
	memset(&tm, 0, sizeof tm);
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	*out = (double)timegm(&tm) + frac - offset;
	return 0;
}

int ac_parse_i64(const char *s, int64_t *out)
{
	char *end;
	long long v;

	if (!s || !*s)
		return AC_EINVAL;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end)
		return AC_EINVAL;
	*out = v;
	return 0;
}

int ac_parse_double(const char *s, double *out)
{
	char *end;
	double v;

	if (!s || !*s)
		return AC_EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || end == s)
		return AC_EINVAL;
	*out = v;
	return 0;
}

int ac_parse_size(const char *s, size_t *out)
{
	char *end;
	unsigned long long v, mul = 1;

	if (!s || *s < '0' || *s > '9')
		return AC_EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return AC_EINVAL;
	switch (*end) {
	case '\0': break;
	case 'k': case 'K': mul = 1ULL << 10; end++; break;
	case 'm': case 'M': mul = 1ULL << 20; end++; break;
	case 'g': case 'G': mul = 1ULL << 30; end++; break;
	default: return AC_EINVAL;
	}
	if (*end == 'i' || *end == 'B' || *end == 'b')
		end++;
	if (*end || (mul > 1 && v > SIZE_MAX / mul))
		return AC_EINVAL;
	*out = (size_t)(v * mul);
	return 0;
}

bool ac_utf8_valid(const char *str, size_t n, size_t *bad_off)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;

	while (i < n) {
		unsigned char c = s[i];
		size_t len;
		uint32_t cp;

		if (c < 0x80) {
			i++;
			continue;
		} else if ((c & 0xE0) == 0xC0) {
			len = 2;
			cp = c & 0x1F;
		} else if ((c & 0xF0) == 0xE0) {
			len = 3;
			cp = c & 0x0F;
		} else if ((c & 0xF8) == 0xF0) {
			len = 4;
			cp = c & 0x07;
		} else {
			goto bad;
		}
		if (i + len > n)
			goto bad;
		for (size_t k = 1; k < len; k++) {
			if ((s[i + k] & 0xC0) != 0x80)
				goto bad;
			cp = (cp << 6) | (s[i + k] & 0x3F);
		}
		if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
		    cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			goto bad;
		i += len;
	}
	return true;
bad:
	if (bad_off)
		*bad_off = i;
	return false;
}

static void fill_random(unsigned char *p, size_t n)
{
	size_t got = 0;
	while (got < n) {
		ssize_t r = getrandom(p + got, n - got, 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			AC_BUG("getrandom failed: %s", strerror(errno));
		}
		got += (size_t)r;
	}
}

void ac_random_hex(char *out, size_t nbytes)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char raw[64];

	while (nbytes > 0) {
		size_t chunk = nbytes > sizeof raw ? sizeof raw : nbytes;
		fill_random(raw, chunk);
		for (size_t i = 0; i < chunk; i++) {
			*out++ = hex[raw[i] >> 4];
			*out++ = hex[raw[i] & 15];
		}
		nbytes -= chunk;
	}
	*out = '\0';
}

void ac_uuid_hex(char out[33])
{
	ac_random_hex(out, 16);
	out[12] = '4';
	out[16] = "89ab"[(out[16] - '0') & 3];
}

char *ac_read_file(const char *path, size_t max, size_t *len, struct ac_error *err)
{
	struct ac_buf b;
	char chunk[65536];
	FILE *f = fopen(path, "rb");
	size_t n;

	if (!f) {
		ac_error_set(err, AC_EIO, "io", "%s: %s", path, strerror(errno));
		return NULL;
	}
	ac_buf_init(&b, max);
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
		int rc = ac_buf_append(&b, chunk, n);
		if (rc) {
			ac_error_set(err, rc, "too_large", "%s: larger than %zu bytes", path, max);
			goto fail;
		}
	}
	if (ferror(f)) {
		ac_error_set(err, AC_EIO, "io", "%s: read error", path);
		goto fail;
	}
	fclose(f);
	return ac_buf_detach(&b, len);
fail:
	fclose(f);
	ac_buf_release(&b);
	return NULL;
}

int ac_write_file(const char *path, const void *data, size_t len, struct ac_error *err)
{
	char tmp[4096];
	int fd = -1, rc = 0;
	const char *p = data;

	if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid()) >= sizeof tmp)
		return ac_error_set(err, AC_EINVAL, "path", "%s: path too long", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return ac_error_set(err, AC_EIO, "io", "%s: %s", tmp, strerror(errno));
	while (len > 0) {
		ssize_t w = write(fd, p, len);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			rc = ac_error_set(err, AC_EIO, "io", "%s: %s", tmp, strerror(errno));
			goto out;
		}
		p += w;
		len -= (size_t)w;
	}
	if (close(fd) < 0) {
		fd = -1;
		rc = ac_error_set(err, AC_EIO, "io", "%s: %s", tmp, strerror(errno));
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) < 0)
		rc = ac_error_set(err, AC_EIO, "io", "%s: %s", path, strerror(errno));
out:
	if (fd >= 0)
		close(fd);
	if (rc)
		unlink(tmp);
	return rc;
}

int ac_mkdir_p(const char *path, struct ac_error *err)
{
	char tmp[4096];
	size_t n = strlen(path);

	if (n == 0 || n >= sizeof tmp)
		return ac_error_set(err, AC_EINVAL, "path", "bad directory path '%s'", path);
	memcpy(tmp, path, n + 1);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
			return ac_error_set(err, AC_EIO, "io", "mkdir %s: %s", tmp, strerror(errno));
		*p = '/';
	}
	if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
		return ac_error_set(err, AC_EIO, "io", "mkdir %s: %s", tmp, strerror(errno));
	return 0;
}

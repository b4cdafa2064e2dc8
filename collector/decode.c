/*
 * decode.c — Content-Encoding: gzip and deflate request bodies, inflated with zlib into a
 * buffer that may not grow past the decoded-size limit (a zip bomb is a 413, not an OOM).
 * "deflate" is accepted both as RFC 1950 zlib data (what the spec says) and as raw RFC 1951
 * data (what several clients send); zlib's auto-detection (windowBits 32+15) covers gzip
 * and zlib, and a failed zlib header check retries as raw deflate.
 */
#include "core/common.h"
#include "collector/internal.h"

#include <strings.h>
#include <zlib.h>

static int inflate_all(const char *in, size_t len, int window_bits, size_t max, char **out,
		       size_t *out_len, struct ac_error *err)
{
	z_stream zs;
	struct ac_buf b;
	unsigned char chunk[65536];
	int zrc, rc = 0;

	memset(&zs, 0, sizeof zs);
	if (inflateInit2(&zs, window_bits) != Z_OK)
		return ac_error_set(err, AC_ENOMEM, "internal", "cannot initialise zlib");
	ac_buf_init(&b, max);
	zs.next_in = (unsigned char *)in;
	zs.avail_in = (uInt)len;
	do {
		zs.next_out = chunk;
		zs.avail_out = sizeof chunk;
		zrc = inflate(&zs, Z_NO_FLUSH);
		if (zrc != Z_OK && zrc != Z_STREAM_END) {
			rc = ac_error_set(err, AC_EINVAL, "bad_encoding",
					  "body is not valid compressed data: %s",
					  zs.msg ? zs.msg : "truncated stream");
			goto out;
		}
		if (ac_buf_append(&b, chunk, sizeof chunk - zs.avail_out)) {
			rc = ac_error_set(err, AC_ETOOBIG, "body_too_large",
					  "body is larger than %zu bytes after decompression", max);
			goto out;
		}
		if (zrc == Z_OK && zs.avail_in == 0 && zs.avail_out != 0) {
			rc = ac_error_set(err, AC_EINVAL, "bad_encoding",
					  "compressed body ends before the end of the stream");
			goto out;
		}
	} while (zrc != Z_STREAM_END);
	*out = ac_buf_detach(&b, out_len);
out:
	inflateEnd(&zs);
	if (rc)
		ac_buf_release(&b);
	return rc;
}

int decode_body(const char *encoding, const char *in, size_t len, size_t max, char **out,
		size_t *out_len, struct ac_error *err)
{
	*out = NULL;
	*out_len = len;
	if (!encoding || !*encoding || !strcasecmp(encoding, "identity"))
		return len > max ? ac_error_set(err, AC_ETOOBIG, "body_too_large",
						"body is larger than %zu bytes", max)
				 : 0;
	if (len > UINT32_MAX)
		return ac_error_set(err, AC_ETOOBIG, "body_too_large", "compressed body too large");
	if (!strcasecmp(encoding, "gzip") || !strcasecmp(encoding, "x-gzip"))
		return inflate_all(in, len, 16 + MAX_WBITS, max, out, out_len, err);
	if (!strcasecmp(encoding, "deflate")) {
		int rc = inflate_all(in, len, MAX_WBITS, max, out, out_len, err);
		if (rc == AC_EINVAL)
			rc = inflate_all(in, len, -MAX_WBITS, max, out, out_len, err);
		return rc;
	}
	return ac_error_set(err, AC_EUNSUPP, "unsupported_encoding",
			    "Content-Encoding '%.40s' is not supported; use gzip, deflate or identity",
			    encoding);
}

/* ---- legacy Sentry (raven) bodies ----
 * Old SDKs POST /store/ bodies without Content-Encoding that are the base64 text of a zlib
 * stream (raven-python, raven-js for node, raven-java: "eJ..."), or the binary compressed
 * stream itself. Like Sentry, we sniff: a body whose first non-blank byte is '{' is JSON;
 * otherwise a gzip/zlib magic is inflated; otherwise a body of only base64 characters is
 * decoded and its bytes inflated as gzip, zlib or raw deflate (or taken as is when they are
 * JSON text). Every inflate is bounded by max, exactly like a Content-Encoding body. */

static int b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+' || c == '-')
		return 62;
	if (c == '/' || c == '_')
		return 63;
	return -1;
}

/* Decode standard or URL-safe base64 (whitespace ignored, padding optional) into a new
 * buffer. AC_EINVAL when a byte is not base64 or the length is impossible. */
static int base64_decode(const char *in, size_t len, unsigned char **out, size_t *out_len)
{
	unsigned char *o = malloc(len / 4 * 3 + 3);
	size_t n = 0, pad = 0;
	unsigned acc = 0, bits = 0;

	if (!o)
		return AC_ENOMEM;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];
		int v;
		if (c == ' ' || c == '\n' || c == '\r' || c == '\t')
			continue;
		if (c == '=') {
			pad++;
			continue;
		}
		if (pad || (v = b64_value(c)) < 0) {
			free(o);
			return AC_EINVAL;
		}
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			o[n++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	if (bits >= 6 || pad > 2) {
		free(o);
		return AC_EINVAL;
	}
	*out = o;
	*out_len = n;
	return 0;
}

static bool zlib_magic(const unsigned char *p, size_t n)
{
	return n >= 2 && (p[0] & 0x0f) == 8 && (p[0] >> 4) <= 7 && ((p[0] << 8) | p[1]) % 31 == 0;
}

static bool gzip_magic(const unsigned char *p, size_t n)
{
	return n >= 2 && p[0] == 0x1f && p[1] == 0x8b;
}

/* Inflate compressed bytes of unknown kind: gzip or zlib by their magic, else raw deflate. */
static int inflate_sniffed(const unsigned char *p, size_t n, size_t max, char **out,
			   size_t *out_len, struct ac_error *err)
{
	if (n > UINT32_MAX)
		return ac_error_set(err, AC_ETOOBIG, "body_too_large", "compressed body too large");
	if (gzip_magic(p, n))
		return inflate_all((const char *)p, n, 16 + MAX_WBITS, max, out, out_len, err);
	if (zlib_magic(p, n)) {
		int rc = inflate_all((const char *)p, n, MAX_WBITS, max, out, out_len, err);
		if (rc != AC_EINVAL)
			return rc;
	}
	return inflate_all((const char *)p, n, -MAX_WBITS, max, out, out_len, err);
}

int decode_sniff_legacy(const char *in, size_t len, size_t max, char **out, size_t *out_len,
			struct ac_error *err)
{
	const unsigned char *p = (const unsigned char *)in;
	size_t skip = 0;
	unsigned char *raw = NULL;
	size_t raw_len = 0;
	int rc;

	*out = NULL;
	*out_len = len;
	while (skip < len && (p[skip] == ' ' || p[skip] == '\n' || p[skip] == '\r' || p[skip] == '\t'))
		skip++;
	if (skip == len || p[skip] == '{' || p[skip] == '[')
		return 0;
	if (gzip_magic(p, len) || zlib_magic(p, len))
		return inflate_sniffed(p, len, max, out, out_len, err);
	rc = base64_decode(in + skip, len - skip, &raw, &raw_len);
	if (rc == AC_ENOMEM)
		return ac_error_set(err, AC_ENOMEM, "internal", "out of memory");
	if (rc)
		return ac_error_set(err, AC_EINVAL, "invalid_body",
				    "body is neither JSON nor base64 of compressed JSON (legacy Sentry form)");
	if (raw_len && (raw[0] == '{' || raw[0] == '[')) {
		if (raw_len > max) {
			free(raw);
			return ac_error_set(err, AC_ETOOBIG, "body_too_large",
					    "body is larger than %zu bytes after decoding", max);
		}
		*out = realloc(raw, raw_len + 1);
		if (!*out) {
			free(raw);
			return ac_error_set(err, AC_ENOMEM, "internal", "out of memory");
		}
		(*out)[raw_len] = '\0';
		*out_len = raw_len;
		return 0;
	}
	rc = inflate_sniffed(raw, raw_len, max, out, out_len, err);
	free(raw);
	if (rc == AC_EINVAL) {
		char why[256];
		snprintf(why, sizeof why, "%.200s", err->msg);
		ac_error_set(err, AC_EINVAL, "bad_encoding",
			     "body is base64 but not of zlib, gzip or deflate data: %s", why);
	}
	return rc;
}

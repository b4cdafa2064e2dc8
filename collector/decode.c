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

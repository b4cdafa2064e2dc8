/*
 * sha256.h — SHA-256 (FIPS 180-4), used to store API tokens hashed, and a constant-time
 * comparison for secrets. Small and dependency-free; checked against the FIPS test vectors in
 * tests/unit/check_trust.c.
 */
#ifndef AC_SHA256_H
#define AC_SHA256_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AC_SHA256_LEN 32

/* digest = SHA-256(data[0..len)) */
void ac_sha256(const void *data, size_t len, unsigned char digest[AC_SHA256_LEN]);
/* The digest as 64 lower-case hex characters plus NUL. */
void ac_sha256_hex(const void *data, size_t len, char hex[2 * AC_SHA256_LEN + 1]);
/* true when a[0..n) == b[0..n); the time taken does not depend on where they differ. */
bool ac_equal_ct(const void *a, const void *b, size_t n);

#endif

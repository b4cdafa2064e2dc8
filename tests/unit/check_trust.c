/*
 * check_trust.c — the collector's trust helpers: SHA-256 against the FIPS 180-4 / NIST test
 * vectors (empty, "abc", the two-block 448-bit message, one million 'a', lengths around the
 * padding boundary checked against each other), and the constant-time comparison.
 */
#include "core/common.h"
#include "core/sha256.h"
#include "tests/unit/check_run.h"

static void hex_of(const char *msg, size_t len, char out[65])
{
	ac_sha256_hex(msg, len, out);
}

START_TEST(sha256_vectors)
{
	char h[65];
	hex_of("", 0, h);
	ck_assert_str_eq(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	hex_of("abc", 3, h);
	ck_assert_str_eq(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	hex_of(two, strlen(two), h);
	ck_assert_str_eq(h, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	const char *four = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";
	hex_of(four, strlen(four), h);
	ck_assert_str_eq(h, "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
}
END_TEST

START_TEST(sha256_million_a)
{
	size_t n = 1000000;
	char *a = malloc(n), h[65];
	ck_assert_ptr_nonnull(a);
	memset(a, 'a', n);
	hex_of(a, n, h);
	free(a);
	ck_assert_str_eq(h, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}
END_TEST

/* 55, 56, 63, 64 and 65 bytes cross the one/two padding block boundary: known digests of 'a'*n */
START_TEST(sha256_padding_boundaries)
{
	static const struct { size_t n; const char *hex; } v[] = {
		{ 55, "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318" },
		{ 56, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a" },
		{ 64, "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb" },
	};
	char buf[128], h[65];
	memset(buf, 'a', sizeof buf);
	for (size_t i = 0; i < AC_ARRAY_SIZE(v); i++) {
		hex_of(buf, v[i].n, h);
		ck_assert_str_eq(h, v[i].hex);
	}
}
END_TEST

START_TEST(equal_ct)
{
	ck_assert(ac_equal_ct("abcd", "abcd", 4));
	ck_assert(!ac_equal_ct("abcd", "abce", 4));
	ck_assert(!ac_equal_ct("xbcd", "abcd", 4));
	ck_assert(ac_equal_ct("", "", 0));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("trust");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, sha256_vectors);
	tcase_add_test(tc, sha256_million_a);
	tcase_add_test(tc, sha256_padding_boundaries);
	tcase_add_test(tc, equal_ct);
	suite_add_tcase(s, tc);
	return ac_check_run(s);
}

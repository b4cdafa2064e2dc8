/*
 * event_id.c — the one rule for client event ids, shared by the JSON and the fast path.
 *
 * Ids are kept as sent ("Case-A" and "case-a" are different events), with one exception:
 * the Sentry form — 32 hex digits, or a UUID 8-4-4-4-12 with dashes — is lower-cased and
 * loses its dashes, so the same Sentry event sent either way is one id. Allowed characters
 * are letters, digits and - _ . : (ids appear in replies and URLs unescaped); at most 64.
 */
#include "core/common.h"
#include "collector/internal.h"

static bool is_hex(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* The 32-hex or dashed-UUID form. */
static bool sentry_form(const char *s, size_t n)
{
	if (n != 32 && n != 36)
		return false;
	for (size_t i = 0; i < n; i++) {
		bool dash = n == 36 && (i == 8 || i == 13 || i == 18 || i == 23);
		if (dash ? s[i] != '-' : !is_hex((unsigned char)s[i]))
			return false;
	}
	return true;
}

int event_id_canonical(const char *s, size_t n, char out[65])
{
	size_t o = 0;

	if (n == 0)
		return EVENT_ID_EMPTY;
	if (sentry_form(s, n)) {
		for (size_t i = 0; i < n; i++)
			if (s[i] != '-')
				out[o++] = (char)(s[i] >= 'A' && s[i] <= 'F' ? s[i] + 32 : s[i]);
		out[o] = '\0';
		return 0;
	}
	if (n > 64)
		return EVENT_ID_TOO_LONG;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      c == '_' || c == '-' || c == '.' || c == ':'))
			return EVENT_ID_BAD_CHAR;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return 0;
}

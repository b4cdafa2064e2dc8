/*
 * scrub.c — the data scrubber: personal data and secrets become "[Filtered]" before an event
 * is stored, as Sentry's server-side data scrubber does (docs/API.md, "Privacy scrubbing").
 *
 *   - the value (any type, whole subtree) of every key, at any depth, whose name contains
 *     password, passwd, secret, api_key, apikey, token, auth, credential, cookie, session or
 *     private_key (case-insensitive; "authorization" and "set-cookie" match too);
 *   - card numbers (13-19 digits starting with 2-6, contiguous or in groups of 4-6 split by
 *     one kind of separator, passing the Luhn check)
 *     inside any string value, messages included;
 *   - with the project's "scrub user" setting on: user.email and user.ip_address.
 *
 * It works on the job's rows, after every ingest path has produced them (server.c calls
 * scrub_job() in submit(), the one place all stored events pass). A row is parsed only when
 * a quick scan of its JSON text finds a sensitive key stem or a long digit run, so clean
 * events cost one pass over their bytes; a scrubbed event's JSON and columns are rebuilt.
 */
#include "core/common.h"
#include "collector/internal.h"

#include <ctype.h>
#include <strings.h>

static const char *const key_stems[] = {
	"password", "passwd", "secret", "api_key", "apikey", "token", "auth", "credential",
	"cookie", "session", "private_key", "privatekey", NULL,
};

static const char FILTERED[] = "[Filtered]";

static bool key_sensitive(const char *key)
{
	for (size_t i = 0; key_stems[i]; i++)
		if (strcasestr(key, key_stems[i]))
			return true;
	return false;
}

/* ---- the quick scan ---- */

static size_t card_at(const char *s, const char *end);

/* A digit run of 13+ digits in [run, stop): does a card number start anywhere filter_cards
 * would look (a digit not preceded by a digit)? */
static bool run_has_card(const char *s, const char *run, const char *stop, const char *end)
{
	for (const char *q = run; q < stop; q++)
		if (*q >= '0' && *q <= '9' && (q == s || q[-1] < '0' || q[-1] > '9') && card_at(q, end))
			return true;
	return false;
}

static bool stem_here(const char *k, const char *end, const char *stem, size_t n)
{
	if ((size_t)(end - k) < n)
		return false;
	for (size_t i = 1; i < n; i++) {   /* the first letter matched already */
		char c = k[i] >= 'A' && k[i] <= 'Z' ? (char)(k[i] + 32) : k[i];
		if (c != stem[i])
			return false;
	}
	return true;
}

/* Does the key text k[0..n) contain a sensitive stem (or, with user, email/ip_address)?
 * Keys are short: one pass, comparing only where a stem's first letter is. */
static bool key_text_sensitive(const char *k, size_t n, bool user)
{
	const char *end = k + n;

	for (const char *p = k; p + 4 <= end; p++) {
		switch (*p | 0x20) {
		case 'p':
			if (stem_here(p, end, "passw", 5) || stem_here(p, end, "private_key", 11) ||
			    stem_here(p, end, "privatekey", 10))
				return true;
			break;
		case 's':
			if (stem_here(p, end, "secret", 6) || stem_here(p, end, "session", 7))
				return true;
			break;
		case 'a':
			if (stem_here(p, end, "auth", 4) || stem_here(p, end, "api_key", 7) ||
			    stem_here(p, end, "apikey", 6))
				return true;
			break;
		case 't':
			if (stem_here(p, end, "token", 5))
				return true;
			break;
		case 'c':
			if (stem_here(p, end, "credential", 10) || stem_here(p, end, "cookie", 6))
				return true;
			break;
		case 'e':
			if (user && stem_here(p, end, "email", 5))
				return true;
			break;
		case 'i':
			if (user && stem_here(p, end, "ip_address", 10))
				return true;
			break;
		default:
			break;
		}
	}
	return false;
}

/* Could the event's compact JSON hold something to scrub? Only object keys (a string followed
 * by ':') are checked against the stems, and digit runs of 13 or more (spaces or dashes
 * between) may be card numbers. An escaped quote makes it a candidate (the parser decides).
 * False positives only cost a parse; this pass is what every clean event pays. */
static bool scrub_candidate(const char *s, size_t len, bool user)
{
	const char *end = s + len, *open = NULL, *run = NULL;
	unsigned digits = 0;

	for (const char *p = s; p < end; p++) {
		unsigned char c;
		if (!digits)
			while (p < end && *p != '"' && (*p < '0' || *p > '9'))
				p++;
		if (p == end)
			break;
		c = (unsigned char)*p;
		if (c >= '0' && c <= '9') {
			if (!digits++)
				run = p;
			continue;
		}
		if ((c == ' ' || c == '-') && digits)
			continue;
		if (digits >= 13 && run_has_card(s, run, p, end))
			return true;
		digits = 0;
		if (c != '"')
			continue;
		if (p[-1] == '\\')
			return true;
		if (!open) {
			open = p;
			continue;
		}
		if (p + 1 < end && p[1] == ':' &&
		    key_text_sensitive(open + 1, (size_t)(p - open - 1), user))
			return true;
		open = NULL;
	}
	return digits >= 13 && run_has_card(s, run, end, end);
}

/* ---- card numbers ---- */

static bool luhn_ok(const char *digits, size_t n)
{
	unsigned sum = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned d = (unsigned)(digits[n - 1 - i] - '0');
		if (i % 2) {
			d *= 2;
			if (d > 9)
				d -= 9;
		}
		sum += d;
	}
	return sum % 10 == 0;
}

/* Whether a run of digits can be a payment card: issuers' numbers start with 2-6 (Mastercard
 * 2/5, Amex/Diners/JCB 3, Visa 4, Discover/UnionPay 6), so epoch milliseconds (1...) and most
 * ids are not mistaken for one; grouped numbers are printed 4-4-4-4, 4-6-5 or 4-6-4, so a
 * separated run needs a first group of 4 and every group of 4 to 6 digits. */
static bool card_shape_ok(const char *digits, size_t n, const size_t *groups, size_t ngroups)
{
	if (n < 13 || digits[0] < '2' || digits[0] > '6')
		return false;
	if (ngroups > 1) {
		if (groups[0] != 4)
			return false;
		for (size_t i = 0; i < ngroups; i++)
			if (groups[i] < 4 || groups[i] > 6)
				return false;
	}
	return luhn_ok(digits, n);
}

/* A card number starting at s: its length in bytes (digits and separators), or 0. One kind of
 * separator (a single space or dash) throughout. */
static size_t card_at(const char *s, const char *end)
{
	char digits[20], sep = 0;
	size_t groups[20], ngroups = 1, n = 0, best = 0;
	const char *p = s;

	groups[0] = 0;
	while (p < end && n < 19) {
		if (*p >= '0' && *p <= '9') {
			digits[n++] = *p++;
			groups[ngroups - 1]++;
			if ((p == end || *p < '0' || *p > '9') &&
			    card_shape_ok(digits, n, groups, ngroups))
				best = (size_t)(p - s);
		} else if ((*p == ' ' || *p == '-') && (!sep || *p == sep) && n &&
			   p + 1 < end && p[1] >= '0' && p[1] <= '9') {
			sep = *p++;
			groups[ngroups++] = 0;
		} else {
			break;
		}
	}
	return best;
}

/* s with card numbers replaced; NULL when s has none. */
static char *filter_cards(const char *s, size_t len)
{
	struct ac_buf b;
	const char *p = s, *end = s + len, *copied = s;
	bool found = false;

	ac_buf_init(&b, len + 64 + len / 2);
	while (p < end) {
		size_t n;
		if (*p >= '0' && *p <= '9' && (p == s || p[-1] < '0' || p[-1] > '9') &&
		    (n = card_at(p, end))) {
			ac_buf_append(&b, copied, (size_t)(p - copied));
			ac_buf_append(&b, FILTERED, sizeof FILTERED - 1);
			p += n;
			copied = p;
			found = true;
			continue;
		}
		p++;
	}
	if (!found) {
		ac_buf_release(&b);
		return NULL;
	}
	ac_buf_append(&b, copied, (size_t)(end - copied));
	return ac_buf_detach(&b, NULL);
}

/* ---- the tree ---- */

static bool scrub_value(json_t *v, bool user, bool in_user);

/* Scrub one member's value in place; true when something changed. */
static bool scrub_member(json_t *obj, const char *key, json_t *v, bool user, bool in_user)
{
	if (key_sensitive(key) ||
	    (in_user && user && (!strcasecmp(key, "email") || !strcasecmp(key, "ip_address")))) {
		if (json_is_string(v) && !strcmp(json_string_value(v), FILTERED))
			return false;
		json_object_set_new(obj, key, json_string(FILTERED));
		return true;
	}
	if (!strcmp(key, "event_id"))
		return false;
	return scrub_value(v, user, !strcasecmp(key, "user"));
}

static bool scrub_string(json_t *v)
{
	char *f = filter_cards(json_string_value(v), json_string_length(v));
	if (!f)
		return false;
	json_string_set(v, f);
	free(f);
	return true;
}

static bool scrub_value(json_t *v, bool user, bool in_user)
{
	bool changed = false;
	const char *key;
	json_t *child;
	void *tmp;
	size_t i;

	if (json_is_object(v)) {
		json_object_foreach_safe(v, tmp, key, child)
			changed |= scrub_member(v, key, child, user, in_user);
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, child)
			changed |= scrub_value(child, user, false);
	} else if (json_is_string(v)) {
		changed = scrub_string(v);
	}
	return changed;
}

/* rows[i].raw is NUL-terminated (json_dumps, event_fast_row) */
int scrub_job(struct write_job *job, bool scrub_user)
{
	for (unsigned i = 0; i < job->n_events; i++) {
		struct job_row *row = &job->rows[i];
		json_error_t je;
		json_t *ev;
		int rc;

		if (!scrub_candidate(row->raw, row->raw_len, scrub_user))
			continue;
		ev = json_loadb(row->raw, row->raw_len, JSON_ALLOW_NUL, &je);
		if (!ev)
			continue;  /* the writer produced it: cannot happen */
		if (scrub_value(ev, scrub_user, false) && (rc = writer_row_rebuild(row, ev))) {
			json_decref(ev);
			return rc;
		}
		json_decref(ev);
	}
	return 0;
}

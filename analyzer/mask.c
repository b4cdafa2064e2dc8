/*
 * mask.c — the built-in parameterizers (hand-written scanners, one pass) and user PCRE2
 * masks. See mask.h for the list and order.
 *
 * Each built-in is a function `size_t scan_x(const char *s, size_t i, size_t n)` returning the
 * length of its match at s[i] (0 for none); the scanner only calls them at boundaries, and
 * each checks that its match also ends at a boundary so "12msx" is not a duration. Scanners
 * look at a few bytes before giving up, so masking stays linear and fast (hundreds of MB/s):
 * PCRE2 would be simpler to write but an order of magnitude slower for fifteen patterns.
 */
#include "core/common.h"
#include "analyzer/mask.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <pthread.h>

enum mask_id {
	M_URL, M_EMAIL, M_UUID, M_IPV6, M_DATETIME, M_IPV4, M_HASH, M_HEX, M_DURATION, M_SIZE,
	M_PATH, M_KV, M_QUOTED, M_NAME, M_ID, M_NUMBER, M_COUNT
};

static const char *const mask_names[M_COUNT] = {
	"url", "email", "uuid", "ipv6", "datetime", "ipv4", "hash", "hex", "duration", "size",
	"path", "kv", "quoted", "name", "id", "number",
};

struct user_mask {
	char placeholder[36]; /* "<NAME>" */
	size_t plen;
	pcre2_code *code;
};

struct masker {
	bool on[M_COUNT];
	char builtins[160];
	struct user_mask *user;
	size_t nuser;
	pcre2_match_data *md;
	char *scratch; /* input after user masks */
	size_t scratch_cap;
};

/* ---- character classes ---- */

enum {
	C_DIGIT = 1, C_HEX = 2, C_ALPHA = 4, C_WORD = 8, C_IDCH = 16, C_SPACE = 32,
	C_PATHSTOP = 64, /* ends a path: space, quotes, brackets, separators, NUL */
	C_KVSTOP = 128,  /* ends an unquoted key=value value */
};

static unsigned char cls[256];
static pthread_once_t cls_once = PTHREAD_ONCE_INIT;

static void cls_fill(void)
{
	for (int c = 0; c < 256; c++) {
		unsigned char k = 0;
		if (c >= '0' && c <= '9')
			k |= C_DIGIT | C_HEX | C_WORD | C_IDCH;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
			k |= C_ALPHA | C_WORD | C_IDCH;
		if ((c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))
			k |= C_HEX;
		if (c == '_' || c >= 0x80)
			k |= C_WORD | C_IDCH;
		if (c == '-' || c == '.')
			k |= C_IDCH;
		if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f')
			k |= C_SPACE | C_PATHSTOP | C_KVSTOP;
		if (c == 0 || (c && strchr("\"'<>()[]{},;|:`", c)))
			k |= C_PATHSTOP;
		if (c && strchr(",;)]}&\"'", c))
			k |= C_KVSTOP;
		cls[c] = k;
	}
}

static void cls_init(void)
{
	pthread_once(&cls_once, cls_fill);
}

#define IS(c, k) (cls[(unsigned char)(c)] & (k))

static bool at_end(const char *s, size_t i, size_t n)
{
	return i >= n || !IS(s[i], C_WORD);
}

static size_t run_of(const char *s, size_t i, size_t n, unsigned k, size_t max)
{
	size_t j = i;
	while (j < n && j - i < max && IS(s[j], k))
		j++;
	return j - i;
}

/* ---- scanners: each returns the match length at s[i], or 0 ---- */

static size_t scan_url(const char *s, size_t i, size_t n)
{
	size_t j = i;
	if (!IS(s[j], C_ALPHA))
		return 0;
	while (j < n && j - i < 32 && (IS(s[j], C_ALPHA | C_DIGIT) || s[j] == '+' || s[j] == '.' ||
				       s[j] == '-'))
		j++;
	if (j + 3 > n || s[j] != ':' || s[j + 1] != '/' || s[j + 2] != '/')
		return 0;
	j += 3;
	size_t body = j;
	while (j < n && !IS(s[j], C_SPACE) && s[j] != '"' && s[j] != '\'' && s[j] != '<' &&
	       s[j] != '>')
		j++;
	while (j > body && s[j - 1] && strchr(".,;:)]}", s[j - 1]))
		j--;
	return j > body ? j - i : 0;
}

static bool email_local(char c)
{
	return IS(c, C_ALPHA | C_DIGIT) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-';
}

static size_t scan_email(const char *s, size_t i, size_t n)
{
	size_t j = i, dots = 0;
	while (j < n && j - i < 64 && email_local(s[j]))
		j++;
	if (j == i || j >= n || s[j] != '@')
		return 0;
	size_t dom = ++j;
	while (j < n && (IS(s[j], C_ALPHA | C_DIGIT) || s[j] == '-' || s[j] == '.')) {
		if (s[j] == '.' && (j == dom || s[j - 1] == '.'))
			return 0; /* empty label */
		dots += s[j] == '.';
		j++;
	}
	if (j > dom && s[j - 1] == '.') { /* sentence end: "mail bob@example.com." */
		j--;
		dots--;
	}
	if (!dots || !at_end(s, j, n))
		return 0;
	size_t tld = j; /* the top-level domain: two letters or more */
	while (tld > dom && s[tld - 1] != '.')
		tld--;
	if (j - tld < 2)
		return 0;
	for (size_t k = tld; k < j; k++)
		if (!IS(s[k], C_ALPHA))
			return 0;
	return j - i;
}

static size_t scan_uuid(const char *s, size_t i, size_t n)
{
	static const size_t groups[5] = { 8, 4, 4, 4, 12 };
	size_t j = i;
	for (int g = 0; g < 5; g++) {
		if (run_of(s, j, n, C_HEX, groups[g] + 1) != groups[g])
			return 0;
		j += groups[g];
		if (g < 4) {
			if (j >= n || s[j] != '-')
				return 0;
			j++;
		}
	}
	return at_end(s, j, n) ? j - i : 0;
}

static size_t scan_port(const char *s, size_t j, size_t n)
{
	if (j + 1 < n && s[j] == ':' && IS(s[j + 1], C_DIGIT)) {
		size_t k = run_of(s, j + 1, n, C_DIGIT, 6);
		if (k <= 5 && at_end(s, j + 1 + k, n))
			return 1 + k;
	}
	return 0;
}

static size_t scan_ipv6_bare(const char *s, size_t i, size_t n)
{
	size_t j = i, colons = 0, groups = 0;
	bool dbl = false;
	while (j < n) {
		size_t h = run_of(s, j, n, C_HEX, 5);
		if (h > 4)
			return 0;
		if (h) {
			groups++;
			j += h;
		}
		if (groups == 8 || j >= n || s[j] != ':')
			break;
		if (j + 1 < n && s[j + 1] == ':') {
			if (dbl)
				break;
			dbl = true;
			colons += 2;
			j += 2;
		} else {
			if (!h) /* ":x" after a single colon with no group before */
				return 0;
			colons++;
			j++;
		}
	}
	if (groups == 0 || !(dbl ? colons >= 2 : colons == 7))
		return 0;
	if (j > i && s[j - 1] == ':' && !(j >= 2 && s[j - 2] == ':'))
		return 0;
	if (j < n && s[j] == '%') /* zone id */
		j += 1 + run_of(s, j + 1, n, C_ALPHA | C_DIGIT, 16);
	if (!at_end(s, j, n) || (j < n && s[j] == '.'))
		return 0;
	return j - i;
}

static size_t scan_ipv6(const char *s, size_t i, size_t n)
{
	size_t k;
	if (s[i] == '[') {
		k = i + 1 < n ? scan_ipv6_bare(s, i + 1, n) : 0;
		if (!k || i + 1 + k >= n || s[i + 1 + k] != ']')
			return 0;
		k = i + 2 + k;
		return k + scan_port(s, k, n) - i;
	}
	if (!IS(s[i], C_HEX) && s[i] != ':')
		return 0;
	k = scan_ipv6_bare(s, i, n);
	if (!k)
		return 0;
	return k + scan_port(s, i + k, n);
}

static size_t digits(const char *s, size_t i, size_t n, size_t lo, size_t hi)
{
	size_t k = run_of(s, i, n, C_DIGIT, hi + 1);
	return k >= lo && k <= hi ? k : 0;
}

/* HH:MM[:SS[.frac]][Z|+hh:mm] at s[i]; 0 if none. */
static size_t time_at(const char *s, size_t i, size_t n)
{
	size_t j = i, k;
	if (!(k = digits(s, j, n, 1, 2)) || j + k >= n || s[j + k] != ':')
		return 0;
	j += k + 1;
	if (digits(s, j, n, 2, 2) != 2)
		return 0;
	j += 2;
	if (j + 2 < n && s[j] == ':' && digits(s, j + 1, n, 2, 2) == 2) {
		j += 3;
		if (j + 1 < n && (s[j] == '.' || s[j] == ',') && (k = digits(s, j + 1, n, 1, 9)))
			j += 1 + k;
	}
	if (j < n && s[j] == 'Z')
		j++;
	else if (j < n && (s[j] == '+' || s[j] == '-') && digits(s, j + 1, n, 2, 2) == 2) {
		size_t z = j + 3;
		if (z < n && s[z] == ':')
			z++;
		if (digits(s, z, n, 2, 2) == 2)
			j = z + 2;
	}
	return j - i;
}

/* YYYY-MM-DD, YYYY/MM/DD or M/D/YYYY at s[i]; 0 if none. */
static size_t date_at(const char *s, size_t i, size_t n)
{
	size_t a, b, c;
	if ((a = digits(s, i, n, 4, 4)) && i + 4 < n && (s[i + 4] == '-' || s[i + 4] == '/')) {
		char sep = s[i + 4];
		if ((b = digits(s, i + 5, n, 1, 2)) && i + 5 + b < n && s[i + 5 + b] == sep &&
		    (c = digits(s, i + 6 + b, n, 1, 2)))
			return 6 + b + c;
		return 0;
	}
	if ((a = digits(s, i, n, 1, 2)) && i + a < n && (s[i + a] == '/' || s[i + a] == '.')) {
		char sep = s[i + a];
		if ((b = digits(s, i + a + 1, n, 1, 2)) && i + a + 1 + b < n &&
		    s[i + a + 1 + b] == sep && (c = digits(s, i + a + 2 + b, n, 4, 4)))
			return a + b + c + 2;
	}
	return 0;
}

static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
				       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
static const char *const weekdays[] = { "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun" };

/* A three-letter or full English month/weekday name at s[i] ("Jun", "June"); its length. */
static size_t name_at(const char *s, size_t i, size_t n, const char *const *names, size_t count)
{
	for (size_t k = 0; k < count; k++) {
		if (i + 3 > n || memcmp(s + i, names[k], 3))
			continue;
		size_t j = i + 3;
		while (j < n && s[j] >= 'a' && s[j] <= 'z' && j - i < 9)
			j++;
		return at_end(s, j, n) ? j - i : 0;
	}
	return 0;
}

/* Syslog and ctime dates: "[Sat ]Jun 18[ 02:08:10][ 2005]", "Sat, Jun 18 2005"; and
 * "18/Jun/2005[:02:08:10]" (web server logs). 0 if none. */
static size_t named_date_at(const char *s, size_t i, size_t n)
{
	size_t j = i, k;
	if (IS(s[i], C_DIGIT)) {
		if (!(k = digits(s, j, n, 1, 2)) || j + k >= n || s[j + k] != '/')
			return 0;
		j += k + 1;
		if (!(k = name_at(s, j, n, months, 12)) || j + k >= n || s[j + k] != '/')
			return 0;
		j += k + 1;
		if (digits(s, j, n, 4, 4) != 4)
			return 0;
		j += 4;
		if (j + 1 < n && s[j] == ':' && (k = time_at(s, j + 1, n)))
			j += 1 + k;
		return j - i;
	}
	if ((k = name_at(s, j, n, weekdays, 7))) {
		j += k;
		if (j < n && s[j] == ',')
			j++;
		if (j >= n || s[j] != ' ')
			return 0;
		j++;
	}
	if (!(k = name_at(s, j, n, months, 12)))
		return 0;
	j += k;
	size_t sp = run_of(s, j, n, C_SPACE, 3);
	if (!sp || !(k = digits(s, j + sp, n, 1, 2)) || !at_end(s, j + sp + k, n))
		return 0;
	j += sp + k;
	if (j + 1 < n && s[j] == ' ' && (k = time_at(s, j + 1, n)) && at_end(s, j + 1 + k, n))
		j += 1 + k;
	if (j + 1 < n && (s[j] == ' ' || s[j] == ',')) {
		size_t y = j + 1 + (s[j] == ',' && j + 1 < n && s[j + 1] == ' ');
		if (digits(s, y, n, 4, 4) == 4 && at_end(s, y + 4, n))
			j = y + 4;
	}
	return j - i;
}

static size_t scan_datetime(const char *s, size_t i, size_t n)
{
	size_t d, t, j;
	/* month and weekday names start with one of these capitals: skip other words cheaply */
	static const uint32_t capitals = 1u << ('A' - 'A') | 1u << ('D' - 'A') | 1u << ('F' - 'A') |
					 1u << ('J' - 'A') | 1u << ('M' - 'A') | 1u << ('N' - 'A') |
					 1u << ('O' - 'A') | 1u << ('S' - 'A') | 1u << ('T' - 'A') |
					 1u << ('W' - 'A');
	if ((s[i] >= 'A' && s[i] <= 'Z' && (capitals >> (s[i] - 'A') & 1)) ||
	    (IS(s[i], C_DIGIT) && i + 3 < n && (s[i + 1] == '/' || s[i + 2] == '/')))
		if ((d = named_date_at(s, i, n)))
			return d;
	if (!IS(s[i], C_DIGIT))
		return 0;
	d = date_at(s, i, n);
	if (d) {
		j = i + d;
		if (j + 1 < n && (s[j] == 'T' || s[j] == ' ') && (t = time_at(s, j + 1, n)) &&
		    at_end(s, j + 1 + t, n))
			j += 1 + t;
		return at_end(s, j, n) ? j - i : 0;
	}
	t = time_at(s, i, n);
	return t && at_end(s, i + t, n) && !(i + t < n && s[i + t] == ':') ? t : 0;
}

static size_t scan_ipv4(const char *s, size_t i, size_t n)
{
	size_t j = i;
	for (int o = 0; o < 4; o++) {
		size_t k = digits(s, j, n, 1, 3);
		if (!k)
			return 0;
		long v = 0;
		for (size_t q = 0; q < k; q++)
			v = v * 10 + (s[j + q] - '0');
		if (v > 255)
			return 0;
		j += k;
		if (o < 3) {
			if (j >= n || s[j] != '.')
				return 0;
			j++;
		}
	}
	if (j < n && s[j] == '.' && j + 1 < n && IS(s[j + 1], C_DIGIT))
		return 0;
	if (!at_end(s, j, n))
		return 0;
	size_t p = scan_port(s, j, n);
	if (p)
		return j + p - i;
	if (j + 1 < n && s[j] == '/' && (p = digits(s, j + 1, n, 1, 2)) && at_end(s, j + 1 + p, n))
		return j + 1 + p - i;
	return j - i;
}

static size_t scan_hash(const char *s, size_t i, size_t n)
{
	size_t k = run_of(s, i, n, C_HEX, 65);
	if ((k != 32 && k != 40 && k != 64) || !at_end(s, i + k, n))
		return 0;
	for (size_t q = i; q < i + k; q++)
		if (IS(s[q], C_DIGIT))
			return k;
	return 0;
}

static size_t scan_hex(const char *s, size_t i, size_t n)
{
	if (i + 2 >= n || s[i] != '0' || (s[i + 1] != 'x' && s[i + 1] != 'X'))
		return 0;
	size_t k = run_of(s, i + 2, n, C_HEX, SIZE_MAX);
	return k && at_end(s, i + 2 + k, n) ? k + 2 : 0;
}

/* A MAC address: six pairs of hex digits separated by ':' or '-'. */
static size_t scan_mac(const char *s, size_t i, size_t n)
{
	if (i + 17 > n)
		return 0;
	char sep = s[i + 2];
	if (sep != ':' && sep != '-')
		return 0;
	for (size_t g = 0; g < 6; g++) {
		size_t q = i + 3 * g;
		if (!IS(s[q], C_HEX) || !IS(s[q + 1], C_HEX) || (g < 5 && s[q + 2] != sep))
			return 0;
	}
	return at_end(s, i + 17, n) && (i + 17 >= n || s[i + 17] != sep) ? 17 : 0;
}

static size_t number_at(const char *s, size_t i, size_t n)
{
	size_t j = i, k;
	if (j < n && (s[j] == '-' || s[j] == '+'))
		j++;
	if (!(k = run_of(s, j, n, C_DIGIT, SIZE_MAX)))
		return 0;
	j += k;
	if (j + 1 < n && s[j] == '.' && IS(s[j + 1], C_DIGIT))
		j += 1 + run_of(s, j + 1, n, C_DIGIT, SIZE_MAX);
	if (j + 1 < n && (s[j] == 'e' || s[j] == 'E')) {
		size_t e = j + 1;
		if (e < n && (s[e] == '-' || s[e] == '+'))
			e++;
		if ((k = run_of(s, e, n, C_DIGIT, 4)) && at_end(s, e + k, n))
			j = e + k;
	}
	return j - i;
}

static size_t unit_at(const char *s, size_t u, size_t n, const char *const *units, size_t count)
{
	size_t ul = 0;
	while (u + ul < n && (IS(s[u + ul], C_ALPHA) || (unsigned char)s[u + ul] >= 0x80) && ul < 13)
		ul++;
	if (!ul || !at_end(s, u + ul, n))
		return 0;
	for (size_t q = 0; q < count; q++)
		if (units[q][0] == s[u] && strlen(units[q]) == ul && !memcmp(units[q], s + u, ul))
			return ul;
	return 0;
}

/* "12ms", "3.5s", and with a space the unambiguous units: "120 ms", "5 seconds". */
static size_t scan_duration(const char *s, size_t i, size_t n)
{
	static const char *const units[] = {
		"ns", "us", "\xc2\xb5s", "ms", "s", "sec", "secs", "second", "seconds", "m", "min",
		"mins", "minute", "minutes", "h", "hr", "hrs", "hour", "hours", "d", "day", "days",
		"msec", "msecs", "millis", "milliseconds", "microseconds", "nanoseconds",
	};
	static const char *const spaced[] = {
		"ns", "us", "\xc2\xb5s", "ms", "s", "sec", "secs", "second", "seconds", "min", "mins",
		"minute", "minutes", "hr", "hrs", "hour", "hours", "day", "days", "msec", "msecs",
		"millis", "milliseconds", "microseconds", "nanoseconds",
	};
	size_t k = number_at(s, i, n), ul;
	if (!k || s[i] == '-' || s[i] == '+')
		return 0;
	if ((ul = unit_at(s, i + k, n, units, AC_ARRAY_SIZE(units))))
		return k + ul;
	if (i + k + 1 < n && s[i + k] == ' ' &&
	    (ul = unit_at(s, i + k + 1, n, spaced, AC_ARRAY_SIZE(spaced))))
		return k + 1 + ul;
	return 0;
}

/* A number with a size unit as one token: "5.2 KB", "512MB", "1190 bytes", "64k": the unit
 * goes with the number ("5.2 KB" and "3 MB" are one variable, not a number and a word). */
static size_t scan_size(const char *s, size_t i, size_t n)
{
	static const char *const units[] = {
		"B", "KB", "MB", "GB", "TB", "PB", "kB", "KiB", "MiB", "GiB", "TiB", "K", "M", "G",
		"k", "bytes", "Bytes", "byte",
	};
	static const char *const spaced[] = {
		"B", "KB", "MB", "GB", "TB", "PB", "kB", "KiB", "MiB", "GiB", "TiB", "bytes", "Bytes",
		"byte",
	};
	size_t k = number_at(s, i, n), ul;
	if (!k || s[i] == '-' || s[i] == '+')
		return 0;
	if ((ul = unit_at(s, i + k, n, units, AC_ARRAY_SIZE(units))))
		return k + ul;
	if (i + k + 1 < n && s[i + k] == ' ' &&
	    (ul = unit_at(s, i + k + 1, n, spaced, AC_ARRAY_SIZE(spaced))))
		return k + 1 + ul;
	return 0;
}

static bool path_char(char c)
{
	return !IS(c, C_PATHSTOP);
}

static size_t scan_path(const char *s, size_t i, size_t n)
{
	size_t j = i, seps = 0;
	char sep = '/';
	if (s[i] == '/')
		j = i;
	else if (s[i] == '.' && i + 1 < n && s[i + 1] == '/')
		j = i + 1;
	else if (s[i] == '.' && i + 2 < n && s[i + 1] == '.' && s[i + 2] == '/')
		j = i + 2;
	else if (s[i] == '~' && i + 1 < n && s[i + 1] == '/')
		j = i + 1;
	else if (IS(s[i], C_ALPHA) && i + 2 < n && s[i + 1] == ':' && s[i + 2] == '\\') {
		sep = '\\';
		j = i + 2;
	} else
		return 0;
	if (j + 1 >= n || s[j + 1] == sep || !path_char(s[j + 1]))
		return 0;
	while (j < n && path_char(s[j]))
		j++;
	while (j > i && s[j - 1] == '.') /* sentence end */
		j--;
	for (size_t k = i; k + 1 < j; k++) /* a trailing separator ("dir/") adds no segment */
		seps += s[k] == sep;
	return seps >= 2 ? j - i : 0;
}

static size_t scan_quoted(const char *s, size_t i, size_t n)
{
	char q = s[i];
	if (q != '"' && q != '\'')
		return 0;
	for (size_t j = i + 1; j < n && j - i < 512; j++) {
		if (s[j] == '\n')
			return 0;
		if (s[j] == '\\') {
			j++;
			continue;
		}
		if (s[j] == q)
			return at_end(s, j + 1, n) && j > i + 1 ? j + 1 - i : 0;
	}
	return 0;
}

static size_t scan_kv(const char *s, size_t i, size_t n, size_t *vstart)
{
	size_t j = i;
	if (!IS(s[i], C_ALPHA) && s[i] != '_')
		return 0;
	while (j < n && j - i < 64 && (IS(s[j], C_WORD) || s[j] == '.' || s[j] == '-'))
		j++;
	if (j >= n || s[j] != '=' || j == i)
		return 0;
	*vstart = ++j;
	if (j < n && (s[j] == '"' || s[j] == '\'')) { /* key="a quoted value" */
		size_t q = scan_quoted(s, j, n);
		return q ? j + q - i : 0;
	}
	/* an unquoted value is left to the other masks: "uid=0" gets <NUM>, while "mode=fast"
	 * and "enabled=true" stay words, which the miner keeps apart until they vary */
	return 0;
}

static bool ends_with(const char *s, size_t n, const char *suffix)
{
	size_t k = strlen(suffix);
	return n >= k && !memcmp(s + n - k, suffix, k);
}

/* A qualified name of three or more dot-separated identifiers ("org.apache.hadoop.Foo",
 * "android.intent.action.SCREEN_ON", "proxy.example.edu"): in logs these are class, package,
 * action and host names that vary where they appear. Exception and error class names stay:
 * "java.io.IOException" says what went wrong. */
/* An upper-case constant: "SCREEN_ON", "DISK_FULL" (letters, digits, '_'; two letters). */
static bool caps_constant(const char *t, size_t n)
{
	size_t letters = 0;
	for (size_t i = 0; i < n; i++) {
		if (t[i] >= 'A' && t[i] <= 'Z')
			letters++;
		else if (t[i] != '_' && !(t[i] >= '0' && t[i] <= '9'))
			return false;
	}
	return letters >= 2;
}

static size_t scan_name(const char *s, size_t i, size_t n)
{
	size_t j = i, segs = 0, last = i;
	while (j < n && (IS(s[j], C_ALPHA) || s[j] == '_')) {
		last = j;
		while (j < n && (IS(s[j], C_WORD) || s[j] == '$' || s[j] == '-'))
			j++;
		segs++;
		if (j + 1 < n && s[j] == '.' && (IS(s[j + 1], C_ALPHA) || s[j + 1] == '_'))
			j++;
		else
			break;
	}
	if (segs < 3 || !at_end(s, j, n) || (j < n && s[j] == '.' && j + 1 < n && !IS(s[j + 1], C_SPACE)))
		return 0;
	if (ends_with(s + last, j - last, "Exception") || ends_with(s + last, j - last, "Error"))
		return 0;
	if (caps_constant(s + last, j - last))
		return 0; /* "android.intent.action.SCREEN_ON": the constant is the message */
	return j - i;
}

/* A word of [A-Za-z0-9_.-] holding a digit; *prefix receives the length of a kept leading run
 * of letter-only segments each followed by '_' or '-'. Pure numbers are left to scan_number. */
static size_t scan_id(const char *s, size_t i, size_t n, size_t *prefix)
{
	size_t j = i, p = 0;
	bool digit = false;
	if (!IS(s[i], C_WORD))
		return 0;
	while (j < n && IS(s[j], C_IDCH)) {
		digit |= IS(s[j], C_DIGIT) != 0;
		j++;
	}
	while (j > i && (s[j - 1] == '.' || s[j - 1] == '-'))
		j--;
	if (!digit || j == i)
		return 0;
	if (number_at(s, i, j) == j - i)
		return 0;
	/* letters then one or two digits ("HTTP2", "utf8", "sda1", "eth0", "SOCKS5") name a
	 * thing rather than count one: they stay words */
	size_t a = run_of(s, i, j, C_ALPHA, SIZE_MAX);
	if (a >= 2 && j - i - a <= 2 && run_of(s, i + a, j, C_DIGIT, SIZE_MAX) == j - i - a)
		return 0;
	for (size_t q = i; q < j;) {
		size_t a = run_of(s, q, j, C_ALPHA, SIZE_MAX);
		if (!a || q + a >= j || (s[q + a] != '_' && s[q + a] != '-'))
			break;
		q += a + 1;
		p = q - i;
	}
	/* the rest after the prefix must still hold a digit */
	bool rest_digit = false;
	for (size_t q = i + p; q < j; q++)
		rest_digit |= IS(s[q], C_DIGIT) != 0;
	*prefix = rest_digit ? p : 0;
	return j - i;
}

static size_t scan_number(const char *s, size_t i, size_t n)
{
	size_t k = number_at(s, i, n);
	if (!k || !at_end(s, i + k, n))
		return 0;
	if ((s[i] == '-' || s[i] == '+') && k == 1)
		return 0;
	/* "1.2.3" is a version (id), not two numbers */
	if (i + k + 1 < n && (s[i + k] == '.' || s[i + k] == '-') && IS(s[i + k + 1], C_DIGIT))
		return 0;
	return k;
}

/* ---- output ---- */

struct out {
	char *p;
	size_t len, cap;
	bool full;
};

static void emit(struct out *o, const char *s, size_t n)
{
	if (o->full || o->len + n > o->cap - 1) {
		o->full = true;
		return;
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
}

#define EMIT_LIT(o, lit) emit((o), (lit), sizeof(lit) - 1)

/* Try the enabled built-ins at boundary s[i]; on a match emit and return its length. */
static size_t try_builtins(const struct masker *mk, const char *s, size_t i, size_t n,
			   struct out *o)
{
	unsigned char c = (unsigned char)s[i];
	size_t k, aux = 0;
	const bool *on = mk->on;

	if (IS(c, C_SPACE))
		return 0;
	/* the byte after the word that starts here: url, email, kv and name need one of a few
	 * bytes there, so most words skip their scanners (masking is most of the mining time) */
	size_t wend = i;
	while (wend < n && IS(s[wend], C_WORD))
		wend++;
	const char after = wend < n ? s[wend] : '\0';
	const bool may_url = after == ':' || after == '+' || after == '.' || after == '-';
	const bool may_email = after == '@' || after == '.' || after == '%' || after == '+' || after == '-';
	const bool may_kv = after == '=' || after == '.' || after == '-';
	const bool may_name = after == '.' || after == '$' || after == '-';
	const size_t wlen = wend - i;
	/* uuid: 8 hex then '-'; ipv6: a group of <= 4 hex then ':' (or starts with ':' / '[');
	 * hash: the whole word is 32, 40 or 64 hex digits */
	const bool may_uuid = wlen == 8 && after == '-';
	const bool may_ipv6 = c == ':' || c == '[' || (wlen <= 4 && after == ':');
	const bool may_hash = wlen == 32 || wlen == 40 || wlen == 64;
	if (on[M_URL] && may_url && IS(c, C_ALPHA) && (k = scan_url(s, i, n)))
		return EMIT_LIT(o, "<URL>"), k;
	if (on[M_EMAIL] && (may_email || !IS(c, C_WORD)) && email_local((char)c) &&
	    (k = scan_email(s, i, n)))
		return EMIT_LIT(o, "<EMAIL>"), k;
	if (on[M_UUID] && may_uuid && IS(c, C_HEX) && (k = scan_uuid(s, i, n)))
		return EMIT_LIT(o, "<UUID>"), k;
	if (on[M_HEX] && IS(c, C_HEX) && (k = scan_mac(s, i, n)))
		return EMIT_LIT(o, "<MAC>"), k;
	if (on[M_IPV6] && may_ipv6 && (IS(c, C_HEX) || c == ':' || c == '[') && (k = scan_ipv6(s, i, n)))
		return EMIT_LIT(o, "<IP>"), k;
	if (on[M_DATETIME] && IS(c, C_DIGIT | C_ALPHA) && (k = scan_datetime(s, i, n))) {
		bool date = IS(c, C_ALPHA) ||
			    (k >= 8 && (s[i + 2] == '/' || s[i + 4] == '-' || s[i + 4] == '/' ||
					s[i + 1] == '/' || s[i + 2] == '.' || s[i + 1] == '.'));
		if (date)
			EMIT_LIT(o, "<DATE>");
		else
			EMIT_LIT(o, "<TIME>");
		return k;
	}
	if (on[M_IPV4] && IS(c, C_DIGIT) && (k = scan_ipv4(s, i, n)))
		return EMIT_LIT(o, "<IP>"), k;
	if (on[M_HASH] && may_hash && IS(c, C_HEX) && (k = scan_hash(s, i, n)))
		return EMIT_LIT(o, "<HASH>"), k;
	if (on[M_HEX] && c == '0' && (k = scan_hex(s, i, n)))
		return EMIT_LIT(o, "<HEX>"), k;
	if (on[M_DURATION] && IS(c, C_DIGIT) && (k = scan_duration(s, i, n)))
		return EMIT_LIT(o, "<DUR>"), k;
	if (on[M_SIZE] && IS(c, C_DIGIT) && (k = scan_size(s, i, n)))
		return EMIT_LIT(o, "<SIZE>"), k;
	if (on[M_PATH] && (c == '/' || c == '.' || c == '~' || IS(c, C_ALPHA)) &&
	    (k = scan_path(s, i, n)))
		return EMIT_LIT(o, "<PATH>"), k;
	if (on[M_KV] && may_kv && (IS(c, C_ALPHA) || c == '_') && (k = scan_kv(s, i, n, &aux))) {
		emit(o, s + i, aux - i);
		EMIT_LIT(o, "<*>");
		return k;
	}
	if (on[M_QUOTED] && (c == '"' || c == '\'') && (k = scan_quoted(s, i, n)))
		return EMIT_LIT(o, "<STR>"), k;
	if (on[M_NAME] && may_name && (IS(c, C_ALPHA) || c == '_') && (k = scan_name(s, i, n)))
		return EMIT_LIT(o, "<NAME>"), k;
	if (on[M_ID] && IS(c, C_WORD) && (k = scan_id(s, i, n, &aux))) {
		emit(o, s + i, aux);
		EMIT_LIT(o, "<ID>");
		return k;
	}
	if (on[M_NUMBER] && (IS(c, C_DIGIT) || c == '-' || c == '+') && (k = scan_number(s, i, n)))
		return EMIT_LIT(o, "<NUM>"), k;
	return 0;
}

static size_t apply_builtins(const struct masker *mk, const char *s, size_t n, char *dst,
			     size_t cap)
{
	struct out o = { dst, 0, cap, false };
	size_t i = 0;

	while (i < n && !o.full) {
		size_t k = 0;
		if (i == 0 || !IS(s[i - 1], C_WORD))
			k = try_builtins(mk, s, i, n, &o);
		if (k) {
			i += k;
			continue;
		}
		/* no match: copy this byte and the rest of its word (no boundary inside) */
		size_t j = i + 1;
		if (IS(s[i], C_DIGIT)) /* "1.2.3" unmasked stays whole, not "1.2.<NUM>" */
			while (j < n && IS(s[j], C_IDCH))
				j++;
		else if (IS(s[i], C_WORD))
			while (j < n && IS(s[j], C_WORD))
				j++;
		emit(&o, s + i, j - i);
		i = j;
	}
	dst[o.len] = '\0';
	return o.len;
}

/* ---- user masks ---- */

static int scratch_reserve(struct masker *mk, size_t need)
{
	if (need <= mk->scratch_cap)
		return 0;
	size_t cap = mk->scratch_cap ? mk->scratch_cap : 1024;
	while (cap < need)
		cap *= 2;
	char *p = realloc(mk->scratch, cap);
	if (!p)
		return AC_ENOMEM;
	mk->scratch = p;
	mk->scratch_cap = cap;
	return 0;
}

/* Run one user mask over src[0..n) into dst; returns the new length. */
static size_t apply_user(struct masker *mk, const struct user_mask *um, const char *src,
			 size_t n, char *dst, size_t cap)
{
	struct out o = { dst, 0, cap, false };
	size_t at = 0;

	while (at <= n && !o.full) {
		int rc = pcre2_match(um->code, (PCRE2_SPTR)src, n, at, 0, mk->md, NULL);
		if (rc < 0)
			break;
		PCRE2_SIZE *ov = pcre2_get_ovector_pointer(mk->md);
		if (ov[1] <= ov[0]) { /* empty match: copy one byte and move on */
			if (ov[0] >= n)
				break;
			emit(&o, src + at, ov[0] + 1 - at);
			at = ov[0] + 1;
			continue;
		}
		emit(&o, src + at, ov[0] - at);
		emit(&o, um->placeholder, um->plen);
		at = ov[1];
	}
	if (at < n)
		emit(&o, src + at, n - at);
	dst[o.len] = '\0';
	return o.len;
}

size_t masker_apply(struct masker *mk, const char *in, size_t n, char *out, size_t cap)
{
	if (!cap)
		return 0;
	if (!mk->nuser)
		return apply_builtins(mk, in, n, out, cap);
	/* ping-pong between scratch halves, then the built-ins write to out */
	size_t half = 4 * n + 64;
	if (scratch_reserve(mk, 2 * half)) {
		return apply_builtins(mk, in, n, out, cap);
	}
	const char *src = in;
	size_t len = n;
	for (size_t u = 0; u < mk->nuser; u++) {
		char *dst = mk->scratch + (u % 2) * half;
		len = apply_user(mk, &mk->user[u], src, len, dst, half);
		src = dst;
	}
	return apply_builtins(mk, src, len, out, cap);
}

/* ---- lifecycle and configuration ---- */

static int parse_builtins(struct masker *mk, const char *list, struct ac_error *err)
{
	const char *p = list;
	while (*p) {
		const char *e = strchr(p, ',');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		while (len && (*p == ' '))
			p++, len--;
		while (len && p[len - 1] == ' ')
			len--;
		if (len) {
			int found = -1;
			for (int m = 0; m < M_COUNT; m++)
				if (strlen(mask_names[m]) == len && !memcmp(mask_names[m], p, len))
					found = m;
			if (found < 0)
				return ac_error_set(err, AC_EINVAL, "unknown_mask",
						    "unknown mask '%.*s' (known: %s)", (int)len, p,
						    MASK_ALL_BUILTINS);
			mk->on[found] = true;
		}
		if (!e)
			break;
		p = e + 1;
	}
	return 0;
}

static void canonical_builtins(struct masker *mk)
{
	size_t o = 0;
	mk->builtins[0] = '\0';
	for (int m = 0; m < M_COUNT; m++) {
		if (!mk->on[m])
			continue;
		int w = snprintf(mk->builtins + o, sizeof mk->builtins - o, "%s%s", o ? "," : "",
				 mask_names[m]);
		if (w > 0)
			o += (size_t)w;
	}
}

struct masker *masker_new(const struct mask_config *cfg, struct ac_error *err)
{
	struct masker *mk;
	const char *list = cfg && cfg->builtins ? cfg->builtins : MASK_DEFAULT_BUILTINS;

	cls_init();
	mk = calloc(1, sizeof *mk);
	if (!mk) {
		ac_error_set(err, AC_ENOMEM, "oom", "out of memory");
		return NULL;
	}
	if (parse_builtins(mk, list, err)) {
		free(mk);
		return NULL;
	}
	canonical_builtins(mk);
	return mk;
}

void masker_free(struct masker *mk)
{
	if (!mk)
		return;
	for (size_t u = 0; u < mk->nuser; u++)
		pcre2_code_free(mk->user[u].code);
	free(mk->user);
	pcre2_match_data_free(mk->md);
	free(mk->scratch);
	free(mk);
}

const char *masker_builtins(const struct masker *mk)
{
	return mk->builtins;
}

int masker_add_regex(struct masker *mk, const char *name, const char *pattern,
		     struct ac_error *err)
{
	size_t nl = strlen(name);
	int errcode;
	PCRE2_SIZE erroff;
	char ph[36];

	if (!nl || nl > 31)
		return ac_error_set(err, AC_EINVAL, "bad_mask_name",
				    "mask name must be 1-31 characters");
	ph[0] = '<';
	for (size_t k = 0; k < nl; k++) {
		char c = name[k];
		if (c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9' && k) || c == '_'))
			return ac_error_set(err, AC_EINVAL, "bad_mask_name",
					    "mask name '%s': use letters, digits and '_'", name);
		ph[k + 1] = c;
	}
	ph[nl + 1] = '>';
	ph[nl + 2] = '\0';
	pcre2_code *code = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, PCRE2_UTF,
					 &errcode, &erroff, NULL);
	if (!code) {
		PCRE2_UCHAR msg[160];
		pcre2_get_error_message(errcode, msg, sizeof msg);
		return ac_error_set(err, AC_EINVAL, "bad_mask_pattern",
				    "mask '%s': pattern error at offset %zu: %s", name,
				    (size_t)erroff, (char *)msg);
	}
	pcre2_jit_compile(code, PCRE2_JIT_COMPLETE); /* falls back to the interpreter */
	if (!mk->md && !(mk->md = pcre2_match_data_create(4, NULL)))
		goto oom;
	struct user_mask *u = realloc(mk->user, (mk->nuser + 1) * sizeof *u);
	if (!u)
		goto oom;
	mk->user = u;
	memcpy(u[mk->nuser].placeholder, ph, nl + 3);
	u[mk->nuser].plen = nl + 2;
	u[mk->nuser].code = code;
	mk->nuser++;
	return 0;
oom:
	pcre2_code_free(code);
	return ac_error_set(err, AC_ENOMEM, "oom", "out of memory");
}

int masker_add_spec(struct masker *mk, const char *spec, struct ac_error *err)
{
	const char *eq = strchr(spec, '=');
	char name[40];

	if (!eq || eq == spec || (size_t)(eq - spec) >= sizeof name || !eq[1])
		return ac_error_set(err, AC_EINVAL, "bad_mask",
				    "mask '%s': expected NAME=PCRE2-PATTERN", spec);
	memcpy(name, spec, (size_t)(eq - spec));
	name[eq - spec] = '\0';
	return masker_add_regex(mk, name, eq + 1, err);
}

bool mask_is_param(const char *t, size_t n)
{
	for (size_t i = 0; i + 2 < n; i++) {
		if (t[i] != '<')
			continue;
		size_t j = i + 1;
		if (t[j] == '*') {
			if (t[j + 1] == '>')
				return true;
			continue;
		}
		if (!(t[j] >= 'A' && t[j] <= 'Z'))
			continue;
		while (j < n && ((t[j] >= 'A' && t[j] <= 'Z') || (t[j] >= '0' && t[j] <= '9') ||
				 t[j] == '_'))
			j++;
		if (j < n && t[j] == '>')
			return true;
	}
	return false;
}

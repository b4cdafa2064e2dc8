/*
 * mask.h — parameterizers ("masks") that replace the variable parts of a log message with
 * typed placeholders before template mining: "Connected to 10.0.0.1:80 in 12ms" becomes
 * "Connected to <IP> in <DUR>".
 *
 * How it works: the built-in masks are hand-written scanners run in one left-to-right pass.
 * At every token boundary (start of text, or after a byte that is not a letter, digit or '_')
 * the enabled masks are tried in their fixed order; the first that matches a span ending at a
 * boundary replaces it with its placeholder, otherwise one byte is copied. User masks are
 * PCRE2 patterns (JIT-compiled) applied before the built-ins, in the order added; their matches
 * become <NAME>. Placeholders are always "<" + upper-case name + ">" so the miner can tell
 * parameters from literal text (see mask_is_param()).
 *
 * Built-in masks, in application order (names for mask_config.builtins):
 *   url       scheme://...                               <URL>
 *   email     local@domain.tld                           <EMAIL>
 *   uuid      8-4-4-4-12 hex                             <UUID>
 *   ipv6      hex groups with "::" or 7 colons, [..]:port <IP>
 *   datetime  2015-07-29[T ]17:41:44,747Z, 09/30/2012, 17:52:01.5, Sat Jun 18 02:08:10 2005,
 *             18/Jun/2005:02:08:10                                   <DATE> / <TIME>
 *   ipv4      1.2.3.4 with optional :port or /prefix     <IP>
 *   hash      32, 40 or 64 hex digits (md5, sha1, sha256) <HASH>
 *   hex       0x1f2e                                     <HEX>
 *   duration  12ms, 3.5s, 100us, 2h, 30sec, "120 ms", "5 seconds"   <DUR>
 *   size      5.2 KB, 512MB, 1190 bytes, 64k (number and size unit) <SIZE>
 *   path      /a/b..., ./a/b, ~/a, C:\a\b (two segments at least)  <PATH>
 *   kv        key="quoted value" or key='quoted value'           key=<*>
 *             (unquoted values are left to the other masks: "mode=fast" is a constant)
 *   quoted    '...' or "..." (off by default: it merges "GET /x" with "POST /x")  <STR>
 *   name      three or more dot-separated identifiers (class, package, host names), except
 *             names ending in Exception or Error or an upper-case constant
 *             (android.intent.action.SCREEN_ON)                  <NAME>
 *   id        a word of letters, digits, '_', '-', '.' holding a digit; a leading run of
 *             letter-only segments ending in '_' or '-' is kept: blk_-123 -> blk_<ID>,
 *             MININT-FNANLI5 -> MININT-<ID>                      <ID>
 *   number    -12, 3.5, 1e9                              <NUM>
 */
#ifndef AC_MASK_H
#define AC_MASK_H

#include <stdbool.h>
#include <stddef.h>

struct ac_error;
struct masker;

/* Comma-separated list of every built-in mask, and the default set (all but quoted). */
#define MASK_ALL_BUILTINS \
	"url,email,uuid,ipv6,datetime,ipv4,hash,hex,duration,size,path,kv,quoted,name,id,number"
#define MASK_DEFAULT_BUILTINS \
	"url,email,uuid,ipv6,datetime,ipv4,hash,hex,duration,size,path,kv,name,id,number"

struct mask_config {
	/* Comma-separated built-in mask names to enable, or NULL for MASK_DEFAULT_BUILTINS.
	 * "" enables none. The application order is always the fixed order above. */
	const char *builtins;
};

/* Create a masker. Returns NULL with err set on an unknown mask name or out of memory.
 * cfg may be NULL (defaults). Free with masker_free(). */
struct masker *masker_new(const struct mask_config *cfg, struct ac_error *err);
void masker_free(struct masker *mk);

/* Add a user mask: every match of the PCRE2 pattern becomes "<NAME>" (name upper-cased;
 * letters, digits and '_' only, at most 31 bytes). User masks run before the built-ins, in the
 * order added. 0, or AC_EINVAL with err naming the pattern offset on a bad pattern/name. */
int masker_add_regex(struct masker *mk, const char *name, const char *pattern,
		     struct ac_error *err);

/* Parse "NAME=PCRE" (the CLI's --mask value) and add it. 0 or AC_EINVAL. */
int masker_add_spec(struct masker *mk, const char *spec, struct ac_error *err);

/* Mask in[0..n) into out (capacity cap >= 1). Output is NUL-terminated and truncated to
 * cap - 1 bytes (never inside a placeholder); the return value is its length. A cap of
 * 4 * n + 64 never truncates. Not thread-safe for one masker when user masks exist (they share
 * a PCRE2 match block); use one masker per thread. */
size_t masker_apply(struct masker *mk, const char *in, size_t n, char *out, size_t cap);

/* True when token t[0..n) contains a placeholder ("<" [A-Z*] [A-Z0-9_]* ">"). */
bool mask_is_param(const char *t, size_t n);

/* The enabled built-ins as a canonical comma list (for persisting the configuration). */
const char *masker_builtins(const struct masker *mk);

#endif

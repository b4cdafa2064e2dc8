/*
 * fingerprint.h — grouping keys for error and crash events (after Sentry's grouping).
 *
 * Input is the collector's normalised event (jansson object):
 *   {"kind":"log|error|crash", "message", "level",
 *    "exception":{"type","value","frames":[{"function","file","line","in_app"}]},
 *    "fingerprint":["..."], ...}
 * Frames are in Sentry order: outermost first, the crashing frame last.
 *
 * The default fingerprint is the first of these that applies:
 *   1. exception type + the crash site (the innermost in-app frame once recursion and
 *      repeated cycles are collapsed) + the masked error message;
 *   2. the same with all frames when none is in-app;
 *   3. exception type + masked exception value (or message) when there are no usable frames;
 *   4. masked message (plain log events).
 * The frames further out are the callers: the same bug reached from 50 callers is one group,
 * and fingerprint_caller() names the callers for the cluster's "reached from" breakdown.
 * In the message, masks apply and quoted text counts as a variable; any other differing word
 * ("token expired" / "token revoked") makes a different error.
 * Function names are normalised so a rebuild or an id does not split a group: addresses and
 * offsets ("+0x1d", "[0x55d0...]"), parameter lists, template/generic arguments, lambda
 * sequence numbers ("lambda$main$0", "{lambda(int)#1}") and line numbers are removed; an
 * unsymbolised C frame "./svc(+0x1a2b) [0x55d0...]" becomes "svc+0x1a2b" (its only location);
 * a frame with neither uses its file's base name. Line numbers never count, so an edit
 * elsewhere in the file keeps the group.
 * An event's own "fingerprint" array wins; an entry "{{ default }}" expands to the default
 * components, as in Sentry.
 *
 * The hash is FNV-1a 128 over the components (with a version prefix), as 32 hex digits:
 * stable across runs, machines and releases of this code unless the version changes.
 */
#ifndef AC_FINGERPRINT_H
#define AC_FINGERPRINT_H

#include <jansson.h>
#include <stddef.h>

struct ac_error;
struct masker;

enum fingerprint_basis {
	FP_CUSTOM,        /* the event's own fingerprint (possibly with {{ default }}) */
	FP_INAPP_FRAMES,  /* exception type + in-app frames */
	FP_ALL_FRAMES,    /* exception type + all frames */
	FP_TYPE_MESSAGE,  /* exception type + masked value/message */
	FP_MESSAGE,       /* masked message only */
};

struct fingerprint {
	char hash[33];                /* 32 lowercase hex digits + NUL */
	enum fingerprint_basis basis;
	char *explanation;            /* "type ValueError + 3 in-app frames: a, b, c" (owned) */
	char *title;                  /* "ValueError in c" or the masked message (owned) */
};

/* Fingerprint one event. mk masks messages (NULL: a default masker is made for the call).
 * On success fills fp (release with fingerprint_release) and returns 0; returns AC_EINVAL
 * when ev is not an object or "fingerprint" is not an array of strings/numbers, AC_ENOMEM on
 * allocation failure (err set in both cases, fp left empty). */
int fingerprint_event(const json_t *ev, struct masker *mk, struct fingerprint *fp,
		      struct ac_error *err);

/* Free the strings of fp; safe on a zeroed or released fingerprint. */
void fingerprint_release(struct fingerprint *fp);

/* Normalise a function name (see above) into out (capacity cap >= 1, NUL-terminated,
 * truncated). Returns the length; 0 when nothing usable remains (e.g. a bare address). */
size_t fingerprint_function(const char *in, char *out, size_t cap);

/* The callers that reached the crash site into out: up to three frames outside it, nearest
 * first, recursion collapsed ("walk_tree < handle_get < main"); "" when the event has no
 * frames outside the crash site or carries its own fingerprint. 0 or AC_ENOMEM. */
int fingerprint_caller(const json_t *ev, char *out, size_t cap);

/* Name of a basis ("custom", "in_app_frames", "all_frames", "type_message", "message"). */
const char *fingerprint_basis_name(enum fingerprint_basis b);

#endif

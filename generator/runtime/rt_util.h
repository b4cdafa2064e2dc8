/*
 * rt_util.h — small helpers of the runtime: bounded request bodies, JSON field paths,
 * "{{field}}" templates, case mapping, mkdir -p, SHA-1 and base64 (for the WebSocket handshake).
 */
#ifndef RT_UTIL_H
#define RT_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* A request body accumulated chunk by chunk, never larger than max (too_big is set instead). */
struct rt_body {
	char *data;
	size_t len, cap, max;
	bool too_big;
};
/* New empty body (NULL when out of memory); rt_body_free is safe on NULL. */
struct rt_body *rt_body_new(size_t max);
void rt_body_append(struct rt_body *b, const char *p, size_t n);
void rt_body_free(struct rt_body *b);

/* True when text[0..len) is a JSON object that json_loads() accepts and that
 * json_dumps(JSON_COMPACT | JSON_REAL_PRECISION(15)) of the result reproduces byte for byte,
 * so it can be sent as it is instead of being parsed and serialised again. Conservative: false
 * for anything with real numbers, \u escapes or bytes outside printable ASCII, objects with
 * more than 16 members, nesting deeper than 32, or integers longer than 18 digits. */
bool rt_json_canonical(const char *text, size_t len);

/* Write v as json_dumpb(v, buf, size, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(15))
 * would, byte for byte, without allocating (the Sink's hot path). Returns the length written;
 * more than size when buf is too small (its content is then undefined); 0 when v holds
 * something this writer leaves to jansson (text outside ASCII, a key with a NUL, nesting
 * deeper than 32, a locale's decimal comma) — call json_dumpb then. */
size_t rt_json_write_compact(const json_t *v, char *buf, size_t size);
/* The value at "a.b.c" in obj (borrowed), or NULL. */
json_t *rt_path_get(json_t *obj, const char *path);
/* Set "a.b.c" in obj (creating objects on the way), stealing v. */
void rt_path_set(json_t *obj, const char *path, json_t *v);
/* Expand "{{field.path}}" placeholders from msg; returns a new string reference. */
json_t *rt_template(const char *tmpl, json_t *msg);
/* New string with s upper-cased (upper) or lower-cased (ASCII). */
json_t *rt_case(const char *s, int upper);
/* mkdir -p; 0 or -1 (errno set). */
int rt_mkdirs(const char *path);

struct sockaddr_in;
/* The address a server of the generated system listens on: $BIND_ADDRESS (the Dockerfile,
 * compose file and Kubernetes manifests set 0.0.0.0), else the blueprint's `host`, else
 * 127.0.0.1 (a system run by hand is not reachable from other machines). Names such as
 * "localhost" are resolved (IPv4). Fills sa (family, address, port) and shown (the address
 * as text); 0, or -1 when the address does not resolve. */
int rt_bind_address(const char *configured, int port, struct sockaddr_in *sa, char *shown,
		    size_t n);

/* SHA-1 of data into out[20]. */
void rt_sha1(const unsigned char *data, size_t len, unsigned char out[20]);
/* Base64 of data into out (NUL-terminated; out needs 4*((n+2)/3)+1 bytes). */
void rt_base64(const unsigned char *data, size_t n, char *out);

#endif

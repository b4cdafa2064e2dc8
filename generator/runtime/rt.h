/*
 * rt.h — the runtime of a generated autocoder system (public part).
 *
 * A generated system is one process: src/main.c describes the components and bindings in two
 * static tables and calls rt_main(); every component instance runs in its own thread, named
 * after the instance, and reads messages from bounded queues (one per incoming binding; a full
 * queue blocks the sender, which is the system's backpressure). Each src/<instance>.c defines
 * the instance's processing function, `<instance>_process`, which normally just runs the
 * behaviour of its type (rt_component_process) — it is the place a user adds code, and it is
 * what crash backtraces and logs name.
 *
 * Messages are jansson objects passed by reference: a stage owns the json_t it receives until
 * its processing function returns; rt_emit() steals the reference it is given. Nothing is
 * re-serialised between stages.
 *
 * Configuration: config/system.json (or $AUTOCODER_CONFIG) holds each component's config;
 * environment variables override ports and scalar keys (see docs/GENERATED.md of autocoder or
 * the system's README.md).
 */
#ifndef RT_H
#define RT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

enum rt_type {
	RT_SOURCE,
	RT_TRANSFORMER,
	RT_FILTER,
	RT_ROUTER,
	RT_AGGREGATOR,
	RT_ACCUMULATOR,
	RT_STREAM_PROCESSOR,
	RT_MODEL,
	RT_STORE,
	RT_CONTROLLER,
	RT_API_ENDPOINT,
	RT_SINK,
	RT_WEBSOCKET,
};

struct rt_component;

/* One message in flight. `data` is owned by whoever holds the message. `origin`/`corr` tie a
 * message to an HTTP request waiting at an APIEndpoint (origin NULL when nobody waits). */
struct rt_msg {
	json_t *data;
	const char *port;             /* input port it arrived on (static string) */
	struct rt_component *origin;  /* APIEndpoint awaiting a reply, or NULL */
	uint64_t corr;                /* request id at the origin */
	uint32_t binding;             /* index of the binding it arrived on (UINT32_MAX: none) */
	char trace_id[33];
};

/* A component instance as written in src/main.c. */
struct rt_component_def {
	const char *name;
	enum rt_type type;
	/* The instance's processing function (src/<name>.c). Returns 0, or -1 after rt_fail(). */
	int (*process)(struct rt_component *c, struct rt_msg *m);
};

/* A binding as written in src/main.c (already normalised: one target per binding). */
struct rt_binding_def {
	const char *from, *from_port, *to, *to_port;
	const char *condition;   /* expression or NULL */
	const char *strategy;    /* "retry", "dead_letter" or "ignore" */
	int retry_count;
	int timeout_ms;          /* how long one delivery attempt may block on a full queue */
	int buffering;           /* queue capacity */
};

struct rt_system_def {
	const char *name;
	const char *version;
	const struct rt_component_def *components;
	size_t ncomponents;
	const struct rt_binding_def *bindings;
	size_t nbindings;
};

/* Run the system until SIGTERM/SIGINT; returns the process exit code. */
int rt_main(int argc, char **argv, const struct rt_system_def *def);

/* The behaviour of c's type for message m (borrowed; the runtime releases m->data after the
 * processing function returns). 0 or -1 (the reason is recorded with rt_fail). */
int rt_component_process(struct rt_component *c, struct rt_msg *m);

/* Send data (reference stolen) out of c's output port `port` (NULL: every output port), to
 * every binding from it whose
 * condition holds; trace and reply information is inherited from parent (may be NULL).
 * Blocks while a target queue is full (up to the binding's timeout_ms per attempt, then
 * retries, then dead-letters or drops as the binding says). 0, or -1 when a delivery failed. */
int rt_emit(struct rt_component *c, const char *port, const struct rt_msg *parent, json_t *data);

/* Answer the HTTP request that m belongs to directly (status + JSON body, reference stolen).
 * No-op (body released) when m has no waiting origin. */
void rt_reply(struct rt_component *c, const struct rt_msg *m, int status, json_t *body);

/* Record why processing failed (logged with the message's trace id); returns -1. */
int rt_fail(struct rt_component *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Structured log line from component c (NULL: the system): level is "debug", "info", "warn"
 * or "error"; fields (may be NULL) is a JSON object whose reference is stolen. Warnings and
 * errors also go to the collector. */
void rt_log(struct rt_component *c, const char *level, const struct rt_msg *m, const char *msg,
	    json_t *fields);

/* Name and configuration (borrowed) of a component. */
const char *rt_name(const struct rt_component *c);
json_t *rt_config(struct rt_component *c);

/* The AUTOCODER_CRASH_AFTER debug hook: true when c is the component named by
 * AUTOCODER_CRASH_COMPONENT and this is its N-th message. The instance's processing function
 * then calls its own `<instance>_crash()`, so backtraces name the component. */
bool rt_crash_due(struct rt_component *c);

#endif

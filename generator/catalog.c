/*
 * catalog.c — the component type table (see catalog.h) and its lookups.
 *
 * The table is the only place that knows the 13 types. Keys are written with small macros so
 * each row reads like the spec's table: name, type, default (JSON text), range or choices.
 * Type names are matched on a folded form (lowercase, without '_', '-' and spaces), which is how
 * "api_endpoint", "ApiEndpoint" and "API_ENDPOINT" all reach APIEndpoint.
 */
#include "core/common.h"
#include "generator/catalog.h"

#include <ctype.h>

/* key(name, type, default, doc) and variants with a range or choices. */
#define KEY(n, t, d, doc_) { .name = n, .type = t, .def = d, .doc = doc_ }
#define REQ(n, t, doc_) { .name = n, .type = t, .required = true, .doc = doc_ }
#define RANGE(n, t, d, lo, hi, doc_) \
	{ .name = n, .type = t, .def = d, .ranged = true, .min = lo, .max = hi, .doc = doc_ }
#define ENUM(n, d, ch, doc_) { .name = n, .type = CAT_ENUM, .def = d, .choices = ch, .doc = doc_ }
#define OBJ(n, d, f, doc_) { .name = n, .type = CAT_OBJECT, .def = d, .fields = f, .doc = doc_ }
#define OPEN(n, d, doc_) { .name = n, .type = CAT_OBJECT, .def = d, .open = true, .doc = doc_ }
#define LIST(n, d, f, doc_) { .name = n, .type = CAT_LIST, .def = d, .fields = f, .doc = doc_ }
/* An enum the original left free-form (see bp_check.c for the words it maps). */
#define WORDS(n, d, ch, doc_) \
	{ .name = n, .type = CAT_ENUM, .def = d, .choices = ch, .free_form = true, .doc = doc_ }
#define END { .name = NULL }

static const char *const generation_types[] = { "sequence", "random", "file", "http", NULL };
static const char *const transform_types[] = { "passthrough", "map", "enrich", NULL };
static const char *const pass_block[] = { "pass", "block", NULL };
static const char *const agg_strategies[] = { "collect", "sum", "average", "count", "min", "max",
					      NULL };
static const char *const acc_operations[] = { "add", "multiply", "reset", "get", NULL };
static const char *const sp_variants[] = { "windowing", "joining", "deduplication", NULL };
static const char *const window_types[] = { "time", "count", NULL };
static const char *const model_types[] = { "weighted", "echo", "count", "uppercase", NULL };
static const char *const output_types[] = { "file", "console", "http", NULL };

static const struct cat_key generation_fields[] = {
	WORDS("type", "\"sequence\"", generation_types, "how messages are produced"),
	KEY("file", CAT_STRING, NULL, "file to read, one JSON object (or text line) per line"),
	OPEN("fields", NULL, "field name -> generator spec for sequence/random messages"),
	RANGE("rate", CAT_NUMBER, NULL, 0, 1e9, "messages per second (overrides data_delay)"),
	END,
};

static const struct cat_key transform_fields[] = {
	ENUM("type", "\"passthrough\"", transform_types, "passthrough, map or enrich"),
	OPEN("fields", NULL, "output field -> template or source field (map)"),
	OPEN("set", NULL, "fields set to constant values"),
	LIST("remove", NULL, NULL, "fields removed"),
	OPEN("rename", NULL, "old name -> new name"),
	OPEN("copy", NULL, "source field -> destination field"),
	LIST("uppercase", NULL, NULL, "string fields upper-cased"),
	LIST("lowercase", NULL, NULL, "string fields lower-cased"),
	OPEN("numeric", NULL, "field -> {op: add|multiply|round, value}"),
	KEY("add_timestamp", CAT_ANY, NULL, "true or a field name to stamp with the time"),
	END,
};

static const struct cat_key filter_condition_fields[] = {
	REQ("condition", CAT_EXPR, "expression"),
	ENUM("action", "\"pass\"", pass_block, "pass or block when the condition holds"),
	END,
};

static const struct cat_key routing_rule_fields[] = {
	REQ("condition", CAT_EXPR, "expression"),
	REQ("destination", CAT_STRING, "output port that receives matching messages"),
	END,
};

static const struct cat_key output_fields[] = {
	ENUM("type", "\"file\"", output_types, "file, console or http"),
	KEY("directory", CAT_STRING, "\"./output\"", "directory of the JSONL file"),
	KEY("filename", CAT_STRING, "\"<name>.jsonl\"", "file name"),
	KEY("url", CAT_STRING, NULL, "URL for type http"),
	END,
};

static const struct cat_key source_keys[] = {
	OBJ("generation", "{\"type\": \"sequence\"}", generation_fields, "what the source emits"),
	RANGE("data_count", CAT_INT, "100", 0, 1e12, "messages to emit (0 = unbounded)"),
	RANGE("data_delay", CAT_NUMBER, "0.1", 0, 86400, "seconds between messages"),
	{ .name = "port", .type = CAT_PORT, .doc = "HTTP port for generation type http" },
	RANGE("seed", CAT_INT, "42", 0, 9007199254740991.0, "random generator seed"),
	WORDS("source_type", NULL, generation_types, "older spelling of generation.type"),
	KEY("file_path", CAT_STRING, NULL, "older spelling of generation.file"),
	END,
};

static const struct cat_key transformer_keys[] = {
	OBJ("transform", "{\"type\": \"passthrough\"}", transform_fields, "the mapping applied"),
	END,
};

static const struct cat_key filter_keys[] = {
	LIST("filter_conditions", "[]", filter_condition_fields, "first matching condition decides"),
	ENUM("default_action", "\"pass\"", pass_block, "when no condition matches"),
	END,
};

static const struct cat_key router_keys[] = {
	LIST("routing_rules", "[]", routing_rule_fields, "first matching rule decides"),
	KEY("default_route", CAT_STRING, NULL, "output for messages no rule matches (else dropped)"),
	END,
};

static const struct cat_key aggregator_keys[] = {
	RANGE("batch_size", CAT_INT, "10", 1, 1e7, "messages per batch"),
	RANGE("timeout_seconds", CAT_NUMBER, "30", 0, 86400, "flush a partial batch after this"),
	ENUM("aggregation_strategy", "\"collect\"", agg_strategies, "how a batch is combined"),
	LIST("group_by", "[]", NULL, "fields that key separate batches"),
	KEY("value_field", CAT_STRING, "\"value\"", "numeric field for sum/average/min/max"),
	KEY("aggregate_field", CAT_STRING, NULL, "overrides value_field"),
	END,
};

static const struct cat_key accumulator_keys[] = {
	KEY("key_field", CAT_STRING, "\"key\"", "field naming the running total"),
	KEY("value_field", CAT_STRING, "\"value\"", "numeric field accumulated"),
	ENUM("operation", "\"add\"", acc_operations, "add, multiply, reset or get"),
	RANGE("flush_interval", CAT_NUMBER, "5.0", 0, 86400, "seconds between SQLite flushes"),
	KEY("database_url", CAT_STRING, "\"sqlite:///data/<name>.db\"", "where totals persist"),
	KEY("output_field", CAT_STRING, "\"total\"", "field receiving the running total"),
	END,
};

static const struct cat_key stream_processor_keys[] = {
	ENUM("variant", "\"windowing\"", sp_variants, "windowing, joining or deduplication"),
	ENUM("window_type", "\"time\"", window_types, "tumbling window by time or count"),
	RANGE("window_size", CAT_NUMBER, "5.0", 0.001, 1e7, "seconds (time) or messages (count)"),
	KEY("join_key", CAT_STRING, "\"id\"", "field joining the two inputs"),
	KEY("dedup_key", CAT_STRING, "\"id\"", "field identifying duplicates"),
	RANGE("max_keys", CAT_INT, "100000", 1, 1e9, "bound on remembered keys"),
	KEY("value_field", CAT_STRING, "\"value\"", "numeric field summarised per window"),
	KEY("include_items", CAT_BOOL, "false", "windows carry their messages too"),
	END,
};

static const struct cat_key model_keys[] = {
	WORDS("model_type", "\"weighted\"", model_types, "weighted, echo, count or uppercase"),
	{ .name = "weights", .type = CAT_ANY, .def = "{}", .doc = "feature -> weight" },
	{ .name = "thresholds", .type = CAT_ANY, .def = "{}", .doc = "label -> minimum score" },
	KEY("output_field", CAT_STRING, "\"score\"", "field receiving the score"),
	KEY("label_field", CAT_STRING, "\"risk_level\"", "field receiving the threshold label"),
	RANGE("bias", CAT_NUMBER, "0", -1e12, 1e12, "added to the weighted score"),
	END,
};

static const struct cat_key store_keys[] = {
	KEY("table_name", CAT_STRING, "\"<name>\"", "SQLite table"),
	KEY("database_url", CAT_STRING, "\"sqlite:///data/<name>.db\"", "SQLite file"),
	RANGE("pool_size", CAT_INT, "10", 1, 1000, "connections in the pool"),
	RANGE("busy_timeout_ms", CAT_INT, "5000", 0, 600000, "SQLite busy timeout"),
	END,
};

static const struct cat_key controller_keys[] = {
	KEY("store_name", CAT_STRING, NULL, "Store the commands go to"),
	OPEN("actions", "{}", "request method/action -> store action"),
	LIST("required_fields", "[]", NULL, "fields a request must carry"),
	RANGE("max_retries", CAT_INT, "3", 0, 100, "retries of a failed command"),
	RANGE("timeout", CAT_NUMBER, "30", 0.001, 86400, "seconds to wait for a reply"),
	END,
};

static const struct cat_key api_endpoint_keys[] = {
	{ .name = "port", .type = CAT_PORT, .required = true, .doc = "listening port" },
	KEY("host", CAT_STRING, NULL, "listening address (127.0.0.1; BIND_ADDRESS overrides)"),
	KEY("resource", CAT_STRING, "\"<name>\"", "REST collection: /<resource>, /<resource>/{id}"),
	KEY("endpoint_path", CAT_STRING, NULL, "POST path feeding the pipeline"),
	LIST("http_methods", "[\"GET\", \"POST\", \"PUT\", \"DELETE\"]", NULL, "accepted methods"),
	RANGE("max_body_bytes", CAT_INT, "1048576", 1, 1073741824, "largest request body"),
	RANGE("ingress_timeout_ms", CAT_INT, "2000", 1, 600000, "503 when the queue stays full"),
	RANGE("request_timeout_ms", CAT_INT, "30000", 1, 3600000, "504 when no reply comes"),
	RANGE("threads", CAT_INT, "2", 1, 64, "HTTP worker threads"),
	KEY("direct_reads", CAT_BOOL, "true", "GETs read the Store from the HTTP thread"),
	END,
};

static const struct cat_key sink_keys[] = {
	OBJ("output", "{\"type\": \"file\"}", output_fields, "where messages go"),
	RANGE("batch_size", CAT_INT, "100", 1, 1e7, "messages per write"),
	RANGE("flush_interval", CAT_NUMBER, "1.0", 0, 86400, "seconds between flushes"),
	ENUM("output_type", NULL, output_types, "older spelling of output.type"),
	END,
};

static const struct cat_key websocket_keys[] = {
	{ .name = "port", .type = CAT_PORT, .required = true, .doc = "listening port" },
	KEY("path", CAT_STRING, "\"/ws\"", "upgrade path"),
	KEY("host", CAT_STRING, NULL, "listening address (127.0.0.1; BIND_ADDRESS overrides)"),
	RANGE("max_connections", CAT_INT, "100", 1, 100000, "concurrent clients"),
	RANGE("heartbeat_interval", CAT_NUMBER, "30", 0, 86400, "seconds between pings"),
	END,
};

#define PORTS(...) ((const struct cat_port[]){ __VA_ARGS__, { NULL, NULL } })
#define NOPORTS ((const struct cat_port[]){ { NULL, NULL } })
#define NAMES(...) ((const char *const[]){ __VA_ARGS__, NULL })

static const struct cat_type types[CAT_NTYPES] = {
	{ CAT_SOURCE, "Source", NAMES("generator", "producer"),
	  "emits messages: a sequence/random generator at a rate, lines of a file, or JSON posted "
	  "to its own HTTP port",
	  NOPORTS, PORTS({ "output", "generated messages" }), source_keys,
	  .cpu_request = "100m", .mem_request = "128Mi" },
	{ CAT_TRANSFORMER, "Transformer", NAMES("mapper"),
	  "maps each message: rename, set, remove, copy, templates, numeric ops, case, timestamp",
	  PORTS({ "input", "messages in" }), PORTS({ "output", "transformed messages" }),
	  transformer_keys, .cpu_request = "100m", .mem_request = "128Mi" },
	{ CAT_FILTER, "Filter", NAMES("message_filter"),
	  "passes or blocks by conditions; the first matching condition decides",
	  PORTS({ "input", "messages in" }), PORTS({ "output", "passed messages" }), filter_keys,
	  .cpu_request = "100m", .mem_request = "128Mi" },
	{ CAT_ROUTER, "Router", NAMES("message_router"),
	  "sends each message to the output named by the first matching rule",
	  PORTS({ "input", "messages in" }), PORTS({ "output", "when no rule names a destination" }),
	  router_keys, .cpu_request = "100m", .mem_request = "128Mi" },
	{ CAT_AGGREGATOR, "Aggregator", NAMES("batcher"),
	  "merges inputs into batches by size or timeout (collect/sum/average/count/min/max)",
	  PORTS({ "input", "messages in (any input name is accepted)" }),
	  PORTS({ "output", "batches" }), aggregator_keys, .any_inputs = true,
	  .cpu_request = "100m", .mem_request = "128Mi" },
	{ CAT_ACCUMULATOR, "Accumulator", NAMES("counter"),
	  "keyed running totals persisted in SQLite so they survive restarts",
	  PORTS({ "input", "messages in" }), PORTS({ "output", "updated totals" }),
	  accumulator_keys, .cpu_request = "100m", .mem_request = "128Mi" },
	{ CAT_STREAM_PROCESSOR, "StreamProcessor", NAMES("stream_processing", "window"),
	  "tumbling windows by time or count, joins of two inputs on a key, or bounded dedup",
	  PORTS({ "input", "messages in" }), PORTS({ "output", "window/join/dedup results" }),
	  stream_processor_keys, .cpu_request = "100m", .mem_request = "128Mi" },
	{ CAT_MODEL, "Model", NAMES("ml_model", "scorer"),
	  "scores messages: weighted features with thresholds to a label, or echo/count/uppercase",
	  PORTS({ "features", "messages to score" }), PORTS({ "predictions", "scored messages" }),
	  model_keys, .cpu_request = "500m", .mem_request = "512Mi" },
	{ CAT_STORE, "Store", NAMES("database", "datastore"),
	  "SQLite key/value document store: create/get/update/delete/list, replies on response",
	  PORTS({ "input", "CRUD commands" }), PORTS({ "response", "replies (only when bound)" }),
	  store_keys, .breaks_cycles = true, .data_sink = true, .reply_port = "response",
	  .cpu_request = "250m", .mem_request = "512Mi" },
	{ CAT_CONTROLLER, "Controller", NAMES("orchestrator"),
	  "turns API requests into store commands or routes by fields; checks required fields",
	  PORTS({ "control", "requests" }), PORTS({ "command", "commands" }), controller_keys,
	  .cpu_request = "100m", .mem_request = "128Mi" },
	{ CAT_API_ENDPOINT, "APIEndpoint", NAMES("api", "rest_api", "http_api", "endpoint"),
	  "HTTP server: REST CRUD on /<resource> or POST into the pipeline; /health /ready /metrics",
	  PORTS({ "response", "replies to pending requests" }),
	  PORTS({ "request", "incoming requests" }), api_endpoint_keys, .breaks_cycles = true,
	  .listens = true, .cpu_request = "200m", .mem_request = "256Mi" },
	{ CAT_SINK, "Sink", NAMES("writer"),
	  "writes messages to a JSONL file, the console or an HTTP URL in batches",
	  PORTS({ "input", "messages to write" }), NOPORTS, sink_keys, .data_sink = true,
	  .cpu_request = "100m", .mem_request = "128Mi" },
	{ CAT_WEBSOCKET, "WebSocket", NAMES("ws", "websocket_server"),
	  "broadcasts each input message to connected WebSocket clients (RFC 6455)",
	  PORTS({ "input", "messages to broadcast" }), NOPORTS, websocket_keys, .listens = true,
	  .cpu_request = "100m", .mem_request = "128Mi" },
};

size_t catalog_count(void)
{
	return CAT_NTYPES;
}

const struct cat_type *catalog_at(size_t i)
{
	return i < CAT_NTYPES ? &types[i] : NULL;
}

const struct cat_type *catalog_get(enum cat_id id)
{
	return catalog_at((size_t)id);
}

/* Lowercase without '_', '-', ' ' and '.', into out (truncated to n-1). */
static void fold(const char *s, char *out, size_t n)
{
	size_t k = 0;

	for (; *s && k + 1 < n; s++) {
		if (*s == '_' || *s == '-' || *s == ' ' || *s == '.')
			continue;
		out[k++] = (char)tolower((unsigned char)*s);
	}
	out[k] = '\0';
}

const struct cat_type *catalog_find(const char *spelling, bool *exact)
{
	char want[64], have[64];

	if (exact)
		*exact = false;
	if (!spelling || strlen(spelling) >= sizeof want)
		return NULL;
	for (size_t i = 0; i < CAT_NTYPES; i++) {
		if (!strcmp(spelling, types[i].name)) {
			if (exact)
				*exact = true;
			return &types[i];
		}
	}
	fold(spelling, want, sizeof want);
	for (size_t i = 0; i < CAT_NTYPES; i++) {
		fold(types[i].name, have, sizeof have);
		if (!strcmp(want, have))
			return &types[i];
		for (const char *const *a = types[i].aliases; a && *a; a++) {
			fold(*a, have, sizeof have);
			if (!strcmp(want, have))
				return &types[i];
		}
	}
	return NULL;
}

unsigned catalog_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned row[65];

	if (la > 64 || lb > 64)
		return 255;
	for (size_t j = 0; j <= lb; j++)
		row[j] = (unsigned)j;
	for (size_t i = 1; i <= la; i++) {
		unsigned diag = row[0], up;
		row[0] = (unsigned)i;
		for (size_t j = 1; j <= lb; j++) {
			unsigned best;
			up = row[j];
			best = diag + (a[i - 1] != b[j - 1]);
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb] > 255 ? 255 : row[lb];
}

const char *catalog_suggest(const char *spelling)
{
	char want[64], have[64];
	const char *best = NULL;
	unsigned best_d = 255;

	if (!spelling || strlen(spelling) >= sizeof want)
		return NULL;
	fold(spelling, want, sizeof want);
	for (size_t i = 0; i < CAT_NTYPES; i++) {
		unsigned d;
		fold(types[i].name, have, sizeof have);
		d = catalog_distance(want, have);
		/* a prefix like "stream" for "streamprocessor" is a good guess too */
		if (strlen(want) >= 4 && !strncmp(have, want, strlen(want)))
			d = 1;
		if (d < best_d) {
			best_d = d;
			best = types[i].name;
		}
	}
	return best_d <= 1 + strlen(want) / 3 ? best : NULL;
}

const struct cat_key *catalog_key(const struct cat_key *keys, const char *name)
{
	for (; keys && keys->name; keys++)
		if (!strcmp(keys->name, name))
			return keys;
	return NULL;
}

/* Replace every "<name>" in a JSON string (recursively) by the component name. */
static void substitute_name(json_t *v, const char *name)
{
	const char *s, *at;
	struct ac_buf b;
	size_t i;
	const char *k;
	json_t *el;

	if (json_is_object(v)) {
		json_object_foreach(v, k, el)
			substitute_name(el, name);
		return;
	}
	if (json_is_array(v)) {
		json_array_foreach(v, i, el)
			substitute_name(el, name);
		return;
	}
	if (!json_is_string(v) || !strstr(json_string_value(v), "<name>"))
		return;
	ac_buf_init(&b, 4096);
	for (s = json_string_value(v); (at = strstr(s, "<name>")); s = at + 6) {
		ac_buf_append(&b, s, (size_t)(at - s));
		ac_buf_puts(&b, name);
	}
	ac_buf_puts(&b, s);
	if (b.data)
		json_string_set(v, b.data);
	ac_buf_release(&b);
}

json_t *catalog_default(const struct cat_key *key, const char *component_name)
{
	json_t *v;

	if (!key->def)
		return NULL;
	v = json_loads(key->def, JSON_DECODE_ANY, NULL);
	if (!v)
		AC_BUG("catalog default of '%s' is not JSON: %s", key->name, key->def);
	substitute_name(v, component_name ? component_name : "component");
	return v;
}

const char *catalog_vtype_name(enum cat_vtype t)
{
	switch (t) {
	case CAT_INT: return "integer";
	case CAT_NUMBER: return "number";
	case CAT_STRING: return "string";
	case CAT_BOOL: return "boolean";
	case CAT_ENUM: return "enum";
	case CAT_OBJECT: return "mapping";
	case CAT_LIST: return "list";
	case CAT_EXPR: return "expression";
	case CAT_PORT: return "port (1-65535 or \"${VAR:-8000}\")";
	case CAT_ANY: return "any value";
	}
	return "value";
}

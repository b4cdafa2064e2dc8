/*
 * keys.c — `autocoder keys`: create, list and revoke projects' keys in the database.
 *
 *   autocoder keys create NAME [--db PATH] [--host URL]   prints the DSN and the token
 *   autocoder keys list [--db PATH] [--json]
 *   autocoder keys revoke KEY [--db PATH]
 */
#include "core/common.h"
#include "cmd/cmds.h"
#include "collector/collector.h"

#include <jansson.h>

static const char keys_usage[] =
	"usage: autocoder keys create NAME [--db PATH] [--url http://127.0.0.1:8080]\n"
	"       autocoder keys list [--db PATH] [--json]\n"
	"       autocoder keys revoke KEY [--db PATH]\n";

struct keys_opts {
	const char *db, *url, *arg;
	bool json;
};

static int parse_keys_opts(int argc, char **argv, struct keys_opts *o)
{
	o->db = "data/autocoder.db";
	o->url = "http://127.0.0.1:8080";
	o->arg = NULL;
	o->json = false;
	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--db") && i + 1 < argc)
			o->db = argv[++i];
		else if (!strcmp(argv[i], "--url") && i + 1 < argc)
			o->url = argv[++i];
		else if (!strcmp(argv[i], "--json"))
			o->json = true;
		else if (argv[i][0] == '-')
			return usage_error(keys_usage, "unknown option '%s'", argv[i]);
		else if (!o->arg)
			o->arg = argv[i];
		else
			return usage_error(keys_usage, "unexpected argument '%s'", argv[i]);
	}
	return 0;
}

/* "http://127.0.0.1:8080" + key + project -> "http://KEY@127.0.0.1:8080/ID" */
static void format_dsn(const char *url, const struct collector_key *k, char *out, size_t n)
{
	const char *rest = strstr(url, "://");
	size_t scheme = rest ? (size_t)(rest - url) : 0;
	const char *hostpart = rest ? rest + 3 : url;
	size_t hl = strlen(hostpart);

	while (hl && hostpart[hl - 1] == '/')
		hl--;
	snprintf(out, n, "%.*s://%s@%.*s/%lld", (int)(scheme ? scheme : 4), scheme ? url : "http",
		 k->public_key, (int)hl, hostpart, k->project_id);
}

static void print_key(const struct collector_key *k, void *arg)
{
	json_t *arr = arg;
	if (arr) {
		json_array_append_new(arr, json_pack("{s:I,s:s,s:s,s:s,s:b}", "project_id",
						     (json_int_t)k->project_id, "project", k->project,
						     "public_key", k->public_key, "token", k->token,
						     "revoked", k->revoked));
		return;
	}
	printf("%-20s %-6lld %s %s%s\n", k->project, k->project_id, k->public_key, k->token,
	       k->revoked ? "  (revoked)" : "");
}

int cmd_keys(int argc, char **argv)
{
	struct keys_opts o;
	struct ac_error err;
	struct collector_key k;
	char dsn[512];
	int rc;

	if (argc < 2)
		return usage_error(keys_usage, "missing subcommand");
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h") || !strcmp(argv[1], "help")) {
			fputs(keys_usage, stdout);
			return 0;
		}
	if ((rc = parse_keys_opts(argc, argv, &o)))
		return rc;
	if (!strcmp(argv[1], "create")) {
		if (!o.arg)
			return usage_error(keys_usage, "keys create needs a project NAME");
		if (collector_key_create(o.db, o.arg, &k, &err)) {
			fprintf(stderr, "autocoder keys: %s\n", err.msg);
			return 1;
		}
		format_dsn(o.url, &k, dsn, sizeof dsn);
		if (o.json) {
			json_t *obj = json_pack("{s:s,s:I,s:s,s:s,s:s}", "project", k.project, "project_id",
						(json_int_t)k.project_id, "dsn", dsn, "public_key",
						k.public_key, "token", k.token);
			json_dumpf(obj, stdout, JSON_INDENT(2));
			putchar('\n');
			json_decref(obj);
		} else {
			printf("project: %s (id %lld)\ndsn:     %s\ntoken:   %s\n", k.project, k.project_id,
			       dsn, k.token);
		}
		return 0;
	}
	if (!strcmp(argv[1], "list")) {
		json_t *arr = o.json ? json_array() : NULL;
		rc = collector_key_list(o.db, print_key, arr, &err);
		if (arr) {
			if (!rc) {
				json_dumpf(arr, stdout, JSON_INDENT(2));
				putchar('\n');
			}
			json_decref(arr);
		}
		if (rc) {
			fprintf(stderr, "autocoder keys: %s\n", err.msg);
			return 1;
		}
		return 0;
	}
	if (!strcmp(argv[1], "revoke")) {
		if (!o.arg)
			return usage_error(keys_usage, "keys revoke needs a KEY (public key or token)");
		if (collector_key_revoke(o.db, o.arg, &err)) {
			fprintf(stderr, "autocoder keys: %s\n", err.msg);
			return 1;
		}
		printf("revoked %s\n", o.arg);
		return 0;
	}
	return usage_error(keys_usage, "unknown subcommand '%s'", argv[1]);
}

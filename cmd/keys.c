/*
 * keys.c — `autocoder keys`: create, list and revoke projects' keys in the database.
 *
 *   autocoder keys create NAME [--role admin] [--db PATH] [--url URL]
 *                       prints the DSN (ingest only), a read token (and an admin token)
 *   autocoder keys token NAME --role read|admin [--db PATH]   one more token
 *   autocoder keys list [--db PATH] [--json]   roles and token hints, never secrets
 *   autocoder keys revoke KEY [--db PATH]      a DSN public key or a token
 */
#include "core/common.h"
#include "cmd/cmds.h"
#include "collector/collector.h"

#include <jansson.h>

static const char keys_usage[] =
	"usage: autocoder keys create NAME [--role admin] [--db PATH] [--url http://127.0.0.1:8080] [--json]\n"
	"       autocoder keys token NAME --role read|admin [--db PATH] [--json]\n"
	"       autocoder keys list [--db PATH] [--json]\n"
	"       autocoder keys revoke KEY|TOKEN [--db PATH]\n"
	"       autocoder keys privacy NAME [--scrub-user on|off] [--db PATH]\n"
	"roles: the DSN key may only ingest; a read token ingests and reads; an admin token\n"
	"also changes clusters (status, merge, split)\n";

struct keys_opts {
	const char *db, *url, *arg, *role, *scrub_user;
	bool json;
};

static int parse_keys_opts(int argc, char **argv, struct keys_opts *o)
{
	o->db = "data/autocoder.db";
	o->url = "http://127.0.0.1:8080";
	o->arg = NULL;
	o->role = NULL;
	o->scrub_user = NULL;
	o->json = false;
	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--db") && i + 1 < argc)
			o->db = argv[++i];
		else if (!strcmp(argv[i], "--url") && i + 1 < argc)
			o->url = argv[++i];
		else if (!strcmp(argv[i], "--scrub-user") && i + 1 < argc)
			o->scrub_user = argv[++i];
		else if (!strcmp(argv[i], "--role") && i + 1 < argc)
			o->role = argv[++i];
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
	bool dsn = !strcmp(k->kind, "dsn");

	if (arr) {
		json_t *o = json_pack("{s:I,s:s,s:s,s:s,s:b}", "project_id", (json_int_t)k->project_id,
				      "project", k->project, "kind", k->kind, "role", k->role,
				      "revoked", k->revoked);
		json_object_set_new(o, dsn ? "public_key" : "token_prefix",
				    json_string(dsn ? k->public_key : k->token));
		json_array_append_new(arr, o);
		return;
	}
	printf("%-20s %-6lld %-5s %-6s %s%s%s\n", k->project, k->project_id, k->kind, k->role,
	       dsn ? k->public_key : k->token, dsn ? "" : "...", k->revoked ? "  (revoked)" : "");
}

static int print_created(const struct keys_opts *o, const struct collector_key *k, bool with_dsn)
{
	char dsn[512];

	format_dsn(o->url, k, dsn, sizeof dsn);
	if (o->json) {
		json_t *obj = json_pack("{s:s,s:I}", "project", k->project, "project_id",
					(json_int_t)k->project_id);
		if (with_dsn) {
			json_object_set_new(obj, "dsn", json_string(dsn));
			json_object_set_new(obj, "public_key", json_string(k->public_key));
		}
		if (!with_dsn && o->role)
			json_object_set_new(obj, "role", json_string(o->role));
		if (k->token[0])
			json_object_set_new(obj, "token", json_string(k->token));
		if (k->admin_token[0])
			json_object_set_new(obj, "admin_token", json_string(k->admin_token));
		json_dumpf(obj, stdout, JSON_INDENT(2));
		putchar('\n');
		json_decref(obj);
		return 0;
	}
	printf("project: %s (id %lld)\n", k->project, k->project_id);
	if (with_dsn)
		printf("dsn:     %s\n", dsn);
	if (!with_dsn && o->role)
		printf("role:    %s\n", o->role);
	if (k->token[0])
		printf("token:   %s\n", k->token);
	if (k->admin_token[0])
		printf("admin_token: %s\n", k->admin_token);
	printf("(secrets are shown only now: the database keeps their SHA-256)\n");
	return 0;
}

static int fail_with(const struct ac_error *err)
{
	fprintf(stderr, "autocoder keys: %s\n", err->msg);
	return 1;
}

int cmd_keys(int argc, char **argv)
{
	struct keys_opts o;
	struct ac_error err;
	struct collector_key k;
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
		if (o.role && strcmp(o.role, "admin") && strcmp(o.role, "read"))
			return usage_error(keys_usage, "--role must be read or admin, not '%s'", o.role);
		if (collector_key_create(o.db, o.arg, o.role && !strcmp(o.role, "admin"), &k, &err))
			return fail_with(&err);
		return print_created(&o, &k, true);
	}
	if (!strcmp(argv[1], "token")) {
		if (!o.arg || !o.role)
			return usage_error(keys_usage, "keys token needs a project NAME and --role read|admin");
		if (collector_token_create(o.db, o.arg, o.role, &k, &err))
			return fail_with(&err);
		return print_created(&o, &k, false);
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
		return rc ? fail_with(&err) : 0;
	}
	if (!strcmp(argv[1], "privacy")) {
		int want = -1;
		bool now = false;
		if (!o.arg)
			return usage_error(keys_usage, "keys privacy needs a project NAME");
		if (o.scrub_user && strcmp(o.scrub_user, "on") && strcmp(o.scrub_user, "off"))
			return usage_error(keys_usage, "--scrub-user must be on or off, not '%s'", o.scrub_user);
		if (o.scrub_user)
			want = !strcmp(o.scrub_user, "on");
		if (collector_project_privacy(o.db, o.arg, want, &now, &err))
			return fail_with(&err);
		printf("project %s: user.email and user.ip_address are %s\n", o.arg,
		       now ? "filtered before storage" : "kept");
		return 0;
	}
	if (!strcmp(argv[1], "revoke")) {
		if (!o.arg)
			return usage_error(keys_usage, "keys revoke needs a KEY (DSN public key or token)");
		if (collector_key_revoke(o.db, o.arg, &err))
			return fail_with(&err);
		printf("revoked %.12s...\n", o.arg);
		return 0;
	}
	return usage_error(keys_usage, "unknown subcommand '%s'", argv[1]);
}

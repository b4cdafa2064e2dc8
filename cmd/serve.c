/*
 * serve.c — `autocoder serve`: parse options, start the collector, wait for SIGTERM.
 */
#include "core/common.h"
#include "cmd/cmds.h"
#include "collector/collector.h"
#include "collector/retention.h"
#include "collector/ops.h"
#include "collector/alerts.h"

#include <curl/curl.h>

#include "core/db.h"
#include "analyzer/rules.h"
#include "core/config.h"

#include <getopt.h>
#include <sys/stat.h>

static const char serve_usage[] =
	"usage: autocoder serve [options]\n"
	"  --listen HOST:PORT     address to listen on (default 127.0.0.1:8080; port 0 = any)\n"
	"  --db PATH              SQLite database (default data/autocoder.db)\n"
	"  --rules DIR            rule packs for the analyzer (default: none)\n"
	"  --web DIR              static web UI to serve at / (default: none)\n"
	"  --open-read            read API without a token (loopback only)\n"
	"  --max-event SIZE       largest event (default 1M)\n"
	"  --max-body SIZE        largest request body as sent (default 20M)\n"
	"  --max-decoded SIZE     largest body after gzip/deflate (default 20M)\n"
	"  --max-attachment SIZE  largest Sentry envelope attachment (default 10M)\n"
	"  --attachment-quota SIZE  attachment bytes stored per project (default 100M)\n"
	"  --queue EVENTS         events waiting for the writer before 429 (default 20000)\n"
	"  --group EVENTS         events per group commit (default 5000)\n"
	"  --threads N            HTTP threads (default: CPUs)\n"
	"  --rate-limit N         per-project events per second, 0 = unlimited (default 0)\n"
	"  --rate-burst N         per-project burst (default 2 x rate); a larger batch is admitted\n"
	"                         when the bucket is full and repaid before the next one\n"
	"  --max-inflight SIZE    all request bodies being received at once (default 256M); past it 503\n"
	"  --max-conn-per-ip N    connections from one address (default 256, of 4000)\n"
	"  --max-batch N          events in one request, past it 413 (default 100000)\n"
	"  --port-file PATH       write the bound port to PATH once listening\n"
	"  --log-level LEVEL      debug, info, warn or error (default info)\n"
	"  --retention-max-age AGE      delete events older than AGE (90d, 12h, 30m, 45s; 0 = keep;\n"
	"                               default 90d); per project: autocoder db retention\n"
	"  --retention-max-events N     keep at most N events per project (default 0 = unlimited)\n"
	"  --retention-max-bytes SIZE   keep at most ~SIZE of events per project (default 0 = unlimited)\n"
	"  --retention-interval SECS    seconds between retention passes (default 600)\n"
	"  --access-log MODE      on (default), off, or sample:N (one request line in N; 401, 403,\n"
	"                         413 and 429 are always logged, at warn)\n"
	"  --alert-interval SECS  seconds between alert checks and delivery rounds (default 10)\n"
	"  --smtp-url URL         SMTP relay for e-mail alerts, e.g. smtp://127.0.0.1:25 (default: off)\n"
	"  --smtp-from ADDR       sender of e-mail alerts (default autocoder@localhost)\n"
	"  --public-url URL       this server's URL as users reach it, for links in alerts\n"
	"  --config FILE          YAML file of options (option: value; default $AUTOCODER_CONFIG)\n"
	"  --print-config         print every option's value and where it came from, then exit\n"
	"  Every option can also be set with AUTOCODER_<NAME> (AUTOCODER_DB, AUTOCODER_LISTEN,\n"
	"  AUTOCODER_RETENTION_MAX_AGE, ...) or in the config file; flags > env > file > defaults.\n"
	"  --check-db             print the database's schema version and whether a migration is\n"
	"                         pending, then exit (1 if this binary cannot use it)\n";

static int parse_size_opt(const char *name, const char *v, size_t *out)
{
	if (ac_parse_size(v, out) || *out == 0) {
		usage_error(serve_usage, "%s: '%s' is not a size (e.g. 1048576, 512k, 20M)", name, v);
		return -1;
	}
	return 0;
}

static int parse_uint_opt(const char *name, const char *v, unsigned *out, bool zero_ok)
{
	int64_t n;
	if (ac_parse_i64(v, &n) || n < (zero_ok ? 0 : 1) || n > 100000000) {
		usage_error(serve_usage, "%s: '%s' is not a valid count", name, v);
		return -1;
	}
	*out = (unsigned)n;
	return 0;
}

static int write_port_file(const char *path, unsigned port)
{
	char buf[16];
	struct ac_error err;
	int n = snprintf(buf, sizeof buf, "%u\n", port);
	if (ac_write_file(path, buf, (size_t)n, &err)) {
		fprintf(stderr, "autocoder serve: %s\n", err.msg);
		return -1;
	}
	return 0;
}

/* --rules and --web must name existing directories; the rules are loaded once here to say
 * what was loaded (the analyzer loads its own copy). */
static int check_paths(const struct collector_config *cfg)
{
	struct stat sb;
	struct rules *rules = NULL;
	struct ac_error err;
	char n[32], packs[32];

	errno = 0;
	if (cfg->web_dir && (stat(cfg->web_dir, &sb) || !S_ISDIR(sb.st_mode))) {
		fprintf(stderr, "autocoder serve: --web %s: %s\n", cfg->web_dir,
			errno ? strerror(errno) : "not a directory");
		return -1;
	}
	if (!cfg->rules_dir)
		return 0;
	errno = 0;
	if (stat(cfg->rules_dir, &sb) || !S_ISDIR(sb.st_mode)) {
		fprintf(stderr, "autocoder serve: --rules %s: %s\n", cfg->rules_dir,
			errno ? strerror(errno) : "not a directory");
		return -1;
	}
	if (rules_load_dir(cfg->rules_dir, &rules, &err)) {
		fprintf(stderr, "autocoder serve: --rules %s: %s\n", cfg->rules_dir, err.msg);
		return -1;
	}
	snprintf(n, sizeof n, "%zu", rules_count(rules));
	snprintf(packs, sizeof packs, "%zu", rules_pack_count(rules));
	ac_log(AC_LOG_INFO, "rules loaded", "dir", cfg->rules_dir, "rules", n, "packs", packs, NULL);
	rules_free(rules);
	return 0;
}

static void log_startup(const struct collector_config *cfg, const struct retention_policy *pol)
{
	char schema[16], ev[32], body[32], dec[32], queue[16], threads[16], rate[32], age[32],
	     maxev[32], maxb[32];
	int version = 0;

	ac_db_file_version(cfg->db_path, &version, NULL);
	snprintf(schema, sizeof schema, "%d", version);
	snprintf(ev, sizeof ev, "%zu", cfg->max_event_bytes);
	snprintf(body, sizeof body, "%zu", cfg->max_body_bytes);
	snprintf(dec, sizeof dec, "%zu", cfg->max_decoded_bytes);
	snprintf(queue, sizeof queue, "%u", cfg->queue_events);
	snprintf(threads, sizeof threads, "%u", cfg->threads);
	snprintf(rate, sizeof rate, "%g", cfg->rate_limit);
	snprintf(age, sizeof age, "%g", pol->max_age_seconds);
	snprintf(maxev, sizeof maxev, "%lld", pol->max_events);
	snprintf(maxb, sizeof maxb, "%lld", pol->max_bytes);
	ac_log(AC_LOG_INFO, "database", "db", cfg->db_path, "schema_version", schema, NULL);
	ac_log(AC_LOG_INFO, "limits", "max_event_bytes", ev, "max_body_bytes", body,
	       "max_decoded_bytes", dec, "queue_events", queue, "threads", threads,
	       "rate_limit_per_s", rate, "retention_max_age_s", age, "retention_max_events", maxev,
	       "retention_max_bytes", maxb, NULL);
}

/* ---- configuration sources (core/config.h): [argv0, file args, env args, real args] ---- */

#define MAX_OPTS 48
enum source { SRC_DEFAULT, SRC_FILE, SRC_ENV, SRC_FLAG };
struct sources {
	const char *config_path;
	size_t file_end, env_end;                 /* indexes in the combined argv */
	const char *value[MAX_OPTS];
	enum source kind[MAX_OPTS];
	size_t line[MAX_OPTS];
};
/* Process-lifetime storage (a usage error returns straight from the option loop). */
static struct ac_strv combined, file_args, env_args;
static const char *const not_configurable[] = { "help", "config", "print-config", "check-db", NULL };

static enum source source_of(const struct sources *s, int idx, size_t *line)
{
	*line = 0;
	if ((size_t)idx < s->file_end) {
		*line = file_args.line[idx - 1];
		return SRC_FILE;
	}
	return (size_t)idx < s->env_end ? SRC_ENV : SRC_FLAG;
}

static int gather_args(const struct option *opts, int *argc, char ***argv, struct sources *s)
{
	struct ac_error err;
	const char *path = getenv("AUTOCODER_CONFIG");
	int rc = 0;

	for (int i = 1; i < *argc; i++) {
		if (!strcmp((*argv)[i], "--config") && i + 1 < *argc)
			path = (*argv)[i + 1];
		else if (!strncmp((*argv)[i], "--config=", 9))
			path = (*argv)[i] + 9;
	}
	s->config_path = path && *path ? path : NULL;
	if ((s->config_path && ac_config_file_args(s->config_path, opts, not_configurable, &file_args, &err)) ||
	    ac_config_env_args("AUTOCODER_", opts, not_configurable, &env_args, &err)) {
		fprintf(stderr, "autocoder serve: %s\n", err.msg);
		return -1;
	}
	rc |= ac_config_push(&combined, (*argv)[0]);
	for (size_t i = 0; i < file_args.n; i++)
		rc |= ac_config_push(&combined, file_args.v[i]);
	s->file_end = combined.n;
	for (size_t i = 0; i < env_args.n; i++)
		rc |= ac_config_push(&combined, env_args.v[i]);
	s->env_end = combined.n;
	for (int i = 1; i < *argc; i++)
		rc |= ac_config_push(&combined, (*argv)[i]);
	rc |= ac_config_push(&combined, NULL);
	if (rc) {
		fprintf(stderr, "autocoder serve: out of memory\n");
		return -1;
	}
	*argc = (int)combined.n - 1;
	*argv = combined.v;
	return 0;
}

static const char *default_of(const char *name)
{
	static const char *const defaults[][2] = {
		{ "listen", "127.0.0.1:8080" }, { "db", "data/autocoder.db" }, { "rules", "(none)" },
		{ "web", "(none)" }, { "open-read", "false" }, { "max-event", "1M" },
		{ "max-body", "20M" }, { "max-decoded", "20M" }, { "queue", "20000" },
		{ "group", "5000" }, { "threads", "(CPUs)" }, { "rate-limit", "0" },
		{ "rate-burst", "(2 x rate)" }, { "port-file", "(none)" }, { "log-level", "info" },
		{ "retention-max-age", "90d" }, { "retention-max-events", "0" },
		{ "retention-max-bytes", "0" }, { "retention-interval", "600" },
		{ "access-log", "on" }, { "alert-interval", "10" }, { "smtp-url", "(off)" },
		{ "smtp-from", "autocoder@localhost" }, { "public-url", "(none)" },
	};
	for (size_t i = 0; i < AC_ARRAY_SIZE(defaults); i++)
		if (!strcmp(defaults[i][0], name))
			return defaults[i][1];
	return "";
}

static int print_config_table(const struct option *opts, const struct sources *s)
{
	char env[96];

	printf("# autocoder serve configuration (flags > env > file > defaults)\n");
	if (s->config_path)
		printf("# config file: %s\n", s->config_path);
	for (int i = 0; opts[i].name && i < MAX_OPTS; i++) {
		bool skip = false;
		for (const char *const *n = not_configurable; *n; n++)
			skip |= !strcmp(*n, opts[i].name);
		if (skip)
			continue;
		ac_config_env_name("AUTOCODER_", opts[i].name, env, sizeof env);
		printf("%-22s %-28s ", opts[i].name, s->value[i] ? s->value[i] : default_of(opts[i].name));
		switch (s->kind[i]) {
		case SRC_FLAG: printf("(flag --%s)\n", opts[i].name); break;
		case SRC_ENV: printf("(env %s)\n", env); break;
		case SRC_FILE: printf("(file %s:%zu)\n", s->config_path, s->line[i]); break;
		default: printf("(default)\n"); break;
		}
	}
	return 0;
}

/* Say which setting chose an address that is taken. */
static void explain_listen_error(const char *msg, const struct option *opts, const struct sources *s)
{
	const char *how = "the default";

	if (!strstr(msg, "in use"))
		return;
	for (int i = 0; opts[i].name; i++)
		if (!strcmp(opts[i].name, "listen"))
			how = s->kind[i] == SRC_FLAG ? "--listen" : s->kind[i] == SRC_ENV ? "AUTOCODER_LISTEN"
			      : s->kind[i] == SRC_FILE ? "listen: in the config file" : "the default";
	fprintf(stderr, "autocoder serve: the address comes from %s; choose another with --listen "
		"HOST:PORT, AUTOCODER_LISTEN or 'listen:' in the config file (make run: LISTEN= or PORT=)\n", how);
}

int cmd_serve(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' }, { "db", required_argument, NULL, 'd' },
		{ "rules", required_argument, NULL, 'r' }, { "web", required_argument, NULL, 'w' },
		{ "open-read", no_argument, NULL, 'o' }, { "max-event", required_argument, NULL, 'E' },
		{ "max-body", required_argument, NULL, 'B' }, { "max-decoded", required_argument, NULL, 'D' },
		{ "queue", required_argument, NULL, 'q' }, { "group", required_argument, NULL, 'g' },
		{ "threads", required_argument, NULL, 't' }, { "rate-limit", required_argument, NULL, 'R' },
		{ "rate-burst", required_argument, NULL, 'b' }, { "port-file", required_argument, NULL, 'p' },
		{ "log-level", required_argument, NULL, 'L' }, { "help", no_argument, NULL, 'h' },
		{ "max-inflight", required_argument, NULL, 'I' },
		{ "max-conn-per-ip", required_argument, NULL, 'C' },
		{ "max-batch", required_argument, NULL, 'M' },
		{ "max-attachment", required_argument, NULL, 'A' },
		{ "attachment-quota", required_argument, NULL, 'Q' },
		{ "retention-max-age", required_argument, NULL, 1000 },
		{ "retention-max-events", required_argument, NULL, 1001 },
		{ "retention-max-bytes", required_argument, NULL, 1002 },
		{ "retention-interval", required_argument, NULL, 1003 },
		{ "check-db", no_argument, NULL, 1004 },
		{ "access-log", required_argument, NULL, 1005 },
		{ "alert-interval", required_argument, NULL, 1006 },
		{ "smtp-url", required_argument, NULL, 1007 },
		{ "smtp-from", required_argument, NULL, 1008 },
		{ "public-url", required_argument, NULL, 1009 },
		{ "config", required_argument, NULL, 1010 },
		{ "print-config", no_argument, NULL, 1011 },
		{ NULL, 0, NULL, 0 },
	};
	struct sources src = { 0 };
	int longindex;
	bool print_config = false;
	struct collector_config cfg;
	struct collector *c = NULL;
	struct retention *ret = NULL;
	struct alerts *alerts = NULL;
	struct alerts_config acfg = { .interval = 10 };
	struct retention_policy pol = { 90 * 86400.0, 0, 0 };
	double ret_interval = 600;
	bool check_db = false;
	struct ac_error err;
	int64_t n;
	size_t sz;
	int rc = 0;
	const char *port_file = NULL;
	enum ac_log_level lvl;
	char addr[300];
	double d;
	int opt;

	collector_config_defaults(&cfg);
	if (gather_args(opts, &argc, &argv, &src))
		return 2;
	optind = 1;
	while ((longindex = -1, opt = getopt_long(argc, argv, "h", opts, &longindex)) != -1) {
		if (longindex >= 0 && longindex < MAX_OPTS) {
			src.value[longindex] = optarg ? optarg : "true";
			src.kind[longindex] = source_of(&src, optind - 1, &src.line[longindex]);
		}
		switch (opt) {
		case 'l': cfg.listen = optarg; break;
		case 'd': cfg.db_path = optarg; break;
		case 'r': cfg.rules_dir = optarg; break;
		case 'w': cfg.web_dir = optarg; break;
		case 'o': cfg.open_read = true; break;
		case 'E': if (parse_size_opt("--max-event", optarg, &cfg.max_event_bytes)) return 2; break;
		case 'B': if (parse_size_opt("--max-body", optarg, &cfg.max_body_bytes)) return 2; break;
		case 'D': if (parse_size_opt("--max-decoded", optarg, &cfg.max_decoded_bytes)) return 2; break;
		case 'A': if (parse_size_opt("--max-attachment", optarg, &cfg.max_attachment_bytes)) return 2; break;
		case 'Q': {
			size_t q;
			if (parse_size_opt("--attachment-quota", optarg, &q))
				return 2;
			cfg.attachment_quota_bytes = q;
			break;
		}
		case 'q': if (parse_uint_opt("--queue", optarg, &cfg.queue_events, false)) return 2; break;
		case 'g': if (parse_uint_opt("--group", optarg, &cfg.max_group_events, false)) return 2; break;
		case 't': if (parse_uint_opt("--threads", optarg, &cfg.threads, false)) return 2; break;
		case 'R':
		case 'b':
			if (ac_parse_double(optarg, &d) || d < 0)
				return usage_error(serve_usage, "%s: '%s' is not a rate", opt == 'R' ? "--rate-limit" : "--rate-burst", optarg);
			if (opt == 'R')
				cfg.rate_limit = d;
			else
				cfg.rate_burst = d;
			break;
		case 'I': if (parse_size_opt("--max-inflight", optarg, &cfg.max_inflight_bytes)) return 2; break;
		case 'C': if (parse_uint_opt("--max-conn-per-ip", optarg, &cfg.max_conn_per_ip, false)) return 2; break;
		case 'M': if (parse_uint_opt("--max-batch", optarg, &cfg.max_batch_events, false)) return 2; break;
		case 'p': port_file = optarg; break;
		case 'L':
			if (ac_log_parse_level(optarg, &lvl))
				return usage_error(serve_usage, "--log-level: '%s' is not debug, info, warn or error", optarg);
			ac_log_set_level(lvl);
			break;
		case 1000:
			if (retention_parse_age(optarg, &pol.max_age_seconds))
				return usage_error(serve_usage, "--retention-max-age: '%s' is not an age (90d, 12h, 30m, 45s)", optarg);
			break;
		case 1001:
			if (ac_parse_i64(optarg, &n) || n < 0)
				return usage_error(serve_usage, "--retention-max-events: '%s' is not a count", optarg);
			pol.max_events = n;
			break;
		case 1002:
			if (strcmp(optarg, "0") && ac_parse_size(optarg, &sz))
				return usage_error(serve_usage, "--retention-max-bytes: '%s' is not a size", optarg);
			pol.max_bytes = strcmp(optarg, "0") ? (long long)sz : 0;
			break;
		case 1003:
			if (ac_parse_double(optarg, &ret_interval) || ret_interval <= 0)
				return usage_error(serve_usage, "--retention-interval: '%s' is not a number of seconds", optarg);
			break;
		case 1004: check_db = true; break;
		case 1010: break; /* read by gather_args */
		case 1011: print_config = true; break;
		case 1006:
			if (ac_parse_double(optarg, &acfg.interval) || acfg.interval <= 0)
				return usage_error(serve_usage, "--alert-interval: '%s' is not a number of seconds", optarg);
			break;
		case 1007: acfg.smtp_url = optarg; break;
		case 1008: acfg.smtp_from = optarg; break;
		case 1009: acfg.public_url = optarg; break;
		case 1005: {
			enum access_log_mode m;
			unsigned sample;
			if (access_log_parse(optarg, &m, &sample))
				return usage_error(serve_usage, "--access-log: '%s' is not on, off or sample:N", optarg);
			access_log_configure(m, sample);
			break;
		}
		case 'h': fputs(serve_usage, stdout); return 0;
		default: return usage_error(serve_usage, "unknown option");
		}
	}
	if (optind < argc)
		return usage_error(serve_usage, "unexpected argument '%s'", argv[optind]);
	if (print_config)
		return print_config_table(opts, &src);
	if (check_db)
		return db_check_print(cfg.db_path, false);
	if (check_paths(&cfg))
		return 1;
	if (collector_start(&cfg, &c, &err)) {
		fprintf(stderr, "autocoder serve: %s\n", err.msg);
		explain_listen_error(err.msg, opts, &src);
		return 1;
	}
	collector_handle_signals(c);
	log_startup(&cfg, &pol);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (retention_start(cfg.db_path, &pol, ret_interval, cfg.rules_dir != NULL, &ret, &err) ||
	    alerts_start(cfg.db_path, &acfg, &alerts, &err)) {
		fprintf(stderr, "autocoder serve: %s\n", err.msg);
		rc = 1;
		collector_stop(c);
	} else {
		ops_set_retention(ret);
		snprintf(addr, sizeof addr, "%s (port %u)", cfg.listen, collector_port(c));
		ac_log(AC_LOG_INFO, "listening", "addr", addr, "db", cfg.db_path, "version",
		       ops_version(), "commit", ops_commit(), NULL);
		if (port_file && write_port_file(port_file, collector_port(c))) {
			rc = 1;
			collector_stop(c);
		}
	}
	collector_wait(c);
	alerts_stop(alerts);
	ops_set_retention(NULL);
	retention_stop(ret);
	curl_global_cleanup();
	collector_free(c);
	return rc;
}

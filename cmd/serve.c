/*
 * serve.c — `autocoder serve`: parse options, start the collector, wait for SIGTERM.
 */
#include "core/common.h"
#include "cmd/cmds.h"
#include "collector/collector.h"

#include <getopt.h>

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
	"  --log-level LEVEL      debug, info, warn or error (default info)\n";

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
		{ NULL, 0, NULL, 0 },
	};
	struct collector_config cfg;
	struct collector *c = NULL;
	struct ac_error err;
	const char *port_file = NULL;
	enum ac_log_level lvl;
	char addr[300];
	double d;
	int opt;

	collector_config_defaults(&cfg);
	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
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
		case 'h': fputs(serve_usage, stdout); return 0;
		default: return usage_error(serve_usage, "unknown option");
		}
	}
	if (optind < argc)
		return usage_error(serve_usage, "unexpected argument '%s'", argv[optind]);
	if (collector_start(&cfg, &c, &err)) {
		fprintf(stderr, "autocoder serve: %s\n", err.msg);
		return 1;
	}
	collector_handle_signals(c);
	snprintf(addr, sizeof addr, "%s (port %u)", cfg.listen, collector_port(c));
	ac_log(AC_LOG_INFO, "listening", "addr", addr, "db", cfg.db_path, NULL);
	if (port_file && write_port_file(port_file, collector_port(c))) {
		collector_stop(c);
		collector_wait(c);
		collector_free(c);
		return 1;
	}
	collector_wait(c);
	collector_free(c);
	return 0;
}

/*
 * send.c — `autocoder send`: upload log files, events, crash reports or a crash spool to a
 * collector, or feedback on a cluster (collector/send.h does the work).
 */
#include "core/common.h"
#include "cmd/cmds.h"
#include "collector/send.h"

#include <signal.h>
#include <unistd.h>

static const char usage[] =
	"usage: autocoder send [options] [FILE|DIR|-]...\n"
	"  Upload to a collector: text log files or stdin ('-', the default), JSON lines, a JSON\n"
	"  event or array, a crash report JSON, or a generated system's crash spool directory.\n"
	"  Interrupted uploads resume where the last acknowledged batch ended; nothing is stored\n"
	"  twice (every event gets an id derived from the file and the line's offset).\n"
	"  --dsn DSN          collector and key from a DSN (env AUTOCODER_DSN)\n"
	"  --url URL          collector base URL (env AUTOCODER_URL)\n"
	"  --token KEY        token or DSN key (env AUTOCODER_TOKEN; overrides the DSN's key)\n"
	"  --format FMT       text line format as in `cluster`, e.g. '<Date> <Time> <Level> <Content>'\n"
	"  --system S, --component C, --release R, --environment E   defaults for the events\n"
	"  --note TEXT        what you were doing (attached to every event as context.report)\n"
	"  --contact TEXT     how to reach you (same)\n"
	"  --state-dir DIR    where resume state is kept (default $AUTOCODER_STATE_DIR,\n"
	"                     $XDG_STATE_HOME/autocoder or ~/.local/state/autocoder)\n"
	"  --no-state         keep no resume state   --restart   ignore the saved offset\n"
	"  --progress, --no-progress   progress bar on stderr (default: when stderr is a terminal)\n"
	"  --retries N        attempts per batch on 5xx or network errors (default 8)\n"
	"  --batch N          events per batch (default 2000)\n"
	"  --json             print the summary as JSON\n"
	"  --feedback CLUSTER send feedback on a cluster instead of files, with one of\n"
	"     --worked N | --failed N (fix step N) | --other-cause, and --note / --contact\n"
	"Exit status: 0 everything acknowledged (stored or duplicate), 1 something refused or\n"
	"not delivered (run again to resume), 2 usage error.\n";

static void on_signal(int sig)
{
	(void)sig;
	sender_interrupt();
}

struct fb_opts {
	long long cluster;
	const char *outcome;
	int fix;
};

static int parse_count(const char *usage_s, const char *opt, const char *v, long long min,
		       long long max, long long *out)
{
	int64_t n;
	if (ac_parse_i64(v, &n) || n < min || n > max)
		return usage_error(usage_s, "%s: expected %lld..%lld, got '%s'", opt, min, max, v);
	*out = n;
	return 0;
}

/* Options into cfg/fb; *first receives the index of the first input. 0 or the exit code. */
static int parse_args(int argc, char **argv, struct send_config *cfg, struct fb_opts *fb,
		      const char **dsn, bool *json, bool *no_state, int *first)
{
	int i;
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		bool v = i + 1 < argc;
		long long n = 0;
		const char **str = NULL;
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			fputs(usage, stdout);
			return -1;
		}
		if (!strcmp(a, "--dsn")) str = dsn;
		else if (!strcmp(a, "--url")) str = &cfg->url;
		else if (!strcmp(a, "--token")) str = &cfg->key;
		else if (!strcmp(a, "--format")) str = &cfg->format;
		else if (!strcmp(a, "--system")) str = &cfg->system;
		else if (!strcmp(a, "--component")) str = &cfg->component;
		else if (!strcmp(a, "--release")) str = &cfg->release;
		else if (!strcmp(a, "--environment")) str = &cfg->environment;
		else if (!strcmp(a, "--note")) str = &cfg->note;
		else if (!strcmp(a, "--contact")) str = &cfg->contact;
		else if (!strcmp(a, "--state-dir")) str = &cfg->state_dir;
		if (str) {
			if (!v)
				return usage_error(usage, "%s needs a value", a);
			*str = argv[++i];
		} else if (!strcmp(a, "--no-state")) {
			*no_state = true;
		} else if (!strcmp(a, "--restart")) {
			cfg->restart = true;
		} else if (!strcmp(a, "--progress")) {
			cfg->progress = 1;
		} else if (!strcmp(a, "--no-progress")) {
			cfg->progress = 0;
		} else if (!strcmp(a, "--json")) {
			*json = true;
		} else if (!strcmp(a, "--retries") && v) {
			if (parse_count(usage, a, argv[++i], 1, 100, &n))
				return 2;
			cfg->retries = (unsigned)n;
		} else if (!strcmp(a, "--batch") && v) {
			if (parse_count(usage, a, argv[++i], 1, 100000, &n))
				return 2;
			cfg->batch_events = (size_t)n;
		} else if (!strcmp(a, "--feedback") && v) {
			if (parse_count(usage, a, argv[++i], 1, INT64_MAX, &fb->cluster))
				return 2;
		} else if ((!strcmp(a, "--worked") || !strcmp(a, "--failed")) && v) {
			if (parse_count(usage, a, argv[++i], 1, 100, &n))
				return 2;
			fb->outcome = a[2] == 'w' ? "worked" : "failed";
			fb->fix = (int)n;
		} else if (!strcmp(a, "--other-cause")) {
			fb->outcome = "other_cause";
		} else if (!strcmp(a, "--")) {
			i++;
			break;
		} else if (a[0] == '-' && a[1]) {
			return usage_error(usage, "unknown or incomplete option '%s'", a);
		} else {
			break;
		}
	}
	*first = i;
	return 0;
}

int cmd_send(int argc, char **argv)
{
	struct send_config cfg;
	struct fb_opts fb = { 0 };
	struct ac_error err = { 0 };
	struct sender *s = NULL;
	const char *dsn = getenv("AUTOCODER_DSN");
	char url[1024], key[256], state_dir[1024];
	bool json = false, no_state = false;
	int first = 1, ret;

	send_config_defaults(&cfg);
	cfg.progress = isatty(STDERR_FILENO) ? 1 : 0;
	cfg.url = getenv("AUTOCODER_URL");
	cfg.key = getenv("AUTOCODER_TOKEN");
	const char *flag_url = NULL, *flag_key = NULL;
	{
		struct send_config probe = cfg;
		probe.url = probe.key = NULL;
		if ((ret = parse_args(argc, argv, &probe, &fb, &dsn, &json, &no_state, &first)))
			return ret < 0 ? 0 : ret;
		flag_url = probe.url;
		flag_key = probe.key;
		probe.url = cfg.url;
		probe.key = cfg.key;
		cfg = probe;
	}
	if (dsn && *dsn) {
		if (send_parse_dsn(dsn, url, sizeof url, key, sizeof key, &err))
			return usage_error(NULL, "%s", err.msg);
		if (!flag_url)
			cfg.url = url;
		if (!flag_key && !getenv("AUTOCODER_TOKEN"))
			cfg.key = key;
	}
	if (flag_url)
		cfg.url = flag_url;
	if (flag_key)
		cfg.key = flag_key;
	if (!no_state && !cfg.state_dir && send_default_state_dir(state_dir, sizeof state_dir))
		cfg.state_dir = state_dir;
	if (no_state)
		cfg.state_dir = NULL;
	if (fb.cluster && !fb.outcome)
		return usage_error(usage, "--feedback needs --worked N, --failed N or --other-cause");
	if (!(s = sender_new(&cfg, &err)))
		return usage_error(NULL, "%s", err.msg);

	struct sigaction sa = { .sa_handler = on_signal };
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	if (fb.cluster) {
		ret = sender_feedback(s, fb.cluster, fb.outcome, fb.fix, cfg.note, cfg.contact, &err);
		if (ret)
			fprintf(stderr, "autocoder send: %s\n", err.msg);
		sender_free(s);
		return ret ? 1 : 0;
	}
	ret = 0;
	for (int i = first; i < argc || (i == first && first == argc); i++) {
		const char *path = i < argc ? argv[i] : "-";
		if (sender_send_path(s, path, &err)) {
			fprintf(stderr, "autocoder send: %s\n", err.msg);
			ret = 1;
			if (err.code == AC_EAUTH || !strcmp(err.what, "interrupted") ||
			    !strcmp(err.what, "unavailable"))
				break;
		}
	}
	sender_print_summary(s, stdout, json);
	if (!sender_complete(s))
		ret = 1;
	sender_free(s);
	return ret;
}

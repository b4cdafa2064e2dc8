/*
 * alerts.c — `autocoder alerts`: add, list and remove alert rules, show the delivery log,
 * run one detection and delivery round. The work is in collector/alerts*.c.
 */
#include "core/common.h"
#include "cmd/cmds.h"
#include "collector/alerts.h"
#include "collector/retention.h"

static const char alerts_usage[] =
	"usage: autocoder alerts add --project NAME --on KIND (--webhook URL | --email ADDR)\n"
	"                            [--payload json|slack|text] [--min-interval AGE]\n"
	"                            [--spike-factor F] [--match RULE-ID-PREFIX] [--db PATH]\n"
	"       autocoder alerts list [--db PATH] [--json]\n"
	"       autocoder alerts remove ID [--db PATH]\n"
	"       autocoder alerts log [--limit N] [--db PATH] [--json]\n"
	"       autocoder alerts run [--db PATH] [--smtp-url URL] [--smtp-from ADDR]\n"
	"\n"
	"  KIND: new_cluster, regression, spike (this hour > F x the mean of the previous 24\n"
	"  hours, default F 5) or fatal (a fatal or crash cluster matched by a rule; --match\n"
	"  limits it to rule ids with that prefix). --min-interval (default 1h; 90d, 12h, 30m,\n"
	"  45s) is the least time between two alerts of a rule for one cluster. serve checks the\n"
	"  rules every --alert-interval seconds and delivers with retries; `run` does one round.\n";

int cmd_alerts(int argc, char **argv)
{
	struct alert_rule_spec spec = { .min_interval = -1, .spike_factor = -1 };
	struct alerts_config acfg = { 0 };
	struct ac_error err;
	const char *sub = argc > 1 ? argv[1] : NULL, *db = getenv("AUTOCODER_DB"), *arg = NULL;
	bool json = false;
	int64_t limit = 50, n;
	int rc = 0;

	if (!db || !*db)
		db = "data/autocoder.db";
	if (!sub || !strcmp(sub, "--help") || !strcmp(sub, "-h") || !strcmp(sub, "help")) {
		fputs(alerts_usage, sub ? stdout : stderr);
		return sub ? 0 : 2;
	}
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			fputs(alerts_usage, stdout);
			return 0;
		}
		if (!strcmp(a, "--json")) {
			json = true;
			continue;
		}
		if (a[0] != '-') {
			if (arg)
				return usage_error(alerts_usage, "unexpected argument '%s'", a);
			arg = a;
			continue;
		}
		if (!v)
			return usage_error(alerts_usage, "%s needs a value", a);
		i++;
		if (!strcmp(a, "--db")) db = v;
		else if (!strcmp(a, "--project")) spec.project = v;
		else if (!strcmp(a, "--on")) spec.kind = v;
		else if (!strcmp(a, "--webhook")) spec.target = v;
		else if (!strcmp(a, "--payload")) spec.format = v;
		else if (!strcmp(a, "--match")) spec.match = v;
		else if (!strcmp(a, "--smtp-url")) acfg.smtp_url = v;
		else if (!strcmp(a, "--smtp-from")) acfg.smtp_from = v;
		else if (!strcmp(a, "--email")) {
			static char mailto[512];
			snprintf(mailto, sizeof mailto, "mailto:%s", v);
			spec.target = mailto;
		} else if (!strcmp(a, "--min-interval")) {
			if (retention_parse_age(v, &spec.min_interval))
				return usage_error(alerts_usage, "--min-interval: '%s' is not a duration", v);
		} else if (!strcmp(a, "--spike-factor")) {
			if (ac_parse_double(v, &spec.spike_factor) || spec.spike_factor <= 0)
				return usage_error(alerts_usage, "--spike-factor: '%s' is not a positive number", v);
		} else if (!strcmp(a, "--limit")) {
			if (ac_parse_i64(v, &limit) || limit < 1 || limit > 100000)
				return usage_error(alerts_usage, "--limit: '%s' is not a count", v);
		} else
			return usage_error(alerts_usage, "unknown option '%s'", a);
	}
	if (!strcmp(sub, "add")) {
		long long id;
		if (!spec.project)
			return usage_error(alerts_usage, "alerts add: --project is required");
		if ((rc = alerts_rule_add(db, &spec, &id, &err)) == 0)
			printf(json ? "{\"id\": %lld}\n" : "alert rule %lld added\n", id);
	} else if (!strcmp(sub, "list")) {
		rc = alerts_print_rules(db, json, &err);
	} else if (!strcmp(sub, "remove")) {
		if (!arg || ac_parse_i64(arg, &n))
			return usage_error(alerts_usage, "alerts remove: which rule id?");
		if ((rc = alerts_rule_remove(db, n, &err)) == 0)
			printf("ok\n");
	} else if (!strcmp(sub, "log")) {
		rc = alerts_print_log(db, (unsigned)limit, json, &err);
	} else if (!strcmp(sub, "run")) {
		if ((rc = alerts_run_once(db, &acfg, &err)) == 0)
			printf("ok\n");
	} else {
		return usage_error(alerts_usage, "alerts: unknown subcommand '%s'", sub);
	}
	if (rc) {
		fprintf(stderr, "autocoder alerts %s: %s\n", sub, err.msg);
		return 1;
	}
	return 0;
}

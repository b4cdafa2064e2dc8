/*
 * alerts.h — alerts on clusters, delivered to webhooks (and optionally e-mail).
 *
 * Kinds: new_cluster (a cluster appears), regression (a resolved cluster receives an event
 * and reopens), spike (this hour's events of a cluster exceed spike_factor x its mean over
 * the previous 24 hours, at least 1), fatal (a cluster of fatal level or of crashes whose
 * rule id starts with the alert rule's match, any rule when match is NULL).
 *
 * The alert thread that `serve` starts reads the clusters table every interval (it does not
 * touch the analyzer): new clusters by id above a watermark, regressions and spikes and
 * fatal clusters among the clusters updated in the last minutes. Per (alert rule, cluster) a
 * delivery is queued at most once per min_interval seconds (default 3600; new_cluster once
 * ever), so a pattern with an ID in its messages — one cluster — pages once, not per event;
 * suppressed alerts are counted in alert_state. Deliveries go out with libcurl: an HTTP POST
 * of the payload (2xx = sent), or SMTP for mailto: targets when serve has --smtp-url. A
 * failed delivery is retried after 2, 4, 8 ... seconds (at most ALERT_MAX_ATTEMPTS tries);
 * every try is recorded in alert_deliveries (the delivery log: `autocoder alerts log`,
 * GET /api/v1/alerts/deliveries).
 *
 * Payloads (docs/OPERATIONS.md): format json {"type":"autocoder.alert","version":1,"kind",
 * "text","project":{...},"cluster":{...},"alert_rule":{...},"sent_at"}; slack {"text",
 * "blocks":[section mrkdwn]}; text {"text"}.
 */
#ifndef AC_ALERTS_H
#define AC_ALERTS_H

#include <stdbool.h>

struct ac_error;
struct alerts;

#define ALERT_MAX_ATTEMPTS 5

struct alerts_config {
	double interval;          /* seconds between scans (default 10) */
	const char *smtp_url;     /* smtp://host:port, NULL = no e-mail */
	const char *smtp_from;    /* envelope and From: address */
	const char *public_url;   /* base URL for links in messages (may be NULL) */
};

int alerts_start(const char *db_path, const struct alerts_config *cfg, struct alerts **out,
		 struct ac_error *err);
void alerts_stop(struct alerts *a);
/* One scan + delivery round (tests, `alerts run`). */
int alerts_run_once(const char *db_path, const struct alerts_config *cfg, struct ac_error *err);

/* Alert rules. */
struct alert_rule_spec {
	const char *project, *kind, *target, *format, *match;
	double min_interval, spike_factor;   /* < 0: default */
};
int alerts_rule_add(const char *db_path, const struct alert_rule_spec *s, long long *id,
		    struct ac_error *err);
int alerts_rule_remove(const char *db_path, long long id, struct ac_error *err);
/* Print rules / the delivery log (newest first, at most limit) as text or JSON. */
int alerts_print_rules(const char *db_path, bool json, struct ac_error *err);
int alerts_print_log(const char *db_path, unsigned limit, bool json, struct ac_error *err);

#endif

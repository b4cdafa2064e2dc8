/*
 * faults.h — the fault catalogue (data/faults/NAME.yaml) and the fault runner: real faults
 * injected into generated systems prove that the analyzer attaches the right rule.
 *
 * A catalogue entry names a rule, the blueprint to generate (relative to the catalogue
 * file), and shell recipes: `inject` causes the fault in the running system (which reports
 * through its normal shipper to a collector started for the run), `fix` (optional) applies
 * the rule's fix and exits 0 when the system recovered. The recipes run under /bin/sh with
 * data/faults/lib.sh sourced (start_system, run_system, stop_system, wait_http, ...) and the
 * environment SYSTEM_DIR, SYSTEM, DATA_DIR, WORK, PORT, PORT2, AUTOCODER_COLLECTOR_URL,
 * AUTOCODER_KEY. Each run is stored in the fault_runs table (core/db.c): rule, fault,
 * outcome ("validated" when at least one event the run caused was clustered with the rule
 * attached, else "failed"), fix outcome, date, system, autocoder version, evidence event ids.
 * The guide reads the newest run per rule (faults_rule_validation).
 */
#ifndef AC_FAULTS_H
#define AC_FAULTS_H

#include "core/sql.h"
#include <stdbool.h>
#include <stdio.h>

struct ac_error;
struct rules;
struct fault_catalog;

struct fault {
	const char *id, *rule, *description;
	const char *blueprint;   /* absolute or relative to the cwd (resolved at load); may be NULL */
	const char *inject, *fix;   /* shell; fix may be NULL */
	const char *file;        /* catalogue file and the line of the entry's id */
	int line;
	unsigned timeout;        /* seconds for inject (and for fix), default 60 */
};

/* Load every *.yaml of dir (sorted). Errors name file:line:column. rules (may be NULL)
 * checks that each entry's rule exists. 0 or negative with err set. */
int fault_catalog_load(const char *dir, const struct rules *rules, struct fault_catalog **out,
		       struct ac_error *err);
void fault_catalog_free(struct fault_catalog *c);
size_t fault_catalog_count(const struct fault_catalog *c);
const struct fault *fault_catalog_get(const struct fault_catalog *c, size_t i);

struct fault_run_options {
	const char *self;        /* the autocoder binary (to serve, create keys, generate) */
	const char *rules_dir;   /* rules for the run's collector */
	const char *db_path;     /* where results are stored */
	const char *lib;         /* data/faults/lib.sh */
	const char *blueprint;   /* for entries that name none */
	const char *only_rule;   /* run only entries of this rule (NULL = all) */
	const char *only_fault;  /* run only this entry (NULL = all) */
	const char *workdir;     /* NULL = a fresh directory under $TMPDIR */
	bool keep;               /* keep the work directory */
	FILE *log;               /* progress lines */
};

/* Run the selected entries; *validated / *failed count them. 0 when the runs could be made
 * (whatever their outcome), negative with err set otherwise (no collector, build failed...). */
int faults_run(const struct fault_catalog *c, const struct fault_run_options *o,
	       unsigned *validated, unsigned *failed, struct ac_error *err);

/* The stored runs, newest first, as a table or JSON. */
int faults_list(ac_sql *db, FILE *out, bool json, struct ac_error *err);

struct fault_validation {
	bool validated;          /* the newest run of the rule attached it */
	bool stale;              /* an earlier run validated it, the newest did not */
	bool any;                /* the rule has runs at all */
	char date[32];           /* YYYY-MM-DD of the newest validating run */
	long long events;        /* evidence events of that run */
	char fault[96];          /* the fault of that run (or of the failing newest run) */
};

/* The validation state of a rule from the stored runs. 0, or AC_EDB with err set. */
int faults_rule_validation(ac_sql *db, const char *rule_id, struct fault_validation *v,
			   struct ac_error *err);

#endif

/*
 * db.c — `autocoder db` (stats, retention, prune, check) and `autocoder backup`: looking
 * after the database of a collector that runs for months. docs/OPERATIONS.md has the recipes.
 *
 *   autocoder db stats [--db PATH] [--json]
 *   autocoder db retention PROJECT [--db PATH] [--max-age AGE] [--max-events N]
 *                                  [--max-bytes SIZE] [--reset]
 *   autocoder db prune [--db PATH] [--max-age AGE] [--max-events N] [--max-bytes SIZE]
 *   autocoder db check [--db PATH] [--json]       (the same as serve --check-db)
 *   autocoder db migrate --from PATH --to postgresql://...   (copy, verify counts)
 *   autocoder backup [--db PATH] --to FILE [--json]
 */
#include "core/common.h"
#include "core/db.h"
#include "cmd/cmds.h"
#include "collector/retention.h"

#include <jansson.h>

static const char db_usage[] =
	"usage: autocoder db stats [--db PATH] [--json]\n"
	"       autocoder db retention PROJECT [--db PATH] [--max-age AGE] [--max-events N]\n"
	"                                      [--max-bytes SIZE] [--reset]\n"
	"       autocoder db prune [--db PATH] [--max-age AGE] [--max-events N] [--max-bytes SIZE]\n"
	"       autocoder db check [--db PATH] [--json]\n"
	"       autocoder db migrate --from PATH --to DB [--json]\n"
	"\n"
	"  stats      size of every table and index, and events per project\n"
	"  retention  set a project's retention (overrides serve's --retention-* defaults);\n"
	"             AGE is 90d, 12h, 30m or seconds; 0 = unlimited; --reset = back to defaults\n"
	"  prune      run one retention pass now (serve runs them every --retention-interval)\n"
	"  check      schema version of the file and whether this binary would migrate it\n"
	"  migrate    copy every table of --from (e.g. the SQLite file) into the empty database\n"
	"             --to (e.g. postgresql://user@host/autocoder), ids kept, and verify the row\n"
	"             counts; one transaction: all or nothing. Stop serve on --from first.\n"
	"  --db PATH  database (default data/autocoder.db, or $AUTOCODER_DB): a file, sqlite:FILE\n"
	"             or a PostgreSQL URL (postgres://... or postgresql://...)\n";

static const char backup_usage[] =
	"usage: autocoder backup [--db PATH] --to FILE [--json]\n"
	"  Copies the database with SQLite's online backup API (safe while serve runs) and\n"
	"  runs PRAGMA integrity_check on the copy. FILE must not exist.\n"
	"  Restore: stop serve, move PATH, PATH-wal and PATH-shm away, copy FILE to PATH, start.\n";

struct db_opts {
	const char *db, *arg, *to;
	struct retention_policy pol;
	bool json, reset;
};

static const char *default_db(void)
{
	const char *e = getenv("AUTOCODER_DB");
	return e && *e ? e : "data/autocoder.db";
}

static int parse_db_opts(const char *usage, int argc, char **argv, int first, struct db_opts *o)
{
	o->db = default_db();
	o->pol.max_age_seconds = o->pol.max_events = o->pol.max_bytes = -1;
	for (int i = first; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		int64_t n;
		size_t sz;
		if (!strcmp(a, "--json")) {
			o->json = true;
			continue;
		}
		if (!strcmp(a, "--reset")) {
			o->reset = true;
			continue;
		}
		if (a[0] != '-') {
			if (o->arg)
				return usage_error(usage, "unexpected argument '%s'", a);
			o->arg = a;
			continue;
		}
		if (!v)
			return usage_error(usage, "%s needs a value", a);
		i++;
		if (!strcmp(a, "--db") || !strcmp(a, "--from"))
			o->db = v;
		else if (!strcmp(a, "--to"))
			o->to = v;
		else if (!strcmp(a, "--max-age")) {
			if (retention_parse_age(v, &o->pol.max_age_seconds))
				return usage_error(usage, "--max-age: '%s' is not an age (90d, 12h, 30m, 45s)", v);
		} else if (!strcmp(a, "--max-events")) {
			if (ac_parse_i64(v, &n) || n < 0)
				return usage_error(usage, "--max-events: '%s' is not a count", v);
			o->pol.max_events = n;
		} else if (!strcmp(a, "--max-bytes")) {
			if (!strcmp(v, "0"))
				sz = 0;
			else if (ac_parse_size(v, &sz))
				return usage_error(usage, "--max-bytes: '%s' is not a size (e.g. 512M, 2G)", v);
			o->pol.max_bytes = (long long)sz;
		} else
			return usage_error(usage, "unknown option '%s'", a);
	}
	return 0;
}

/* serve --check-db and db check. 0: usable by this binary (up to date or migratable). */
int db_check_print(const char *path, bool json)
{
	struct ac_error err;
	int version = 0, bin = ac_db_schema_version();
	const char *state;

	if (ac_db_file_version(path, &version, &err)) {
		fprintf(stderr, "autocoder: --db %s\n", err.msg);
		return 1;
	}
	state = version == bin ? "up to date" : version < bin ? "migration pending" : "newer than this binary";
	if (json) {
		json_t *o = json_pack("{s:s,s:i,s:i,s:b,s:s}", "db", path, "schema_version", version,
				      "binary_schema_version", bin, "migration_pending", version < bin,
				      "state", state);
		json_dumpf(o, stdout, 0);
		putchar('\n');
		json_decref(o);
	} else {
		printf("database: %s\nschema version: %d\nbinary schema version: %d\n", path, version, bin);
		if (version < bin)
			printf("migration pending: yes (%d -> %d, applied when serve starts)\n", version, bin);
		else
			printf("migration pending: no\n");
	}
	if (version > bin) {
		fprintf(stderr, "autocoder: %s has schema version %d, newer than this binary's %d: "
			"downgrades are not supported; run a newer autocoder or restore a backup made "
			"before the upgrade\n", path, version, bin);
		return 1;
	}
	return 0;
}

static int db_retention(struct db_opts *o)
{
	struct ac_error err;

	if (!o->arg)
		return usage_error(db_usage, "db retention: which project?");
	if (!o->reset && o->pol.max_age_seconds < 0 && o->pol.max_events < 0 && o->pol.max_bytes < 0)
		return usage_error(db_usage, "db retention: give --max-age, --max-events, --max-bytes or --reset");
	if (retention_set(o->db, o->arg, &o->pol, o->reset, &err)) {
		fprintf(stderr, "autocoder db retention: %s\n", err.msg);
		return 1;
	}
	printf("ok\n");
	return 0;
}

static void migrate_progress(void *arg, const char *table, long long rows)
{
	json_t *tables = arg;

	if (tables)
		json_object_set_new(tables, table, json_integer(rows));
	else
		printf("%-20s %12lld rows copied, counts equal\n", table, rows);
}

static int db_migrate(struct db_opts *o)
{
	struct ac_error err;
	json_t *tables = o->json ? json_object() : NULL;
	double t0 = ac_monotonic();

	if (!o->to)
		return usage_error(db_usage, "db migrate: --to DB is required");
	if (ac_db_copy(o->db, o->to, migrate_progress, tables, &err)) {
		fprintf(stderr, "autocoder db migrate: %s\n", err.msg);
		json_decref(tables);
		return 1;
	}
	if (tables) {
		json_t *out = json_pack("{s:o,s:f}", "tables", tables, "seconds", ac_monotonic() - t0);
		json_dumpf(out, stdout, 0);
		putchar('\n');
		json_decref(out);
	} else {
		printf("migrated in %.3f s\n", ac_monotonic() - t0);
	}
	return 0;
}

static int db_prune(struct db_opts *o)
{
	struct retention_policy pol = { 90 * 86400.0, 0, 0 };
	struct ac_error err;
	unsigned long n = 0;

	if (o->pol.max_age_seconds >= 0)
		pol.max_age_seconds = o->pol.max_age_seconds;
	if (o->pol.max_events >= 0)
		pol.max_events = o->pol.max_events;
	if (o->pol.max_bytes >= 0)
		pol.max_bytes = o->pol.max_bytes;
	if (retention_pass(o->db, &pol, false, &n, &err)) {
		fprintf(stderr, "autocoder db prune: %s\n", err.msg);
		return 1;
	}
	if (o->json)
		printf("{\"deleted\": %lu}\n", n);
	else
		printf("deleted %lu events\n", n);
	return 0;
}

int cmd_db(int argc, char **argv)
{
	struct db_opts o = { 0 };
	struct ac_error err;
	const char *sub = argc > 1 ? argv[1] : NULL;
	int rc;

	if (!sub || !strcmp(sub, "--help") || !strcmp(sub, "-h") || !strcmp(sub, "help")) {
		fputs(db_usage, sub ? stdout : stderr);
		return sub ? 0 : 2;
	}
	for (int i = 2; i < argc; i++)
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			fputs(db_usage, stdout);
			return 0;
		}
	if ((rc = parse_db_opts(db_usage, argc, argv, 2, &o)))
		return rc;
	if (!strcmp(sub, "stats")) {
		if (retention_print_stats(o.db, o.json, &err)) {
			fprintf(stderr, "autocoder db stats: %s\n", err.msg);
			return 1;
		}
		return 0;
	}
	if (!strcmp(sub, "retention"))
		return db_retention(&o);
	if (!strcmp(sub, "prune"))
		return db_prune(&o);
	if (!strcmp(sub, "check"))
		return db_check_print(o.db, o.json);
	if (!strcmp(sub, "migrate"))
		return db_migrate(&o);
	return usage_error(db_usage, "db: unknown subcommand '%s'", sub);
}

int cmd_backup(int argc, char **argv)
{
	struct db_opts o = { 0 };
	struct ac_db_backup_info info;
	struct ac_error err;
	double t0;
	int rc;

	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			fputs(backup_usage, stdout);
			return 0;
		}
	if ((rc = parse_db_opts(backup_usage, argc, argv, 1, &o)))
		return rc;
	if (o.arg)
		return usage_error(backup_usage, "unexpected argument '%s'", o.arg);
	if (!o.to)
		return usage_error(backup_usage, "backup: --to FILE is required");
	t0 = ac_monotonic();
	if (ac_db_backup(o.db, o.to, &info, &err)) {
		fprintf(stderr, "autocoder backup: %s\n", err.msg);
		return 1;
	}
	if (o.json)
		printf("{\"db\": \"%s\", \"to\": \"%s\", \"pages\": %d, \"schema_version\": %d,"
		       " \"integrity_check\": \"%s\", \"seconds\": %.3f}\n", o.db, o.to, info.pages,
		       info.schema_version, info.integrity, ac_monotonic() - t0);
	else
		printf("backed up %s to %s: %d pages, schema version %d, integrity_check %s (%.3f s)\n",
		       o.db, o.to, info.pages, info.schema_version, info.integrity, ac_monotonic() - t0);
	return 0;
}

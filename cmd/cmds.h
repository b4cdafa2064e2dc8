/*
 * cmds.h — the subcommands of the `autocoder` binary, one source file each (after Git's
 * builtin/). A command parses its options and calls a module's library; it returns the
 * process exit code: 0 ok, 1 failure or invalid input, 2 usage error.
 */
#ifndef AC_CMDS_H
#define AC_CMDS_H

#include <stdbool.h>

int cmd_serve(int argc, char **argv);
int cmd_keys(int argc, char **argv);
int cmd_cluster(int argc, char **argv);
int cmd_rules(int argc, char **argv);
int cmd_validate(int argc, char **argv);
int cmd_generate(int argc, char **argv);
int cmd_analyze(int argc, char **argv);
int cmd_guide(int argc, char **argv);
int cmd_db(int argc, char **argv);
int cmd_backup(int argc, char **argv);
int cmd_alerts(int argc, char **argv);
/* db.c: print the schema state of the file at path (serve --check-db, db check); 0 when
 * this binary can use it. */
int db_check_print(const char *path, bool json);
int cmd_bench(int argc, char **argv);
int cmd_send(int argc, char **argv);
int cmd_faults(int argc, char **argv);

/* Print "autocoder: <msg>" to stderr; returns 2 (usage) for `return usage_error(...)`. */
int usage_error(const char *usage, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif

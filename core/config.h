/*
 * config.h — options from a YAML config file and from environment variables, turned into
 * "--name=value" arguments placed before the command line's own, so that one getopt pass
 * over [file args, env args, real args] gives the precedence flags > env > file > defaults
 * (the last occurrence of an option wins).
 *
 * The file is one flat YAML mapping of option names (as the long flag without "--";
 * '_' may stand for '-') to scalar values; a boolean option takes true/false. The variable
 * for option "retention-max-age" is AUTOCODER_RETENTION_MAX_AGE (prefix + upper case,
 * '-' -> '_'). Unknown keys, nested values and options that take no value from files
 * (help, config, print-config, check-db) are errors naming file:line:column.
 */
#ifndef AC_CONFIG_H
#define AC_CONFIG_H

#include <getopt.h>
#include <stddef.h>

struct ac_error;

/* A growing list of owned strings. */
struct ac_strv {
	char **v;
	size_t n, cap;
	size_t *line;   /* the config file line of each entry (0 for env/flags) */
};
void ac_strv_free(struct ac_strv *s);
/* Append a borrowed pointer (NULL allowed, as argv's terminator). 0 or AC_ENOMEM. */
int ac_config_push(struct ac_strv *s, const char *str);

/* Append the file's options to out. skip: NULL-terminated option names not allowed. */
int ac_config_file_args(const char *path, const struct option *opts, const char *const *skip,
			struct ac_strv *out, struct ac_error *err);
/* Append options set in the environment (prefix "AUTOCODER_"). A boolean variable is on
 * for 1/true/yes/on and off for 0/false/no/off; anything else is an error naming it. */
int ac_config_env_args(const char *prefix, const struct option *opts, const char *const *skip,
		       struct ac_strv *out, struct ac_error *err);
/* The variable name of an option ("listen" -> "AUTOCODER_LISTEN"). */
void ac_config_env_name(const char *prefix, const char *opt, char *out, size_t n);

#endif

/*
 * config.c — config file and environment options as extra arguments. See config.h.
 */
#include "core/common.h"
#include "core/config.h"

#include <ctype.h>
#include <yaml.h>

void ac_strv_free(struct ac_strv *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);  /* not for lists filled with ac_config_push */
	free(s->v);
	free(s->line);
	memset(s, 0, sizeof *s);
}

static int strv_push(struct ac_strv *s, char *str, size_t line)
{
	if (!str)
		return AC_ENOMEM;
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;
		char **v = realloc(s->v, cap * sizeof *v);
		size_t *l = v ? realloc(s->line, cap * sizeof *l) : NULL;
		if (v)
			s->v = v;
		if (!v || !l) {
			free(str);
			return AC_ENOMEM;
		}
		s->line = l;
		s->cap = cap;
	}
	s->v[s->n] = str;
	s->line[s->n++] = line;
	return 0;
}

int ac_config_push(struct ac_strv *s, const char *str)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;
		char **v = realloc(s->v, cap * sizeof *v);
		size_t *l = v ? realloc(s->line, cap * sizeof *l) : NULL;
		if (v)
			s->v = v;
		if (!v || !l)
			return AC_ENOMEM;
		s->line = l;
		s->cap = cap;
	}
	s->v[s->n] = (char *)str;
	s->line[s->n++] = 0;
	return 0;
}

static char *arg_string(const char *name, const char *value)
{
	size_t n = strlen(name) + (value ? strlen(value) : 0) + 4;
	char *s = malloc(n);

	if (s)
		snprintf(s, n, value ? "--%s=%s" : "--%s", name, value ? value : "");
	return s;
}

static const struct option *find_opt(const struct option *opts, const char *key,
				     const char *const *skip)
{
	char name[64];
	size_t i;

	for (i = 0; key[i] && i + 1 < sizeof name; i++)
		name[i] = key[i] == '_' ? '-' : key[i];
	name[i] = '\0';
	for (const char *const *s = skip; s && *s; s++)
		if (!strcmp(*s, name))
			return NULL;
	for (; opts->name; opts++)
		if (!strcmp(opts->name, name))
			return opts;
	return NULL;
}

/* 1 true, 0 false, -1 neither */
static int parse_bool(const char *v)
{
	static const char *const yes[] = { "1", "true", "yes", "on" }, *const no[] = { "0", "false", "no", "off" };
	for (size_t i = 0; i < 4; i++) {
		if (!strcasecmp(v, yes[i]))
			return 1;
		if (!strcasecmp(v, no[i]))
			return 0;
	}
	return -1;
}

/* Append the arguments for option o = value; where names the source for messages. */
static int push_option(struct ac_strv *out, const struct option *o, const char *value,
		       size_t line, const char *where, struct ac_error *err)
{
	if (o->has_arg == no_argument) {
		int b = parse_bool(value);
		if (b < 0)
			return ac_error_set(err, AC_EINVAL, "config", "%s: %s must be true or false, not '%s'",
					    where, o->name, value);
		return b ? (strv_push(out, arg_string(o->name, NULL), line) ? AC_ENOMEM : 0) : 0;
	}
	return strv_push(out, arg_string(o->name, value), line) ? AC_ENOMEM : 0;
}

static int yaml_fail(struct ac_error *err, const char *path, const yaml_mark_t *m, const char *msg,
		     const char *arg)
{
	return ac_error_set(err, AC_EINVAL, "config", "%s:%zu:%zu: %s%s", path, m->line + 1,
			    m->column + 1, msg, arg ? arg : "");
}

static int walk_mapping(yaml_parser_t *p, const char *path, const struct option *opts,
			const char *const *skip, struct ac_strv *out, struct ac_error *err)
{
	yaml_event_t key, val;
	int rc = 0;

	for (;;) {
		if (!yaml_parser_parse(p, &key))
			return yaml_fail(err, path, &p->problem_mark, p->problem ? p->problem : "YAML error", NULL);
		if (key.type == YAML_MAPPING_END_EVENT) {
			yaml_event_delete(&key);
			return 0;
		}
		if (key.type != YAML_SCALAR_EVENT) {
			rc = yaml_fail(err, path, &key.start_mark, "expected an option name", NULL);
			yaml_event_delete(&key);
			return rc;
		}
		if (!yaml_parser_parse(p, &val)) {
			yaml_event_delete(&key);
			return yaml_fail(err, path, &p->problem_mark, p->problem ? p->problem : "YAML error", NULL);
		}
		const char *k = (const char *)key.data.scalar.value;
		const struct option *o = find_opt(opts, k, skip);
		char where[4200];
		snprintf(where, sizeof where, "%s:%zu:%zu", path, key.start_mark.line + 1,
			 key.start_mark.column + 1);
		if (!o)
			rc = yaml_fail(err, path, &key.start_mark, "unknown option ", k);
		else if (val.type != YAML_SCALAR_EVENT)
			rc = yaml_fail(err, path, &val.start_mark, "expected a single value for ", k);
		else
			rc = push_option(out, o, (const char *)val.data.scalar.value,
					 key.start_mark.line + 1, where, err);
		yaml_event_delete(&key);
		yaml_event_delete(&val);
		if (rc)
			return rc;
	}
}

int ac_config_file_args(const char *path, const struct option *opts, const char *const *skip,
			struct ac_strv *out, struct ac_error *err)
{
	FILE *f = fopen(path, "rb");
	yaml_parser_t p;
	yaml_event_t ev;
	int rc = 0;
	bool done = false;

	if (!f)
		return ac_error_set(err, AC_EIO, "config", "--config %s: %s", path, strerror(errno));
	if (!yaml_parser_initialize(&p)) {
		fclose(f);
		return ac_error_set(err, AC_ENOMEM, "config", "out of memory");
	}
	yaml_parser_set_input_file(&p, f);
	while (!rc && !done) {
		if (!yaml_parser_parse(&p, &ev)) {
			rc = yaml_fail(err, path, &p.problem_mark, p.problem ? p.problem : "YAML error", NULL);
			break;
		}
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			done = true;
			break;
		case YAML_MAPPING_START_EVENT:
			rc = walk_mapping(&p, path, opts, skip, out, err);
			break;
		case YAML_SCALAR_EVENT:
		case YAML_SEQUENCE_START_EVENT:
			rc = yaml_fail(err, path, &ev.start_mark, "the file must be a mapping of option: value", NULL);
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&p);
	fclose(f);
	return rc;
}

void ac_config_env_name(const char *prefix, const char *opt, char *out, size_t n)
{
	size_t i = (size_t)snprintf(out, n, "%s", prefix);

	for (; *opt && i + 1 < n; opt++)
		out[i++] = *opt == '-' ? '_' : (char)toupper((unsigned char)*opt);
	out[i < n ? i : n - 1] = '\0';
}

int ac_config_env_args(const char *prefix, const struct option *opts, const char *const *skip,
		       struct ac_strv *out, struct ac_error *err)
{
	char name[96];
	int rc;

	for (; opts->name; opts++) {
		const char *v;
		bool skipped = false;
		for (const char *const *s = skip; s && *s; s++)
			skipped |= !strcmp(*s, opts->name);
		if (skipped)
			continue;
		ac_config_env_name(prefix, opts->name, name, sizeof name);
		if (!(v = getenv(name)) || !*v)
			continue;
		if ((rc = push_option(out, opts, v, 0, name, err)))
			return rc;
	}
	return 0;
}

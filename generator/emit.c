/*
 * emit.c — generator_emit(): renders a system into memory (emit_c.c, emit_docs.c, the embedded
 * runtime), then writes it into the output directory.
 *
 * Safety of the output directory: a directory is ours when it holds .autocoder-generated (the
 * sorted list of files the last generation wrote). Anything else that is not empty is refused
 * without --force, so a typo in -o never overwrites someone's project. Files are written one by
 * one with ac_write_file (temp file + rename) unless a file already holds the same bytes (then
 * it is left alone: regeneration stays cheap and `make` incremental); files listed in the old
 * manifest but not in the new one are removed, and the new manifest is written last.
 */
#include "core/common.h"
#include "generator/gen_int.h"
#include "generator/generator.h"
#include "generator/runtime_files.h"

#include <ctype.h>
#include <dirent.h>
#include <sys/stat.h>

#define MANIFEST ".autocoder-generated"

/* deployments/ comes from the deployment emitter. A direct call, not a weak reference: a weak
 * undefined symbol does not pull deploy.o out of libautocoder.a, so it would stay NULL. */
#include "generator/deploy.h"

/* ---------------------------------------------------------------- file list */

static int gen_reserve(struct gen_files *f)
{
	if (f->n < f->cap)
		return 0;
	size_t ncap = f->cap ? f->cap * 2 : 64;
	struct gen_file *nv = realloc(f->v, ncap * sizeof *nv);
	if (!nv)
		return AC_ENOMEM;
	f->v = nv;
	f->cap = ncap;
	return 0;
}

int gen_add_copy(struct gen_files *f, const char *path, const void *data, size_t len, bool exec)
{
	struct gen_file *g;
	if (gen_reserve(f))
		return AC_ENOMEM;
	g = &f->v[f->n];
	g->path = strdup(path);
	g->data = malloc(len + 1);
	if (!g->path || !g->data) {
		free(g->path);
		free(g->data);
		return AC_ENOMEM;
	}
	memcpy(g->data, data, len);
	g->data[len] = 0;
	g->len = len;
	g->exec = exec;
	f->n++;
	return 0;
}

int gen_add_buf(struct gen_files *f, const char *path, struct ac_buf *b, bool exec)
{
	int rc = gen_add_copy(f, path, b->data ? b->data : "", b->len, exec);
	ac_buf_release(b);
	return rc;
}

void gen_files_free(struct gen_files *f)
{
	for (size_t i = 0; i < f->n; i++) {
		free(f->v[i].path);
		free(f->v[i].data);
	}
	free(f->v);
	memset(f, 0, sizeof *f);
}

/* ---------------------------------------------------------------- model helpers */

void gen_upper(const char *s, char *out, size_t n)
{
	size_t i = 0;
	for (; s[i] && i + 1 < n; i++)
		out[i] = isalnum((unsigned char)s[i]) ? (char)toupper((unsigned char)s[i]) : '_';
	out[i] = 0;
}

int gen_c_string(struct ac_buf *b, const char *s)
{
	int rc = 0;
	if (!s)
		return ac_buf_puts(b, "NULL");
	rc |= ac_buf_puts(b, "\"");
	for (const unsigned char *p = (const unsigned char *)s; *p && !rc; p++) {
		if (*p == '"' || *p == '\\')
			rc |= ac_buf_printf(b, "\\%c", *p);
		else if (*p == '\n')
			rc |= ac_buf_puts(b, "\\n");
		else if (*p < 0x20 || *p == '?')   /* '?' avoids trigraphs */
			rc |= ac_buf_printf(b, "\\%03o", *p);
		else
			rc |= ac_buf_append(b, p, 1);
	}
	rc |= ac_buf_puts(b, "\"");
	return rc ? AC_ENOMEM : 0;
}

static const struct {
	const char *type;
	const char *rt;
} rt_enums[] = {
	{ "Source", "RT_SOURCE" },
	{ "Transformer", "RT_TRANSFORMER" },
	{ "Filter", "RT_FILTER" },
	{ "Router", "RT_ROUTER" },
	{ "Aggregator", "RT_AGGREGATOR" },
	{ "Accumulator", "RT_ACCUMULATOR" },
	{ "StreamProcessor", "RT_STREAM_PROCESSOR" },
	{ "Model", "RT_MODEL" },
	{ "Store", "RT_STORE" },
	{ "Controller", "RT_CONTROLLER" },
	{ "APIEndpoint", "RT_API_ENDPOINT" },
	{ "Sink", "RT_SINK" },
	{ "WebSocket", "RT_WEBSOCKET" },
};

/* C identifier for a component name: non-alphanumerics become '_', a leading digit gets a
 * "c_" prefix. Names are snake_case after normalisation, so this rarely changes anything. */
static void c_ident(const char *name, char *out, size_t n)
{
	size_t o = 0;
	if (isdigit((unsigned char)name[0]) && n > 3) {
		out[o++] = 'c';
		out[o++] = '_';
	}
	for (const char *p = name; *p && o + 1 < n; p++)
		out[o++] = isalnum((unsigned char)*p) ? *p : '_';
	out[o] = 0;
}

static void comp_port(struct gen_comp *gc)
{
	const json_t *np = json_array_get(json_object_get(gc->json, "network_ports"), 0);
	const json_t *cfg = json_object_get(gc->json, "config");
	const json_t *port = json_object_get(cfg, "port");
	const char *env = json_string_value(json_object_get(np, "env"));
	char up[128];

	if (json_is_integer(port))
		gc->port = (int)json_integer_value(port);
	else if (json_is_integer(json_object_get(np, "port")))
		gc->port = (int)json_integer_value(json_object_get(np, "port"));
	if (!gc->port)
		return;
	gen_upper(gc->name, up, sizeof up);
	if (env && *env)
		snprintf(gc->port_env, sizeof gc->port_env, "%s", env);
	else
		snprintf(gc->port_env, sizeof gc->port_env, "%s_PORT", up);
}

int gen_model_init(struct gen_model *gm, const json_t *model, struct ac_error *err)
{
	const json_t *comps, *c;
	size_t i;

	memset(gm, 0, sizeof *gm);
	gm->model = model;
	gm->system = json_object_get(model, "system");
	gm->name = json_string_value(json_object_get(gm->system, "name"));
	gm->version = json_string_value(json_object_get(gm->system, "version"));
	gm->description = json_string_value(json_object_get(gm->system, "description"));
	gm->bindings = json_object_get(gm->system, "bindings");
	comps = json_object_get(gm->system, "components");
	if (!gm->name || !*gm->name)
		return ac_error_set(err, AC_EINVAL, "no_name", "model has no system.name");
	if (!json_is_array(comps) || !json_array_size(comps))
		return ac_error_set(err, AC_EINVAL, "no_components", "model has no components");
	if (!gm->version)
		gm->version = "1.0.0";
	if (!gm->description)
		gm->description = "";
	gm->comps = calloc(json_array_size(comps), sizeof *gm->comps);
	if (!gm->comps)
		return ac_error_set(err, AC_ENOMEM, NULL, "out of memory");
	json_array_foreach(comps, i, c) {
		struct gen_comp *gc = &gm->comps[gm->ncomps];
		gc->json = c;
		gc->name = json_string_value(json_object_get(c, "name"));
		gc->type = json_string_value(json_object_get(c, "type"));
		if (!gc->name || !gc->type)
			return ac_error_set(err, AC_EINVAL, "bad_component",
					    "component %zu has no name or type", i + 1);
		for (size_t k = 0; k < AC_ARRAY_SIZE(rt_enums); k++)
			if (!strcmp(rt_enums[k].type, gc->type))
				gc->rt_enum = rt_enums[k].rt;
		if (!gc->rt_enum)
			return ac_error_set(err, AC_EINVAL, "bad_type",
					    "component '%s' has unknown type '%s'", gc->name,
					    gc->type);
		c_ident(gc->name, gc->ident, sizeof gc->ident);
		/* src/main.c is the wiring; an instance called "main" gets another file name */
		snprintf(gc->file, sizeof gc->file, "src/%s%s.c", gc->ident,
			 strcmp(gc->ident, "main") && strcmp(gc->ident, "components") ? "" :
			 "_component");
		comp_port(gc);
		if (!strcmp(gc->type, "APIEndpoint"))
			gm->has_api = true;
		gm->ncomps++;
	}
	/* the deployments assume 9090 (generator/deploy.h DEPLOY_METRICS_PORT) */
	gm->metrics_port = gm->has_api ? 0 : 9090;
	return 0;
}

void gen_model_release(struct gen_model *gm)
{
	free(gm->comps);
	gm->comps = NULL;
}

/* ---------------------------------------------------------------- output directory */

static bool dir_is_empty_or_missing(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	bool empty = true;
	if (!d)
		return true;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
			empty = false;
			break;
		}
	closedir(d);
	return empty;
}

static int cmp_path(const void *a, const void *b)
{
	return strcmp(((const struct gen_file *)a)->path, ((const struct gen_file *)b)->path);
}

/* True when path already holds exactly f's bytes and mode: regenerating leaves it alone, so
 * `make` does not rebuild it and no rename-over-existing forces a disk flush. */
static bool file_has(const char *path, const struct gen_file *f)
{
	struct stat st;
	size_t len = 0;
	char *old;
	bool same;
	if (stat(path, &st) || (size_t)st.st_size != f->len ||
	    ((st.st_mode & 0111) != 0) != f->exec)
		return false;
	old = ac_read_file(path, f->len + 1, &len, NULL);
	same = old && len == f->len && !memcmp(old, f->data, len);
	free(old);
	return same;
}

static int write_one(const char *outdir, const struct gen_file *f, struct ac_error *err)
{
	char path[4096], dir[4096];
	char *slash;
	int rc;

	snprintf(path, sizeof path, "%s/%s", outdir, f->path);
	snprintf(dir, sizeof dir, "%s", path);
	slash = strrchr(dir, '/');
	if (slash) {
		*slash = 0;
		if ((rc = ac_mkdir_p(dir, err)))
			return rc;
	}
	if (file_has(path, f))
		return 0;
	if ((rc = ac_write_file(path, f->data, f->len, err)))
		return rc;
	if (chmod(path, f->exec ? 0755 : 0644))
		return ac_error_set(err, AC_EIO, "chmod", "chmod %s: %s", path, strerror(errno));
	return 0;
}

/* Remove files the previous generation wrote that this one does not. */
static void remove_stale(const char *outdir, const char *old_manifest, const struct gen_files *f)
{
	char *copy = strdup(old_manifest), *save = NULL, *line;
	if (!copy)
		return;
	for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		bool keep = false;
		char path[4096];
		if (line[0] == '#' || strstr(line, ".."))
			continue;
		for (size_t i = 0; i < f->n && !keep; i++)
			keep = !strcmp(f->v[i].path, line);
		if (keep)
			continue;
		snprintf(path, sizeof path, "%s/%s", outdir, line);
		unlink(path);
	}
	free(copy);
}

static int add_runtime(struct gen_files *out)
{
	char path[256];
	for (size_t i = 0; i < runtime_files_count; i++) {
		snprintf(path, sizeof path, "runtime/%s", runtime_files[i].name);
		if (gen_add_copy(out, path, runtime_files[i].data, runtime_files[i].len, false))
			return AC_ENOMEM;
	}
	return 0;
}

int generator_emit(const json_t *model, const char *outdir, bool force, struct ac_error *err)
{
	struct gen_model gm;
	struct gen_files files = { 0 };
	struct ac_buf man;
	char mpath[4096];
	char *old_manifest = NULL;
	int rc;

	ac_buf_init(&man, GEN_MAX_FILE);
	if ((rc = gen_model_init(&gm, model, err)))
		goto out;
	snprintf(mpath, sizeof mpath, "%s/%s", outdir, MANIFEST);
	old_manifest = ac_read_file(mpath, GEN_MAX_FILE, NULL, NULL);
	if (!old_manifest && !force && !dir_is_empty_or_missing(outdir)) {
		rc = ac_error_set(err, AC_EINVAL, "not_generated",
				  "%s exists, is not empty and was not generated by autocoder "
				  "(no %s); use --force to write into it anyway", outdir, MANIFEST);
		goto out;
	}
	if ((rc = emit_sources(&gm, &files, err)) || (rc = emit_docs(&gm, &files, err)))
		goto out;
	if ((rc = add_runtime(&files)) ||
	    (rc = gen_add_copy(&files, "deployments/.keep", "", 0, false))) {
		rc = ac_error_set(err, AC_ENOMEM, NULL, "out of memory");
		goto out;
	}
	qsort(files.v, files.n, sizeof *files.v, cmp_path);
	if ((rc = ac_mkdir_p(outdir, err)))
		goto out;
	for (size_t i = 0; i < files.n; i++)
		if ((rc = write_one(outdir, &files.v[i], err)))
			goto out;
	if (old_manifest)
		remove_stale(outdir, old_manifest, &files);
	if ((rc = deploy_emit(model, outdir, err)))
		goto out;
	rc = ac_buf_puts(&man, "# files written by `autocoder generate`; regenerating replaces "
			 "them\n");
	for (size_t i = 0; i < files.n && !rc; i++)
		rc = ac_buf_printf(&man, "%s\n", files.v[i].path);
	if (rc) {
		rc = ac_error_set(err, AC_ENOMEM, NULL, "out of memory");
		goto out;
	}
	struct gen_file mf = { .path = (char *)MANIFEST, .data = man.data, .len = man.len };
	rc = write_one(outdir, &mf, err);
out:
	free(old_manifest);
	ac_buf_release(&man);
	gen_files_free(&files);
	gen_model_release(&gm);
	return rc;
}

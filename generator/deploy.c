/*
 * deploy.c — deploy_emit(): plan once, then write the Docker/Compose files and the manifests.
 *
 * Also the small formatting helpers both writers share. YAML is written as text, line by
 * line in a fixed order, so output is byte-identical for the same model; every string that
 * comes from the blueprint is emitted as a double-quoted scalar with JSON escaping (valid
 * YAML), so no value can break the document's structure.
 */
#include "core/common.h"
#include "generator/deploy_internal.h"

void dp_out_init(struct dp_out *o)
{
	ac_buf_init(&o->b, DP_FILE_MAX);
	o->rc = 0;
}

void dp_printf(struct dp_out *o, const char *fmt, ...)
{
	char small[512];
	va_list ap;
	int n;

	if (o->rc < 0)
		return;
	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0) {
		o->rc = AC_EINVAL;
		return;
	}
	if ((size_t)n < sizeof(small)) {
		o->rc = ac_buf_append(&o->b, small, (size_t)n);
		return;
	}
	/* Long line (a quoted description): let the buffer format it. */
	va_start(ap, fmt);
	{
		char *big = NULL;
		if (vasprintf(&big, fmt, ap) < 0) {
			o->rc = AC_ENOMEM;
		} else {
			o->rc = ac_buf_puts(&o->b, big);
			free(big);
		}
	}
	va_end(ap);
}

void dp_qstr(struct dp_out *o, const char *s)
{
	json_t *j;
	char *txt;

	if (o->rc < 0)
		return;
	j = json_string(s ? s : "");
	if (!j) {
		o->rc = AC_EINVAL; /* not valid UTF-8 */
		return;
	}
	txt = json_dumps(j, JSON_ENCODE_ANY);
	json_decref(j);
	if (!txt) {
		o->rc = AC_ENOMEM;
		return;
	}
	o->rc = ac_buf_puts(&o->b, txt);
	free(txt);
}

int dp_out_write(struct dp_out *o, const char *outdir, const char *rel, struct ac_error *err)
{
	char path[4096], dir[4096];
	const char *slash;
	int n, rc;

	if (o->rc < 0) {
		rc = ac_error_set(err, o->rc, "deploy_format", "%s: cannot format (%s)", rel,
				  ac_strerror(o->rc));
		goto out;
	}
	n = snprintf(path, sizeof(path), "%s/%s", outdir, rel);
	if (n < 0 || (size_t)n >= sizeof(path)) {
		rc = ac_error_set(err, AC_EINVAL, "path_too_long", "%s/%s: path too long", outdir, rel);
		goto out;
	}
	slash = strrchr(path, '/');
	snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	rc = ac_mkdir_p(dir, err);
	if (rc < 0)
		goto out;
	rc = ac_write_file(path, o->b.data ? o->b.data : "", o->b.len, err);
out:
	ac_buf_release(&o->b);
	return rc;
}

void dp_fmt_cpu_k8s(long m, char *out, size_t n)
{
	snprintf(out, n, "%ldm", m);
}

/* Docker's --cpus and compose's cpus: cores with up to three decimals, no trailing zeros. */
void dp_fmt_cpu_docker(long m, char *out, size_t n)
{
	size_t len;

	snprintf(out, n, "%ld.%03ld", m / 1000, m % 1000);
	len = strlen(out);
	while (len > 0 && out[len - 1] == '0')
		out[--len] = '\0';
	if (len > 0 && out[len - 1] == '.')
		out[--len] = '\0';
}

void dp_fmt_mem_k8s(long mi, char *out, size_t n)
{
	snprintf(out, n, "%ldMi", mi);
}

long dp_ms_to_s(long ms)
{
	if (ms <= 1000)
		return 1;
	return (ms + 999) / 1000;
}

int deploy_emit(const json_t *model, const char *outdir, struct ac_error *err)
{
	struct dp_plan *plan = calloc(1, sizeof(*plan));
	int rc;

	if (!plan)
		return ac_error_set(err, AC_ENOMEM, "oom", "out of memory");
	if (!outdir || !*outdir) {
		rc = ac_error_set(err, AC_EINVAL, "bad_outdir", "deploy: no output directory");
		goto out;
	}
	rc = dp_plan_build(model, plan, err);
	if (rc < 0)
		goto out;
	rc = dp_write_docker(plan, outdir, err);
	if (rc < 0)
		goto out;
	rc = dp_write_k8s(plan, outdir, err);
out:
	free(plan);
	return rc;
}

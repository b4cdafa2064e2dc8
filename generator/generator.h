/*
 * generator.h — the system emitter: a normalised blueprint model in, a buildable C system out.
 *
 * generator_emit() writes, under outdir:
 *   README.md            how to build, run and configure the system
 *   Makefile             `make` builds ./<system name> (-Wall -Wextra -Werror, -rdynamic)
 *   blueprint.yaml       the normalised model the system was generated from
 *   config/system.json   every component's config (environment variables override it)
 *   src/main.c           the wiring: component and binding tables, rt_main()
 *   src/components.h     the instance functions' declarations
 *   src/<instance>.c     one per component: its processing function and crash hook
 *   runtime/             the C runtime (generator/runtime/, embedded in the autocoder binary)
 *   tests/smoke.sh       build, start on a free port, check /health and /metrics, stop
 *   deployments/         filled by the deployment emitter (generator/deploy.h) when linked in
 *   .autocoder-generated the list of generated files; marks the directory as ours
 * Output depends only on the model (no clock, no host paths): the same blueprint gives
 * byte-identical files. Every file is written atomically (temp file + rename); files a previous
 * generation wrote that the new one does not are removed.
 */
#ifndef AC_GENERATOR_H
#define AC_GENERATOR_H

#include <stdbool.h>

#include <jansson.h>

struct ac_error;

/* Generate the system for the normalised model (borrowed) into outdir. An existing non-empty
 * outdir that lacks .autocoder-generated is refused (AC_EINVAL, err says so) unless force.
 * 0, or AC_EINVAL / AC_EIO / AC_ENOMEM with err set. */
int generator_emit(const json_t *model, const char *outdir, bool force, struct ac_error *err);

#endif

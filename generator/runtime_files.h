/*
 * runtime_files.h — the files of generator/runtime/, embedded into the autocoder binary at
 * build time (scripts/embed-runtime.sh writes $(BUILD)/generator/runtime_files.c), so
 * `autocoder generate` works from any directory and always ships the runtime it was built with.
 */
#ifndef AC_RUNTIME_FILES_H
#define AC_RUNTIME_FILES_H

#include <stddef.h>

struct runtime_file {
	const char *name;            /* base name, e.g. "rt_core.c" */
	const unsigned char *data;
	size_t len;
};

extern const struct runtime_file runtime_files[];
extern const size_t runtime_files_count;

#endif

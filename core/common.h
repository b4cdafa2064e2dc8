/*
 * common.h — the header every autocoder source includes first.
 *
 * Pulls in the shared conventions (errors, bounded buffers, logging, small utilities) and
 * banned.h last, so a banned function in any .c file is a compile error. It also includes the
 * usual system headers first: a header declaring a banned function (stdlib.h, time.h, string.h)
 * must be seen before banned.h redefines the name.
 */
#ifndef AC_COMMON_H
#define AC_COMMON_H

/* System headers that declare banned functions must come before banned.h. */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/error.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/util.h"

#define AC_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#include "core/banned.h"

#endif

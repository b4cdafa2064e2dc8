/*
 * banned.h — functions we do not call, made compile errors (after Git's banned.h).
 *
 * Each of these either writes without a bound (strcpy, strcat, sprintf), keeps hidden
 * global state (strtok, gmtime, localtime) or cannot report a parse error (atoi, atol).
 * Use snprintf, strtol/strtoll with an end pointer, strtok_r and gmtime_r instead.
 * Included last by core/common.h so system headers are not affected.
 */
#ifndef AC_BANNED_H
#define AC_BANNED_H

#define BANNED(func) sorry_##func##_is_a_banned_function

#undef strcpy
#define strcpy(x, y) BANNED(strcpy)
#undef strcat
#define strcat(x, y) BANNED(strcat)
#undef sprintf
#define sprintf(...) BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) BANNED(vsprintf)
#undef strtok
#define strtok(x, y) BANNED(strtok)
#undef atoi
#define atoi(x) BANNED(atoi)
#undef atol
#define atol(x) BANNED(atol)
#undef gmtime
#define gmtime(x) BANNED(gmtime)
#undef localtime
#define localtime(x) BANNED(localtime)

#endif

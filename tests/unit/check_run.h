/*
 * check_run.h — the one way a Check suite binary runs: all tests, normal output, exit 1 if
 * any failed. Every tests/unit/check_*.c main() ends with `return ac_check_run(suite);`.
 */
#ifndef AC_CHECK_RUN_H
#define AC_CHECK_RUN_H

#include <check.h>

static inline int ac_check_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}

#endif

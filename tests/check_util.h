/*
 * Shared scaffolding for the Check suites: each tests/check_<module>.c
 * defines `Suite *suite_<module>(void)` and ends with CHECK_MAIN(suite_x).
 * Check's fork mode stays on so one abort fails one test, not the run;
 * CK_RUN_CASE / CK_RUN_SUITE select a subset as usual.
 */
#ifndef VTDSIM_TESTS_CHECK_UTIL_H
#define VTDSIM_TESTS_CHECK_UTIL_H

#include <check.h>
#include <stdlib.h>

#define CHECK_MAIN(suite_fn)                                     \
    int main(void)                                               \
    {                                                            \
        SRunner *sr = srunner_create(suite_fn());                \
        srunner_run_all(sr, CK_NORMAL);                          \
        int failed = srunner_ntests_failed(sr);                  \
        srunner_free(sr);                                        \
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;             \
    }

/* Path of a file in the source tree (tests run from the build tree). */
#define TEST_SRC_PATH(rel) VTDSIM_SRCDIR "/" rel

#endif

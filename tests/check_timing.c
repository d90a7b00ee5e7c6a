#include "check_util.h"
#include "timing/timing.h"

START_TEST(test_placeholder)
{
    TimingParams p;
    ck_assert(timing_params_profile(&p, "xeon-e5", NULL));
}
END_TEST

static Suite *suite_timing(void)
{
    Suite *s = suite_create("timing");
    TCase *tc = tcase_create("params");
    tcase_add_test(tc, test_placeholder);
    suite_add_tcase(s, tc);
    return s;
}

CHECK_MAIN(suite_timing)

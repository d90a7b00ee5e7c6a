/* placeholder, replaced below */
#include "check_util.h"
#include "models/vtd/vtd.h"
static Suite *suite_vtd_ir(void)
{
    Suite *s = suite_create("vtd_ir");
    return s;
}
CHECK_MAIN(suite_vtd_ir)

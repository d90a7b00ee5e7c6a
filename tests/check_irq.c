/* placeholder */
#include "check_util.h"
#include "platform/platform.h"
static Suite *suite_irq(void)
{
    Suite *s = suite_create("irq");
    return s;
}
CHECK_MAIN(suite_irq)

/*
 * make bench: what the timing model costs on top of the functional path.
 * Issue 7 asks for at most 2x the functional cost; this prints both and
 * fails when the bound is exceeded.  Wall-clock numbers: never run by
 * make check.
 */
#include <stdio.h>
#include "timing/timing_exp.h"

int main(void)
{
    double f = 0, t = 0;
    GError *err = NULL;
    if (!timing_exp_speed(2000000, &f, &t, &err)) {
        fprintf(stderr, "timing_bench: %s\n", err->message);
        return 1;
    }
    printf("functional translation: %.1f ns/DMA; with the timing model: %.1f ns/DMA (x%.2f)\n", f, t,
           t / f);
    return t / f <= 2.0 ? 0 : 1;
}

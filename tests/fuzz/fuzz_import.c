/* Fuzz target: the ftrace / kernel-log importer, and a replay of what it produced. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <glib.h>
#include "fuzz.h"
#include "trace/import.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    GString *out = g_string_new(NULL), *plat = g_string_new(NULL);
    TraceImportOptions opt = { .synthesize_dma = TRUE, .expect_ok = TRUE };
    TraceImportStats st = { 0 };
    GError *err = NULL;
    if (!trace_import_data((const char *)data, size, "fuzz.log", out, plat, &opt, &st, &err)) {
        g_clear_error(&err);
    }
    trace_import_stats_clear(&st);
    g_string_free(out, TRUE);
    g_string_free(plat, TRUE);
    return 0;
}

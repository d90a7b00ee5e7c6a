/*
 * `vtdsim trace import [options] INPUT`: Linux ftrace text or a kernel log
 * into a trace (and the platform file it needs); see docs/import.md.
 * Outputs are written atomically: a temporary file renamed into place, so
 * an interrupted import leaves the previous file or the new one.
 */
#include "config.h"
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "cli/commands.h"
#include "trace/import.h"

static gboolean write_atomic(const char *path, const GString *s, GError **error)
{
    g_autofree char *tmp = g_strdup_printf("%s.tmp.%d", path, (int)getpid());
    if (!g_file_set_contents(tmp, s->str, (gssize)s->len, error)) {
        return FALSE;
    }
    if (rename(tmp, path) != 0) {
        g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errno), "%s: %s", path,
                    g_strerror(errno));
        unlink(tmp);
        return FALSE;
    }
    return TRUE;
}

int cmd_trace_import(int argc, char **argv)
{
    TraceImportOptions opt = { 0 };
    const char *out = NULL, *plat = NULL, *in = NULL;
    bool stats = false;
    for (int i = 3; i < argc; i++) {
        const char *a = argv[i];
        if ((!strcmp(a, "-o") || !strcmp(a, "--output")) && i + 1 < argc) {
            out = argv[++i];
        } else if (!strcmp(a, "--platform-out") && i + 1 < argc) {
            plat = argv[++i];
        } else if (!strcmp(a, "--synthesize-dma")) {
            opt.synthesize_dma = TRUE;
        } else if (!strcmp(a, "--expect-ok")) {
            opt.expect_ok = TRUE;
        } else if (!strcmp(a, "--keep-phys")) {
            opt.keep_phys = TRUE;
        } else if (!strcmp(a, "--stats")) {
            stats = true;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "vtdsim trace import: unknown option '%s'\n", a);
            return 2;
        } else if (!in) {
            in = a;
        } else {
            fprintf(stderr, "vtdsim trace import: one input file only ('%s')\n", a);
            return 2;
        }
    }
    if (!in) {
        fprintf(stderr, "usage: vtdsim trace import [-o OUT.trace] [--platform-out OUT.platform]\n"
                        "       [--synthesize-dma] [--expect-ok] [--keep-phys] [--stats] INPUT\n");
        return 2;
    }
    g_autofree char *plat_default = NULL;
    if (out && !plat) {
        /* OUT.trace -> OUT.platform beside it */
        const char *dot = strrchr(out, '.');
        plat_default = dot && !strchr(dot, '/') ? g_strdup_printf("%.*s.platform", (int)(dot - out), out)
                                                : g_strdup_printf("%s.platform", out);
        plat = plat_default;
    }
    g_autofree char *plat_base = plat ? g_path_get_basename(plat) : NULL;
    opt.platform_file = plat_base;
    GString *trace = g_string_new(NULL), *platform = g_string_new(NULL);
    TraceImportStats st = { 0 };
    GError *err = NULL;
    int rc = 0;
    if (!trace_import(in, trace, plat ? platform : NULL, &opt, &st, &err)) {
        fprintf(stderr, "vtdsim trace import: %s\n", err->message);
        g_clear_error(&err);
        rc = 2;
    }
    /* what was converted before an error is still written (no data lost) */
    if (out) {
        if (!write_atomic(out, trace, &err) || (plat && !write_atomic(plat, platform, &err))) {
            fprintf(stderr, "vtdsim trace import: %s\n", err->message);
            g_clear_error(&err);
            rc = 2;
        }
    } else {
        fputs(trace->str, stdout);
        if (plat && !write_atomic(plat, platform, &err)) {
            fprintf(stderr, "vtdsim trace import: %s\n", err->message);
            g_clear_error(&err);
            rc = 2;
        }
    }
    if (stats) {
        GString *s = g_string_new(NULL);
        trace_import_stats_format(&st, s);
        fputs(s->str, stderr);
        g_string_free(s, TRUE);
    }
    trace_import_stats_clear(&st);
    g_string_free(trace, TRUE);
    g_string_free(platform, TRUE);
    return rc;
}

/*
 * vtdsim bench: the timing model's calibration experiments.
 *
 *   vtdsim bench --experiment NAME|all [--profile NAME] [--config FILE]
 *                [--requests N] [--svg FILE] [--quiet]
 *   vtdsim bench --list | --params [--profile NAME] [--config FILE] | --doc-table
 *
 * Each experiment (src/timing/timing_exp.h) prints the parameters it ran
 * with, then simulated against published figures side by side with the
 * ratio, and the pass criteria of timing.md section 7 with their outcome.
 * --config reads the [timing] group of a key file (the keys of
 * docs/timing.md).  --svg writes the experiment's plot (with `all`, FILE
 * is a prefix: FILE-NAME.svg).  Exit status: 0 every criterion met, 1 some
 * criterion missed, 2 bad usage or input.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "timing/timing.h"
#include "timing/timing_exp.h"

static int bench_usage(const char *msg)
{
    fprintf(stderr, "vtdsim bench: %s\n"
                    "usage: vtdsim bench --experiment NAME|all [--profile NAME] [--config FILE]\n"
                    "                    [--requests N] [--svg FILE] [--quiet]\n"
                    "       vtdsim bench --list | --params | --doc-table\n",
            msg);
    return 2;
}

static gboolean write_file(const char *path, const GString *s)
{
    GError *err = NULL;
    if (!g_file_set_contents(path, s->str, (gssize)s->len, &err)) {
        fprintf(stderr, "vtdsim bench: %s\n", err->message);
        g_error_free(err);
        return FALSE;
    }
    return TRUE;
}

int cmd_bench(int argc, char **argv)
{
    const char *exp = NULL, *profile = NULL, *config = NULL, *svg = NULL, *requests = NULL;
    bool list = false, params = false, doc = false, quiet = false;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        const char **val = NULL;
        if (!strcmp(a, "--experiment") || !strcmp(a, "-e")) {
            val = &exp;
        } else if (!strcmp(a, "--profile")) {
            val = &profile;
        } else if (!strcmp(a, "--config")) {
            val = &config;
        } else if (!strcmp(a, "--svg")) {
            val = &svg;
        } else if (!strcmp(a, "--requests")) {
            val = &requests;
        } else if (!strcmp(a, "--list")) {
            list = true;
        } else if (!strcmp(a, "--params")) {
            params = true;
        } else if (!strcmp(a, "--doc-table")) {
            doc = true;
        } else if (!strcmp(a, "--quiet") || !strcmp(a, "-q")) {
            quiet = true;
        } else {
            g_autofree char *m = g_strdup_printf("unknown option '%s'", a);
            return bench_usage(m);
        }
        if (val) {
            if (++i >= argc) {
                g_autofree char *m = g_strdup_printf("%s needs a value", a);
                return bench_usage(m);
            }
            *val = argv[i];
        }
    }
    if (list) {
        for (const char *const *n = timing_exp_names(); *n; n++) {
            printf("%s\n", *n);
        }
        return 0;
    }
    if (doc) {
        GString *s = g_string_new(NULL);
        timing_params_doc_table(s);
        fputs(s->str, stdout);
        g_string_free(s, TRUE);
        return 0;
    }
    GError *err = NULL;
    TimingParams p;
    if (!timing_params_profile(&p, profile ? profile : "xeon-e5", &err)) {
        fprintf(stderr, "vtdsim bench: --profile %s\n", err->message);
        g_error_free(err);
        return 2;
    }
    if (config) {
        g_autoptr(GKeyFile) kf = g_key_file_new();
        if (!g_key_file_load_from_file(kf, config, G_KEY_FILE_NONE, &err) ||
            !timing_params_from_keyfile(&p, kf, "timing", &err)) {
            fprintf(stderr, "vtdsim bench: %s: %s\n", config, err->message);
            g_error_free(err);
            return 2;
        }
    }
    if (params) {
        GString *s = g_string_new(NULL);
        timing_params_describe(&p, s);
        fputs(s->str, stdout);
        g_string_free(s, TRUE);
        return 0;
    }
    if (!exp) {
        return bench_usage("--experiment NAME is required (see --list)");
    }
    TimingExpOptions opt = { .params = &p };
    if (requests) {
        char *end;
        errno = 0;
        guint64 v = g_ascii_strtoull(requests, &end, 0);
        if (errno || end == requests || *end || v < 100 || v > 100000000) {
            return bench_usage("--requests needs a number from 100 to 100000000");
        }
        opt.requests = (unsigned)v;
    }
    const char *one[] = { exp, NULL };
    const char *const *names = strcmp(exp, "all") ? one : timing_exp_names();
    int rc = 0;
    for (; *names; names++) {
        TimingExpResult *r = timing_exp_run(*names, &opt, &err);
        if (!r) {
            fprintf(stderr, "vtdsim bench: %s\n", err->message);
            g_error_free(err);
            return 2;
        }
        GString *s = g_string_new(NULL);
        if (!quiet) {
            g_string_append(s, r->params->str);
            g_string_append_c(s, '\n');
        }
        timing_exp_result_text(r, s);
        g_string_append_c(s, '\n');
        fputs(s->str, stdout);
        fflush(stdout);
        g_string_free(s, TRUE);
        if (svg) {
            GString *pic = g_string_new(NULL);
            timing_exp_result_svg(r, pic);
            g_autofree char *path = strcmp(exp, "all") ? g_strdup(svg)
                                                       : g_strdup_printf("%s-%s.svg", svg, r->name);
            gboolean ok = write_file(path, pic);
            g_string_free(pic, TRUE);
            if (!ok) {
                timing_exp_result_free(r);
                return 2;
            }
        }
        if (!r->pass) {
            rc = 1;
        }
        timing_exp_result_free(r);
    }
    return rc;
}

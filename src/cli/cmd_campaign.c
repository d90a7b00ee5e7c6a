/*
 * `vtdsim campaign ...`: fault injection (docs/fault-injection.md).
 *
 *   campaign inject TRACE [--inject 'CLASS ...']... [--json]
 *       one injection run: golden + injected replay, classified report
 *   campaign plan CAMPAIGN.ini -o DIR      expand into shard files
 *   campaign run DIR [-j N]                run unfinished shards locally
 *   campaign run-shard [--force] FILE...   run shards (GNU parallel, Slurm)
 *   campaign merge DIR [--json]            combine results, per-class coverage
 *
 * Exit status: 0 success, 1 some shard failed to produce a result (or an
 * injection run could not run its golden trace), 2 bad usage or input.
 */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>
#include "cli/commands.h"
#include "inject/campaign.h"
#include "inject/inject.h"

static int campaign_usage(void)
{
    fprintf(stderr,
            "usage: vtdsim campaign inject TRACE [--inject 'CLASS [options]']... [--json]\n"
            "       vtdsim campaign plan CAMPAIGN.ini -o DIR\n"
            "       vtdsim campaign run DIR [-j N]\n"
            "       vtdsim campaign run-shard [--force] SHARD...\n"
            "       vtdsim campaign merge DIR [--json]\n");
    return 2;
}

static int do_inject(int argc, char **argv)
{
    const char *trace = NULL;
    bool json = false;
    GPtrArray *specs = g_ptr_array_new_with_free_func((GDestroyNotify)inject_spec_free);
    int rc = 2;
    for (int i = 3; i < argc; i++) {
        if (!strcmp(argv[i], "--json")) {
            json = true;
        } else if (!strcmp(argv[i], "--inject") && i + 1 < argc) {
            GError *err = NULL;
            InjectSpec *s = inject_spec_parse_string(argv[++i], &err);
            if (!s) {
                fprintf(stderr, "vtdsim campaign inject: %s\n", err->message);
                g_error_free(err);
                goto out;
            }
            g_ptr_array_add(specs, s);
        } else if (argv[i][0] == '-' || trace) {
            campaign_usage();
            goto out;
        } else {
            trace = argv[i];
        }
    }
    if (!trace) {
        campaign_usage();
        goto out;
    }
    GError *err = NULL;
    InjectResult *res = inject_run_trace(trace, specs, &err);
    if (!res) {
        fprintf(stderr, "vtdsim campaign inject: %s\n", err->message);
        g_error_free(err);
        rc = 1;
        goto out;
    }
    GString *out = g_string_new(NULL);
    if (json) {
        inject_result_json(res, out);
    } else {
        inject_result_text(res, out);
    }
    fputs(out->str, stdout);
    g_string_free(out, TRUE);
    inject_result_free(res);
    rc = 0;
out:
    g_ptr_array_free(specs, TRUE);
    return rc;
}

int cmd_campaign(int argc, char **argv)
{
    if (argc < 3) {
        return campaign_usage();
    }
    const char *sub = argv[2];
    GError *err = NULL;
    if (!strcmp(sub, "inject")) {
        return do_inject(argc, argv);
    }
    if (!strcmp(sub, "plan")) {
        if (argc != 6 || strcmp(argv[4], "-o")) {
            return campaign_usage();
        }
        int n = campaign_plan(argv[3], argv[5], &err);
        if (n < 0) {
            fprintf(stderr, "vtdsim campaign plan: %s\n", err->message);
            g_error_free(err);
            return 2;
        }
        printf("campaign: %d shards in %s/shards\n", n, argv[5]);
        return 0;
    }
    if (!strcmp(sub, "run")) {
        unsigned jobs = 1;
        const char *dir = NULL;
        for (int i = 3; i < argc; i++) {
            if (!strcmp(argv[i], "-j") && i + 1 < argc) {
                jobs = (unsigned)strtoul(argv[++i], NULL, 10);
            } else if (!strncmp(argv[i], "-j", 2) && argv[i][2]) {
                jobs = (unsigned)strtoul(argv[i] + 2, NULL, 10);
            } else if (!dir && argv[i][0] != '-') {
                dir = argv[i];
            } else {
                return campaign_usage();
            }
        }
        if (!dir || !jobs) {
            return campaign_usage();
        }
        unsigned before, ran, failed;
        if (!campaign_run(dir, jobs, &before, &ran, &failed, &err)) {
            fprintf(stderr, "vtdsim campaign run: %s\n", err->message);
            g_error_free(err);
            return 2;
        }
        printf("campaign: %u shards already done, %u run, %u failed\n", before, ran, failed);
        return failed ? 1 : 0;
    }
    if (!strcmp(sub, "run-shard")) {
        bool force = false;
        int rc = 0, n = 0;
        for (int i = 3; i < argc; i++) {
            if (!strcmp(argv[i], "--force")) {
                force = true;
                continue;
            }
            n++;
            if (!campaign_run_shard(argv[i], force, &err)) {
                fprintf(stderr, "vtdsim campaign run-shard: %s\n", err->message);
                g_clear_error(&err);
                rc = 1;
            }
        }
        return n ? rc : campaign_usage();
    }
    if (!strcmp(sub, "merge")) {
        if (argc < 4) {
            return campaign_usage();
        }
        bool json = argc > 4 && !strcmp(argv[4], "--json");
        GString *text = g_string_new(NULL);
        if (!campaign_merge(argv[3], text, &err)) {
            fprintf(stderr, "vtdsim campaign merge: %s\n", err->message);
            g_error_free(err);
            g_string_free(text, TRUE);
            return 2;
        }
        if (json) {
            g_autofree char *path = g_build_filename(argv[3], "report.json", NULL);
            g_autofree char *js = NULL;
            if (g_file_get_contents(path, &js, NULL, NULL)) {
                fputs(js, stdout);
            }
        } else {
            fputs(text->str, stdout);
        }
        g_string_free(text, TRUE);
        return 0;
    }
    return campaign_usage();
}

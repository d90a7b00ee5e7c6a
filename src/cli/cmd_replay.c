/*
 * `vtdsim replay TRACE...` and `vtdsim trace convert|import`.
 *
 * replay runs each trace in its own simulation, prints the per-request log
 * with --log, a summary per trace as text (or JSON with --json), a diff of
 * every failed expectation, and exits 1 when any expectation failed, 2 when
 * a trace could not be run to its end (the error names file and line; what
 * was produced up to that line has been printed).
 */
#include "config.h"
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "cli/commands.h"
#include "trace/replay.h"
#include "trace/trace.h"
#include "inject/inject.h"

int cmd_replay(int argc, char **argv)
{
    bool json = false, log = false, quiet = false, progress = true;
    GPtrArray *traces = g_ptr_array_new();
    GPtrArray *injects = g_ptr_array_new();   /* --inject SPEC (docs/fault-injection.md) */
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--json")) {
            json = true;
        } else if (!strcmp(argv[i], "--log")) {
            log = true;
        } else if (!strcmp(argv[i], "--quiet") || !strcmp(argv[i], "-q")) {
            quiet = true;
        } else if (!strcmp(argv[i], "--no-progress")) {
            progress = false;
        } else if (!strcmp(argv[i], "--inject") && i + 1 < argc) {
            g_ptr_array_add(injects, argv[++i]);
        } else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "vtdsim replay: unknown option '%s' (options: --log --json --quiet --no-progress --inject SPEC)\n",
                    argv[i]);
            g_ptr_array_free(traces, TRUE);
            g_ptr_array_free(injects, TRUE);
            return 2;
        } else {
            g_ptr_array_add(traces, argv[i]);
        }
    }
    if (!traces->len) {
        fprintf(stderr, "usage: vtdsim replay [--log] [--json] [--quiet] [--inject SPEC]... TRACE...\n");
        g_ptr_array_free(traces, TRUE);
        g_ptr_array_free(injects, TRUE);
        return 2;
    }
    if (injects->len) {
        /* an injection run: golden replay + armed replay + classification, per trace */
        GPtrArray *specs = g_ptr_array_new_with_free_func((GDestroyNotify)inject_spec_free);
        int irc = 0;
        for (guint i = 0; i < injects->len; i++) {
            GError *err = NULL;
            InjectSpec *sp = inject_spec_parse_string(g_ptr_array_index(injects, i), &err);
            if (!sp) {
                fprintf(stderr, "vtdsim replay: --inject '%s': %s\n",
                        (char *)g_ptr_array_index(injects, i), err->message);
                g_error_free(err);
                irc = 2;
                break;
            }
            g_ptr_array_add(specs, sp);
        }
        for (guint i = 0; !irc && i < traces->len; i++) {
            GError *err = NULL;
            InjectResult *res = inject_run_trace(g_ptr_array_index(traces, i), specs, &err);
            if (!res) {
                fprintf(stderr, "vtdsim replay: %s\n", err->message);
                g_error_free(err);
                irc = 2;
                break;
            }
            GString *s = g_string_new(NULL);
            if (json) {
                inject_result_json(res, s);
            } else {
                inject_result_text(res, s);
            }
            fputs(s->str, stdout);
            g_string_free(s, TRUE);
            inject_result_free(res);
        }
        g_ptr_array_free(specs, TRUE);
        g_ptr_array_free(traces, TRUE);
        g_ptr_array_free(injects, TRUE);
        return irc;
    }
    g_ptr_array_free(injects, TRUE);
    ReplayOptions opt = {
        .log = log ? stdout : NULL,
        .report = log ? stdout : NULL,   /* with --log, failures appear where they happen */
        .progress = progress,
    };
    Replay *r = replay_new(&opt);
    int rc = 0;
    if (json && traces->len > 1) {
        fputs("[\n", stdout);
    }
    for (guint i = 0; i < traces->len; i++) {
        const char *path = g_ptr_array_index(traces, i);
        GError *err = NULL;
        gboolean ok = replay_run(r, path, &err);
        GString *s = g_string_new(NULL);
        if (json) {
            replay_summary_json(r, s);
            if (traces->len > 1 && i + 1 < traces->len) {
                /* turn the object's final newline into a separator */
                g_string_truncate(s, s->len - 1);
                g_string_append(s, ",\n");
            }
        } else if (!quiet) {
            replay_summary_text(r, s);
        }
        fputs(s->str, stdout);
        fflush(stdout);
        g_string_free(s, TRUE);
        if (!ok) {
            fprintf(stderr, "vtdsim replay: %s\n", err->message);
            g_error_free(err);
            rc = 2;
        } else if (replay_failures(r) && rc == 0) {
            rc = 1;
        }
    }
    if (json && traces->len > 1) {
        fputs("]\n", stdout);
    }
    replay_free(r);
    g_ptr_array_free(traces, TRUE);
    return rc;
}

int cmd_trace(int argc, char **argv)
{
    if (argc >= 3 && !strcmp(argv[2], "convert")) {
        if (argc != 5) {
            fprintf(stderr, "usage: vtdsim trace convert IN OUT   (text <-> binary, by IN's format)\n");
            return 2;
        }
        GError *err = NULL;
        if (!trace_convert(argv[3], argv[4], &err)) {
            fprintf(stderr, "vtdsim trace convert: %s\n", err->message);
            g_error_free(err);
            return 2;
        }
        return 0;
    }
    if (argc >= 3 && !strcmp(argv[2], "import")) {
        return cmd_trace_import(argc, argv);
    }
    fprintf(stderr, "usage: vtdsim trace convert IN OUT | vtdsim trace import [options] INPUT\n");
    return 2;
}

/*
 * vtdsim dump: the VT-d state in the layouts of Linux's debugfs files.
 *
 *   vtdsim dump [--platform FILE | --trace TRACE] [--script SETUP.qtest] [--list] [FILE...]
 *
 * FILE names a file under /sys/kernel/debug/iommu/intel/ (iommu_regset,
 * dmar_translation_struct, invalidation_queue, ir_translation_struct,
 * 0000:BB:DD.F[/PASID]/domain_translation_struct, or
 * domain_translation_struct for every device's).  One FILE prints exactly
 * that file's contents, so the output diffs against `cat` on a host;
 * several (or none: every file) print each after a "==> FILE <==" line,
 * as `head` does.  --list prints the file names.  --script may be given
 * several times; the scripts run in order.  Exit status: 0, or 2 for
 * bad usage, an unreadable platform or script, or an unknown FILE.
 */
#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "explain/dump.h"
#include "explain/script.h"
#include "vtdsim/platform.h"

int cmd_dump(int argc, char **argv)
{
    const char *platform = NULL, *trace = NULL;
    GPtrArray *scripts = g_ptr_array_new();
    bool list = false;
    GPtrArray *files = g_ptr_array_new();
    int rc = 2;
    EmuSim *sim = NULL;
    GError *err = NULL;
    char **all = NULL;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--platform") || !strcmp(a, "-p") || !strcmp(a, "--script") ||
            !strcmp(a, "--trace")) {
            if (++i >= argc) {
                fprintf(stderr, "vtdsim dump: %s needs a value (see vtdsim --help)\n", a);
                goto out;
            }
            if (!strcmp(a, "--script"))
                g_ptr_array_add(scripts, argv[i]);
            else if (!strcmp(a, "--trace"))
                trace = argv[i];
            else
                platform = argv[i];
        } else if (!strcmp(a, "--list")) {
            list = true;
        } else if (a[0] == '-') {
            fprintf(stderr, "vtdsim dump: unknown option '%s' (see vtdsim --help)\n", a);
            goto out;
        } else {
            g_ptr_array_add(files, (gpointer)a);
        }
    }
    if (trace && platform) {
        fprintf(stderr, "vtdsim dump: --trace names its own platform; drop --platform\n");
        goto out;
    }
    /* a trace sets the machine up with its driver operations; otherwise a platform + scripts */
    sim = trace ? explain_sim_from_trace(trace, &err) : vtdsim_platform_new(platform, &err);
    if (!sim) {
        fprintf(stderr, "vtdsim dump: %s\n", err->message);
        goto out;
    }
    for (guint i = 0; i < scripts->len; i++) {
        if (!explain_run_script(sim, g_ptr_array_index(scripts, i), &err)) {
            fprintf(stderr, "vtdsim dump: %s\n", err->message);
            goto out;
        }
    }
    all = explain_dump_files(sim);
    if (list) {
        for (unsigned i = 0; all[i]; i++)
            printf("%s\n", all[i]);
        rc = 0;
        goto out;
    }
    bool headers = files->len != 1;
    if (!files->len)
        for (unsigned i = 0; all[i]; i++)
            g_ptr_array_add(files, all[i]);
    GString *s = g_string_new(NULL);
    for (guint i = 0; i < files->len; i++) {
        const char *f = g_ptr_array_index(files, i);
        if (headers)
            g_string_append_printf(s, "%s==> %s <==\n", i ? "\n" : "", f);
        if (!explain_dump_file(sim, f, s, &err)) {
            fprintf(stderr, "vtdsim dump: %s\n", err->message);
            g_string_free(s, TRUE);
            goto out;
        }
    }
    fputs(s->str, stdout);
    g_string_free(s, TRUE);
    rc = 0;
out:
    g_clear_error(&err);
    g_ptr_array_free(files, TRUE);
    g_ptr_array_free(scripts, TRUE);
    g_strfreev(all);
    if (sim)
        emu_sim_free(sim);
    return rc;
}

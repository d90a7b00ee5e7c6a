/*
 * Setup scripts for the explainer and the dumps (script.h): a qtest
 * session fed line by line, stopping at the first failed command.
 */
#include "explain/script.h"
#include "trace/replay.h"
#include "vtdsim/platform.h"

#include <string.h>

#include "core/error.h"
#include "vtdsim/qtest.h"

typedef struct Answer {
    char *last;
} Answer;

static void keep_answer(void *opaque, const char *line)
{
    Answer *a = opaque;
    /* interrupt notifications are not answers */
    if (g_str_has_prefix(line, "IRQ "))
        return;
    g_free(a->last);
    a->last = g_strdup(line);
}

gboolean explain_run_script_text(EmuSim *sim, const char *text, const char *source,
                                 GError **error)
{
    Answer a = {0};
    VtdsimQtest *q = vtdsim_qtest_new(sim, keep_answer, &a);
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    gboolean ok = TRUE;
    for (unsigned i = 0; lines[i] && ok; i++) {
        g_autofree char *cmd = g_strstrip(g_strdup(lines[i]));
        if (!*cmd || cmd[0] == '#')
            continue;
        g_clear_pointer(&a.last, g_free);
        vtdsim_qtest_command(q, cmd);
        if (!a.last || g_str_has_prefix(a.last, "FAIL") || g_str_has_prefix(a.last, "ERR")) {
            g_set_error(error, EMU_ERROR, EMU_ERROR_INVALID, "%s:%u: '%s' answered '%s'", source,
                        i + 1, cmd, a.last ? a.last : "(nothing)");
            ok = FALSE;
        }
    }
    vtdsim_qtest_free(q);
    g_free(a.last);
    return ok;
}

gboolean explain_run_script(EmuSim *sim, const char *path, GError **error)
{
    g_autofree char *text = NULL;
    GError *err = NULL;
    if (!g_file_get_contents(path, &text, NULL, &err)) {
        g_set_error(error, EMU_ERROR, EMU_ERROR_INVALID, "%s: %s", path, err->message);
        g_error_free(err);
        return FALSE;
    }
    return explain_run_script_text(sim, text, path, error);
}

EmuSim *explain_sim_from_trace(const char *path, GError **error)
{
    Replay *r = replay_new(NULL);
    EmuSim *sim = NULL;
    if (replay_run(r, path, error)) {
        sim = replay_take_sim(r);
        if (!sim) {
            sim = vtdsim_platform_new(NULL, error);
        }
    }
    replay_free(r);
    return sim;
}

/* Fuzz target: the qtest front end on the built-in q35 platform, one command a line. */
#include <string.h>
#include <glib.h>
#include "fuzz.h"
#include "vtdsim/vtdsim.h"

static void sink(void *opaque, const char *line)
{
    (void)opaque;
    (void)line;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    EmuSim *sim = vtdsim_platform_new(NULL, NULL);
    VtdsimQtest *q = vtdsim_qtest_new(sim, sink, NULL);
    char *text = g_strndup((const char *)data, size);
    char **lines = g_strsplit(text, "\n", 2000);
    for (char **l = lines; *l; l++) {
        vtdsim_qtest_command(q, *l);
    }
    g_strfreev(lines);
    g_free(text);
    vtdsim_qtest_free(q);
    emu_sim_free(sim);
    return 0;
}

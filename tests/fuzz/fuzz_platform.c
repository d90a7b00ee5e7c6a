/* Fuzz target: the platform-file loader (then lspci and groups on what loaded). */
#include <glib.h>
#include "fuzz.h"
#include "vtdsim/vtdsim.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = g_strndup((const char *)data, size);
    GError *err = NULL;
    EmuSim *sim = vtdsim_platform_new_from_data(text, "fuzz.platform", &err);
    if (sim) {
        GString *s = g_string_new(NULL);
        vtdsim_lspci(sim, VTDSIM_LSPCI_VVERBOSE | VTDSIM_LSPCI_VERBOSE, s);
        vtdsim_groups(sim, s);
        g_string_free(s, TRUE);
        emu_sim_free(sim);
    } else {
        g_error_free(err);
    }
    g_free(text);
    return 0;
}

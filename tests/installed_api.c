/*
 * Built by `make installcheck` (and so by `make distcheck`) against the
 * installed headers and library only: proves that include/vtdsim/ is
 * self-contained and that libvtdsim exports what it declares.
 */
#include <stdio.h>
#include <string.h>
#include <vtdsim/vtdsim.h>

static void on_line(void *opaque, const char *line)
{
    snprintf(opaque, 128, "%s", line);
}

int main(void)
{
    GError *err = NULL;
    EmuSim *sim = vtdsim_platform_new(NULL, &err);
    if (!sim) {
        fprintf(stderr, "platform: %s\n", err->message);
        return 1;
    }
    char last[128] = "";
    VtdsimQtest *q = vtdsim_qtest_new(sim, on_line, last);
    vtdsim_qtest_command(q, "readl 0xfed90000");
    int rc = strcmp(last, "OK 0x0000000000000010") != 0;
    GString *s = g_string_new(NULL);
    vtdsim_lspci(sim, 0, s);
    rc |= strstr(s->str, "00:01.0 Unclassified device [00ff]: Device 1234:11e8") == NULL;
    g_string_free(s, TRUE);
    vtdsim_qtest_free(q);
    emu_sim_free(sim);
    printf("installed API: %s\n", rc ? "FAILED" : "ok");
    return rc;
}

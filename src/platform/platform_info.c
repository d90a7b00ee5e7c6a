/*
 * Read-only views of a platform for the CLI and the public API: lspci
 * output and IOMMU groups.
 */
#include "platform/platform.h"
#include "pcie/lspci.h"

void vtdsim_lspci(EmuSim *sim, unsigned flags, GString *out)
{
    Platform *p = platform_get(sim);
    unsigned f = 0;
    if (flags & VTDSIM_LSPCI_TREE) {
        f |= PCIE_LSPCI_TREE;
    }
    if (flags & VTDSIM_LSPCI_VERBOSE) {
        f |= PCIE_LSPCI_VERBOSE;
    }
    if (flags & VTDSIM_LSPCI_VVERBOSE) {
        f |= PCIE_LSPCI_VERBOSE | PCIE_LSPCI_VERY_VERBOSE;
    }
    if (flags & VTDSIM_LSPCI_NUMERIC) {
        f |= PCIE_LSPCI_NUMERIC;
    }
    pcie_fabric_compute_groups(p->fabric);
    pcie_lspci(p->fabric, f, out);
}

typedef struct GroupsCtx {
    GPtrArray *members;  /* index = group, value = GString * */
} GroupsCtx;

static void collect_group(PcieFn *fn, void *opaque)
{
    GroupsCtx *c = opaque;
    int g = pcie_fn_group(fn);
    if (g < 0) {
        return;
    }
    while ((int)c->members->len <= g) {
        g_ptr_array_add(c->members, g_string_new(NULL));
    }
    GString *s = g_ptr_array_index(c->members, g);
    uint16_t rid = pcie_fn_rid(fn);
    g_string_append_printf(s, " %02x:%02x.%x", PCIE_BUS(rid), PCIE_DEV(rid), PCIE_FN(rid));
}

void vtdsim_groups(EmuSim *sim, GString *out)
{
    Platform *p = platform_get(sim);
    pcie_fabric_compute_groups(p->fabric);
    GroupsCtx c = { g_ptr_array_new() };
    pcie_fabric_foreach(p->fabric, collect_group, &c);
    for (guint i = 0; i < c.members->len; i++) {
        GString *s = g_ptr_array_index(c.members, i);
        g_string_append_printf(out, "group %u:%s\n", i, s->str);
        g_string_free(s, TRUE);
    }
    g_ptr_array_free(c.members, TRUE);
}

/*
 * IOMMU groups: which functions an IOMMU can tell apart.
 *
 * An IOMMU isolates by requester ID, but a requester ID only isolates if
 * the fabric cannot carry one function's DMA to another function without
 * passing through the root complex (peer-to-peer through a switch, or
 * between functions of one device), and if the ID is really the
 * function's own (below a PCIe-to-PCI bridge every request carries the
 * bridge's ID).  Functions that cannot be told apart share a group, and
 * a group is the unit VFIO assigns.
 *
 * We follow the rules Linux applies in pci_device_group()
 * (drivers/iommu/iommu.c) with pci_acs_enabled() and
 * pci_acs_path_enabled() (drivers/pci/pci.c), re-derived from their
 * documented behaviour, for each function in fabric order:
 *
 *  1. Aliases: below a PCIe-to-PCI bridge (or a function without a PCI
 *     Express capability acting as a bridge) requests carry the bridge's
 *     ID, so the function joins the bridge's group.
 *  2. Upstream walk: the required ACS features are Source Validation,
 *     P2P Request Redirect, P2P Completion Redirect and Upstream
 *     Forwarding.  If the bridge above the function, or any bridge above
 *     that up to the root bus, does not have them enabled, the function
 *     joins the group of the bridge directly above it (which by the same
 *     rule already contains everything the lower bridge could reach).
 *  3. Multifunction devices: a function of a multifunction device whose
 *     ACS is not enabled joins the group of a lower-numbered function of
 *     the same slot whose ACS is not enabled either.
 *  4. Otherwise the function starts a new group.
 *
 * "Enabled" means the bits in the ACS Control register, as Linux reads
 * them; features the ACS Capability register does not advertise count as
 * hard-wired enabled (a port that has no P2P path has nothing to
 * redirect), Egress Control is always required when asked for.  Which
 * functions must have ACS at all depends on the port type:
 *  - root ports and switch downstream ports: always (no ACS capability
 *    means not isolated);
 *  - endpoints, RC integrated endpoints, legacy endpoints and switch
 *    upstream ports: only when part of a multifunction device (a single
 *    function has no peer inside its device);
 *  - PCIe-to-PCI bridges and functions without a PCIe capability: never
 *    isolated.
 * A VF is never a multifunction device (Linux clears the flag for VFs),
 * so a VF is its own group as long as the path above its PF is isolated.
 *
 * Not modelled: Linux's device-specific ACS quirks and DMA alias quirks,
 * PCI-X, and command-line overrides.  A function is multifunction when
 * the Multi-Function Device bit of its Header Type register is set or
 * another (non-VF) function shares its slot, as Linux's scan decides it
 * (it sets the flag on every function found beyond function 0).
 */
#include <string.h>
#include "pcie/pcie.h"

/* ACS Capability / Control bits (PCIe Base 5.0, 7.7.8.2 and 7.7.8.3). */
enum {
    ACS_SV = 0x0001, /* Source Validation */
    ACS_TB = 0x0002, /* Translation Blocking */
    ACS_RR = 0x0004, /* P2P Request Redirect */
    ACS_CR = 0x0008, /* P2P Completion Redirect */
    ACS_UF = 0x0010, /* Upstream Forwarding */
    ACS_EC = 0x0020, /* P2P Egress Control */
    ACS_DT = 0x0040, /* Direct Translated P2P */
    ACS_REQUIRED = ACS_SV | ACS_RR | ACS_CR | ACS_UF,
    ACS_CAP_REG = 0x04,
    ACS_CTRL_REG = 0x06,
};

typedef struct GroupState {
    PcieFabric *fabric;
    GPtrArray *fns;       /* every function, fabric order */
    GHashTable *group;    /* PcieFn* -> group number + 1 */
    unsigned next;
} GroupState;

static void collect(PcieFn *fn, void *opaque)
{
    g_ptr_array_add(opaque, fn);
}

/* Functions on the same bus as @fn (VFs included); caller frees the array. */
static GPtrArray *bus_fns(GroupState *st, PcieFn *fn)
{
    PcieFn *up = pcie_fn_parent(fn);
    return up ? pcie_fn_children(up) : pcie_fabric_root_fns(st->fabric);
}

/* Another (non-VF) function in the slot of @fn: functions of one device. */
static bool same_slot(PcieFn *a, PcieFn *b)
{
    return a != b && !pcie_fn_is_vf(b) && PCIE_DEV(pcie_fn_rid(a)) == PCIE_DEV(pcie_fn_rid(b));
}

static bool fn_is_multifunction(GroupState *st, PcieFn *fn)
{
    if (pcie_fn_is_vf(fn))
        return false;
    if (pcie_fn_config_read(fn, PCI_HEADER_TYPE, 1) & 0x80)
        return true;
    GPtrArray *fns = bus_fns(st, fn);
    bool multi = false;
    for (guint i = 0; i < fns->len && !multi; i++)
        multi = same_slot(fn, g_ptr_array_index(fns, i));
    g_ptr_array_free(fns, TRUE);
    return multi;
}

/* Required features enabled in ACS Control (those the capability lacks count as enabled). */
static bool acs_flags_enabled(PcieFn *fn, uint16_t flags)
{
    uint16_t pos = pcie_fn_find_ext_cap(fn, PCI_EXT_CAP_ID_ACS);
    if (!pos)
        return false;
    uint16_t cap = (uint16_t)pcie_fn_config_read(fn, (uint16_t)(pos + ACS_CAP_REG), 2);
    uint16_t ctrl = (uint16_t)pcie_fn_config_read(fn, (uint16_t)(pos + ACS_CTRL_REG), 2);
    flags &= (uint16_t)(cap | ACS_EC);
    return (ctrl & flags) == flags;
}

static bool acs_enabled(GroupState *st, PcieFn *fn)
{
    switch (pcie_fn_kind(fn)) {
    case PCIE_KIND_ROOT_PORT:
    case PCIE_KIND_SWITCH_DOWN:
        return acs_flags_enabled(fn, ACS_REQUIRED);
    case PCIE_KIND_ENDPOINT:
    case PCIE_KIND_LEGACY_ENDPOINT:
    case PCIE_KIND_RC_INTEGRATED:
    case PCIE_KIND_SWITCH_UP:
        if (!fn_is_multifunction(st, fn))
            return true;
        return acs_flags_enabled(fn, ACS_REQUIRED);
    case PCIE_KIND_PCIE_TO_PCI:
    case PCIE_KIND_HOST_BRIDGE:
    default:
        return false;
    }
}

/* ACS enabled on @fn and on every bridge above it up to the root bus. */
static bool acs_path_enabled(GroupState *st, PcieFn *fn)
{
    for (PcieFn *p = fn; p; p = pcie_fn_parent(p))
        if (!acs_enabled(st, p))
            return false;
    return true;
}

static int group_get(GroupState *st, PcieFn *fn)
{
    return GPOINTER_TO_INT(g_hash_table_lookup(st->group, fn)) - 1;
}

static int group_assign(GroupState *st, PcieFn *fn);

/* The group of @fn, computing it first if fabric order has not reached it yet. */
static int group_of(GroupState *st, PcieFn *fn)
{
    int g = group_get(st, fn);
    return g >= 0 ? g : group_assign(st, fn);
}

static int group_assign(GroupState *st, PcieFn *fn)
{
    int g = -1;

    /* 1. requests forwarded by a PCIe-to-PCI bridge carry its ID */
    for (PcieFn *p = pcie_fn_parent(fn); p && g < 0; p = pcie_fn_parent(p)) {
        PcieFnKind k = pcie_fn_kind(p);
        if (k == PCIE_KIND_PCIE_TO_PCI || k == PCIE_KIND_HOST_BRIDGE)
            g = group_of(st, p);
    }

    /* 2. a bridge above without ACS lets peers reach us: its group */
    PcieFn *up = pcie_fn_parent(fn);
    if (g < 0 && up && !acs_path_enabled(st, up))
        g = group_of(st, up);

    /* 3. functions of one device without ACS isolation */
    if (g < 0 && fn_is_multifunction(st, fn) && !acs_enabled(st, fn)) {
        GPtrArray *fns = bus_fns(st, fn);
        for (guint i = 0; i < fns->len && g < 0; i++) {
            PcieFn *o = g_ptr_array_index(fns, i);
            if (same_slot(fn, o) && group_get(st, o) >= 0 && fn_is_multifunction(st, o) &&
                !acs_enabled(st, o))
                g = group_get(st, o);
        }
        g_ptr_array_free(fns, TRUE);
    }

    if (g < 0)
        g = (int)st->next++;
    g_hash_table_insert(st->group, fn, GINT_TO_POINTER(g + 1));
    return g;
}

unsigned pcie_fabric_compute_groups(PcieFabric *f)
{
    GroupState st = {
        .fabric = f,
        .fns = g_ptr_array_new(),
        .group = g_hash_table_new(g_direct_hash, g_direct_equal),
        .next = 0,
    };
    pcie_fabric_foreach(f, collect, st.fns);

    for (guint i = 0; i < st.fns->len; i++)
        group_of(&st, g_ptr_array_index(st.fns, i));

    /*
     * Number groups by their first member in fabric order (a function can
     * have pulled an ancestor's group into existence early).
     */
    int *renum = g_new(int, st.next > 0 ? st.next : 1);
    for (unsigned i = 0; i < st.next; i++)
        renum[i] = -1;
    unsigned n = 0;
    for (guint i = 0; i < st.fns->len; i++) {
        PcieFn *fn = g_ptr_array_index(st.fns, i);
        int g = group_get(&st, fn);
        g_assert(g >= 0 && (unsigned)g < st.next);
        if (renum[g] < 0)
            renum[g] = (int)n++;
        pcie_fn_set_group(fn, renum[g]);
    }
    g_free(renum);
    g_hash_table_destroy(st.group);
    g_ptr_array_free(st.fns, TRUE);
    return n;
}
